"""Thread counts for the numeric libraries while a stage runs.

torch's, OpenCV's and Open3D's (OpenMP) worker threads meet at barriers: on cores busy with
other work every extra thread costs many times what it brings, so the heavy stages run on the
cores the load average leaves free.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

import numpy as np

__all__ = ["THREADS_ENV", "free_cores", "idle_cores", "openmp_threads", "torch_threads"]

log = logging.getLogger(__name__)


THREADS_ENV = "SCENEFORGE_THREADS"
"""An environment variable capping the threads one process uses: an executor running several
tasks side by side on one machine (``engine.executors``) gives each its share of the cores."""


def _allotted(cores: int) -> int:
    """``cores``, capped by :data:`THREADS_ENV` when it is set."""
    try:
        cap = int(os.environ.get(THREADS_ENV, "0"))
    except ValueError:
        cap = 0
    return min(cores, cap) if cap > 0 else cores


def idle_cores() -> int:
    """Cores this process may use that the 1-minute load average leaves idle, at least one."""
    cores = _allotted(len(os.sched_getaffinity(0)))
    try:
        busy = os.getloadavg()[0]
    except OSError:  # not every platform reports a load average
        return cores
    return int(np.clip(round(cores - busy), 1, cores))


class torch_threads:
    """Set torch's and OpenCV's thread counts for a block and restore them after."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __enter__(self) -> None:
        import cv2
        import torch

        self.saved = (torch.get_num_threads(), cv2.getNumThreads())
        torch.set_num_threads(self.count)
        cv2.setNumThreads(self.count)

    def __exit__(self, *exc: object) -> None:
        import cv2
        import torch

        torch.set_num_threads(self.saved[0])
        cv2.setNumThreads(self.saved[1])


def free_cores() -> int:
    """Cores not busy with other work: the core count less the 1-minute load average, at least 1."""
    cores = _allotted(os.cpu_count() or 1)
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average on this platform
        return cores
    return max(1, min(cores, int(cores - load + 0.5)))


@contextlib.contextmanager
def openmp_threads(count: int | None) -> Iterator[None]:
    """Run Open3D's OpenMP loops on ``count`` threads inside the block (None: the free cores).

    Open3D 0.19 sizes its teams from the physical core count unless ``OMP_NUM_THREADS`` is
    set when the loop starts, and then from ``omp_get_max_threads()``: both are set here and
    restored after.
    """
    if count is None:
        count = free_cores()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        log.debug("threadpoolctl is not installed; Open3D keeps its own thread count")
        yield
        return
    saved = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = str(count)
    try:
        with threadpool_limits(limits=count, user_api="openmp"):
            yield
    finally:
        if saved is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = saved
