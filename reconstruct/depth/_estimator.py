"""The depth stage's contract: the :class:`DepthEstimator` protocol."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from sceneforge.scenegraph import CameraTrack, DepthMap, Frames

from .._progress import ProgressFn

__all__ = ["DepthEstimator"]


class DepthEstimator(Protocol):
    """A dense-depth backend: frames and their cameras in, one :class:`DepthMap` per frame out."""

    def estimate(
        self,
        frames: Frames,
        track: CameraTrack,
        *,
        indices: Sequence[int] | None = None,
        progress: ProgressFn | None = None,
    ) -> Iterator[tuple[int, DepthMap]]:
        """Estimate depth for the requested frames, yielding each as soon as it is finished.

        Args:
            frames: N×H×W×3 uint8 RGB frames, the ones ``track`` was solved on.
            track: one camera per frame (``world_from_cam``, intrinsics at the frames' size)
                and the sparse points of the solve.
            indices: frame indices (0-based positions in ``frames``) to compute, in this
                order; ``None`` for every frame.
            progress: optional ``progress(stage, done, total)`` callback.

        Yields:
            ``(index, depth)`` with an H×W :class:`DepthMap` on the frame's own pixel grid
            (z-depth in scene units, 0 = none; confidence in [0, 1]). The map carries its
            source frame number: collect the maps with ``DepthMaps(...)``, the form later
            stages take (keyed by source frame number).

        Raises:
            InputError: frames and track that do not belong together, or bad indices
                (raised when called, before any frame is computed).
        """
        ...
