"""Atomic file writes (write a temporary sibling, then rename): the one mechanism every
SceneForge writer uses, so a crash never leaves a half-written file."""

from ._atomic import (
    atomic_path,
    atomic_write,
    created_folder,
    process_alive,
    remove_stale_temporaries,
    temporary_sibling,
)

__all__ = [
    "atomic_path", "atomic_write", "created_folder", "process_alive", "remove_stale_temporaries", "temporary_sibling",
]
