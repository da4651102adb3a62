"""The dependency-free core of the scene model: typed errors, the array check, rigid
transforms, and the frozen dataclasses the stages hand each other (frames, camera track,
depth maps, textured mesh).

Needs numpy only; every other part of ``scenegraph`` builds on this one.
"""

from ._camera import CameraTrack, FrameStatus, Intrinsics, SolveReport, SparsePoints
from ._check import check_array
from ._depth import DepthMap, DepthMaps, RelativeDepth
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
from ._light import (
    LightProbe,
    equirect_directions,
    equirect_pixels,
    equirect_solid_angles,
    sh_basis,
    sh_irradiance,
    sh_project,
)
from ._masks import FrameMasks
from ._mesh import TexturedMesh
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

__all__ = [
    "CameraTrack",
    "DependencyError",
    "DepthMap",
    "DepthMaps",
    "FrameMasks",
    "FrameStatus",
    "Frames",
    "InputError",
    "Intrinsics",
    "LightProbe",
    "OutputExistsError",
    "RelativeDepth",
    "SceneFileError",
    "SceneForgeError",
    "ShapeError",
    "Similarity",
    "SolveError",
    "SolveReport",
    "SparsePoints",
    "TexturedMesh",
    "check_array",
    "check_rigid",
    "equirect_directions",
    "equirect_pixels",
    "equirect_solid_angles",
    "invert_rigid",
    "is_rigid",
    "make_transform",
    "quat_wxyz_from_rotation",
    "rotation_about_axis",
    "rotation_angle",
    "rotation_from_quat_wxyz",
    "sh_basis",
    "sh_irradiance",
    "sh_project",
    "similarity_from_points",
    "transform_points",
]
