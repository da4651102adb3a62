"""The scene renderer: a USD scene seen through its camera track, frame by frame.

- :func:`iter_scene_passes` renders the meshes of a scene (moving objects and animated
  edits read again at every frame) through a camera track, yielding
- :class:`FramePasses`: one frame's render passes with its frame number, camera and the
  prim path of each object id.
"""

from ._scene_passes import FramePasses, iter_scene_passes

__all__ = ["FramePasses", "iter_scene_passes"]
