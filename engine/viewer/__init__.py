"""The browser viewer (``sceneforge view shot/``): the scene as USD composes it, edits included,
in a local web page (viser), with editing through the ``Scene`` API.

:class:`ViewerState` holds everything without a browser (the scene, the frame, the selection,
display meshes as plain data, the edits); :class:`SceneViewer` wires it to a viser server.
Scene node names are stable (see :data:`NODE_NAMES`) so that a browser test can find them.
"""

from ._display import DisplayMesh, display_mesh, downsize_image, glb_bytes, node_pose, subsample_points
from ._server import NODE_NAMES, SceneViewer, is_loopback
from ._state import CAMERA_MOVE_AMOUNTS, ObjectInfo, ObjectView, ViewerOptions, ViewerState

__all__ = [
    "CAMERA_MOVE_AMOUNTS",
    "NODE_NAMES",
    "DisplayMesh",
    "ObjectInfo",
    "ObjectView",
    "SceneViewer",
    "ViewerOptions",
    "ViewerState",
    "display_mesh",
    "downsize_image",
    "glb_bytes",
    "is_loopback",
    "node_pose",
    "subsample_points",
]
