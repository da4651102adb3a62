"""The reconstruct pipeline's stages, each a function over the run's stage cache.

Every stage takes typed stage data (``Frames``, ``CameraTrack``, ``DepthMaps``, the
objects outcome) and returns the same, reusing its cached result when what made it is
unchanged. The camera solve and the geometry pass (depth, objects) run a second time with
moving objects masked out when objects turn out to move — the same functions, not a copy.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from sceneforge.reconstruct import (
    IMAGE_SUFFIXES,
    CameraSolver,
    LightProbeConfig,
    ProgressFn,
    build_light_probe,
    checked_depths,
    confirmed_depths,
    nominal_depths,
    read_frames,
)
from sceneforge.reconstruct.depth import NOMINAL_CONFIDENCE
from sceneforge.reconstruct.objects import PeopleProposerConfig, TrackedMasks
from sceneforge.scenegraph import (
    CameraTrack,
    DepthMaps,
    FrameMasks,
    Frames,
    InputError,
    Intrinsics,
    LightProbe,
    SolveError,
    TexturedMesh,
)

from ..cache import DepthStore, StageCache, stage_key
from ..executors import Executor
from ..registry import DEPTH, FUSION, PROPOSER, SEGMENTER, SOLVERS, TEXTURE, TRACKER, BackendConfig
from ._config import RUN_FOLDER, ReconstructConfig
from ._inputs import input_fingerprint, load_ignore_masks, load_intrinsics_file
from ._parallel import parallel_check, parallel_depth
from ._objects import (
    ObjectBackends,
    ObjectsOutcome,
    excluded_digest,
    lift_and_store,
    masks_digest,
    objects_digest,
    subjects_to_ignore,
    track_objects,
)

__all__ = ["Run", "SolveInputs", "Geometry", "read_stage", "solve_inputs", "camera_stage", "depth_stage",
           "geometry_pass", "nominal_geometry_pass", "static_solve_key", "subjects_stage", "people_stage", "background_stage", "light_probe_stage", "check_config"]

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Run:
    """One reconstruct job in progress: its config, stage cache, timings and the stages it reused."""

    config: ReconstructConfig
    cache: StageCache
    progress: ProgressFn | None = None
    executor: Executor | None = None
    """Where per-frame work (depth, its multi-view check) runs when the executor can fan out
    frames (Ray); None, or a process pool, runs it here."""
    timings: dict[str, float] = dataclasses.field(default_factory=dict)
    resumed: list[str] = dataclasses.field(default_factory=list)

    @property
    def output(self) -> Path:
        return self.config.output

    def fans_out(self, count: int) -> bool:
        """Whether ``count`` frames of per-frame work go to the executor's workers."""
        return self.executor is not None and self.executor.fans_out_frames and count > 1

    @contextlib.contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Time the block as ``stage`` in the report."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - start


@dataclasses.dataclass(frozen=True, eq=False)
class SolveInputs:
    """What the camera solver is given besides the frames: known intrinsics, lens, ignore masks."""

    options: dict[str, Any]
    """Solver config fields the pipeline fills (``focal_px``, ``intrinsics``, ``lens``, ...)."""
    ignore_masks: np.ndarray | None
    """H×W or N×H×W bool: pixels the solve ignores (the user's --mask), or None."""
    key: str
    """The cache key of the first solve."""

    def config(
        self, solver: str, solver_options: dict[str, Any], *, also_ignore: np.ndarray | None = None
    ) -> BackendConfig[CameraSolver]:
        """The solver config, ignoring ``also_ignore`` (N×H×W bool) on top of the user's masks."""
        masks = self.ignore_masks
        if also_ignore is not None:
            masks = also_ignore if masks is None else also_ignore | np.broadcast_to(masks, also_ignore.shape)
        extra = {} if masks is None else {"ignore_masks": masks}
        return SOLVERS.config(solver, **self.options, **solver_options, **extra)


@dataclasses.dataclass(frozen=True, eq=False)
class Geometry:
    """One geometry pass: the depth of every frame and the objects lifted on it."""

    store: DepthStore
    depths: DepthMaps
    objects: ObjectsOutcome


def read_stage(run: Run) -> Frames:
    """The clip's frames, resized as configured."""
    config = run.config
    with run.timed("read_frames"):
        frames = read_frames(
            config.input, start=config.start, end=config.end, stride=config.stride, max_size=config.max_size,
            fps=config.fps, pattern=config.pattern, hold=config.still_frames, progress=run.progress,
        )
    log.info("read %d frames of %d×%d from %s", len(frames), frames.width, frames.height, config.input)
    return frames


def solve_inputs(config: ReconstructConfig, frames: Frames) -> SolveInputs:
    """The solver's inputs from the user's options, scaled to the working frames, and the solve's cache key."""
    options: dict[str, Any] = {
        "refine_principal_point": config.refine_principal_point,
        "lens": config.lens,
        "camera_per_frame": config.camera_per_frame,
    }
    if config.focal_px is not None:
        options["focal_px"] = config.focal_px * frames.scale
    if config.intrinsics_file is not None:
        k = load_intrinsics_file(config.intrinsics_file)
        k_frames = np.diag([frames.scale, frames.scale, 1.0]) @ k
        options["intrinsics"] = Intrinsics(K=k_frames, width=frames.width, height=frames.height)
    masks = load_ignore_masks(config.mask, frames) if config.mask is not None else None
    solver_options = config.options_of(SOLVERS.key)
    first = SOLVERS.config(config.solver, **options, **solver_options)
    key = stage_key(
        input=input_fingerprint(config.input),
        frames=[config.start, config.end, config.stride, config.max_size, config.pattern],
        solver=config.solver,
        options={k: (v.to_dict() if isinstance(v, Intrinsics) else v) for k, v in options.items()},
        mask=input_fingerprint(config.mask) if config.mask else None,
        fps=frames.fps,
        config=repr(first) if config.mask is None else None,
    )
    return SolveInputs(options=options, ignore_masks=masks, key=key)


def camera_stage(
    run: Run, frames: Frames, inputs: SolveInputs, *, stage: str, key: str, also_ignore: np.ndarray | None = None
) -> CameraTrack:
    """The camera track of ``stage``: from the cache when made with ``key``, else solved and cached."""
    with run.timed(stage):
        track = run.cache.load_track(stage, key)
        if track is not None:
            run.resumed.append(stage)
            log.info("%s: reusing the cached result in %s", stage.replace("_", " "), run.cache.folder)
            return track
        solver_config = inputs.config(run.config.solver, run.config.options_of(SOLVERS.key), also_ignore=also_ignore)
        track = solver_config.build().solve(frames, progress=run.progress)
        run.cache.save_track(stage, key, track)
    return track


def depth_stage(
    run: Run, frames: Frames, track: CameraTrack, camera_key: str, *, timing: str = "depth", multi_view: bool = True
) -> tuple[DepthStore, DepthMaps]:
    """Dense depth for every frame, resumable frame by frame.

    Raw per-frame depth is cached under ``run/cache/depth_raw``; after every frame has its
    raw depth, the multi-view check (:func:`checked_depths`) writes the final maps to ``run/depth``,
    which the USD references. Without ``multi_view`` (a monocular backend on a shot without
    parallax: no second view can confirm a pixel) the raw maps are the final ones.
    """
    config = run.config
    numbers = [int(n) for n in frames.frame_numbers]
    with run.timed(timing):
        depth_config = DEPTH.config(config.depth, **config.options_of(DEPTH.key))
        raw_key = stage_key(camera=camera_key, depth=config.depth, config=repr(depth_config))
        raw = DepthStore(config.output / RUN_FOLDER / "cache" / "depth_raw", raw_key)
        final = DepthStore(
            config.output / RUN_FOLDER / "depth", stage_key(raw=raw_key, filter="consistency-v2" if multi_view else "none")
        )
        if all(final.has(n) for n in numbers):
            todo: list[int] = []
            filtered = final.load_all(numbers)
        else:
            todo = [i for i, n in enumerate(numbers) if not raw.has(n)]
            if len(todo) < len(numbers):
                log.info("depth: %d of %d frames reused from %s", len(numbers) - len(todo), len(numbers), raw.folder)
            if todo and _is_held_still(frames):
                # a held still: every frame is the same picture from the same camera, computed once
                _, first = next(iter(depth_config.build().estimate(frames, track, indices=[0], progress=run.progress)))
                for i in todo:
                    raw.save(dataclasses.replace(first, frame_number=numbers[i]))
            elif todo and run.fans_out(len(todo)) and getattr(depth_config, "frame_independent", False):
                parallel_depth(run.executor, frames, track, depth_config, raw, todo, progress=run.progress)
            elif todo:
                estimator = depth_config.build()
                for _, depth in estimator.estimate(frames, track, indices=todo, progress=run.progress):
                    raw.save(depth)
            filtered = raw.load_all(numbers)
            if multi_view and run.fans_out(len(numbers)):
                parallel_check(run.executor, filtered, track, final, progress=run.progress)
                filtered = final.load_all(numbers)
            else:
                if multi_view:
                    filtered = checked_depths(filtered, track, progress=run.progress)
                for depth in filtered.values():
                    final.save(depth)
    if timing == "depth" and not todo:
        run.resumed.append("depth")
    return final, filtered


def _is_held_still(frames: Frames) -> bool:
    """A single photo held for several frames (``--still-frames``): every frame the same picture."""
    return len(frames) > 1 and Path(frames.source or "").suffix.lower() in IMAGE_SUFFIXES and bool(
        (frames.images == frames.images[:1]).all()
    )


def _object_backends(config: ReconstructConfig) -> ObjectBackends:
    tracker_options = config.options_of(TRACKER.key)
    # auto: the segmenter's own propagation when it has one; tracker options given with it are the flow tracker's
    auto = config.tracker == "auto" and not tracker_options
    return ObjectBackends(
        segmenter=SEGMENTER.config(config.segmenter, **config.options_of(SEGMENTER.key)),
        tracker=None if auto else TRACKER.config("flow" if config.tracker == "auto" else config.tracker, **tracker_options),
        proposer=PROPOSER.config(config.proposer, **config.options_of(PROPOSER.key)),
    )


def geometry_pass(
    run: Run, frames: Frames, track: CameraTrack, camera_key: str, *, tracked: ObjectsOutcome | None = None,
    suffix: str = "", multi_view: bool = True,
) -> Geometry:
    """Depth for every frame, then the objects: tracked (or proposed) unless ``tracked`` already
    holds them, and lifted into layers on this pass's depth and cameras. ``multi_view``: see
    :func:`depth_stage` (off: objects stand on the unchecked depth too)."""
    store, depths = depth_stage(run, frames, track, camera_key, timing="depth" + suffix, multi_view=multi_view)
    return _with_objects(run, frames, track, store, depths, tracked=tracked, suffix=suffix, checked=multi_view)


def nominal_geometry_pass(run: Run, frames: Frames, track: CameraTrack, camera_key: str, subjects: np.ndarray | None) -> Geometry:
    """The geometry of a shot without parallax: every frame on a sphere at a nominal distance
    (a panorama), the prompted subjects (``subjects``, N×H×W) nearer, as cards in front of it;
    then the objects as in :func:`geometry_pass`."""
    numbers = [int(n) for n in frames.frame_numbers]
    with run.timed("depth"):
        digest = masks_digest([("", subjects)]) if subjects is not None else None
        store = DepthStore(run.config.output / RUN_FOLDER / "depth", stage_key(camera=camera_key, depth="nominal-v1", confidence=NOMINAL_CONFIDENCE, near=digest))
        if all(store.has(n) for n in numbers):
            depths = store.load_all(numbers)
            run.resumed.append("depth")
        else:
            depths = nominal_depths(track, near=subjects)
            for depth in depths.values():
                store.save(depth)
    return _with_objects(run, frames, track, store, depths, tracked=None, suffix="")


def _with_objects(
    run: Run, frames: Frames, track: CameraTrack, store: DepthStore, depths: DepthMaps, *,
    tracked: ObjectsOutcome | None, suffix: str, checked: bool = True,
) -> Geometry:
    """``depths`` with the objects tracked (or proposed, unless ``tracked`` holds them) and lifted on them."""
    config = run.config
    if not (config.objects or config.propose_objects):
        return Geometry(store, depths, ObjectsOutcome.none())
    # objects stand on what two views confirmed (the fusion takes the rest too), when views were compared
    for_objects = confirmed_depths(depths) if checked else depths
    with run.timed("objects" + suffix):
        if tracked is None:
            masks, cached = track_objects(
                config.objects, frames, track, for_objects, cache=run.cache, key=store.key, propose=config.propose_objects,
                backends=_object_backends(config), base_dir=Path.cwd(), progress=run.progress,
            )
            if masks and cached == len(masks):
                run.resumed.append("objects")
        else:
            masks = tracked.tracked
        outcome = lift_and_store(
            masks, frames, track, for_objects, output=config.output, run_folder=RUN_FOLDER,
            texture_size=min(1024, config.texture_size), progress=run.progress,
        )
    return Geometry(store, depths, outcome)


def subjects_stage(run: Run, frames: Frames, solve_key: str) -> np.ndarray | None:
    """The prompted objects tracked in the images alone, before any camera exists, grown into
    the masks the first camera solve ignores (see :func:`subjects_to_ignore`); cached."""
    config = run.config
    with run.timed("subjects"):
        tracked, cached = track_objects(
            config.objects, frames, None, None, cache=run.cache, key=stage_key(frames=solve_key, pass_="images"),
            propose=False, backends=_object_backends(config), base_dir=Path.cwd(), progress=run.progress,
            stage_prefix="subject_",
        )
        if tracked and cached == len(tracked):
            run.resumed.append("subjects")
    return subjects_to_ignore(tracked, frames)


def people_stage(run: Run, frames: Frames, solve_key: str) -> np.ndarray | None:
    """The people the proposer's person model finds in the images, before any camera exists,
    grown into masks the first camera solve ignores (a person in the shot, dancing or standing
    by, cannot pull the solve); None when the proposer has no person model or finds nobody.
    Cached: the people's union is kept as one mask track."""
    config = run.config
    proposer = PROPOSER.config(config.proposer, **config.options_of(PROPOSER.key))
    if not isinstance(proposer, PeopleProposerConfig):
        return None
    with run.timed("people"):
        key = stage_key(frames=solve_key, people=repr(proposer), version="people-v1")
        union = run.cache.load_masks("people", key)
        if union is not None:
            run.resumed.append("people")
        else:
            people = proposer.build().propose_people(frames, progress=run.progress)
            masks = np.zeros((len(frames), frames.height, frames.width), bool)
            for person in people:
                masks |= person.masks
            union = TrackedMasks(
                name="people", masks=masks, quality=masks.reshape(len(frames), -1).any(axis=1).astype(np.float32),
                prompt_frame=0, frame_numbers=frames.frame_numbers,
            )
            run.cache.save_masks("people", key, union)
    if not union.masks.any():
        return None
    log.info("people: kept out of the first camera solve on %d of %d frames", int(union.quality.sum()), len(frames))
    return subjects_to_ignore([union], frames)


def static_solve_key(first_key: str, objects: ObjectsOutcome) -> str:
    """The cache key of the camera solve made without the moving objects."""
    return stage_key(first=first_key, moving=objects_digest(objects))


def background_stage(run: Run, frames: Frames, track: CameraTrack, geometry: Geometry) -> TexturedMesh:
    """The textured background mesh fused from the depth, objects left out (the frames that see
    behind them fill it)."""
    config = run.config
    with run.timed("background"):
        fusion_options = config.options_of(FUSION.key)
        texture = TEXTURE.config(config.texture, texture_size=config.texture_size, **config.options_of(TEXTURE.key))
        fuser_config = FUSION.config(config.fusion, max_faces=config.max_triangles, texture=texture, **fusion_options)
        key = stage_key(
            depth=geometry.store.key, triangles=config.max_triangles, texture=config.texture_size,
            objects=excluded_digest(geometry.objects, frames), fuser=repr(fuser_config),
        )
        background = run.cache.load_mesh("background", key)
        if background is not None:
            run.resumed.append("background")
            return background
        background = fuser_config.build().fuse(
            frames, track, geometry.depths, masks=geometry.objects.excluded(frames) or None, progress=run.progress
        )
        run.cache.save_mesh("background", key, background)
    return background


def light_probe_stage(
    run: Run, frames: Frames, track: CameraTrack, geometry: Geometry, *, nominal: bool = False
) -> LightProbe | None:
    """The shot's light probe from the frames, cameras and checked depth, moving objects left
    out (they are not the environment); cached. A shot without parallax (``nominal`` depth on a
    sphere round the camera) is seen from the camera's median position. None, with a warning,
    when the depth gives nothing to build it from: the probe is optional, the scene is not."""
    config = run.config
    with run.timed("light_probe"):
        centre = None
        if nominal:
            centre = tuple(float(v) for v in np.median(track.world_from_cam[:, :3, 3], axis=0))
        probe_config = LightProbeConfig(encoding=config.footage_encoding, centre=centre)
        moving = geometry.objects.moving
        exclude = FrameMasks(
            {} if moving is None else {int(n): mask for n, mask in zip(frames.frame_numbers, moving) if mask.any()}
        )
        key = stage_key(
            depth=geometry.store.key, moving=masks_digest([(str(n), exclude[n]) for n in exclude]),
            config=repr(probe_config), version="light-probe-v3",
        )
        probe = run.cache.load_light_probe("light_probe", key)
        if probe is not None:
            run.resumed.append("light_probe")
            return probe
        try:
            probe = build_light_probe(
                frames, track, geometry.depths, config=probe_config, exclude=exclude or None, progress=run.progress
            )
        except SolveError as exc:
            log.warning("no light probe: %s", exc)
            return None
        run.cache.save_light_probe("light_probe", key, probe)
    return probe


def check_config(config: ReconstructConfig) -> None:
    """Unknown backends or options, and options that contradict each other, found before any work."""
    if config.objects and config.depth == "none":
        raise InputError("--object needs depth to lift the object into 3D; drop --depth none")
    chosen = {
        SOLVERS: config.solver, DEPTH: config.depth, FUSION: config.fusion, TEXTURE: config.texture,
        SEGMENTER: config.segmenter, TRACKER: config.tracker, PROPOSER: config.proposer,
    }
    keys = {registry.key for registry in chosen}
    for stage in config.backend_options:
        if stage not in keys:
            raise InputError(f"backend options for an unknown stage {stage!r}; stages: {', '.join(sorted(keys))}")
    for registry, name in chosen.items():
        if registry is DEPTH and name == "none":
            if config.options_of(DEPTH.key):
                raise InputError("depth options were given with --depth none; drop them or choose a depth backend")
            continue
        backend = registry.config(name, **config.options_of(registry.key))
        # a neural backend's missing package or weights fail here, not after the camera solve
        if callable(getattr(backend, "check", None)) and _used(registry, config):
            backend.check()
    texts = [text for text in config.objects if _is_text_prompt(text)]
    if texts and not getattr(SEGMENTER.config_type(config.segmenter), "text_prompts", False):
        name = texts[0].partition("=")[0].strip()
        raise InputError(
            f"--object {name}: objects named in words need a segmenter that reads text: --segmenter sam3 "
            "with --segmenter.model (see `sceneforge models`)"
        )


def _used(registry: Any, config: ReconstructConfig) -> bool:
    """Whether the run will use the backend it chose for ``registry``'s stage."""
    if registry in (SEGMENTER, TRACKER):
        return bool(config.objects)
    if registry is PROPOSER:
        return not config.objects and config.propose_objects
    return True


def _is_text_prompt(text: str) -> bool:
    return text.partition("=")[2].strip().lower().startswith("text:")
