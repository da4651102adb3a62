"""The proposals' per-frame masks: each frame's own depth (or its neighbours', borrowed) lifted
into the voxel grid, a pixel on an object where its point falls in that object's cells."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sceneforge.scenegraph import CameraTrack, DepthMap, Intrinsics, invert_rigid

from ..surface._frame_surface import intrinsics_at
from ._types import TrackedMasks
from ._voxels import VoxelGrid

__all__ = ["object_masks"]


def object_masks(frames, track, depths, order, objects, planes, grid, cfg, progress) -> list[TrackedMasks]:
    """Per-frame masks of every object, from each frame's own (or borrowed) depth.

    ``depths`` is keyed by frame index and ``order`` lists the indices that have depth;
    ``cfg`` is the :class:`ProposalConfig`.
    """
    from scipy import ndimage

    n, height, width = len(frames), frames.height, frames.width
    # Cell → object (1-based): the objects' own cells, then the cells within the tolerance
    # (an object named earlier wins where two objects' reach overlaps).
    labels = np.zeros(grid.shape, np.int16)
    for k, obj in enumerate(objects, start=1):
        labels.reshape(-1)[obj.cells] = k
    if cfg.mask_tolerance_voxels > 0:
        for k, obj in enumerate(objects, start=1):
            window = _window(grid, obj.cells, cfg.mask_tolerance_voxels)
            grown = ndimage.binary_dilation(labels[window] == k, np.ones((3, 3, 3), bool), iterations=cfg.mask_tolerance_voxels)
            labels[window][grown & (labels[window] == 0)] = k
    labels = labels.reshape(-1)
    # Cell → background plane (1-based) near its pieces, to keep plane pixels out of the masks.
    plane_of = np.zeros(grid.shape, np.int8)
    for k, plane in enumerate(planes, start=1):
        region = ndimage.binary_dilation(grid.volume(plane.cells, 1, np.uint8).astype(bool), np.ones((3, 3, 3), bool),
                                         iterations=cfg.mask_tolerance_voxels + 1)
        plane_of[region & (plane_of == 0)] = k
    plane_of = plane_of.reshape(-1)
    normals = np.array([p.normal for p in planes]).reshape(-1, 3)
    offsets = np.array([p.offset for p in planes])

    scale = width / 640.0
    close_r = int(round(cfg.close_px * scale))
    fill_r = int(round(cfg.fill_px * scale))
    min_px = max(1, int(round(cfg.min_mask_px * scale * scale)))
    masks = np.zeros((len(objects), n, height, width), bool)
    quality = np.zeros((len(objects), n), np.float32)
    lift = _Lifter(track)
    have = set(order)
    for index in range(n):
        if index in have:
            depth, borrowed = depths[index].depth, False
        else:
            depth, borrowed = _borrowed_depth(index, order, depths, track, lift), True
        valid, world = lift(depth, index)
        cells = grid.cells(world)
        inside = cells >= 0
        hit = np.zeros(len(world), np.int16)
        hit[inside] = labels[cells[inside]]
        if len(planes):
            which = np.zeros(len(world), np.int64)
            which[inside] = plane_of[cells[inside]]
            on = np.flatnonzero(which > 0)
            dist = np.abs(np.einsum("ij,ij->i", world[on], normals[which[on] - 1]) - offsets[which[on] - 1])
            hit[on[dist <= cfg.mask_plane_voxels * grid.voxel]] = 0
        label_image = np.zeros(depth.shape, np.int16)
        label_image[valid] = hit
        if depth.shape != (height, width):
            label_image = _resize_nearest(label_image, width, height)
            valid = _resize_nearest(valid.astype(np.uint8), width, height) > 0
        margin = close_r + fill_r + 1
        for k, box in enumerate(ndimage.find_objects(label_image, max_label=len(objects))):
            if box is None:
                continue
            # the object's box, widened by what the close and the fill can reach
            crop = tuple(slice(max(0, b.start - margin), min(size, b.stop + margin)) for b, size in zip(box, (height, width)))
            mask, q = _clean(label_image[crop] == k + 1, ~valid[crop], close_r, fill_r, min_px, cfg.min_component_share)
            masks[k, index][crop] = mask
            quality[k, index] = q * (0.5 if borrowed else 1.0)
        if progress:
            progress("object masks", index + 1, n)

    out = []
    for k in range(len(objects)):
        area = masks[k].reshape(n, -1).sum(axis=1)
        seen = area > 0
        if not seen.any():
            continue
        best = int(np.argmax(quality[k] * area))
        motion = tuple("geometry" if s else "lost" for s in seen)
        out.append(TrackedMasks(name=f"object_{len(out) + 1:02d}", masks=masks[k], quality=quality[k], prompt_frame=best,
                                frame_numbers=frames.frame_numbers.copy(), motion=motion))
    return out


class _Lifter:
    """Lifts depth maps to world points, with the pixel rays of each camera computed once."""

    def __init__(self, track: CameraTrack) -> None:
        self.track = track
        self._rays: dict[tuple, np.ndarray] = {}

    def __call__(self, depth: np.ndarray, index: int) -> tuple[np.ndarray, np.ndarray]:
        """H×W bool of the pixels with depth, and their M×3 world points (row-major order)."""
        h, w = depth.shape
        intr = intrinsics_at(self.track.intrinsics[index], w, h)
        key = (w, h, intr.K.tobytes(), intr.radial.tobytes())
        if key not in self._rays:
            self._rays[key] = pixel_rays(intr)
        valid = depth > 0
        cam = self._rays[key][valid] * depth[valid][:, None]
        pose = self.track.world_from_cam[index]
        return valid, cam @ pose[:3, :3].T + pose[:3, 3]


def _window(grid: VoxelGrid, cells: np.ndarray, margin: int) -> tuple[slice, slice, slice]:
    """The box of grid cells around ``cells``, ``margin`` cells wider on every side."""
    ijk = np.stack(np.unravel_index(cells, grid.shape), axis=1)
    low = np.maximum(ijk.min(axis=0) - margin, 0)
    high = np.minimum(ijk.max(axis=0) + margin + 1, grid.shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(low, high))


def _resize_nearest(image: np.ndarray, width: int, height: int) -> np.ndarray:
    import cv2

    return cv2.resize(image, (width, height), interpolation=cv2.INTER_NEAREST)


def _disc(radius: int) -> np.ndarray:
    import cv2

    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def _clean(raw: np.ndarray, no_depth: np.ndarray, close_r: int, fill_r: int, min_px: int, min_share: float) -> tuple[np.ndarray, float]:
    """The mask after a close, the no-depth fill and the component filter, and its quality
    (the share of it that the depth put on the object, times its solidity)."""
    import cv2

    if raw.sum() < min_px:
        return np.zeros_like(raw), 0.0
    mask = raw.astype(np.uint8)
    if close_r > 0:
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, _disc(close_r))
    if fill_r > 0:
        # Stereo leaves holes on textureless parts and along silhouettes: pixels without depth
        # that the object encloses, or that a wider close reaches, are taken to be on it.
        reach = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, _disc(fill_r)).astype(bool) | _enclosed(mask)
        mask = (mask.astype(bool) | (reach & no_depth)).astype(np.uint8)
    count, components, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return np.zeros_like(raw), 0.0
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= max(min_px, min_share * areas.max())) + 1
    mask = np.isin(components, keep)
    area = int(mask.sum())
    if area < min_px:
        return np.zeros_like(raw), 0.0
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    hull = cv2.convexHull(np.concatenate(contours))
    solidity = min(1.0, area / max(1.0, cv2.contourArea(hull)))
    agreement = float((raw & mask).sum()) / area
    return mask, float(agreement * solidity)


def _enclosed(mask: np.ndarray) -> np.ndarray:
    """Bool: the mask's holes (pixels off it that no path off it joins to the border)."""
    import cv2

    padded = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), np.uint8)
    padded[1:-1, 1:-1] = mask > 0
    cv2.floodFill(padded, None, (0, 0), 2)
    return padded[1:-1, 1:-1] == 0


def _borrowed_depth(index: int, order: list[int], depths: Mapping[int, DepthMap], track: CameraTrack, lift: _Lifter) -> np.ndarray:
    """A z-depth for a frame without its own: the nearest frames with depth on either side,
    reprojected into it (the nearest surface wins), on the first neighbour's grid."""
    position = int(np.searchsorted(order, index))
    neighbours = [order[p] for p in (position - 1, position) if 0 <= p < len(order)]
    h, w = depths[neighbours[0]].depth.shape
    target = intrinsics_at(track.intrinsics[index], w, h)
    cam_from_world = invert_rigid(track.world_from_cam[index])
    out = np.full(h * w, np.inf)
    for other in neighbours:
        _, world = lift(depths[other].depth, other)
        there = world @ cam_from_world[:3, :3].T + cam_from_world[:3, 3]
        there = there[there[:, 2] > 0]
        uv = target.project(there)
        col, row = np.floor(uv[:, 0]).astype(np.int64), np.floor(uv[:, 1]).astype(np.int64)
        inside = (col >= 0) & (col < w) & (row >= 0) & (row < h)
        np.minimum.at(out, row[inside] * w + col[inside], there[inside, 2])
    out[~np.isfinite(out)] = 0.0
    return out.reshape(h, w).astype(np.float32)


def pixel_rays(intrinsics: Intrinsics) -> np.ndarray:
    """H×W×3 camera-frame points at z = 1 through every pixel centre (undistorted)."""
    rows, cols = np.mgrid[0 : intrinsics.height, 0 : intrinsics.width]
    uv = np.column_stack([cols.ravel() + 0.5, rows.ravel() + 0.5])
    return intrinsics.unproject(uv, np.ones(len(uv))).reshape(intrinsics.height, intrinsics.width, 3)
