"""Automatic object proposals from the geometry: no prompt, the objects of a static scene.

With no prompt from the user, :func:`propose_objects` finds the things that stand in the
scene from its depth and cameras alone, so that ``reconstruct`` by itself yields a scene
with separate, editable objects:

1. **Points.** The confident depth of a spread of frames is lifted to a world point cloud
   and binned into a voxel grid (the voxel is a small share of the scene's extent unless
   given); each voxel remembers which of the sampled frames saw it, and voxels seen by a
   single frame are dropped as noise.
2. **Background planes.** The dominant planes are found one after another by RANSAC
   (Open3D's ``segment_plane``, seeded, so the result is reproducible; then refitted by
   least squares). A plane with a connected piece long enough compared with the scene (the
   floor, a wall, the ceiling, a long counter or a large table) is background, all its
   inliers with it; a plane without one (the top of a small table, a side of a cabinet)
   stays in the pool of candidate object points.
3. **Clusters.** What is left is split into 3D connected components of the voxel grid
   (``scipy.ndimage.label``, after closing one-voxel gaps). Something resting on a
   cluster's top surface (a ball on a table) is split from it. A component is kept as an
   object when it is compact (its largest extent between two shares of the scene's extent),
   seen by enough of the sampled frames, dense (sparse blobs are stereo noise), not
   wall-like (a thin vertical sheet: a part of a wall the plane fit missed) and supported:
   it comes within a few voxels of a background plane (things stand on the floor or a
   counter, or hang on a wall; a blob floating in mid-air is noise) or rests on another
   object. With no background plane found, support is not checked.
4. **Masks.** Every frame's own depth is lifted to the world; a pixel is on an object when
   its point falls in that object's voxels (or within a voxel of them) and not on a
   background plane, so occlusion is respected by construction: an object hidden behind
   another has no pixels whose depth reaches it. Masks are cleaned with a small
   morphological close, pixels without depth that the mask encloses or nearly encloses
   join it, and small connected components are dropped. A frame without depth borrows
   one: its neighbours' depth, reprojected into it (the nearest surface wins).

Objects are named ``object_01``, ``object_02``, … in a deterministic order: most voxels
first, ties by position. The same input gives the same names.

Everything here assumes a static scene (a moving object smears into a trail of voxels and
is dropped or split) and a world with +Y up (as the camera solve's world alignment gives);
lengths are in the track's scene units, and the thresholds scale with the scene's extent.
Objects that touch side by side (two boxes pushed together) come out as one.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from sceneforge.scenegraph import CameraTrack, DepthMap, DepthMaps, Frames, InputError

from .._checks import check_frames_and_track, depths_by_index
from .._progress import ProgressFn
from .._threads import openmp_threads
from ..surface._frame_surface import intrinsics_at
from ._proposal_masks import object_masks
from ._types import TrackedMasks
from ._voxels import Plane, VoxelGrid, Voxels, components, popcount, voxelize

__all__ = ["GeometryProposer", "ObjectProposer", "ProposalConfig", "propose_objects"]

log = logging.getLogger(__name__)

_MAX_VIEWS = 64
"""The sampled frames that saw a voxel are kept as bits of one uint64."""


@dataclass(frozen=True)
class ProposalConfig:
    """How objects are proposed from the geometry (see the module docstring).

    Lengths are in voxels or in shares of the scene's extent (the diagonal of the box
    holding the middle 96% of the sampled points along each world axis), so the defaults
    work in any scene unit.
    """

    max_objects: int = 12
    """Keep at most this many objects (the largest ones)."""
    num_views: int = 16
    """Frames with depth sampled (evenly over the clip) for the point cloud; at most 64."""
    points_per_view: int = 40_000
    """Depth pixels lifted per sampled frame (a regular pixel grid thinned to this count)."""
    min_confidence: float = 0.2
    """Depth pixels below this confidence are not lifted into the point cloud."""
    voxel_size: float | None = None
    """Voxel edge in scene units; None: ``voxel_fraction`` × the scene's extent."""
    voxel_fraction: float = 0.006
    """The derived voxel edge as a share of the scene's extent (5 cm in a room 8 m across)."""
    max_planes: int = 8
    """Planes searched for by RANSAC, one after another."""
    min_plane_share: float = 0.04
    """The plane search stops when the best plane holds fewer than this share of the voxels."""
    plane_threshold_voxels: float = 1.5
    """A voxel within this many voxels of a plane is one of its inliers."""
    ransac_iterations: int = 1000
    """RANSAC iterations per plane."""
    background_plane_fraction: float = 0.3
    """A connected planar piece whose in-plane length is at least this share of the scene's
    extent is background (floor, wall, ceiling, counter); shorter pieces may be parts of objects."""
    min_voxel_views: int = 2
    """Voxels seen by fewer sampled frames are noise (capped at the number of sampled frames)."""
    cluster_gap_voxels: int = 1
    """Gaps up to this many voxels do not split a cluster."""
    min_object_voxels: int = 30
    """Clusters with fewer voxels are dropped."""
    min_size_fraction: float = 0.03
    """An object's largest extent must be at least this share of the scene's extent..."""
    max_size_fraction: float = 0.4
    """...and at most this share (larger clusters are background furniture or walls)."""
    min_fill: float = 0.6
    """An object's surface is dense: its voxels must number at least this share of the cells
    spanned by its two largest extents (sparse blobs of stereo noise fill far less)."""
    split_stacked: bool = True
    """Split what rests on an object's top surface (a ball on a table) from the object."""
    min_surface_share: float = 0.15
    """A height holding this share of a cluster's voxels is a horizontal surface of it (for ``split_stacked``)."""
    flat_ratio: float = 0.12
    """A cluster whose thickness (smallest principal extent) is below this share of its largest
    extent, and at most three voxels, is a sheet; a vertical sheet is wall-like and dropped."""
    min_wall_protrusion_voxels: float = 4.0
    """A cluster that touches walls (vertical background planes) only must stand out of them
    by at least this many voxels (95th percentile of its voxels' distances): thinner layers
    (a poster, stereo noise hugging a wall) are wall-like."""
    support_voxels: float = 3.0
    """An object must come within this many voxels of a background plane (standing or hanging)."""
    min_frames: int = 3
    """An object must be seen by at least this many of the sampled frames (capped at their number)."""
    mask_tolerance_voxels: int = 1
    """A frame's pixel is on an object when its point lies within this many voxels of the object's voxels."""
    mask_plane_voxels: float = 0.5
    """...and farther than this many voxels from the background plane whose piece it lies on
    (so the floor around an object's foot stays out of its mask)."""
    close_px: int = 3
    """Radius of the morphological close applied to each mask, in pixels at 640 px wide
    (scaled with the frame width)."""
    fill_px: int = 8
    """Pixels without depth that an object's mask encloses, or that a close of this radius (in
    pixels at 640 px wide) reaches, join the mask."""
    min_component_share: float = 0.1
    """Mask components smaller than this share of the frame's largest component of the object are dropped."""
    min_mask_px: int = 16
    """Masks (and mask components) with fewer pixels, at 640 px wide, are dropped."""
    seed: int = 0
    """Seed of the point sampling and of RANSAC (the same seed gives the same objects)."""

    def __post_init__(self) -> None:
        if self.max_objects < 1 or self.num_views < 1 or self.points_per_view < 100:
            raise InputError(
                "max_objects and num_views must be ≥ 1 and points_per_view ≥ 100, got "
                f"{self.max_objects}, {self.num_views}, {self.points_per_view}"
            )
        if self.num_views > _MAX_VIEWS:
            raise InputError(f"num_views must be ≤ {_MAX_VIEWS}, got {self.num_views}")
        if self.voxel_size is not None and not (np.isfinite(self.voxel_size) and self.voxel_size > 0):
            raise InputError(f"voxel_size must be a positive length in scene units, got {self.voxel_size}")
        for name in ("voxel_fraction", "plane_threshold_voxels", "background_plane_fraction", "min_size_fraction",
                     "max_size_fraction", "flat_ratio", "support_voxels", "min_wall_protrusion_voxels"):
            if not getattr(self, name) > 0:
                raise InputError(f"{name} must be positive, got {getattr(self, name)}")
        if not self.min_size_fraction < self.max_size_fraction:
            raise InputError(
                f"min_size_fraction must be below max_size_fraction, got {self.min_size_fraction} and {self.max_size_fraction}"
            )
        for name in ("min_confidence", "min_plane_share", "min_component_share", "min_fill", "min_surface_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise InputError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        for name in ("max_planes", "cluster_gap_voxels", "mask_tolerance_voxels", "close_px", "fill_px", "min_mask_px"):
            if getattr(self, name) < 0:
                raise InputError(f"{name} must be ≥ 0, got {getattr(self, name)}")
        if self.ransac_iterations < 10 or self.min_voxel_views < 1 or self.min_frames < 1 or self.min_object_voxels < 1:
            raise InputError("ransac_iterations must be ≥ 10, and min_voxel_views, min_frames, min_object_voxels ≥ 1")
        if self.mask_plane_voxels < 0:
            raise InputError(f"mask_plane_voxels must be ≥ 0, got {self.mask_plane_voxels}")

    def build(self) -> GeometryProposer:
        """The backend this configuration describes."""
        return GeometryProposer(self)


# ------------------------------------------------------------------ public entry


class ObjectProposer(Protocol):
    """An object-proposal backend: frames, cameras and depth in, the objects' masks out."""

    def propose(
        self,
        frames: Frames,
        track: CameraTrack,
        depths: DepthMaps | Mapping[int, DepthMap] | Iterable[DepthMap],
        *,
        progress: ProgressFn | None = None,
    ) -> list[TrackedMasks]:
        """Propose the objects of the shot, with a mask on every frame.

        Args:
            frames: N×H×W×3 uint8 RGB frames.
            track: one camera per frame (intrinsics at the frames' size), in scene units.
            depths: z-depth keyed by source frame number (:class:`DepthMaps`, a mapping whose
                keys are the maps' frame numbers, or DepthMap objects).
            progress: optional ``progress(stage, done, total)`` callback.

        Returns:
            One :class:`TrackedMasks` per object; empty when the shot holds none.

        Raises:
            InputError: frames, track and depths that do not fit together.
        """
        ...


class GeometryProposer:
    """The default :class:`ObjectProposer`: objects from the geometry alone (see :func:`propose_objects`)."""

    def __init__(self, config: ProposalConfig | None = None) -> None:
        self.config = config or ProposalConfig()

    def propose(
        self,
        frames: Frames,
        track: CameraTrack,
        depths: DepthMaps | Mapping[int, DepthMap] | Iterable[DepthMap],
        *,
        progress: ProgressFn | None = None,
    ) -> list[TrackedMasks]:
        """See :meth:`ObjectProposer.propose` and :func:`propose_objects`."""
        return propose_objects(frames, track, depths, config=self.config, progress=progress)


def propose_objects(
    frames: Frames,
    track: CameraTrack,
    depths: DepthMaps | Mapping[int, DepthMap] | Iterable[DepthMap],
    *,
    config: ProposalConfig | None = None,
    progress: ProgressFn | None = None,
) -> list[TrackedMasks]:
    """Propose the objects of a static scene from its depth and cameras, with a mask per frame.

    Args:
        frames: N×H×W×3 uint8 RGB frames.
        track: one camera per frame (intrinsics at the frames' size), world +Y up (as the
            camera solve aligns it), in scene units.
        depths: z-depth keyed by source frame number (:class:`DepthMaps`, a mapping whose keys
            are the maps' frame numbers, or DepthMap objects), at the frame's size or a
            scaled grid, in the track's units; frames without depth borrow their neighbours'
            depth, reprojected.
        config: the proposal settings; default ``ProposalConfig()``.
        progress: optional ``progress(stage, done, total)`` callback (stages ``"proposals"``,
            one step per sampled frame, then ``"object masks"``, one step per frame).

    Returns:
        One :class:`TrackedMasks` per object (at most ``config.max_objects``), named
        ``object_01``, ``object_02``, … largest first: masks N×H×W bool at the frames' size,
        quality N float32 in [0, 1] (the share of the mask that the frame's own depth puts on
        the object, times the mask's solidity; halved on frames whose depth was borrowed;
        0 where the object is not seen), ``prompt_frame`` the frame index where it is seen
        best, motion ``"geometry"`` (``"lost"`` on frames without it). An empty list when
        the geometry holds no object (only planes, or too few points).

    Raises:
        InputError: frames, track and depths that do not fit together, or no depth at all.
    """
    cfg = config or ProposalConfig()
    if not isinstance(cfg, ProposalConfig):
        raise InputError(f"config must be a ProposalConfig, got {type(cfg).__name__}")
    check_frames_and_track(frames, track)
    # Frames are sampled and lifted by index (position in the clip).
    depths = depths_by_index(depths, frames, required=True)
    order = list(depths)
    rng = np.random.default_rng(cfg.seed)

    views = [order[int(round(k))] for k in np.linspace(0, len(order) - 1, min(cfg.num_views, len(order)))]
    views = sorted(set(views))
    points, view_of = [], []
    for k, index in enumerate(views):
        lifted = _lift(depths[index], track, index, cfg.points_per_view, cfg.min_confidence, rng)
        points.append(lifted)
        view_of.append(np.full(len(lifted), k, np.int64))
        if progress:
            progress("proposals", k + 1, len(views))
    points_in_world = np.concatenate(points) if points else np.zeros((0, 3))
    view_of = np.concatenate(view_of) if view_of else np.zeros(0, np.int64)
    if len(points_in_world) < 1000:
        log.info("object proposals: only %d depth points, no objects proposed", len(points_in_world))
        return []

    grid, scene_extent = _make_grid(points_in_world, cfg)
    voxels = voxelize(grid, points_in_world, view_of)
    seen_enough = popcount(voxels.views) >= min(cfg.min_voxel_views, len(views))
    voxels = Voxels(voxels.flat[seen_enough], voxels.centroid[seen_enough], voxels.views[seen_enough])
    log.info("object proposals: %d points in %d voxels of %.4g (scene extent %.4g), %d frames sampled",
             len(points_in_world), len(voxels.flat), grid.voxel, scene_extent, len(views))
    if len(voxels.flat) < 100:
        return []

    planes, on_plane = _background_planes(voxels, grid, scene_extent, cfg)
    clusters = _clusters(voxels, ~on_plane, grid, cfg)
    objects = _select(clusters, voxels, planes, grid, scene_extent, len(views), cfg)
    log.info("object proposals: %d planes as background, %d clusters, %d objects", len(planes), len(clusters), len(objects))
    if not objects:
        return []
    return object_masks(frames, track, depths, order, objects, planes, grid, cfg, progress)


# ------------------------------------------------------------------ points


def _lift(depth_map: DepthMap, track: CameraTrack, index: int, count: int, min_confidence: float, rng) -> np.ndarray:
    """World points (M×3) of a regular, thinned grid of the confident depth pixels of one frame."""
    h, w = depth_map.depth.shape
    step = max(1, int(np.sqrt(h * w / count)))
    depth = depth_map.depth[::step, ::step]
    usable = (depth > 0) & (depth_map.confidence[::step, ::step] >= min_confidence)
    rows, cols = np.nonzero(usable)
    if len(rows) > count:
        keep = np.sort(rng.choice(len(rows), count, replace=False))
        rows, cols = rows[keep], cols[keep]
    intr = intrinsics_at(track.intrinsics[index], w, h)
    uv = np.column_stack([cols * step + 0.5, rows * step + 0.5])
    cam = intr.unproject(uv, depth[rows, cols])
    pose = track.world_from_cam[index]
    return cam @ pose[:3, :3].T + pose[:3, 3]


def _make_grid(points: np.ndarray, cfg: ProposalConfig) -> tuple[VoxelGrid, float]:
    """The voxel grid over the bulk of the points, and the scene's extent."""
    low, high = np.percentile(points, 2, axis=0), np.percentile(points, 98, axis=0)
    extent = float(np.linalg.norm(high - low))
    extent = extent if extent > 0 else 1.0
    voxel = cfg.voxel_size or cfg.voxel_fraction * extent
    margin = 0.1 * (high - low) + 2 * voxel
    low, high = low - margin, high + margin
    # Stray points beyond the margin are outliers or far background: outside the grid, ignored.
    shape = np.maximum(1, np.ceil((high - low) / voxel)).astype(np.int64)
    while np.prod(shape) > 64_000_000:  # a user-given voxel too small for the scene: coarsen
        voxel *= 1.25
        shape = np.maximum(1, np.ceil((high - low) / voxel)).astype(np.int64)
    return VoxelGrid(origin=low, voxel=float(voxel), shape=tuple(int(s) for s in shape)), extent


# ------------------------------------------------------------------ planes


def _background_planes(voxels: Voxels, grid: VoxelGrid, scene_extent: float, cfg: ProposalConfig):
    """The background planes, and which voxels lie on them (bool per voxel)."""
    import open3d as o3d

    on_plane = np.zeros(len(voxels.flat), bool)
    candidate = np.ones(len(voxels.flat), bool)
    planes: list[Plane] = []
    threshold = cfg.plane_threshold_voxels * grid.voxel
    min_inliers = max(3, int(cfg.min_plane_share * len(voxels.flat)))
    o3d.utility.random.seed(cfg.seed)
    for _ in range(cfg.max_planes):
        remaining = np.flatnonzero(candidate)
        if len(remaining) < min_inliers:
            break
        cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(voxels.centroid[remaining]))
        # One thread: Open3D's OpenMP threads spin at barriers on the shared cores (see _fusion).
        with openmp_threads(1):
            model, inliers = cloud.segment_plane(threshold, 3, cfg.ransac_iterations)
        if len(inliers) < min_inliers:
            break
        normal = np.asarray(model[:3], np.float64)
        scale = np.linalg.norm(normal)
        normal, offset = normal / scale, -float(model[3]) / scale
        # RANSAC's inliers belong to its best three-point plane, a little tilted: far from the
        # sample a band of the true plane falls outside it. Least squares on the inliers, twice.
        for _ in range(2):
            members = remaining[np.abs(voxels.centroid[remaining] @ normal - offset) < threshold]
            centre = voxels.centroid[members].mean(axis=0)
            refined = np.linalg.svd(voxels.centroid[members] - centre, full_matrices=False)[2][2]
            normal = refined if refined @ normal > 0 else -refined
            offset = float(normal @ centre)
        members = remaining[np.abs(voxels.centroid[remaining] @ normal - offset) < threshold]
        candidate[members] = False  # a plane is searched for once, background or not
        background = _background_inliers(members, voxels, grid, normal, scene_extent, cfg)
        if background.size:
            on_plane[background] = True
            planes.append(Plane(normal=normal, offset=offset, cells=voxels.flat[background]))
            log.debug("background plane n=%s d=%.3g: %d of %d inliers", np.round(normal, 3), offset, len(background), len(members))
    return planes, on_plane


def _background_inliers(members, voxels: Voxels, grid: VoxelGrid, normal, scene_extent: float, cfg: ProposalConfig) -> np.ndarray:
    """The plane's inliers ``members`` (indices into the voxels) when one of its connected
    pieces is long enough to be background; none otherwise."""
    points = voxels.centroid[members]
    labels = components(grid, voxels.flat[members], 1)
    # In-plane axes: any two orthonormal directions perpendicular to the normal.
    helper = np.array([1.0, 0.0, 0.0]) if abs(normal[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(normal, helper)
    u /= np.linalg.norm(u)
    v = np.cross(normal, u)
    for label in np.unique(labels):
        piece = labels == label
        if piece.sum() < cfg.min_object_voxels:
            continue
        flat = points[piece] @ np.column_stack([u, v])
        centred = flat - flat.mean(axis=0)
        # Length along the piece's own principal axis (a long thin counter counts by its length).
        _, _, axes = np.linalg.svd(centred, full_matrices=False)
        along = centred @ axes[0]
        length = float(np.percentile(along, 99) - np.percentile(along, 1))
        if length >= cfg.background_plane_fraction * scene_extent:
            # The plane is background: so are its other pieces (the floor seen between and
            # behind objects, split from the rest by what stands on it).
            return members
    return np.zeros(0, np.int64)


# ------------------------------------------------------------------ clusters and selection


@dataclass(frozen=True)
class _Cluster:
    """One candidate object: indices into the voxels, and what the selection measured."""

    members: np.ndarray
    cells: np.ndarray
    """Flat grid cells of the members."""
    extent: np.ndarray
    """Principal extents, largest first."""
    normal: np.ndarray
    """Direction of the smallest principal extent."""
    centre: np.ndarray
    resting: bool = False
    """Split off the top surface of another cluster: supported by it."""


def _clusters(voxels: Voxels, pool: np.ndarray, grid: VoxelGrid, cfg: ProposalConfig) -> list[_Cluster]:
    indices = np.flatnonzero(pool)
    if len(indices) == 0:
        return []
    labels = components(grid, voxels.flat[indices], cfg.cluster_gap_voxels)
    out = []
    for members in _groups(indices, labels):
        if len(members) < cfg.min_object_voxels:
            continue
        cluster = _cluster(members, voxels, grid)
        out.extend(_split_stacked(cluster, voxels, grid, cfg) if cfg.split_stacked else [cluster])
    return out


def _groups(indices: np.ndarray, labels: np.ndarray) -> list[np.ndarray]:
    """``indices`` grouped by ``labels`` (groups in label order, members in their given order)."""
    sort = np.argsort(labels, kind="stable")
    _, start, count = np.unique(labels[sort], return_index=True, return_counts=True)
    return [indices[sort][s : s + c] for s, c in zip(start, count)]


def _cluster(members: np.ndarray, voxels: Voxels, grid: VoxelGrid) -> _Cluster:
    pts = voxels.centroid[members]
    centre = pts.mean(axis=0)
    _, _, axes = np.linalg.svd(pts - centre, full_matrices=False)
    proj = (pts - centre) @ axes.T
    extent = np.percentile(proj, 98, axis=0) - np.percentile(proj, 2, axis=0) + grid.voxel
    return _Cluster(members=members, cells=voxels.flat[members], extent=extent, normal=axes[-1], centre=centre)


def _split_stacked(cluster: _Cluster, voxels: Voxels, grid: VoxelGrid, cfg: ProposalConfig) -> list[_Cluster]:
    """The cluster split into the things resting on its top surface and the rest, when it has
    a top surface with things on it; ``[cluster]`` otherwise.

    The top surface is the highest height holding ``min_surface_share`` of the cluster's
    voxels (world +Y up). A connected piece above it is split off when it rests on it (its
    foot within ``support_voxels`` of the surface) and does not go on below it (a chair's
    backrest goes on into the legs under the seat; a ball on a table does not).
    """
    pts = voxels.centroid[cluster.members]
    y = pts[:, 1]
    voxel = grid.voxel
    level = np.floor((y - y.min()) / voxel).astype(np.int64)
    # A surface a little tilted or noisy spreads over neighbouring levels: count them together.
    counts = np.convolve(np.bincount(level), np.ones(3, np.int64))[1:-1]
    busy = np.flatnonzero(counts >= cfg.min_surface_share * len(pts))
    if len(busy) == 0:
        return [cluster]
    band = cfg.plane_threshold_voxels * voxel
    height = float(np.median(y[np.abs(level - busy[-1]) <= 1]))
    above = np.flatnonzero(y > height + band)
    if len(above) < cfg.min_object_voxels:
        return [cluster]
    ijk = np.stack(np.unravel_index(cluster.cells, grid.shape), axis=1)
    footprint_below = {(int(i), int(k)) for i, _, k in ijk[(y < height - band) & (y > height - band - 3 * voxel)]}
    rest = np.ones(len(pts), bool)
    pieces = []
    for piece in _groups(above, components(grid, cluster.cells[above], cfg.cluster_gap_voxels)):
        if len(piece) < cfg.min_object_voxels:
            continue
        foot = piece[y[piece] < y[piece].min() + 2 * voxel]
        if y[piece].min() - height > cfg.support_voxels * voxel + band:
            continue
        goes_on = np.mean([(int(i), int(k)) in footprint_below for i, _, k in ijk[foot]])
        if goes_on > 0.3:
            continue
        rest[piece] = False
        pieces.append(dataclasses.replace(_cluster(cluster.members[piece], voxels, grid), resting=True))
    if not pieces or rest.sum() < cfg.min_object_voxels:
        return [cluster]
    log.debug("cluster at %s: %d piece(s) resting on its top at height %.3g split off", np.round(cluster.centre, 2),
              len(pieces), height)
    return [_cluster(cluster.members[rest], voxels, grid), *pieces]


def _select(clusters, voxels, planes, grid, scene_extent, num_views, cfg) -> list[_Cluster]:
    """The clusters that look like objects, in naming order (most voxels first, ties by position)."""
    from scipy import ndimage

    # Per background plane, the cells within reach of its inliers.
    reach = int(np.ceil(cfg.support_voxels))
    near = [
        ndimage.binary_dilation(grid.volume(p.cells, 1, np.uint8).astype(bool), np.ones((3, 3, 3), bool), iterations=reach).reshape(-1)
        for p in planes
    ]
    kept = []
    for cluster in clusters:
        largest, thickness = float(cluster.extent[0]), float(cluster.extent[2])
        size = largest / scene_extent
        views = int(popcount(np.bitwise_or.reduce(voxels.views[cluster.members])[None])[0])
        flat = thickness < cfg.flat_ratio * largest and thickness <= 3 * grid.voxel
        vertical_sheet = flat and abs(cluster.normal[1]) < np.cos(np.radians(60))
        touched = [k for k, region in enumerate(near) if region[cluster.cells].any()]
        supported = bool(touched)
        on_wall_only = supported and all(abs(planes[k].normal[1]) < np.cos(np.radians(30)) for k in touched)
        pts = voxels.centroid[cluster.members]
        # How far it stands out of the walls it touches: a poster, or stereo noise hugging a
        # wall, by a voxel or two.
        protrusion = min(
            (float(np.percentile(np.abs(pts @ planes[k].normal - planes[k].offset), 95)) for k in touched), default=np.inf
        ) / grid.voxel
        wall_like = vertical_sheet or (on_wall_only and protrusion < cfg.min_wall_protrusion_voxels)
        fill = len(cluster.members) / max(1.0, float(cluster.extent[0] * cluster.extent[1]) / grid.voxel**2)
        why = (
            "too small" if size < cfg.min_size_fraction else
            "too large" if size > cfg.max_size_fraction else
            "seen by too few frames" if views < min(cfg.min_frames, num_views) else
            "sparse" if fill < cfg.min_fill else
            "wall-like" if wall_like else
            "floating" if planes and not (supported or cluster.resting) else ""
        )
        log.debug("cluster at %s: %d voxels, extent %s, fill %.2f, protrusion %.1f voxels%s, %d views: %s",
                  np.round(cluster.centre, 2), len(cluster.members), np.round(cluster.extent, 3), fill, protrusion,
                  " (walls only)" if on_wall_only else "", views, why or "object")
        if not why:
            kept.append(cluster)
    key = [(-len(c.members), *np.round(c.centre / grid.voxel).astype(np.int64)) for c in kept]
    order = sorted(range(len(kept)), key=lambda i: key[i])
    return [kept[i] for i in order[: cfg.max_objects]]
