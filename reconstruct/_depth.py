"""Dense depth for every frame: the depth-estimator protocol, the default plane-sweep
multi-view stereo backend, and the multi-view geometric consistency filter.

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
import os
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from sceneforge.scenegraph import CameraTrack, DepthMap, Frames, InputError, Intrinsics, invert_rigid

from ._frames import ProgressFn

if TYPE_CHECKING:
    import torch

__all__ = ["DepthEstimator", "PlaneSweepConfig", "PlaneSweepStereo", "filter_consistent"]

log = logging.getLogger(__name__)

# Cost of a source sample that falls outside the source image: a little worse than an
# uncorrelated window (cost 1), so a view that sees the pixel always wins the best-k choice.
_INVALID_COST = 1.25
# Variance floor of a ZNCC window (intensities in [0, 1]): about 3 grey levels of noise, so
# flat windows score near 0 instead of amplifying noise to ±1.
_NCC_EPS = 1e-4
_MIN_POINTS = 12
_MIN_PLANES = 12


class DepthEstimator(Protocol):
    """A dense-depth backend: frames and their cameras in, one :class:`DepthMap` per frame out."""

    def estimate(
        self,
        frames: Frames,
        track: CameraTrack,
        *,
        indices: Sequence[int] | None = None,
        progress: ProgressFn | None = None,
    ) -> Iterator[tuple[int, DepthMap]]:
        """Estimate depth for the requested frames, yielding each as soon as it is finished.

        Args:
            frames: N×H×W×3 uint8 RGB frames, the ones ``track`` was solved on.
            track: one camera per frame (``world_from_cam``, intrinsics at the frames' size)
                and the sparse points of the solve.
            indices: frame indices (0-based positions in ``frames``) to compute, in this
                order; ``None`` for every frame.
            progress: optional ``progress(stage, done, total)`` callback.

        Yields:
            ``(index, depth)`` with an H×W :class:`DepthMap` on the frame's own pixel grid
            (z-depth in scene units, 0 = none; confidence in [0, 1]).

        Raises:
            InputError: frames and track that do not belong together, or bad indices
                (raised when called, before any frame is computed).
        """
        ...


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


# -- source views and depth range ------------------------------------------------------------


def _visible_points(track: CameraTrack, index: int) -> np.ndarray:
    """The sparse points (M×3, world) that project inside frame ``index`` in front of it."""
    points = track.points.points_in_world
    if len(points) == 0:
        return points
    cam_from_world = invert_rigid(track.world_from_cam[index])
    in_cam = points @ cam_from_world[:3, :3].T + cam_from_world[:3, 3]
    intr = track.intrinsics[index]
    front = in_cam[:, 2] > 1e-9
    uv = np.full((len(points), 2), -1.0)
    uv[front] = intr.project(in_cam[front])
    inside = front & (uv[:, 0] >= 0) & (uv[:, 0] < intr.width) & (uv[:, 1] >= 0) & (uv[:, 1] < intr.height)
    return points[inside]


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


def _select_sources(
    track: CameraTrack,
    index: int,
    visible: np.ndarray,
    *,
    count: int,
    target_angle_rad: float,
    min_angle_rad: float,
    candidates: Sequence[int] | None = None,
) -> list[int]:
    """Pick up to ``count`` source frames for reference ``index``.

    Each candidate scores the points the reference sees (``visible``, M×3 world) that also
    project into it, weighted by how close their triangulation angle is to the target
    (the piecewise Gaussian of Yao et al., MVSNet 2018). Views are picked greedily, each
    point's weight shrinking as picked views cover it, and a candidate whose centre nearly
    coincides with one already picked is skipped, so the views spread out.
    """
    n = len(track)
    pool = np.array([j for j in (range(n) if candidates is None else candidates) if j != index], dtype=np.int64)
    if len(pool) == 0 or len(visible) == 0:
        return []
    if len(visible) > 400:
        visible = visible[np.linspace(0, len(visible) - 1, 400).astype(np.int64)]
    centres = track.world_from_cam[:, :3, 3]
    to_ref = centres[index] - visible
    to_ref /= np.linalg.norm(to_ref, axis=1, keepdims=True)
    cam_from_world = invert_rigid(track.world_from_cam[pool])
    in_cam = np.einsum("jab,pb->jpa", cam_from_world[:, :3, :3], visible) + cam_from_world[:, None, :3, 3]
    ks = np.stack([track.intrinsics[j].K for j in pool])
    z = in_cam[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = ks[:, None, 0, 0] * in_cam[..., 0] / z + ks[:, None, 0, 2]
        v = ks[:, None, 1, 1] * in_cam[..., 1] / z + ks[:, None, 1, 2]
    widths = np.array([track.intrinsics[j].width for j in pool])[:, None]
    heights = np.array([track.intrinsics[j].height for j in pool])[:, None]
    seen = (z > 0) & (u >= 0) & (u < widths) & (v >= 0) & (v < heights)
    to_src = centres[pool][:, None, :] - visible[None]
    to_src /= np.maximum(np.linalg.norm(to_src, axis=2, keepdims=True), 1e-12)
    angle = np.arccos(np.clip(np.einsum("jpa,pa->jp", to_src, to_ref), -1.0, 1.0))
    sigma = np.where(angle <= target_angle_rad, np.radians(1.0), np.radians(10.0))
    gain = np.exp(-((angle - target_angle_rad) ** 2) / (2 * sigma**2)) * seen
    ranked = np.sort(np.where(seen, angle, np.inf), axis=1)
    count_seen = seen.sum(1)
    median_angle = np.where(count_seen > 0, ranked[np.arange(len(pool)), np.maximum(count_seen - 1, 0) // 2], 0.0)
    useful = (median_angle >= min_angle_rad) & (seen.mean(1) >= 0.1)
    picked: list[int] = []
    cover = np.zeros(len(visible))
    available = useful.copy()
    while len(picked) < count and available.any():
        # Points already seen by picked views count less, so that the periphery a forward
        # move loses gets a view from behind.
        score = np.where(available, gain @ (1.0 / (1.0 + cover)), -1.0)
        j = int(np.argmax(score))
        if score[j] <= 0:
            break
        available[j] = False
        c = centres[pool[j]]
        baseline = np.linalg.norm(c - centres[index])
        if all(np.linalg.norm(c - centres[k]) >= 0.25 * min(baseline, np.linalg.norm(centres[k] - centres[index])) for k in picked):
            picked.append(int(pool[j]))
            cover += seen[j]
    return picked


# -- torch building blocks -------------------------------------------------------------------


def _box(x: torch.Tensor, r: int) -> torch.Tensor:
    """Window mean over (2r+1)² of each H_p×W slice of ``x`` (…×H_p×W) whose first and last
    ``r`` rows are padding; returns …×(H_p−2r)×W. Columns are replicate-padded."""
    import torch

    *lead, hp, w = x.shape
    if x.device.type == "cpu":
        import cv2

        # OpenCV's running-sum box filter is ~15× faster than torch's avg_pool2d on a CPU; the
        # slices are stacked into one tall image, which is why each carries its own padding rows.
        flat = x.reshape(-1, w)
        if not flat.is_contiguous():
            flat = flat.contiguous()
        out = cv2.blur(flat.numpy(), (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REPLICATE)
        return torch.from_numpy(out).reshape(*lead, hp, w)[..., r : hp - r, :]
    return _box_torch(x, r)


def _box_torch(x: torch.Tensor, r: int) -> torch.Tensor:
    import torch.nn.functional as F

    *lead, hp, w = x.shape
    flat = x.reshape(-1, 1, hp, w)
    flat = F.pad(flat, (r, r, 0, 0), mode="replicate")
    out = F.avg_pool2d(flat, 2 * r + 1, stride=1)
    return out.reshape(*lead, hp - 2 * r, w)


def _box_same(x: torch.Tensor, r: int) -> torch.Tensor:
    """Window mean over (2r+1)² of each H×W slice of ``x`` (…×H×W), replicate borders."""
    import torch

    if x.device.type != "cpu":
        return _box_torch(_pad_rows(x, r), r)
    import cv2

    src = x.contiguous()
    out = torch.empty_like(src)
    a, o = src.reshape(-1, *src.shape[-2:]).numpy(), out.reshape(-1, *src.shape[-2:]).numpy()
    for i in range(a.shape[0]):
        cv2.blur(a[i], (2 * r + 1, 2 * r + 1), dst=o[i], borderType=cv2.BORDER_REPLICATE)
    return out


def _pad_rows(x: torch.Tensor, r: int) -> torch.Tensor:
    """Replicate the first and last rows ``r`` times (…×H×W → …×(H+2r)×W)."""
    import torch

    if r == 0:
        return x
    lead = x.shape[:-2]
    return torch.cat([x[..., :1, :].expand(*lead, r, x.shape[-1]), x, x[..., -1:, :].expand(*lead, r, x.shape[-1])], dim=-2)


class _Level:
    """One pyramid level of the reference frame: grey image and what its filters reuse."""

    def __init__(self, gray: torch.Tensor, k: np.ndarray, window_r: int, filter_r: int, filter_eps: float) -> None:
        import torch

        self.gray = gray
        self.height, self.width = gray.shape
        self.k = k
        self.window_r = window_r
        self.filter_r = filter_r
        self.filter_eps = filter_eps
        self.gray_pad = _pad_rows(gray, window_r)
        self.mean = _box_same(gray, window_r)
        self.var = (_box_same(gray * gray, window_r) - self.mean * self.mean).clamp_min_(0)
        rows = torch.arange(-window_r, self.height + window_r, device=gray.device).clamp(0, self.height - 1)
        cols = torch.arange(self.width, device=gray.device, dtype=torch.float32)
        v, u = torch.meshgrid(rows.to(torch.float32) + 0.5, cols + 0.5, indexing="ij")
        self.pixels_pad = torch.stack([u, v, torch.ones_like(u)])  # 3×H_p×W homogeneous pixel centres
        if filter_r > 0:
            self.gf_mean = _box_same(gray, filter_r)
            self.gf_var = (_box_same(gray * gray, filter_r) - self.gf_mean * self.gf_mean).clamp_min_(0)

    def guided_filter(self, p: torch.Tensor) -> torch.Tensor:
        """Edge-aware smoothing of each M×H×W slice guided by the grey image (He et al. 2010)."""
        r = self.filter_r
        if r == 0:
            return p
        mean_p = _box_same(p, r)
        corr = _box_same(p * self.gray, r)
        a = corr.sub_(self.gf_mean * mean_p).div_(self.gf_var + self.filter_eps)
        b = mean_p.sub_(a * self.gf_mean)
        return _box_same(a, r).mul_(self.gray).add_(_box_same(b, r))


@dataclass
class _Source:
    """The source views at one level, with the reference's padded pixels already mapped.

    A reference pixel p at inverse z-depth ρ lands at ``A p + ρ b`` (homogeneous) in a source
    with ``A = K_s R_sr K_r⁻¹`` and ``b = K_s t_sr``: the fronto-parallel plane homography.
    The first two rows of both are premultiplied so that the ratios come out directly as
    grid_sample's normalised coordinates.
    """

    images: torch.Tensor  # S×1×h×w grey
    ap: torch.Tensor  # S×3×H_p×W: A p for the reference's padded pixel grid
    b: torch.Tensor  # S×3


def _make_source(level: _Level, images: list, ks: list[np.ndarray], src_from_ref: list[np.ndarray]) -> _Source:
    import torch

    k_ref_inv = np.linalg.inv(level.k)
    hs, ws = images[0].shape
    # normalised x = 2u/w − 1 = (2/w · q0 − q2) / q2, likewise y: fold that into the rows
    to_grid = np.array([[2.0 / ws, 0.0, -1.0], [0.0, 2.0 / hs, -1.0], [0.0, 0.0, 1.0]])
    a = np.stack([to_grid @ k @ t[:3, :3] @ k_ref_inv for k, t in zip(ks, src_from_ref)])
    b = np.stack([to_grid @ k @ t[:3, 3] for k, t in zip(ks, src_from_ref)])
    dev = level.gray.device
    a_t = torch.from_numpy(a).to(device=dev, dtype=torch.float32)
    return _Source(
        images=torch.stack(images)[:, None],
        ap=torch.einsum("sij,jhw->sihw", a_t, level.pixels_pad).contiguous(),
        b=torch.from_numpy(b).to(device=dev, dtype=torch.float32),
    )


def _warp(level: _Level, src: _Source, inv_depth: torch.Tensor, valid_at: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample every source at the reference's padded pixels lifted to ``inv_depth``.

    ``inv_depth`` is M (planes) or M×H_p×W (per pixel). Returns warped S×M×H_p×W and a
    bool validity (the sample lies inside the source, in front of it), S×M×H×W, or
    S×1×H×W taken at hypothesis ``valid_at`` only (hypotheses a fraction of a pixel apart
    leave the image together; this saves a pass over the volume).
    """
    import torch
    import torch.nn.functional as F

    s = src.images.shape[0]
    rho = (inv_depth[:, None, None] if inv_depth.ndim == 1 else inv_depth)[None]
    m, hp, w = rho.shape[1], src.ap.shape[-2], src.ap.shape[-1]
    b = src.b[:, :, None, None, None]
    ap = src.ap[:, :, None]
    grid = torch.empty((s, m, hp, w, 2), device=rho.device, dtype=torch.float32)
    z = torch.addcmul(ap[:, 2], rho, b[:, 2])
    inv_z = z.reciprocal()
    gx, gy = grid[..., 0], grid[..., 1]
    torch.addcmul(ap[:, 0], rho, b[:, 0], out=gx).mul_(inv_z)
    torch.addcmul(ap[:, 1], rho, b[:, 1], out=gy).mul_(inv_z)
    r = level.window_r
    sel = slice(None) if valid_at is None else slice(valid_at, valid_at + 1)
    gc = grid[:, sel, r : hp - r]
    valid = (gc.abs().amax(-1) <= 1.0) & (z[:, sel, r : hp - r] > 0)
    # Behind the camera the ratio is meaningless; keep such samples finite for grid_sample.
    grid.nan_to_num_(0.0, 2.0, -2.0).clamp_(-2.0, 2.0)
    warped = F.grid_sample(src.images, grid.view(s, m * hp, w, 2), mode="bilinear", padding_mode="border", align_corners=False)
    return warped.view(s, m, hp, w), valid


def _zncc_cost(level: _Level, warped: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """1 − ZNCC over the window, S×M×H×W; invalid samples cost :data:`_INVALID_COST`."""
    r = level.window_r
    mean_w = _box(warped, r)
    mean_ww = _box(warped * warped, r)
    mean_rw = _box(warped.mul_(level.gray_pad), r)
    cov = mean_rw.sub_(mean_w * level.mean)
    var_w = mean_ww.sub_(mean_w.mul_(mean_w)).clamp_min_(0)
    denom = var_w.add_(_NCC_EPS).mul_(level.var + _NCC_EPS).rsqrt_()
    cost = cov.mul_(denom).neg_().add_(1.0)
    return cost.masked_fill_(~valid, _INVALID_COST)


def _winner(cost: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Winner-take-all over M×H×W with a parabolic sub-hypothesis offset in [−½, ½]
    (0 at the ends). Returns index, offset and the winning cost."""
    import torch

    m = cost.shape[0]
    c0, idx = cost.min(0, keepdim=True)
    cm = cost.gather(0, (idx - 1).clamp_(min=0))
    cp = cost.gather(0, (idx + 1).clamp_(max=m - 1))
    denom = cm + cp - 2 * c0
    offset = (0.5 * (cm - cp) / denom.clamp_min(1e-6)).clamp_(-0.5, 0.5)
    interior = (idx > 0) & (idx < m - 1) & (denom > 1e-6)
    offset = torch.where(interior, offset, torch.zeros_like(offset))
    return idx[0], offset[0], c0[0]


def _best_k_mean(cost: torch.Tensor, k: int) -> torch.Tensor:
    """Mean of the ``k`` smallest costs over the source axis (0) of S×M×H×W."""
    if k >= cost.shape[0]:
        return cost.mean(0)
    return cost.topk(k, dim=0, largest=False, sorted=False).values.mean(0)


def _upsample(
    inv_depth: torch.Tensor, confidence: torch.Tensor, gray_coarse: torch.Tensor, gray_fine: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Edge-aware upsampling of inverse depth (0 = none) and confidence to ``gray_fine``'s size.

    Joint bilateral upsampling (Kopf et al. 2007) done as a winner plus a restricted mean:
    each fine pixel weighs the 3×3 coarse pixels around it by distance, grey-level
    similarity and confidence, takes the best one, and averages only the neighbours
    within 4 % of its inverse depth — so depth edges stay sharp and slanted surfaces
    stay smooth.
    """
    import torch
    import torch.nn.functional as F

    hc, wc = inv_depth.shape
    hf, wf = gray_fine.shape
    dev = inv_depth.device
    f32 = torch.float32
    xs = (torch.arange(wf, device=dev, dtype=f32) + 0.5) * (wc / wf)  # coarse pixel units, edges at integers
    ys = (torch.arange(hf, device=dev, dtype=f32) + 0.5) * (hc / hf)
    ix = xs.floor().long().clamp_(0, wc - 1)
    iy = ys.floor().long().clamp_(0, hc - 1)
    # Gaussian of the distance to each of the 3 candidate rows / columns (0 outside the image).
    steps = torch.arange(-1, 2, device=dev)
    cy, cx = iy[None] + steps[:, None], ix[None] + steps[:, None]  # 3×H_f, 3×W_f
    wy = torch.exp(-0.5 * (cy.to(f32) + 0.5 - ys[None]) ** 2) * ((cy >= 0) & (cy < hc))
    wx = torch.exp(-0.5 * (cx.to(f32) + 0.5 - xs[None]) ** 2) * ((cx >= 0) & (cx < wc))
    spatial = (wy[:, None, :, None] * wx[None, :, None, :]).reshape(9, hf, wf)

    def neighbours(t: torch.Tensor) -> torch.Tensor:
        patches = F.unfold(t[None, None], 3, padding=1).view(9, hc, wc)
        return patches[:, iy[:, None], ix[None, :]]  # 9×H_f×W_f

    rho_n = neighbours(inv_depth)
    conf_n = neighbours(confidence)
    weight = neighbours(gray_coarse).sub_(gray_fine).square_().mul_(-1.0 / (2 * 0.06**2)).exp_()
    weight.mul_(spatial).mul_(conf_n + 0.05).mul_(rho_n > 0)
    _, best = weight.max(0, keepdim=True)
    rho_best = rho_n.gather(0, best)
    weight.mul_((rho_n - rho_best).abs_() <= 0.04 * rho_best)
    total = weight.sum(0)
    norm = torch.where(total > 0, total.reciprocal(), torch.zeros_like(total))
    rho = (weight * rho_n).sum(0).mul_(norm)
    conf = (weight * conf_n).sum(0).mul_(norm)
    return rho, conf


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
        threads = cfg.num_threads or _idle_cores()
        log.info("plane-sweep stereo on %s with %d CPU thread(s)", device, threads)
        cache: OrderedDict[int, _View] = OrderedDict()
        maps: dict[Intrinsics, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        fallback = self._global_range(track)
        for done, index in enumerate(order):
            start = time.perf_counter()
            with _threads(threads), torch.inference_mode():
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
        visible = _visible_points(track, index)
        z_range = _depth_range(track, index, visible, cfg, fallback)
        if z_range is None:
            log.warning("frame %d: no sparse points to bound the depth sweep; no depth", index)
            return empty, empty.copy()
        if len(visible) < _MIN_POINTS:
            visible = _points_on_range(track, index, z_range)
        sources = _select_sources(
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
        best_k = min(cfg.best_k, len(sources))

        rho_lo, rho_hi = 1.0 / z_range[1], 1.0 / z_range[0]
        n_levels = len(ref.levels)
        rho = conf = None
        coarse = n_levels - 1
        shift_px = _disparity_span(
            ref.ks[coarse], [v.ks[coarse] for v in srcs], src_from_ref, rho_lo, rho_hi, ref.levels[coarse].shape
        )
        num_planes = int(np.clip(np.ceil(shift_px / cfg.plane_spacing_px) + 1, _MIN_PLANES, cfg.num_planes))
        step = (rho_hi - rho_lo) / (num_planes - 1)
        for li in range(n_levels - 1, -1, -1):
            level = _Level(ref.levels[li], ref.ks[li], cfg.window_radius_px, cfg.filter_radius_px, cfg.filter_eps)
            source = _make_source(level, [v.levels[li] for v in srcs], [v.ks[li] for v in srcs], src_from_ref)
            if rho is None:
                rho, conf = _sweep(level, source, rho_lo, rho_hi, num_planes, best_k)
            else:
                rho, conf = _upsample(rho, conf, ref.levels[li + 1], level.gray)
                step *= 0.5
                rho, conf = _refine(level, source, rho, conf, step, cfg.refine_steps, best_k, rho_lo, rho_hi)
        conf = torch.where(rho > 0, conf, torch.zeros_like(conf))
        if (intr.width, intr.height) != tuple(ref.levels[0].shape[::-1]):
            full = torch.from_numpy(ref.gray_full).to(device)
            rho, conf = _upsample(rho, conf, ref.levels[0], full)
        keep = (rho > 0) & (conf >= cfg.min_confidence)
        depth = torch.where(keep, 1.0 / rho.clamp_min(1e-12), torch.zeros_like(rho)).cpu().numpy().astype(np.float32)
        confidence = torch.where(keep, conf, torch.zeros_like(conf)).clamp_(0, 1).cpu().numpy().astype(np.float32)
        if intr.has_distortion:
            depth, confidence = _redistort(depth, confidence, ref.valid_full, intr, maps)
        return depth, confidence


def _sweep(
    level: _Level, source: _Source, rho_lo: float, rho_hi: float, num_planes: int, best_k: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Full plane sweep: inverse depth (0 = none) and confidence at this level."""
    import torch

    planes = torch.linspace(rho_lo, rho_hi, num_planes, device=level.gray.device, dtype=torch.float32)
    s = source.images.shape[0]
    # Chunks bound the memory: a handful of S×chunk×H×W float32 temporaries at a time.
    chunk = max(1, int(4_000_000 // max(1, s * level.pixels_pad.shape[1] * level.width)))
    slices = []
    for start in range(0, num_planes, chunk):
        warped, valid = _warp(level, source, planes[start : start + chunk])
        slices.append(_best_k_mean(_zncc_cost(level, warped, valid), best_k))
    cost = level.guided_filter(torch.cat(slices))
    idx, offset, c0 = _winner(cost)
    # Confidence: the probability mass at the winner and its two neighbours under a softmin of
    # the cost curve (sharp, unique minimum → near 1; flat or ambiguous → near 3/num_planes).
    prob = torch.softmax(cost * -20.0, dim=0)
    mass = sum(prob.gather(0, (idx[None] + d).clamp(0, num_planes - 1))[0] for d in (-1, 0, 1))
    interior = (idx > 0) & (idx < num_planes - 1) & (c0 < 1.0)
    rho = planes[idx] + offset * (planes[1] - planes[0])
    rho = torch.where(interior, rho, torch.zeros_like(rho))
    return rho, torch.where(interior, mass, torch.zeros_like(mass))


def _refine(
    level: _Level,
    source: _Source,
    rho: torch.Tensor,
    conf: torch.Tensor,
    step: float,
    steps: int,
    best_k: int,
    rho_lo: float,
    rho_hi: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Local sweep of ``2·steps+1`` per-pixel inverse depths around ``rho`` (0 = none stays none)."""
    import torch

    offsets = torch.arange(-steps, steps + 1, device=rho.device, dtype=torch.float32)
    hyp = (rho[None] + offsets[:, None, None] * step).clamp_(rho_lo * 0.5, rho_hi * 2.0)
    warped, valid = _warp(level, source, _pad_rows(hyp, level.window_r), valid_at=steps)
    cost = _zncc_cost(level, warped, valid)  # S×M×H×W
    if best_k < cost.shape[0]:
        # One set of views per pixel for all its hypotheses (those best at the current estimate),
        # so the cost curve stays smooth enough for the parabolic fit.
        chosen = cost[:, steps].topk(best_k, dim=0, largest=False, sorted=False).indices
        cost = cost.gather(0, chosen[:, None].expand(-1, cost.shape[1], -1, -1))
    agg = level.guided_filter(cost.mean(0))
    idx, offset, c0 = _winner(agg)
    new = rho + (idx.to(torch.float32) - steps + offset) * step
    score = (1.0 - c0).clamp_(0, 1)
    ok = rho > 0
    return torch.where(ok, new, rho), torch.where(ok, conf * score.sqrt(), conf)


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


def _idle_cores() -> int:
    cores = len(os.sched_getaffinity(0))
    try:
        busy = os.getloadavg()[0]
    except OSError:  # not every platform reports a load average
        return cores
    return int(np.clip(round(cores - busy), 1, cores))


class _threads:
    """Set torch's and OpenCV's thread counts for a block and restore them after."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __enter__(self) -> None:
        import cv2
        import torch

        self.saved = (torch.get_num_threads(), cv2.getNumThreads())
        torch.set_num_threads(self.count)
        cv2.setNumThreads(self.count)

    def __exit__(self, *exc: object) -> None:
        import cv2
        import torch

        torch.set_num_threads(self.saved[0])
        cv2.setNumThreads(self.saved[1])


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


# -- geometric consistency -------------------------------------------------------------------


def filter_consistent(
    depths: Mapping[int, DepthMap],
    track: CameraTrack,
    *,
    min_views: int = 2,
    max_rel_depth_error: float = 0.01,
    max_reproj_px: float = 1.0,
    num_neighbors: int = 5,
    progress: ProgressFn | None = None,
) -> dict[int, DepthMap]:
    """Keep the pixels whose depth agrees with neighbouring frames' depth (multi-view check).

    A pixel's 3D point is projected into each neighbouring frame; that frame's depth there
    (bilinear where its four pixels have depth) lifts a point that is projected back. The
    view agrees when the round trip lands within ``max_reproj_px`` of the pixel and its
    z-depth within ``max_rel_depth_error`` (relative) of the pixel's depth. Pixels that
    agree with fewer than ``min_views`` neighbours lose their depth.

    Args:
        depths: frame index (position in ``track``) → :class:`DepthMap` (H×W at that
            frame's intrinsics' size, frame_number matching the track).
        track: the cameras the depths belong to.
        min_views: neighbours that must agree for a pixel to be kept.
        max_rel_depth_error: relative z-depth tolerance of the round trip.
        max_reproj_px: pixel tolerance of the round trip.
        num_neighbors: neighbours checked per frame, picked among ``depths`` like the
            stereo's source views (a useful triangulation angle), else nearest in time.
        progress: optional ``progress(stage, done, total)`` callback.

    Returns:
        frame index → filtered :class:`DepthMap`; the confidence of a kept pixel is scaled by
        the share of the neighbours that saw it (inside, with depth) and agreed.

    Raises:
        InputError: an index outside the track, a depth map whose size or frame number does
            not match its camera, or bad thresholds.
    """
    import torch

    if min_views < 1 or num_neighbors < 1:
        raise InputError(f"min_views and num_neighbors must be ≥ 1, got {min_views} and {num_neighbors}")
    if not (max_rel_depth_error > 0 and max_reproj_px > 0):
        raise InputError(
            f"max_rel_depth_error and max_reproj_px must be positive, got {max_rel_depth_error} and {max_reproj_px}"
        )
    for i, dm in depths.items():
        if not isinstance(dm, DepthMap):
            raise InputError(f"depths[{i}] must be a DepthMap, got {type(dm).__name__}")
        if not 0 <= int(i) < len(track):
            raise InputError(f"depth index {i} is outside the track's 0..{len(track) - 1}")
        intr = track.intrinsics[int(i)]
        if dm.depth.shape != (intr.height, intr.width):
            raise InputError(
                f"depths[{i}] is {dm.depth.shape[1]}×{dm.depth.shape[0]} but its camera is {intr.width}×{intr.height}; "
                "pass depth maps on the frames' pixel grid"
            )
        if dm.frame_number != int(track.frame_numbers[int(i)]):
            raise InputError(f"depths[{i}] is frame {dm.frame_number} but the track's frame {i} is {track.frame_numbers[i]}")
    keys = sorted(int(i) for i in depths)
    rays = {}
    out: dict[int, DepthMap] = {}
    cam_from_world = invert_rigid(track.world_from_cam)
    with _threads(_idle_cores()), torch.inference_mode():
        tensors = {i: torch.from_numpy(depths[i].depth) for i in keys}
        for done, i in enumerate(keys):
            dm = depths[i]
            neighbours = _select_sources(
                track, i, _visible_points(track, i), count=num_neighbors,
                target_angle_rad=np.radians(5.0), min_angle_rad=np.radians(0.5), candidates=keys,
            )
            if len(neighbours) < num_neighbors:
                by_time = sorted((k for k in keys if k != i and k not in neighbours), key=lambda k: abs(k - i))
                neighbours += by_time[: num_neighbors - len(neighbours)]
            depth = tensors[i]
            valid = depth > 0
            agree = torch.zeros(depth.shape, dtype=torch.int32)
            seen = torch.zeros(depth.shape, dtype=torch.int32)
            intr = track.intrinsics[i]
            if intr not in rays:
                rays[intr] = _pixel_rays(intr)
            ray, pix = rays[intr]
            points_i = ray[valid] * depth[valid][:, None]  # M×3 in camera i
            for j in neighbours:
                j_from_i_64 = cam_from_world[j] @ track.world_from_cam[i]
                j_from_i = torch.from_numpy(j_from_i_64.astype(np.float32))
                i_from_j = torch.from_numpy(invert_rigid(j_from_i_64).astype(np.float32))
                points_j = points_i @ j_from_i[:3, :3].T + j_from_i[:3, 3]
                uv_j = _project(track.intrinsics[j], points_j)
                d_j, ok = _sample_depth(tensors[j], uv_j)
                ok &= points_j[:, 2] > 0
                back_j = points_j * (d_j / points_j[:, 2].clamp_min(1e-12))[:, None]  # j's surface along the same ray
                back_i = back_j @ i_from_j[:3, :3].T + i_from_j[:3, 3]
                uv_i = _project(track.intrinsics[i], back_i)
                reproj = torch.linalg.norm(uv_i - pix[valid], dim=1)
                rel = (back_i[:, 2] - depth[valid]).abs() / depth[valid]
                good = ok & (reproj <= max_reproj_px) & (rel <= max_rel_depth_error)
                agree[valid] += good.to(torch.int32)
                seen[valid] += ok.to(torch.int32)
            keep = valid & (agree >= min_views)
            share = agree.to(torch.float32) / seen.clamp_min(1).to(torch.float32)
            new_depth = torch.where(keep, depth, torch.zeros_like(depth)).numpy()
            new_conf = torch.where(keep, torch.from_numpy(dm.confidence) * share, torch.zeros_like(depth)).numpy()
            out[i] = DepthMap(
                depth=new_depth.astype(np.float32), confidence=new_conf.astype(np.float32), frame_number=dm.frame_number
            )
            if progress:
                progress("depth consistency", done + 1, len(keys))
    return out


def _pixel_rays(intr: Intrinsics) -> tuple[torch.Tensor, torch.Tensor]:
    """H×W×3 camera rays with z = 1 (undistorted) and H×W×2 pixel centres of a camera."""
    import torch

    v, u = np.mgrid[0 : intr.height, 0 : intr.width].astype(np.float64) + 0.5
    pix = np.stack([u.ravel(), v.ravel()], 1)
    rays = intr.unproject(pix, np.ones(len(pix)))
    return (
        torch.from_numpy(rays.reshape(intr.height, intr.width, 3).astype(np.float32)),
        torch.from_numpy(pix.reshape(intr.height, intr.width, 2).astype(np.float32)),
    )


def _project(intr: Intrinsics, points: torch.Tensor) -> torch.Tensor:
    """M×3 camera points → M×2 pixels with the camera's radial distortion (torch, float32)."""
    z = points[:, 2:3].clamp_min(1e-12)
    xy = points[:, :2] / z
    if intr.has_distortion:
        r2 = (xy * xy).sum(1, keepdim=True)
        xy = xy * (1.0 + float(intr.radial[0]) * r2 + float(intr.radial[1]) * r2 * r2)
    k = intr.K
    u = float(k[0, 0]) * xy[:, 0] + float(k[0, 1]) * xy[:, 1] + float(k[0, 2])
    v = float(k[1, 1]) * xy[:, 1] + float(k[1, 2])
    import torch

    return torch.stack([u, v], 1)


def _sample_depth(depth: torch.Tensor, uv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Bilinear z-depth at M×2 pixel positions where all four pixels have depth."""
    import torch

    h, w = depth.shape
    x = uv[:, 0] - 0.5
    y = uv[:, 1] - 0.5
    finite = torch.isfinite(x) & torch.isfinite(y)
    x0 = torch.where(finite, x, torch.full_like(x, -10)).floor()
    y0 = torch.where(finite, y, torch.full_like(y, -10)).floor()
    inside = (x0 >= 0) & (y0 >= 0) & (x0 <= w - 2) & (y0 <= h - 2)
    xi = x0.long().clamp(0, w - 2)
    yi = y0.long().clamp(0, h - 2)
    fx = (x - x0).clamp(0, 1)
    fy = (y - y0).clamp(0, 1)
    d00, d01 = depth[yi, xi], depth[yi, xi + 1]
    d10, d11 = depth[yi + 1, xi], depth[yi + 1, xi + 1]
    ok = inside & (d00 > 0) & (d01 > 0) & (d10 > 0) & (d11 > 0)
    d = (d00 * (1 - fx) + d01 * fx) * (1 - fy) + (d10 * (1 - fx) + d11 * fx) * fy
    return torch.where(ok, d, torch.zeros_like(d)), ok
