"""The render job: a scene's meshes seen through one of its cameras, to a video or images."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from sceneforge.reconstruct import ProgressFn
from sceneforge.render import VideoWriter, fill_holes
from sceneforge.render.composite import SOURCE_CODES, Compositor, ShotEdits, plate_track
from sceneforge.render.scene import FramePasses, iter_scene_passes
from sceneforge.scenegraph import CameraTrack, InputError, read_camera_track
from sceneforge.scenegraph.files import created_folder
from sceneforge.scenegraph.usd import (
    DEFAULT_CAMERA_PATH,
    RECONSTRUCTION_FILE,
    SCENE_FILE,
    check_format_version,
    open_stage,
)

from ..registry import int_at_least, option
from ._plate import read_instance_maps, read_plate

__all__ = ["RenderConfig", "RenderResult", "render_scene"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderConfig:
    """Everything ``sceneforge render`` takes."""

    scene: Path = option(flag="scene")
    """A scene.usda (or the shot folder holding it)."""
    output: Path = option(short="-o", required=True)
    """An .mp4/.mov/.mkv file, or a folder (or a frame_%06d.png pattern) for a PNG sequence."""
    mode: Literal["composite", "cg"] = "composite"
    """composite: the edited shot over its own footage (untouched pixels are the plate, what an
    edit reveals comes from other frames); cg: the scene's meshes only, as computer graphics."""
    camera: str = DEFAULT_CAMERA_PATH
    """The USD camera prim to look through."""
    start: int | None = option(None, parse=int_at_least(0))
    """First source frame to render (default: the scene's first)."""
    end: int | None = option(None, parse=int_at_least(1))
    """Source frame to stop before (default: after the scene's last)."""
    format: Literal["mp4", "png", "exr", "prores"] | None = None
    """mp4 (H.264), png or exr (half-float OpenEXR with depth, object_id, coverage and source
    channels) sequences, or prores (ProRes 4444 .mov); default: from the output's name."""
    force: bool = False
    """Overwrite an existing output."""
    resume: bool = False
    """png/exr: keep the frames already in the output folder and render only the missing ones
    (after an interruption)."""
    fill: bool = option(True, flag="--no-fill", negate=True)
    """cg: fill pixels no geometry covers from their surroundings (push-pull; off leaves them black)."""
    hold_out: tuple[int, ...] = option(default_factory=tuple, hidden=True)
    """composite: source frame numbers whose own footage is never used; they are rendered from
    the other frames like a new camera (to measure novel views against the real frames)."""


@dataclass(frozen=True)
class RenderResult:
    """What a render job wrote."""

    output: Path
    num_frames: int
    width: int
    height: int
    seconds: float
    coverage: float
    """Mean share of pixels with geometry over the rendered frames."""
    pixels_by_source: Mapping[str, int] = field(default_factory=dict)
    """composite: pixel counts over the rendered frames by where they came from (``plate``,
    ``reprojected``, ``invented``, ``rendered``); cg: every pixel is ``rendered``."""


def render_scene(config: RenderConfig, *, progress: ProgressFn | None = None) -> RenderResult:
    """Render a scene through its camera to a video or a PNG sequence: composited over the
    footage (default) or as computer graphics.

    Raises:
        SceneFileError: the scene cannot be read.
        InputError: no frame in the range, nothing to render, or (composite) the source clip
            is gone.
        OutputExistsError: the output exists and ``force`` is off.
    """
    scene = config.scene / SCENE_FILE if config.scene.is_dir() else config.scene
    check_format_version(open_stage(scene))  # as edit does: a newer scene may mean what this one misreads
    track = read_camera_track(scene, camera=config.camera)
    frame_numbers = _frame_range(scene, track, config.start, config.end)
    first = track.intrinsics[track.index_of(int(frame_numbers[0]))]
    start = time.perf_counter()
    # The output's folder is made as export makes it, and removed again if the render fails
    # before writing anything into it.
    with created_folder(config.output.absolute().parent):
        # PNG sequences are numbered by source frame, so frame_000036.png is frame 36 of the shot
        writer = VideoWriter(
            config.output, fps=track.fps, overwrite=config.force, start_number=int(frame_numbers[0]),
            format=config.format, resume=config.resume,
        )
        done_before = writer.existing_frame_numbers()
        if done_before:
            log.info("resuming: %d frames already in %s", len(done_before & set(frame_numbers.tolist())), config.output)
        todo = np.array([n for n in frame_numbers if int(n) not in done_before], dtype=np.int64)
        counts: dict[str, int] = {}
        coverage = 0.0
        with writer:  # a failure anywhere below leaves the output as it was (and no temporary file)
            if len(todo) and config.mode == "cg":
                counts, coverage = _render_cg(scene, track, todo, writer, config, progress)
            elif len(todo):
                counts, coverage = _render_composite(scene, track, todo, writer, config, progress)
    return RenderResult(
        output=config.output, num_frames=len(todo), width=first.width, height=first.height,
        seconds=time.perf_counter() - start, coverage=coverage, pixels_by_source=counts,
    )


def _frame_range(scene: Path, track: CameraTrack, start: int | None, end: int | None) -> np.ndarray:
    numbers = track.frame_numbers
    keep = np.ones(len(track), dtype=bool)
    if start is not None:
        keep &= numbers >= start
    if end is not None:
        keep &= numbers < end
    if not keep.any():
        raise InputError(
            f"no frame of {scene} lies in the range {start}..{end} "
            f"(the scene has frames {int(numbers[0])}–{int(numbers[-1])})"
        )
    return numbers[keep]


def _render_cg(
    scene: Path, track: CameraTrack, frame_numbers: np.ndarray, writer: VideoWriter, config: RenderConfig,
    progress: ProgressFn | None,
) -> tuple[dict[str, int], float]:
    wanted = ("rgb", "coverage", "depth", "object_id") if writer.format == "exr" else ("rgb", "coverage")
    frames = iter_scene_passes(scene, track, frame_numbers=frame_numbers, passes=wanted)
    coverage = []
    for done, frame in enumerate(frames):
        passes = frame.passes
        rgb = fill_holes(passes.rgb, passes.coverage) if config.fill else passes.rgb
        channels = _channels(frame, None) if writer.format == "exr" else None
        writer.write(rgb if writer.format == "exr" else _to_uint8(rgb), channels=channels, frame_number=frame.frame_number)
        coverage.append(float(passes.coverage.mean()))
        if progress:
            progress("render", done + 1, len(frame_numbers))
    pixels = len(frame_numbers) * int(passes.coverage.size)
    return {"rendered": pixels}, float(np.mean(coverage))


def _render_composite(
    scene: Path, track: CameraTrack, frame_numbers: np.ndarray, writer: VideoWriter, config: RenderConfig,
    progress: ProgressFn | None,
) -> tuple[dict[str, int], float]:
    edits = ShotEdits.of_shot(scene, camera=config.camera, hold_out=config.hold_out)
    plate_cameras = plate_track(scene, camera=config.camera)
    plates = read_plate(scene, plate_cameras, progress=progress, purpose="compositing over the footage (--mode composite)")
    counts = dict.fromkeys(SOURCE_CODES, 0)
    if edits.untouched and writer.format != "exr":
        # Nothing changed: the output is the footage itself, frame for frame (an EXR still
        # renders the scene, for its passes).
        for done, number in enumerate(frame_numbers):
            writer.write(plates.images[plates.index_of(int(number))], frame_number=int(number))
            if progress:
                progress("composite", done + 1, len(frame_numbers))
        counts["plate"] = len(frame_numbers) * plates.width * plates.height
        return counts, 1.0
    originals = iter_scene_passes(
        scene.parent / RECONSTRUCTION_FILE, plate_cameras, passes=("depth", "object_id")
    )
    instances, instance_objects = read_instance_maps(scene, plates, camera=config.camera)
    compositor = Compositor(
        plates, plate_cameras, _reported(originals, len(plate_cameras), "footage depth", progress), edits,
        instances=instances, instance_objects=instance_objects,
    )
    coverage = []
    frames = iter_scene_passes(
        scene, track, frame_numbers=frame_numbers, passes=("rgb", "depth", "coverage", "object_id")
    )
    for done, frame in enumerate(frames):
        out = compositor.composite(frame)
        if writer.format == "exr":
            writer.write(out.rgb, channels=_channels(frame, out.source), frame_number=out.frame_number)
        else:
            writer.write(_to_uint8(out.rgb), frame_number=out.frame_number)
        codes = np.bincount(out.source.ravel(), minlength=len(SOURCE_CODES))
        for name, code in SOURCE_CODES.items():
            counts[name] += int(codes[code])
        coverage.append(float(frame.passes.coverage.mean()))
        if progress:
            progress("composite", done + 1, len(frame_numbers))
    return counts, float(np.mean(coverage))


def _reported(frames: Iterator[FramePasses], total: int, stage: str, progress: ProgressFn | None) -> Iterator[FramePasses]:
    for done, frame in enumerate(frames):
        yield frame
        if progress:
            progress(stage, done + 1, total)


def _channels(frame: FramePasses, source: np.ndarray | None) -> dict[str, np.ndarray]:
    """The passes an EXR frame carries besides RGB: depth (float), object id, coverage and source."""
    passes = frame.passes
    out = {
        "depth": passes.depth.astype(np.float32),
        "object_id": passes.object_id.astype(np.uint32),
        "coverage": passes.coverage.astype(np.uint8),
    }
    if source is not None:
        out["source"] = source.astype(np.uint8)
    return out


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    return np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)
