"""The reconstruct job: clip in, ``shot/scene.usda`` out, resumable through the run folder."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sceneforge.scenegraph import CameraTrack, Frames, InputError, Intrinsics, OutputExistsError

from ._cache import StageCache, atomic_write_text, stage_key
from ._objects_stage import masks_digest
from ._registry import DEPTH, SOLVERS

__all__ = ["ReconstructConfig", "ReconstructResult", "reconstruct", "load_intrinsics_file", "load_ignore_masks"]

log = logging.getLogger(__name__)

RUN_FOLDER = "run"


@dataclass(frozen=True)
class ReconstructConfig:
    """Everything ``sceneforge reconstruct`` takes."""

    input: Path
    """The clip: a video file or a folder of images."""
    output: Path
    """The shot folder to write (``scene.usda``, ``report.json``, ``run/``)."""
    start: int = 0
    """First source frame to use."""
    end: int | None = None
    """Source frame to stop before (None: the end)."""
    stride: int = 1
    """Use every n-th frame."""
    max_size: int | None = 960
    """Resize frames so the long side is at most this many pixels (None: keep)."""
    fps: float | None = None
    """Frames per second (default: the video's, or 24 for images)."""
    pattern: str | None = None
    """Glob picking the frames in an image folder."""
    solver: str = "colmap-global"
    """Camera solver backend."""
    focal_px: float | None = None
    """Known focal length in pixels of the source frames."""
    intrinsics_file: Path | None = None
    """A file with the known 3×3 K of the source frames."""
    refine_principal_point: bool = False
    """Let the solve move the principal point."""
    lens: str = "radial"
    """Lens model: pinhole, simple_radial or radial."""
    camera_per_frame: bool = False
    """Separate intrinsics per frame (zoom)."""
    mask: Path | None = None
    """An image (or a folder of per-frame images) whose non-zero pixels the solve ignores."""
    depth: str = "plane-sweep"
    """Dense depth backend, or ``none`` to stop after the camera solve."""
    background: bool = True
    """Fuse the depth into a textured background mesh (needs depth)."""
    max_triangles: int = 500_000
    """Triangle budget of the background mesh."""
    texture_size: int = 2048
    """Width and height of the background's texture atlas in pixels."""
    objects: tuple[str, ...] = ()
    """Object prompts, ``name=box:x0,y0,x1,y1@F`` / ``name=points:x,y,+;x,y,-@F`` /
    ``name=mask:file.png@F`` (F a source frame number, pixels of the source video)."""
    propose_objects: bool = True
    """With no prompt, propose objects from the geometry (needs depth)."""
    solve_without_moving: bool = True
    """When an object turns out to move, solve the camera again with it masked out (and
    recompute the depth), so that only the static world drives the camera."""
    force: bool = False
    """Overwrite an existing scene in the output folder."""
    fresh: bool = False
    """Ignore cached stage results and compute everything again."""


@dataclass(frozen=True)
class ReconstructResult:
    """What a reconstruct job wrote."""

    scene_path: Path
    report_path: Path
    track: CameraTrack
    num_frames: int
    image_size: tuple[int, int]
    timings_secs: dict[str, float] = field(default_factory=dict)
    resumed_stages: tuple[str, ...] = ()
    objects: tuple[dict[str, Any], ...] = ()
    """Per object: name, instance id, static flag and its stats (frames, size, mask quality)."""


def prepare_output(output: Path, *, force: bool) -> None:
    """Create the shot folder, refusing to overwrite a scene (or a folder that is not ours) without ``force``."""
    if output.exists() and not output.is_dir():
        raise OutputExistsError(f"{output} exists and is not a folder; choose another -o")
    if output.exists():
        if (output / "scene.usda").exists() and not force:
            raise OutputExistsError(f"{output} already holds a scene; pass --force to overwrite it or choose another -o")
        ours = (output / RUN_FOLDER).is_dir() or (output / "scene.usda").exists()
        if not ours and any(output.iterdir()) and not force:
            raise OutputExistsError(
                f"{output} exists and is not empty (and is not a SceneForge shot); choose another -o or pass --force"
            )
    output.mkdir(parents=True, exist_ok=True)


def load_intrinsics_file(path: Path) -> np.ndarray:
    """Read a 3×3 K from a text file (9 numbers) or a JSON file (``{"K": [[...]]}``)."""
    if not path.exists():
        raise InputError(f"intrinsics file not found: {path}")
    text = path.read_text()
    try:
        if path.suffix.lower() == ".json":
            k = np.asarray(json.loads(text)["K"], dtype=np.float64)
        else:
            k = np.array(text.replace(",", " ").split(), dtype=np.float64)
        k = k.reshape(3, 3)
    except (ValueError, KeyError, json.JSONDecodeError) as exc:
        raise InputError(
            f"{path} must hold a 3×3 K (9 numbers, or JSON with a 'K' entry), got something else ({exc})"
        ) from exc
    return k


def load_ignore_masks(path: Path, frames: Frames) -> np.ndarray:
    """Masks of regions the solve ignores, resized to the frames: H×W or N×H×W bool.

    ``path`` is one image (used for every frame) or a folder with one image per source
    frame (sorted by name, indexed by source frame number). Non-zero pixels are ignored.
    """
    import cv2

    from sceneforge.reconstruct import IMAGE_SUFFIXES

    def load(file: Path) -> np.ndarray:
        image = cv2.imread(str(file), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise InputError(f"cannot read mask image {file}; pass a PNG or JPEG")
        return cv2.resize(image, (frames.width, frames.height), interpolation=cv2.INTER_NEAREST) > 0

    if not path.exists():
        raise InputError(f"mask not found: {path}")
    if path.is_file():
        return load(path)
    files = sorted(f for f in path.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
    if len(files) <= int(frames.frame_numbers[-1]):
        raise InputError(
            f"mask folder {path} has {len(files)} images but the clip's frames reach frame {int(frames.frame_numbers[-1])}; "
            "give one mask per source frame"
        )
    return np.stack([load(files[int(i)]) for i in frames.frame_numbers])


def _input_fingerprint(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime": stat.st_mtime_ns}


def reconstruct(config: ReconstructConfig, *, progress: Any = None) -> ReconstructResult:
    """Run the reconstruct job: read frames, solve cameras, write the USD scene and the report.

    Raises:
        InputError: bad input or options (one clear line).
        OutputExistsError: the output holds a scene and ``force`` is off.
        SolveError: the camera could not be solved.
    """
    from sceneforge.reconstruct import read_frames
    from sceneforge.scenegraph import write_scene

    timings: dict[str, float] = {}
    resumed: list[str] = []
    if config.objects and config.depth == "none":
        raise InputError("--object needs depth to lift the object into 3D; drop --depth none")
    prepare_output(config.output, force=config.force)
    cache = StageCache(config.output / RUN_FOLDER / "cache")
    if config.fresh:
        cache.clear()

    t0 = time.perf_counter()
    frames = read_frames(
        config.input, start=config.start, end=config.end, stride=config.stride, max_size=config.max_size,
        fps=config.fps, pattern=config.pattern, progress=progress,
    )
    timings["read_frames"] = time.perf_counter() - t0
    log.info("read %d frames of %d×%d from %s", len(frames), frames.width, frames.height, config.input)
    if config.objects:
        from ._objects_stage import prompts_for_clip

        prompts_for_clip(config.objects, frames, base_dir=Path.cwd())  # a bad prompt fails before any work

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
    if config.mask is not None:
        options["ignore_masks"] = load_ignore_masks(config.mask, frames)
    solver_config = SOLVERS.config(config.solver, **options)

    key = stage_key(
        input=_input_fingerprint(config.input),
        frames=[config.start, config.end, config.stride, config.max_size, config.pattern],
        solver=config.solver,
        options={k: (v.to_dict() if isinstance(v, Intrinsics) else v) for k, v in options.items() if k != "ignore_masks"},
        mask=_input_fingerprint(config.mask) if config.mask else None,
        fps=frames.fps,
        config=repr(solver_config) if config.mask is None else None,
    )
    t0 = time.perf_counter()
    track = _solve(cache, "camera_solve", key, solver_config, frames, resumed, progress)
    timings["camera_solve"] = time.perf_counter() - t0

    depth_paths: list[str] | None = None
    background = None
    outcome = None
    no_parallax = track.report is not None and "rotation_only" in track.report.flags
    if no_parallax and config.depth != "none":
        if config.objects:
            raise InputError(
                "the camera only rotates (a pan from a fixed point): there is no parallax to lift objects into 3D; "
                "drop --object, or film the shot with some camera movement"
            )
        log.warning("the camera only rotates: no depth, background or objects (no parallax); the scene has the camera only")
    if config.depth != "none" and not no_parallax:
        t0 = time.perf_counter()
        depth_store, reused = _depth_stage(config, frames, track, key, progress=progress)
        timings["depth"] = time.perf_counter() - t0
        if reused == len(frames):
            resumed.append("depth")
        # later stages take depth keyed by frame index (position in the clip), not source frame number
        depths = {i: depth_store.load(n) for i, n in enumerate(frames.frame_numbers)}
        if config.objects or config.propose_objects:
            from ._objects_stage import lift_and_store, track_objects

            t0 = time.perf_counter()
            tracked, cached = track_objects(
                config.objects, frames, track, depths, cache=cache, key=depth_store.key,
                propose=config.propose_objects, base_dir=Path.cwd(), progress=progress,
            )
            if tracked and cached == len(tracked):
                resumed.append("objects")
            lift = dict(output=config.output, run_folder=RUN_FOLDER, texture_size=min(1024, config.texture_size), progress=progress)
            outcome = lift_and_store(tracked, frames, track, depths, **lift)
            timings["objects"] = time.perf_counter() - t0
            if outcome.moving is not None and config.solve_without_moving:
                log.info("objects move: solving the camera again without them")
                t0 = time.perf_counter()
                moving = outcome.moving
                if "ignore_masks" in options:
                    moving = moving | np.broadcast_to(options["ignore_masks"], moving.shape)
                solver_config = SOLVERS.config(config.solver, **{**options, "ignore_masks": moving})
                key = stage_key(first=key, moving=masks_digest([(m.name, m.masks) for m in tracked]))
                track = _solve(cache, "camera_solve_static", key, solver_config, frames, resumed, progress)
                depth_store, _ = _depth_stage(config, frames, track, key, progress=progress)
                depths = {i: depth_store.load(n) for i, n in enumerate(frames.frame_numbers)}
                outcome = lift_and_store(tracked, frames, track, depths, **lift)
                timings["camera_solve_static"] = time.perf_counter() - t0
        depth_paths = [str(depth_store.path(n).relative_to(config.output)) for n in frames.frame_numbers]
        if config.background:
            t0 = time.perf_counter()
            excluded = outcome.excluded if outcome is not None else {}
            background_key = stage_key(
                depth=depth_store.key, triangles=config.max_triangles, texture=config.texture_size,
                objects=masks_digest([(str(i), excluded[i]) for i in sorted(excluded)]),
            )
            background = cache.load_mesh("background", background_key)
            if background is not None:
                resumed.append("background")
            else:
                from sceneforge.reconstruct import TextureBakeConfig, TSDFFusionConfig

                # Objects are left out: the background behind them comes from the frames that see it.
                fuser = TSDFFusionConfig(
                    max_faces=config.max_triangles, texture=TextureBakeConfig(texture_size=config.texture_size)
                ).build()
                background = fuser.fuse(frames, track, depths, masks=excluded or None, progress=progress)
                cache.save_mesh("background", background_key, background)
            timings["background"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    report = track.report
    scene_path = write_scene(
        config.output, track, source=str(config.input), background=background, depth_paths=depth_paths,
        objects=outcome.layers if outcome is not None else (),
        instance_paths=outcome.instance_paths if outcome is not None else None,
    )
    timings["write_usd"] = time.perf_counter() - t0

    objects = tuple(
        {"name": layer.name, "instance_id": layer.instance_id, "static": layer.static, **layer.stats}
        for layer in (outcome.layers if outcome is not None else ())
    )
    report_path = config.output / "report.json"
    full = {
        "input": str(config.input),
        "frames": {"count": len(frames), "width": frames.width, "height": frames.height, "fps": frames.fps,
                   "first": int(frames.frame_numbers[0]), "last": int(frames.frame_numbers[-1]), "scale": frames.scale},
        "camera_solve": report.to_dict() if report else None,
        "stage_timings_secs": {k: round(v, 3) for k, v in timings.items()},
        "resumed_stages": resumed,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "objects": list(objects),
        "outputs": {"scene": str(scene_path)},
    }
    atomic_write_text(report_path, json.dumps(_finite(full), indent=2, allow_nan=False, default=_json_default))
    return ReconstructResult(
        scene_path=scene_path, report_path=report_path, track=track, num_frames=len(frames),
        image_size=(frames.width, frames.height), timings_secs=timings, resumed_stages=tuple(resumed),
        objects=objects,
    )


def _solve(cache: StageCache, stage: str, key: str, solver_config: Any, frames: Frames, resumed: list[str], progress: Any) -> CameraTrack:
    """The camera track of ``stage``: from the cache when made with ``key``, else solved and cached."""
    track = cache.load_track(stage, key)
    if track is not None:
        resumed.append(stage)
        log.info("%s: reusing the cached result in %s", stage.replace("_", " "), cache.folder)
        return track
    track = solver_config.build().solve(frames, progress=progress)
    cache.save_track(stage, key, track)
    return track


def _depth_stage(config: ReconstructConfig, frames: Frames, track: CameraTrack, camera_key: str, *, progress: Any) -> tuple[Any, int]:
    """Dense depth for every frame, resumable frame by frame; returns the store and how many
    frames were already there.

    Raw per-frame depth is cached under ``run/cache/depth_raw``; after every frame has its
    raw depth, the multi-view consistency filter writes the final maps to ``run/depth``,
    which the USD references.
    """
    from sceneforge.reconstruct import filter_consistent

    from ._cache import DepthStore

    depth_config = DEPTH.config(config.depth)
    raw_key = stage_key(camera=camera_key, depth=config.depth, config=repr(depth_config))
    raw = DepthStore(config.output / RUN_FOLDER / "cache" / "depth_raw", raw_key)
    final = DepthStore(config.output / RUN_FOLDER / "depth", stage_key(raw=raw_key, filter="consistency-v1"))
    numbers = [int(n) for n in frames.frame_numbers]
    if all(final.has(n) for n in numbers):
        return final, len(numbers)
    todo = [i for i, n in enumerate(numbers) if not raw.has(n)]
    reused = len(numbers) - len(todo)
    if reused:
        log.info("depth: %d of %d frames reused from %s", reused, len(numbers), raw.folder)
    if todo:
        estimator = depth_config.build()
        for _, depth in estimator.estimate(frames, track, indices=todo, progress=progress):
            raw.save(depth)
    depths = {i: raw.load(n) for i, n in enumerate(numbers)}  # keyed by frame index, as the filter expects
    for depth in filter_consistent(depths, track).values():
        final.save(depth)
    return final, reused


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
