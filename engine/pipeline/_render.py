"""The render job: a scene's meshes seen through one of its cameras, to a video or images."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sceneforge.reconstruct import ProgressFn
from sceneforge.render import VideoWriter, fill_holes
from sceneforge.render.scene import iter_scene_passes
from sceneforge.scenegraph import InputError, read_camera_track
from sceneforge.scenegraph.usd import DEFAULT_CAMERA_PATH

from ..registry import int_at_least, option

__all__ = ["RenderConfig", "RenderResult", "render_scene"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderConfig:
    """Everything ``sceneforge render`` takes."""

    scene: Path = option(flag="scene")
    """A scene.usda (or the shot folder holding it)."""
    output: Path = option(short="-o", required=True)
    """An .mp4/.mov/.mkv file, or a folder (or a frame_%06d.png pattern) for a PNG sequence."""
    camera: str = DEFAULT_CAMERA_PATH
    """The USD camera prim to look through."""
    start: int | None = option(None, parse=int_at_least(0))
    """First source frame to render (default: the scene's first)."""
    end: int | None = option(None, parse=int_at_least(1))
    """Source frame to stop before (default: after the scene's last)."""
    force: bool = False
    """Overwrite an existing output."""
    fill: bool = option(True, flag="--no-fill", negate=True)
    """Fill pixels no geometry covers from their surroundings (push-pull; off leaves them black)."""


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


def render_scene(config: RenderConfig, *, progress: ProgressFn | None = None) -> RenderResult:
    """Render a scene's meshes through its camera to a video or a PNG sequence.

    Raises:
        SceneFileError: the scene cannot be read.
        InputError: no frame in the range, or nothing to render.
        OutputExistsError: the output exists and ``force`` is off.
    """
    scene = config.scene / "scene.usda" if config.scene.is_dir() else config.scene
    track = read_camera_track(scene, camera=config.camera)
    numbers = track.frame_numbers
    keep = np.ones(len(track), dtype=bool)
    if config.start is not None:
        keep &= numbers >= config.start
    if config.end is not None:
        keep &= numbers < config.end
    if not keep.any():
        raise InputError(
            f"no frame of {scene} lies in the range {config.start}..{config.end} "
            f"(the scene has frames {int(numbers[0])}–{int(numbers[-1])})"
        )
    frame_numbers = numbers[keep]
    first = track.intrinsics[track.index_of(int(frame_numbers[0]))]
    start = time.perf_counter()
    frames = iter_scene_passes(scene, track, frame_numbers=frame_numbers, passes=("rgb", "coverage"))
    coverage = []
    # PNG sequences are numbered by source frame, so frame_000036.png is frame 36 of the shot
    writer = VideoWriter(config.output, fps=track.fps, overwrite=config.force, start_number=int(frame_numbers[0]))
    with writer:
        for done, frame in enumerate(frames):
            passes = frame.passes
            rgb = fill_holes(passes.rgb, passes.coverage) if config.fill else passes.rgb
            writer.write(np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8))
            coverage.append(float(passes.coverage.mean()))
            if progress:
                progress("render", done + 1, len(frame_numbers))
    return RenderResult(
        output=config.output, num_frames=len(frame_numbers), width=first.width, height=first.height,
        seconds=time.perf_counter() - start, coverage=float(np.mean(coverage)),
    )
