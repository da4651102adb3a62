"""Cheap image-motion analysis of a clip: sparse optical flow between consecutive frames.

Used before the camera solve to pick keyframes (enough motion between them, never
too far apart), to notice a camera that does not move or only pans, and to build
the homography chain of a rotation-only solve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FrameMotion", "analyse_motion", "select_keyframes", "ANALYSIS_LONG_SIDE"]

MIN_TRACKED = 50
"""Fewer corners than this tracked between two frames means tracking was lost."""

ANALYSIS_LONG_SIDE = 480
"""Motion analysis runs on frames downscaled to this long side (pixels) for speed."""


@dataclass(frozen=True)
class FrameMotion:
    """Motion from frame i to frame i+1, in pixels of the full-resolution frames.

    Attributes:
        median_flow_px: N-1 median displacement of tracked corners.
        num_detected: N-1 corners found in frame i (few: too little texture).
        num_tracked: N-1 corners tracked successfully (a scene cut shows as a drop).
        homography_inlier_ratio: N-1 share of tracks a homography explains within 1 px
            (close to 1 for a pan from a fixed point or a planar scene).
        next_from_this: (N-1)×3×3 homographies mapping pixels of frame i to frame i+1
            (identity where too few tracks).
    """

    median_flow_px: np.ndarray
    num_detected: np.ndarray
    num_tracked: np.ndarray
    homography_inlier_ratio: np.ndarray
    next_from_this: np.ndarray


def analyse_motion(gray: np.ndarray, *, ignore: np.ndarray | None = None, max_corners: int = 400) -> FrameMotion:
    """Track corners between consecutive frames.

    Args:
        gray: N×H×W uint8 grey frames.
        ignore: optional N×H×W bool (True = region to ignore, e.g. moving things).
        max_corners: corners detected per frame.
    """
    import cv2

    n, h, w = gray.shape
    scale = min(1.0, ANALYSIS_LONG_SIDE / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = [cv2.resize(g, size, interpolation=cv2.INTER_AREA) if scale < 1 else g for g in gray]
    masks = None
    if ignore is not None:
        masks = [
            cv2.resize((~m).astype(np.uint8) * 255, size, interpolation=cv2.INTER_NEAREST) for m in ignore
        ]
    flow = np.zeros(n - 1)
    detected = np.zeros(n - 1, dtype=np.int64)
    tracked = np.zeros(n - 1, dtype=np.int64)
    ratio = np.zeros(n - 1)
    homographies = np.tile(np.eye(3), (n - 1, 1, 1))
    to_full = np.diag([1 / scale, 1 / scale, 1.0])
    to_small = np.diag([scale, scale, 1.0])
    for i in range(n - 1):
        corners = cv2.goodFeaturesToTrack(
            small[i], maxCorners=max_corners, qualityLevel=0.01, minDistance=8, mask=None if masks is None else masks[i]
        )
        if corners is None or len(corners) < 8:
            continue
        detected[i] = len(corners)
        moved, status, _ = cv2.calcOpticalFlowPyrLK(small[i], small[i + 1], corners, None, winSize=(21, 21), maxLevel=3)
        good = status.reshape(-1) == 1
        p0, p1 = corners.reshape(-1, 2)[good], moved.reshape(-1, 2)[good]
        tracked[i] = len(p0)
        if len(p0) < 8:
            continue
        flow[i] = float(np.median(np.linalg.norm(p1 - p0, axis=1))) / scale
        h_small, inliers = cv2.findHomography(p0, p1, cv2.RANSAC, 1.0)
        if h_small is not None:
            ratio[i] = float(inliers.mean())
            homographies[i] = to_full @ h_small @ to_small
    return FrameMotion(flow, detected, tracked, ratio, homographies)


def select_keyframes(
    motion: FrameMotion, *, min_flow_px: float, max_gap: int, min_gap: int = 1
) -> np.ndarray:
    """Indices of keyframes: a new one once the accumulated flow reaches ``min_flow_px``,
    at the latest every ``max_gap`` frames, and always the first and last frame.

    A sharp drop in tracked corners (a cut or a blur) also starts a keyframe so that the
    solve sees both sides.
    """
    n = motion.median_flow_px.shape[0] + 1
    keys = [0]
    accumulated = 0.0
    typical = float(np.median(motion.num_tracked)) if n > 1 else 0.0
    for i in range(1, n):
        accumulated += float(motion.median_flow_px[i - 1])
        gap = i - keys[-1]
        # Tracking lost (a cut, blur, or photos far apart): both sides must be keyframes.
        dropped = motion.num_tracked[i - 1] < max(MIN_TRACKED, 0.3 * typical)
        if gap >= min_gap and (accumulated >= min_flow_px or gap >= max_gap or dropped):
            keys.append(i)
            accumulated = 0.0
    if keys[-1] != n - 1:
        keys.append(n - 1)
    return np.asarray(keys, dtype=np.int64)
