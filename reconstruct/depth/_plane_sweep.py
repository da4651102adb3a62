"""Plane-sweep multi-view stereo, the default depth backend: its config and the estimator driver.

The default backend needs no model weights and runs on a CPU (torch, on CUDA when there
is one). Per reference frame it picks a few source views with a useful triangulation
angle, sweeps fronto-parallel planes over the depth range of the sparse points that
frame sees, scores them with a windowed ZNCC aggregated over the best source views
(occlusion robust), filters the cost volume edge-aware, and refines the winner
coarse-to-fine up to the working resolution. Depth is z-depth in scene units along the
camera's +Z, 0 where no depth was found, with a confidence in [0, 1].
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from sceneforge.scenegraph import CameraTrack, DepthMap, Frames, InputError, Intrinsics, invert_rigid

from .._progress import ProgressFn
from .._threads import idle_cores, torch_threads
from ._cost import Level, make_source, refine, sweep, upsample
from ._source_views import select_sources, visible_points

if TYPE_CHECKING:
    import torch

__all__ = ["PlaneSweepConfig", "PlaneSweepStereo"]

log = logging.getLogger(__name__)

_MIN_POINTS = 12
_MIN_PLANES = 12


@dataclass(frozen=True)
class PlaneSweepConfig:
    """Plane-sweep multi-view stereo: the default depth backend (no weights, CPU or CUDA).

    Per reference frame: source views with a useful triangulation angle at the sparse points
    it sees; at the coarsest level a sweep of fronto-parallel planes (uniform in inverse depth
    over the robust depth range of those points) scored by windowed ZNCC, averaged over the best
    ``best_k`` views per plane, filtered with a guided filter, winner-take-all with a
    parabolic sub-plane fit; then at each finer level an edge-aware (joint bilateral)
    upsampling and a local sweep around it. Confidence = the softmin probability mass of the
    coarse winner (a sharp, unique minimum → near 1) × the square root of the winning ZNCC
    at every finer level.
    """

    frame_independent: ClassVar[bool] = True
    """Each frame's depth depends on the frames and cameras only, not on which other frames are
    computed in the same call: frame ranges may run on separate workers (``engine.executors``)."""

    max_size_px: int = 640
    """Long side of the finest working resolution; larger frames are computed at this size and
    their depth is upsampled edge-aware to the frame's own size."""
    coarse_size_px: int = 160
    """Long side of the coarsest pyramid level, where the full plane sweep runs; the finer
    levels only refine each pixel's depth locally."""
    num_planes: int = 64
    """At most this many fronto-parallel planes swept at the coarsest level, uniform in inverse depth."""
    plane_spacing_px: float = 0.5
    """Planes are spaced so that neighbouring ones move the widest-baseline source's sample by
    about this many pixels of the coarsest level (bounded by 12 and ``num_planes`` planes)."""
    num_sources: int = 5
    """Source views compared with each reference frame."""
    best_k: int = 3
    """Matching cost per pixel = mean over the best this-many source views (occlusion robust)."""
    target_angle_deg: float = 2.0
    """Triangulation angle (at the sparse points) that source-view selection prefers, degrees."""
    min_angle_deg: float = 0.5
    """Source views whose median triangulation angle is below this are not used, degrees."""
    window_radius_px: int = 2
    """ZNCC window radius in pixels (2 → 5×5)."""
    filter_radius_px: int = 4
    """Radius of the guided filter that aggregates the cost slices edge-aware, in pixels."""
    filter_eps: float = 1e-3
    """Guided-filter regulariser on grey values in [0, 1]: smaller keeps more edges."""
    refine_steps: int = 2
    """Depth hypotheses each side of the upsampled estimate at every finer level."""
    depth_percentiles: tuple[float, float] = (2.0, 98.0)
    """Percentiles of the sparse points' depths in a frame that bound its sweep."""
    depth_margin: float = 1.25
    """The sweep runs from the low percentile / margin to the high percentile × margin."""
    depth_range: tuple[float, float] | None = None
    """Fixed ``(near, far)`` sweep range in scene units for every frame, instead of the sparse points."""
    min_confidence: float = 0.15
    """Pixels whose confidence is below this get no depth (0)."""
    device: str | None = None
    """torch device (``"cpu"``, ``"cuda"``); ``None`` picks CUDA when available."""
    num_threads: int | None = None
    """CPU threads for torch and OpenCV while a frame is computed. ``None``: the cores this process
    may use that are idle when the run starts (by the 1-minute load average), at least one —
    torch's threads meet at every operation, so one busy core stalls them all (measured on a
    2-core machine beside another job: 2 threads 4× slower than 1)."""
    cache_views: int = 48
    """Prepared (undistorted, downscaled) views kept in memory for reuse as sources."""

    def __post_init__(self) -> None:
        for name in ("max_size_px", "coarse_size_px", "num_planes", "num_sources", "best_k", "cache_views"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        if self.coarse_size_px > self.max_size_px:
            raise InputError(
                f"coarse_size_px must be ≤ max_size_px ({self.max_size_px}), got {self.coarse_size_px}"
            )
        if self.num_planes < _MIN_PLANES:
            raise InputError(f"num_planes must be ≥ {_MIN_PLANES}, got {self.num_planes}")
        if not self.plane_spacing_px > 0:
            raise InputError(f"plane_spacing_px must be positive, got {self.plane_spacing_px}")
        if self.best_k > self.num_sources:
            raise InputError(f"best_k must be ≤ num_sources ({self.num_sources}), got {self.best_k}")
        if self.window_radius_px < 1 or self.filter_radius_px < 0 or self.refine_steps < 1:
            raise InputError(
                "window_radius_px and refine_steps must be ≥ 1 and filter_radius_px ≥ 0, got "
                f"{self.window_radius_px}, {self.refine_steps}, {self.filter_radius_px}"
            )
        if not (0 < self.min_angle_deg < self.target_angle_deg < 90):
            raise InputError(
                "angles must satisfy 0 < min_angle_deg < target_angle_deg < 90, got "
                f"{self.min_angle_deg}, {self.target_angle_deg}"
            )
        lo, hi = self.depth_percentiles
        if not (0 <= lo < hi <= 100):
            raise InputError(f"depth_percentiles must be 0 ≤ low < high ≤ 100, got {self.depth_percentiles}")
        if not self.depth_margin >= 1:
            raise InputError(f"depth_margin must be ≥ 1, got {self.depth_margin}")
        if self.depth_range is not None:
            near, far = self.depth_range
            if not (np.isfinite(near) and np.isfinite(far) and 0 < near < far):
                raise InputError(f"depth_range must be (near, far) with 0 < near < far, got {self.depth_range}")
        if not (0 <= self.min_confidence < 1) or not self.filter_eps > 0:
            raise InputError(
                f"min_confidence must be in [0, 1) and filter_eps > 0, got {self.min_confidence}, {self.filter_eps}"
            )
        if self.num_threads is not None and self.num_threads < 1:
            raise InputError(f"num_threads must be ≥ 1, got {self.num_threads}")

    def build(self) -> PlaneSweepStereo:
        """The backend this configuration describes."""
        return PlaneSweepStereo(self)


# -- depth range ----------------------------------------------------------------------------


def _depth_range(
    track: CameraTrack, index: int, visible: np.ndarray, config: PlaneSweepConfig, fallback: tuple[float, float] | None
) -> tuple[float, float] | None:
    if config.depth_range is not None:
        return config.depth_range
    if len(visible) < _MIN_POINTS:
        return fallback
    cam_from_world = invert_rigid(track.world_from_cam[index])
    z = visible @ cam_from_world[2, :3] + cam_from_world[2, 3]
    lo, hi = np.percentile(z, config.depth_percentiles)
    return float(lo / config.depth_margin), float(hi * config.depth_margin)


# -- the backend -----------------------------------------------------------------------------


@dataclass
class _View:
    levels: list[torch.Tensor]  # grey per level, finest first, h×w float32 in [0, 1]
    ks: list[np.ndarray]  # K per level (pinhole, after undistortion)
    gray_full: np.ndarray  # grey at the frame's size (undistorted), for the final upsampling
    valid_full: np.ndarray | None  # H×W bool: pixels the undistortion could fill (None: all)


class PlaneSweepStereo:
    """Plane-sweep multi-view stereo (see :class:`PlaneSweepConfig`); implements :class:`DepthEstimator`."""

    def __init__(self, config: PlaneSweepConfig) -> None:
        self.config = config

    # public ------------------------------------------------------------------------------

    def estimate(
        self,
        frames: Frames,
        track: CameraTrack,
        *,
        indices: Sequence[int] | None = None,
        progress: ProgressFn | None = None,
    ) -> Iterator[tuple[int, DepthMap]]:
        """Depth for each requested frame, yielded as ``(index, DepthMap)`` as it is finished.

        See :meth:`DepthEstimator.estimate`. Frames whose lens has radial distortion are
        undistorted to the pinhole ``K`` first; the depth comes back on the frame's own
        (distorted) pixel grid. A frame with no usable source view (a camera that does
        not move, a pan) gets an all-zero depth and a logged warning.
        """
        order = _check_inputs(frames, track, indices)
        if self.config.depth_range is None and len(track.points) < _MIN_POINTS:
            raise InputError(
                f"depth range comes from the track's sparse points, got {len(track.points)}; "
                "pass PlaneSweepConfig(depth_range=(near, far)) or a track from a camera solve"
            )
        return self._run(frames, track, order, progress)

    # internals ---------------------------------------------------------------------------

    def _run(
        self, frames: Frames, track: CameraTrack, order: list[int], progress: ProgressFn | None
    ) -> Iterator[tuple[int, DepthMap]]:
        import torch

        cfg = self.config
        device = torch.device(cfg.device or ("cuda" if torch.cuda.is_available() else "cpu"))
        threads = cfg.num_threads or idle_cores()
        log.info("%s on %s with %d CPU thread(s)", type(self).__name__, device, threads)
        cache: OrderedDict[int, _View] = OrderedDict()
        maps: dict[Intrinsics, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        fallback = self._global_range(track)
        for done, index in enumerate(order):
            start = time.perf_counter()
            with torch_threads(threads), torch.inference_mode():
                depth, confidence = self._frame(frames, track, index, cache, maps, device, fallback)
            result = DepthMap(depth=depth, confidence=confidence, frame_number=int(frames.frame_numbers[index]))
            log.debug("depth frame %d: %.2f s, coverage %.3f", index, time.perf_counter() - start, result.coverage)
            if progress:
                progress("depth", done + 1, len(order))
            yield index, result

    def _global_range(self, track: CameraTrack) -> tuple[float, float] | None:
        """Sweep range for frames that see too few points: the percentiles over every frame."""
        if self.config.depth_range is not None or len(track.points) == 0:
            return self.config.depth_range
        cam_from_world = invert_rigid(track.world_from_cam)
        points = track.points.points_in_world
        points = points[np.linspace(0, len(points) - 1, min(len(points), 4000)).astype(np.int64)]
        z = np.einsum("na,pa->np", cam_from_world[:, 2, :3], points) + cam_from_world[:, 2, 3:4]
        z = z[z > 0]
        if len(z) < _MIN_POINTS:
            return None
        lo, hi = np.percentile(z, self.config.depth_percentiles)
        return float(lo / self.config.depth_margin), float(hi * self.config.depth_margin)

    def _view(self, frames: Frames, track: CameraTrack, index: int, cache: OrderedDict, maps: dict, device: Any) -> _View:
        import cv2
        import torch

        if index in cache:
            cache.move_to_end(index)
            return cache[index]
        intr = track.intrinsics[index]
        gray = cv2.cvtColor(frames.images[index], cv2.COLOR_RGB2GRAY).astype(np.float32) * np.float32(1.0 / 255.0)
        valid_full = None
        if intr.has_distortion:
            map_x, map_y, filled = _undistort_maps(intr, maps)
            gray = cv2.remap(gray, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            valid_full = filled
        sizes = _pyramid_sizes(intr.width, intr.height, self.config.max_size_px, self.config.coarse_size_px)
        levels, ks = [], []
        for w, h in sizes:
            img = gray if (w, h) == (intr.width, intr.height) else cv2.resize(gray, (w, h), interpolation=cv2.INTER_AREA)
            levels.append(torch.from_numpy(np.ascontiguousarray(img)).to(device))
            ks.append(np.diag([w / intr.width, h / intr.height, 1.0]) @ intr.K)
        view = _View(levels=levels, ks=ks, gray_full=gray, valid_full=valid_full)
        cache[index] = view
        while len(cache) > self.config.cache_views:
            cache.popitem(last=False)
        return view

    def _frame(
        self,
        frames: Frames,
        track: CameraTrack,
        index: int,
        cache: OrderedDict,
        maps: dict,
        device: Any,
        fallback: tuple[float, float] | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        import torch

        cfg = self.config
        intr = track.intrinsics[index]
        empty = np.zeros((intr.height, intr.width), np.float32)
        visible = visible_points(track, index)
        z_range = _depth_range(track, index, visible, cfg, fallback)
        if z_range is None:
            log.warning("frame %d: no sparse points to bound the depth sweep; no depth", index)
            return empty, empty.copy()
        if len(visible) < _MIN_POINTS:
            visible = _points_on_range(track, index, z_range)
        sources = select_sources(
            track, index, visible, count=cfg.num_sources,
            target_angle_rad=np.radians(cfg.target_angle_deg), min_angle_rad=np.radians(cfg.min_angle_deg),
        )
        if not sources:
            log.warning("frame %d: no source view with enough parallax (static camera or pan); no depth", index)
            return empty, empty.copy()
        ref = self._view(frames, track, index, cache, maps, device)
        srcs = [self._view(frames, track, j, cache, maps, device) for j in sources]
        cam_from_world = invert_rigid(track.world_from_cam)
        src_from_ref = [cam_from_world[j] @ track.world_from_cam[index] for j in sources]
        rho, conf = self._solve(ref, srcs, src_from_ref, z_range)
        conf = torch.where(rho > 0, conf, torch.zeros_like(conf))
        if (intr.width, intr.height) != tuple(ref.levels[0].shape[::-1]):
            full = torch.from_numpy(ref.gray_full).to(device)
            rho, conf = upsample(rho, conf, ref.levels[0], full)
        keep = (rho > 0) & (conf >= cfg.min_confidence)
        depth = torch.where(keep, 1.0 / rho.clamp_min(1e-12), torch.zeros_like(rho)).cpu().numpy().astype(np.float32)
        confidence = torch.where(keep, conf, torch.zeros_like(conf)).clamp_(0, 1).cpu().numpy().astype(np.float32)
        if intr.has_distortion:
            depth, confidence = _redistort(depth, confidence, ref.valid_full, intr, maps)
        return depth, confidence

    def _solve(
        self, ref: _View, srcs: list[_View], src_from_ref: list[np.ndarray], z_range: tuple[float, float]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Inverse depth (0 = none) and confidence at the finest working level: the full sweep
        at the coarsest level, then edge-aware upsampling and a local sweep at each finer one."""
        cfg = self.config
        best_k = min(cfg.best_k, len(srcs))
        rho_lo, rho_hi = 1.0 / z_range[1], 1.0 / z_range[0]
        n_levels = len(ref.levels)
        num_planes, step = self._planes(ref, srcs, src_from_ref, rho_lo, rho_hi)
        rho = conf = None
        for li in range(n_levels - 1, -1, -1):
            level, source = self._level(ref, srcs, src_from_ref, li)
            if rho is None:
                rho, conf = sweep(level, source, rho_lo, rho_hi, num_planes, best_k)
            else:
                rho, conf = upsample(rho, conf, ref.levels[li + 1], level.gray)
                step *= 0.5
                rho, conf = refine(level, source, rho, conf, step, cfg.refine_steps, best_k, rho_lo, rho_hi)
        return rho, conf

    def _planes(
        self, ref: _View, srcs: list[_View], src_from_ref: list[np.ndarray], rho_lo: float, rho_hi: float
    ) -> tuple[int, float]:
        """Planes of the coarsest sweep and their spacing in inverse depth."""
        coarse = len(ref.levels) - 1
        shift_px = _disparity_span(
            ref.ks[coarse], [v.ks[coarse] for v in srcs], src_from_ref, rho_lo, rho_hi, ref.levels[coarse].shape
        )
        num_planes = int(np.clip(np.ceil(shift_px / self.config.plane_spacing_px) + 1, _MIN_PLANES, self.config.num_planes))
        return num_planes, (rho_hi - rho_lo) / (num_planes - 1)

    def _level(self, ref: _View, srcs: list[_View], src_from_ref: list[np.ndarray], li: int) -> tuple[Level, Any]:
        """The reference's pyramid level ``li`` and its sources mapped for warping."""
        cfg = self.config
        level = Level(ref.levels[li], ref.ks[li], cfg.window_radius_px, cfg.filter_radius_px, cfg.filter_eps)
        return level, make_source(level, [v.levels[li] for v in srcs], [v.ks[li] for v in srcs], src_from_ref)


def _disparity_span(
    k_ref: np.ndarray, ks: list[np.ndarray], src_from_ref: list[np.ndarray], rho_lo: float, rho_hi: float, shape: tuple[int, int]
) -> float:
    """Most pixels any source's sample moves between the near and the far end of the sweep,
    over a 3×3 grid of reference pixels."""
    h, w = shape
    u, v = np.meshgrid([0.1 * w, 0.5 * w, 0.9 * w], [0.1 * h, 0.5 * h, 0.9 * h])
    rays = np.linalg.solve(k_ref, np.stack([u.ravel(), v.ravel(), np.ones(9)]))  # 3×9, z = 1
    span = 0.0
    for k, t in zip(ks, src_from_ref):
        ends = []
        for rho in (rho_lo, rho_hi):
            q = k @ (t[:3, :3] @ rays + rho * t[:3, 3:4])  # homogeneous, scaled by ρ
            ends.append(q[:2] / np.where(q[2] > 1e-9, q[2], np.nan))
        moved = np.linalg.norm(ends[1] - ends[0], axis=0)
        if np.any(np.isfinite(moved)):
            span = max(span, float(np.nanmax(moved)))
    return span


def _pyramid_sizes(width: int, height: int, max_size: int, coarse_size: int) -> list[tuple[int, int]]:
    """(w, h) per level, finest first: the finest has long side ≤ ``max_size``, each next one
    half the previous, down to a long side ≤ ``coarse_size``."""
    scale = min(1.0, max_size / max(width, height))
    sizes = [(max(1, round(width * scale)), max(1, round(height * scale)))]
    while max(sizes[-1]) > coarse_size and min(sizes[-1]) >= 16:
        w, h = sizes[-1]
        sizes.append((max(1, round(w / 2)), max(1, round(h / 2))))
    return sizes


def _points_on_range(track: CameraTrack, index: int, z_range: tuple[float, float]) -> np.ndarray:
    """Stand-in points (world) for view selection when a frame sees too few sparse points:
    a 5×5 grid of its pixels at the middle of the sweep range."""
    intr = track.intrinsics[index]
    u, v = np.meshgrid(np.linspace(0.1, 0.9, 5) * intr.width, np.linspace(0.1, 0.9, 5) * intr.height)
    z = np.sqrt(z_range[0] * z_range[1])
    in_cam = intr.unproject(np.stack([u.ravel(), v.ravel()], 1), np.full(25, z))
    return in_cam @ track.world_from_cam[index, :3, :3].T + track.world_from_cam[index, :3, 3]


def _undistort_maps(intr: Intrinsics, maps: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """cv2.remap maps from the pinhole image to the distorted frame (OpenCV index coordinates,
    pixel centres at integers) and the pinhole pixels that land inside the frame."""
    if intr not in maps:
        v, u = np.mgrid[0 : intr.height, 0 : intr.width].astype(np.float64) + 0.5
        rays = np.linalg.solve(intr.K, np.stack([u.ravel(), v.ravel(), np.ones(u.size)]))
        distorted = intr.project(rays.T)
        map_x = (distorted[:, 0] - 0.5).reshape(u.shape).astype(np.float32)
        map_y = (distorted[:, 1] - 0.5).reshape(u.shape).astype(np.float32)
        filled = (map_x >= -0.5) & (map_x <= intr.width - 0.5) & (map_y >= -0.5) & (map_y <= intr.height - 0.5)
        maps[intr] = (map_x, map_y, filled)
    return maps[intr]


def _redistort(
    depth: np.ndarray, confidence: np.ndarray, filled: np.ndarray | None, intr: Intrinsics, maps: dict
) -> tuple[np.ndarray, np.ndarray]:
    """Carry a depth map from the pinhole (undistorted) grid back to the frame's own pixels.

    z-depth belongs to the 3D point, not the pixel, so only the pixel positions move; nearest
    sampling keeps depth edges from blending.
    """
    import cv2

    key = ("back", intr)
    if key not in maps:
        v, u = np.mgrid[0 : intr.height, 0 : intr.width].astype(np.float64) + 0.5
        rays = intr.unproject(np.stack([u.ravel(), v.ravel()], 1), np.ones(u.size))
        pinhole = rays @ intr.K.T
        maps[key] = (
            (pinhole[:, 0] - 0.5).reshape(u.shape).astype(np.float32),
            (pinhole[:, 1] - 0.5).reshape(u.shape).astype(np.float32),
        )
    map_x, map_y = maps[key]
    if filled is not None:
        depth = np.where(filled, depth, 0).astype(np.float32)
    d = cv2.remap(depth, map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    c = cv2.remap(confidence, map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return d, np.where(d > 0, c, 0).astype(np.float32)


def _check_inputs(frames: Frames, track: CameraTrack, indices: Sequence[int] | None) -> list[int]:
    if not isinstance(frames, Frames):
        raise InputError(f"frames must be Frames, got {type(frames).__name__}; read them with read_frames")
    if not isinstance(track, CameraTrack):
        raise InputError(f"track must be a CameraTrack, got {type(track).__name__}; solve the camera first")
    if len(frames) != len(track):
        raise InputError(f"frames and track must have one entry per frame, got {len(frames)} frames and {len(track)} cameras")
    if not np.array_equal(frames.frame_numbers, track.frame_numbers):
        raise InputError("frames and track have different frame numbers; pass the frames the track was solved on")
    for i, intr in enumerate(track.intrinsics):
        if (intr.width, intr.height) != (frames.width, frames.height):
            raise InputError(
                f"frames are {frames.width}×{frames.height} but camera {i} is {intr.width}×{intr.height}; "
                "pass the frames at the resolution the track was solved on (or rescale the intrinsics)"
            )
    if indices is None:
        return list(range(len(frames)))
    order = [int(i) for i in indices]
    bad = [i for i in order if not 0 <= i < len(frames)]
    if bad:
        raise InputError(f"indices must be in 0..{len(frames) - 1}, got {bad[:5]}")
    return order
