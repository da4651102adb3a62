"""One tracked object as each frame with depth sees it, on that frame's depth grid.

Objects without stereo depth. Multi-view stereo assumes a static scene, so its consistency
filter usually leaves a moving object's pixels without depth. A frame where fewer than 20 % of
the object's core pixels (or fewer than ``min_area_px``) have depth gets a fronto-parallel
*card* instead: every mask pixel at one z-depth, read from the ring of background just outside
the mask (a band 5 % of the mask box's diagonal wide, at least 2 pixels, one eroded border's
width away from the mask). The depth is the median of the ring's *lower half* (rows at or
below the mask's centroid): where an object stands on something, that is its footing, nearer
the object than the wall seen around its top. Such frames are listed in the layer's
``stats["card_frames"]`` (frame numbers). A card is not the object's surface, so a pair of
frames where either side is a card is tested on the mask alone: a point is consistent when it
lands on the object's mask in the other frame, and a violation when it lands off it where that
frame sees no nearer surface (the background, at the card's depth or behind) — a static
object's card lands on its mask again, a sliding object's lands where it no longer is.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from sceneforge.scenegraph import CameraTrack, DepthMap, InputError, Intrinsics

from ..surface._frame_surface import intrinsics_at
from ._types import TrackedMasks

__all__ = ["ObjectView", "check_tracked", "object_views", "on_their_footing", "robust_diagonal", "spread"]

_MAX_DEPTH_STEP = 0.05
"""Relative depth step across which a mask's border pixel is not the object's (see ``trusted``)."""
_CARD_MIN_SHARE = 0.2
"""Share of the object's core pixels that must have depth; below it the frame gets a card."""
_CARD_BAND = 0.05
"""Width of the background ring a card's depth is read from, as a share of the mask box's diagonal."""
_CARD_MIN_RING_PX = 8
"""Ring pixels with depth a card needs (else the frame is not used)."""


def check_tracked(tracked: TrackedMasks, track: CameraTrack) -> None:
    if not isinstance(tracked, TrackedMasks):
        raise InputError(f"tracked must be TrackedMasks, got {type(tracked).__name__}; track the object first")
    if len(tracked) != len(track) or not np.array_equal(tracked.frame_numbers, track.frame_numbers):
        raise InputError(
            f"object {tracked.name!r} must be tracked on the track's {len(track)} frames, got {len(tracked)} "
            "frames with other frame numbers; track it on the frames the camera was solved on"
        )
    height, width = tracked.masks.shape[1:]
    first = track.intrinsics[0]
    if abs(height / width - first.height / first.width) > 0.01 * first.height / first.width:
        raise InputError(
            f"object {tracked.name!r} masks must have the frames' aspect ({first.width}×{first.height}), "
            f"got {width}×{height}"
        )


def _resize_mask(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """``mask`` on a ``width``×``height`` grid (the same image, another resolution)."""
    if mask.shape == (height, width):
        return mask
    import cv2

    return cv2.resize(mask.astype(np.float32), (width, height), interpolation=cv2.INTER_AREA) >= 0.5


def _erode(mask: np.ndarray, pixels: int) -> np.ndarray:
    if pixels <= 0 or not mask.any():
        return mask
    import cv2

    return cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=pixels) > 0


def _erode_px(width: int, height: int) -> int:
    """Pixels to erode masks by before trusting their depth: their border mixes in the background."""
    return max(1, int(round(max(width, height) / 320)))


@dataclass
class ObjectView:
    """One frame's view of the object on its depth map's grid."""

    index: int
    mask: np.ndarray  # h×w bool, the object (as tracked)
    core: np.ndarray  # h×w bool, the mask eroded: pixels whose depth is the object's
    depth: np.ndarray  # h×w float32
    intrinsics: Intrinsics  # at the depth map's size
    world_from_cam: np.ndarray
    card: bool = False  # depth on the mask is a fronto-parallel card from the ring around it

    def trusted(self) -> np.ndarray:
        """h×w bool: the core grown back over the mask's border through depth continuity.

        Border pixels of a tracked mask often carry the background's depth. Growing from the
        core one pixel at a time, a border pixel joins when a joined 8-neighbour's depth is
        within ``_MAX_DEPTH_STEP`` (relative) of its own: the object's surface continues there.
        """
        out = np.zeros_like(self.mask)
        rows, cols = np.nonzero(self.mask)
        if rows.size == 0:
            return out
        box = (slice(rows.min(), rows.max() + 1), slice(cols.min(), cols.max() + 1))
        depth = self.depth[box]
        trusted = self.core[box] & (depth > 0)
        candidates = self.mask[box] & ~trusted & (depth > 0)
        h, w = depth.shape
        padded_depth = np.pad(depth, 1)
        for _ in range(h + w):
            if not candidates.any():
                break
            padded = np.pad(trusted, 1)
            joined = np.zeros_like(trusted)
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    if dr == 0 and dc == 0:
                        continue
                    near = padded[1 + dr : 1 + dr + h, 1 + dc : 1 + dc + w]
                    near_depth = padded_depth[1 + dr : 1 + dr + h, 1 + dc : 1 + dc + w]
                    step = np.abs(near_depth - depth) <= _MAX_DEPTH_STEP * np.minimum(near_depth, depth)
                    joined |= candidates & near & step
            if not joined.any():
                break
            trusted |= joined
            candidates &= ~joined
        out[box] = trusted
        return out

    def points(
        self, *, max_points: int | None = None, rng: np.random.Generator | None = None, pixels: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(N×3 world points, N×2 int64 (row, col)) of ``pixels`` (h×w bool; the core when None) with depth."""
        rows, cols = np.nonzero((self.core if pixels is None else pixels) & (self.depth > 0))
        if max_points is not None and rows.size > max_points:
            pick = (rng or np.random.default_rng(0)).choice(rows.size, max_points, replace=False)
            rows, cols = rows[pick], cols[pick]
        cam = self.intrinsics.unproject(np.column_stack([cols + 0.5, rows + 0.5]), self.depth[rows, cols])
        world = cam @ self.world_from_cam[:3, :3].T + self.world_from_cam[:3, 3]
        return world, np.column_stack([rows, cols])


def object_views(tracked: TrackedMasks, depths: dict[int, DepthMap], track: CameraTrack, min_area_px: int) -> list[ObjectView]:
    """``depths`` is keyed by frame index (as :func:`~.._checks.depths_by_index` gives). The frames that see the object with depth: its own (at least ``min_area_px`` core pixels
    and ``_CARD_MIN_SHARE`` of the core), else a card from the ring around it (see the module
    docstring); frames with neither are left out."""
    out = []
    for index in sorted(depths):
        if not tracked.masks[index].any():
            continue
        depth = depths[index].depth
        h, w = depth.shape
        mask = _resize_mask(tracked.masks[index], h, w)
        if not mask.any():
            continue
        core = _erode(mask, _erode_px(w, h))
        with_depth = int(np.count_nonzero(core & (depth > 0)))
        card = with_depth < max(min_area_px, _CARD_MIN_SHARE * np.count_nonzero(core))
        if card:
            z = _card_depth(mask, depth)
            if z is None or np.count_nonzero(mask) < min_area_px:
                continue
            # Any stereo depth left on the mask is the few pixels the filter kept: mostly the
            # background bleeding through, so the card replaces all of it.
            depth = np.where(mask, np.float32(z), depth).astype(np.float32)
            core = mask
        out.append(
            ObjectView(
                index=index, mask=mask, core=core, depth=depth,
                intrinsics=intrinsics_at(track.intrinsics[index], w, h), world_from_cam=track.world_from_cam[index],
                card=card,
            )
        )
    return out


def on_their_footing(views: list[ObjectView], *, tolerance: float = 0.1, window: int = 5) -> list[ObjectView]:
    """A moving object's views as cards standing where the object touches the ground, wherever
    its own depth is missing or puts it behind that contact.

    Multi-view stereo assumes a static scene: on a car driving past it leaves no depth, or the
    depth of a point matched on the wrong surface, behind the road at the car's wheels — and the
    layer then sinks behind the background. An object cannot stand behind the ground it touches
    (:func:`_contact_depth`: the background just below the mask's lowest pixels), so a frame
    whose object depth (the core's median) lies more than ``tolerance`` (relative) behind its
    contact, or that was a card already, gets a card at the contact instead. The cards' depths
    are then smoothed over time (a running median over ``window`` card frames), as a subject's
    distance changes smoothly. Frames with no ground below the object keep what they had.
    """
    out = []
    for view in views:
        contact = _contact_depth(view.mask, view.depth)
        own = view.depth[view.core & (view.depth > 0)]
        behind = not view.card and len(own) > 0 and contact is not None and float(np.median(own)) > contact * (1.0 + tolerance)
        if contact is None or not (view.card or behind):
            out.append(view)
            continue
        depth = np.where(view.mask, np.float32(contact), view.depth).astype(np.float32)
        out.append(dataclasses.replace(view, depth=depth, core=view.mask, card=True))
    cards = [k for k, view in enumerate(out) if view.card]
    depths = np.array([float(np.median(out[k].depth[out[k].mask])) for k in cards])
    half = window // 2
    for j, k in enumerate(cards):
        smooth = float(np.median(depths[max(0, j - half): j + half + 1]))
        view = out[k]
        out[k] = dataclasses.replace(view, depth=np.where(view.mask, np.float32(smooth), view.depth).astype(np.float32))
    return out


def _contact_depth(mask: np.ndarray, depth: np.ndarray) -> float | None:
    """z-depth of the ground where the object on ``mask`` touches it: the median depth of the
    background in a short band just below the mask's lowest pixel in each column (past the
    mask's mixed border), or None when too few of those pixels have depth (nothing below: the
    object runs off the bottom of the frame, or floats)."""
    h, w = mask.shape
    rows, cols = np.nonzero(mask)
    height = rows.max() - rows.min() + 1
    gap = _erode_px(w, h)
    band = max(2, int(np.ceil(_CARD_BAND * height)))
    lowest = np.full(w, -1)
    np.maximum.at(lowest, cols, rows)
    columns = np.flatnonzero(lowest >= 0)
    picks = []
    for offset in range(gap + 1, gap + 1 + band):
        r = lowest[columns] + offset
        inside = r < h
        values = depth[r[inside], columns[inside]]
        below_mask = ~mask[r[inside], columns[inside]]
        picks.append(values[below_mask & (values > 0)])
    values = np.concatenate(picks) if picks else np.zeros(0)
    if len(values) < _CARD_MIN_RING_PX:
        return None
    return float(np.median(values))


def _card_depth(mask: np.ndarray, depth: np.ndarray) -> float | None:
    """z-depth of a card standing in for the object on ``mask`` (h×w bool) from the background
    ring around it in ``depth`` (h×w), or None when the ring has too little depth."""
    import cv2

    h, w = mask.shape
    rows, cols = np.nonzero(mask)
    diagonal = float(np.hypot(rows.max() - rows.min() + 1, cols.max() - cols.min() + 1))
    band = max(2, int(np.ceil(_CARD_BAND * diagonal)))
    gap = _erode_px(w, h)  # the mask's border mixes object and background: skip it
    kernel = np.ones((3, 3), np.uint8)
    inner = cv2.dilate(mask.astype(np.uint8), kernel, iterations=gap) > 0
    outer = cv2.dilate(mask.astype(np.uint8), kernel, iterations=gap + band) > 0
    ring = outer & ~inner & (depth > 0)
    lower = ring.copy()
    lower[: int(np.ceil(rows.mean()))] = False
    pick = lower if np.count_nonzero(lower) >= _CARD_MIN_RING_PX else ring
    if np.count_nonzero(pick) < _CARD_MIN_RING_PX:
        return None
    return float(np.median(depth[pick]))


def spread(items: list, count: int) -> list:
    if len(items) <= count:
        return list(items)
    return [items[i] for i in np.unique(np.linspace(0, len(items) - 1, count).round().astype(int))]


def robust_diagonal(points: np.ndarray) -> float:
    low, high = np.percentile(points, 5, axis=0), np.percentile(points, 95, axis=0)
    return float(np.linalg.norm(high - low))
