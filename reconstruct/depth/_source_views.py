"""Which other frames to compare a frame with: the sparse points it sees, and source views
with a useful triangulation angle at them (shared by the stereo and the consistency filter)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sceneforge.scenegraph import CameraTrack, invert_rigid

__all__ = ["select_sources", "visible_points"]


def visible_points(track: CameraTrack, index: int) -> np.ndarray:
    """The sparse points (M×3, world) that project inside frame ``index`` in front of it."""
    points = track.points.points_in_world
    if len(points) == 0:
        return points
    cam_from_world = invert_rigid(track.world_from_cam[index])
    in_cam = points @ cam_from_world[:3, :3].T + cam_from_world[:3, 3]
    intr = track.intrinsics[index]
    front = in_cam[:, 2] > 1e-9
    uv = np.full((len(points), 2), -1.0)
    uv[front] = intr.project(in_cam[front])
    inside = front & (uv[:, 0] >= 0) & (uv[:, 0] < intr.width) & (uv[:, 1] >= 0) & (uv[:, 1] < intr.height)
    return points[inside]


def select_sources(
    track: CameraTrack,
    index: int,
    visible: np.ndarray,
    *,
    count: int,
    target_angle_rad: float,
    min_angle_rad: float,
    candidates: Sequence[int] | None = None,
) -> list[int]:
    """Pick up to ``count`` source frames for reference ``index``.

    Each candidate scores the points the reference sees (``visible``, M×3 world) that also
    project into it, weighted by how close their triangulation angle is to the target
    (the piecewise Gaussian of Yao et al., MVSNet 2018). Views are picked greedily, each
    point's weight shrinking as picked views cover it, and a candidate whose centre nearly
    coincides with one already picked is skipped, so the views spread out.
    """
    n = len(track)
    pool = np.array([j for j in (range(n) if candidates is None else candidates) if j != index], dtype=np.int64)
    if len(pool) == 0 or len(visible) == 0:
        return []
    if len(visible) > 400:
        visible = visible[np.linspace(0, len(visible) - 1, 400).astype(np.int64)]
    centres = track.world_from_cam[:, :3, 3]
    to_ref = centres[index] - visible
    to_ref /= np.linalg.norm(to_ref, axis=1, keepdims=True)
    cam_from_world = invert_rigid(track.world_from_cam[pool])
    in_cam = np.einsum("jab,pb->jpa", cam_from_world[:, :3, :3], visible) + cam_from_world[:, None, :3, 3]
    ks = np.stack([track.intrinsics[j].K for j in pool])
    z = in_cam[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        u = ks[:, None, 0, 0] * in_cam[..., 0] / z + ks[:, None, 0, 2]
        v = ks[:, None, 1, 1] * in_cam[..., 1] / z + ks[:, None, 1, 2]
    widths = np.array([track.intrinsics[j].width for j in pool])[:, None]
    heights = np.array([track.intrinsics[j].height for j in pool])[:, None]
    seen = (z > 0) & (u >= 0) & (u < widths) & (v >= 0) & (v < heights)
    to_src = centres[pool][:, None, :] - visible[None]
    to_src /= np.maximum(np.linalg.norm(to_src, axis=2, keepdims=True), 1e-12)
    angle = np.arccos(np.clip(np.einsum("jpa,pa->jp", to_src, to_ref), -1.0, 1.0))
    sigma = np.where(angle <= target_angle_rad, np.radians(1.0), np.radians(10.0))
    gain = np.exp(-((angle - target_angle_rad) ** 2) / (2 * sigma**2)) * seen
    ranked = np.sort(np.where(seen, angle, np.inf), axis=1)
    count_seen = seen.sum(1)
    median_angle = np.where(count_seen > 0, ranked[np.arange(len(pool)), np.maximum(count_seen - 1, 0) // 2], 0.0)
    useful = (median_angle >= min_angle_rad) & (seen.mean(1) >= 0.1)
    picked: list[int] = []
    cover = np.zeros(len(visible))
    available = useful.copy()
    while len(picked) < count and available.any():
        # Points already seen by picked views count less, so that the periphery a forward
        # move loses gets a view from behind.
        score = np.where(available, gain @ (1.0 / (1.0 + cover)), -1.0)
        j = int(np.argmax(score))
        if score[j] <= 0:
            break
        available[j] = False
        c = centres[pool[j]]
        baseline = np.linalg.norm(c - centres[index])
        if all(np.linalg.norm(c - centres[k]) >= 0.25 * min(baseline, np.linalg.norm(centres[k] - centres[index])) for k in picked):
            picked.append(int(pool[j]))
            cover += seen[j]
    return picked
