"""Saving edits beside other writers: an exclusive lock on a shot's edits, and a three-way merge
of the edits layer when another writer saved since this one read it.

The lock is ``fcntl.flock`` on ``.edits.lock`` in the shot folder: held by one process at a
time, waited for by the others, and released by the kernel when its holder exits or is
killed, so a stale lock cannot block anyone. The command line holds it from opening a scene
to saving it; :meth:`Scene.save` holds it while it reads what is on disk and writes.

The merge. ``base`` is the edits layer as this writer last read or wrote it, ``ours`` the
layer with this writer's edits since, ``theirs`` what another writer saved meanwhile. The
result is ``theirs`` with this writer's changes (``base`` → ``ours``) re-applied, field by
field on every spec (a prim's ``active``, an attribute's value or time samples, a new prim
copied whole, a spec this writer removed removed): edits to different objects both survive;
where both writers changed the same field, this writer's value wins (as if its save came
second, which it does). USD has no merge of its own for layers; this one walks
``Sdf.Layer`` fields, which is what a layer is made of.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from pxr import Sdf

from ..types import SceneFileError

__all__ = ["edits_lock", "merge_layers", "LOCK_FILE"]

log = logging.getLogger(__name__)

LOCK_FILE = ".edits.lock"
"""The lock file beside ``edits.usda`` (empty; only its lock matters)."""

# Fields that list a spec's children: they follow from the specs themselves.
_CHILDREN = {
    "primChildren", "properties", "variantSetChildren", "variantChildren", "connectionChildren",
    "targetChildren", "mapperChildren", "mapperArgChildren", "expressionChildren",
}


_held: dict[Path, int] = {}
_held_guard = threading.Lock()


@contextlib.contextmanager
def edits_lock(folder: Path | str) -> Iterator[None]:
    """Hold the shot's edits lock (waiting for another holder) while the block runs. Nested
    use in one process (the command line around a save that locks too) holds it once.

    Raises:
        SceneFileError: the lock file cannot be made in ``folder`` (read-only shot).
    """
    import fcntl

    key = Path(folder).resolve()
    with _held_guard:
        if _held.get(key):
            _held[key] += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield
        finally:
            with _held_guard:
                _held[key] -= 1
        return
    path = key / LOCK_FILE
    try:
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise SceneFileError(
            f"expected to lock the edits of {str(folder)!r}, got {exc.strerror or exc}; check that the shot folder is writable"
        ) from exc
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            log.info("waiting for another writer of %s to finish", folder)
            fcntl.flock(handle, fcntl.LOCK_EX)
        with _held_guard:
            _held[key] = 1
        try:
            yield
        finally:
            with _held_guard:
                _held.pop(key, None)
    finally:
        os.close(handle)  # closing releases the lock


def merge_layers(base: Sdf.Layer, ours: Sdf.Layer, theirs: Sdf.Layer) -> Sdf.Layer:
    """A new anonymous layer: ``theirs`` with the changes from ``base`` to ``ours`` applied
    (see the module docstring). ``ours`` wins where both changed the same field."""
    merged = Sdf.Layer.CreateAnonymous(".usda")
    merged.TransferContent(theirs)
    base_paths, our_paths = _spec_paths(base), _spec_paths(ours)
    copied: list[Sdf.Path] = []
    for path in sorted(our_paths, key=lambda p: (p.pathElementCount, str(p))):
        if any(path.HasPrefix(done) for done in copied):
            continue
        target = merged.GetObjectAtPath(path)
        if not target:
            # new here (or removed by the other writer): the whole spec, children and all
            parent = path.GetPrimPath() if path.IsPropertyPath() else path.GetParentPath()
            if not parent.IsAbsoluteRootPath() and not merged.GetPrimAtPath(parent):
                Sdf.CreatePrimInLayer(merged, parent)
            if not Sdf.CopySpec(ours, path, merged, path):
                raise SceneFileError(f"expected to merge the edit at {path} into the saved edits, got a USD copy failure")
            copied.append(path)
            continue
        # there on both sides: this writer's changed fields (all of them, if base lacked the spec)
        mine, before = ours.GetObjectAtPath(path), base.GetObjectAtPath(path) if path in base_paths else None
        keys = set(mine.ListInfoKeys()) | (set(before.ListInfoKeys()) if before else set())
        for key in keys - _CHILDREN:
            value = mine.GetInfo(key) if mine.HasInfo(key) else None
            if _same(value, before.GetInfo(key) if before and before.HasInfo(key) else None):
                continue
            if value is None:
                target.ClearInfo(key)
            else:
                target.SetInfo(key, value)
    for path in sorted(base_paths - our_paths, key=lambda p: -p.pathElementCount):
        if merged.GetObjectAtPath(path):
            edit = Sdf.BatchNamespaceEdit()
            edit.Add(Sdf.NamespaceEdit.Remove(path))
            merged.Apply(edit)
    return merged


def _spec_paths(layer: Sdf.Layer) -> set[Sdf.Path]:
    paths: set[Sdf.Path] = set()
    layer.Traverse(Sdf.Path.absoluteRootPath, paths.add)
    return paths


def _same(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is b
    try:
        return bool(a == b)
    except Exception:  # Vt arrays of another shape, and the like: not the same
        return False
