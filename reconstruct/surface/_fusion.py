"""Fuse per-frame depth into one background mesh: TSDF integration, clean-up, texture.

The default backend integrates every frame's confident depth into Open3D's TSDF volume
(the sparse ``ScalableTSDFVolume``; 0.19.0 gives complete meshes on real RGB-D frames), extracts
the zero level set with marching cubes, removes what is not the background's surface —
faces too few frames saw from the front, and small disconnected pieces (floaters) —
decimates to a face budget (fast-simplification's quadric decimation), and bakes a texture
from the frames (:mod:`._texture`).

Open3D's OpenMP threads spin at barriers: on cores busy with other work they are many times
slower than one thread, so the integration uses the cores the load average leaves free.

Scene units are whatever the track's are: the voxel size follows from the depth range
and the image resolution unless given.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from sceneforge.scenegraph import (
    CameraTrack,
    DepthMap,
    DepthMaps,
    FrameMasks,
    Frames,
    InputError,
    Intrinsics,
    SolveError,
    TexturedMesh,
)

from .._checks import check_frames_and_track, depths_by_index, masks_by_index
from .._progress import ProgressFn
from .._threads import openmp_threads
from ._frame_surface import intrinsics_at, vertex_normals
from ._texture import TextureBakeConfig

__all__ = ["BackgroundFuser", "TSDFFusionConfig", "TSDFFuser"]

log = logging.getLogger(__name__)

_STATS_FRAMES = 24
"""Frames sampled to derive the voxel size, depth cut-off and scene extent."""


class BackgroundFuser(Protocol):
    """A background-geometry backend: frames, cameras and depth in, one world-space mesh out."""

    def fuse(
        self,
        frames: Frames,
        track: CameraTrack,
        depths: DepthMaps | Mapping[int, DepthMap] | Iterable[DepthMap],
        *,
        masks: FrameMasks | Mapping[int, np.ndarray] | None = None,
        progress: ProgressFn | None = None,
    ) -> TexturedMesh:
        """Fuse the depth maps into one mesh of the static background.

        Args:
            frames: N×H×W×3 uint8 RGB frames.
            track: one camera per frame (intrinsics at the frames' size).
            depths: the depth maps keyed by source frame number (:class:`DepthMaps`, a
                mapping whose keys are the maps' frame numbers, or DepthMap objects), on the
                frame's pixel grid or a scaled one; frames without depth are skipped.
            masks: per-frame H'×W' bool keyed by source frame number (:class:`FrameMasks` or a
                mapping), **True where pixels are left out** (moving or foreground objects), at
                the frame's or the depth map's resolution.
            progress: optional ``progress(stage, done, total)`` callback.

        Returns:
            A :class:`TexturedMesh` in world coordinates (scene units) with unit vertex
            normals, textured when the backend bakes a texture, vertex-coloured otherwise.

        Raises:
            InputError: inconsistent frames, cameras, depths or masks.
            SolveError: no surface came out of the depth maps.
        """
        ...


@dataclass(frozen=True)
class TSDFFusionConfig:
    """TSDF fusion of the depth maps (Open3D), clean-up, decimation and a baked texture."""

    voxel_size: float | None = None
    """Voxel edge in scene units; None derives it from the scene (see ``voxel_px``)."""
    voxel_px: float = 3.0
    """Derived voxel size: the footprint of this many depth pixels at the median depth (3 rather
    than 2: the noise of stereo depth on weak texture spans several pixels' footprint;
    7-Scenes kitchen recall at 5 cm 0.37 → 0.43)..."""
    max_voxels_across: int = 1024
    """...but at least the scene's extent (1st–99th percentile box diagonal) / this."""
    trunc_voxels: float = 4.0
    """Truncation distance of the signed distance, in voxels."""
    max_depth: float | None = None
    """Depth beyond which pixels are not integrated (scene units); None: 1.05 × the 99.5th
    percentile of the confident depths."""
    min_confidence: float = 0.02
    """Pixels whose depth confidence is below this are not integrated. The depth stage's
    multi-view check (:func:`~sceneforge.reconstruct.checked_depths`) already dropped what
    neighbouring views contradict and lowered the confidence of what they could not confirm
    to 0.1 × its own; the fusion averages the noise of the rest, so a low bar keeps coverage
    (7-Scenes kitchen: F@5 cm 0.81 with what the check kept, 0.52 with only the confirmed pixels)."""
    max_depth_jump: float = 0.05
    """Pixels beside a relative depth jump larger than this (an occlusion edge, where depth
    networks put flying pixels) are not integrated; 0 turns the filter off."""
    max_frames: int | None = None
    """Integrate at most this many frames with depth, evenly spread (None: all)."""
    volume: Literal["scalable", "uniform"] = "scalable"
    """Open3D volume: ``scalable`` (sparse voxel blocks, memory follows the surface) or
    ``uniform`` (a dense cube of at most ``uniform_max_resolution``³ voxels around the scene)."""
    uniform_max_resolution: int = 384
    """Largest voxel count along the cube's side of the uniform volume (memory: ~20 bytes a voxel)."""
    min_views: int = 2
    """Faces seen from the front (depth within the truncation distance, normal towards the
    camera) in fewer integrated frames are removed (capped at the number of frames). This also
    removes the back-facing second skins noisy depth grows behind surfaces."""
    min_component_fraction: float = 0.005
    """Connected pieces with fewer faces than this share of the largest piece are removed."""
    max_faces: int = 500_000
    """Face budget: larger meshes are decimated (quadric error) to this many faces."""
    threads: int | None = None
    """OpenMP threads for Open3D's integration; None: the cores the 1-minute load average
    leaves free, at least one. Open3D's threads spin at barriers, so on cores busy with other
    work every extra thread costs many times what it brings (measured: 30× slower with two
    threads on two loaded cores). Takes effect when threadpoolctl is installed."""
    texture: TextureBakeConfig | None = field(default_factory=TextureBakeConfig)
    """How to bake the texture; None keeps the fused per-vertex colours only."""

    def __post_init__(self) -> None:
        if self.voxel_size is not None and not (np.isfinite(self.voxel_size) and self.voxel_size > 0):
            raise InputError(f"voxel_size must be a positive length in scene units, got {self.voxel_size}")
        if not self.voxel_px > 0 or self.max_voxels_across < 8:
            raise InputError("voxel_px must be positive and max_voxels_across at least 8")
        if not self.trunc_voxels >= 1:
            raise InputError(f"trunc_voxels must be ≥ 1, got {self.trunc_voxels}")
        if self.max_depth is not None and not self.max_depth > 0:
            raise InputError(f"max_depth must be positive, got {self.max_depth}")
        if not 0 <= self.min_confidence <= 1:
            raise InputError(f"min_confidence must be in 0..1, got {self.min_confidence}")
        if self.max_depth_jump < 0:
            raise InputError(f"max_depth_jump must be ≥ 0, got {self.max_depth_jump}")
        if self.max_frames is not None and self.max_frames < 1:
            raise InputError(f"max_frames must be ≥ 1, got {self.max_frames}")
        if self.volume not in ("scalable", "uniform"):
            raise InputError(f"volume must be 'scalable' or 'uniform', got {self.volume!r}")
        if self.uniform_max_resolution < 16:
            raise InputError(f"uniform_max_resolution must be ≥ 16, got {self.uniform_max_resolution}")
        if self.min_views < 0 or not 0 <= self.min_component_fraction < 1:
            raise InputError("min_views must be ≥ 0 and min_component_fraction in 0..1")
        if self.max_faces < 4:
            raise InputError(f"max_faces must be ≥ 4, got {self.max_faces}")
        if self.threads is not None and self.threads < 1:
            raise InputError(f"threads must be ≥ 1, got {self.threads}")

    def build(self) -> TSDFFuser:
        """The backend this configuration describes."""
        return TSDFFuser(self)


@dataclass(frozen=True)
class _Geometry:
    """Scene-derived integration settings."""

    voxel_size: float
    sdf_trunc: float
    max_depth: float
    low: np.ndarray  # 3, world box of the depth points (1st percentile)
    high: np.ndarray  # 3 (99th percentile)


class TSDFFuser:
    """Open3D TSDF fusion with clean-up and texturing (see :class:`TSDFFusionConfig`)."""

    def __init__(self, config: TSDFFusionConfig) -> None:
        self.config = config

    def fuse(
        self,
        frames: Frames,
        track: CameraTrack,
        depths: DepthMaps | Mapping[int, DepthMap] | Iterable[DepthMap],
        *,
        masks: FrameMasks | Mapping[int, np.ndarray] | None = None,
        progress: ProgressFn | None = None,
    ) -> TexturedMesh:
        """See :meth:`BackgroundFuser.fuse`."""
        check_frames_and_track(frames, track)
        # The integration walks frames by index (position in the clip).
        by_index = depths_by_index(depths, frames, required=True)
        order = list(by_index)
        left_out = masks_by_index(masks, frames)
        cfg = self.config
        report = progress or (lambda stage, done, total: None)
        if cfg.max_frames is not None and len(order) > cfg.max_frames:
            order = [order[i] for i in np.linspace(0, len(order) - 1, cfg.max_frames).round().astype(int)]

        prepared = {}

        def prepare(index: int) -> tuple[np.ndarray, np.ndarray, Intrinsics]:
            if index not in prepared:
                prepared.clear()  # one frame at a time: memory stays flat on long clips
                prepared[index] = _prepare_frame(frames, track, index, by_index[index], left_out.get(index), cfg)
            return prepared[index]

        geometry = _scene_geometry(order, track, prepare, cfg)
        log.info(
            "fusing %d frames: voxel %.4g, truncation %.4g, max depth %.4g (scene units)",
            len(order), geometry.voxel_size, geometry.sdf_trunc, geometry.max_depth,
        )
        volume = _make_volume(geometry, cfg)
        cam_from_world = track.cam_from_world()
        with openmp_threads(cfg.threads):
            for done, index in enumerate(order):
                depth, colour, intr = prepare(index)
                _integrate(volume, depth, colour, intr, cam_from_world[index], geometry.max_depth)
                report("fuse", done + 1, len(order))
            vertices, faces, colours = _extract(volume)
        if faces.shape[0] == 0:
            raise SolveError(
                f"expected a surface from {len(order)} depth maps, got an empty TSDF mesh; "
                "check the depth maps' units and confidence, or pass a voxel_size"
            )
        log.debug("marching cubes: %d vertices, %d faces", vertices.shape[0], faces.shape[0])
        report("clean", 0, 3)

        min_views = min(cfg.min_views, len(order))
        if min_views > 0:
            seen = _view_counts(vertices, vertex_normals(vertices, faces), order, track, prepare, geometry.sdf_trunc, min_views)
            keep = seen[faces].min(axis=1) >= min_views
            log.debug("removing %d faces seen in fewer than %d frames", int((~keep).sum()), min_views)
            faces = faces[keep]
        report("clean", 1, 3)
        faces = _drop_small_components(faces, vertices.shape[0], cfg.min_component_fraction)
        vertices, faces, colours = _compact(vertices, faces, colours)
        if faces.shape[0] == 0:
            raise SolveError(
                "expected a surface after clean-up, got nothing left; lower min_views or min_component_fraction"
            )
        report("clean", 2, 3)
        if faces.shape[0] > cfg.max_faces:
            vertices, faces, colours = _decimate(vertices, faces, colours, cfg.max_faces)
        report("clean", 3, 3)

        mesh = TexturedMesh(
            vertices=vertices,
            faces=faces.astype(np.int32),
            vertex_colors=colours,
            normals=vertex_normals(vertices, faces),
        )
        log.info("background mesh: %d vertices, %d faces", mesh.num_vertices, mesh.num_faces)
        if cfg.texture is None:
            return mesh
        return cfg.texture.build().bake(mesh, frames, track, masks=masks, progress=progress)


# ----------------------------------------------------------------------------------------
# Inputs


def _edge_pixels(depth: np.ndarray, max_jump: float) -> np.ndarray:
    """H×W bool: pixels with a 4-neighbour whose depth differs by more than ``max_jump`` relative."""
    out = np.zeros(depth.shape, dtype=bool)
    for a, b, sa, sb in (
        (depth[:, 1:], depth[:, :-1], (slice(None), slice(1, None)), (slice(None), slice(None, -1))),
        (depth[1:, :], depth[:-1, :], (slice(1, None), slice(None)), (slice(None, -1), slice(None))),
    ):
        both = (a > 0) & (b > 0)
        jump = both & (np.maximum(a, b) > (1.0 + max_jump) * np.minimum(a, b))
        out[sa] |= jump
        out[sb] |= jump
    return out


def _prepare_frame(
    frames: Frames, track: CameraTrack, index: int, depth_map: DepthMap, mask: np.ndarray | None, cfg: TSDFFusionConfig
) -> tuple[np.ndarray, np.ndarray, Intrinsics]:
    """The depth to integrate (filtered, undistorted), the colour on its grid, and its pinhole intrinsics."""
    import cv2

    h, w = depth_map.depth.shape
    intr = intrinsics_at(track.intrinsics[index], w, h)
    depth = depth_map.depth.copy()
    depth[depth_map.confidence < cfg.min_confidence] = 0.0
    if mask is not None:
        if mask.shape != depth.shape:
            mask = cv2.resize(mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
        depth[mask] = 0.0
    if cfg.max_depth_jump > 0:
        depth[_edge_pixels(depth, cfg.max_depth_jump)] = 0.0
    image = frames.images[index]
    if image.shape[:2] != (h, w):
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    if intr.has_distortion:
        # Open3D's integration is pinhole: resample onto the undistorted grid of the same K.
        cols, rows = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
        pix = np.column_stack([cols.ravel(), rows.ravel()])
        rays = np.column_stack([np.linalg.solve(intr.K[:2, :2], (pix - intr.K[:2, 2]).T).T, np.ones(pix.shape[0])])
        source = intr.project(rays).reshape(h, w, 2).astype(np.float32) - 0.5
        map_x, map_y = source[..., 0], source[..., 1]
        depth = cv2.remap(depth, map_x, map_y, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        image = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        intr = Intrinsics(K=intr.K, width=w, height=h)
    return np.ascontiguousarray(depth, dtype=np.float32), np.ascontiguousarray(image), intr


def _scene_geometry(order: list[int], track: CameraTrack, prepare: Any, cfg: TSDFFusionConfig) -> _Geometry:
    """Voxel size, truncation, depth cut-off and the depth points' box, from a sample of frames."""
    sample = [order[i] for i in np.linspace(0, len(order) - 1, min(len(order), _STATS_FRAMES)).round().astype(int)]
    depths, points, footprints = [], [], []
    rng = np.random.default_rng(0)
    for index in dict.fromkeys(sample):
        depth, _, intr = prepare(index)
        rows, cols = np.nonzero(depth > 0)
        if rows.size == 0:
            continue
        take = rng.choice(rows.size, min(rows.size, 4000), replace=False)
        z = depth[rows[take], cols[take]].astype(np.float64)
        depths.append(z)
        footprints.append(z / np.sqrt(intr.fx * intr.fy))
        pix = np.column_stack([cols[take] + 0.5, rows[take] + 0.5])
        cam = intr.unproject(pix, z)
        pose = track.world_from_cam[index]
        points.append(cam @ pose[:3, :3].T + pose[:3, 3])
    if not depths:
        raise SolveError(
            "expected confident depth to fuse, got none; lower min_confidence or check the depth maps"
        )
    z = np.concatenate(depths)
    pts = np.concatenate(points)
    low, high = np.percentile(pts, 1, axis=0), np.percentile(pts, 99, axis=0)
    extent = float(np.linalg.norm(high - low))
    if cfg.voxel_size is not None:
        voxel = float(cfg.voxel_size)
    else:
        voxel = max(cfg.voxel_px * float(np.median(np.concatenate(footprints))), extent / cfg.max_voxels_across)
    max_depth = float(cfg.max_depth) if cfg.max_depth is not None else 1.05 * float(np.percentile(z, 99.5))
    if cfg.volume == "uniform":
        side = float(np.max(high - low)) * 1.2 + 2 * cfg.trunc_voxels * voxel
        if side / voxel > cfg.uniform_max_resolution:
            log.info("uniform volume: voxel grown from %.4g to %.4g to fit %d³", voxel, side / cfg.uniform_max_resolution, cfg.uniform_max_resolution)
            voxel = side / cfg.uniform_max_resolution
    return _Geometry(voxel_size=voxel, sdf_trunc=cfg.trunc_voxels * voxel, max_depth=max_depth, low=low, high=high)


# ----------------------------------------------------------------------------------------
# Open3D


def _make_volume(geometry: _Geometry, cfg: TSDFFusionConfig) -> Any:
    import open3d as o3d

    integration = o3d.pipelines.integration
    colour = integration.TSDFVolumeColorType.RGB8
    if cfg.volume == "scalable":
        return integration.ScalableTSDFVolume(
            voxel_length=geometry.voxel_size, sdf_trunc=geometry.sdf_trunc, color_type=colour
        )
    centre = 0.5 * (geometry.low + geometry.high)
    wanted = float(np.max(geometry.high - geometry.low)) * 1.2 + 2 * geometry.sdf_trunc
    resolution = int(min(cfg.uniform_max_resolution, np.ceil(wanted / geometry.voxel_size)))
    side = resolution * geometry.voxel_size
    return integration.UniformTSDFVolume(
        length=side, resolution=resolution, sdf_trunc=geometry.sdf_trunc, color_type=colour, origin=centre - side / 2
    )


def _integrate(volume: Any, depth: np.ndarray, colour: np.ndarray, intr: Intrinsics, cam_from_world: np.ndarray, max_depth: float) -> None:
    import open3d as o3d

    h, w = depth.shape
    rgbd = o3d.geometry.RGBDImage.create_from_color_and_depth(
        o3d.geometry.Image(colour),
        o3d.geometry.Image(depth),
        depth_scale=1.0,
        depth_trunc=max_depth,
        convert_rgb_to_intensity=False,
    )
    # Open3D puts pixel centres on integers; ours are at +0.5.
    camera = o3d.camera.PinholeCameraIntrinsic(w, h, intr.fx, intr.fy, intr.cx - 0.5, intr.cy - 0.5)
    volume.integrate(rgbd, camera, cam_from_world)


def _extract(volume: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(V×3 float64 vertices, F×3 int64 faces, V×3 uint8 colours) of the TSDF's zero level set.

    Faces come out counter-clockwise seen from the observed (free-space) side.
    """
    mesh = volume.extract_triangle_mesh()
    mesh.remove_duplicated_vertices()
    mesh.remove_degenerate_triangles()
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.triangles, dtype=np.int64)
    if mesh.has_vertex_colors():
        colours = np.clip(np.rint(np.asarray(mesh.vertex_colors) * 255.0), 0, 255).astype(np.uint8)
    else:
        colours = np.full((vertices.shape[0], 3), 128, dtype=np.uint8)
    return vertices, faces, colours


# ----------------------------------------------------------------------------------------
# Clean-up


def _view_counts(
    vertices: np.ndarray,
    normals: np.ndarray,
    order: list[int],
    track: CameraTrack,
    prepare: Any,
    tolerance: float,
    enough: int,
) -> np.ndarray:
    """V int: frames that saw each vertex from its front (depth within ``tolerance`` of the
    vertex's z-depth at its pixel, normal towards the camera), counted up to ``enough``.

    The orientation test removes the back-facing second skins a TSDF grows behind surfaces
    when poses or depth are noisy: they lie within the truncation band of observed depth but
    no camera ever faced them. Frames are visited spread over the clip (golden-ratio order)
    and a vertex stops being tested once it has ``enough`` views, so a long clip costs little
    more than its first few frames.
    """
    counts = np.zeros(vertices.shape[0], dtype=np.int32)
    pending = np.arange(vertices.shape[0])
    cam_from_world = track.cam_from_world()
    spread = np.argsort((np.arange(len(order)) * 0.6180339887) % 1.0)
    for index in (order[i] for i in spread):
        if pending.size == 0:
            break
        depth, _, intr = prepare(index)
        pose = cam_from_world[index]
        points = vertices[pending]
        cam = points @ pose[:3, :3].T + pose[:3, 3]
        z = cam[:, 2]
        front = z > 1e-9
        safe = np.where(front, z, 1.0)
        col = np.floor(intr.fx * cam[:, 0] / safe + intr.K[0, 1] * cam[:, 1] / safe + intr.cx).astype(np.int64)
        row = np.floor(intr.fy * cam[:, 1] / safe + intr.cy).astype(np.int64)
        h, w = depth.shape
        inside = front & (col >= 0) & (col < w) & (row >= 0) & (row < h)
        d = np.zeros(z.shape, dtype=np.float64)
        d[inside] = depth[row[inside], col[inside]]
        to_camera = track.world_from_cam[index][:3, 3] - points
        facing = np.einsum("ij,ij->i", normals[pending].astype(np.float64), to_camera) > 0
        counts[pending] += (inside & facing & (d > 0) & (np.abs(d - z) <= tolerance)).astype(np.int32)
        pending = pending[counts[pending] < enough]
    return counts


def _drop_small_components(faces: np.ndarray, num_vertices: int, min_fraction: float) -> np.ndarray:
    """Faces of the connected pieces with at least ``min_fraction`` of the largest piece's faces."""
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    if faces.shape[0] == 0 or min_fraction <= 0:
        return faces
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]]])
    graph = sparse.coo_matrix((np.ones(len(edges), dtype=np.int8), (edges[:, 0], edges[:, 1])), shape=(num_vertices,) * 2)
    _, label = connected_components(graph, directed=False)
    face_label = label[faces[:, 0]]
    sizes = np.bincount(face_label)
    keep = sizes[face_label] >= min_fraction * sizes.max()
    log.debug("removing %d faces in %d small pieces", int((~keep).sum()), int(np.sum((sizes > 0) & (sizes < min_fraction * sizes.max()))))
    return faces[keep]


def _compact(vertices: np.ndarray, faces: np.ndarray, colours: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    used = np.unique(faces)
    remap = np.full(vertices.shape[0], -1, dtype=np.int64)
    remap[used] = np.arange(used.shape[0])
    return vertices[used], remap[faces], colours[used]


def _decimate(
    vertices: np.ndarray, faces: np.ndarray, colours: np.ndarray, max_faces: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quadric decimation to at most ``max_faces``; colours from the nearest original vertex."""
    import fast_simplification
    from scipy.spatial import cKDTree

    before = faces.shape[0]
    out_vertices, out_faces = fast_simplification.simplify(
        vertices.astype(np.float64), faces.astype(np.int32), target_count=max_faces
    )
    if out_faces.shape[0] > max_faces:
        # The decimator stops near the target; one more pass closes the gap.
        out_vertices, out_faces = fast_simplification.simplify(
            out_vertices, out_faces.astype(np.int32), target_count=int(max_faces * 0.98)
        )
    out_vertices, out_faces = np.asarray(out_vertices, dtype=np.float64), np.asarray(out_faces, dtype=np.int64)
    out_vertices, out_faces, _ = _compact(out_vertices, out_faces, np.zeros((out_vertices.shape[0], 3), np.uint8))
    _, nearest = cKDTree(vertices).query(out_vertices, workers=-1)
    log.debug("decimated %d → %d faces", before, out_faces.shape[0])
    return out_vertices, out_faces, colours[nearest]
