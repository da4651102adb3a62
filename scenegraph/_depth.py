"""Depth types: metric (scene-unit) z-depth maps, and relative depth before alignment."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._check import check_array
from ._errors import InputError

__all__ = ["DepthMap", "RelativeDepth"]


@dataclass(frozen=True, eq=False)
class DepthMap:
    """One frame's z-depth in scene units.

    Attributes:
        depth: H×W float32 z-depth along the camera's +Z (not ray length); 0 = no depth.
        confidence: H×W float32 in [0, 1]; 0 where ``depth`` is 0.
        frame_number: the source frame number this depth belongs to.
    """

    depth: np.ndarray
    confidence: np.ndarray
    frame_number: int

    def __post_init__(self) -> None:
        d = check_array(self.depth, "depth", shape=(None, None), dtype=np.float32)
        check_array(self.confidence, "confidence", shape=d.shape, dtype=np.float32)
        if not np.all(np.isfinite(d)) or np.any(d < 0):
            raise InputError("depth must be finite and ≥ 0 (0 = no depth)")
        object.__setattr__(self, "frame_number", int(self.frame_number))

    @property
    def valid(self) -> np.ndarray:
        """H×W bool: pixels that have a depth."""
        return self.depth > 0

    @property
    def coverage(self) -> float:
        """Share of pixels that have a depth."""
        return float(np.mean(self.valid))


@dataclass(frozen=True, eq=False)
class RelativeDepth:
    """Depth known only up to an affine map (``z = scale * value + shift``), as monocular
    networks give it. Not usable as geometry until aligned (see ``align_relative_depth``).

    Attributes:
        value: H×W float32, larger = farther (inverse-depth outputs are converted first).
        valid: H×W bool, pixels with a prediction.
        frame_number: the source frame number.
    """

    value: np.ndarray
    valid: np.ndarray
    frame_number: int

    def __post_init__(self) -> None:
        v = check_array(self.value, "value", shape=(None, None), dtype=np.float32)
        check_array(self.valid, "valid", shape=v.shape, dtype=bool)
