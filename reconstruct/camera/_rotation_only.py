"""A pan from a fixed point: telling it from a moving camera, and solving it by homographies.

A camera that only rotates sees no parallax, so structure from motion cannot triangulate;
its frames are related by homographies ``H = K R K⁻¹`` instead, from which one focal length
and the rotations follow.
"""

from __future__ import annotations

import numpy as np

from ._keyframe_map import KeyframeMap

__all__ = ["focal_from_homographies", "is_pure_rotation", "nearest_rotation", "rotation_cost"]


def is_pure_rotation(smap: KeyframeMap, *, min_inlier_ratio: float = 0.9, max_cost: float = 0.02) -> bool:
    """True when the solved keyframes show no parallax: pairs of keyframes (a quarter of them
    apart) are related by homographies (within 1 px) that are rotations for one common focal length.

    A planar scene filmed with a moving camera also gives homographies, but not rotations
    (``K⁻¹ H K = R + t nᵀ / d``), so it is not mistaken for a pan.
    """
    import cv2

    frames = sorted(smap.observations)
    homographies, ratios = [], []
    # Pairs a quarter of the keyframes apart: when every frame is a keyframe (short clips),
    # neighbours have too little baseline for their parallax to exceed the 1 px tolerance.
    step = max(1, len(frames) // 4)
    for a, b in zip(frames, frames[step:]):
        obs_a, obs_b = smap.observations[a], smap.observations[b]
        _, in_a, in_b = np.intersect1d(obs_a.point_index, obs_b.point_index, return_indices=True)
        if len(in_a) < 15:
            continue
        # pixel-centre convention is irrelevant here: both sides use the same one
        h, inliers = cv2.findHomography(obs_a.pixels[in_a], obs_b.pixels[in_b], cv2.RANSAC, 1.0)
        if h is None:
            continue
        homographies.append(h)
        ratios.append(float(inliers.mean()))
    if len(ratios) < 2 or float(np.median(ratios)) < min_inlier_ratio:
        return False
    camera = smap.cameras[frames[0]]
    width, height = int(camera.width), int(camera.height)
    focal = focal_from_homographies(np.stack(homographies), width, height)
    return rotation_cost(np.stack(homographies), focal, width, height) < max_cost


def rotation_cost(homographies: np.ndarray, focal: float, width: int, height: int) -> float:
    """Mean distance from orthonormality of ``K⁻¹ H K`` (scaled to det 1) over the homographies."""
    k = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1.0]])
    k_inv = np.linalg.inv(k)
    total = 0.0
    for h in homographies:
        m = k_inv @ h @ k
        det = np.linalg.det(m)
        m = m / np.cbrt(det) if det > 0 else m
        total += float(np.linalg.norm(m.T @ m - np.eye(3)))
    return total / len(homographies)


def nearest_rotation(m: np.ndarray) -> np.ndarray:
    u, _, vt = np.linalg.svd(m)
    r = u @ vt
    if np.linalg.det(r) < 0:
        r = u @ np.diag([1.0, 1.0, -1.0]) @ vt
    return r


def focal_from_homographies(homographies: np.ndarray, width: int, height: int) -> float:
    """The focal length (px) that makes the homographies of a pan most like rotations."""
    candidates = np.geomspace(0.3, 5.0, 200) * max(width, height)
    costs = [rotation_cost(homographies, f, width, height) for f in candidates]
    return float(candidates[int(np.argmin(costs))])
