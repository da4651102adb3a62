"""The render job: a scene's meshes seen through one of its cameras, to a video or images."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sceneforge.reconstruct import ProgressFn
from sceneforge.render import VideoWriter, fill_holes
from sceneforge.render.composite import SOURCE_CODES, Compositor, CompositeFrame, ShotEdits, plate_track
from sceneforge.render.lighting import LightingConfig, ShotLighting
from sceneforge.render.refine import RefineFrame, Refiner, keep_untouched
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

from ..executors import EXECUTOR_NAMES
from ..registry import REFINERS, int_at_least, option
from ._plate import read_instance_maps, read_plate

__all__ = ["RenderConfig", "RenderResult", "render_frames", "frame_range"]

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
    refiner: str = "classical"
    """composite: the last step, polishing only what the edit changed: classical (harmonises
    inserted assets with the plate, smooths filled regions over time), diffusion (a diffusers
    pipeline you have weights for, see --refiner-model), or none."""
    refiner_model: str | None = None
    """diffusion: a pipeline folder saved with save_pretrained, or a Hugging Face repo id already
    in your model cache (nothing is downloaded unless --refiner.allow-download)."""
    lighting: bool = option(True, flag="--no-lighting", negate=True)
    """composite: light inserted assets by the shot's light probe and the scene's lights (off:
    their own colours)."""
    shadows: bool = option(True, flag="--no-shadows", negate=True)
    """composite: inserted and moved objects cast contact shadows, and a removed object's own
    shadow is lightened where it is found."""
    backend_options: Mapping[str, Mapping[str, Any]] = option(default_factory=dict, hidden=True)
    """Options of the refiner by key, e.g. ``{"refiner": {"steps": 30}}`` (``--refiner.steps 30``)."""
    executor: str | None = option(None, choices=EXECUTOR_NAMES)
    """Render frame ranges side by side and assemble them in order: local (processes on this
    machine) or ray (a Ray cluster, see --address); default: one process, frame after frame."""
    address: str | None = None
    """ray: the cluster to join: auto (the one 'ray start --head' made here) or ray://HOST:10001;
    default: start one on this machine."""
    workers: int | None = option(None, parse=int_at_least(1))
    """local: processes (default: one per core); ray without --address: the local cluster's CPUs."""
    warm_up: int = option(8, parse=int_at_least(0))
    """composite with --executor: frames rendered before each range and not written, so that a
    range starts with the state the frames before it leave (regions invented once and reused,
    the refiner's smoothing over time)."""
    skip_before: int | None = option(None, hidden=True)
    """Render from ``start`` but write only the frames from this source frame on (the warm-up
    of one range of a parallel render)."""
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


def render_frames(config: RenderConfig, *, progress: ProgressFn | None = None) -> RenderResult:
    """The render job in this process, frame after frame (``config.executor`` is not looked at:
    :func:`~sceneforge.engine.pipeline.render_scene` hands ranges to an executor, each rendered
    by this function).

    Raises:
        SceneFileError: the scene cannot be read.
        InputError: no frame in the range, nothing to render, or (composite) the source clip
            is gone.
        OutputExistsError: the output exists and ``force`` is off.
    """
    scene = config.scene / SCENE_FILE if config.scene.is_dir() else config.scene
    check_format_version(open_stage(scene))  # as edit does: a newer scene may mean what this one misreads
    track = read_camera_track(scene, camera=config.camera)
    frame_numbers = frame_range(scene, track, config.start, config.end)
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
        # warm-up frames (rendered, not written) are rendered even when another range wrote them
        skip = set() if config.skip_before is None else {int(n) for n in frame_numbers if n < config.skip_before}
        todo = np.array([n for n in frame_numbers if int(n) not in done_before or int(n) in skip], dtype=np.int64)
        if set(todo.tolist()) <= skip:
            todo, skip = todo[:0], set()  # every frame to write is there already
        counts: dict[str, int] = {}
        coverage = 0.0
        with writer:  # a failure anywhere below leaves the output as it was (and no temporary file)
            if len(todo) and config.mode == "cg":
                counts, coverage = _render_cg(scene, track, todo, writer, config, progress)
            elif len(todo):
                counts, coverage = _render_composite(scene, track, todo, writer, config, progress, skip)
    return RenderResult(
        output=config.output, num_frames=len(todo) - len(skip), width=first.width, height=first.height,
        seconds=time.perf_counter() - start, coverage=coverage, pixels_by_source=counts,
    )


def frame_range(scene: Path, track: CameraTrack, start: int | None, end: int | None) -> np.ndarray:
    """The source frame numbers of ``track`` in ``start``..``end`` (one line of error when none)."""
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
        writer.write(rgb if writer.format == "exr" else _to_uint8(rgb), channels=channels, frame_number=_numbered(writer, frame.frame_number))
        coverage.append(float(passes.coverage.mean()))
        if progress:
            progress("render", done + 1, len(frame_numbers))
    pixels = len(frame_numbers) * int(passes.coverage.size)
    return {"rendered": pixels}, float(np.mean(coverage))


def _render_composite(
    scene: Path, track: CameraTrack, frame_numbers: np.ndarray, writer: VideoWriter, config: RenderConfig,
    progress: ProgressFn | None, skip: set[int],
) -> tuple[dict[str, int], float]:
    """Composite ``frame_numbers`` in order; those in ``skip`` (a warm-up) are not written or counted."""
    edits = ShotEdits.of_shot(scene, camera=config.camera, hold_out=config.hold_out)
    plate_cameras = plate_track(scene, camera=config.camera)
    plates = read_plate(scene, plate_cameras, progress=progress, purpose="compositing over the footage (--mode composite)")
    counts = dict.fromkeys(SOURCE_CODES, 0)
    if edits.untouched and writer.format != "exr":
        # Nothing changed: the output is the footage itself, frame for frame (an EXR still
        # renders the scene, for its passes).
        written = [int(n) for n in frame_numbers if int(n) not in skip]
        for done, number in enumerate(written):
            writer.write(plates.images[plates.index_of(number)], frame_number=_numbered(writer, number))
            if progress:
                progress("composite", done + 1, len(written))
        counts["plate"] = len(written) * plates.width * plates.height
        return counts, 1.0
    # Built first: a refiner that cannot load (no model, no diffusers) fails before any work.
    refiner = _refiner(config)
    try:
        originals = iter_scene_passes(
            scene.parent / RECONSTRUCTION_FILE, plate_cameras, passes=("depth", "object_id")
        )
        instances, instance_objects = read_instance_maps(scene, plates, camera=config.camera)
        lighting = _lighting(scene, edits, config)
        compositor = Compositor(
            plates, plate_cameras, _reported(originals, len(plate_cameras), "footage depth", progress), edits,
            instances=instances, instance_objects=instance_objects, lighting=lighting,
        )
        coverage = []
        wanted = ("rgb", "depth", "coverage", "normals", "object_id") if lighting is not None else ("rgb", "depth", "coverage", "object_id")
        frames = iter_scene_passes(scene, track, frame_numbers=frame_numbers, passes=wanted)
        done = 0
        pending: list[tuple[CompositeFrame, RefineFrame]] = []

        def flush() -> None:
            nonlocal done
            refined = refiner.refine([item for _, item in pending]) if refiner is not None else [item.rgb for _, item in pending]
            for (out, item), image in zip(pending, refined):
                if out.frame_number in skip:
                    continue
                rgb = keep_untouched(item, image)
                if writer.format == "exr":
                    writer.write(rgb, channels=_channels(out.passes, out.source), frame_number=_numbered(writer, out.frame_number))
                else:
                    writer.write(_to_uint8(rgb), frame_number=_numbered(writer, out.frame_number))
                codes = np.bincount(out.source.ravel(), minlength=len(SOURCE_CODES))
                for name, code in SOURCE_CODES.items():
                    counts[name] += int(codes[code])
                coverage.append(float(out.passes.passes.coverage.mean()))
                done += 1
                if progress:
                    progress("composite", done, len(frame_numbers) - len(skip))
            pending.clear()

        for frame in frames:
            out = compositor.composite(frame)
            pending.append((out, _refine_frame(out, plates, compositor)))
            if len(pending) >= (refiner.window if refiner is not None else 1):
                flush()
        if pending:
            flush()
        return counts, float(np.mean(coverage)) if coverage else 0.0
    finally:
        if refiner is not None:
            refiner.close()


def _lighting(scene: Path, edits: ShotEdits, config: RenderConfig) -> ShotLighting | None:
    """The shot's lights and shadow casters for the compositor, or None when nothing needs them."""
    if not (config.lighting or config.shadows) or not edits.changed_objects:
        return None
    settings = LightingConfig(shade_inserted=config.lighting, shadows=config.shadows, remove_shadows=config.shadows)
    lighting = ShotLighting.of_scene(scene, edits.changed_objects, settings)
    if lighting.lights.probe is None and lighting.inserted & edits.changed_objects:
        log.info("the scene has no light probe: inserted assets are lit by its lights only (reconstruct again to build one)")
    return lighting


def _refiner(config: RenderConfig) -> Refiner | None:
    """The refiner the config names, built (its weights loaded) before any frame is rendered."""
    options = dict(config.backend_options.get(REFINERS.key, {}))
    if config.refiner == "diffusion":
        options["model"] = config.refiner_model
    elif config.refiner_model is not None:
        raise InputError(f"--refiner-model is for --refiner diffusion, got --refiner {config.refiner}")
    if config.refiner == "none" and not options:
        return None
    return REFINERS.build(config.refiner, **options)


def _refine_frame(out: CompositeFrame, plates, compositor: Compositor) -> RefineFrame:
    """What the refiner sees of one composited frame."""
    passes = out.passes.passes
    path_ids = compositor.path_ids(out.passes)
    inserted = compositor.inserted_coverage(out.passes, path_ids)
    drawn = out.source == SOURCE_CODES["rendered"]
    index = plates.index_of(out.frame_number) if out.frame_number in set(plates.frame_numbers.tolist()) else 0
    return RefineFrame(
        frame_number=out.frame_number, rgb=out.rgb, changed=out.source != SOURCE_CODES["plate"],
        inserted=inserted, invented=out.source == SOURCE_CODES["invented"], depth=passes.depth.astype(np.float32),
        plate=plates.images[index], intrinsics=out.passes.intrinsics, world_from_cam=out.passes.world_from_cam, drawn=drawn,
        filled=np.isin(out.source, [SOURCE_CODES["reprojected"], SOURCE_CODES["invented"]]),
    )


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


def _numbered(writer: VideoWriter, frame_number: int) -> int | None:
    """The number a frame is written under: its source frame number in a sequence; none in a
    video, whose frames simply follow each other (a shot read with --stride skips numbers)."""
    return int(frame_number) if writer.kind == "sequence" else None


def _to_uint8(rgb: np.ndarray) -> np.ndarray:
    return np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)
