"""World alignment of a solved shot: +Y up, origin near the scene centre.

Structure from motion gives a world frame fixed only up to a similarity. A person
opening the scene in a DCC expects the floor to be level and the scene near the
origin, so the solve is turned rigidly (scale untouched) until +Y is up and the
cameras look along -Z on average, and shifted so the origin sits at the scene centre
(on the ground plane when one is found).
"""

from __future__ import annotations

import logging

import numpy as np

from sceneforge.scenegraph import Similarity

__all__ = ["align_world", "estimate_up", "ground_height"]

log = logging.getLogger(__name__)


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest rotation taking unit vector ``a`` to unit vector ``b``."""
    v = np.cross(a, b)
    c = float(np.dot(a, b))
    if np.linalg.norm(v) < 1e-12:
        if c > 0:
            return np.eye(3)
        # opposite: rotate by pi about any axis perpendicular to a
        axis = np.cross(a, [1.0, 0.0, 0.0])
        if np.linalg.norm(axis) < 1e-6:
            axis = np.cross(a, [0.0, 1.0, 0.0])
        axis /= np.linalg.norm(axis)
        return 2.0 * np.outer(axis, axis) - np.eye(3)
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx / (1.0 + c)


def _ground_plane(points: np.ndarray, up: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float] | None:
    """RANSAC for the dominant plane whose normal is within 25° of ``up`` and that lies below
    most points; returns (unit normal pointing up, offset d with n·x = d) or None."""
    if len(points) < 50:
        return None
    extent = np.percentile(points, 95, axis=0) - np.percentile(points, 5, axis=0)
    threshold = 0.01 * float(np.linalg.norm(extent))
    best, best_count = None, 0
    for _ in range(300):
        sample = points[rng.choice(len(points), 3, replace=False)]
        normal = np.cross(sample[1] - sample[0], sample[2] - sample[0])
        norm = np.linalg.norm(normal)
        if norm < 1e-12:
            continue
        normal /= norm
        if np.dot(normal, up) < 0:
            normal = -normal
        if np.dot(normal, up) < np.cos(np.radians(25)):
            continue
        d = float(np.dot(normal, sample[0]))
        heights = points @ normal - d
        count = int(np.sum(np.abs(heights) < threshold))
        # a floor has most of the scene above it
        if count > best_count and np.mean(heights > -threshold) > 0.8:
            best, best_count = (normal, d), count
    if best is None or best_count < 0.1 * len(points):
        return None
    normal, d = best
    inliers = points[np.abs(points @ normal - d) < threshold]
    centre = inliers.mean(axis=0)
    _, _, vt = np.linalg.svd(inliers - centre)
    refined = vt[2] if np.dot(vt[2], normal) > 0 else -vt[2]
    return refined, float(np.dot(refined, centre))


def estimate_up(world_from_cam: np.ndarray) -> np.ndarray:
    """World up as the mean of the cameras' up vectors (OpenCV cameras: up is -Y)."""
    up = -world_from_cam[:, :3, 1].mean(axis=0)
    norm = np.linalg.norm(up)
    return up / norm if norm > 1e-9 else np.array([0.0, 1.0, 0.0])


def align_world(world_from_cam: np.ndarray, points_in_world: np.ndarray, *, seed: int = 0) -> Similarity:
    """The rigid ``aligned_from_world`` that puts +Y up and the origin at the scene centre.

    Args:
        world_from_cam: N×4×4 solved poses.
        points_in_world: M×3 sparse points (may be empty).

    Returns:
        A :class:`Similarity` with scale 1.
    """
    rng = np.random.default_rng(seed)
    up = estimate_up(world_from_cam)
    plane = _ground_plane(points_in_world, up, rng)
    if plane is not None:
        up = plane[0]
        log.info("ground plane found; world up taken from its normal")
    rotation = _rotation_between(up, np.array([0.0, 1.0, 0.0]))
    # Yaw: the cameras' mean viewing direction, flattened, points along -Z.
    forward = rotation @ world_from_cam[:, :3, 2].mean(axis=0)
    forward[1] = 0.0
    if np.linalg.norm(forward) > 1e-9:
        forward /= np.linalg.norm(forward)
        yaw = np.arctan2(forward[0], -forward[2])
        c, s = np.cos(yaw), np.sin(yaw)
        rotation = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]) @ rotation
    if len(points_in_world) >= 10:
        centre = np.median(points_in_world, axis=0)
    else:
        centre = world_from_cam[:, :3, 3].mean(axis=0)
    centre = rotation @ centre
    if plane is not None:
        centre[1] = plane[1]  # the rotated plane is y = d
    return Similarity(1.0, rotation, -centre)


def ground_height(points_in_world: np.ndarray, *, seed: int = 0) -> float | None:
    """The height (y) of the ground plane in an aligned world (+Y up), or None when the sparse
    points show no dominant level plane below most of them."""
    plane = _ground_plane(np.asarray(points_in_world, dtype=np.float64), np.array([0.0, 1.0, 0.0]), np.random.default_rng(seed))
    if plane is None or plane[0][1] < np.cos(np.radians(10)):
        return None
    return float(plane[1] / plane[0][1])
