"""The multi-view geometric consistency filter: keep the depth that neighbouring frames confirm."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from sceneforge.scenegraph import CameraTrack, DepthMap, DepthMaps, InputError, Intrinsics, invert_rigid

from .._checks import depths_by_index
from .._progress import ProgressFn
from .._threads import idle_cores, torch_threads
from ._source_views import select_sources, visible_points

if TYPE_CHECKING:
    import torch

__all__ = ["UNCONFIRMED_CONFIDENCE", "checked_depths", "confirmed_depths", "filter_consistent"]

UNCONFIRMED_CONFIDENCE = 0.1
"""Checked depth that no two views confirmed carries at most this confidence (see :func:`checked_depths`)."""


def filter_consistent(
    depths: DepthMaps | Mapping[int, DepthMap] | Iterable[DepthMap],
    track: CameraTrack,
    *,
    min_views: int = 2,
    max_rel_depth_error: float = 0.01,
    max_reproj_px: float = 1.0,
    num_neighbors: int = 5,
    loose_rel_depth_error: float | None = None,
    loose_reproj_px: float = 3.0,
    unconfirmed_weight: float = 0.5,
    only: Collection[int] | None = None,
    progress: ProgressFn | None = None,
) -> DepthMaps:
    """Keep the pixels whose depth agrees with neighbouring frames' depth (multi-view check).

    A pixel's 3D point is projected into each neighbouring frame; that frame's depth there
    (bilinear where its four pixels have depth) lifts a point that is projected back. The
    view agrees when the round trip lands within ``max_reproj_px`` of the pixel and its
    z-depth within ``max_rel_depth_error`` (relative) of the pixel's depth. Pixels that
    agree with fewer than ``min_views`` neighbours lose their depth.

    Args:
        depths: the depth maps, keyed by source frame number (:class:`DepthMaps`, a mapping
            whose keys are the maps' frame numbers, or DepthMap objects); each H×W at its
            camera's image size, its frame one of the track's.
        track: the cameras the depths belong to.
        min_views: neighbours that must agree for a pixel to be kept.
        max_rel_depth_error: relative z-depth tolerance of the round trip.
        max_reproj_px: pixel tolerance of the round trip.
        num_neighbors: neighbours checked per frame, picked among ``depths`` like the
            stereo's source views (a useful triangulation angle), else nearest in time.
        loose_rel_depth_error: with a value, pixels that are not confirmed are not all dropped:
            one that some neighbour agrees with at this looser relative tolerance (and
            ``loose_reproj_px``), or that no neighbour could check (none has depth there), keeps
            its depth at ``unconfirmed_weight`` × its confidence; only the pixels every neighbour
            that sees them contradicts lose their depth. ``None``: every unconfirmed pixel is dropped.
        loose_reproj_px: pixel tolerance of the loose check.
        unconfirmed_weight: confidence factor of the kept unconfirmed pixels.
        only: source frame numbers to check (the others serve as neighbours only), e.g. one
            worker's share of the frames; None checks every frame.
        progress: optional ``progress(stage, done, total)`` callback.

    Returns:
        The filtered :class:`DepthMaps`, keyed by source frame number like ``depths``; the
        confidence of a kept pixel is scaled by the share of the neighbours that saw it
        (inside, with depth) and agreed.

    Raises:
        InputError: a frame the track does not have, a depth map whose size does not match
            its camera, or bad thresholds.
    """
    import torch

    if min_views < 1 or num_neighbors < 1:
        raise InputError(f"min_views and num_neighbors must be ≥ 1, got {min_views} and {num_neighbors}")
    if not (max_rel_depth_error > 0 and max_reproj_px > 0):
        raise InputError(
            f"max_rel_depth_error and max_reproj_px must be positive, got {max_rel_depth_error} and {max_reproj_px}"
        )
    if loose_rel_depth_error is not None and not (
        loose_rel_depth_error >= max_rel_depth_error and loose_reproj_px >= max_reproj_px and 0 <= unconfirmed_weight <= 1
    ):
        raise InputError(
            "the loose check must be at least as tolerant as the strict one and unconfirmed_weight in [0, 1], got "
            f"{loose_rel_depth_error}, {loose_reproj_px}, {unconfirmed_weight}"
        )
    if not isinstance(track, CameraTrack):
        raise InputError(f"track must be a CameraTrack, got {type(track).__name__}; solve the camera first")
    # Neighbours and poses are looked up by frame index (position in the track).
    depths = depths_by_index(depths, track, exact_size=True)
    keys = sorted(int(i) for i in depths)
    chosen = None if only is None else {int(n) for n in only}
    wanted = keys if chosen is None else [i for i in keys if int(track.frame_numbers[i]) in chosen]
    rays = {}
    out: list[DepthMap] = []
    cam_from_world = invert_rigid(track.world_from_cam)
    with torch_threads(idle_cores()), torch.inference_mode():
        tensors = {i: torch.from_numpy(depths[i].depth) for i in keys}
        for done, i in enumerate(wanted):
            dm = depths[i]
            neighbours = select_sources(
                track, i, visible_points(track, i), count=num_neighbors,
                target_angle_rad=np.radians(5.0), min_angle_rad=np.radians(0.5), candidates=keys,
            )
            if len(neighbours) < num_neighbors:
                by_time = sorted((k for k in keys if k != i and k not in neighbours), key=lambda k: abs(k - i))
                neighbours += by_time[: num_neighbors - len(neighbours)]
            depth = tensors[i]
            valid = depth > 0
            agree = torch.zeros(depth.shape, dtype=torch.int32)
            loose = torch.zeros(depth.shape, dtype=torch.int32)
            seen = torch.zeros(depth.shape, dtype=torch.int32)
            intr = track.intrinsics[i]
            if intr not in rays:
                rays[intr] = _pixel_rays(intr)
            ray, pix = rays[intr]
            points_i = ray[valid] * depth[valid][:, None]  # M×3 in camera i
            for j in neighbours:
                j_from_i_64 = cam_from_world[j] @ track.world_from_cam[i]
                j_from_i = torch.from_numpy(j_from_i_64.astype(np.float32))
                i_from_j = torch.from_numpy(invert_rigid(j_from_i_64).astype(np.float32))
                points_j = points_i @ j_from_i[:3, :3].T + j_from_i[:3, 3]
                uv_j = _project(track.intrinsics[j], points_j)
                d_j, ok = _sample_depth(tensors[j], uv_j)
                ok &= points_j[:, 2] > 0
                back_j = points_j * (d_j / points_j[:, 2].clamp_min(1e-12))[:, None]  # j's surface along the same ray
                back_i = back_j @ i_from_j[:3, :3].T + i_from_j[:3, 3]
                uv_i = _project(track.intrinsics[i], back_i)
                reproj = torch.linalg.norm(uv_i - pix[valid], dim=1)
                rel = (back_i[:, 2] - depth[valid]).abs() / depth[valid]
                good = ok & (reproj <= max_reproj_px) & (rel <= max_rel_depth_error)
                agree[valid] += good.to(torch.int32)
                seen[valid] += ok.to(torch.int32)
                if loose_rel_depth_error is not None:
                    fair = ok & (reproj <= loose_reproj_px) & (rel <= loose_rel_depth_error)
                    loose[valid] += fair.to(torch.int32)
            keep = valid & (agree >= min_views)
            share = agree.to(torch.float32) / seen.clamp_min(1).to(torch.float32)
            conf = torch.from_numpy(dm.confidence)
            new_conf = torch.where(keep, conf * share, torch.zeros_like(depth))
            if loose_rel_depth_error is not None:
                kept_loosely = valid & ~keep & ((loose > 0) | (seen == 0))
                new_conf = torch.where(kept_loosely, conf * unconfirmed_weight, new_conf)
                keep = keep | kept_loosely
            new_depth = torch.where(keep, depth, torch.zeros_like(depth)).numpy()
            new_conf = new_conf.numpy()
            out.append(
                DepthMap(depth=new_depth.astype(np.float32), confidence=new_conf.astype(np.float32), frame_number=dm.frame_number)
            )
            if progress:
                progress("depth consistency", done + 1, len(wanted))
    return DepthMaps(out)


def checked_depths(
    depths: DepthMaps | Mapping[int, DepthMap] | Iterable[DepthMap], track: CameraTrack, *,
    only: Collection[int] | None = None, progress: ProgressFn | None = None,
) -> DepthMaps:
    """The depth a scene keeps (what the depth stage writes and the USD references): the
    multi-view check of :func:`filter_consistent` that drops only what the neighbouring views
    contradict. Pixels confirmed within 1 % by two neighbours keep their confidence (scaled by
    the share that agreed); pixels within 5 % of one neighbour, or that no neighbour could
    check, keep their depth at :data:`UNCONFIRMED_CONFIDENCE` (0.1) × their confidence — the
    background fusion integrates them, objects use only the confirmed depth
    (:func:`confirmed_depths`); the rest are dropped.

    Measured on 7-Scenes kitchen (PatchMatch depth of frames 100–160, fused, F-score at 5 cm
    after ICP against the Kinect's fused depth): fusing only the pixels two views confirm
    reached F 0.52 (precision 0.95, recall 0.36); fusing what this keeps reaches F 0.81
    (precision 0.88, recall 0.75) — the TSDF averages the noise the strict check removes,
    and the views that saw through a surface still remove it. ``only``: see :func:`filter_consistent`.
    """
    return filter_consistent(
        depths, track, loose_rel_depth_error=0.05, loose_reproj_px=3.0, unconfirmed_weight=UNCONFIRMED_CONFIDENCE,
        only=only, progress=progress,
    )


def confirmed_depths(depths: DepthMaps) -> DepthMaps:
    """``depths`` (from :func:`checked_depths`) with only what two views confirmed: the depth
    objects are proposed, tracked and lifted on, where a noisy pixel costs more than a missing one."""
    out = []
    for depth_map in depths.values():
        keep = depth_map.confidence > UNCONFIRMED_CONFIDENCE
        out.append(DepthMap(
            depth=np.where(keep, depth_map.depth, 0).astype(np.float32),
            confidence=np.where(keep, depth_map.confidence, 0).astype(np.float32), frame_number=depth_map.frame_number,
        ))
    return DepthMaps(out)


def _pixel_rays(intr: Intrinsics) -> tuple[torch.Tensor, torch.Tensor]:
    """H×W×3 camera rays with z = 1 (undistorted) and H×W×2 pixel centres of a camera."""
    import torch

    v, u = np.mgrid[0 : intr.height, 0 : intr.width].astype(np.float64) + 0.5
    pix = np.stack([u.ravel(), v.ravel()], 1)
    rays = intr.unproject(pix, np.ones(len(pix)))
    return (
        torch.from_numpy(rays.reshape(intr.height, intr.width, 3).astype(np.float32)),
        torch.from_numpy(pix.reshape(intr.height, intr.width, 2).astype(np.float32)),
    )


def _project(intr: Intrinsics, points: torch.Tensor) -> torch.Tensor:
    """M×3 camera points → M×2 pixels with the camera's radial distortion (torch, float32)."""
    z = points[:, 2:3].clamp_min(1e-12)
    xy = points[:, :2] / z
    if intr.has_distortion:
        r2 = (xy * xy).sum(1, keepdim=True)
        xy = xy * (1.0 + float(intr.radial[0]) * r2 + float(intr.radial[1]) * r2 * r2)
    k = intr.K
    u = float(k[0, 0]) * xy[:, 0] + float(k[0, 1]) * xy[:, 1] + float(k[0, 2])
    v = float(k[1, 1]) * xy[:, 1] + float(k[1, 2])
    import torch

    return torch.stack([u, v], 1)


def _sample_depth(depth: torch.Tensor, uv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Bilinear z-depth at M×2 pixel positions where all four pixels have depth."""
    import torch

    h, w = depth.shape
    x = uv[:, 0] - 0.5
    y = uv[:, 1] - 0.5
    finite = torch.isfinite(x) & torch.isfinite(y)
    x0 = torch.where(finite, x, torch.full_like(x, -10)).floor()
    y0 = torch.where(finite, y, torch.full_like(y, -10)).floor()
    inside = (x0 >= 0) & (y0 >= 0) & (x0 <= w - 2) & (y0 <= h - 2)
    xi = x0.long().clamp(0, w - 2)
    yi = y0.long().clamp(0, h - 2)
    fx = (x - x0).clamp(0, 1)
    fy = (y - y0).clamp(0, 1)
    d00, d01 = depth[yi, xi], depth[yi, xi + 1]
    d10, d11 = depth[yi + 1, xi], depth[yi + 1, xi + 1]
    ok = inside & (d00 > 0) & (d01 > 0) & (d10 > 0) & (d11 > 0)
    d = (d00 * (1 - fx) + d01 * fx) * (1 - fy) + (d10 * (1 - fx) + d11 * fx) * fy
    return torch.where(ok, d, torch.zeros_like(d)), ok
