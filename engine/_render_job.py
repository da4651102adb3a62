"""The render job: a scene's meshes seen through one of its cameras, to a video or images."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sceneforge.scenegraph import InputError

__all__ = ["RenderConfig", "RenderResult", "render_scene"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderConfig:
    """Everything ``sceneforge render`` takes."""

    scene: Path
    """The scene.usda (or the shot folder holding it)."""
    output: Path
    """An .mp4/.mov/.mkv file, or a folder (or a ``%06d`` pattern) for a PNG sequence."""
    camera: str = "/World/Cameras/Plate"
    """The USD camera to look through."""
    start: int | None = None
    """First source frame number to render (default: the scene's first)."""
    end: int | None = None
    """Source frame number to stop before (default: after the scene's last)."""
    force: bool = False
    """Overwrite an existing output."""
    fill: bool = True
    """Fill pixels no geometry covers from their surroundings (push-pull); off leaves them black."""


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


def render_scene(config: RenderConfig, *, progress: Any = None) -> RenderResult:
    """Render a scene's meshes through its camera to a video or a PNG sequence.

    Raises:
        SceneFileError: the scene cannot be read.
        InputError: no frame in the range, or nothing to render.
        OutputExistsError: the output exists and ``force`` is off.
    """
    from sceneforge.render import Rasterizer, VideoWriter, fill_holes
    from sceneforge.scenegraph import animated_mesh_paths, open_stage, read_camera_track, read_scene_meshes

    scene = config.scene / "scene.usda" if config.scene.is_dir() else config.scene
    track = read_camera_track(scene, camera=config.camera)
    numbers = track.frame_numbers
    keep = np.ones(len(track), dtype=bool)
    if config.start is not None:
        keep &= numbers >= config.start
    if config.end is not None:
        keep &= numbers < config.end
    indices = np.flatnonzero(keep)
    if len(indices) == 0:
        raise InputError(
            f"no frame of {scene} lies in the range {config.start}..{config.end} "
            f"(the scene has frames {int(numbers[0])}–{int(numbers[-1])})"
        )
    stage = open_stage(scene)
    # Moving objects (and animated edits) are read again at every frame; the rest once.
    animated = animated_mesh_paths(stage)
    meshes = [m for m in read_scene_meshes(stage, time=float(numbers[indices[0]])) if m.prim_path not in set(animated)]
    if not meshes and not animated:
        raise InputError(f"{scene} has no meshes to render; reconstruct it with depth (the default) first")
    ids = {path: i for i, path in enumerate([m.prim_path for m in meshes] + animated, start=1)}
    first = track.intrinsics[int(indices[0])]
    width, height = first.width, first.height
    start = time.perf_counter()
    rasterizer = Rasterizer(width=width, height=height)
    for item in meshes:
        rasterizer.add_mesh(item.mesh, world_from_local=item.world_from_local, object_id=ids[item.prim_path], name=item.prim_path)
    coverage = []
    # PNG sequences are numbered by source frame, so frame_000036.png is frame 36 of the shot
    writer = VideoWriter(config.output, fps=track.fps, overwrite=config.force, start_number=int(numbers[indices[0]]))
    with writer:
        for done, i in enumerate(indices):
            if animated:
                for name in set(rasterizer.mesh_names) & set(animated):
                    rasterizer.remove_mesh(name)
                for item in read_scene_meshes(stage, time=float(numbers[i]), under=animated):
                    rasterizer.add_mesh(
                        item.mesh, world_from_local=item.world_from_local, object_id=ids[item.prim_path], name=item.prim_path
                    )
            passes = rasterizer.render(track.intrinsics[int(i)], track.world_from_cam[int(i)], passes=("rgb", "coverage"))
            rgb = fill_holes(passes.rgb, passes.coverage) if config.fill else passes.rgb
            writer.write(np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8))
            coverage.append(float(passes.coverage.mean()))
            if progress:
                progress("render", done + 1, len(indices))
    return RenderResult(
        output=config.output, num_frames=len(indices), width=width, height=height,
        seconds=time.perf_counter() - start, coverage=float(np.mean(coverage)),
    )
