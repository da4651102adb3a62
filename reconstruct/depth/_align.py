"""Depth against the sparse points of the camera solve: aligning relative (affine-invariant)
depth or inverse depth to scene units, scaling metric depth to them, and checking that a
metric depth map agrees with the points.

These let monocular or neural depth, which comes up to an unknown scale and shift, plug
into the same :class:`DepthMap` flow as the multi-view stereo.
"""

from __future__ import annotations

import logging

import numpy as np

from dataclasses import dataclass

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

__all__ = ["align_metric_depth", "align_relative_depth", "depth_scale_to_points"]

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


@dataclass(frozen=True)
class Fit:
    """A fitted map from a network's values to depth (see :func:`fit_affine`, :func:`fit_scale`)."""

    scale: float
    shift: float
    """0 for a scale-only fit."""
    share: float
    """Share of the pairs that fit (inliers), in [0, 1]."""
    spread: float
    """Robust relative residual of the inliers (1.4826 × MAD; 0 for exact data)."""
    count: int
    """Pairs the fit saw."""


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


def _spread(residual: np.ndarray) -> float:
    return float(1.4826 * np.median(residual)) if len(residual) else 0.0


def fit_affine(value: np.ndarray, z: np.ndarray, *, inverse: bool = False, robust: bool = True) -> Fit:
    """Fit ``z = scale · value + shift`` (``1 / z = …`` when ``inverse``) to N pairs.

    Args:
        value: N relative values (float64).
        z: N positive z-depths in scene units.
        inverse: fit inverse depth (values that grow as depth shrinks, like disparity); the
            residuals are relative in inverse depth, which to first order are relative in depth.
        robust: RANSAC and least squares on the inliers (see :func:`align_relative_depth`);
            plain least squares when False.

    Returns:
        The :class:`Fit`; its scale may be ≤ 0 (the caller decides what that means).
    """
    target = 1.0 / z if inverse else z
    if robust:
        scale, shift, inliers = _robust_fit(value, target)
    else:
        scale, shift = _least_squares(value, target)
        inliers = np.ones(len(z), dtype=bool)
    residual = np.abs(scale * value[inliers] + shift - target[inliers]) / target[inliers]
    return Fit(scale, shift, float(inliers.mean()), _spread(residual), len(z))


def fit_scale(value: np.ndarray, z: np.ndarray) -> Fit:
    """Fit ``z = scale · value`` to N pairs of positive depths: the median of the log ratios,
    then the mean over the pairs within three robust spreads of it (twice), so that points
    hidden behind a surface in this frame (ratios far above 1) and a network's mistakes do
    not pull the scale.

    Returns:
        The :class:`Fit` (shift 0; scale > 0).
    """
    log_ratio = np.log(z) - np.log(value)
    centre = float(np.median(log_ratio))
    inliers = np.ones(len(z), dtype=bool)
    for _ in range(2):
        deviation = np.abs(log_ratio - centre)
        keep = deviation <= max(3.0 * _spread(deviation[inliers]), 1e-4)
        if keep.sum() < 1:
            break
        inliers = keep
        centre = float(np.mean(log_ratio[inliers]))
    residual = np.abs(np.expm1(log_ratio[inliers] - centre))
    return Fit(float(np.exp(centre)), 0.0, float(inliers.mean()), _spread(residual), len(z))


def apply_fit(value: np.ndarray, valid: np.ndarray, fit: Fit, *, inverse: bool = False,
              max_depth: float | None = None) -> np.ndarray:
    """H×W float32 z-depth from relative values through ``fit``; 0 where ``valid`` is False,
    the mapped depth is not positive and finite, or it exceeds ``max_depth``."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mapped = fit.scale * value.astype(np.float64) + fit.shift
        depth = 1.0 / mapped if inverse else mapped
    ok = valid & np.isfinite(depth) & (depth > 0)
    if max_depth is not None:
        ok &= depth <= max_depth
    return np.where(ok, depth, 0.0).astype(np.float32)


def align_relative_depth(
    relative: RelativeDepth,
    *,
    intrinsics: Intrinsics,
    world_from_cam: np.ndarray,
    points_in_world: np.ndarray,
    robust: bool = True,
    min_points: int = 10,
    max_depth: float | None = None,
) -> tuple[DepthMap, float, float]:
    """Fit ``z = scale · value + shift`` to the sparse points a frame sees and apply it; for
    relative inverse depth (``relative.inverse``, e.g. Depth Anything's disparity) fit
    ``1 / z = scale · value + shift`` instead.

    The points are projected into the frame; each one inside the image, in front of the
    camera, on a valid pixel pairs its z-depth with the relative value at that pixel.

    Args:
        relative: the frame's H×W relative depth (larger = farther), or relative inverse
            depth (larger = nearer) when ``relative.inverse``.
        intrinsics: the frame's camera at the map's resolution (width = W, height = H).
        world_from_cam: 4×4 float64 pose of the frame.
        points_in_world: N×3 sparse points (scene units), e.g. ``track.points.points_in_world``.
        robust: RANSAC with a relative-residual threshold, then least squares on the inliers
            (points occluded in this frame, or a network's mistakes, are outliers); plain
            least squares when False.
        min_points: fewer usable points than this raise.
        max_depth: pixels mapped farther than this (scene units) get no depth; for inverse
            depth, values near the fitted zero (the sky) map to arbitrarily far depths.
            ``None``: no limit.

    Returns:
        ``(depth, scale, shift)``: an H×W :class:`DepthMap` (z-depth in scene units; 0 where
        the relative map is invalid or the fit gives no positive depth; confidence = the
        share of points that fit, on every pixel with depth), and the fitted coefficients
        (of inverse depth when ``relative.inverse``).

    Raises:
        InputError / ShapeError: wrong types or shapes; fewer than ``min_points`` usable points.
        SolveError: the fit makes depth decrease with the relative value (increase, for
            inverse depth): scale ≤ 0.
    """
    if not isinstance(relative, RelativeDepth):
        raise InputError(f"relative must be a RelativeDepth, got {type(relative).__name__}")
    value, z = relative_pairs(relative, intrinsics=intrinsics, world_from_cam=world_from_cam, points_in_world=points_in_world)
    if len(z) < max(min_points, 2):
        raise InputError(
            f"aligning relative depth needs at least {max(min_points, 2)} sparse points on valid pixels of frame "
            f"{relative.frame_number}, got {len(z)}; check the pose and intrinsics or use more points"
        )
    fit = fit_affine(value, z, inverse=relative.inverse, robust=robust)
    if not fit.scale > 0:
        hint = (
            "the map is probably depth, not inverse depth (build it with inverse=False)" if relative.inverse
            else "the map is probably inverse depth (convert it: larger must mean farther, or pass inverse=True)"
        )
        raise SolveError(
            f"relative depth of frame {relative.frame_number} fits the sparse points only with scale {fit.scale:.3g} ≤ 0; {hint}"
        )
    depth = apply_fit(relative.value, relative.valid, fit, inverse=relative.inverse, max_depth=max_depth)
    out = DepthMap(depth=depth, confidence=np.where(depth > 0, fit.share, 0.0).astype(np.float32),
                   frame_number=relative.frame_number)
    log.debug(
        "aligned frame %d%s: scale %.4g shift %.4g, %d/%d points fit", relative.frame_number,
        " (inverse depth)" if relative.inverse else "", fit.scale, fit.shift, round(fit.share * fit.count), fit.count,
    )
    return out, fit.scale, fit.shift


def relative_pairs(
    relative: RelativeDepth, *, intrinsics: Intrinsics, world_from_cam: np.ndarray, points_in_world: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The (relative value, point z-depth) pairs of the sparse points on valid pixels of a frame:
    two float64 arrays of equal length."""
    rows, cols, z = _points_at_pixels(intrinsics, world_from_cam, points_in_world, relative.value.shape)
    usable = relative.valid[rows, cols] & np.isfinite(relative.value[rows, cols])
    return relative.value[rows[usable], cols[usable]].astype(np.float64), z[usable]


def align_metric_depth(
    depth: DepthMap,
    *,
    intrinsics: Intrinsics,
    world_from_cam: np.ndarray,
    points_in_world: np.ndarray,
    min_points: int = 10,
) -> tuple[DepthMap, float]:
    """Scale a metric depth map (metres from a network such as Depth Pro) to the scene units
    of the camera solve: one factor, the robust mean ratio of the sparse points' z-depth to
    the map's depth at their pixels (see :func:`fit_scale`).

    Args:
        depth: the frame's H×W :class:`DepthMap` in the network's units.
        intrinsics: the frame's camera at the map's resolution.
        world_from_cam: 4×4 float64 pose of the frame.
        points_in_world: N×3 sparse points in scene units.
        min_points: fewer points on pixels with depth than this raise.

    Returns:
        ``(scaled, scale)``: the map times ``scale``, its confidence multiplied by the share of
        points that fit; and the scale (scene units per unit of ``depth``; about 1 when the
        solve is metric and the network right).

    Raises:
        InputError / ShapeError: wrong types or shapes; fewer than ``min_points`` usable points.
    """
    if not isinstance(depth, DepthMap):
        raise InputError(f"depth must be a DepthMap, got {type(depth).__name__}")
    rows, cols, z = _points_at_pixels(intrinsics, world_from_cam, points_in_world, depth.depth.shape)
    d = depth.depth[rows, cols].astype(np.float64)
    ok = d > 0
    if ok.sum() < max(min_points, 1):
        raise InputError(
            f"scaling metric depth needs at least {max(min_points, 1)} sparse points on pixels with depth of frame "
            f"{depth.frame_number}, got {int(ok.sum())}; check the pose and intrinsics or use more points"
        )
    fit = fit_scale(d[ok], z[ok])
    scaled = DepthMap(
        depth=(depth.depth * np.float32(fit.scale)).astype(np.float32),
        confidence=(depth.confidence * np.float32(fit.share)).astype(np.float32),
        frame_number=depth.frame_number,
    )
    log.debug("scaled frame %d by %.4g, %d/%d points fit", depth.frame_number, fit.scale, round(fit.share * fit.count), fit.count)
    return scaled, fit.scale


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
