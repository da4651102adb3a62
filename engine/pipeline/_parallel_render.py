"""The render job over an executor: frame ranges rendered side by side, assembled in order.

Each range is an ordinary render (:func:`render_frames` with ``start``/``end``) into a staging
folder beside the output, one atomically written frame file at a time and resumable: a range
whose worker died is run again and keeps the frames it had written. When every range is done,
a video is encoded from the staged frames in order, or a sequence's frames are moved into the
output folder; the staging folder is removed. Nothing is written to the output before then, so
a failure leaves it as it was (with ``--resume`` a sequence is written in place instead).

A composite carries state from frame to frame (regions invented once and reused, the
refiner's smoothing over time): each range after the first starts ``warm_up`` frames early and
does not write those, so it begins with nearly the state the frames before it leave. A range
never sees inventions made further back; ``bench_scale`` measures what differs from a render
in one process. CG renders carry no state and come out identical.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np

from sceneforge.reconstruct import ProgressFn
from sceneforge.render.writers import DEFAULT_FRAME_PATTERN, VideoWriter, check_target, existing_frames, parse_target
from sceneforge.scenegraph import read_camera_track
from sceneforge.scenegraph.files import remove_stale_temporaries
from sceneforge.scenegraph.usd import SCENE_FILE, check_format_version, open_stage

from ..executors import Executor, Resources
from ._parallel import frame_chunks
from ._render import RenderConfig, RenderResult, frame_range, render_frames

__all__ = ["render_in_parallel"]

log = logging.getLogger(__name__)

_BASE_BYTES = 1024**3
_BYTES_PER_PIXEL_FRAME = 12
"""A composite range keeps every plate frame (3 bytes a pixel) and the unedited scene's depth and
object ids (6 bytes) besides its own frames."""


def render_in_parallel(config: RenderConfig, executor: Executor, *, progress: ProgressFn | None = None) -> RenderResult:
    """Render ``config`` with its frame ranges on ``executor``'s workers; see the module docstring."""
    start_time = time.perf_counter()
    scene = config.scene / SCENE_FILE if config.scene.is_dir() else config.scene
    check_format_version(open_stage(scene))
    track = read_camera_track(scene, camera=config.camera)
    numbers = [int(n) for n in frame_range(scene, track, config.start, config.end)]
    target = parse_target(os.fspath(config.output), config.format)
    config.output.absolute().parent.mkdir(parents=True, exist_ok=True)
    existing = check_target(target, overwrite=config.force, resume=config.resume)
    in_place = target.is_sequence and config.resume
    if in_place:
        staging, pattern = target.path, target.pattern
        numbers = [n for n in numbers if n not in existing]
    else:
        staging = target.path.absolute().parent / f".{target.path.name}.parts"
        shutil.rmtree(staging, ignore_errors=True)  # a failed render's; its scene may have changed since
        pattern = target.pattern if target.is_sequence else DEFAULT_FRAME_PATTERN
    if not numbers:
        first = track.intrinsics[0]
        return RenderResult(output=config.output, num_frames=0, width=first.width, height=first.height,
                            seconds=time.perf_counter() - start_time, coverage=0.0)
    staging.mkdir(parents=True, exist_ok=True)
    stage_format = "exr" if target.format == "exr" else "png"
    ranges = _ranges(config, [int(n) for n in track.frame_numbers], numbers, executor.workers)
    template = dataclasses.replace(
        config, output=staging / pattern, format=stage_format, resume=True, force=False, executor=None, address=None,
        workers=None, start=None, end=None, skip_before=None,
    )
    pixels = track.intrinsics[0].width * track.intrinsics[0].height
    resources = Resources(cpus=1.0, memory_bytes=_BASE_BYTES + len(track) * pixels * _BYTES_PER_PIXEL_FRAME)
    log.info("render: %d frames in %d ranges on %s", len(numbers), len(ranges), executor.name)

    def report() -> None:
        if progress:
            progress("render", len(set(existing_frames(staging, pattern)) & set(numbers)), len(numbers))

    results: list[RenderResult] = []
    try:
        for _, result in executor.map(_render_range, ranges, shared=template, resources=resources, tick=report):
            results.append(result)
            report()
        remove_stale_temporaries(staging)  # what a lost worker left
        if not in_place:
            _assemble(config, target, staging, pattern, numbers, track.fps, progress)
    finally:
        if not in_place:
            shutil.rmtree(staging, ignore_errors=True)
    written = sum(r.num_frames for r in results)
    counts: dict[str, int] = {}
    for result in results:
        for name, count in result.pixels_by_source.items():
            counts[name] = counts.get(name, 0) + count
    coverage = sum(r.coverage * r.num_frames for r in results) / max(written, 1)
    first = results[0]
    return RenderResult(
        output=config.output, num_frames=len(numbers), width=first.width, height=first.height,
        seconds=time.perf_counter() - start_time, coverage=coverage, pixels_by_source=counts,
    )


def _ranges(config: RenderConfig, shot: list[int], numbers: list[int], workers: int) -> list[tuple[int, int, int | None]]:
    """(first frame to render, frame to stop before, first frame to write or None) per range:
    one run of neighbouring frames per worker, each after the first warmed up on the
    ``warm_up`` frames of the shot before it (composite only)."""
    out = []
    for chunk in frame_chunks(numbers, workers, per_worker=1):
        first, last = chunk[0], chunk[-1]
        at = shot.index(first)
        warm = shot[max(0, at - config.warm_up)] if config.mode == "composite" else first
        out.append((warm, last + 1, first if warm != first else None))
    return out


def _render_range(item: tuple[int, int, int | None], template: RenderConfig) -> RenderResult:
    """Task: one range of frames rendered into the staging folder (resumable frame by frame)."""
    first, end, skip_before = item
    return render_frames(dataclasses.replace(template, start=first, end=end, skip_before=skip_before))


def _assemble(
    config: RenderConfig, target, staging: Path, pattern: str, numbers: list[int], fps: float, progress: ProgressFn | None
) -> None:
    """The staged frames into the output: a video encoded in order, or a sequence moved into its folder."""
    staged = existing_frames(staging, pattern)
    missing = [n for n in numbers if n not in staged]
    if missing:
        raise RuntimeError(f"{len(missing)} rendered frames are missing from {staging} (first {missing[0]})")
    if target.is_sequence:
        target.path.mkdir(parents=True, exist_ok=True)
        if config.force:
            for stale in existing_frames(target.path, pattern).values():
                stale.unlink()
        for n in numbers:
            os.replace(staged[n], target.path / (pattern % n))
        return
    import cv2

    with VideoWriter(config.output, fps=fps, overwrite=config.force, start_number=numbers[0], format=config.format) as writer:
        for done, n in enumerate(numbers):
            bgr = cv2.imread(str(staged[n]), cv2.IMREAD_COLOR)
            writer.write(np.ascontiguousarray(bgr[:, :, ::-1]))
            if progress:
                progress("assemble", done + 1, len(numbers))
