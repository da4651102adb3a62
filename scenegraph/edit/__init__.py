"""The scene-editing API: open a scene, edit it through handles (objects, background,
lights, the camera and its moves), insert assets, undo, diff, save (locked, merging with
other writers), replay edit lists.

Every edit goes to the scene's ``edits.usda``; the reconstruction is never written.
"""

from ._camera_handle import CameraHandle
from ._edit_ops import CAMERA_MOVES, EDIT_OPS, apply_edits, read_edit_list
from ._light_handle import LightHandle
from ._merge import edits_lock, merge_layers
from ._scene import Scene, SceneEdit
from ._surface_handles import BackgroundHandle, ObjectHandle

__all__ = [
    "CAMERA_MOVES",
    "EDIT_OPS",
    "BackgroundHandle",
    "CameraHandle",
    "LightHandle",
    "ObjectHandle",
    "Scene",
    "SceneEdit",
    "apply_edits",
    "edits_lock",
    "merge_layers",
    "read_edit_list",
]
