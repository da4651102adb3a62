"""Lifting tracked objects into layers: one fused mesh for a static object, a 2.5D performance
for a moving one (static or moving is decided by :func:`classify_static` unless forced).

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
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from sceneforge.scenegraph import (
    CameraTrack,
    DepthMap,
    DepthMaps,
    Frames,
    InputError,
    ObjectLayer,
    SolveError,
    TexturedMesh,
    make_transform,
)

from .._checks import check_frames_and_track, depths_by_index
from .._progress import ProgressFn
from ..surface._frame_surface import frame_surface, grid_triangles, vertex_normals
from ..surface._fusion import TSDFFusionConfig
from ..surface._texture import TextureBakeConfig
from ._classify import classify_static
from ._object_views import ObjectView, check_tracked, object_views, on_their_footing, spread
from ._types import TrackedMasks

__all__ = ["lift_object", "lift_objects"]

log = logging.getLogger(__name__)

_BOX_MARGIN = 0.5
"""Static fusion drops object pixels outside the robust (2nd–98th percentile) box grown by this
share of its diagonal: far background seen through a wrong mask. Generous, since a thin
extremity (a box's far corner seen at a grazing angle) lies beyond the percentiles."""
_FUSION_MAX_FRAMES = 60
"""Frames integrated into a static object's TSDF at most (evenly spread)."""
_MIN_VOXELS_ACROSS = 8
"""Objects fewer voxels across than this skip the TSDF and use the best frame's surface."""


def lift_object(
    frames: Frames,
    track: CameraTrack,
    depths: DepthMaps | Mapping[int, DepthMap] | Iterable[DepthMap],
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
        depths: z-depth keyed by source frame number (:class:`DepthMaps`, a mapping whose
            keys are the maps' frame numbers, or DepthMap objects), on the frame's grid or a
            scaled one; frames without depth are not used.
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
    check_tracked(tracked, track)
    if tracked.masks.shape[1:] != (frames.height, frames.width):
        raise InputError(
            f"object {tracked.name!r} masks must be {frames.height}×{frames.width} (the frames' size), "
            f"got {tracked.masks.shape[1]}×{tracked.masks.shape[2]}"
        )
    depths = DepthMaps.of(depths)
    by_index = depths_by_index(depths, track)
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
    views = object_views(tracked, by_index, track, min_area_px)
    if not views:
        raise SolveError(
            f"expected depth on object {tracked.name!r} in some frame, got none on its {int(seen.sum())} frames; "
            "compute depth for those frames"
        )
    score = float("nan")
    if static is None:
        static, score = classify_static(tracked, depths, track, min_area_px=min_area_px)
    report(stage, 1, 3)
    if not static:
        views = on_their_footing(views)
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
    views: list[ObjectView],
    tracked: TrackedMasks,
    texture_size: int,
    max_faces: int,
    threads: int | None,
    progress: ProgressFn | None,
) -> TexturedMesh:
    """The object's fused textured mesh in world coordinates."""
    own = [view for view in views if not view.card]
    if not own:
        # Cards from different frames sit at slightly different depths: fused they would
        # make a blurred slab, so the best frame's flat card stands in.
        log.info("object %r: no stereo depth on any frame; using its best frame's card", tracked.name)
        return _best_frame_surface(frames, track, views, tracked)
    views = own
    used = spread(views, _FUSION_MAX_FRAMES)
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
        depth_maps = []
        for view in used:
            world, pixels = view.points(pixels=trusted[view.index])
            inside = np.all((world >= low) & (world <= high), axis=1)
            depth = np.zeros_like(view.depth)
            rows, cols = pixels[inside, 0], pixels[inside, 1]
            depth[rows, cols] = view.depth[rows, cols]
            depth_maps.append(
                DepthMap(depth=depth, confidence=(depth > 0).astype(np.float32), frame_number=int(track.frame_numbers[view.index]))
            )
        # The texture baker picks its own views from every frame: each must leave out all but the object.
        numbers = [int(n) for n in track.frame_numbers]
        masks = {numbers[index]: ~tracked.masks[index] for index in range(len(frames))}
        masks.update({numbers[index]: ~pixels for index, pixels in trusted.items()})
        config = TSDFFusionConfig(
            voxel_size=voxel,
            max_faces=max_faces,
            threads=threads,
            min_views=min(2, len(used)),
            texture=TextureBakeConfig(texture_size=int(texture_size)),
        )
        try:
            mesh = config.build().fuse(frames, track, DepthMaps(depth_maps), masks=masks, progress=progress)
            log.debug("object %r: fused %d faces at voxel %.4g", tracked.name, mesh.num_faces, voxel)
            return mesh
        except SolveError as exc:
            log.info("object %r: no fused surface (%s); using its best frame's surface", tracked.name, exc)
    else:
        log.info("object %r: %.1f voxels across; using its best frame's surface", tracked.name, diagonal / voxel)
    return _best_frame_surface(frames, track, views, tracked)


def _best_frame_surface(frames: Frames, track: CameraTrack, views: list[ObjectView], tracked: TrackedMasks) -> TexturedMesh:
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
    views: list[ObjectView],
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
    # One topology over the box for every frame; each frame hides the cells off its own mask,
    # so the layer's outline is that frame's (as it turns, walks, opens its wings).
    on_cells = np.stack([_cells_on_mask(view, box, frames, g) for view, box in zip(views, boxes)])
    cells = on_cells.any(axis=0)
    if not cells.any():
        raise SolveError(f"expected object {name!r} to cover grid cells, got none; lower grid_size")
    triangles = grid_triangles(g, g)[np.concatenate([cells, cells])]
    used = np.unique(triangles)
    remap = np.full(g * g, -1, dtype=np.int64)
    remap[used] = np.arange(used.size)
    faces = remap[triangles].astype(np.int32)

    per_frame, numbers, hidden = [], [], []
    for view, box, on in zip(views, boxes, on_cells):
        points = _lift_grid(view, box, grid_a[used], grid_b[used], frames)
        shown = np.concatenate([on, on])[np.concatenate([cells, cells])]  # the faces' cells, in face order
        if points is None or not shown.any():
            log.debug("object %r: no depth or no cell on frame %d; left out", name, int(track.frame_numbers[view.index]))
            continue
        per_frame.append((view, box, points))
        numbers.append(int(track.frame_numbers[view.index]))
        hidden.append(~shown)
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
        hidden_faces_per_frame=np.stack(hidden) if np.any(hidden) else None, stats={**stats, "size": np.median(sizes, axis=0).astype(np.float64).tolist()},
    )


def _box(frames: Frames, view: ObjectView) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1): the object's mask box in frame pixels (edges; x1, y1 exclusive)."""
    h, w = view.mask.shape
    rows, cols = np.nonzero(view.mask)
    sx, sy = frames.width / w, frames.height / h
    x0, x1 = int(np.floor(cols.min() * sx)), int(np.ceil((cols.max() + 1) * sx))
    y0, y1 = int(np.floor(rows.min() * sy)), int(np.ceil((rows.max() + 1) * sy))
    return x0, y0, min(x1, frames.width), min(y1, frames.height)


def _cells_on_mask(view: ObjectView, box: tuple[int, int, int, int], frames: Frames, g: int) -> np.ndarray:
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


def _lift_grid(view: ObjectView, box: tuple[int, int, int, int], a: np.ndarray, b: np.ndarray, frames: Frames) -> np.ndarray | None:
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


def lift_objects(
    frames: Frames,
    track: CameraTrack,
    depths: DepthMaps | Mapping[int, DepthMap] | Iterable[DepthMap],
    tracked_list: Sequence[TrackedMasks],
    *,
    static: Sequence[bool | None] | None = None,
    texture_size: int = 1024,
    max_faces: int = 50_000,
    grid_size: int = 64,
    min_area_px: int = 16,
    threads: int | None = None,
    progress: ProgressFn | None = None,
) -> tuple[ObjectLayer, ...]:
    """Lift every tracked object (see :func:`lift_object`); instance ids 1..n in list order.

    Names come from ``tracked.name`` made into USD identifiers; a repeated name gets ``_2``,
    ``_3``, ... Objects with no depth on any frame are skipped (logged), so ids stay those of
    :func:`instance_maps` for the same list.

    Args:
        static: per object, True / False to force, None to classify; None classifies all.
        Others: as :func:`lift_object` (``depths`` keyed by source frame number).

    Returns:
        The layers of the objects that could be lifted, in list order.

    Raises:
        InputError: as :func:`lift_object`, or ``static`` of another length.
    """
    depths = DepthMaps.of(depths)
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
    return tuple(out)
