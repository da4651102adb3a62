"""One helper to validate arrays at public boundaries (raises typed errors, never asserts)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._errors import InputError, ShapeError

__all__ = ["check_array", "check_finite", "index_of_frame"]


def _shape_text(shape: Sequence[int | None]) -> str:
    return "×".join("N" if s is None else str(s) for s in shape) or "scalar"


def check_array(
    value: object,
    name: str,
    *,
    shape: Sequence[int | None] | None = None,
    dtype: type | str | Sequence[type | str] | None = None,
    finite: bool = False,
    hint: str = "",
) -> np.ndarray:
    """Check that ``value`` is an array of the given shape and dtype and return it.

    Args:
        value: the array (anything ``np.asarray`` accepts is *not* converted: it must be an ndarray).
        name: the argument's name, for the message.
        shape: expected shape; ``None`` entries match any length.
        dtype: expected dtype, or several accepted dtypes.
        finite: also require every element to be finite.
        hint: what to do about it, appended to the message.

    Raises:
        ShapeError: on a wrong type, shape or dtype.
        InputError: on non-finite values when ``finite`` is set.
    """
    suffix = f"; {hint}" if hint else ""
    if not isinstance(value, np.ndarray):
        raise ShapeError(
            f"{name} must be a numpy array, got {type(value).__name__}{suffix}",
            expected="ndarray",
            actual=type(value).__name__,
        )
    if shape is not None:
        ok = value.ndim == len(shape) and all(s is None or s == v for s, v in zip(shape, value.shape))
        if not ok:
            raise ShapeError(
                f"{name} must have shape {_shape_text(shape)}, got {tuple(value.shape)} {value.dtype}{suffix}",
                expected=tuple(shape),
                actual=tuple(value.shape),
            )
    if dtype is not None:
        accepted = [np.dtype(d) for d in (dtype if isinstance(dtype, (list, tuple)) else [dtype])]
        if value.dtype not in accepted:
            want = " or ".join(str(d) for d in accepted)
            raise ShapeError(
                f"{name} must be {want}, got {value.dtype} with shape {tuple(value.shape)}{suffix}",
                expected=want,
                actual=str(value.dtype),
            )
    if finite:
        check_finite(value, name, hint=hint)
    return value


def check_finite(value: np.ndarray, name: str, *, hint: str = "") -> np.ndarray:
    """Raise :class:`InputError` if ``value`` holds NaN or infinity."""
    if not np.all(np.isfinite(value)):
        bad = int(np.size(value) - np.count_nonzero(np.isfinite(value)))
        suffix = f"; {hint}" if hint else ""
        raise InputError(f"{name} must be finite, got {bad} non-finite value(s){suffix}")
    return value


def index_of_frame(frame_numbers: np.ndarray, frame_number: int) -> int:
    """The position of ``frame_number`` in the increasing ``frame_numbers``.

    Raises:
        InputError: ``frame_number`` is not among them.
    """
    number = int(frame_number)
    index = int(np.searchsorted(frame_numbers, number))
    if index >= len(frame_numbers) or int(frame_numbers[index]) != number:
        first, last = int(frame_numbers[0]), int(frame_numbers[-1])
        raise InputError(f"source frame {number} is not in the shot (frames {first}..{last}); use a frame the clip has")
    return index
