"""Depth of revealed background chosen by the frames that saw it (a small plane sweep).

Behind a removed object the background mesh often has a hole (the object hid it in the
frames the depth came from), and a guess from the surfaces around the hole is wrong where
the hole spans a corner or an edge of the room. The frames that did see that background
know better: at the right depth, a revealed pixel projects onto the same colour in all of
them; at a wrong depth onto different colours. So each revealed pixel tries a set of depth
hypotheses — the guess, and fronto-parallel levels swept in inverse depth from the removed
object back to the far end of the scene — and keeps the one on which the sources agree best,
with costs aggregated over a small window (a single pixel's colour is ambiguous). This is
the plane-sweep stereo of multi-view reconstruction, run only on the pixels an edit reveals
and only with depths behind the object that hid them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sceneforge.scenegraph import Intrinsics, check_array

from ._reproject import SourceView, bilinear, pixel_points, project_into

__all__ = ["search_depth", "sweep_levels"]


def sweep_levels(near: float, far: float, count: int) -> np.ndarray:
    """``count`` depths from ``near`` to ``far``, evenly spaced in inverse depth (disparity)."""
    return 1.0 / np.linspace(1.0 / near, 1.0 / far, count)


def search_depth(
    rows: np.ndarray,
    cols: np.ndarray,
    hypotheses: np.ndarray,
    intrinsics: Intrinsics,
    world_from_cam: np.ndarray,
    sources: Sequence[SourceView],
    *,
    priors: int = 1,
    truncation: float = 0.12,
    occlusion_tolerance: float = 0.03,
    window: int = 7,
    min_views: int = 2,
    contradiction: float = 0.04,
    stride: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """For each pixel, a prior depth unless the sources contradict it, else the best level.

    Args:
        rows, cols: the N pixels of the target frame.
        hypotheses: N×M depths to try per pixel (0 or non-finite: not a candidate there);
            the first ``priors`` columns are the guesses from the surfaces around the hole
            (planes continued into it), the rest swept levels.
        intrinsics, world_from_cam: the target camera.
        sources: frames that may have seen the pixels' background (their ``usable`` masks
            exclude removed or moving objects; their depth, where known, rules out views in
            which something stands in front of the hypothesis).
        priors: how many leading columns of ``hypotheses`` are priors.
        truncation: a view's colour difference (mean absolute, 0–1) counts at most this much,
            so an occluder in one view does not outvote the others.
        occlusion_tolerance: a view is occluded when its own depth lies nearer than the
            hypothesis by more than this relative difference.
        window: side of the square window (pixels of the grid) over which costs are averaged.
        min_views: a hypothesis is checked at a pixel when at least this many sources see it
            there, and over a window when half its pixels are checked.
        contradiction: a checked prior whose cost exceeds this is contradicted, and a swept
            level with under half its cost replaces it. An unchecked prior stands: a wrong
            level can look consistent by chance on a plain wall, a prior seen by one frame
            cannot be told wrong.
        stride: the pixels lie on a grid of this spacing (a search on every other pixel).

    Returns:
        (N depths — 0 where no hypothesis was valid —, N window costs of the chosen ones).
    """
    hyps = check_array(np.asarray(hypotheses, np.float64), "hypotheses", shape=(len(rows), None))
    n, m = hyps.shape
    if n == 0 or m == 0:
        return np.zeros(n, np.float32), np.full(n, truncation, np.float32)
    r0, c0 = int(rows.min()), int(cols.min())
    rr, cc = (rows - r0) // stride, (cols - c0) // stride
    box = (int(rr.max()) + 1, int(cc.max()) + 1)
    costs = np.full((n, m), np.inf, np.float32)
    checked = np.zeros((n, m), bool)

    def evaluate(columns: range, among: np.ndarray) -> None:
        """Window costs of hypotheses ``columns`` on the pixels ``among`` (indices), aggregated
        over those pixels only."""
        present = np.zeros(box, np.float32)
        present[rr[among], cc[among]] = 1.0
        support = np.maximum(_box(present, window), 1.0)
        for j in columns:
            valid = np.isfinite(hyps[among, j]) & (hyps[among, j] > 0)
            if not valid.any():
                continue
            idx = among[valid]
            cost, views = _photo_cost(rows[idx], cols[idx], hyps[idx, j], intrinsics, world_from_cam, sources,
                                      truncation=truncation, occlusion_tolerance=occlusion_tolerance)
            seen = views >= min_views
            total, count = np.zeros(box, np.float32), np.zeros(box, np.float32)
            total[rr[idx[seen]], cc[idx[seen]]] = cost[seen]
            count[rr[idx[seen]], cc[idx[seen]]] = 1.0
            total, count = _box(total, window)[rr[idx], cc[idx]], _box(count, window)[rr[idx], cc[idx]]
            costs[idx, j] = np.where(count > 0, total / np.maximum(count, 1.0), truncation)
            checked[idx, j] = count >= 0.5 * support[rr[idx], cc[idx]]

    everyone = np.arange(n)
    evaluate(range(priors), everyone)
    prior_costs = np.where(checked[:, :priors], costs[:, :priors], np.inf)
    best_prior = np.argmin(prior_costs, axis=1) if priors else np.zeros(n, np.int64)
    # an unchecked prior: the first valid one (the caller's preferred guess)
    first_valid = np.argmax(np.isfinite(costs[:, :priors]), axis=1) if priors else np.zeros(n, np.int64)
    prior_checked = np.isfinite(prior_costs[everyone, best_prior]) if priors else np.zeros(n, bool)
    best_prior = np.where(prior_checked, best_prior, first_valid)
    prior_valid = np.isfinite(costs[everyone, best_prior]) if priors else np.zeros(n, bool)
    prior_cost = costs[everyone, best_prior] if priors else np.full(n, np.inf)
    # the levels are swept only where the prior is contradicted or there is none (most of a
    # hole keeps its prior, and the sweep is most of the cost)
    doubtful = np.flatnonzero((prior_checked & (prior_cost > contradiction)) | ~prior_valid)
    if m > priors and len(doubtful):
        evaluate(range(priors, m), doubtful)
    level_costs = np.where(checked[:, priors:], costs[:, priors:], np.inf)
    best_level = priors + np.argmin(level_costs, axis=1) if m > priors else np.zeros(n, np.int64)
    level_cost = costs[everyone, best_level] if m > priors else np.full(n, np.inf)
    level_ok = np.isfinite(level_cost) & checked[everyone, best_level] if m > priors else np.zeros(n, bool)
    contradicted = prior_checked & (prior_cost > contradiction) & (level_cost < 0.5 * prior_cost)
    use_level = level_ok & (contradicted | ~prior_valid)
    best = np.where(use_level, best_level, best_prior)
    chosen = costs[everyone, best]
    ok = np.isfinite(chosen)
    depth = np.where(ok, hyps[everyone, best], 0.0).astype(np.float32)
    return depth, np.where(ok, chosen, truncation).astype(np.float32)


def _box(image: np.ndarray, window: int) -> np.ndarray:
    import cv2

    return cv2.boxFilter(image, -1, (window, window), normalize=False, borderType=cv2.BORDER_CONSTANT)


def _photo_cost(
    rows: np.ndarray, cols: np.ndarray, depth: np.ndarray, intrinsics: Intrinsics, world_from_cam: np.ndarray,
    sources: Sequence[SourceView], *, truncation: float, occlusion_tolerance: float,
) -> tuple[np.ndarray, np.ndarray]:
    """N costs — how far the sources' colours of each point lie from their per-point median,
    truncated — and N counts of the sources that saw the point."""
    import warnings

    points = pixel_points(intrinsics, world_from_cam, rows, cols, depth)
    colours = np.full((len(sources), len(points), 3), np.nan, np.float32)
    for i, source in enumerate(sources):
        x, y, z, inside = project_into(source, points)
        if not inside.any():
            continue
        xi, yi = np.rint(x[inside]).astype(np.int64), np.rint(y[inside]).astype(np.int64)
        d = source.depth[yi, xi]
        visible = source.usable[yi, xi] & ((d <= 0) | (d >= z[inside] * (1.0 - occlusion_tolerance)))
        index = np.flatnonzero(inside)[visible]
        colours[i, index] = bilinear(source.image, x[index], y[index]) / 255.0
    views = np.isfinite(colours[..., 0]).sum(axis=0)
    # the per-point median of the views that saw it (NaNs sort last; faster than nanmedian)
    ordered = np.sort(colours, axis=0)
    lower = np.maximum(views - 1, 0) // 2
    upper = views // 2
    every = np.arange(len(points))
    median = 0.5 * (ordered[lower, every] + ordered[np.minimum(upper, len(sources) - 1), every])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN points: no view, cost unused
        spread = np.minimum(np.abs(colours - median).mean(axis=2), truncation)
        cost = np.nanmean(spread, axis=0)
    return np.where(views > 0, cost, truncation).astype(np.float32), views
