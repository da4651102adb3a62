"""The reconstruct job: clip in, ``shot/scene.usda`` out, resumable through the run folder."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from sceneforge.reconstruct import ProgressFn
from sceneforge.scenegraph import CameraTrack, Scene, atomic_write, write_scene
from sceneforge.scenegraph.files import created_folder
from sceneforge.scenegraph.usd import EDITS_FILE, light_probe_summary, orphaned_edits

from ..cache import StageCache, stage_key
from ..executors import Executor
from ..registry import DEPTH
from ._config import RUN_FOLDER, ObjectSummary, ReconstructConfig, ReconstructResult
from ._inputs import prepare_output
from ._objects import masks_digest, prompts_for_clip
from ._scale import ScaleChoice, parse_scale, scene_scale
from ._stages import (
    Run,
    background_stage,
    camera_stage,
    check_config,
    geometry_pass,
    light_probe_stage,
    nominal_geometry_pass,
    people_stage,
    read_stage,
    solve_inputs,
    static_solve_key,
    subjects_stage,
)

__all__ = ["reconstruct"]

log = logging.getLogger(__name__)

MIN_SPARSE_POINTS = 20
"""A solve with fewer triangulated points has too little parallax to measure depth from: the
shot is made like a pan (a panorama at a nominal distance)."""


def reconstruct(
    config: ReconstructConfig, *, progress: ProgressFn | None = None, executor: Executor | None = None
) -> ReconstructResult:
    """Run the reconstruct job: read frames, solve cameras, depth, objects, background; write the
    USD scene and the report. With an ``executor`` that fans out frames (Ray), the per-frame work
    (depth, its multi-view check) runs on its workers; the result is the same.

    Raises:
        InputError: bad input or options (one clear line).
        OutputExistsError: the output holds a scene and ``force`` is off.
        SolveError: the camera could not be solved.
    """
    check_config(config)
    # a run that fails before writing anything leaves no empty output folder behind
    with created_folder(config.output):
        return _reconstruct(config, progress, executor)


def _reconstruct(config: ReconstructConfig, progress: ProgressFn | None, executor: Executor | None) -> ReconstructResult:
    prepare_output(config.output, force=config.force)
    run = Run(
        config=config, cache=StageCache(config.output / RUN_FOLDER / "cache"), progress=progress, executor=executor
    )
    if config.fresh:
        run.cache.clear()
        for derived in ("depth", "instances"):  # per-frame outputs the stages would otherwise reuse
            shutil.rmtree(config.output / RUN_FOLDER / derived, ignore_errors=True)

    scale_choice = parse_scale(config.scale_from)  # a malformed rule fails before any work
    frames = read_stage(run)
    if config.objects:
        prompts_for_clip(config.objects, frames, base_dir=Path.cwd())  # a bad prompt fails before any work
    inputs = solve_inputs(config, frames)
    subjects = None
    if config.objects and config.solve_without_moving:
        subjects = subjects_stage(run, frames, inputs.key)
    elif config.propose_objects and config.solve_without_moving and config.depth != "none":
        subjects = people_stage(run, frames, inputs.key)
    first_key = inputs.key if subjects is None else stage_key(first=inputs.key, subjects=masks_digest([("", subjects)]))
    track = camera_stage(run, frames, inputs, stage="camera_solve", key=first_key, also_ignore=subjects)

    geometry = None
    no_parallax = track.report is not None and bool({"rotation_only", "static_camera"} & set(track.report.flags))
    too_few_points = (
        not no_parallax and len(track.points) < MIN_SPARSE_POINTS and config.options_of(DEPTH.key).get("depth_range") is None
    )
    # A monocular depth backend needs no parallax: a still photo or a pan still gets 2.5D depth.
    # Its maps are not checked across views (each frame's network guess is scaled on its own and
    # rarely agrees with the next within the check's 1 %), unless multi-view stereo made them.
    depth_config = DEPTH.config(config.depth, **config.options_of(DEPTH.key)) if config.depth != "none" else None
    monocular = depth_config is not None and not getattr(depth_config, "needs_parallax", True)
    multi_view = not monocular or getattr(depth_config, "mvs", "none") != "none"
    if monocular and (no_parallax or too_few_points):
        log.info("no parallax to measure depth from: the monocular depth backend gives the shot its depth")
        geometry = geometry_pass(run, frames, track, first_key, multi_view=False)
    elif (no_parallax or too_few_points) and config.depth != "none":
        why = (
            "the camera only rotates or stands still (no parallax)" if no_parallax
            else f"the camera solve triangulated only {len(track.points)} points (too little parallax for depth)"
        )
        log.warning(
            "%s: the background is a panorama at a nominal distance and objects are cards in front of it; "
            "distances in this scene are not measured", why,
        )
        geometry = nominal_geometry_pass(run, frames, track, first_key, subjects)
    elif config.depth != "none":
        geometry = geometry_pass(run, frames, track, first_key, multi_view=multi_view)
        if geometry.objects.moving is not None and config.solve_without_moving:
            # Second pass over the same stages: the camera solved from the static world only.
            log.info("objects move: solving the camera again without them")
            key = static_solve_key(first_key, geometry.objects)
            track = camera_stage(
                run, frames, inputs, stage="camera_solve_static", key=key, also_ignore=geometry.objects.moving
            )
            geometry = geometry_pass(
                run, frames, track, key, tracked=geometry.objects, suffix="_static", multi_view=multi_view
            )

    background = None
    if geometry is not None and config.background:
        background = background_stage(run, frames, track, geometry)

    light_probe = None
    if geometry is not None and config.light_probe:
        light_probe = light_probe_stage(run, frames, track, geometry, nominal=no_parallax or too_few_points)

    objects = geometry.objects if geometry is not None else None
    meters_per_unit, metric, scale_note = scene_scale(
        scale_choice if not no_parallax_scene(track) else ScaleChoice("none"), frames, track,
        geometry.depths if geometry is not None else None,
    )
    log.info("scale: %s (%.4g m per unit)", scale_note, meters_per_unit)
    backup = config.output / f"{EDITS_FILE}.bak"
    backup_before = backup.stat().st_mtime_ns if backup.exists() else None
    with run.timed("write_usd"):
        scene_path = write_scene(
            config.output, track, source=str(config.input.resolve()), background=background,
            meters_per_unit=meters_per_unit, metric_scale=metric, metadata={"scale": scale_note, "sourceScale": float(frames.scale)},
            depth_paths=None if geometry is None else [
                str(geometry.store.path(n).relative_to(config.output)) for n in frames.frame_numbers
            ],
            objects=objects.layers if objects is not None else (),
            instance_paths=list(objects.instance_paths) if objects is not None and objects.instance_paths else None,
            light_probe=light_probe,
        )

    if backup.exists() and backup.stat().st_mtime_ns != backup_before:
        _report_kept_edits(scene_path, backup)

    depth_coverage = (
        float(np.mean([depth.coverage for depth in geometry.depths.values()])) if geometry is not None else None
    )
    summaries = tuple(ObjectSummary.of(layer) for layer in (objects.layers if objects is not None else ()))
    probe_summary = light_probe_summary(scene_path) if light_probe is not None else None
    report_path = config.output / "report.json"
    report = track.report
    full = {
        "input": str(config.input),
        "frames": {"count": len(frames), "width": frames.width, "height": frames.height, "fps": frames.fps,
                   "first": int(frames.frame_numbers[0]), "last": int(frames.frame_numbers[-1]), "scale": frames.scale},
        "camera_solve": report.to_dict() if report else None,
        "units": {"meters_per_unit": meters_per_unit, "metric": metric, "how": scale_note},
        "depth": {"backend": config.depth, "coverage": depth_coverage},
        "stage_timings_secs": {k: round(v, 3) for k, v in run.timings.items()},
        "resumed_stages": run.resumed,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "objects": [s.to_dict() for s in summaries],
        "light_probe": probe_summary,
        "outputs": {"scene": str(scene_path)},
    }
    atomic_write(report_path, json.dumps(_finite(full), indent=2, allow_nan=False, default=_json_default))
    return ReconstructResult(
        scene_path=scene_path, report_path=report_path, track=track, num_frames=len(frames),
        image_size=(frames.width, frames.height), timings_secs=dict(run.timings), resumed_stages=tuple(run.resumed),
        objects=summaries, depth_coverage=depth_coverage, light_probe=probe_summary,
    )


def no_parallax_scene(track: CameraTrack) -> bool:
    """A shot made like a pan (nominal distances): its units cannot be scaled to metres."""
    return track.report is not None and bool({"rotation_only", "static_camera"} & set(track.report.flags))


def _report_kept_edits(scene_path: Path, backup: Path) -> None:
    """Say that the shot's earlier edits were kept over the new reconstruction, and which of
    them refer to prims it no longer has."""
    kept = len(Scene.open(scene_path).diff())
    log.warning("kept %d edit(s) made on the earlier reconstruction; the old edits are backed up as %s", kept, backup.name)
    orphans = orphaned_edits(scene_path)
    if orphans:
        log.warning(
            "%d edit(s) refer to prims this reconstruction no longer has (they do nothing until removed): %s",
            len(orphans), ", ".join(orphans),
        )


def _finite(value: Any) -> Any:
    """JSON has no NaN: replace non-finite floats by None, recursively."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, (float, np.floating)) and not np.isfinite(value):
        return None
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")
