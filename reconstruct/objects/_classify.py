"""Whether a tracked object stands still in the world, from its 3D consistency over time.

Static or moving (:func:`classify_static`). A static object's surface, seen from frame i and
carried into frame j by the two cameras, lands on the object's pixels in j at j's depth
(unless something nearer hides it). A moving object's does not: where it was, frame j sees
the wall behind. So each frame's object pixels are lifted to world points through their depth,
projected into every other sampled frame, and counted as

- *consistent*: on the object's mask in frame j, within ``tol`` of frame j's depth;
- *violations*: frame j sees more than ``tol`` *behind* the point (free space where a static
  object would be);
- neither (ignored): hidden behind something nearer, or off the image, or without depth.

``tol = max(tolerance × size, depth_tolerance × z)`` in scene units, where ``size`` is the
object's size (the median over frames of the diagonal of its 5th–95th-percentile world box)
and ``z`` the point's depth in frame j: with the defaults a tenth of the object's size (6 cm
for a 60 cm crate) or 2 % of the depth, whichever is larger. Each ordered pair of frames
gives ``consistent / (consistent + violations)``; the object's score is the 20th percentile
over pairs (a moving object is inconsistent in the pairs far apart in time, which the mean
would dilute), and it is static when the score is at least ``threshold`` (0.75).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import numpy as np

from sceneforge.scenegraph import CameraTrack, DepthMap, DepthMaps, InputError

from .._checks import depths_by_index
from ._object_views import ObjectView, check_tracked, object_views, robust_diagonal, spread
from ._types import TrackedMasks

__all__ = ["classify_static"]

log = logging.getLogger(__name__)

_PAIR_QUANTILE = 20.0
"""Percentile of the per-pair consistency that scores an object (see the module docstring)."""
_MIN_PAIR_EVIDENCE = 20
"""Points a pair of frames must decide (consistent or violated) to count."""


def classify_static(
    tracked: TrackedMasks,
    depths: DepthMaps | Mapping[int, DepthMap] | Iterable[DepthMap],
    track: CameraTrack,
    *,
    tolerance: float = 0.1,
    depth_tolerance: float = 0.02,
    threshold: float = 0.75,
    max_frames: int = 12,
    max_points: int = 1500,
    min_area_px: int = 16,
) -> tuple[bool, float]:
    """Whether a tracked object stands still in the world, from its 3D consistency over time.

    See the module docstring for the test: every sampled frame's object points are carried
    into every other sampled frame; a point is consistent when it lands on the object's mask
    at that frame's depth (within ``tol = max(tolerance × size, depth_tolerance × z)`` scene
    units, ``size`` the object's robust world-box diagonal) and a violation when that frame
    sees more than ``tol`` behind it. The score is the 20th percentile over frame pairs of
    ``consistent / (consistent + violations)``. Frames without stereo depth on the object use
    a card from the background around it and are tested on the mask alone (module docstring).

    Args:
        tracked: the object's masks on every frame of the track (N×H×W, the frames' aspect).
        depths: z-depth (scene units) keyed by source frame number (:class:`DepthMaps`, a
            mapping whose keys are the maps' frame numbers, or DepthMap objects), on the
            frame's grid or a scaled one; frames without depth are skipped.
        track: one camera per frame.
        tolerance: depth agreement as a share of the object's size.
        depth_tolerance: depth agreement as a share of the depth (for noisy far depth).
        threshold: the score at or above which the object is static, in 0..1.
        max_frames: frames sampled (evenly over those that see the object).
        max_points: object points sampled per frame.
        min_area_px: frames with fewer object pixels with depth (mask eroded), or under 20 % of
            them, use a card from the background around the object (see the module docstring).

    Returns:
        ``(static, score)``: score in 0..1, NaN when no two frames see the object (then static).

    Raises:
        InputError: masks, depths and track that do not fit together, or bad options.
    """
    if not isinstance(track, CameraTrack):
        raise InputError(f"track must be a CameraTrack, got {type(track).__name__}")
    check_tracked(tracked, track)
    by_index = depths_by_index(depths, track)
    if not (tolerance > 0 and depth_tolerance >= 0 and 0 <= threshold <= 1 and max_frames >= 2 and max_points >= 10):
        raise InputError(
            "tolerance must be > 0, depth_tolerance ≥ 0, threshold in 0..1, max_frames ≥ 2 and max_points ≥ 10, "
            f"got {tolerance}, {depth_tolerance}, {threshold}, {max_frames}, {max_points}"
        )
    views = spread(object_views(tracked, by_index, track, min_area_px), max_frames)
    if len(views) < 2:
        log.info("object %r: seen with depth on %d frame(s); kept static", tracked.name, len(views))
        return True, float("nan")
    rng = np.random.default_rng(0)
    samples = [view.points(max_points=max_points, rng=rng)[0] for view in views]
    size = float(np.median([robust_diagonal(points) for points in samples]))
    tol_size = tolerance * max(size, 1e-9)
    cam_from_world = track.cam_from_world()

    scores = []
    for a, points in zip(views, samples):
        for b in views:
            if b is a:
                continue
            consistent, violated = _pair_evidence(
                points, b, cam_from_world[b.index], tol_size, depth_tolerance, mask_only=a.card or b.card
            )
            if consistent + violated >= _MIN_PAIR_EVIDENCE:
                scores.append(consistent / (consistent + violated))
    if not scores:
        log.info("object %r: no pair of frames decides; kept static", tracked.name)
        return True, float("nan")
    score = float(np.percentile(scores, _PAIR_QUANTILE))
    static = score >= threshold
    log.info("object %r: %s (score %.3f over %d frame pairs, size %.3g)", tracked.name, "static" if static else "moving", score, len(scores), size)
    return static, score


def _pair_evidence(
    points: np.ndarray, view: ObjectView, cam_from_world: np.ndarray, tol_size: float, depth_tolerance: float,
    *, mask_only: bool = False,
) -> tuple[int, int]:
    """(consistent, violated) counts of world ``points`` seen from ``view``; ``mask_only`` for a
    pair with a card (see the module docstring)."""
    cam = points @ cam_from_world[:3, :3].T + cam_from_world[:3, 3]
    z = cam[:, 2]
    front = z > 1e-9
    uv = view.intrinsics.project(cam[front])
    h, w = view.depth.shape
    col = np.floor(uv[:, 0]).astype(np.int64)
    row = np.floor(uv[:, 1]).astype(np.int64)
    inside = (col >= 0) & (col < w) & (row >= 0) & (row < h)
    z, col, row = z[front][inside], col[inside], row[inside]
    seen = view.depth[row, col].astype(np.float64)
    has_depth = seen > 0
    z, col, row, seen = z[has_depth], col[has_depth], row[has_depth], seen[has_depth]
    tol = np.maximum(tol_size, depth_tolerance * z)
    on_mask = view.mask[row, col]
    if mask_only:
        return int(np.count_nonzero(on_mask)), int(np.count_nonzero(~on_mask & (seen >= z - tol)))
    consistent = on_mask & (np.abs(seen - z) <= tol)
    violated = seen > z + tol
    return int(np.count_nonzero(consistent)), int(np.count_nonzero(violated))
