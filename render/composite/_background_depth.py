"""Depth of the background behind what an edit removed, where the background mesh has none.

The background mesh is fused from what the frames saw, so behind an object that stood in
every frame it has a hole. Filling that hole smoothly (in inverse depth) bends the floor up
into the wall behind a table; reprojection through such a depth finds nothing, because the
other frames saw the real floor and wall. Man-made backgrounds are mostly planes, so the
planes around the hole are fitted (RANSAC on the background around it) and each hole pixel
takes the nearest plane its ray meets behind the removed object — inside a room, the
surface a ray meets first is the nearest plane, which continues a floor under the table
and a wall down to the floor. What no plane explains is filled smoothly as before.
"""

from __future__ import annotations

import numpy as np

from sceneforge.scenegraph import Intrinsics

from ..hole_filling._push_pull import fill_holes

__all__ = ["background_depth", "fit_planes", "planes_around", "plane_depths"]


def fit_planes(
    points: np.ndarray, *, threshold: float, max_planes: int = 4, min_share: float = 0.05, iterations: int = 300, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Planes found one after another by RANSAC, each with its inliers.

    A plane is a 4-vector ``(n, d)`` with ``n·p + d = 0`` and ``|n| = 1``; it is kept while it
    holds at least ``min_share`` of the points; its inliers (within ``threshold``, indices
    into ``points``) are removed before the next search.
    """
    rng = np.random.default_rng(seed)
    planes: list[tuple[np.ndarray, np.ndarray]] = []
    remaining = points
    index = np.arange(len(points))
    total = len(points)
    for _ in range(max_planes):
        if len(remaining) < max(3, min_share * total):
            break
        picks = rng.integers(0, len(remaining), size=(iterations, 3))
        a, b, c = remaining[picks[:, 0]], remaining[picks[:, 1]], remaining[picks[:, 2]]
        normals = np.cross(b - a, c - a)
        norms = np.linalg.norm(normals, axis=1)
        good = norms > 1e-12
        if not good.any():
            break
        normals = normals[good] / norms[good, None]
        offsets = -np.einsum("ij,ij->i", normals, a[good])
        distances = np.abs(remaining @ normals.T + offsets)
        counts = (distances < threshold).sum(axis=0)
        best = int(np.argmax(counts))
        if counts[best] < min_share * total:
            break
        inliers = distances[:, best] < threshold
        # Refit on the inliers (least squares), for a plane not tied to three noisy points.
        centre = remaining[inliers].mean(axis=0)
        _, _, vt = np.linalg.svd(remaining[inliers] - centre, full_matrices=False)
        normal = vt[-1]
        planes.append((np.append(normal, -normal @ centre), index[inliers]))
        remaining, index = remaining[~inliers], index[~inliers]
    return planes


def planes_around(
    depth: np.ndarray, known: np.ndarray, hole: np.ndarray, intrinsics: Intrinsics, *,
    fit_on: np.ndarray | None = None, ring_px: int = 25, max_points: int = 6000,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray, np.ndarray]:
    """Planes of the known depth in a ring around ``hole`` (camera frame), with their inliers.

    Returns ``(planes, rows, cols)``: the planes as :func:`fit_planes` gives them, their
    inliers indexing the ring pixels ``rows``, ``cols`` that were fitted (none when fewer
    than 30 ring pixels have depth).
    """
    import cv2

    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring_px + 1, 2 * ring_px + 1))
    ring = cv2.dilate(hole.astype(np.uint8), kernel).astype(bool) & known & (depth > 0)
    if fit_on is not None:
        ring &= fit_on
    rows, cols = np.nonzero(ring)
    if len(rows) < 30:
        return [], rows, cols
    if len(rows) > max_points:
        keep = np.random.default_rng(0).choice(len(rows), max_points, replace=False)
        rows, cols = rows[keep], cols[keep]
    uv = np.column_stack([cols + 0.5, rows + 0.5])
    points = intrinsics.unproject(uv, depth[rows, cols].astype(np.float64))
    threshold = 0.01 * float(np.median(points[:, 2]))
    return fit_planes(points, threshold=threshold), rows, cols


def plane_depths(planes: list[np.ndarray], intrinsics: Intrinsics, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """N×P z-depths at which the pixels' rays meet each camera-frame plane (inf where they
    do not, in front of the camera)."""
    rays = intrinsics.unproject(np.column_stack([cols + 0.5, rows + 0.5]), np.ones(len(rows)))
    out = np.full((len(rows), len(planes)), np.inf)
    for j, plane in enumerate(planes):
        with np.errstate(divide="ignore", invalid="ignore"):
            z = -plane[3] / (rays @ plane[:3])
        out[:, j] = np.where(np.isfinite(z) & (z > 0), z, np.inf)
    return out


def background_depth(
    depth: np.ndarray,
    known: np.ndarray,
    hole: np.ndarray,
    intrinsics: Intrinsics,
    *,
    behind: np.ndarray | None = None,
    fit_on: np.ndarray | None = None,
    ring_px: int = 25,
    max_points: int = 6000,
) -> np.ndarray:
    """``depth`` completed over ``hole``: planes fitted around it where they explain it, else smooth.

    Args:
        depth: H×W float32 z-depth of the background where ``known``.
        known: H×W bool, pixels whose depth is the background's (the mesh covers them).
        hole: H×W bool, pixels that need a background depth.
        intrinsics: the camera the depth is seen from.
        behind: H×W float32, optional: a hole pixel's background lies behind this depth (the
            removed object's own depth there); 0 for no constraint.
        fit_on: H×W bool, optional: only these known pixels carry the planes (the background
            itself, not the objects standing on it).
        ring_px: width of the band around the hole whose known depth the planes are fitted to.
        max_points: at most this many band pixels are used for the fit.

    Returns:
        H×W float32 depth, equal to ``depth`` where known; 0 where nothing could be said.
    """
    import cv2

    out = np.where(known, depth, 0.0).astype(np.float32)
    missing = hole & ~known
    if not missing.any():
        return out
    planes, rows, cols = planes_around(depth, known, hole, intrinsics, fit_on=fit_on, ring_px=ring_px, max_points=max_points)
    if planes:
        mr, mc = np.nonzero(missing)
        floor = np.zeros(len(mr)) if behind is None else behind[mr, mc].astype(np.float64) * 0.98
        z_all = plane_depths([plane for plane, _ in planes], intrinsics, mr, mc)
        # A plane continues into the hole only near where it was seen: a table top seen
        # below a removed ball does not extend up to the wall behind the ball's top.
        reach = max(8.0, 0.3 * float(np.sqrt(hole.sum())))
        best = np.full(len(mr), np.inf)
        best_any = np.full(len(mr), np.inf)
        for (_, inliers), z in zip(planes, z_all.T):
            seen_at = np.ones(hole.shape, np.uint8)
            seen_at[rows[inliers], cols[inliers]] = 0
            near = cv2.distanceTransform(seen_at, cv2.DIST_L2, 3)[mr, mc] <= reach
            ok = np.isfinite(z) & (z > floor)
            best = np.where(ok & near & (z < best), z, best)
            best_any = np.where(ok & (z < best_any), z, best_any)
        # Far from every plane's support, the nearest plane behind the object still beats a
        # smooth blend of the depths around the hole.
        best = np.where(np.isfinite(best), best, best_any)
        solved = np.isfinite(best)
        out[mr[solved], mc[solved]] = best[solved].astype(np.float32)
    still = missing & (out <= 0)
    have = out > 0
    if still.any() and have.any():
        inverse = np.where(have, 1.0 / np.maximum(out, 1e-6), 0.0).astype(np.float32)[..., None]
        smooth = fill_holes(inverse, have)[..., 0]
        out[still] = 1.0 / np.maximum(smooth[still], 1e-6)
    return out
