"""Lifting tracked objects into layers: static or moving, then one fused mesh or a 2.5D performance.

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

Static objects (:func:`lift_object`) are fused from their own masked depth only: Open3D's TSDF
(:class:`TSDFFusionConfig`, every pixel off the object left out, voxels of 1/64 of the object's
size but no finer than one depth pixel's footprint), its texture baked from the frames with
the same masks. The mesh is expressed in the object's local frame: the anchor sits at the
bottom centre of its world bounding box, axes parallel to the world's, so moving the object
is one transform edit. When the TSDF gives nothing (a thin or tiny object), the best frame's
2.5D surface (:func:`frame_surface`) stands in.

Moving objects become a time-varying 2.5D layer on **one topology**, anchored (axes along the
world's) at the bottom centre of its surface's box on its first lifted frame: a fixed G×G grid
stretched over the object's mask bounding box in every frame (grid point (a, b) ∈ [0, 1]² sits
at pixel ``(x0 + a·w, y0 + b·h)`` of that frame's box). Each grid point is lifted through that
frame's depth; where the pixel is off the object or has no depth, the depth of the nearest
object pixel with depth stands in (so the surface never reaches back to the wall). Which cells
exist is decided once, on the reference frame (the one with the largest mask): a cell is kept
when at least half of it is on the mask there. The same cells exist in every frame, so the
points are time samples of one mesh. Each frame's texture is its box crop of the frame, resized
to one texture size, and the uv map the grid onto the crop (u = a, v = 1 − b); so the texture
follows the object even where the reference frame's cell choice fits the current shape less well
(a cell off the object there shows a little of what is behind it).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sceneforge.scenegraph import (
    CameraTrack,
    DepthMap,
    Frames,
    InputError,
    Intrinsics,
    ObjectLayer,
    SolveError,
    TexturedMesh,
    make_transform,
)

from ._frames import ProgressFn
from ._surface import _grid_triangles, frame_surface, intrinsics_at, vertex_normals
from ._texture import check_frames_and_track
from ._track import TrackedMasks

__all__ = ["classify_static", "lift_object", "lift_objects", "instance_maps"]

log = logging.getLogger(__name__)

_PAIR_QUANTILE = 20.0
"""Percentile of the per-pair consistency that scores an object (see the module docstring)."""
_MIN_PAIR_EVIDENCE = 20
"""Points a pair of frames must decide (consistent or violated) to count."""
_BOX_MARGIN = 0.5
"""Static fusion drops object pixels outside the robust (2nd–98th percentile) box grown by this
share of its diagonal: far background seen through a wrong mask. Generous, since a thin
extremity (a box's far corner seen at a grazing angle) lies beyond the percentiles."""
_MAX_DEPTH_STEP = 0.05
"""Relative depth step across which a mask's border pixel is not the object's (see ``trusted``)."""
_FUSION_MAX_FRAMES = 60
"""Frames integrated into a static object's TSDF at most (evenly spread)."""
_MIN_VOXELS_ACROSS = 8
"""Objects fewer voxels across than this skip the TSDF and use the best frame's surface."""
_CARD_MIN_SHARE = 0.2
"""Share of the object's core pixels that must have depth; below it the frame gets a card."""
_CARD_BAND = 0.05
"""Width of the background ring a card's depth is read from, as a share of the mask box's diagonal."""
_CARD_MIN_RING_PX = 8
"""Ring pixels with depth a card needs (else the frame is not used)."""


# ----------------------------------------------------------------------------------------
# Inputs


def _check_depths(depths: Mapping[int, DepthMap], track: CameraTrack) -> dict[int, DepthMap]:
    if not isinstance(depths, Mapping):
        raise InputError(f"depths must map frame index → DepthMap, got {type(depths).__name__}")
    out = {}
    for key, depth in depths.items():
        index = int(key)
        if not 0 <= index < len(track):
            raise InputError(f"depth keys must be frame indices in 0..{len(track) - 1}, got {key}")
        if not isinstance(depth, DepthMap):
            raise InputError(f"depths[{key}] must be a DepthMap, got {type(depth).__name__}")
        if depth.frame_number != int(track.frame_numbers[index]):
            raise InputError(
                f"depths[{key}] must belong to frame number {int(track.frame_numbers[index])}, got "
                f"{depth.frame_number}; key depths by frame index (position in the clip), not frame number"
            )
        out[index] = depth
    return out


def _check_tracked(tracked: TrackedMasks, track: CameraTrack) -> None:
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
class _ObjectView:
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


def _views(tracked: TrackedMasks, depths: dict[int, DepthMap], track: CameraTrack, min_area_px: int) -> list[_ObjectView]:
    """The frames that see the object with depth: its own (at least ``min_area_px`` core pixels
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
            _ObjectView(
                index=index, mask=mask, core=core, depth=depth,
                intrinsics=intrinsics_at(track.intrinsics[index], w, h), world_from_cam=track.world_from_cam[index],
                card=card,
            )
        )
    return out


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


def _spread(items: list, count: int) -> list:
    if len(items) <= count:
        return list(items)
    return [items[i] for i in np.unique(np.linspace(0, len(items) - 1, count).round().astype(int))]


def _robust_diagonal(points: np.ndarray) -> float:
    low, high = np.percentile(points, 5, axis=0), np.percentile(points, 95, axis=0)
    return float(np.linalg.norm(high - low))


# ----------------------------------------------------------------------------------------
# Static or moving


def classify_static(
    tracked: TrackedMasks,
    depths: Mapping[int, DepthMap],
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
        depths: frame index → z-depth (scene units) on the frame's grid or a scaled one;
            frames without depth are skipped.
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
    _check_tracked(tracked, track)
    depths = _check_depths(depths, track)
    if not (tolerance > 0 and depth_tolerance >= 0 and 0 <= threshold <= 1 and max_frames >= 2 and max_points >= 10):
        raise InputError(
            "tolerance must be > 0, depth_tolerance ≥ 0, threshold in 0..1, max_frames ≥ 2 and max_points ≥ 10, "
            f"got {tolerance}, {depth_tolerance}, {threshold}, {max_frames}, {max_points}"
        )
    views = _spread(_views(tracked, depths, track, min_area_px), max_frames)
    if len(views) < 2:
        log.info("object %r: seen with depth on %d frame(s); kept static", tracked.name, len(views))
        return True, float("nan")
    rng = np.random.default_rng(0)
    samples = [view.points(max_points=max_points, rng=rng)[0] for view in views]
    size = float(np.median([_robust_diagonal(points) for points in samples]))
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
    points: np.ndarray, view: _ObjectView, cam_from_world: np.ndarray, tol_size: float, depth_tolerance: float,
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


# ----------------------------------------------------------------------------------------
# Lifting


def lift_object(
    frames: Frames,
    track: CameraTrack,
    depths: Mapping[int, DepthMap],
    tracked: TrackedMasks,
    *,
    static: bool | None = None,
    instance_id: int = 1,
    name: str | None = None,
    texture_size: int = 1024,
    max_faces: int = 50_000,
    grid_size: int = 64,
    min_area_px: int = 16,
    threads: int | None = None,
    progress: ProgressFn | None = None,
) -> ObjectLayer:
    """Lift one tracked object into an :class:`ObjectLayer` (see the module docstring).

    Args:
        frames: N×H×W×3 uint8 RGB frames.
        track: one camera per frame (intrinsics at the frames' size, scene units).
        depths: frame index → z-depth on the frame's grid or a scaled one; frames without
            depth are not used.
        tracked: the object's masks on every frame (at the frames' size).
        static: force static (True) or moving (False); None classifies with :func:`classify_static`.
        instance_id: the object's id in the instance maps (≥ 1).
        name: the layer's name (a USD identifier); None makes one from ``tracked.name``.
        texture_size: largest side of the texture in texels (the atlas of a static object, each
            frame's texture of a moving one), 64..16384.
        max_faces: face budget of the mesh (a moving object's grid shrinks to fit it).
        grid_size: grid points along each side of a moving object's box (≥ 2).
        min_area_px: frames with fewer object pixels with depth use a card (as in
            :func:`classify_static`); masks smaller than this are treated as not seeing it.
        threads: OpenMP threads for the TSDF of a static object (None: the idle cores).
        progress: optional ``progress(stage, done, total)`` callback.

    Returns:
        The layer: local mesh, anchor, per-frame vertices and textures (moving), and stats
        (``frames_visible``, ``first_frame``, ``last_frame``, ``mask_quality_mean``, ``size``,
        ``static_score`` from the classification, NaN when forced or undecided, and
        ``card_frames``: frame numbers whose object depth is a card from the background
        around it, for lack of stereo depth; see the module docstring).

    Raises:
        InputError: inputs that do not fit together, or bad options.
        SolveError: the object has no depth on any frame, or no surface could be made.
    """
    check_frames_and_track(frames, track)
    _check_tracked(tracked, track)
    if tracked.masks.shape[1:] != (frames.height, frames.width):
        raise InputError(
            f"object {tracked.name!r} masks must be {frames.height}×{frames.width} (the frames' size), "
            f"got {tracked.masks.shape[1]}×{tracked.masks.shape[2]}"
        )
    depths = _check_depths(depths, track)
    if int(texture_size) != texture_size or not 64 <= texture_size <= 16384:
        raise InputError(f"texture_size must be a whole number of texels in 64..16384, got {texture_size}")
    if max_faces < 2 or grid_size < 2 or min_area_px < 1:
        raise InputError(f"max_faces and grid_size must be ≥ 2 and min_area_px ≥ 1, got {max_faces}, {grid_size}, {min_area_px}")
    layer_name = _identifier(name if name is not None else tracked.name)
    report = progress or (lambda stage, done, total: None)
    stage = f"lift {layer_name}"

    seen = tracked.area_px >= min_area_px
    if not seen.any():
        raise SolveError(f"expected object {tracked.name!r} on at least one frame, got empty masks; check its prompt")
    views = _views(tracked, depths, track, min_area_px)
    if not views:
        raise SolveError(
            f"expected depth on object {tracked.name!r} in some frame, got none on its {int(seen.sum())} frames; "
            "compute depth for those frames"
        )
    score = float("nan")
    if static is None:
        static, score = classify_static(tracked, depths, track, min_area_px=min_area_px)
    report(stage, 1, 3)
    quality = tracked.quality[seen]
    stats = {
        "frames_visible": int(seen.sum()),
        "first_frame": int(track.frame_numbers[np.flatnonzero(seen)[0]]),
        "last_frame": int(track.frame_numbers[np.flatnonzero(seen)[-1]]),
        "mask_quality_mean": float(quality.mean()),
        "static_score": score,
        "card_frames": [int(track.frame_numbers[v.index]) for v in views if v.card],
    }
    if stats["card_frames"]:
        log.info("object %r: no stereo depth on %d frame(s); a card from its surroundings stands in", tracked.name, len(stats["card_frames"]))
    if static:
        mesh = _lift_static(frames, track, views, tracked, texture_size, max_faces, threads, progress)
        report(stage, 2, 3)
        low, high = mesh.bounds()
        anchor = make_transform(np.eye(3), np.array([(low[0] + high[0]) / 2, low[1], (low[2] + high[2]) / 2]))
        local = TexturedMesh(
            vertices=mesh.vertices - anchor[:3, 3], faces=mesh.faces, uv=mesh.uv, texture=mesh.texture,
            vertex_colors=mesh.vertex_colors, normals=mesh.normals,
        )
        report(stage, 3, 3)
        layer = ObjectLayer(
            name=layer_name, instance_id=instance_id, static=True, world_from_local=anchor, mesh=local,
            stats={**stats, "size": (high - low).tolist()},
        )
    else:
        layer = _lift_moving(frames, track, views, layer_name, instance_id, texture_size, max_faces, grid_size, stats)
        report(stage, 3, 3)
    log.info(
        "object %s: %s, %d faces, %d frames, size %s", layer.name, "static" if layer.static else "moving",
        layer.mesh.num_faces, layer.stats["frames_visible"], np.round(layer.stats["size"], 3).tolist(),
    )
    return layer


def _identifier(text: str) -> str:
    """``text`` as a USD identifier: other characters become ``_``; a leading digit gets ``_``."""
    out = re.sub(r"[^A-Za-z0-9_]", "_", str(text))
    if not out:
        return "object"
    return f"_{out}" if out[0].isdigit() else out


def _lift_static(
    frames: Frames,
    track: CameraTrack,
    views: list[_ObjectView],
    tracked: TrackedMasks,
    texture_size: int,
    max_faces: int,
    threads: int | None,
    progress: ProgressFn | None,
) -> TexturedMesh:
    """The object's fused textured mesh in world coordinates."""
    from ._fusion import TSDFFusionConfig
    from ._texture import TextureBakeConfig

    own = [view for view in views if not view.card]
    if not own:
        # Cards from different frames sit at slightly different depths: fused they would
        # make a blurred slab, so the best frame's flat card stands in.
        log.info("object %r: no stereo depth on any frame; using its best frame's card", tracked.name)
        return _best_frame_surface(frames, track, views, tracked)
    views = own
    used = _spread(views, _FUSION_MAX_FRAMES)
    trusted = {view.index: view.trusted() for view in used}
    rng = np.random.default_rng(0)
    points = np.concatenate([view.points(max_points=2000, rng=rng, pixels=trusted[view.index])[0] for view in used])
    low, high = np.percentile(points, 2, axis=0), np.percentile(points, 98, axis=0)
    diagonal = float(np.linalg.norm(high - low))
    margin = _BOX_MARGIN * diagonal
    low, high = low - margin, high + margin
    footprint = float(np.median([np.median(v.depth[v.core & (v.depth > 0)]) / np.sqrt(v.intrinsics.fx * v.intrinsics.fy) for v in views]))
    voxel = max(diagonal / 64.0, footprint)

    if diagonal / voxel >= _MIN_VOXELS_ACROSS:
        depth_maps = {}
        for view in used:
            world, pixels = view.points(pixels=trusted[view.index])
            inside = np.all((world >= low) & (world <= high), axis=1)
            depth = np.zeros_like(view.depth)
            rows, cols = pixels[inside, 0], pixels[inside, 1]
            depth[rows, cols] = view.depth[rows, cols]
            depth_maps[view.index] = DepthMap(
                depth=depth, confidence=(depth > 0).astype(np.float32), frame_number=int(track.frame_numbers[view.index])
            )
        # The texture baker picks its own views from every frame: each must leave out all but the object.
        masks = {index: ~tracked.masks[index] for index in range(len(frames))}
        masks.update({index: ~pixels for index, pixels in trusted.items()})
        config = TSDFFusionConfig(
            voxel_size=voxel,
            max_faces=max_faces,
            threads=threads,
            min_views=min(2, len(used)),
            texture=TextureBakeConfig(texture_size=int(texture_size)),
        )
        try:
            mesh = config.build().fuse(frames, track, depth_maps, masks=masks, progress=progress)
            log.debug("object %r: fused %d faces at voxel %.4g", tracked.name, mesh.num_faces, voxel)
            return mesh
        except SolveError as exc:
            log.info("object %r: no fused surface (%s); using its best frame's surface", tracked.name, exc)
    else:
        log.info("object %r: %.1f voxels across; using its best frame's surface", tracked.name, diagonal / voxel)
    return _best_frame_surface(frames, track, views, tracked)


def _best_frame_surface(frames: Frames, track: CameraTrack, views: list[_ObjectView], tracked: TrackedMasks) -> TexturedMesh:
    """The 2.5D surface of the frame that sees the most of the object (area × mask quality)."""
    weight = [np.count_nonzero(v.core & (v.depth > 0)) * max(float(tracked.quality[v.index]), 1e-3) for v in views]
    view = views[int(np.argmax(weight))]
    depth = DepthMap(depth=view.depth, confidence=(view.depth > 0).astype(np.float32), frame_number=int(track.frame_numbers[view.index]))
    mesh = frame_surface(depth, frames.images[view.index], track.intrinsics[view.index], view.world_from_cam, mask=view.mask)
    if mesh.num_faces == 0:
        raise SolveError(f"expected a surface for object {tracked.name!r}, got none from its depth; check its depth maps")
    return _crop_texture(mesh)


def _crop_texture(mesh: TexturedMesh) -> TexturedMesh:
    """``mesh`` with its texture cut to the texels its uv reach (a frame-sized texture for a small object)."""
    if mesh.texture is None or mesh.uv is None:
        return mesh
    th, tw = mesh.texture.shape[:2]
    col = mesh.uv[:, 0].astype(np.float64) * tw
    row = (1.0 - mesh.uv[:, 1].astype(np.float64)) * th
    c0, c1 = max(0, int(np.floor(col.min())) - 1), min(tw, int(np.ceil(col.max())) + 1)
    r0, r1 = max(0, int(np.floor(row.min())) - 1), min(th, int(np.ceil(row.max())) + 1)
    uv = np.column_stack([(col - c0) / (c1 - c0), 1.0 - (row - r0) / (r1 - r0)]).astype(np.float32)
    return TexturedMesh(
        vertices=mesh.vertices, faces=mesh.faces, uv=uv, texture=np.ascontiguousarray(mesh.texture[r0:r1, c0:c1]),
        vertex_colors=mesh.vertex_colors, normals=mesh.normals,
    )


def _lift_moving(
    frames: Frames,
    track: CameraTrack,
    views: list[_ObjectView],
    name: str,
    instance_id: int,
    texture_size: int,
    max_faces: int,
    grid_size: int,
    stats: dict,
) -> ObjectLayer:
    """A moving object's 2.5D performance on one grid topology (see the module docstring)."""
    import cv2

    # Largest grid whose two triangles per cell fit the face budget.
    g = int(min(grid_size, np.floor(np.sqrt(max_faces / 2.0)) + 1))
    g = max(g, 2)
    a = np.linspace(0.0, 1.0, g)
    grid_a, grid_b = np.meshgrid(a, a)  # row-major: rows follow b (image down), columns a
    grid_a, grid_b = grid_a.reshape(-1), grid_b.reshape(-1)

    boxes = [_box(frames, view) for view in views]
    reference = int(np.argmax([np.count_nonzero(view.mask) for view in views]))
    cells = _cells_on_mask(views[reference], boxes[reference], frames, g)
    if not cells.any():
        raise SolveError(f"expected object {name!r} to cover grid cells, got none; lower grid_size")
    triangles = _grid_triangles(g, g)[np.concatenate([cells, cells])]
    used = np.unique(triangles)
    remap = np.full(g * g, -1, dtype=np.int64)
    remap[used] = np.arange(used.size)
    faces = remap[triangles].astype(np.int32)

    per_frame, numbers = [], []
    for view, box in zip(views, boxes):
        points = _lift_grid(view, box, grid_a[used], grid_b[used], frames)
        if points is None:
            log.debug("object %r: no depth on frame %d; left out", name, int(track.frame_numbers[view.index]))
            continue
        per_frame.append((view, box, points))
        numbers.append(int(track.frame_numbers[view.index]))
    if not per_frame:
        raise SolveError(f"expected depth on moving object {name!r}, got none on its frames")

    first = per_frame[0][2]
    low, high = first.min(axis=0), first.max(axis=0)
    anchor = make_transform(np.eye(3), np.array([(low[0] + high[0]) / 2, low[1], (low[2] + high[2]) / 2]))
    vertices = np.stack([points - anchor[:3, 3] for _, _, points in per_frame]).astype(np.float32)

    widths = np.median([box[2] - box[0] for _, box, _ in per_frame])
    heights = np.median([box[3] - box[1] for _, box, _ in per_frame])
    scale = min(1.0, texture_size / max(widths, heights))
    tex_w, tex_h = max(8, int(round(widths * scale))), max(8, int(round(heights * scale)))
    textures = np.empty((len(per_frame), tex_h, tex_w, 3), dtype=np.uint8)
    for k, (view, (x0, y0, x1, y1), _) in enumerate(per_frame):
        crop = frames.images[view.index, y0:y1, x0:x1]
        shrink = tex_w < crop.shape[1] or tex_h < crop.shape[0]
        textures[k] = cv2.resize(crop, (tex_w, tex_h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    uv = np.column_stack([grid_a[used], 1.0 - grid_b[used]]).astype(np.float32)
    mesh = TexturedMesh(
        vertices=vertices[0].astype(np.float64), faces=faces, uv=uv, texture=textures[0],
        normals=vertex_normals(vertices[0].astype(np.float64), faces),
    )
    sizes = vertices.max(axis=1) - vertices.min(axis=1)
    return ObjectLayer(
        name=name, instance_id=instance_id, static=False, world_from_local=anchor, mesh=mesh,
        frame_numbers=np.asarray(numbers, dtype=np.int64), vertices_per_frame=vertices, textures_per_frame=textures,
        stats={**stats, "size": np.median(sizes, axis=0).astype(np.float64).tolist()},
    )


def _box(frames: Frames, view: _ObjectView) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the object's mask box in frame pixels (edges; x1, y1 exclusive)."""
    h, w = view.mask.shape
    rows, cols = np.nonzero(view.mask)
    sx, sy = frames.width / w, frames.height / h
    x0, x1 = int(np.floor(cols.min() * sx)), int(np.ceil((cols.max() + 1) * sx))
    y0, y1 = int(np.floor(rows.min() * sy)), int(np.ceil((rows.max() + 1) * sy))
    return x0, y0, min(x1, frames.width), min(y1, frames.height)


def _cells_on_mask(view: _ObjectView, box: tuple[int, int, int, int], frames: Frames, g: int) -> np.ndarray:
    """(g-1)² bool, row-major: grid cells at least half on the mask in ``view``."""
    import cv2

    h, w = view.mask.shape
    sx, sy = w / frames.width, h / frames.height
    x0, y0, x1, y1 = box
    c0, c1 = int(np.floor(x0 * sx)), max(int(np.ceil(x1 * sx)), int(np.floor(x0 * sx)) + 1)
    r0, r1 = int(np.floor(y0 * sy)), max(int(np.ceil(y1 * sy)), int(np.floor(y0 * sy)) + 1)
    crop = view.mask[r0:r1, c0:c1].astype(np.float32)
    # Area resampling gives each cell the share of its pixels on the mask (upsampled when the
    # box has fewer pixels than the grid has cells).
    coverage = cv2.resize(crop, (g - 1, g - 1), interpolation=cv2.INTER_AREA if crop.shape[1] >= g - 1 and crop.shape[0] >= g - 1 else cv2.INTER_LINEAR)
    return (coverage >= 0.5).reshape(-1)


def _lift_grid(view: _ObjectView, box: tuple[int, int, int, int], a: np.ndarray, b: np.ndarray, frames: Frames) -> np.ndarray | None:
    """V×3 world points of grid points (a, b) over ``box`` in ``view``, or None without depth."""
    from scipy.ndimage import distance_transform_edt

    x0, y0, x1, y1 = box
    u = x0 + a * (x1 - x0)  # frame pixels (continuous, edges at integers)
    v = y0 + b * (y1 - y0)
    h, w = view.depth.shape
    sx, sy = w / frames.width, h / frames.height
    col = np.clip(np.floor(u * sx), 0, w - 1).astype(np.int64)
    row = np.clip(np.floor(v * sy), 0, h - 1).astype(np.int64)
    # Depth comes from the object only: its pixels with depth, and for grid points off them the
    # nearest such pixel (within the box, grown a little so a thin box still finds one).
    c0, c1 = max(0, col.min() - 2), min(w, col.max() + 3)
    r0, r1 = max(0, row.min() - 2), min(h, row.max() + 3)
    good = view.core[r0:r1, c0:c1] & (view.depth[r0:r1, c0:c1] > 0)
    if not good.any():
        good = view.mask[r0:r1, c0:c1] & (view.depth[r0:r1, c0:c1] > 0)
        if not good.any():
            return None
    _, (near_r, near_c) = distance_transform_edt(~good, return_indices=True)
    lr, lc = row - r0, col - c0
    z = view.depth[r0 + near_r[lr, lc], c0 + near_c[lr, lc]].astype(np.float64)
    intrinsics = view.intrinsics
    cam = intrinsics.unproject(np.column_stack([u * sx, v * sy]), z)
    return cam @ view.world_from_cam[:3, :3].T + view.world_from_cam[:3, 3]


# ----------------------------------------------------------------------------------------
# Many objects


def lift_objects(
    frames: Frames,
    track: CameraTrack,
    depths: Mapping[int, DepthMap],
    tracked_list: Sequence[TrackedMasks],
    *,
    static: Sequence[bool | None] | None = None,
    texture_size: int = 1024,
    max_faces: int = 50_000,
    grid_size: int = 64,
    min_area_px: int = 16,
    threads: int | None = None,
    progress: ProgressFn | None = None,
) -> list[ObjectLayer]:
    """Lift every tracked object (see :func:`lift_object`); instance ids 1..n in list order.

    Names come from ``tracked.name`` made into USD identifiers; a repeated name gets ``_2``,
    ``_3``, ... Objects with no depth on any frame are skipped (logged), so ids stay those of
    :func:`instance_maps` for the same list.

    Args:
        static: per object, True / False to force, None to classify; None classifies all.
        Others: as :func:`lift_object`.

    Raises:
        InputError: as :func:`lift_object`, or ``static`` of another length.
    """
    items = list(tracked_list)
    choices = [None] * len(items) if static is None else list(static)
    if len(choices) != len(items):
        raise InputError(f"static must have one entry per object ({len(items)}), got {len(choices)}")
    taken: set[str] = set()
    out = []
    for number, (tracked, choice) in enumerate(zip(items, choices), start=1):
        base = _identifier(tracked.name if isinstance(tracked, TrackedMasks) else "object")
        name, k = base, 1
        while name in taken:
            k += 1
            name = f"{base}_{k}"
        taken.add(name)
        try:
            out.append(
                lift_object(
                    frames, track, depths, tracked, static=choice, instance_id=number, name=name,
                    texture_size=texture_size, max_faces=max_faces, grid_size=grid_size,
                    min_area_px=min_area_px, threads=threads, progress=progress,
                )
            )
        except SolveError as exc:
            log.warning("object %s skipped: %s", name, exc)
        if progress:
            progress("objects", number, len(items))
    return out


def instance_maps(
    tracked_list: Sequence[TrackedMasks], num_frames: int, *, image_size: tuple[int, int] | None = None
) -> np.ndarray:
    """Per-frame instance maps of the tracked objects: N×H×W int32, 0 = background, k = the
    k-th object of ``tracked_list`` (the ids :func:`lift_objects` gives).

    Where masks overlap, the object whose mask has the higher quality on that frame wins;
    on equal quality the later object in the list wins.

    Args:
        tracked_list: the objects, each with ``num_frames`` masks of one size.
        num_frames: N, the clip's frame count.
        image_size: ``(width, height)`` of the maps; needed only when ``tracked_list`` is empty.

    Raises:
        InputError: masks of another frame count or size, or an empty list without ``image_size``.
    """
    items = list(tracked_list)
    if not items:
        if image_size is None:
            raise InputError("instance_maps needs image_size=(width, height) when there are no objects")
        width, height = (int(s) for s in image_size)
        return np.zeros((int(num_frames), height, width), dtype=np.int32)
    for tracked in items:
        if not isinstance(tracked, TrackedMasks):
            raise InputError(f"tracked_list must hold TrackedMasks, got {type(tracked).__name__}")
    height, width = items[0].masks.shape[1:]
    for tracked in items:
        if tracked.masks.shape != (num_frames, height, width):
            raise InputError(
                f"every object must have {num_frames} masks of {width}×{height}, got {tracked.name!r} with "
                f"{tracked.masks.shape[0]} of {tracked.masks.shape[2]}×{tracked.masks.shape[1]}"
            )
    if image_size is not None and tuple(int(s) for s in image_size) != (width, height):
        raise InputError(f"image_size must match the masks ({width}×{height}), got {image_size}")
    out = np.zeros((num_frames, height, width), dtype=np.int32)
    best = np.empty((height, width), dtype=np.float32)
    for frame in range(num_frames):
        best.fill(-np.inf)
        for number, tracked in enumerate(items, start=1):
            quality = np.float32(tracked.quality[frame])
            take = tracked.masks[frame] & (quality >= best)
            out[frame][take] = number
            best[take] = quality
    return out
