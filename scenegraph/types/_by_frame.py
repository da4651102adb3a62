"""The base of stage data keyed by source frame number: an immutable, ordered mapping."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

__all__ = ["ByFrame"]

V = TypeVar("V")


class ByFrame(Mapping[int, V], Generic[V]):
    """Source frame number → value, iterated in increasing frame number; read-only.

    Stage data in SceneForge is keyed by **source frame number** (the USD time code); a
    position in :class:`Frames` or :class:`CameraTrack` is a *frame index*, found with
    ``frames.index_of(number)`` or ``track.index_of(number)``. Subclasses validate their
    values once, in ``__init__``, and hand them to :meth:`_store`.
    """

    __slots__ = ("_items", "_numbers")
    _what = "value"
    """How a missing key's error names the values ("depth", "mask")."""

    def _store(self, by_number: Mapping[int, V]) -> None:
        self._numbers = tuple(sorted(by_number))
        self._items = {n: by_number[n] for n in self._numbers}

    def __getitem__(self, frame_number: int) -> V:
        try:
            return self._items[int(frame_number)]
        except KeyError:
            raise KeyError(f"no {self._what} for source frame {frame_number}") from None

    def __iter__(self) -> Iterator[int]:
        return iter(self._numbers)

    def __len__(self) -> int:
        return len(self._numbers)

    def __repr__(self) -> str:
        name = type(self).__name__
        if not self._numbers:
            return f"{name}(empty)"
        return f"{name}({len(self)} frames {self._numbers[0]}..{self._numbers[-1]}{self._repr_extra()})"

    def _repr_extra(self) -> str:
        return ""

    @property
    def frame_numbers(self) -> tuple[int, ...]:
        """The source frame numbers that have a value, increasing."""
        return self._numbers
