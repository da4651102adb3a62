"""Plane-sweep matching cost and its aggregation: the torch building blocks of the stereo.

A reference pyramid level (:class:`Level`) and its source views (:class:`Source`) are warped
through fronto-parallel planes, scored by windowed ZNCC, reduced over the best source views,
filtered edge-aware (guided filter) and resolved winner-take-all with a parabolic sub-plane
fit; :func:`sweep` does it over a whole depth range, :func:`refine` around a per-pixel
estimate, and :func:`upsample` carries an estimate edge-aware to the next finer level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["Level", "Source", "make_source", "refine", "sweep", "upsample"]

# Cost of a source sample that falls outside the source image: a little worse than an
# uncorrelated window (cost 1), so a view that sees the pixel always wins the best-k choice.
_INVALID_COST = 1.25
# Variance floor of a ZNCC window (intensities in [0, 1]): about 3 grey levels of noise, so
# flat windows score near 0 instead of amplifying noise to ±1.
_NCC_EPS = 1e-4


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


class Level:
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
class Source:
    """The source views at one level, with the reference's padded pixels already mapped.

    A reference pixel p at inverse z-depth ρ lands at ``A p + ρ b`` (homogeneous) in a source
    with ``A = K_s R_sr K_r⁻¹`` and ``b = K_s t_sr``: the fronto-parallel plane homography.
    The first two rows of both are premultiplied so that the ratios come out directly as
    grid_sample's normalised coordinates.
    """

    images: torch.Tensor  # S×1×h×w grey
    ap: torch.Tensor  # S×3×H_p×W: A p for the reference's padded pixel grid
    b: torch.Tensor  # S×3


def make_source(level: Level, images: list, ks: list[np.ndarray], src_from_ref: list[np.ndarray]) -> Source:
    import torch

    k_ref_inv = np.linalg.inv(level.k)
    hs, ws = images[0].shape
    # normalised x = 2u/w − 1 = (2/w · q0 − q2) / q2, likewise y: fold that into the rows
    to_grid = np.array([[2.0 / ws, 0.0, -1.0], [0.0, 2.0 / hs, -1.0], [0.0, 0.0, 1.0]])
    a = np.stack([to_grid @ k @ t[:3, :3] @ k_ref_inv for k, t in zip(ks, src_from_ref)])
    b = np.stack([to_grid @ k @ t[:3, 3] for k, t in zip(ks, src_from_ref)])
    dev = level.gray.device
    a_t = torch.from_numpy(a).to(device=dev, dtype=torch.float32)
    return Source(
        images=torch.stack(images)[:, None],
        ap=torch.einsum("sij,jhw->sihw", a_t, level.pixels_pad).contiguous(),
        b=torch.from_numpy(b).to(device=dev, dtype=torch.float32),
    )


def _warp(level: Level, src: Source, inv_depth: torch.Tensor, valid_at: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
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


def _zncc_cost(level: Level, warped: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
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


def upsample(
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


def sweep(
    level: Level, source: Source, rho_lo: float, rho_hi: float, num_planes: int, best_k: int
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


def refine(
    level: Level,
    source: Source,
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
