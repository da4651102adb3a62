"""Depth for a shot without parallax: a sphere at a nominal distance around the camera.

A camera that only rotates (a pan from a fixed point, or a shot whose moving-camera solve
fell back to one) gives no depth from motion. Its frames still make a scene: every pixel is
placed on a sphere of a nominal radius centred on the camera, so the fused background is a
panorama textured from all frames, and reprojection between frames — which for a pure
rotation does not depend on depth — is exact. Objects stand nearer, as cards in front of
it. The depth says nothing about the real distances, and its confidence says so.
"""

from __future__ import annotations

import numpy as np

from sceneforge.scenegraph import CameraTrack, DepthMap, DepthMaps, InputError, check_array

__all__ = ["NOMINAL_CONFIDENCE", "nominal_depths"]

NOMINAL_CONFIDENCE = 0.3
"""Confidence of nominal depth: low (it is placed, not measured), yet above the background
fusion's default threshold, so that the panorama is fused."""


def nominal_depths(
    track: CameraTrack,
    *,
    distance: float = 10.0,
    near: np.ndarray | None = None,
    near_fraction: float = 0.5,
) -> DepthMaps:
    """Every frame's depth on a sphere of radius ``distance`` around its camera.

    Args:
        track: the shot's cameras (their intrinsics give each pixel's ray).
        distance: the sphere's radius, in scene units.
        near: N×H×W bool, optional: pixels of objects (the prompted subjects), placed at
            ``near_fraction`` of the distance so that they stand in front of the panorama.
        near_fraction: see ``near``.

    Returns:
        One :class:`DepthMap` per frame (z-depth, so ``distance`` times the cosine of each
        pixel's angle to the optical axis), confidence :data:`NOMINAL_CONFIDENCE`.
    """
    if not (np.isfinite(distance) and distance > 0):
        raise InputError(f"distance must be a positive number of scene units, got {distance}")
    if not 0 < near_fraction < 1:
        raise InputError(f"near_fraction must be in (0, 1), got {near_fraction}")
    first = track.intrinsics[0]
    h, w = first.height, first.width
    if near is not None:
        check_array(near, "near", shape=(len(track), h, w), dtype=bool)
    rows, cols = np.mgrid[0:h, 0:w]
    uv = np.column_stack([cols.ravel() + 0.5, rows.ravel() + 0.5])
    maps, cache = [], {}
    for i, (intrinsics, number) in enumerate(zip(track.intrinsics, track.frame_numbers)):
        key = intrinsics.K.tobytes() + intrinsics.radial.tobytes()
        if key not in cache:
            rays = intrinsics.unproject(uv, np.ones(len(uv)))
            cache[key] = (distance / np.linalg.norm(rays, axis=1)).reshape(h, w).astype(np.float32)
        depth = cache[key]
        if near is not None and near[i].any():
            depth = np.where(near[i], depth * np.float32(near_fraction), depth)
        maps.append(DepthMap(depth=depth.copy(), confidence=np.full((h, w), NOMINAL_CONFIDENCE, np.float32),
                             frame_number=int(number)))
    return DepthMaps(maps)
