"""A shot's per-frame work on an executor's workers: depth and its multi-view check, frame ranges at a time.

Both go through the run folder's depth stores: each task writes the frames it finished
(atomically, one file per frame) and returns only how many, so a task lost with its worker is
run again for the frames it had not written, and the caller loads the maps from the store.
The frames, the cameras and the raw depth reach the tasks through the executor's ``shared``
object (Ray's object store), once, not once per task.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sceneforge.reconstruct import ProgressFn, checked_depths
from sceneforge.scenegraph import CameraTrack, DepthMaps, Frames

from ..cache import DepthStore
from ..executors import Executor, Resources

__all__ = ["parallel_depth", "parallel_check", "frame_chunks", "depth_resources"]

log = logging.getLogger(__name__)

_BYTES_PER_PIXEL = 400
"""Working memory a depth task needs per pixel of one frame, for the scheduler: a plane
sweep's float32 cost volume of about a hundred planes."""
_BASE_BYTES = 512 * 1024**2
"""A worker's own memory: Python, torch, OpenCV."""


def frame_chunks(indices: Sequence[int], workers: int, *, per_worker: int = 2) -> list[list[int]]:
    """``indices`` in runs of neighbouring frames, about ``per_worker`` runs for each worker
    (a run's frames share their neighbours' decoded views; more runs than workers balance
    frames that take longer)."""
    items = list(indices)
    if not items:
        return []
    count = min(len(items), max(1, workers * per_worker))
    size = math.ceil(len(items) / count)
    return [items[i : i + size] for i in range(0, len(items), size)]


def depth_resources(executor: Executor, frames: Frames) -> Resources:
    """What one stereo depth task asks for: a core, half a GPU when the cluster has one (the
    stereo backends run on torch and use CUDA when it is there; two share a GPU), memory for one
    frame's cost volume. (A network's depth runs in its shot's task, which asks for a whole GPU.)"""
    gpus = 0.5 if executor.has_gpus() else 0.0
    return Resources(cpus=1.0, gpus=gpus, memory_bytes=_BASE_BYTES + frames.width * frames.height * _BYTES_PER_PIXEL)


@dataclasses.dataclass(frozen=True)
class _DepthJob:
    frames: Frames
    track: CameraTrack
    config: Any
    """The depth backend's config (a registry config dataclass; it builds the estimator)."""
    folder: Path
    key: str


def _depth_frames(indices: list[int], job: _DepthJob) -> int:
    """Task: the depth of ``indices`` not yet in the store, written frame by frame."""
    store = DepthStore.attach(job.folder, job.key)
    todo = [i for i in indices if not store.has(int(job.frames.frame_numbers[i]))]
    if not todo:
        return 0
    for _, depth in job.config.build().estimate(job.frames, job.track, indices=todo):
        store.save(depth)
    return len(todo)


def parallel_depth(
    executor: Executor, frames: Frames, track: CameraTrack, depth_config: Any, store: DepthStore, todo: Sequence[int],
    *, progress: ProgressFn | None = None,
) -> None:
    """Write the depth of frame indices ``todo`` into ``store``, frame ranges on the executor's workers."""
    chunks = frame_chunks(todo, executor.workers)
    numbers = [int(frames.frame_numbers[i]) for i in todo]
    log.info("depth: %d frames in %d tasks on %s", len(todo), len(chunks), executor.name)
    job = _DepthJob(frames=frames, track=track, config=depth_config, folder=store.folder, key=store.key)
    _run(executor, _depth_frames, chunks, job, depth_resources(executor, frames), store, numbers, "depth", progress)


@dataclasses.dataclass(frozen=True)
class _CheckJob:
    depths: DepthMaps
    track: CameraTrack
    folder: Path
    key: str


def _check_frames(numbers: list[int], job: _CheckJob) -> int:
    """Task: the multi-view check of source frames ``numbers`` against all the raw depth."""
    store = DepthStore.attach(job.folder, job.key)
    todo = [n for n in numbers if not store.has(n)]
    if todo:
        for depth in checked_depths(job.depths, job.track, only=todo).values():
            store.save(depth)
    return len(todo)


def parallel_check(
    executor: Executor, raw: DepthMaps, track: CameraTrack, store: DepthStore, *, progress: ProgressFn | None = None
) -> None:
    """Write the multi-view checked depth (:func:`~sceneforge.reconstruct.checked_depths`) of
    every frame of ``raw`` into ``store``, frame ranges on the executor's workers."""
    numbers = [n for n in sorted(raw) if not store.has(n)]
    first = next(iter(raw.values()))
    pixels = first.depth.size
    resources = Resources(cpus=1.0, memory_bytes=_BASE_BYTES + pixels * 64)
    job = _CheckJob(depths=raw, track=track, folder=store.folder, key=store.key)
    _run(executor, _check_frames, frame_chunks(numbers, executor.workers), job, resources, store, numbers,
         "depth consistency", progress)


def _run(
    executor: Executor, fn: Any, chunks: list[list[int]], job: Any, resources: Resources, store: DepthStore,
    numbers: list[int], stage: str, progress: ProgressFn | None,
) -> None:
    def report() -> None:
        if progress:
            progress(stage, int(np.count_nonzero([store.has(n) for n in numbers])), len(numbers))

    for _ in executor.map(fn, chunks, shared=job, resources=resources, tick=report):
        report()
