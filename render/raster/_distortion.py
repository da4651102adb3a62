"""Lens distortion: rendering a distorted camera through a pinhole canvas.

Intrinsics with radial distortion are rendered as a pinhole image on a canvas large
enough to hold every distorted pixel's ray, then resampled onto the distorted pixel grid
with ``cv2.remap`` (maps computed once per camera from ``Intrinsics.unproject``, exact to
1/32 px, OpenCV's fixed-point step), so the passes line up with the original plate for
compositing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from sceneforge.scenegraph import InputError, Intrinsics

from ._passes import RenderPasses

__all__ = ["Undistortion", "build_undistortion", "distort_passes"]

log = logging.getLogger(__name__)

_MAX_CANVAS_SCALE = 2.0
"""An undistorted canvas may be at most this many times the image size per axis."""


@dataclass(frozen=True)
class Undistortion:
    """How a distorted camera is rendered: a pinhole canvas and the maps back to the plate."""

    pinhole: Intrinsics
    fixed_maps: tuple[np.ndarray, np.ndarray]  # cv2.convertMaps of the H×W canvas x and y
    nearest_index: np.ndarray  # H×W int64 flat canvas index of the nearest canvas pixel


def build_undistortion(intrinsics: Intrinsics) -> Undistortion:
    """The pinhole canvas and resampling maps for a camera with radial distortion.

    Raises:
        InputError: the distortion cannot be inverted over the image.
    """
    import cv2

    w, h = intrinsics.width, intrinsics.height
    jj, ii = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    pixels = np.stack([jj.ravel() + 0.5, ii.ravel() + 0.5], axis=1)
    rays = intrinsics.unproject(pixels, np.ones(len(pixels)))
    residual = np.abs(intrinsics.project(rays) - pixels).max()
    if not np.isfinite(residual) or residual > 1e-3:
        raise InputError(
            f"lens distortion {intrinsics.radial.tolist()} cannot be inverted over the image "
            f"(residual {residual:.3g} px); check the radial coefficients"
        )
    k = intrinsics.K
    # The pinhole camera with the same focal lengths, shifted so that every ray lands on the canvas.
    u0 = k[0, 0] * rays[:, 0] + k[0, 1] * rays[:, 1]
    v0 = k[1, 1] * rays[:, 1]
    margin = 2.0
    scale = 1.0
    span_u, span_v = u0.max() - u0.min() + 2 * margin, v0.max() - v0.min() + 2 * margin
    limit = min(_MAX_CANVAS_SCALE * w / span_u, _MAX_CANVAS_SCALE * h / span_v)
    if limit < 1.0:
        scale = limit
        log.warning("strong lens distortion: the pinhole canvas is rendered at %.2f× resolution", scale)
    cx = margin - scale * u0.min()
    cy = margin - scale * v0.min()
    canvas_w = int(np.ceil(scale * u0.max() + cx + margin))
    canvas_h = int(np.ceil(scale * v0.max() + cy + margin))
    pinhole_k = np.array([[scale * k[0, 0], scale * k[0, 1], cx], [0.0, scale * k[1, 1], cy], [0.0, 0.0, 1.0]])
    pinhole = Intrinsics(K=pinhole_k, width=canvas_w, height=canvas_h)
    canvas_uv = pinhole.project(rays)
    # cv2 puts pixel centres at integer coordinates, we at +0.5.
    map_x = (canvas_uv[:, 0] - 0.5).reshape(h, w).astype(np.float32)
    map_y = (canvas_uv[:, 1] - 0.5).reshape(h, w).astype(np.float32)
    fixed = cv2.convertMaps(map_x, map_y, cv2.CV_16SC2)
    cols = np.clip(np.floor(canvas_uv[:, 0]).astype(np.int64), 0, canvas_w - 1)
    rows = np.clip(np.floor(canvas_uv[:, 1]).astype(np.int64), 0, canvas_h - 1)
    nearest = (rows * canvas_w + cols).reshape(h, w)
    return Undistortion(pinhole=pinhole, fixed_maps=fixed, nearest_index=nearest)


def distort_passes(passes: RenderPasses, undistortion: Undistortion) -> RenderPasses:
    """Resample pinhole-canvas passes onto the distorted image grid."""
    import cv2

    m1, m2 = undistortion.fixed_maps
    nearest = undistortion.nearest_index

    def gather(image: np.ndarray) -> np.ndarray:
        flat = image.reshape(image.shape[0] * image.shape[1], *image.shape[2:])
        return flat[nearest]

    def bilinear(image: np.ndarray) -> np.ndarray:
        return cv2.remap(image, m1, m2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    out: dict[str, np.ndarray] = {}
    if passes.rgb is not None:
        out["rgb"] = np.clip(bilinear(passes.rgb), 0.0, 1.0)
    # Depth and normals are interpolated inside a surface only; across a silhouette or an
    # occlusion the nearest sample is taken, so no value between two surfaces is invented.
    smooth = np.zeros(nearest.shape, dtype=bool)
    if passes.depth is not None:
        depth_nearest = gather(passes.depth)
        depth_linear = bilinear(passes.depth)
        covered = bilinear((passes.depth > 0).astype(np.float32)) > 1.0 - 1e-4
        smooth = covered & (np.abs(depth_linear - depth_nearest) <= 0.02 * depth_nearest)
        out["depth"] = np.where(smooth, depth_linear, depth_nearest)
    if passes.normals is not None:
        n_nearest = gather(passes.normals)
        n_linear = bilinear(passes.normals)
        length = np.linalg.norm(n_linear, axis=2, keepdims=True)
        smooth &= length[..., 0] > 0.5
        out["normals"] = np.where(smooth[..., None], n_linear / np.maximum(length, 1e-12), n_nearest)
    if passes.coverage is not None:
        out["coverage"] = gather(passes.coverage)
    if passes.object_id is not None:
        out["object_id"] = gather(passes.object_id)
    return RenderPasses(**out)

