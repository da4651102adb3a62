"""PatchMatch multi-view stereo with a planar prior and completion by planes: the default
depth backend.

The ACMM / ACMP line of work (Xu & Tao 2019, 2020), in torch on the CPU (CUDA when there is
one). Per reference frame, coarse to fine:

1. at the coarsest level the plane sweep (:mod:`._plane_sweep`) gives a first estimate where
   the texture allows; every other pixel starts from a random depth;
2. each pixel carries a slanted plane, written as its inverse depth ρ and the image gradient of
   ρ (a plane in the camera's frame is exactly an affine function of the pixel in inverse
   depth), and at each PatchMatch level the planes are improved by propagation — each pixel
   tries the planes of the near and far neighbours of ACMH's checkerboard pattern (its arms:
   the four next pixels and four ``far_px`` away), extrapolated to itself — and by random
   refinement. Every pixel is updated at once (Jacobi) rather than red then black, because a
   candidate is scored as a whole field: every pixel warps its own sample through its
   candidate plane into each source view and the windowed ZNCC of those samples, aggregated
   edge-aware, is the matching cost, so one bilinear sample per pixel and source replaces a
   per-pixel patch warp (on a smooth plane the two are the same); the cost is the mean over
   each pixel's best source views (per-pixel view selection);
3. a planar prior (ACMP): the confident pixels are triangulated (Delaunay, in the image) into
   a coarse mesh whose triangles are planes; a second PatchMatch pass adds, as a candidate
   and as a cost term, the agreement with the prior, weighted up where the reference has no
   texture, so that textureless walls, cabinet fronts and floors follow the planes their
   textured edges define;
4. completion by planes: empty regions enclosed by pixels of one dominant plane of the frame
   (RANSAC over the confident depth) take that plane's depth where the source views do not
   contradict it photometrically;
5. the finest levels are refined by the plane sweep's local sweep and upsampled edge-aware.

The multi-view geometric consistency of ACMM is applied after every frame has its depth, by
:func:`~._consistency.checked_depths` (the depth stage does that for every backend).

Written here because no maintained Python package offers multi-view PatchMatch on a CPU
(COLMAP's PatchMatch stereo needs CUDA). kornia gives the Sobel derivatives the first slants
come from; the warps and the ZNCC windows are the plane sweep's own (:mod:`._cost`): one
fused bilinear warp per candidate field, and OpenCV's running-sum box filter, which measured
~15× faster on a CPU than torch's pooling, where kornia's filters run.
Confidence: 1 − the matching cost for photometrically matched pixels; pixels that hold their
depth from the planar prior or from plane completion carry ``plane_confidence`` (lower than
a good match, so the fusion and the filter can tell them apart).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from sceneforge.scenegraph import InputError

from ._cost import _INVALID_COST, Level, Source, _box_same, _pad_rows, _warp, _zncc_cost, refine, sweep, upsample
from ._plane_sweep import PlaneSweepConfig, PlaneSweepStereo, _View

if TYPE_CHECKING:
    import torch

__all__ = ["PatchMatchConfig", "PatchMatchStereo"]

log = logging.getLogger(__name__)

# Reference window variance (grey in [0, 1]) below which a pixel counts as textureless: about
# two grey levels of standard deviation.
_FLAT_VARIANCE = 6e-5
# A plane explains a pixel when its inverse depth is within this relative distance.
_PLANE_TOLERANCE = 0.015
# Candidates of one field scored together (bounds the S×M×H×W temporaries).
_CANDIDATES_PER_BATCH = 6


@dataclass(frozen=True)
class PatchMatchConfig(PlaneSweepConfig):
    """PatchMatch multi-view stereo with a planar prior and completion by planes (default backend).

    Takes every option of the plane sweep (it starts from the sweep at the coarsest level and
    refines the finest levels with its local sweep) and adds the PatchMatch ones below.
    """

    patchmatch_size_px: int = 320
    """Long side of the finest level PatchMatch runs on; finer levels (up to ``max_size_px``) are
    refined with the plane sweep's local sweep, and so is the finest level always."""
    iterations: int = 3
    """PatchMatch iterations (propagation + random refinement) per level and pass."""
    far_px: int = 5
    """Distance of the far propagation neighbours, in pixels of the level."""
    prior: bool = True
    """Build the planar prior from the confident pixels and run the prior-guided pass."""
    prior_cell_px: int = 8
    """The prior's triangulation takes at most one confident pixel per this-many-pixel cell."""
    prior_max_cost: float = 0.3
    """Matching cost (1 − ZNCC) below which a pixel is confident enough to anchor the prior."""
    prior_weight: float = 0.6
    """Weight of the prior term in a textureless pixel's cost (a fifth of it where there is texture)."""
    prior_sigma: float = 0.03
    """Relative inverse-depth deviation from the prior at which its term reaches ~40 % of its weight."""
    prior_max_ratio: float = 1.6
    """Prior triangles whose corners' depths differ by more than this factor span a depth edge
    and are dropped."""
    complete_planes: bool = True
    """Fill empty regions enclosed by one dominant plane of the frame with that plane's depth."""
    max_planes: int = 6
    """Dominant planes looked for per frame (sequential RANSAC)."""
    min_region_px: int = 64
    """Empty regions smaller than this (pixels of the PatchMatch level) are not completed."""
    photo_tolerance: float = 0.08
    """Mean absolute grey difference (0–1) to the best source views above which a prior or
    plane depth counts as contradicted and is not used."""
    plane_confidence: float = 0.3
    """Confidence of a pixel whose depth comes from the planar prior or a completion plane."""
    aggregate: bool = True
    """Smooth each candidate's matching cost edge-aware (guided filter, ``filter_radius_px``)
    before the pixels choose: keeps planes from spreading across depth edges."""
    seed: int = 0
    """Seed of PatchMatch's random initialisation and refinement (runs are reproducible)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.patchmatch_size_px < 16 or self.iterations < 0 or self.far_px < 2 or self.prior_cell_px < 2:
            raise InputError(
                "patchmatch_size_px must be ≥ 16, iterations ≥ 0, far_px ≥ 2 and prior_cell_px ≥ 2, got "
                f"{self.patchmatch_size_px}, {self.iterations}, {self.far_px}, {self.prior_cell_px}"
            )
        for name in ("prior_max_cost", "plane_confidence", "photo_tolerance"):
            if not 0 < getattr(self, name) < 1:
                raise InputError(f"{name} must be in (0, 1), got {getattr(self, name)}")
        if self.prior_weight < 0 or not self.prior_sigma > 0 or not self.prior_max_ratio > 1:
            raise InputError(
                "prior_weight must be ≥ 0, prior_sigma > 0 and prior_max_ratio > 1, got "
                f"{self.prior_weight}, {self.prior_sigma}, {self.prior_max_ratio}"
            )
        if self.max_planes < 0 or self.min_region_px < 1:
            raise InputError(f"max_planes must be ≥ 0 and min_region_px ≥ 1, got {self.max_planes}, {self.min_region_px}")

    def build(self) -> PatchMatchStereo:
        """The backend this configuration describes."""
        return PatchMatchStereo(self)


@dataclass
class _Planes:
    """Per-pixel slanted planes at one level: inverse depth and its image gradient (ρ per pixel)."""

    rho: torch.Tensor
    gu: torch.Tensor
    gv: torch.Tensor

    def at(self, keep: torch.Tensor, other: _Planes) -> _Planes:
        import torch

        return _Planes(*(torch.where(keep, a, b) for a, b in zip((self.rho, self.gu, self.gv), (other.rho, other.gu, other.gv))))


class PatchMatchStereo(PlaneSweepStereo):
    """PatchMatch multi-view stereo (see :class:`PatchMatchConfig`); implements :class:`DepthEstimator`."""

    config: PatchMatchConfig

    def _solve(
        self, ref: _View, srcs: list[_View], src_from_ref: list[np.ndarray], z_range: tuple[float, float]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        import torch

        cfg = self.config
        gen = torch.Generator(device=ref.levels[0].device).manual_seed(cfg.seed)
        best_k = min(cfg.best_k, len(srcs))
        rho_lo, rho_hi = 1.0 / z_range[1], 1.0 / z_range[0]
        n_levels = len(ref.levels)
        num_planes, step = self._planes(ref, srcs, src_from_ref, rho_lo, rho_hi)
        # PatchMatch runs on the levels whose long side is at most patchmatch_size_px, never on the
        # finest of several (the local sweep refines that one more precisely: measured on the demo
        # room at 320×180, median error 0.44 % against 0.75 % with PatchMatch there), and at least
        # on the coarsest.
        pm_levels = [
            li for li in range(n_levels) if max(ref.levels[li].shape) <= cfg.patchmatch_size_px and (li > 0 or n_levels == 1)
        ] or [n_levels - 1]
        finest_pm = min(pm_levels)
        search = _Search(rho_lo, rho_hi, best_k, cfg, gen)
        planes = None
        rho = conf = kind = None
        for li in range(n_levels - 1, -1, -1):
            level, source = self._level(ref, srcs, src_from_ref, li)
            if li < n_levels - 1:
                step *= 0.5
            if planes is None:
                first, _ = sweep(level, source, rho_lo, rho_hi, num_planes, best_k)
                planes = search.initial(first)
            if li >= finest_pm:
                if planes.rho.shape != level.gray.shape:
                    planes = _upsample_planes(planes, level.gray.shape)
                planes, cost = search.run(level, source, planes, prior=None)
                if li == finest_pm:
                    rho, conf, kind = search.finish(level, source, planes, cost)
                continue
            # finer than PatchMatch: edge-aware upsampling and the plane sweep's local sweep
            up_rho, up_conf = upsample(rho, conf, ref.levels[li + 1], level.gray)
            kind = _nearest(kind, level.gray.shape)
            new_rho, new_conf = refine(level, source, up_rho, up_conf, step, cfg.refine_steps, best_k, rho_lo, rho_hi)
            matched = kind == _MATCHED
            # a pixel matched at the coarser level whose window here holds no texture (inside a
            # flat region near its edge) keeps the coarser depth, at the plane confidence
            weak = matched & (new_conf < cfg.min_confidence) & (level.var < _FLAT_VARIANCE) & (up_rho > 0)
            rho = torch.where(matched & ~weak, new_rho, up_rho)
            conf = torch.where(matched & ~weak, new_conf, up_conf)
            conf = torch.where(weak, up_conf.clamp(max=cfg.plane_confidence), conf)
        return rho, conf


_MATCHED, _FROM_PLANE = 1, 2


def _nearest(x: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    import torch.nn.functional as F

    return F.interpolate(x[None, None].float(), size=shape, mode="nearest")[0, 0].to(x.dtype)


def _upsample_planes(planes: _Planes, shape: tuple[int, int]) -> _Planes:
    """Planes carried to a finer level: each fine pixel takes the plane of the coarse pixel it
    lies in, evaluated at its own position (interpolating ρ would blend the two sides of a
    depth edge into depths neither has); the gradient is rescaled to the new pixels."""
    import torch

    h0, w0 = planes.rho.shape
    h, w = shape
    dev = planes.rho.device
    xs = (torch.arange(w, device=dev, dtype=torch.float32) + 0.5) * (w0 / w)  # coarse pixel units
    ys = (torch.arange(h, device=dev, dtype=torch.float32) + 0.5) * (h0 / h)
    ix, iy = xs.floor().long().clamp_(0, w0 - 1), ys.floor().long().clamp_(0, h0 - 1)
    dx, dy = xs - (ix.to(torch.float32) + 0.5), ys - (iy.to(torch.float32) + 0.5)
    rho, gu, gv = (t[iy[:, None], ix[None, :]] for t in (planes.rho, planes.gu, planes.gv))
    rho = rho + gu * dx[None, :] + gv * dy[:, None]
    return _Planes(rho, gu * (w0 / w), gv * (h0 / h))


class _Search:
    """The PatchMatch search at one level, shared by the plain and the prior-guided pass."""

    def __init__(self, rho_lo: float, rho_hi: float, best_k: int, cfg: PatchMatchConfig, gen: Any) -> None:
        self.lo, self.hi = rho_lo, rho_hi
        self.best_k = best_k
        self.cfg = cfg
        self.gen = gen

    # -- start ---------------------------------------------------------------------------

    def initial(self, rho: torch.Tensor) -> _Planes:
        """Planes from the coarse sweep (fronto-parallel, slant from its neighbours), random
        inverse depth where the sweep found none."""
        import torch

        from kornia.filters import spatial_gradient

        rand = self._uniform(rho.shape)
        rho = torch.where(rho > 0, rho, rand)
        # Sobel, normalised: the derivative in ρ per pixel
        grad = spatial_gradient(rho[None, None], mode="sobel", normalized=True)[0, 0]
        gu, gv = grad[0], grad[1]
        # the gradient of a depth edge is not a slant: start those pixels fronto-parallel
        steep = (gu.abs() + gv.abs()) > 0.05 * rho
        zero = torch.zeros_like(rho)
        return _Planes(rho, torch.where(steep, zero, gu), torch.where(steep, zero, gv))

    def _uniform(self, shape) -> torch.Tensor:
        import torch

        u = torch.rand(shape, generator=self.gen, device=self.gen.device)
        return self.lo + u * (self.hi - self.lo)

    # -- cost ----------------------------------------------------------------------------

    def _photo(self, level: Level, source: Source, rho: torch.Tensor) -> torch.Tensor:
        """Matching cost (1 − ZNCC, mean over each pixel's best source views) of M candidate
        fields M×H×W, as M×H×W."""
        import torch

        out = []
        for start in range(0, rho.shape[0], _CANDIDATES_PER_BATCH):
            chunk = rho[start : start + _CANDIDATES_PER_BATCH].clamp(self.lo, self.hi)
            warped, valid = _warp(level, source, _pad_rows(chunk, level.window_r))
            cost = _zncc_cost(level, warped, valid)  # S×m×H×W
            if self.best_k < cost.shape[0]:
                cost = cost.topk(self.best_k, dim=0, largest=False, sorted=False).values
            out.append(cost.mean(0))
        cost = torch.cat(out)
        # edge-aware aggregation (the guided filter of the sweep): a window across a depth edge
        # otherwise lets the foreground's plane win on the background side (edge fattening)
        return level.guided_filter(cost) if self.cfg.aggregate else cost

    def _prior_term(self, level: Level, rho: torch.Tensor, prior: tuple[_Planes, torch.Tensor] | None) -> torch.Tensor | float:
        import torch

        if prior is None:
            return 0.0
        planes, has = prior
        flat = torch.exp(-level.var / _FLAT_VARIANCE)
        weight = self.cfg.prior_weight * (0.2 + 0.8 * flat) * has
        dev = (rho - planes.rho).div_(planes.rho.clamp_min(1e-12)).square_().mul_(-0.5 / self.cfg.prior_sigma**2).exp_()
        return weight * (1.0 - dev)

    # -- search --------------------------------------------------------------------------

    def run(
        self, level: Level, source: Source, planes: _Planes, *, prior: tuple[_Planes, torch.Tensor] | None
    ) -> tuple[_Planes, torch.Tensor]:
        """``iterations`` rounds of propagation and random refinement; returns the planes and
        their photometric cost."""
        import torch

        photo = self._photo(level, source, planes.rho[None])[0]
        total = photo + self._prior_term(level, planes.rho, prior)
        for it in range(self.cfg.iterations):
            cands = self._propagated(planes) + self._perturbed(planes, it)
            if prior is not None:
                cands.append(prior[0].at(prior[1] > 0, planes))
            rho = torch.stack([c.rho for c in cands])
            c_photo = self._photo(level, source, rho)
            c_total = c_photo + self._prior_term(level, rho, prior)
            best_total, best = c_total.min(0)
            better = best_total < total
            for m, cand in enumerate(cands):
                take = better & (best == m)
                planes = cand.at(take, planes)
            photo = torch.where(better, c_photo.gather(0, best[None])[0], photo)
            total = torch.minimum(total, best_total)
        # one last scoring of the final field as a whole (each pixel's window now holds its final neighbours)
        photo = self._photo(level, source, planes.rho[None])[0]
        return planes, photo

    def _propagated(self, planes: _Planes) -> list[_Planes]:
        """Each pixel's neighbours' planes extrapolated to it: the four next pixels and four far ones."""
        far = self.cfg.far_px
        out = []
        for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0), (0, far), (0, -far), (far, 0), (-far, 0)):
            rho, gu, gv = (_shift(x, dy, dx) for x in (planes.rho, planes.gu, planes.gv))
            out.append(_Planes((rho + gu * dx + gv * dy).clamp_(self.lo, self.hi), gu, gv))
        return out

    def _perturbed(self, planes: _Planes, it: int) -> list[_Planes]:
        """Random refinement: ρ and the slant perturbed (less each iteration), and a fresh random plane."""
        import torch

        scale = 0.5 ** it
        h, w = planes.rho.shape
        noise = torch.randn((3, h, w), generator=self.gen, device=self.gen.device)
        slope = planes.rho * (0.02 * scale)
        return [
            _Planes((planes.rho * torch.exp(noise[0] * (0.05 * scale))).clamp_(self.lo, self.hi), planes.gu, planes.gv),
            _Planes(planes.rho, planes.gu + noise[1] * slope, planes.gv + noise[2] * slope),
            _Planes(self._uniform((h, w)), torch.zeros_like(planes.gu), torch.zeros_like(planes.gv)),
        ]

    # -- the end of the PatchMatch levels ------------------------------------------------

    def finish(
        self, level: Level, source: Source, planes: _Planes, photo: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Planar prior pass, completion by planes and the confidence: inverse depth (0 = none),
        confidence and what each pixel's depth rests on (0 none, matched, from a plane)."""
        import torch

        cfg = self.cfg
        matched = photo < 1.0 - cfg.min_confidence
        if cfg.prior:
            prior = self._prior(level, planes, photo)
            if prior is not None:
                planes, photo = self.run(level, source, planes, prior=prior)
                matched = photo < 1.0 - cfg.min_confidence
                agrees = (planes.rho - prior[0].rho).abs() <= cfg.prior_sigma * prior[0].rho
                held = ~matched & (prior[1] > 0) & agrees & self._uncontradicted(level, source, planes.rho)
            else:
                held = torch.zeros_like(matched)
        else:
            held = torch.zeros_like(matched)
        rho = torch.where(matched | held, planes.rho, torch.zeros_like(planes.rho))
        conf = torch.where(matched, (1.0 - photo).clamp(0, 1), torch.zeros_like(photo))
        conf = torch.where(held, torch.full_like(conf, cfg.plane_confidence), conf)
        kind = torch.where(matched, _MATCHED, torch.where(held, _FROM_PLANE, 0)).to(torch.uint8)
        if cfg.complete_planes and cfg.max_planes > 0:
            rho, conf, kind = self._complete(level, source, rho, conf, kind, photo)
        return rho, conf, kind

    def _uncontradicted(self, level: Level, source: Source, rho: torch.Tensor) -> torch.Tensor:
        """Pixels whose window, warped at ``rho`` into their best source views, keeps its grey
        values (mean absolute difference ≤ ``photo_tolerance``): a textureless surface at the
        right depth meets its own colour in the other views, at a wrong one it often does not."""
        warped, valid = _warp(level, source, _pad_rows(rho[None].clamp(self.lo, self.hi), level.window_r))
        r = level.window_r
        diff = (warped[:, 0] - level.gray_pad[None]).abs_()
        sad = _box_same(diff, r)[:, r : diff.shape[1] - r] if r else diff
        sad = sad.masked_fill(~valid[:, 0], _INVALID_COST)
        if self.best_k < sad.shape[0]:
            sad = sad.topk(self.best_k, dim=0, largest=False, sorted=False).values
        return sad.mean(0) <= self.cfg.photo_tolerance

    def _prior(self, level: Level, planes: _Planes, photo: torch.Tensor) -> tuple[_Planes, torch.Tensor] | None:
        """ACMP's planar prior: the confident pixels (one per cell, the lowest cost) triangulated
        in the image; inside each triangle ρ is the affine function through its corners — the
        3D plane of the triangle. Returns the prior planes and where they hold (1) or not (0)."""
        import torch
        from scipy.spatial import Delaunay

        cfg = self.cfg
        h, w = photo.shape
        c = cfg.prior_cell_px
        hc, wc = h // c, w // c
        if hc < 2 or wc < 2:
            return None
        cost = photo[: hc * c, : wc * c].reshape(hc, c, wc, c).permute(0, 2, 1, 3).reshape(hc, wc, c * c)
        best_cost, best = cost.min(-1)
        keep = (best_cost < cfg.prior_max_cost).cpu().numpy()
        if keep.sum() < 8:
            return None
        rows, cols = np.nonzero(keep)
        flat = best.cpu().numpy()[rows, cols]
        v = rows * c + flat // c
        u = cols * c + flat % c
        rho_np = planes.rho.cpu().numpy()
        z = rho_np[v, u]
        # the image corners join the triangulation so that the prior reaches the borders; they
        # take the nearest anchor's inverse depth (they only shape border triangles)
        corners = np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], np.float64)
        pts = np.column_stack([u, v]).astype(np.float64) + 0.5
        near = np.argmin(((corners[:, None] + 0.5 - pts[None]) ** 2).sum(-1), 1)
        pts = np.concatenate([pts, corners + 0.5])
        z = np.concatenate([z, z[near]])
        try:
            tri = Delaunay(pts)
        except Exception:  # degenerate (collinear) anchors: no prior for this frame
            return None
        simplices = tri.simplices
        corner_rho = z[simplices]
        ok = corner_rho.max(1) <= cfg.prior_max_ratio * corner_rho.min(1)
        ok &= (simplices < len(pts) - 4).all(1)  # triangles on an image corner are not trusted
        # affine ρ(u, v) = a u + b v + d per triangle, from its three corners
        a_mat = np.concatenate([pts[simplices], np.ones((*simplices.shape, 1))], -1)  # T×3×3
        det = np.linalg.det(a_mat)
        ok &= np.abs(det) > 1e-6
        coef = np.zeros((len(simplices), 3))
        coef[ok] = np.linalg.solve(a_mat[ok], corner_rho[ok][..., None])[..., 0]
        gv_px, gu_px = np.mgrid[0:h, 0:w]
        query = np.column_stack([gu_px.ravel() + 0.5, gv_px.ravel() + 0.5])
        which = tri.find_simplex(query)
        inside = which >= 0
        has = np.zeros(h * w, bool)
        has[inside] = ok[which[inside]]
        coef_px = coef[np.where(inside, which, 0)]
        prior_rho = (coef_px[:, 0] * query[:, 0] + coef_px[:, 1] * query[:, 1] + coef_px[:, 2]).reshape(h, w)
        has &= (prior_rho.ravel() >= self.lo) & (prior_rho.ravel() <= self.hi)
        dev = planes.rho.device
        t = lambda x: torch.from_numpy(np.ascontiguousarray(x, np.float32)).to(dev)  # noqa: E731
        prior = _Planes(t(np.where(has.reshape(h, w), prior_rho, 1.0)), t(coef_px[:, 0].reshape(h, w)), t(coef_px[:, 1].reshape(h, w)))
        return prior, t(has.reshape(h, w))

    def _complete(
        self, level: Level, source: Source, rho: torch.Tensor, conf: torch.Tensor, kind: torch.Tensor, photo: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Completion by planes: the frame's dominant planes (sequential RANSAC over the matched
        pixels, in (u, v, ρ), where a 3D plane is affine) fill each large empty region whose
        surrounding matched pixels lie mostly on one of them, where the sources agree."""
        import cv2
        import torch

        cfg = self.cfg
        rho_np = rho.cpu().numpy()
        matched = (kind == _MATCHED).cpu().numpy()
        h, w = rho_np.shape
        planes = _ransac_planes(rho_np, matched, cfg.max_planes, np.random.default_rng(cfg.seed))
        if not planes:
            return rho, conf, kind
        empty = (rho_np <= 0).astype(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(empty, connectivity=4)
        vv, uu = np.mgrid[0:h, 0:w].astype(np.float64) + 0.5
        fill = np.zeros((h, w), np.float32)
        ring_kernel = np.ones((7, 7), np.uint8)
        for label in range(1, count):
            if stats[label, cv2.CC_STAT_AREA] < cfg.min_region_px:
                continue
            x0, y0, bw, bh = (int(stats[label, k]) for k in (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT))
            ys, xs = slice(max(0, y0 - 4), min(h, y0 + bh + 4)), slice(max(0, x0 - 4), min(w, x0 + bw + 4))
            region = labels[ys, xs] == label
            ring = (cv2.dilate(region.astype(np.uint8), ring_kernel) > 0) & ~region & matched[ys, xs]
            if ring.sum() < 20:
                continue
            shares = [_on_plane(p, uu[ys, xs][ring], vv[ys, xs][ring], rho_np[ys, xs][ring]).mean() for p in planes]
            best = int(np.argmax(shares))
            if shares[best] < 0.5:
                continue
            p = planes[best]
            plane_rho = p[0] * uu[ys, xs] + p[1] * vv[ys, xs] + p[2]
            ok = region & (plane_rho >= self.lo) & (plane_rho <= self.hi)
            fill[ys, xs] = np.where(ok, plane_rho, fill[ys, xs])
        if not (fill > 0).any():
            return rho, conf, kind
        fill_t = torch.from_numpy(fill).to(rho.device)
        ok = (fill_t > 0) & self._uncontradicted(level, source, torch.where(fill_t > 0, fill_t, rho.clamp_min(self.lo)))
        rho = torch.where(ok, fill_t, rho)
        conf = torch.where(ok, torch.full_like(conf, cfg.plane_confidence), conf)
        kind = torch.where(ok, torch.full_like(kind, _FROM_PLANE), kind)
        return rho, conf, kind


def _shift(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``x`` moved so that pixel p holds the value of p − (dy, dx); edges replicate."""
    import torch.nn.functional as F

    h, w = x.shape
    pad = (max(dx, 0), max(-dx, 0), max(dy, 0), max(-dy, 0))
    padded = F.pad(x[None, None], pad, mode="replicate")[0, 0]
    y0 = 0 if dy >= 0 else -dy
    x0 = 0 if dx >= 0 else -dx
    return padded[y0 : y0 + h, x0 : x0 + w]


def _on_plane(plane: np.ndarray, u: np.ndarray, v: np.ndarray, rho: np.ndarray) -> np.ndarray:
    predicted = plane[0] * u + plane[1] * v + plane[2]
    return np.abs(predicted - rho) <= _PLANE_TOLERANCE * np.abs(rho)


def _ransac_planes(rho: np.ndarray, matched: np.ndarray, max_planes: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Up to ``max_planes`` planes (a, b, d with ρ = a u + b v + d) that each explain at least
    3 % of the matched pixels, found one after another, each refitted on its inliers."""
    v, u = np.nonzero(matched)
    if len(u) < 50:
        return []
    if len(u) > 20000:
        pick = rng.choice(len(u), 20000, replace=False)
        u, v = u[pick], v[pick]
    uu, vv, zz = u + 0.5, v + 0.5, rho[v, u].astype(np.float64)
    design = np.column_stack([uu, vv, np.ones_like(uu)])
    left = np.ones(len(uu), bool)
    need = max(30, int(0.03 * len(uu)))
    planes = []
    for _ in range(max_planes):
        idx = np.nonzero(left)[0]
        if len(idx) < need:
            break
        samples = idx[rng.integers(0, len(idx), (200, 3))]
        best, best_in = None, None
        for tri in samples:
            a = design[tri]
            if abs(np.linalg.det(a)) < 1e-9:
                continue
            p = np.linalg.solve(a, zz[tri])
            inl = left & _on_plane(p, uu, vv, zz)
            if best_in is None or inl.sum() > best_in.sum():
                best, best_in = p, inl
        if best is None or best_in.sum() < need:
            break
        best = np.linalg.lstsq(design[best_in], zz[best_in], rcond=None)[0]
        best_in = left & _on_plane(best, uu, vv, zz)
        planes.append(best)
        left &= ~best_in
    return planes
