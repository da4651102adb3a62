"""The executor contract: run one function over many items somewhere else, results as they finish.

Work is handed out as ``fn(item, shared)``: ``items`` are small (a shot's config, a range of
frame indices), ``shared`` is what every task reads (the frames, the camera track), sent once:
through Ray's object store, where workers on one node map the same arrays without a copy, or
pickled to each pool process. Big results never travel back: a task writes them through the
run folder's stage cache (atomic files on storage every worker sees) and returns a summary.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sceneforge.reconstruct import THREADS_ENV
from sceneforge.scenegraph import InputError, SceneForgeError

__all__ = ["EXECUTOR_NAMES", "Executor", "Resources", "WorkerLost", "run_task"]

T = TypeVar("T")
R = TypeVar("R")

EXECUTOR_NAMES = ("local", "ray")


class WorkerLost(SceneForgeError):
    """A worker process died (killed, out of memory) more times than a task is retried."""

    exit_code = 6


@dataclass(frozen=True)
class Resources:
    """What one task needs, for the scheduler: Ray places a task only where they are free."""

    cpus: float = 1.0
    """Cores; the task's numeric libraries use this many threads (at least one)."""
    gpus: float = 0.0
    """GPUs (fractions share one); 0 for CPU work."""
    memory_bytes: int = 0
    """Working memory the task is expected to peak at, beyond the shared arrays (0: unknown)."""

    def __post_init__(self) -> None:
        if self.cpus <= 0 or self.gpus < 0 or self.memory_bytes < 0:
            raise InputError(f"resources must be positive, got cpus={self.cpus} gpus={self.gpus} memory={self.memory_bytes}")

    @property
    def threads(self) -> int:
        return max(1, int(self.cpus))


class Executor(Protocol):
    """Runs tasks side by side: a process pool on this machine, or a Ray cluster."""

    name: str
    """``local`` or ``ray``."""

    @property
    def workers(self) -> int:
        """How many tasks of one CPU run at once (the pool's processes, the cluster's CPUs)."""
        ...

    @property
    def fans_out_frames(self) -> bool:
        """Whether a task may itself hand frame-parallel work to this executor (Ray: a shot's
        task sends its depth frames to other workers; a process pool cannot nest)."""
        ...

    def has_gpus(self) -> bool:
        """Whether any worker has a GPU (a GPU-backed stage then asks for one)."""
        ...

    def map(
        self,
        fn: Callable[[T, Any], R],
        items: Sequence[T],
        *,
        shared: Any = None,
        resources: Resources = Resources(),
        tick: Callable[[], None] | None = None,
    ) -> Iterator[tuple[int, R]]:
        """``fn(item, shared)`` for every item, yielded as ``(index into items, result)`` in the
        order they finish. ``fn`` must be a module-level function (workers import it). A task
        whose worker dies is run again (its finished files are kept, see the module docstring);
        past the retries :class:`WorkerLost` is raised. An exception raised by ``fn`` is raised
        here. ``tick()`` is called about twice a second while waiting (progress)."""
        ...

    def close(self) -> None:
        """Stop what this executor started (the pool's processes, a Ray cluster it started)."""
        ...


def run_task(fn: Callable[[T, Any], R], item: T, shared: Any, threads: int) -> R:
    """Run one task in a worker with its share of the cores: torch's, OpenCV's, OpenMP's and
    Mesa's thread counts follow ``threads`` (and ``reconstruct``'s thread helpers, through
    :data:`~sceneforge.reconstruct.THREADS_ENV`), so tasks side by side do not fight over cores."""
    os.environ[THREADS_ENV] = str(threads)
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["LP_NUM_THREADS"] = str(threads)  # Mesa's software rasterizer, read when a GL context is made
    import cv2
    import torch

    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    return fn(item, shared)
