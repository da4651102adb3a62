"""Surfaces from depth: TSDF fusion of the background, texture baking from the frames, one
frame's depth as a 2.5D surface, and the light probe of what the surfaces show."""

from ._frame_surface import frame_surface
from ._fusion import BackgroundFuser, TSDFFuser, TSDFFusionConfig
from ._light_probe import LightProbeConfig, build_light_probe
from ._texture import TextureBakeConfig, TextureBaker, ViewTextureBaker

__all__ = [
    "BackgroundFuser",
    "LightProbeConfig",
    "TSDFFuser",
    "TSDFFusionConfig",
    "TextureBakeConfig",
    "TextureBaker",
    "ViewTextureBaker",
    "build_light_probe",
    "frame_surface",
]
