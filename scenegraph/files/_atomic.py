"""Atomic file writes: the one mechanism every SceneForge writer uses.

A file is written under a temporary name in the same folder and renamed over the target
(``os.replace``, atomic on POSIX and Windows), so a crash or an interrupt never leaves a
half-written file where a reader looks. The temporary name keeps the target's suffix,
because some writers (USD's ``Sdf.Layer.Export``, OpenCV's ``imwrite``) choose the format
from it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from ..types import SceneFileError

__all__ = ["atomic_path", "atomic_write", "temporary_sibling"]


def temporary_sibling(path: Path) -> Path:
    """A fresh hidden name beside ``path`` that keeps its suffix (``.name.<pid>.<hex>.tmp.png``)."""
    return path.with_name(f".{path.stem}.{os.getpid()}.{secrets.token_hex(4)}.tmp{path.suffix}")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on a clean exit rename it onto ``path``.

    The caller writes the temporary file (with any library); if the block raises, the
    temporary file is removed and ``path`` is left as it was. The parent folder is created.

    Raises:
        SceneFileError: the folder cannot be created or the rename fails.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(target, exc) from exc
    tmp = temporary_sibling(target)
    try:
        yield tmp
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _unwritable(target, exc) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` atomically; returns the path.

    Raises:
        SceneFileError: the file cannot be written.
    """
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    with atomic_path(target) as tmp:
        tmp.write_bytes(payload)
    return target


def _unwritable(path: Path, exc: OSError) -> SceneFileError:
    return SceneFileError(
        f"expected to write {str(path)!r}, got {exc.strerror or exc}; check that the folder exists and is writable"
    )
