"""Rasterizing: textured meshes drawn with headless OpenGL into render passes.

- :class:`Rasterizer` draws meshes through one of our cameras (lens distortion included)
  into :class:`RenderPasses` (rgb, depth, coverage, normals, object id);
- :func:`clip_from_cam` is the OpenGL projection of our cameras, where the one OpenCV ↔
  OpenGL axis flip of the render package lives.

OpenGL is imported only when a :class:`Rasterizer` is made.
"""

from ._passes import PASS_NAMES, PassName, RenderPasses, check_pass_names
from ._projection import clip_from_cam
from ._rasterizer import Rasterizer

__all__ = ["PASS_NAMES", "PassName", "Rasterizer", "RenderPasses", "check_pass_names", "clip_from_cam"]
