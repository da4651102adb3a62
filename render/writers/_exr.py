"""OpenEXR frames: linear half-float RGB plus named extra channels (depth, object ids, masks).

RGB is stored as ``R``, ``G``, ``B`` in HALF, in linear light: the sRGB-encoded input is
decoded with the standard sRGB EOTF (IEC 61966-2-1), extended to values above 1 and mirrored
for negative ones, so that wide-range float frames pass through. The primaries are sRGB's
(Rec.709, D65 white), which EXR readers assume when a file names no chromaticities.

Each extra channel is an H×W array stored under its own name, with the pixel type chosen by
its dtype, so that nothing is rounded behind the caller's back:

=============================================  ======  ==========================================
dtype                                          stored  use
=============================================  ======  ==========================================
float32                                        FLOAT   depth (z-depth, 0 = invalid), exact
float16                                        HALF    any 0..1 quantity the caller already halved
bool                                           HALF    masks such as ``coverage`` (0 or 1)
uint8                                          HALF    small labels such as ``source`` (exact)
int8/16/32/64, uint16/32/64 (values 0..2³²-1)  UINT    ids such as ``object_id`` (exact)
=============================================  ======  ==========================================

OpenEXR is an optional dependency (``pip install 'sceneforge[exr]'``), imported only here.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from types import ModuleType

import numpy as np

from sceneforge.scenegraph import DependencyError, InputError, ShapeError

__all__ = ["import_openexr", "pack_channels", "srgb_to_linear", "write_exr"]

_RGB_NAMES = ("R", "G", "B")
_UINT_MAX = 2**32 - 1


def import_openexr() -> ModuleType:
    """The ``OpenEXR`` module (3.x API).

    Raises:
        DependencyError: OpenEXR is not installed.
    """
    try:
        import OpenEXR
    except ImportError as error:
        raise DependencyError("writing EXR needs the OpenEXR package; pip install 'sceneforge[exr]'") from error
    return OpenEXR


def srgb_to_linear(encoded: np.ndarray) -> np.ndarray:
    """Decode sRGB-encoded values to linear light with the sRGB EOTF; float32 in, float32 out.

    ``c <= 0.04045: c / 12.92``, else ``((c + 0.055) / 1.055) ** 2.4``; applied to ``|c|`` with
    the sign kept, so that values outside 0..1 map continuously.
    """
    magnitude = np.abs(encoded)
    linear = np.where(magnitude <= 0.04045, magnitude / 12.92, ((magnitude + 0.055) / 1.055) ** 2.4)
    return (np.sign(encoded) * linear).astype(np.float32)


def pack_channels(channels: Mapping[str, np.ndarray], *, height: int, width: int) -> dict[str, np.ndarray]:
    """Check the extra channels of one frame and convert each to the dtype it is stored in.

    Args:
        channels: name → H×W array (dtypes as in the module docstring).
        height, width: the frame's size in pixels.

    Returns:
        name → H×W array of float32 (FLOAT), float16 (HALF) or uint32 (UINT).

    Raises:
        InputError: a bad name, or ids outside 0..2³²-1.
        ShapeError: a channel of the wrong shape or of an unsupported dtype.
    """
    packed: dict[str, np.ndarray] = {}
    for name, values in channels.items():
        if not isinstance(name, str) or not name or name in _RGB_NAMES:
            raise InputError(f"EXR channel names must be non-empty strings other than R, G, B, got {name!r}")
        if not isinstance(values, np.ndarray) or values.shape != (height, width):
            got = f"{values.shape} {values.dtype}" if isinstance(values, np.ndarray) else type(values).__name__
            raise ShapeError(
                f"EXR channel {name!r} must be an H×W array of {height}×{width} like the frame, got {got}",
                expected=(height, width),
                actual=getattr(values, "shape", None),
            )
        packed[name] = _stored(name, values)
    return packed


def _stored(name: str, values: np.ndarray) -> np.ndarray:
    if values.dtype in (np.float32, np.float16):
        return np.ascontiguousarray(values)
    if values.dtype in (np.bool_, np.uint8):
        return values.astype(np.float16)
    if values.dtype.kind in "iu" and values.dtype != np.uint8:
        if values.size and (values.min() < 0 or values.max() > _UINT_MAX):
            raise InputError(
                f"EXR channel {name!r} holds ids stored as UINT, so they must lie in 0..{_UINT_MAX}, "
                f"got {values.min()}..{values.max()}"
            )
        return values.astype(np.uint32)
    raise ShapeError(
        f"EXR channel {name!r} must be float32, float16, bool or an integer type, got {values.dtype}; "
        "cast float64 to float32",
        expected="float32, float16, bool or integer",
        actual=str(values.dtype),
    )


def write_exr(path: Path, linear_rgb: np.ndarray, channels: Mapping[str, np.ndarray], *, fps: Fraction) -> None:
    """Write one EXR image (ZIP compression, scanlines) to ``path``.

    Args:
        path: the file to write (the caller makes the write atomic).
        linear_rgb: H×W×3 float32 linear RGB, stored as HALF ``R``, ``G``, ``B``.
        channels: extra channels already packed by :func:`pack_channels`.
        fps: frames per second, stored in the standard ``framesPerSecond`` attribute.
    """
    OpenEXR = import_openexr()
    half = linear_rgb.astype(np.float16)
    pixels = {name: np.ascontiguousarray(half[:, :, i]) for i, name in enumerate(_RGB_NAMES)}
    pixels.update(channels)
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage, "framesPerSecond": fps}
    with OpenEXR.File(header, pixels) as image:
        image.write(str(path))
