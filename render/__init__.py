"""Scene out to pixels: rasterizing, render passes, the per-frame scene renderer, hole filling, writers.

One sub-package per step, in the order a frame goes through them:

- ``raster``: :class:`Rasterizer` draws textured meshes with headless OpenGL into
  :class:`RenderPasses` (rgb, depth, coverage, normals, object id), exactly on our
  camera conventions;
- ``scene``: a USD scene seen through its camera track, frame by frame, as render passes
  (static meshes uploaded once, moving ones read again every frame);
- ``hole_filling``: :func:`fill_holes` gives the pixels no geometry covered a colour from
  their surroundings;
- ``writers``: :func:`write_video` / :class:`VideoWriter` write H.264 MP4 files or PNG
  sequences, atomically.

Compositing and refiners arrive with the render work. Heavy libraries
(OpenGL, OpenCV, PyAV) are imported only when used.
"""

from .hole_filling import fill_holes
from .raster import PASS_NAMES, Rasterizer, RenderPasses
from .writers import VideoWriter, write_video

__all__ = ["PASS_NAMES", "Rasterizer", "RenderPasses", "VideoWriter", "fill_holes", "write_video"]
