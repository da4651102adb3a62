"""Depth types: metric (scene-unit) z-depth maps, and relative depth before alignment."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from ._by_frame import ByFrame
from ._check import check_array
from ._errors import InputError

__all__ = ["DepthMap", "DepthMaps", "RelativeDepth"]


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
    """Depth known only up to an affine map, as monocular networks give it: ``z = scale * value
    + shift``, or for relative inverse depth (disparity, ``inverse=True``) ``1 / z = scale *
    value + shift``. Not usable as geometry until aligned (see ``align_relative_depth``).

    Attributes:
        value: H×W float32; larger = farther, or larger = nearer when ``inverse``.
        valid: H×W bool, pixels with a prediction.
        frame_number: the source frame number.
        inverse: ``value`` is affine in inverse depth (Depth Anything's relative output).
    """

    value: np.ndarray
    valid: np.ndarray
    frame_number: int
    inverse: bool = False

    def __post_init__(self) -> None:
        v = check_array(self.value, "value", shape=(None, None), dtype=np.float32)
        check_array(self.valid, "valid", shape=v.shape, dtype=bool)


class DepthMaps(ByFrame[DepthMap]):
    """The depth of a shot: source frame number → :class:`DepthMap`, validated once.

    Keyed by **source frame number**, the ``frame_number`` each map carries (see
    :class:`ByFrame` for the rule); iteration is in increasing frame number.

    Every map has the same H×W (the frames' grid or one scaled grid).

    Args:
        maps: the depth maps, in any order; a mapping is taken by its values, and each key
            must equal its map's ``frame_number``.

    Raises:
        InputError: a value is not a DepthMap, two maps share a frame number, a key names
            another frame, or the maps differ in size.
    """

    __slots__ = ()
    _what = "depth"

    def __init__(self, maps: Iterable[DepthMap] | Mapping[int, DepthMap] = ()) -> None:
        if isinstance(maps, DepthMaps):
            items = list(maps.values())
        elif isinstance(maps, Mapping):
            items = []
            for key, depth in maps.items():
                if isinstance(depth, DepthMap) and int(key) != depth.frame_number:
                    raise InputError(
                        f"depth maps are keyed by source frame number: key {key} holds frame {depth.frame_number}; "
                        "build DepthMaps from the maps themselves (DepthMaps(maps.values()))"
                    )
                items.append(depth)
        else:
            items = list(maps)
        by_number: dict[int, DepthMap] = {}
        shape = None
        for depth in items:
            if not isinstance(depth, DepthMap):
                raise InputError(f"depth maps must be DepthMap objects, got {type(depth).__name__}")
            if depth.frame_number in by_number:
                raise InputError(f"two depth maps for source frame {depth.frame_number}; give one per frame")
            if shape is None:
                shape = depth.depth.shape
            elif depth.depth.shape != shape:
                raise InputError(
                    f"depth maps must share one size, got {shape[1]}×{shape[0]} and "
                    f"{depth.depth.shape[1]}×{depth.depth.shape[0]} (frame {depth.frame_number})"
                )
            by_number[depth.frame_number] = depth
        self._store(by_number)

    def _repr_extra(self) -> str:
        h, w = self.shape
        return f", {w}×{h}"

    @property
    def shape(self) -> tuple[int, int]:
        """(H, W) of every map.

        Raises:
            InputError: there are no maps.
        """
        if not self._numbers:
            raise InputError("no depth maps")
        return tuple(self._items[self._numbers[0]].depth.shape)  # type: ignore[return-value]

    @classmethod
    def of(cls, value: DepthMaps | Mapping[int, DepthMap] | Iterable[DepthMap]) -> DepthMaps:
        """``value`` as DepthMaps (itself when it already is one)."""
        return value if isinstance(value, DepthMaps) else cls(value)
