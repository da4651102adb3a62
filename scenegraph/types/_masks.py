"""Per-frame masks handed between stages, keyed by source frame number."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._by_frame import ByFrame
from ._errors import InputError

__all__ = ["FrameMasks"]


class FrameMasks(ByFrame[np.ndarray]):
    """Bool masks of some frames of a shot: source frame number → 2-D bool mask, validated once.

    Like :class:`DepthMaps`, keyed by **source frame number** (see :class:`ByFrame`), never
    by a frame's position in :class:`Frames`. What True means is the receiving argument's
    to say (for ``masks=`` of fusion and texture baking: pixels left out). Masks may differ
    in size between frames (each at its frame's or its depth map's resolution); the stage
    that uses them checks each against its frame's aspect. Iteration is in increasing frame
    number.

    Args:
        masks: source frame number → H×W bool array.

    Raises:
        InputError: not a mapping, a key that is not a whole number, or a value that is not
            a 2-D bool array.
    """

    __slots__ = ()
    _what = "mask"

    def __init__(self, masks: Mapping[int, np.ndarray] | None = None) -> None:
        masks = {} if masks is None else masks
        if not isinstance(masks, Mapping):
            raise InputError(f"masks must map source frame number → H×W bool, got {type(masks).__name__}")
        by_number: dict[int, np.ndarray] = {}
        for key, mask in masks.items():
            if isinstance(key, bool) or not isinstance(key, (int, np.integer)):
                raise InputError(f"mask keys must be source frame numbers (whole numbers), got {key!r}")
            if not isinstance(mask, np.ndarray) or mask.dtype != bool or mask.ndim != 2:
                got = f"{mask.shape} {mask.dtype}" if isinstance(mask, np.ndarray) else type(mask).__name__
                raise InputError(f"mask of frame {key} must be an H×W bool array, got {got}")
            by_number[int(key)] = mask
        self._store(by_number)

    @classmethod
    def of(cls, value: FrameMasks | Mapping[int, np.ndarray] | None) -> FrameMasks:
        """``value`` as FrameMasks (itself when it already is one; empty for None)."""
        return value if isinstance(value, FrameMasks) else cls(value)
