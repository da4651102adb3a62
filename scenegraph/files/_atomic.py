"""Atomic file writes: the one mechanism every SceneForge writer uses.

A file is written under a temporary name in the same folder and renamed over the target
(``os.replace``, atomic on POSIX and Windows), so a crash or an interrupt never leaves a
half-written file where a reader looks. The temporary name keeps the target's suffix,
because some writers (USD's ``Sdf.Layer.Export``, OpenCV's ``imwrite``) choose the format
from it; it also names the writing process, so that what a killed process left behind is
recognised and removed by the next run (:func:`remove_stale_temporaries`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from ..types import SceneFileError

__all__ = [
    "atomic_path", "atomic_write", "created_folder", "process_alive", "remove_stale_temporaries", "temporary_sibling",
]

log = logging.getLogger(__name__)

_TEMPORARY = re.compile(r"^\..*\.(\d+)\.[0-9a-f]{8}\.tmp(\.[^.]+)?$")


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


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_stale_temporaries(folder: str | Path) -> int:
    """Remove the temporaries (files or folders named by :func:`temporary_sibling`) that
    processes no longer running left in ``folder`` — a run killed before it could clean up.
    Returns how many were removed; a folder that is missing or unreadable is left alone."""
    removed = 0
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return 0
    for entry in entries:
        match = _TEMPORARY.match(entry.name)
        if match is None or int(match.group(1)) == os.getpid() or process_alive(int(match.group(1))):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed += 1
        except OSError as exc:
            log.debug("could not remove the stale temporary %s: %s", entry, exc)
    if removed:
        log.info("removed %d temporary file(s) a stopped run left in %s", removed, folder)
    return removed


@contextlib.contextmanager
def created_folder(folder: str | Path) -> Iterator[Path]:
    """Make ``folder`` (and missing parents) for the block; when the block fails and what it
    made holds no file, remove it again — a failed run leaves no empty output folder behind.

    Raises:
        SceneFileError: the folder cannot be made.
    """
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise SceneFileError(f"{str(target)!r} exists and is not a folder; choose another output")
    missing = []
    for candidate in (target, *target.parents):
        if candidate.exists():
            break
        missing.append(candidate)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(target, exc) from exc
    try:
        yield target
    except BaseException:
        for made in missing:  # deepest first
            if made.is_dir() and not any(p.is_file() for p in made.rglob("*")):
                shutil.rmtree(made, ignore_errors=True)
        raise
