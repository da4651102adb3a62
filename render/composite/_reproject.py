"""Colour for pixels of one frame taken from other frames of the plate, through the scene's depth.

The clean-plate projection a compositor does by hand: a pixel of the target frame whose
scene point is known (its depth along the target camera) is looked up in other frames —
the point is projected into each source camera, and the source pixel is used when the
source saw that very point (its own scene depth there agrees) and the pixel is usable
(not on an object that moved or was removed). Sources are tried in the caller's order of
preference (closest in time and view direction first); each pixel takes the first source
that saw it, so the fill is as sharp as one real frame and changes source only where it
must. A per-source gain matches the source's exposure to the target's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sceneforge.scenegraph import InputError, Intrinsics, check_array, check_rigid, invert_rigid

__all__ = ["SourceView", "Reprojection", "reproject", "pixel_points", "exposure_gain", "project_into", "bilinear"]


@dataclass(frozen=True, eq=False)
class SourceView:
    """One frame of the plate as a source of colour for other frames.

    Attributes:
        image: H×W×3 uint8 sRGB colours (the decoded plate).
        depth: H×W float32 z-depth of the scene as this camera saw it (0 = unknown).
        usable: H×W bool, False on pixels that must not feed other frames (objects that move
            or were removed or moved by an edit).
        intrinsics: the frame's camera.
        world_from_cam: 4×4 float64 pose (OpenCV axes).
        frame_number: the source frame number.
    """

    image: np.ndarray
    depth: np.ndarray
    usable: np.ndarray
    intrinsics: Intrinsics
    world_from_cam: np.ndarray
    frame_number: int

    def __post_init__(self) -> None:
        h, w = self.intrinsics.height, self.intrinsics.width
        check_array(self.image, "image", shape=(h, w, 3), dtype=np.uint8)
        check_array(self.depth, "depth", shape=(h, w), dtype=np.float32)
        check_array(self.usable, "usable", shape=(h, w), dtype=bool)
        object.__setattr__(self, "world_from_cam", check_rigid(self.world_from_cam, "world_from_cam"))


@dataclass(frozen=True, eq=False)
class Reprojection:
    """Colours found for N target points.

    Attributes:
        colour: N×3 float32, gain-matched; 0 where not found.
        found: N bool, True where some source saw the point.
        source: N int32 index into the sources that gave the colour, -1 where none did.
    """

    colour: np.ndarray
    found: np.ndarray
    source: np.ndarray


def pixel_points(intrinsics: Intrinsics, world_from_cam: np.ndarray, rows: np.ndarray, cols: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """N×3 world points of pixels (``rows``, ``cols``) at z-depths ``depth`` (pixel centres)."""
    uv = np.column_stack([cols + 0.5, rows + 0.5]).astype(np.float64)
    in_cam = intrinsics.unproject(uv, depth.astype(np.float64))
    return in_cam @ world_from_cam[:3, :3].T + world_from_cam[:3, 3]


def project_into(source: SourceView, points_in_world: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Where ``points_in_world`` fall in ``source``: pixel coordinates ``x``, ``y`` (pixel
    centres at integers), the points' depth ``z`` along the source camera, and ``inside``
    (in front of the camera and within the bilinear footprint of the image)."""
    cam_from_world = invert_rigid(source.world_from_cam)
    in_cam = points_in_world @ cam_from_world[:3, :3].T + cam_from_world[:3, 3]
    uv = source.intrinsics.project(in_cam)
    h, w = source.depth.shape
    x, y = uv[:, 0] - 0.5, uv[:, 1] - 0.5
    inside = np.isfinite(x) & np.isfinite(y) & (x >= 0) & (y >= 0) & (x <= w - 1) & (y <= h - 1)
    return x, y, in_cam[:, 2], inside


def bilinear(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """N×C float32 bilinear samples of an H×W×C image at pixel coordinates inside it."""
    h, w = image.shape[:2]
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (x - x0)[:, None].astype(np.float32), (y - y0)[:, None].astype(np.float32)
    return (image[y0, x0] * (1 - fx) * (1 - fy) + image[y0, x1] * fx * (1 - fy)
            + image[y1, x0] * (1 - fx) * fy + image[y1, x1] * fx * fy)


def _sample(source: SourceView, points_in_world: np.ndarray, depth_tolerance: float) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear colours of ``points_in_world`` in ``source`` and where the source saw them."""
    x, y, z_all, ok = project_into(source, points_in_world)
    h, w = source.depth.shape
    colour = np.zeros((len(points_in_world), 3), np.float32)
    if not ok.any():
        return colour, ok
    xi, yi = x[ok], y[ok]
    x0, y0 = np.floor(xi).astype(np.int64), np.floor(yi).astype(np.int64)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    # Visible and usable: every corner of the bilinear footprint must have seen this point,
    # so colours never bleed in from an occluder or an excluded object next to it. Where the
    # source has no depth (a hole in the background mesh: nothing occludes there that has a
    # mesh), a usable pixel counts as seeing the point.
    z = z_all[ok]
    seen = np.ones(len(z), bool)
    for yy, xx in ((y0, x0), (y0, x1), (y1, x0), (y1, x1)):
        d = source.depth[yy, xx]
        seen &= source.usable[yy, xx] & ((d <= 0) | (np.abs(d - z) <= depth_tolerance * z))
    found = np.zeros(len(points_in_world), bool)
    if not seen.any():
        return colour, found
    index = np.flatnonzero(ok)[seen]
    colour[index] = bilinear(source.image, xi[seen], yi[seen]) / 255.0
    found[index] = True
    return colour, found


def exposure_gain(target_colour: np.ndarray, source_colour: np.ndarray, *, min_samples: int = 50) -> np.ndarray:
    """Per-channel gain that maps a source's colours onto the target's on shared pixels (3,).

    The median ratio over pixels both frames saw, clipped to [0.5, 2]; 1 with too few pixels.
    """
    target = check_array(np.asarray(target_colour, np.float32), "target_colour", shape=(None, 3))
    source = check_array(np.asarray(source_colour, np.float32), "source_colour", shape=(len(target), 3))
    bright = (source > 0.02).all(axis=1) & (target > 0.02).all(axis=1)
    if bright.sum() < min_samples:
        return np.ones(3, np.float32)
    ratio = np.median(target[bright] / source[bright], axis=0)
    return np.clip(ratio, 0.5, 2.0).astype(np.float32)


def reproject(
    points_in_world: np.ndarray,
    sources: Sequence[SourceView],
    *,
    depth_tolerance: float = 0.02,
    gains: Sequence[np.ndarray] | None = None,
    consensus: int = 1,
) -> Reprojection:
    """Colours of ``points_in_world`` from the first of ``sources`` that saw each point.

    Args:
        points_in_world: N×3 scene points (the target pixels lifted through its depth).
        sources: candidate frames, most preferred first.
        depth_tolerance: a source saw a point when its own depth there is within this
            relative difference of the point's depth along the source camera.
        gains: per source, a per-channel gain applied to its colours (exposure matching).
        consensus: with more than 1, each point collects up to this many colours from the
            first sources that saw it and keeps the one nearest their median — one real
            sample, sharp, but a colour only one source has (an object's rim its mask
            missed, a reflection) is outvoted.

    Returns:
        The colours, where they were found, and which source gave each.
    """
    points = check_array(np.asarray(points_in_world, np.float64), "points_in_world", shape=(None, 3))
    if gains is not None and len(gains) != len(sources):
        raise InputError(f"one gain per source expected, got {len(gains)} for {len(sources)}")
    if consensus < 1:
        raise InputError(f"consensus must be at least 1, got {consensus}")
    n = len(points)
    candidates = np.zeros((n, consensus, 3), np.float32)
    which = np.full((n, consensus), -1, np.int32)
    count = np.zeros(n, np.int64)
    todo = np.arange(n)
    for k, source in enumerate(sources):
        if len(todo) == 0:
            break
        c, found = _sample(source, points[todo], depth_tolerance)
        if gains is not None:
            c = c * gains[k]
        hit = todo[found]
        candidates[hit, count[hit]] = c[found]
        which[hit, count[hit]] = k
        count[hit] += 1
        todo = todo[count[todo] < consensus]
    pick = np.zeros(n, np.int64)
    several = np.flatnonzero(count >= 3)
    if len(several):
        # the medoid: the candidate nearest the per-point median of the candidates
        sample = candidates[several].copy()
        filled = np.arange(consensus)[None, :] < count[several, None]
        sample[~filled] = np.nan
        median = np.nanmedian(sample, axis=1)
        distance = np.where(filled, np.abs(candidates[several] - median[:, None]).sum(axis=2), np.inf)
        pick[several] = np.argmin(distance, axis=1)
    rows = np.arange(n)
    colour = np.where((count > 0)[:, None], candidates[rows, pick], 0.0).astype(np.float32)
    source_index = np.where(count > 0, which[rows, pick], -1).astype(np.int32)
    return Reprojection(colour=colour, found=source_index >= 0, source=source_index)
