"""Scene out to pixels: rasterizing, render passes, compositing, refiners, video writers.

- :class:`Rasterizer` draws textured meshes with headless OpenGL into :class:`RenderPasses`
  (rgb, depth, coverage, normals, object id), exactly on our camera conventions;
- :func:`write_video` / :class:`VideoWriter` write H.264 MP4 files or PNG sequences, atomically.

- :func:`fill_holes` gives the pixels no geometry covered a colour from their surroundings.

Compositing and refiners arrive with the render work. Heavy libraries
(OpenGL, OpenCV, PyAV) are imported only when used.
"""

from ._fill import fill_holes
from ._passes import PASS_NAMES, RenderPasses
from ._rasterize import Rasterizer
from ._video import VideoWriter, write_video

__all__ = ["PASS_NAMES", "Rasterizer", "RenderPasses", "VideoWriter", "fill_holes", "write_video"]
