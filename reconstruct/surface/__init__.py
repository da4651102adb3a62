"""Surfaces from depth: TSDF fusion of the background, texture baking from the frames, and one
frame's depth as a 2.5D surface."""

from ._frame_surface import frame_surface
from ._fusion import BackgroundFuser, TSDFFuser, TSDFFusionConfig
from ._texture import TextureBakeConfig, TextureBaker, ViewTextureBaker

__all__ = [
    "BackgroundFuser",
    "TSDFFuser",
    "TSDFFusionConfig",
    "TextureBakeConfig",
    "TextureBaker",
    "ViewTextureBaker",
    "frame_surface",
]
