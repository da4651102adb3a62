"""Compositing an edited shot over its own footage: the plate where nothing changed, other
frames reprojected where an edit reveals the background, one consistent invention where no
frame saw it, and image-based rendering for a changed camera path."""

from ._compositor import SOURCE_CODES, CompositeConfig, CompositeFrame, Compositor
from ._edits import ShotEdits, plate_track
from ._reproject import Reprojection, SourceView, exposure_gain, pixel_points, reproject

__all__ = [
    "SOURCE_CODES",
    "CompositeConfig",
    "CompositeFrame",
    "Compositor",
    "Reprojection",
    "ShotEdits",
    "SourceView",
    "exposure_gain",
    "pixel_points",
    "plate_track",
    "reproject",
]
