"""USD I/O of a shot: the one schema of the layout, writing the three-layer scene, reading
the camera track and the meshes back, object layers, PNG textures, summary and validation.

The public API (re-exported by ``sceneforge.scenegraph``) comes first below; the rest is what
the sibling sub-packages (``edit``, ``export``) build on: the schema constants, the axis flip
helpers and the small conversions. Nothing else in ``scenegraph`` spells a prim path, a
``sceneforge:*`` attribute name or the OpenCV <-> OpenGL camera flip.
"""

from ._camera import read_frame_numbers, read_intrinsics, read_world_from_cam, world_from_glcam
from ._convert import gf_from_transform, linear_to_srgb, srgb_to_linear, transform_from_gf
from ._light_probe import hdr_size, light_probe_summary, read_hdr, read_light_probe, write_hdr, write_light_probe
from ._materials import material_info, uv_texture_shader
from ._meshes import SceneMesh, animated_mesh_paths, author_mesh, read_scene_meshes
from ._objects import ObjectLayer, author_object_layer, read_object_layers
from ._png import read_image, write_png
from ._read import read_camera_track, read_points
from ._schema import (
    ATTR_DEPTH_MAPS,
    ATTR_FRAME_NUMBERS,
    ATTR_INSTANCE_ID,
    ATTR_INSTANCE_MAPS,
    ATTR_K,
    ATTR_PROBE_SH,
    BACKGROUND_PATH,
    DEFAULT_CAMERA_PATH,
    EDITS_FILE,
    FORMAT_VERSION,
    LIGHTS_PATH,
    LIGHT_PROBE_PATH,
    LIGHT_PROBE_TEXTURE,
    LOOKS_NAME,
    OBJECTS_PATH,
    POINTS_PATH,
    RECONSTRUCTION_FILE,
    SCENE_FILE,
    TEXTURE_FOLDER,
    TRANSFORM_OP,
    WORLD_PATH,
)
from ._stage import (
    as_stage,
    check_format_version,
    export_layer,
    layer_data,
    open_stage,
    read_layer_from_disk,
    tf_reason,
)
from ._summary import frame_asset_paths, scene_summary
from ._validate import StageValidation, validate_stage
from ._asset_policy import MAX_ASSET_BYTES, checked_asset, outside_assets_allowed
from ._write import orphaned_edits, write_scene

__all__ = [
    # public API
    "ObjectLayer",
    "SceneMesh",
    "StageValidation",
    "animated_mesh_paths",
    "author_mesh",
    "author_object_layer",
    "open_stage",
    "read_camera_track",
    "read_object_layers",
    "read_scene_meshes",
    "frame_asset_paths",
    "scene_summary",
    "validate_stage",
    "orphaned_edits",
    "check_format_version",
    "read_layer_from_disk",
    "outside_assets_allowed",
    "checked_asset",
    "MAX_ASSET_BYTES",
    "write_scene",
    "read_light_probe",
    "write_light_probe",
    "light_probe_summary",
    "read_hdr",
    "write_hdr",
    "hdr_size",
    # the schema
    "ATTR_DEPTH_MAPS",
    "ATTR_FRAME_NUMBERS",
    "ATTR_INSTANCE_ID",
    "ATTR_INSTANCE_MAPS",
    "ATTR_K",
    "ATTR_PROBE_SH",
    "BACKGROUND_PATH",
    "DEFAULT_CAMERA_PATH",
    "EDITS_FILE",
    "FORMAT_VERSION",
    "LIGHTS_PATH",
    "LIGHT_PROBE_PATH",
    "LIGHT_PROBE_TEXTURE",
    "LOOKS_NAME",
    "OBJECTS_PATH",
    "POINTS_PATH",
    "RECONSTRUCTION_FILE",
    "SCENE_FILE",
    "TEXTURE_FOLDER",
    "TRANSFORM_OP",
    "WORLD_PATH",
    # for the edit and export sub-packages
    "as_stage",
    "export_layer",
    "gf_from_transform",
    "layer_data",
    "material_info",
    "read_frame_numbers",
    "read_image",
    "read_intrinsics",
    "read_points",
    "read_world_from_cam",
    "linear_to_srgb",
    "srgb_to_linear",
    "tf_reason",
    "transform_from_gf",
    "uv_texture_shader",
    "world_from_glcam",
    "write_png",
]
