"""PNG textures: write them (atomically) and read them back, with our own codec.

The codec is stdlib ``zlib``: the scene graph must not need an imaging library to write or
to read back what it wrote. Foreign textures (JPEG, interlaced or Paeth-filtered PNGs from
other tools) are decoded with Pillow when it is installed.
"""

from __future__ import annotations

import io

import struct
import zlib
from pathlib import Path

import numpy as np

from ..files import atomic_write
from ..types import DependencyError, SceneFileError, check_array

__all__ = ["png_size", "read_image", "write_png"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def write_png(path: str | Path, image: np.ndarray) -> Path:
    """Write an H×W×3 uint8 RGB image as a PNG, atomically (temporary file, then rename).

    Raises:
        ShapeError: ``image`` is not H×W×3 uint8.
        SceneFileError: the file cannot be written.
    """
    check_array(image, "image", shape=(None, None, 3), dtype=np.uint8, hint="pass an RGB texture")
    return atomic_write(path, _encode_png(image))


def _encode_png(image: np.ndarray) -> bytes:
    height, width, _ = image.shape
    rows = np.ascontiguousarray(image).reshape(height, width * 3)
    # Filter "Up" on every row (the first against zeros): vectorised both ways and compresses
    # smooth textures well.
    up = rows.copy()
    up[1:] -= rows[:-1]
    raw = np.concatenate([np.full((height, 1), 2, dtype=np.uint8), up], axis=1).tobytes()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return _PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def png_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from a PNG's header, or None when it is not a readable PNG."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(24)
    except OSError:
        return None
    if len(head) < 24 or head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


def _decode_png(data: bytes) -> np.ndarray | None:
    """H×W×3 uint8 of a non-interlaced 8/16-bit PNG filtered with None/Sub/Up; None for anything else."""
    if data[:8] != _PNG_SIGNATURE:
        return None
    pos, header, palette, idat = 8, None, None, []
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = np.frombuffer(body, dtype=np.uint8).reshape(-1, 3)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        return None
    width, height, depth, colour_type, _, _, interlace = header
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(colour_type)
    if channels is None or interlace != 0 or depth not in (8, 16) or (colour_type == 3 and depth != 8):
        return None
    bpp = channels * depth // 8
    stride = width * bpp
    try:
        raw = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8)
    except zlib.error:
        return None
    if raw.size != height * (stride + 1):
        return None
    raw = raw.reshape(height, stride + 1)
    kinds = raw[:, 0]
    if np.any(kinds > 2):
        return None
    out = np.empty((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.uint8)
    for row in range(height):
        line = raw[row, 1:]
        if kinds[row] == 1:
            line = np.cumsum(line.reshape(width, bpp), axis=0, dtype=np.uint8).reshape(stride)
        elif kinds[row] == 2:
            line = line + previous
        out[row] = line
        previous = out[row]
    if depth == 16:
        out = out.reshape(height, width * channels, 2)[..., 0]  # the high byte
    pixels = out.reshape(height, width, channels)
    if colour_type == 3:
        if palette is None:
            return None
        return palette[np.minimum(pixels[..., 0], len(palette) - 1)]
    if channels in (1, 2):
        return np.repeat(pixels[..., :1], 3, axis=2)
    return np.ascontiguousarray(pixels[..., :3])


def read_image(path: str | Path) -> np.ndarray:
    """An image file as H×W×3 uint8 RGB (alpha dropped, grey repeated, 16 bits cut to 8).

    PNGs that SceneForge writes are decoded here; other files (JPEG, Paeth-filtered or
    interlaced PNGs) need Pillow.

    Raises:
        SceneFileError: the file is missing or not a readable image.
        DependencyError: the file needs Pillow and it is not installed.
    """
    file = Path(path)
    data = _package_member(str(path)) if is_package_path(str(path)) else None
    if data is None:
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise SceneFileError(f"expected an image at {str(file)!r}, got {exc.strerror or exc}; check the texture path") from exc
    image = _decode_png(data)
    if image is not None:
        return image
    try:
        from PIL import Image
    except ImportError as exc:
        raise DependencyError(f"reading {file.name} needs Pillow, which is not installed; pip install pillow") from exc
    try:
        with Image.open(io.BytesIO(data)) as opened:
            return np.asarray(opened.convert("RGB"), dtype=np.uint8).copy()
    except (OSError, ValueError) as exc:
        raise SceneFileError(f"expected a readable image at {str(file)!r}, got {exc}; re-export the texture") from exc


def is_package_path(path: str) -> bool:
    """Whether ``path`` names a file inside a USDZ package (``pkg.usdz[inner/file.png]``)."""
    return path.endswith("]") and "[" in path


def _package_member(path: str) -> bytes:
    """The bytes of a file inside a USDZ package, read through USD's asset resolver."""
    from pxr import Ar

    asset = Ar.GetResolver().OpenAsset(Ar.ResolvedPath(path))
    if asset is None:
        raise SceneFileError(f"expected an image at {path!r}, got nothing USD can open in that package")
    return bytes(asset.GetBuffer())
