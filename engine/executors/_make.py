"""Executors by name, as the command line chooses them."""

from __future__ import annotations

from sceneforge.scenegraph import InputError

from ._executor import EXECUTOR_NAMES, Executor
from ._local import LocalExecutor
from ._ray import RayExecutor

__all__ = ["make_executor"]


def make_executor(name: str, *, workers: int | None = None, address: str | None = None) -> Executor:
    """The executor called ``name``: ``local`` (a process pool of ``workers`` processes, default
    one per core) or ``ray`` (the cluster at ``address``: ``auto`` for the one ``ray start``
    made on this machine, ``ray://host:10001`` for a remote one, None to start a local one with
    ``workers`` CPUs)."""
    if name == "local":
        if address is not None:
            raise InputError("--address is for --executor ray; the local executor runs on this machine")
        return LocalExecutor(workers=workers)
    if name == "ray":
        return RayExecutor(address=address, workers=workers)
    raise InputError(f"unknown executor {name!r}; choose one of: {', '.join(EXECUTOR_NAMES)}")
