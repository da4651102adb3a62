"""Camera solving: one camera (K and world_from_cam) for every frame of a clip.

The default backend runs COLMAP (through pycolmap) on keyframes only — SIFT,
sequential matching with a cheap loop detection, the global mapper — and then
localizes every other frame against that map: the map's 2D–3D observations are
carried into the frame with pyramidal optical flow from the neighbouring
keyframes, then an absolute pose (LO-RANSAC) is estimated and refined. Frames that
still fail are interpolated and flagged. Hard shots fall back instead of crashing:
the largest connected part of a broken clip, and a rotation-only solve (the
frame-to-frame homographies) for a pan from a fixed point — and, flagged
``solve_fallback`` with a warning, for any clip whose keyframes do not register
(a subject followed by the camera over a weak background): readable frames always
give a camera.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from sceneforge.scenegraph import (
    CameraTrack,
    Frames,
    FrameStatus,
    InputError,
    Intrinsics,
    SolveReport,
    SparsePoints,
    invert_rigid,
)
from sceneforge.scenegraph.files import process_alive

from .._progress import ProgressFn
from ._interpolate import interpolate_poses
from ._keyframe_map import KeyframeMap, intrinsics_from_colmap, map_from_reconstructions, reprojection_error
from ._motion import MIN_TRACKED, FrameMotion, analyse_motion, select_keyframes
from ._rotation_only import focal_from_homographies, is_pure_rotation, nearest_rotation
from ._solver import CameraSolveConfig
from ._world import align_world

__all__ = ["ColmapSolverConfig", "ColmapSolver"]

log = logging.getLogger(__name__)

MIN_POINTS = 20
"""A keyframe solve that triangulates fewer points has no usable parallax (the cameras it
gives are arbitrary): the clip is solved as a pan instead."""

_COLMAP_MODEL = {"pinhole": "PINHOLE", "simple_radial": "SIMPLE_RADIAL", "radial": "RADIAL"}


@dataclass(frozen=True)
class ColmapSolverConfig(CameraSolveConfig):
    """COLMAP keyframe solve followed by localization of every other frame."""

    mapper: Literal["global", "incremental"] = "global"
    """COLMAP mapper for the keyframes: ``global`` (GLOMAP-style, the default) or ``incremental``."""
    max_features: int | None = None
    """SIFT features per keyframe (default: 4096, or 8192 when a short clip is solved whole)."""
    overlap: int = 10
    """Sequential matching: each keyframe is matched with this many following ones (quadratic spacing)."""
    loop_detection: bool = True
    """Also match keyframes far apart in time that look alike (a camera returning to a place)."""
    keyframe_flow_fraction: float = 0.08
    """Start a new keyframe after this much image motion, as a fraction of the long side."""
    max_keyframe_gap: int = 10
    """At most this many frames between keyframes."""
    solve_all_below: int = 30
    """Clips (or photo sets) with fewer frames than this are solved whole: every frame a keyframe."""
    min_localize_inliers: int = 30
    """A localized frame needs at least this many inlier 2D–3D correspondences."""
    max_chain: int = 40
    """Optical flow carries map observations at most this many frames from a keyframe."""
    max_carried: int = 800
    """At most this many map observations per keyframe are carried by optical flow (speed)."""
    seed: int = 0
    """Random seed for COLMAP's RANSAC and mappers (repeatable results)."""
    deterministic: bool = True
    """Run COLMAP's feature extraction, matching and mapper on one thread, so the same clip
    gives the same cameras every time (its threads change the order of floating-point sums
    and of RANSAC draws). Off: faster on many cores, repeatable only to about 1e-4."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mapper not in ("global", "incremental"):
            raise InputError(f"mapper must be 'global' or 'incremental', got {self.mapper!r}")
        if self.max_keyframe_gap < 1:
            raise InputError(f"max_keyframe_gap must be ≥ 1, got {self.max_keyframe_gap}")

    def build(self) -> ColmapSolver:
        """The backend this configuration describes."""
        return ColmapSolver(self)



class ColmapSolver:
    """The default camera solver (see the module docstring)."""

    name = "colmap"

    def __init__(self, config: ColmapSolverConfig) -> None:
        self.config = config

    # -- the whole solve -------------------------------------------------------------------
    def solve(self, frames: Frames, *, progress: ProgressFn | None = None) -> CameraTrack:
        import cv2

        cfg = self.config
        n = len(frames)
        ignore = _per_frame_masks(cfg.ignore_masks, frames)
        timings: dict[str, float] = {}
        flags: list[str] = []
        messages: list[str] = []

        if n == 1:
            messages.append("a single image: nothing to solve from")
            return self._static_track(frames, timings, messages)
        t0 = time.perf_counter()
        gray = np.stack([cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) for img in frames.images])
        motion = analyse_motion(gray, ignore=ignore)
        long_side = max(frames.width, frames.height)
        if n < cfg.solve_all_below:
            keys = np.arange(n)
        else:
            keys = select_keyframes(
                motion, min_flow_px=cfg.keyframe_flow_fraction * long_side, max_gap=cfg.max_keyframe_gap
            )
        timings["motion_analysis"] = time.perf_counter() - t0
        if progress:
            progress("analyse motion", 1, 1)
        log.info("%d of %d frames chosen as keyframes", len(keys), n)

        tracked_well = bool(np.all(motion.num_tracked >= MIN_TRACKED))
        if tracked_well and float(np.max(motion.median_flow_px, initial=0.0)) < 0.3:
            return self._static_track(frames, timings, messages)

        t0 = time.perf_counter()
        smap = self._solve_keyframes(frames, keys, ignore, progress=progress)
        timings["keyframe_solve"] = time.perf_counter() - t0

        if len(smap.cam_from_world) >= 3 and is_pure_rotation(smap):
            flags.append("rotation_only")
            messages.append(
                "the keyframes are related by homographies that are pure rotations: solved as a pan from a "
                "fixed point (no parallax, so no depth from motion)"
            )
            return self._rotation_only_track(frames, motion, timings, flags, messages)
        too_few_points = len(smap.points.points_in_world) < MIN_POINTS
        if len(smap.cam_from_world) < max(3, int(0.3 * len(keys))) or too_few_points:
            pan_ratio = float(np.median(motion.homography_inlier_ratio))
            if pan_ratio > 0.8:
                flags.append("rotation_only")
                messages.append(
                    f"the keyframe solve registered {len(smap.cam_from_world)} of {len(keys)} keyframes and a "
                    f"homography explains {pan_ratio:.0%} of the image motion: solved as a pan from a fixed "
                    "point (no parallax, so no depth from motion)"
                )
                return self._rotation_only_track(frames, motion, timings, flags, messages)
            # Too little parallax or texture for structure from motion (a subject followed by
            # the camera, a weakly textured or blurred background): the frames still give a
            # camera, as a pan through the homography chain, rather than no scene at all.
            corners = int(np.median(motion.num_detected))
            flags.extend(["rotation_only", "solve_fallback"])
            reason = (
                f"too little texture (a median of {corners} corners per frame)" if corners < MIN_TRACKED
                else f"only {len(smap.points.points_in_world)} points triangulated" if too_few_points
                else "too little parallax or overlap between frames"
            )
            messages.append(
                f"could not solve a moving camera: {len(smap.cam_from_world)} of {len(keys)} keyframes registered "
                f"({reason}); fell back to a pan from a fixed point through the frame-to-frame homographies, "
                f"which explain {pan_ratio:.0%} of the image motion. Depth and object placement are nominal; "
                "a longer clip, --focal, or --mask over moving things may solve it properly"
            )
            log.warning("%s", messages[-1])
            return self._rotation_only_track(frames, motion, timings, flags, messages)
        missing = np.array([k for k in keys if int(k) not in smap.cam_from_world], dtype=np.int64)
        if _longest_run(np.isin(keys, missing)) >= 3:
            flags.append("largest_component")
            messages.append(
                f"the clip breaks into parts that do not connect ({len(missing)} of {len(keys)} keyframes, "
                f"from frame {int(frames.frame_numbers[missing[0]])}, could not join); kept the largest part, "
                "other frames are localized where possible or interpolated"
            )

        t0 = time.perf_counter()
        status = np.full(n, FrameStatus.INTERPOLATED, dtype=np.int8)
        cam_from_world: dict[int, np.ndarray] = {}
        frame_error = np.full(n, np.nan)
        cameras: dict[int, object] = {}
        for i, pose in smap.cam_from_world.items():
            cam_from_world[i] = pose
            status[i] = FrameStatus.SOLVED
            errors = smap.observations[i].error_px
            frame_error[i] = float(np.mean(errors)) if len(errors) else np.nan
            cameras[i] = smap.cameras[i]
        localized = self._localize(gray, smap, ignore, progress=progress)
        for i, (pose, camera, err) in localized.items():
            cam_from_world[i] = pose
            cameras[i] = camera
            status[i] = FrameStatus.LOCALIZED
            frame_error[i] = err
        timings["localize"] = time.perf_counter() - t0

        posed = np.array(sorted(cam_from_world))
        world_from_cam = np.zeros((n, 4, 4))
        for i in posed:
            world_from_cam[i] = invert_rigid(_to_4x4(cam_from_world[i]))
        world_from_cam = interpolate_poses(world_from_cam, posed)
        num_interp = int(np.sum(status == FrameStatus.INTERPOLATED))
        if num_interp:
            messages.append(f"{num_interp} frame(s) could not be localized and were interpolated from their neighbours")

        intrinsics = self._intrinsics_per_frame(cameras, posed, n)
        world_from_solve = align_world(world_from_cam, smap.points.points_in_world)
        world_from_cam = world_from_solve.apply_rigid(world_from_cam)
        points = SparsePoints(
            world_from_solve.apply_points(smap.points.points_in_world), smap.points.colors, smap.points.error_px
        )
        report = SolveReport(
            backend=f"{self.name}-{cfg.mapper}",
            num_frames=n,
            num_solved=int(np.sum(status == FrameStatus.SOLVED)),
            num_localized=int(np.sum(status == FrameStatus.LOCALIZED)),
            num_interpolated=num_interp,
            mean_error_px=float(np.nanmean(frame_error)) if np.any(np.isfinite(frame_error)) else float("nan"),
            max_error_px=float(np.nanmax(frame_error)) if np.any(np.isfinite(frame_error)) else float("nan"),
            flags=tuple(flags),
            messages=tuple(messages),
            timings_secs={k: round(v, 3) for k, v in timings.items()},
            per_frame_error_px=tuple(float(e) for e in frame_error),
        )
        return CameraTrack(
            intrinsics=intrinsics,
            world_from_cam=world_from_cam,
            frame_numbers=frames.frame_numbers,
            fps=frames.fps,
            status=status,
            points=points,
            report=report,
        )

    # -- keyframes through COLMAP ----------------------------------------------------------
    def _solve_keyframes(self, *args, **kwargs) -> KeyframeMap:
        import pycolmap

        # COLMAP logs (and reports failures we handle) through glog on stderr; keep it quiet
        # unless our own logger is in debug mode.
        previous = pycolmap.logging.minloglevel
        pycolmap.logging.minloglevel = 0 if log.isEnabledFor(logging.DEBUG) else 3
        try:
            return self._solve_keyframes_quietly(*args, **kwargs)
        finally:
            pycolmap.logging.minloglevel = previous

    def _solve_keyframes_quietly(
        self, frames: Frames, keys: np.ndarray, ignore: np.ndarray | None, *, progress: ProgressFn | None
    ) -> KeyframeMap:
        import cv2
        import pycolmap

        cfg = self.config
        pycolmap.set_random_seed(cfg.seed)
        _remove_stale_solves()
        with tempfile.TemporaryDirectory(prefix=f"{_SOLVE_PREFIX}{os.getpid()}-") as tmp:
            work = Path(tmp)
            image_dir, mask_dir = work / "images", work / "masks"
            image_dir.mkdir()
            names = []
            for done, i in enumerate(keys):
                name = f"{i:06d}.png"
                cv2.imwrite(str(image_dir / name), cv2.cvtColor(frames.images[i], cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1])
                if ignore is not None:
                    mask_dir.mkdir(exist_ok=True)
                    cv2.imwrite(str(mask_dir / f"{name}.png"), (~ignore[i]).astype(np.uint8) * 255)
                names.append(name)
                if progress:
                    progress("write keyframes", done + 1, len(keys))
            database = work / "database.db"
            reader = pycolmap.ImageReaderOptions()
            reader.camera_model = _COLMAP_MODEL[cfg.lens]
            known = self._known_camera_params(frames)
            if known is not None:
                reader.camera_model, reader.camera_params = known
            if ignore is not None:
                reader.mask_path = str(mask_dir)
            threads = 1 if cfg.deterministic else -1
            extraction = pycolmap.FeatureExtractionOptions()
            extraction.num_threads = threads
            solved_whole = len(keys) == len(frames)
            extraction.sift.max_num_features = cfg.max_features or (8192 if solved_whole else 4096)
            mode = pycolmap.CameraMode.PER_IMAGE if cfg.camera_per_frame else pycolmap.CameraMode.SINGLE
            if progress:
                progress("extract features", 0, 1)
            pycolmap.extract_features(
                database, image_dir, image_names=names, camera_mode=mode, reader_options=reader,
                extraction_options=extraction, device=pycolmap.Device.cpu,
            )
            if progress:
                progress("extract features", 1, 1)
                progress("match features", 0, 1)
            verification = pycolmap.TwoViewGeometryOptions()
            verification.ransac.random_seed = cfg.seed
            pairing = pycolmap.SequentialPairingOptions()
            pairing.overlap = cfg.overlap
            pairing.quadratic_overlap = True
            matching = pycolmap.FeatureMatchingOptions()
            matching.num_threads = threads
            pycolmap.match_sequential(
                database, matching_options=matching, pairing_options=pairing, verification_options=verification,
                device=pycolmap.Device.cpu,
            )
            if cfg.loop_detection:
                pairs = _loop_candidates(frames.images[keys], names, min_distance=2 * cfg.overlap)
                if pairs:
                    pair_file = work / "loop_pairs.txt"
                    pair_file.write_text("".join(f"{a} {b}\n" for a, b in pairs))
                    imported = pycolmap.ImportedPairingOptions()
                    imported.match_list_path = str(pair_file)
                    pycolmap.match_image_pairs(
                        database, matching_options=matching, pairing_options=imported, verification_options=verification,
                        device=pycolmap.Device.cpu,
                    )
                    log.info("loop detection added %d keyframe pairs", len(pairs))
            if progress:
                progress("match features", 1, 1)
                progress("solve keyframes", 0, 1)
            recs = self._run_mapper(database, image_dir, work / "sparse", fixed_intrinsics=known is not None)
            if progress:
                progress("solve keyframes", 1, 1)
        return map_from_reconstructions(recs)

    def _known_camera_params(self, frames: Frames) -> tuple[str, str] | None:
        cfg = self.config
        if cfg.intrinsics is not None:
            k = cfg.intrinsics
            if (k.width, k.height) != (frames.width, frames.height):
                raise InputError(
                    f"the known intrinsics are for {k.width}×{k.height} images but the frames are "
                    f"{frames.width}×{frames.height}; give K at the frames' resolution"
                )
            if k.has_distortion:
                return "RADIAL", f"{(k.fx + k.fy) / 2},{k.cx},{k.cy},{k.radial[0]},{k.radial[1]}"
            return "PINHOLE", f"{k.fx},{k.fy},{k.cx},{k.cy}"
        if cfg.focal_px is not None:
            return "SIMPLE_PINHOLE", f"{cfg.focal_px},{frames.width / 2},{frames.height / 2}"
        return None

    def _run_mapper(self, database: Path, image_dir: Path, out: Path, *, fixed_intrinsics: bool) -> dict:
        import pycolmap

        cfg = self.config
        out.mkdir()
        threads = 1 if cfg.deterministic else -1
        if cfg.mapper == "global":
            options = pycolmap.GlobalPipelineOptions()
            options.random_seed = cfg.seed
            options.num_threads = threads
            options.mapper.num_threads = threads
            ba = options.mapper.bundle_adjustment
            ba.refine_principal_point = cfg.refine_principal_point and not fixed_intrinsics
            ba.refine_focal_length = not fixed_intrinsics
            ba.refine_extra_params = not fixed_intrinsics
            ba.ceres.use_gpu = False
            options.mapper.global_positioning.use_gpu = False
            return pycolmap.global_mapping(database, image_dir, out, options)
        options = pycolmap.IncrementalPipelineOptions()
        options.random_seed = cfg.seed
        options.num_threads = threads
        options.ba_refine_principal_point = cfg.refine_principal_point and not fixed_intrinsics
        options.ba_refine_focal_length = not fixed_intrinsics
        options.ba_refine_extra_params = not fixed_intrinsics
        return pycolmap.incremental_mapping(database, image_dir, out, options)

    # -- every other frame -----------------------------------------------------------------
    def _localize(
        self, gray: np.ndarray, smap: KeyframeMap, ignore: np.ndarray | None, *, progress: ProgressFn | None
    ) -> dict[int, tuple[np.ndarray, object, float]]:
        """Pose every frame that is not a solved keyframe.

        Map observations of the solved keyframes are carried along the clip with pyramidal
        Lucas–Kanade flow, forwards from the keyframe before a frame and backwards from the
        one after it (at most ``max_chain`` frames), giving 2D–3D correspondences.
        """
        import pycolmap

        cfg = self.config
        n = gray.shape[0]
        solved = np.array(sorted(smap.cam_from_world))
        targets = [i for i in range(n) if i not in smap.cam_from_world]
        if not targets:
            return {}
        correspondences: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {i: [] for i in targets}
        for k_index, key in enumerate(solved):
            pixels, points = smap.observations[key].pixels, smap.observations[key].points_in_world
            if len(pixels) == 0:
                continue
            if len(pixels) > cfg.max_carried:
                pick = np.random.default_rng(cfg.seed + int(key)).choice(len(pixels), cfg.max_carried, replace=False)
                pixels, points = pixels[pick], points[pick]
            nxt = solved[k_index + 1] if k_index + 1 < len(solved) else n
            prv = solved[k_index - 1] if k_index > 0 else -1
            stop_fwd = min(nxt, key + cfg.max_chain + 1, n)
            stop_bwd = max(prv, key - cfg.max_chain - 1, -1)
            for frame, px, pts in _carry(gray, key, range(key + 1, stop_fwd), pixels, points, ignore):
                correspondences[frame].append((px, pts))
            for frame, px, pts in _carry(gray, key, range(key - 1, stop_bwd, -1), pixels, points, ignore):
                correspondences[frame].append((px, pts))

        estimation = pycolmap.AbsolutePoseEstimationOptions()
        estimation.ransac.max_error = 4.0
        estimation.ransac.random_seed = cfg.seed
        refinement = pycolmap.AbsolutePoseRefinementOptions()
        results: dict[int, tuple[np.ndarray, object, float]] = {}
        for done, frame in enumerate(targets):
            if progress:
                progress("localize frames", done + 1, len(targets))
            parts = correspondences[frame]
            if not parts:
                continue
            px = np.concatenate([p for p, _ in parts])
            pts = np.concatenate([q for _, q in parts])
            if len(px) < cfg.min_localize_inliers:
                continue
            nearest = int(solved[np.argmin(np.abs(solved - frame))])
            camera = smap.cameras[nearest]
            answer = pycolmap.estimate_and_refine_absolute_pose(px, pts, camera, estimation, refinement)
            if answer is None or int(answer["num_inliers"]) < cfg.min_localize_inliers:
                continue
            pose = answer["cam_from_world"].matrix()
            inliers = np.asarray(answer["inlier_mask"], dtype=bool)
            error = reprojection_error(camera, pose, px[inliers], pts[inliers])
            results[frame] = (pose, camera, float(np.mean(error)))
        return results

    # -- results ---------------------------------------------------------------------------
    def _intrinsics_per_frame(self, cameras: dict[int, object], posed: np.ndarray, n: int) -> tuple[Intrinsics, ...]:
        cache: dict[int, Intrinsics] = {}
        out: list[Intrinsics] = []
        for i in range(n):
            nearest = int(posed[np.argmin(np.abs(posed - i))])
            cam = cameras[nearest]
            key = id(cam)
            if key not in cache:
                cache[key] = intrinsics_from_colmap(cam)
            out.append(cache[key])
        if not self.config.camera_per_frame:
            first = out[0]
            out = [first] * n
        return tuple(out)

    def _static_track(self, frames: Frames, timings: dict[str, float], messages: list[str]) -> CameraTrack:
        n = len(frames)
        intrinsics = self.config.intrinsics or Intrinsics.from_focal(
            focal_px=self.config.focal_px or 1.2 * max(frames.width, frames.height), width=frames.width, height=frames.height
        )
        messages.append("the camera does not move: every frame shares one camera at the origin (assumed focal length)")
        report = SolveReport(
            backend=f"{self.name}-{self.config.mapper}", num_frames=n, num_solved=0, num_localized=0,
            num_interpolated=n, mean_error_px=float("nan"), max_error_px=float("nan"),
            flags=("static_camera",), messages=tuple(messages), timings_secs=timings,
            per_frame_error_px=tuple([float("nan")] * n),
        )
        return CameraTrack(
            intrinsics=(intrinsics,) * n, world_from_cam=np.tile(np.eye(4), (n, 1, 1)),
            frame_numbers=frames.frame_numbers, fps=frames.fps,
            status=np.full(n, FrameStatus.INTERPOLATED, np.int8), report=report,
        )

    def _rotation_only_track(
        self, frames: Frames, motion: FrameMotion, timings: dict[str, float], flags: list[str], messages: list[str]
    ) -> CameraTrack:
        t0 = time.perf_counter()
        n = len(frames)
        if self.config.intrinsics is not None:
            intrinsics = self.config.intrinsics
        else:
            focal = self.config.focal_px or focal_from_homographies(motion.next_from_this, frames.width, frames.height)
            intrinsics = Intrinsics.from_focal(focal_px=focal, width=frames.width, height=frames.height)
        k, k_inv = intrinsics.K, np.linalg.inv(intrinsics.K)
        world_from_cam = np.tile(np.eye(4), (n, 1, 1))
        errors = np.full(n, np.nan)
        for i in range(n - 1):
            # pixels_next = H pixels_this  =>  next_from_this rotation = K⁻¹ H K (up to scale)
            r = nearest_rotation(k_inv @ motion.next_from_this[i] @ k)
            world_from_cam[i + 1, :3, :3] = world_from_cam[i, :3, :3] @ r.T
            errors[i + 1] = 1.0 - motion.homography_inlier_ratio[i]
        timings["rotation_only"] = time.perf_counter() - t0
        report = SolveReport(
            backend=f"{self.name}-rotation", num_frames=n, num_solved=n, num_localized=0, num_interpolated=0,
            mean_error_px=float("nan"), max_error_px=float("nan"), flags=tuple(flags), messages=tuple(messages),
            timings_secs={k_: round(v, 3) for k_, v in timings.items()}, per_frame_error_px=tuple([float("nan")] * n),
        )
        return CameraTrack(
            intrinsics=(intrinsics,) * n, world_from_cam=world_from_cam, frame_numbers=frames.frame_numbers,
            fps=frames.fps, status=np.full(n, FrameStatus.SOLVED, np.int8), report=report,
        )


# -- helpers ---------------------------------------------------------------------------------

_SOLVE_PREFIX = "sceneforge-solve-"
"""COLMAP's scratch folders in the system's temporary folder: ``sceneforge-solve-<pid>-<random>``."""


def _remove_stale_solves() -> None:
    """Remove the scratch folders of solves whose process is gone (killed before cleaning up)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{_SOLVE_PREFIX}*-*"):
        pid = folder.name[len(_SOLVE_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not process_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _to_4x4(cam_from_world_3x4: np.ndarray) -> np.ndarray:
    out = np.eye(4)
    out[:3, :4] = cam_from_world_3x4
    return out


def _longest_run(flags: np.ndarray) -> int:
    """Length of the longest run of True in a 1-D bool array."""
    best = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


def _per_frame_masks(masks: np.ndarray | None, frames: Frames) -> np.ndarray | None:
    if masks is None:
        return None
    m = np.asarray(masks)
    if m.dtype != bool:
        raise InputError(f"ignore masks must be bool (True = ignore), got {m.dtype}")
    if m.ndim == 2:
        m = np.broadcast_to(m, (len(frames), *m.shape))
    if m.shape != (len(frames), frames.height, frames.width):
        raise InputError(
            f"ignore masks must be {frames.height}×{frames.width} (one, or one per frame), got {m.shape}; "
            "resize the mask to the frames"
        )
    return m


def _carry(
    gray: np.ndarray,
    start: int,
    frames: range,
    pixels: np.ndarray,
    points: np.ndarray,
    ignore: np.ndarray | None,
):
    """Follow ``pixels`` of frame ``start`` through ``frames`` with forward–backward-checked LK flow.

    Yields ``(frame, pixels_in_frame, points_in_world)`` for each frame while enough survive.
    """
    import cv2

    # OpenCV's flow works in pixel-index coordinates (centre of pixel (0, 0) at (0, 0)); ours
    # put it at (0.5, 0.5).
    current = (pixels - 0.5).astype(np.float32).reshape(-1, 1, 2)
    pts = points
    previous = start
    params = dict(winSize=(21, 21), maxLevel=3, criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 30, 0.01))
    h, w = gray.shape[1:]
    for frame in frames:
        moved, status, _ = cv2.calcOpticalFlowPyrLK(gray[previous], gray[frame], current, None, **params)
        back, status_back, _ = cv2.calcOpticalFlowPyrLK(gray[frame], gray[previous], moved, None, **params)
        fb = np.linalg.norm((back - current).reshape(-1, 2), axis=1)
        xy = moved.reshape(-1, 2)
        keep = (status.reshape(-1) == 1) & (status_back.reshape(-1) == 1) & (fb < 0.5)
        keep &= (xy[:, 0] >= 0) & (xy[:, 1] >= 0) & (xy[:, 0] <= w - 1) & (xy[:, 1] <= h - 1)
        if ignore is not None and keep.any():
            cols = np.clip(np.round(xy[:, 0]).astype(int), 0, w - 1)
            rows = np.clip(np.round(xy[:, 1]).astype(int), 0, h - 1)
            keep &= ~ignore[frame][rows, cols]
        if keep.sum() < 8:
            return
        current = moved[keep]
        pts = pts[keep]
        previous = frame
        yield frame, current.reshape(-1, 2).astype(np.float64) + 0.5, pts


def _loop_candidates(images: np.ndarray, names: list[str], *, min_distance: int, per_image: int = 1) -> list[tuple[str, str]]:
    """Keyframe pairs far apart in time whose thumbnails look alike (a cheap place recognition).

    Thumbnails are 32×24 grey, zero-mean and unit-norm; pairs above a normalised
    correlation of 0.85 are kept, the best ``per_image`` for each keyframe.
    """
    import cv2

    n = len(names)
    if n <= min_distance:
        return []
    thumbs = np.stack(
        [cv2.resize(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), (32, 24), interpolation=cv2.INTER_AREA).astype(np.float64).ravel() for img in images]
    )
    thumbs -= thumbs.mean(axis=1, keepdims=True)
    thumbs /= np.linalg.norm(thumbs, axis=1, keepdims=True) + 1e-9
    similarity = thumbs @ thumbs.T
    index = np.arange(n)
    similarity[np.abs(index[:, None] - index[None, :]) < min_distance] = -1.0
    pairs: set[tuple[int, int]] = set()
    for i in range(n):
        for j in np.argsort(-similarity[i])[:per_image]:
            if similarity[i, j] > 0.85:
                pairs.add((min(i, int(j)), max(i, int(j))))
    return [(names[a], names[b]) for a, b in sorted(pairs)]
