"""The camera-solve stage's contract: the solver protocol and the options every solver understands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from sceneforge.scenegraph import CameraTrack, Frames, InputError, Intrinsics

from .._progress import ProgressFn

__all__ = ["CameraSolver", "CameraSolveConfig", "LensModel"]


LensModel = Literal["pinhole", "simple_radial", "radial"]

LENS_MODELS = ("pinhole", "simple_radial", "radial")


class CameraSolver(Protocol):
    """A camera-solve backend: frames in, one camera per frame out."""

    def solve(self, frames: Frames, *, progress: ProgressFn | None = None) -> CameraTrack:
        """Solve every frame's camera.

        Returns:
            A :class:`CameraTrack` with one entry per input frame and its :class:`SolveReport`.

        Raises:
            SolveError: when no usable camera track can be made from this clip.
        """
        ...


@dataclass(frozen=True)
class CameraSolveConfig:
    """Options every camera solver understands."""

    intrinsics: Intrinsics | None = None
    """Known intrinsics at the frames' resolution (fixed during the solve)."""
    focal_px: float | None = None
    """Known focal length in pixels at the frames' resolution (principal point from the solve or the centre)."""
    refine_principal_point: bool = False
    """Let bundle adjustment move the principal point (off: it stays at the image centre)."""
    lens: LensModel = "radial"
    """Lens model: ``pinhole``, ``simple_radial`` (one radial term) or ``radial`` (two terms)."""
    camera_per_frame: bool = False
    """Solve separate intrinsics per frame (zooming lenses) instead of one camera for the clip."""
    ignore_masks: np.ndarray | None = None
    """H×W or N×H×W bool, True where pixels must be ignored (moving things, overlays)."""

    def __post_init__(self) -> None:
        if self.lens not in LENS_MODELS:
            raise InputError(f"lens must be one of {', '.join(LENS_MODELS)}, got {self.lens!r}")
        if self.focal_px is not None and not (np.isfinite(self.focal_px) and self.focal_px > 0):
            raise InputError(f"focal must be a positive number of pixels, got {self.focal_px}")
