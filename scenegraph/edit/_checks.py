"""Checks of the editing API's arguments, each raising one typed, one-line error."""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence

import numpy as np
from pxr import Tf

from ..types import InputError

__all__ = [
    "UnknownNameError",
    "check_color",
    "check_matrix",
    "check_name",
    "check_number",
    "check_vector",
    "format_vector",
    "unknown_name",
]

_SINGULAR_COND = 1e12
_AFFINE_TOL = 1e-9


class UnknownNameError(InputError, KeyError):
    """No prim of that kind by that name (an :class:`InputError` that is also a ``KeyError``)."""

    def __str__(self) -> str:
        # KeyError would print the repr of its argument, quotes and all.
        return str(self.args[0]) if self.args else ""


def check_vector(value: object, name: str, *, size: int = 3, hint: str = "") -> np.ndarray:
    """``value`` as a finite float64 vector of ``size`` numbers, or InputError."""
    suffix = f"; {hint}" if hint else ""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be {size} numbers, got {value!r}{suffix}") from None
    if arr.shape != (size,):
        raise InputError(f"{name} must be {size} numbers, got shape {arr.shape}{suffix}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} must be finite, got {tuple(arr.tolist())}{suffix}")
    return arr


def check_number(value: object, name: str) -> float:
    """``value`` as a finite float, or InputError."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise InputError(f"{name} must be finite, got {number}")
    return number


def check_matrix(value: object, name: str) -> np.ndarray:
    """A finite, affine, invertible 4×4 (column vectors) as float64, or InputError."""
    try:
        m = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a 4×4 matrix, got {type(value).__name__}") from None
    if m.shape != (4, 4):
        raise InputError(f"{name} must be a 4×4 matrix, got shape {m.shape}; pass a world_from_local transform")
    if not np.all(np.isfinite(m)):
        raise InputError(f"{name} must be finite, got {int(np.count_nonzero(~np.isfinite(m)))} non-finite value(s)")
    if not np.allclose(m[3], [0.0, 0.0, 0.0, 1.0], atol=_AFFINE_TOL):
        raise InputError(f"{name} must have last row 0 0 0 1, got {m[3].tolist()}; column vectors, p_world = M @ p_local")
    if np.linalg.cond(m[:3, :3]) > _SINGULAR_COND:
        raise InputError(f"{name} must be invertible, got a singular 3×3 part (a zero scale?); use remove() to hide an object")
    return m


def format_vector(values: Sequence[float] | np.ndarray) -> str:
    """``(x, y, z)`` with 6 significant digits, for edit descriptions and messages."""
    return "(" + ", ".join(f"{float(v):.6g}" for v in values) + ")"


def check_name(name: object, what: str) -> str:
    """``name`` if it is a valid USD prim name, else InputError with a valid suggestion."""
    if not isinstance(name, str) or not name:
        raise InputError(f"{what} name must be a non-empty string, got {name!r}")
    if not Tf.IsValidIdentifier(name):
        raise InputError(
            f"{what} name must be a valid USD prim name (letters, digits, _; not starting with a digit), "
            f"got {name!r}; try {Tf.MakeValidIdentifier(name)!r}"
        )
    return name


def unknown_name(what: str, name: object, known: Sequence[str], *, hint: str = "") -> UnknownNameError:
    """The error for a name that is not there, with the closest known name suggested."""
    close = difflib.get_close_matches(str(name), list(known), n=1)
    if close:
        message = f"no {what} named {name!r}; did you mean {close[0]!r}?"
    elif known:
        message = f"no {what} named {name!r}; the scene has {', '.join(sorted(known))}"
    else:
        message = f"no {what} named {name!r}; the scene has none"
    return UnknownNameError(message + (f" ({hint})" if hint else ""))


def check_color(rgb: object, name: str) -> np.ndarray:
    """``rgb`` as 3 non-negative finite float64 (linear RGB), or InputError."""
    color = check_vector(rgb, name, hint="pass linear RGB, e.g. (1, 1, 1)")
    if np.any(color < 0):
        raise InputError(f"{name} must be non-negative linear RGB, got {format_vector(color)}")
    return color
