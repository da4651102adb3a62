"""Small conversions between numpy and USD values: matrices, colours, layer metadata."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from pxr import Gf, Vt

__all__ = ["from_usd_value", "gf_from_transform", "linear_to_srgb", "srgb_to_linear", "to_usd_value", "transform_from_gf"]

log = logging.getLogger(__name__)


def gf_from_transform(a_from_b: np.ndarray) -> Gf.Matrix4d:
    """The ``Gf.Matrix4d`` of a 4×4 column-vector transform."""
    # Gf matrices use row vectors (p' = p M): pass the transpose of our column-vector matrix.
    return Gf.Matrix4d(np.asarray(a_from_b, dtype=np.float64).T.tolist())


def transform_from_gf(matrix: Gf.Matrix4d) -> np.ndarray:
    """4×4 float64 column-vector transform of a ``Gf.Matrix4d`` (row vectors)."""
    return np.array(matrix, dtype=np.float64).T


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    """Linear RGB of sRGB-encoded values in 0..1 (any shape)."""
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in 0..1 of linear RGB (clipped to 0..1 first; any shape)."""
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1.0 / 2.4) - 0.055)


def to_usd_value(value: Any, key: str) -> Any:
    """A Python/numpy value as something a USD dictionary can hold, or ``None`` to skip it."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, (str, Path)):
        return str(value)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            converted = to_usd_value(v, f"{key}.{k}")
            if converted is not None:
                out[str(k)] = converted
        return out
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(np.asarray(value).reshape(-1)) if isinstance(value, np.ndarray) else list(value)
        if all(isinstance(v, str) for v in items):
            return Vt.StringArray([str(v) for v in items])
        if all(isinstance(v, (bool, np.bool_)) for v in items):
            return Vt.BoolArray([bool(v) for v in items])
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in items):
            return Vt.Int64Array([int(v) for v in items])
        if all(v is None or isinstance(v, (int, float, np.integer, np.floating)) for v in items):
            return Vt.DoubleArray([math.nan if v is None else float(v) for v in items])
    log.debug("metadata entry %s of type %s stored as text", key, type(value).__name__)
    return str(value)


def from_usd_value(value: Any) -> Any:
    """Plain Python (dict, list, scalars) of a value read from a USD dictionary."""
    if isinstance(value, Mapping):
        return {str(k): from_usd_value(v) for k, v in value.items()}
    if isinstance(value, (str, bool, int, float)):
        return value
    try:
        return [from_usd_value(v) for v in value]
    except TypeError:
        return value
