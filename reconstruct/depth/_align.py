"""Depth against the sparse points of the camera solve: aligning relative (affine-invariant)
depth to scene units, and checking that a metric depth map agrees with the points.

These let monocular or neural depth, which comes up to an unknown scale and shift, plug
into the same :class:`DepthMap` flow as the multi-view stereo.
"""

from __future__ import annotations

import logging

import numpy as np

from sceneforge.scenegraph import (
    DepthMap,
    InputError,
    Intrinsics,
    RelativeDepth,
    ShapeError,
    SolveError,
    check_array,
    check_rigid,
    invert_rigid,
)

__all__ = ["align_relative_depth", "depth_scale_to_points"]

log = logging.getLogger(__name__)

_RANSAC_ITERATIONS = 256
_INLIER_REL = 0.05


def _points_at_pixels(
    intrinsics: Intrinsics, world_from_cam: np.ndarray, points_in_world: np.ndarray, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns and z-depths of the points that project inside an H×W image in front of the camera."""
    if not isinstance(intrinsics, Intrinsics):
        raise InputError(f"intrinsics must be an Intrinsics, got {type(intrinsics).__name__}")
    world_from_cam = check_rigid(world_from_cam, "world_from_cam")
    points = check_array(points_in_world, "points_in_world", shape=(None, 3), dtype=(np.float64, np.float32), finite=True)
    if (intrinsics.height, intrinsics.width) != tuple(shape):
        raise ShapeError(
            f"the map is {shape[1]}×{shape[0]} but the intrinsics are {intrinsics.width}×{intrinsics.height}; "
            "pass the intrinsics of the map's resolution",
            expected=(intrinsics.height, intrinsics.width),
            actual=tuple(shape),
        )
    cam_from_world = invert_rigid(world_from_cam)
    in_cam = points.astype(np.float64) @ cam_from_world[:3, :3].T + cam_from_world[:3, 3]
    front = in_cam[:, 2] > 0
    in_cam = in_cam[front]
    uv = intrinsics.project(in_cam)
    cols = np.floor(uv[:, 0])
    rows = np.floor(uv[:, 1])
    inside = (cols >= 0) & (cols < intrinsics.width) & (rows >= 0) & (rows < intrinsics.height)
    return rows[inside].astype(np.int64), cols[inside].astype(np.int64), in_cam[inside, 2]


def _least_squares(value: np.ndarray, z: np.ndarray) -> tuple[float, float]:
    design = np.stack([value, np.ones_like(value)], axis=1)
    (scale, shift), *_ = np.linalg.lstsq(design, z, rcond=None)
    return float(scale), float(shift)


def _robust_fit(value: np.ndarray, z: np.ndarray) -> tuple[float, float, np.ndarray]:
    """RANSAC on two-point fits (relative residual threshold), then least squares on the
    inliers, repeated once with the threshold from the inliers' own spread (MAD)."""
    rng = np.random.default_rng(0)
    n = len(z)
    best = np.zeros(n, dtype=bool)
    pairs = rng.integers(0, n, size=(_RANSAC_ITERATIONS, 2))
    for a, b in pairs:
        if value[a] == value[b]:
            continue
        scale = (z[a] - z[b]) / (value[a] - value[b])
        shift = z[a] - scale * value[a]
        inliers = np.abs(scale * value + shift - z) <= _INLIER_REL * z
        if inliers.sum() > best.sum():
            best = inliers
    if best.sum() < 2:
        return (*_least_squares(value, z), np.ones(n, dtype=bool))
    scale, shift = _least_squares(value[best], z[best])
    for _ in range(2):
        residual = np.abs(scale * value + shift - z) / z
        spread = 1.4826 * np.median(residual[best])
        # the floor keeps exact data (spread 0) from losing inliers to float32 rounding
        inliers = residual <= max(3.0 * spread, 1e-4)
        if inliers.sum() < 2:
            break
        best = inliers
        scale, shift = _least_squares(value[best], z[best])
    return scale, shift, best


def align_relative_depth(
    relative: RelativeDepth,
    *,
    intrinsics: Intrinsics,
    world_from_cam: np.ndarray,
    points_in_world: np.ndarray,
    robust: bool = True,
    min_points: int = 10,
) -> tuple[DepthMap, float, float]:
    """Fit ``z = scale · value + shift`` to the sparse points a frame sees and apply it.

    The points are projected into the frame; each one inside the image, in front of the
    camera, on a valid pixel pairs its z-depth with the relative value at that pixel.

    Args:
        relative: the frame's H×W relative depth (larger = farther).
        intrinsics: the frame's camera at the map's resolution (width = W, height = H).
        world_from_cam: 4×4 float64 pose of the frame.
        points_in_world: N×3 sparse points (scene units), e.g. ``track.points.points_in_world``.
        robust: RANSAC with a relative-residual threshold, then least squares on the inliers
            (points occluded in this frame, or a network's mistakes, are outliers); plain
            least squares when False.
        min_points: fewer usable points than this raise.

    Returns:
        ``(depth, scale, shift)``: an H×W :class:`DepthMap` (z-depth in scene units; 0 where
        the relative map is invalid or the fit gives no positive depth; confidence = the
        share of points that fit, on every pixel with depth), and the fitted coefficients.

    Raises:
        InputError / ShapeError: wrong types or shapes; fewer than ``min_points`` usable points.
        SolveError: the fit makes depth decrease with the relative value (scale ≤ 0).
    """
    if not isinstance(relative, RelativeDepth):
        raise InputError(f"relative must be a RelativeDepth, got {type(relative).__name__}")
    rows, cols, z = _points_at_pixels(intrinsics, world_from_cam, points_in_world, relative.value.shape)
    usable = relative.valid[rows, cols] & np.isfinite(relative.value[rows, cols])
    rows, cols, z = rows[usable], cols[usable], z[usable]
    if len(z) < max(min_points, 2):
        raise InputError(
            f"aligning relative depth needs at least {max(min_points, 2)} sparse points on valid pixels of frame "
            f"{relative.frame_number}, got {len(z)}; check the pose and intrinsics or use more points"
        )
    value = relative.value[rows, cols].astype(np.float64)
    if robust:
        scale, shift, inliers = _robust_fit(value, z)
    else:
        scale, shift = _least_squares(value, z)
        inliers = np.ones(len(z), dtype=bool)
    if not scale > 0:
        raise SolveError(
            f"relative depth of frame {relative.frame_number} fits the sparse points only with scale {scale:.3g} ≤ 0; "
            "the map is probably inverse depth (convert it: larger must mean farther)"
        )
    depth = scale * relative.value.astype(np.float64) + shift
    valid = relative.valid & np.isfinite(depth) & (depth > 0)
    fit_share = float(inliers.mean())
    out = DepthMap(
        depth=np.where(valid, depth, 0.0).astype(np.float32),
        confidence=np.where(valid, fit_share, 0.0).astype(np.float32),
        frame_number=relative.frame_number,
    )
    log.debug(
        "aligned frame %d: scale %.4g shift %.4g, %d/%d points fit", relative.frame_number, scale, shift, inliers.sum(), len(z)
    )
    return out, scale, shift


def depth_scale_to_points(
    depth: DepthMap,
    *,
    intrinsics: Intrinsics,
    world_from_cam: np.ndarray,
    points_in_world: np.ndarray,
) -> float:
    """Median over sparse points of (point z-depth) / (map depth at its pixel).

    A check that a metric depth map agrees with the camera solve: about 1 when it does
    (points hidden behind a surface in this frame give ratios above 1, which the median
    ignores while they are a minority).

    Args:
        depth: the frame's H×W :class:`DepthMap`.
        intrinsics: the frame's camera at the map's resolution.
        world_from_cam: 4×4 float64 pose of the frame.
        points_in_world: N×3 sparse points in scene units.

    Returns:
        The median ratio, or NaN when no point lands on a pixel with depth.
    """
    if not isinstance(depth, DepthMap):
        raise InputError(f"depth must be a DepthMap, got {type(depth).__name__}")
    rows, cols, z = _points_at_pixels(intrinsics, world_from_cam, points_in_world, depth.depth.shape)
    d = depth.depth[rows, cols].astype(np.float64)
    ok = d > 0
    if not ok.any():
        log.warning("frame %d: no sparse point lands on a pixel with depth", depth.frame_number)
        return float("nan")
    return float(np.median(z[ok] / d[ok]))
