"""Scene out to pixels: rasterizing, render passes, compositing, refiners, video writers.

The rasterizer and writers arrive with the depth and render work; this package is
empty in the foundation.
"""

__all__: list[str] = []
