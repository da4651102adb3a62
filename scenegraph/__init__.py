"""The SceneForge scene model: camera types, conventions, USD I/O.

Needs only numpy and usd-core (and trimesh for meshes), so a scene can be read and
edited without the reconstruction stack.
"""

from ._depth import DepthMap, DepthMaps, RelativeDepth
from ._files import atomic_path, atomic_write
from ._mesh import TexturedMesh
from ._check import check_array
from ._camera import CameraTrack, FrameStatus, Intrinsics, SolveReport, SparsePoints
from ._errors import (
    DependencyError,
    InputError,
    OutputExistsError,
    SceneFileError,
    SceneForgeError,
    ShapeError,
    SolveError,
)
from ._frames import Frames
from ._transforms import (
    Similarity,
    check_rigid,
    invert_rigid,
    is_rigid,
    make_transform,
    quat_wxyz_from_rotation,
    rotation_about_axis,
    rotation_angle,
    rotation_from_quat_wxyz,
    similarity_from_points,
    transform_points,
)
from ._usd import (
    StageValidation,
    open_stage,
    read_camera_track,
    scene_summary,
    validate_stage,
    write_scene,
)

__all__ = [
    "DepthMap",
    "DepthMaps",
    "atomic_path",
    "atomic_write",
    "RelativeDepth",
    "TexturedMesh",
    "CameraTrack",
    "DependencyError",
    "FrameStatus",
    "Frames",
    "InputError",
    "Intrinsics",
    "OutputExistsError",
    "SceneFileError",
    "SceneForgeError",
    "ShapeError",
    "Similarity",
    "SolveError",
    "SolveReport",
    "SparsePoints",
    "StageValidation",
    "check_array",
    "check_rigid",
    "invert_rigid",
    "is_rigid",
    "make_transform",
    "open_stage",
    "quat_wxyz_from_rotation",
    "read_camera_track",
    "rotation_about_axis",
    "rotation_angle",
    "rotation_from_quat_wxyz",
    "scene_summary",
    "similarity_from_points",
    "transform_points",
    "validate_stage",
    "write_scene",
]

from ._usd_mesh import SceneMesh, animated_mesh_paths, author_mesh, read_scene_meshes

__all__ += ["SceneMesh", "animated_mesh_paths", "author_mesh", "read_scene_meshes"]

from ._export import EXPORT_FORMATS, export_scene
from ._export_chan import export_chan
from ._export_colmap import export_colmap
from ._export_glb import export_glb
from ._export_nerfstudio import export_nerfstudio
from ._export_ply import export_ply

__all__ += ["EXPORT_FORMATS", "export_scene", "export_glb", "export_colmap", "export_nerfstudio", "export_chan", "export_ply"]

from ._camera_edit import CameraHandle

__all__ += ["CameraHandle"]

from ._handles import BackgroundHandle, LightHandle, ObjectHandle
from ._scene import Scene, SceneEdit

__all__ += ["BackgroundHandle", "LightHandle", "ObjectHandle", "Scene", "SceneEdit"]

from ._edit_ops import CAMERA_MOVES, EDIT_OPS, apply_edits, read_edit_list

__all__ += ["CAMERA_MOVES", "EDIT_OPS", "apply_edits", "read_edit_list"]

from ._objects import ObjectLayer, author_object_layer, read_object_layers

__all__ += ["ObjectLayer", "author_object_layer", "read_object_layers"]
