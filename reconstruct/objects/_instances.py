"""Per-frame instance maps of the tracked objects: which object each pixel shows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sceneforge.scenegraph import InputError

from ._types import TrackedMasks

__all__ = ["instance_maps"]


def instance_maps(
    tracked_list: Sequence[TrackedMasks], num_frames: int, *, image_size: tuple[int, int] | None = None
) -> np.ndarray:
    """Per-frame instance maps of the tracked objects: N×H×W int32, 0 = background, k = the
    k-th object of ``tracked_list`` (the ids :func:`lift_objects` gives).

    Where masks overlap, the object whose mask has the higher quality on that frame wins;
    on equal quality the later object in the list wins.

    Args:
        tracked_list: the objects, each with ``num_frames`` masks of one size.
        num_frames: N, the clip's frame count.
        image_size: ``(width, height)`` of the maps; needed only when ``tracked_list`` is empty.

    Raises:
        InputError: masks of another frame count or size, or an empty list without ``image_size``.
    """
    items = list(tracked_list)
    if not items:
        if image_size is None:
            raise InputError("instance_maps needs image_size=(width, height) when there are no objects")
        width, height = (int(s) for s in image_size)
        return np.zeros((int(num_frames), height, width), dtype=np.int32)
    for tracked in items:
        if not isinstance(tracked, TrackedMasks):
            raise InputError(f"tracked_list must hold TrackedMasks, got {type(tracked).__name__}")
    height, width = items[0].masks.shape[1:]
    for tracked in items:
        if tracked.masks.shape != (num_frames, height, width):
            raise InputError(
                f"every object must have {num_frames} masks of {width}×{height}, got {tracked.name!r} with "
                f"{tracked.masks.shape[0]} of {tracked.masks.shape[2]}×{tracked.masks.shape[1]}"
            )
    if image_size is not None and tuple(int(s) for s in image_size) != (width, height):
        raise InputError(f"image_size must match the masks ({width}×{height}), got {image_size}")
    out = np.zeros((num_frames, height, width), dtype=np.int32)
    best = np.empty((height, width), dtype=np.float32)
    for frame in range(num_frames):
        best.fill(-np.inf)
        for number, tracked in enumerate(items, start=1):
            quality = np.float32(tracked.quality[frame])
            take = tracked.masks[frame] & (quality >= best)
            out[frame][take] = number
            best[take] = quality
    return out
