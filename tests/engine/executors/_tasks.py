"""Module-level task functions for the executor tests (workers import them by name)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from sceneforge.reconstruct import THREADS_ENV
from sceneforge.scenegraph import InputError


def scaled(item: int, shared: dict) -> int:
    return item * shared["factor"]


def threads_allotted(item: int, shared: None) -> str:
    return os.environ.get(THREADS_ENV, "")


def refuse(item: int, shared: None) -> int:
    raise InputError(f"item {item} is bad")


def die_once(item: int, folder: str) -> int:
    """Kill the worker process the first time ``item`` runs (a marker file remembers it)."""
    marker = Path(folder) / f"{item}.started"
    if item == 1 and not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return item


def die_always(item: int, shared: None) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return item
