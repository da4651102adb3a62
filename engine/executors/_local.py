"""The local executor: a pool of processes on this machine (no extra dependency)."""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from sceneforge.scenegraph import InputError

from ._executor import Resources, WorkerLost, run_task

__all__ = ["LocalExecutor"]

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

RETRIES = 2
"""How many times a task whose worker died is run again (in a fresh pool)."""


class LocalExecutor:
    """Tasks in ``workers`` processes on this machine (default: one per core).

    Processes are spawned, not forked: a fork of a process that holds torch's or OpenGL's
    threads can hang. Each task's numeric libraries get ``cores / workers`` threads, so the
    pool never runs more threads than the machine has cores. A worker that dies (killed, out of
    memory) breaks the whole pool in ``concurrent.futures``: the tasks it had not finished are
    run again in a fresh pool, up to :data:`RETRIES` times; finished ones are kept.
    """

    name = "local"

    def __init__(self, *, workers: int | None = None) -> None:
        cores = len(os.sched_getaffinity(0))
        if workers is not None and workers < 1:
            raise InputError(f"--workers must be at least 1, got {workers}")
        self._workers = workers or cores
        self._threads = max(1, cores // self._workers)

    @property
    def workers(self) -> int:
        return self._workers

    @property
    def fans_out_frames(self) -> bool:
        return False

    def has_gpus(self) -> bool:
        try:
            import torch
        except ImportError:
            return False
        return bool(torch.cuda.is_available())

    def map(
        self,
        fn: Callable[[T, Any], R],
        items: Sequence[T],
        *,
        shared: Any = None,
        resources: Resources = Resources(),
        tick: Callable[[], None] | None = None,
    ) -> Iterator[tuple[int, R]]:
        """See :meth:`Executor.map`; ``resources.cpus`` above the pool's share of the cores is
        not enforced here (one task per process)."""
        todo = list(range(len(items)))
        attempts = dict.fromkeys(todo, 0)
        while todo:
            pool = ProcessPoolExecutor(
                max_workers=min(self._workers, len(todo)), mp_context=multiprocessing.get_context("spawn")
            )
            broken = False
            finished = False
            try:
                futures: dict[Future, int] = {
                    pool.submit(run_task, fn, items[i], shared, self._threads): i for i in todo
                }
                for i in todo:
                    attempts[i] += 1
                pending = set(futures)
                while pending:
                    done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                    if tick is not None:
                        tick()
                    for future in done:
                        index = futures[future]
                        try:
                            result = future.result()
                        except BrokenProcessPool:
                            broken = True
                            continue
                        todo.remove(index)
                        yield index, result
                    if broken:
                        break
                finished = True
            finally:
                if not finished and not broken:
                    # interrupted (Ctrl-C, SIGTERM, an error): stop the running tasks rather than
                    # wait for them; every file they write is atomic, so a stopped one leaves none half-written
                    for process in list(getattr(pool, "_processes", {}).values()):  # no public way to stop them
                        process.terminate()
                pool.shutdown(wait=finished, cancel_futures=True)
            if broken:
                lost = [i for i in todo if attempts[i] > RETRIES]
                if lost:
                    raise WorkerLost(
                        f"a worker process died {attempts[lost[0]]} times while running task {lost[0]} "
                        "(killed, or out of memory: try fewer --workers)"
                    )
                log.warning("a worker process died; running its %d unfinished task(s) again", len(todo))

    def close(self) -> None:
        """Nothing to stop: each :meth:`map` makes and stops its own pool."""
