"""Texture a mesh from the frames that saw it: choose a view per face, unwrap, bake an atlas.

Steps (``ViewTextureBaker.bake``):

1. **Candidate views.** At most ``max_views`` frames: the clip is cut into that many
   windows and each window gives its sharpest frame (variance of the Laplacian), so
   300 frames cost no more than 48.
2. **Visibility.** Each candidate view gets a z-buffer of the mesh itself (Open3D's
   Embree ray caster). A face is seen *cleanly* when its centroid is in the frame, not
   masked, matches the z-buffer away from occlusion edges (whose pixels mix foreground and
   background colours) and faces the camera by more than ``min_cos``; seen *loosely* when
   it only faces the camera and matches the z-buffer. Loose views are a last resort.
3. **Best view per face.** Score = ``cos(angle) / distance² · f²`` — the face's projected
   size in pixels per unit area: frontal and close views win. A few rounds of Potts
   smoothing (a face moves to the label most of its neighbours have when that view
   scores nearly as well), then small same-view patches join a neighbouring view that
   sees them: large patches, few seams.
4. **Unwrap.** ``charts="views"`` (default): each connected same-view patch is one chart,
   laid out as it projects into its view (no distortion, up to twice the source's pixel
   density) and xatlas packs the charts by their shapes; faces no view sees (and edge-on
   ones) take the texel of the nearest packed vertex. ``charts="xatlas"``: xatlas cuts, flattens and packs the charts (its own
   segmentation; minutes on a 200k-face fused mesh).
5. **Bake.** Every atlas texel is cast onto the mesh in UV space (barycentrics from the ray
   caster), lifted to 3D, and coloured from the views of its face's corners: each corner
   weighs each view by the share of its faces that chose it, so inside a patch a texel
   copies its one view and along a view boundary the views cross-fade over one ring of
   faces (feathering, seams without a step). Views that do not see the texel cleanly drop
   out of the blend; a texel none sees cleanly takes its face's view.
6. **Padding.** Empty texels are filled by push-pull (masked averages down a pyramid,
   filled back up) so bilinear lookups and mip-maps near chart borders never pull in
   black.

When unwrapping fails, the mesh gets per-vertex colours from each vertex's best view
instead (``vertex_color_fallback``). Exposure differences between frames are not
compensated: seams between views of different brightness are only cross-faded.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np

from sceneforge.scenegraph import (
    CameraTrack,
    Frames,
    FrameStatus,
    InputError,
    Intrinsics,
    SolveError,
    TexturedMesh,
)

from ._frames import ProgressFn
from ._surface import vertex_normals

__all__ = ["TextureBaker", "TextureBakeConfig", "ViewTextureBaker"]

log = logging.getLogger(__name__)

_ATLAS_FILL = 0.6
"""Share of the atlas that xatlas fills with its own charts (padding and packing loss)."""
_VIEW_ATLAS_FILL = 0.3
"""Share of the atlas that xatlas fills with view charts (irregular patches pack loosely)."""
_MAX_UPSAMPLING = 2.0
"""Most texels per frame pixel along a side in view charts."""
_EDGE_JUMP = 0.03
"""Relative depth step between neighbouring z-buffer pixels that counts as an occlusion edge."""
_TEXEL_CHUNK = 1 << 20
"""Texels baked at once (bounds memory at 4096² atlases)."""


class TextureBaker(Protocol):
    """A texturing backend: a mesh and the frames that saw it in, the textured mesh out."""

    def bake(
        self,
        mesh: TexturedMesh,
        frames: Frames,
        track: CameraTrack,
        *,
        masks: Mapping[int, np.ndarray] | None = None,
        progress: ProgressFn | None = None,
    ) -> TexturedMesh:
        """Texture ``mesh`` (world coordinates) from ``frames`` seen through ``track``.

        Args:
            mesh: the mesh in world coordinates (the track's world).
            frames: N×H×W×3 uint8 RGB frames.
            track: one camera per frame, intrinsics at the frames' size.
            masks: frame index → H'×W' bool, True where a frame's pixels must not be used
                (moving or foreground objects), at the frame's resolution or a scaled one.
            progress: optional ``progress(stage, done, total)`` callback.

        Returns:
            A mesh with ``uv`` and ``texture`` (vertices split along chart seams), or with
            ``vertex_colors`` when unwrapping failed and the fallback is on.
        """
        ...


@dataclass(frozen=True)
class TextureBakeConfig:
    """Bake a texture atlas from the best view of each face, cross-faded along view seams."""

    texture_size: int = 2048
    """Largest side of the atlas in texels; smaller when the frames' pixels fit in less."""
    charts: Literal["views", "xatlas"] = "views"
    """How to unwrap: ``views`` (one chart per same-view patch, laid out as the view sees it,
    packed by xatlas; fast) or ``xatlas`` (xatlas cuts and flattens; minutes on 200k faces)."""
    max_views: int = 48
    """At most this many candidate frames (the sharpest of each window of the clip)."""
    zbuffer_scale: float = 0.5
    """Resolution of the visibility z-buffers relative to the frames."""
    min_cos: float = 0.1
    """A view sees a face only when the cosine between its normal and the direction to the camera exceeds this."""
    depth_tolerance: float = 0.01
    """Relative depth difference (plus 1.5 mean edge lengths) within which a point counts as visible in a z-buffer."""
    smoothing_iterations: int = 4
    """Rounds of neighbour smoothing of the per-face view choice (0: none)."""
    smoothness: float = 0.5
    """Weight of agreeing with the neighbours against the view's own score (scores are 0..1 per face)."""
    min_patch_faces: int = 8
    """Same-view patches with fewer faces move to a neighbouring view that also sees them
    (fewer, larger charts; 0 keeps them)."""
    blend_seams: bool = True
    """Cross-fade views over one ring of faces at view boundaries (off: hard seams)."""
    padding: int = 4
    """Texels of space between charts in the atlas."""
    vertex_color_fallback: bool = True
    """When unwrapping fails, colour the vertices from their best views instead of raising."""

    def __post_init__(self) -> None:
        if int(self.texture_size) != self.texture_size or not 64 <= self.texture_size <= 16384:
            raise InputError(f"texture_size must be a whole number of texels in 64..16384, got {self.texture_size}")
        if self.charts not in ("views", "xatlas"):
            raise InputError(f"charts must be 'views' or 'xatlas', got {self.charts!r}")
        if self.max_views < 1:
            raise InputError(f"max_views must be ≥ 1, got {self.max_views}")
        if not 0.05 <= self.zbuffer_scale <= 2.0:
            raise InputError(f"zbuffer_scale must be in 0.05..2, got {self.zbuffer_scale}")
        if not -1.0 <= self.min_cos < 1.0:
            raise InputError(f"min_cos must be in -1..1, got {self.min_cos}")
        if not self.depth_tolerance > 0:
            raise InputError(f"depth_tolerance must be positive, got {self.depth_tolerance}")
        if self.smoothing_iterations < 0 or self.smoothness < 0 or self.min_patch_faces < 0:
            raise InputError("smoothing_iterations, smoothness and min_patch_faces must be ≥ 0")
        if self.padding < 0:
            raise InputError(f"padding must be ≥ 0 texels, got {self.padding}")

    def build(self) -> ViewTextureBaker:
        return ViewTextureBaker(self)


@dataclass
class _View:
    """One candidate frame, ready for visibility tests and colour lookups."""

    index: int
    image: np.ndarray  # H×W×3 uint8
    intrinsics: Intrinsics  # at the image's size
    cam_from_world: np.ndarray  # 4×4
    centre: np.ndarray  # 3, world
    k_zbuffer: np.ndarray  # 3×3 pinhole K at the z-buffer's size
    zbuffer: np.ndarray  # h×w float32 z-depth of the mesh, inf where nothing
    edge: np.ndarray  # h×w bool, near an occlusion edge (mixed colours in the frame)
    mask: np.ndarray | None  # bool, True = do not use

    def to_cam(self, points_in_world: np.ndarray) -> np.ndarray:
        return points_in_world @ self.cam_from_world[:3, :3].T + self.cam_from_world[:3, 3]

    def visible(self, points_in_cam: np.ndarray, tolerance: np.ndarray, *, strict: bool = True) -> np.ndarray:
        """N bool: points in front, inside the z-buffer and within ``tolerance`` of its depth;
        with ``strict``, also away from occlusion edges."""
        z = points_in_cam[:, 2]
        out = z > 1e-9
        safe_z = np.where(out, z, 1.0)
        u = self.k_zbuffer[0, 0] * points_in_cam[:, 0] / safe_z + self.k_zbuffer[0, 1] * points_in_cam[:, 1] / safe_z
        u += self.k_zbuffer[0, 2]
        v = self.k_zbuffer[1, 1] * points_in_cam[:, 1] / safe_z + self.k_zbuffer[1, 2]
        h, w = self.zbuffer.shape
        col, row = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
        out &= (col >= 0) & (col < w) & (row >= 0) & (row < h)
        zb = np.full(z.shape, np.inf, dtype=np.float64)
        zb[out] = self.zbuffer[row[out], col[out]]
        if strict:
            out[out] &= ~self.edge[row[out], col[out]]
        return out & (np.abs(zb - z) <= tolerance)

    def pixels(self, points_in_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """N×2 pixel coordinates in the frame (distortion applied) and N bool: inside the frame."""
        uv = self.intrinsics.project(points_in_cam)
        inside = np.all(np.isfinite(uv), axis=1)
        inside &= (uv[:, 0] >= 0.5) & (uv[:, 0] <= self.intrinsics.width - 0.5)
        inside &= (uv[:, 1] >= 0.5) & (uv[:, 1] <= self.intrinsics.height - 0.5)
        return uv, inside

    def masked(self, uv: np.ndarray) -> np.ndarray:
        """N bool: pixels that fall on the mask."""
        if self.mask is None:
            return np.zeros(uv.shape[0], dtype=bool)
        mh, mw = self.mask.shape
        col = np.clip((uv[:, 0] * mw / self.intrinsics.width).astype(np.int64), 0, mw - 1)
        row = np.clip((uv[:, 1] * mh / self.intrinsics.height).astype(np.int64), 0, mh - 1)
        return self.mask[row, col]


class ViewTextureBaker:
    """Best-view texturing with seam cross-fading (see the module docstring)."""

    def __init__(self, config: TextureBakeConfig) -> None:
        self.config = config

    def bake(
        self,
        mesh: TexturedMesh,
        frames: Frames,
        track: CameraTrack,
        *,
        masks: Mapping[int, np.ndarray] | None = None,
        progress: ProgressFn | None = None,
    ) -> TexturedMesh:
        """See :meth:`TextureBaker.bake`."""
        check_frames_and_track(frames, track)
        if not isinstance(mesh, TexturedMesh):
            raise InputError(f"mesh must be a TexturedMesh, got {type(mesh).__name__}")
        masks = check_masks(masks, frames)
        if mesh.num_faces == 0:
            return mesh
        cfg = self.config
        report = progress or (lambda stage, done, total: None)

        vertices = mesh.vertices
        faces = mesh.faces.astype(np.int64)
        tri = vertices[faces]
        cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        double_area = np.linalg.norm(cross, axis=1)
        face_normals = cross / np.maximum(double_area, 1e-30)[:, None]
        centroids = tri.mean(axis=1)
        edge = float(np.mean(np.linalg.norm(tri - np.roll(tri, 1, axis=1), axis=2)))

        view_ids = select_views(frames, track, cfg.max_views)
        scene = _raycasting_scene(vertices, faces)
        views: list[_View] = []
        scores = np.zeros((faces.shape[0], len(view_ids)), dtype=np.float32)
        for n, index in enumerate(view_ids):
            view = _make_view(scene, frames, track, index, cfg.zbuffer_scale, masks.get(index))
            views.append(view)
            scores[:, n] = _face_scores(view, vertices, faces, centroids, face_normals, edge, cfg)
            report("texture: visibility", n + 1, len(view_ids))

        pairs = face_adjacency(faces)
        labels = _smooth_labels(scores, pairs, cfg.smoothing_iterations, cfg.smoothness)
        labels = _absorb_small_patches(labels, scores, pairs, cfg.min_patch_faces)
        seen = labels >= 0
        log.debug("texture: %d views, %d of %d faces seen", len(views), int(seen.sum()), len(faces))
        if not np.any(seen):
            raise SolveError(
                "expected the mesh to be visible in some frame, got no face seen by any of "
                f"{len(views)} views; check that the mesh and the cameras share one world"
            )

        try:
            layout = _unwrap(cfg, vertices, faces, pairs, labels, views, double_area)
        except (RuntimeError, ValueError, MemoryError) as exc:
            if not cfg.vertex_color_fallback:
                raise SolveError(f"expected a UV atlas, got an unwrapping failure ({exc}); try charts='views'") from exc
            log.warning("unwrapping failed (%s); colouring vertices instead", exc)
            colours = _vertex_colours(vertices, faces, scores, views)
            return TexturedMesh(
                vertices=vertices, faces=mesh.faces, vertex_colors=colours,
                normals=mesh.normals if mesh.normals is not None else vertex_normals(vertices, mesh.faces),
            )
        report("texture: unwrap", 1, 1)

        texture = _bake_atlas(layout, vertices, faces, labels, scores, views, edge, mesh.vertex_colors, cfg, report)
        orig = layout.vertex_of
        uv = np.column_stack([layout.uv[:, 0], 1.0 - layout.uv[:, 1]]).astype(np.float32)
        normals = mesh.normals if mesh.normals is not None else vertex_normals(vertices, mesh.faces)
        return TexturedMesh(
            vertices=vertices[orig],
            faces=layout.faces.astype(np.int32),
            uv=uv,
            texture=texture,
            vertex_colors=None if mesh.vertex_colors is None else mesh.vertex_colors[orig],
            normals=normals[orig],
        )


# ----------------------------------------------------------------------------------------
# Inputs


def check_frames_and_track(frames: Frames, track: CameraTrack) -> None:
    """Raise :class:`InputError` unless ``frames`` and ``track`` describe the same frames."""
    if not isinstance(frames, Frames):
        raise InputError(f"frames must be Frames, got {type(frames).__name__}; read them with read_frames")
    if not isinstance(track, CameraTrack):
        raise InputError(f"track must be a CameraTrack, got {type(track).__name__}; solve the camera first")
    if len(frames) != len(track) or not np.array_equal(frames.frame_numbers, track.frame_numbers):
        raise InputError(
            f"frames and track must describe the same frames, got {len(frames)} frames and {len(track)} cameras "
            "with different frame numbers; pass the frames the track was solved on"
        )
    for i, intr in enumerate(track.intrinsics):
        if (intr.width, intr.height) != (frames.width, frames.height):
            raise InputError(
                f"camera {i} must have the frames' size {frames.width}×{frames.height}, got {intr.width}×{intr.height}; "
                "rescale the intrinsics to the frames"
            )


def check_masks(masks: Mapping[int, np.ndarray] | None, frames: Frames) -> dict[int, np.ndarray]:
    """The masks as a dict, checked: frame index → 2-D bool with the frames' aspect."""
    if masks is None:
        return {}
    if not isinstance(masks, Mapping):
        raise InputError(f"masks must map frame index → H×W bool, got {type(masks).__name__}")
    out = {}
    for key, mask in masks.items():
        index = int(key)
        if not 0 <= index < len(frames):
            raise InputError(f"mask keys must be frame indices in 0..{len(frames) - 1}, got {key}")
        if not isinstance(mask, np.ndarray) or mask.dtype != bool or mask.ndim != 2:
            got = f"{mask.shape} {mask.dtype}" if isinstance(mask, np.ndarray) else type(mask).__name__
            raise InputError(f"mask {key} must be an H×W bool array (True = leave out), got {got}")
        scale = mask.shape[1] / frames.width
        if abs(mask.shape[0] - frames.height * scale) > max(1.0, scale):
            raise InputError(
                f"mask {key} must have the frames' aspect ({frames.width}×{frames.height}), got "
                f"{mask.shape[1]}×{mask.shape[0]}"
            )
        out[index] = mask
    return out


# ----------------------------------------------------------------------------------------
# Views and visibility


def sharpness(image: np.ndarray) -> float:
    """Variance of the Laplacian of the grey image at ≤ 320 px width (higher = sharper)."""
    import cv2

    grey = image.astype(np.float32).mean(axis=2)
    if grey.shape[1] > 320:
        scale = 320 / grey.shape[1]
        grey = cv2.resize(grey, (320, max(1, round(grey.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def select_views(frames: Frames, track: CameraTrack, max_views: int) -> list[int]:
    """Frame indices of at most ``max_views`` candidate views: the sharpest of each window.

    Interpolated cameras count half as sharp: their poses are the least trustworthy.
    """
    n = len(frames)
    windows = np.array_split(np.arange(n), min(n, max_views))
    out = []
    for window in windows:
        if len(window) == 1:
            out.append(int(window[0]))
            continue
        quality = [
            sharpness(frames.images[i]) * (0.5 if track.status[i] == FrameStatus.INTERPOLATED else 1.0) for i in window
        ]
        out.append(int(window[int(np.argmax(quality))]))
    return out


def _raycasting_scene(vertices: np.ndarray, faces: np.ndarray) -> Any:
    import open3d as o3d

    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(vertices.astype(np.float32), faces.astype(np.uint32))
    return scene


def _make_view(scene: Any, frames: Frames, track: CameraTrack, index: int, zscale: float, mask: np.ndarray | None) -> _View:
    intr = track.intrinsics[index]
    world_from_cam = track.world_from_cam[index]
    width = max(1, round(intr.width * zscale))
    height = max(1, round(intr.height * zscale))
    k = np.diag([width / intr.width, height / intr.height, 1.0]) @ intr.K
    cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    pix = np.stack([cols.ravel(), rows.ravel(), np.ones(cols.size)], axis=1)
    # Ray directions with camera z = 1, so the hit distance is the z-depth.
    dirs_cam = pix @ np.linalg.inv(k).T
    dirs_world = dirs_cam @ world_from_cam[:3, :3].T
    origin = np.broadcast_to(world_from_cam[:3, 3], dirs_world.shape)
    rays = np.concatenate([origin, dirs_world], axis=1).astype(np.float32)
    t_hit = scene.cast_rays(rays)["t_hit"].numpy().reshape(height, width).astype(np.float32)
    return _View(
        index=index,
        image=frames.images[index],
        intrinsics=intr,
        cam_from_world=track.cam_from_world()[index],
        centre=world_from_cam[:3, 3].copy(),
        k_zbuffer=k,
        zbuffer=t_hit,
        # Pixels at an occlusion edge blend foreground and background colours: colours come
        # from them only when no other view has the point, so silhouettes leave no ghosts.
        edge=_near_depth_edges(t_hit, _EDGE_JUMP),
        mask=mask,
    )


def _near_depth_edges(depth: np.ndarray, max_jump: float) -> np.ndarray:
    """H×W bool: hit pixels within one pixel of a miss or of a depth step larger than
    ``max_jump`` (relative)."""
    import cv2

    hit = np.isfinite(depth)
    kernel = np.ones((3, 3), np.uint8)
    low = cv2.erode(np.where(hit, depth, np.inf).astype(np.float32), kernel, borderType=cv2.BORDER_REPLICATE)
    high = cv2.dilate(np.where(hit, depth, 0.0).astype(np.float32), kernel, borderType=cv2.BORDER_REPLICATE)
    beside_miss = cv2.dilate((~hit).astype(np.uint8), kernel, borderType=cv2.BORDER_REPLICATE) > 0
    return hit & (beside_miss | (high > (1.0 + max_jump) * low))


def _face_scores(
    view: _View,
    vertices: np.ndarray,
    faces: np.ndarray,
    centroids: np.ndarray,
    face_normals: np.ndarray,
    edge: float,
    cfg: TextureBakeConfig,
) -> np.ndarray:
    """F float32: projected pixels per unit area of each face in ``view``; 0 where it is not seen.

    Two tiers: a face seen cleanly (facing the camera by more than ``min_cos``, its centroid in
    the frame, visible, away from occlusion edges, not masked) scores its full value; one seen
    only at a grazing angle or beside an occlusion edge scores a thousandth of it, so it is
    used only where no view sees it cleanly.
    """
    to_camera = view.centre - centroids
    distance = np.linalg.norm(to_camera, axis=1)
    cos = np.einsum("ij,ij->i", face_normals, to_camera) / np.maximum(distance, 1e-30)
    centroid_cam = view.to_cam(centroids)
    tolerance = cfg.depth_tolerance * np.abs(centroid_cam[:, 2]) + 1.5 * edge
    centroid_pixels, inside = view.pixels(centroid_cam)
    loose = inside & (cos > 0) & view.visible(centroid_cam, tolerance, strict=False)
    if view.mask is not None:
        loose &= ~view.masked(centroid_pixels)
    clean = loose & (cos > cfg.min_cos) & view.visible(centroid_cam, tolerance, strict=True)
    f2 = view.intrinsics.fx * view.intrinsics.fy
    value = np.maximum(cos, 0.0) / np.maximum(distance, 1e-30) ** 2 * f2
    return np.where(clean, value, np.where(loose, 1e-3 * value, 0.0)).astype(np.float32)


# ----------------------------------------------------------------------------------------
# View choice


def face_adjacency(faces: np.ndarray) -> np.ndarray:
    """E×2 int64 pairs of faces that share an edge (each pair once)."""
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    owner = np.tile(np.arange(faces.shape[0]), 3)
    order = np.lexsort((edges[:, 1], edges[:, 0]))
    edges, owner = edges[order], owner[order]
    same = np.all(edges[1:] == edges[:-1], axis=1)
    # Non-manifold edges (three or more faces) pair each face with the next one only.
    return np.column_stack([owner[:-1][same], owner[1:][same]])


def _smooth_labels(scores: np.ndarray, pairs: np.ndarray, iterations: int, smoothness: float) -> np.ndarray:
    """F int64 chosen view per face (-1: seen by none), Potts-smoothed over edge neighbours
    (``pairs``: E×2 faces that share an edge)."""
    from scipy import sparse

    best = scores.max(axis=1)
    labels = np.where(best > 0, scores.argmax(axis=1), -1)
    if iterations == 0 or smoothness == 0 or scores.shape[1] == 1:
        return labels
    n = scores.shape[0]
    adjacency = sparse.coo_matrix(
        (np.ones(2 * len(pairs), dtype=np.float32), (np.r_[pairs[:, 0], pairs[:, 1]], np.r_[pairs[:, 1], pairs[:, 0]])),
        shape=(n, n),
    ).tocsr()
    normalised = scores / np.where(best > 0, best, 1.0)[:, None]
    allowed = scores > 0
    seen = best > 0
    for _ in range(iterations):
        onehot = sparse.csr_matrix(
            (np.ones(int(seen.sum()), dtype=np.float32), (np.flatnonzero(seen), labels[seen])), shape=scores.shape
        )
        agreeing = (adjacency @ onehot).toarray() / 3.0
        objective = np.where(allowed, normalised + smoothness * agreeing, -np.inf)
        new = np.where(seen, objective.argmax(axis=1), -1)
        if np.array_equal(new, labels):
            break
        labels = new
    return labels


def _absorb_small_patches(labels: np.ndarray, scores: np.ndarray, pairs: np.ndarray, min_faces: int, rounds: int = 3) -> np.ndarray:
    """Move the faces of same-view patches smaller than ``min_faces`` to the best-scoring view
    among their edge neighbours' views that also sees them."""
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    if min_faces <= 1:
        return labels
    labels = labels.copy()
    n = labels.shape[0]
    both = np.concatenate([pairs, pairs[:, ::-1]])
    for _ in range(rounds):
        seen = labels >= 0
        same = pairs[(labels[pairs[:, 0]] == labels[pairs[:, 1]]) & seen[pairs[:, 0]]]
        graph = sparse.coo_matrix((np.ones(len(same)), (same[:, 0], same[:, 1])), shape=(n, n))
        _, patch = connected_components(graph, directed=False)
        small = seen & (np.bincount(patch)[patch] < min_faces)
        face, other = both[:, 0], both[:, 1]
        candidate_label = labels[other]
        ok = small[face] & (candidate_label >= 0) & (candidate_label != labels[face])
        face, candidate_label = face[ok], candidate_label[ok]
        value = scores[face, candidate_label]
        keep = value > 0
        face, candidate_label, value = face[keep], candidate_label[keep], value[keep]
        if face.size == 0:
            break
        order = np.lexsort((-value, face))  # per face, its best candidate first
        face, candidate_label = face[order], candidate_label[order]
        first = np.r_[True, face[1:] != face[:-1]]
        labels[face[first]] = candidate_label[first]
    return labels


def _vertex_view_weights(faces: np.ndarray, labels: np.ndarray, num_vertices: int, num_views: int) -> np.ndarray:
    """V×views float32: share of each vertex's seen faces that chose each view."""
    from scipy import sparse

    seen = labels >= 0
    rows = faces[seen].reshape(-1)
    cols = np.repeat(labels[seen], 3)
    counts = sparse.coo_matrix((np.ones(rows.shape[0], dtype=np.float32), (rows, cols)), shape=(num_vertices, num_views))
    dense = counts.toarray()
    total = dense.sum(axis=1, keepdims=True)
    return dense / np.where(total > 0, total, 1.0)


# ----------------------------------------------------------------------------------------
# Unwrapping


@dataclass
class _Layout:
    """The unwrapped mesh: vertices split along chart seams, faces in the input order."""

    vertex_of: np.ndarray  # V' int64 index of the input vertex
    faces: np.ndarray  # F×3 into the split vertices
    uv: np.ndarray  # V'×2 float64 atlas coordinates in [0, 1], y down (row 0 at y = 0)
    width: int  # texture size in texels
    height: int


def _unwrap(
    cfg: TextureBakeConfig,
    vertices: np.ndarray,
    faces: np.ndarray,
    pairs: np.ndarray,
    labels: np.ndarray,
    views: list[_View],
    double_area: np.ndarray,
) -> _Layout:
    import xatlas

    size = int(cfg.texture_size)
    pack = xatlas.PackOptions()
    pack.padding = int(cfg.padding)
    pack.bilinear = True
    pack.resolution = 0  # one atlas of whatever size the density gives; fitted below
    if cfg.charts == "xatlas":
        area = 0.5 * float(double_area.sum())
        pack.texels_per_unit = float(np.sqrt(_ATLAS_FILL * size * size / max(area, 1e-30)))
        atlas = xatlas.Atlas()
        atlas.add_mesh(vertices.astype(np.float32), faces.astype(np.uint32))
        atlas.generate(xatlas.ChartOptions(), pack)
        _check_atlas(atlas)
        mapping, out_faces, uv = atlas[0]
        vertex_of, out_faces = mapping.astype(np.int64), out_faces.astype(np.int64)
        if out_faces.shape != faces.shape or not np.array_equal(vertex_of[out_faces], faces):
            raise RuntimeError("xatlas changed the faces")
        return _fitted_layout(vertex_of, out_faces, uv, atlas, size)

    vertex_of, split_faces, uv_px, chart = _view_charts(vertices, faces, pairs, labels, views)
    # Charts of one view overlap in its pixels (a foreground patch sits in the hole it cut in
    # the background's): xatlas's packer then places them overlapping, so each chart is
    # moved to its own spot before packing.
    uv_px = _spread_charts(uv_px, split_faces, chart)
    corners = uv_px[split_faces]
    area_px = 0.5 * np.abs(
        (corners[:, 1, 0] - corners[:, 0, 0]) * (corners[:, 2, 1] - corners[:, 0, 1])
        - (corners[:, 2, 0] - corners[:, 0, 0]) * (corners[:, 1, 1] - corners[:, 0, 1])
    )
    # Zero-area charts (faces no view sees, edge-on faces) stay out of the packer, which
    # would blow them up to whole texels; they take the texel of the nearest packed vertex.
    packable = area_px > 1e-6
    # Up to twice the frames' pixel density: baking and rendering each resample the texture,
    # and twice the density keeps that from blurring what the frames showed.
    pack.texels_per_unit = float(min(_MAX_UPSAMPLING, np.sqrt(_VIEW_ATLAS_FILL * size * size / max(area_px.sum(), 1e-12))))
    for _ in range(3):
        atlas = xatlas.Atlas()
        atlas.add_uv_mesh(uv_px.astype(np.float32), split_faces[packable].astype(np.uint32))
        atlas.generate(xatlas.ChartOptions(), pack)
        _check_atlas(atlas)
        longest = max(atlas.width, atlas.height)
        if longest <= 1.05 * size:
            break
        pack.texels_per_unit *= 0.98 * size / longest
    mapping, packed_faces, packed_uv = atlas[0]
    mapping, packed_faces = mapping.astype(np.int64), packed_faces.astype(np.int64)
    if packed_faces.shape[0] != int(packable.sum()) or not np.array_equal(mapping[packed_faces], split_faces[packable]):
        raise RuntimeError("xatlas changed the faces")

    # One atlas position per split vertex: its own where xatlas placed it, else the nearest placed one's.
    from scipy.spatial import cKDTree

    placed_uv = np.full((vertex_of.shape[0], 2), np.nan)
    placed_uv[mapping] = packed_uv
    placed = ~np.isnan(placed_uv[:, 0])
    if not np.all(placed):
        _, nearest = cKDTree(vertices[vertex_of[placed]]).query(vertices[vertex_of[~placed]], workers=-1)
        placed_uv[~placed] = placed_uv[np.flatnonzero(placed)[nearest]]
    rest = np.flatnonzero(~packable)
    out_faces = np.zeros_like(faces)
    out_faces[np.flatnonzero(packable)] = packed_faces
    out_faces[rest] = mapping.shape[0] + np.arange(3 * rest.size).reshape(-1, 3)
    rest_vertices = split_faces[rest].reshape(-1)
    out_vertex_of = np.concatenate([vertex_of[mapping], vertex_of[rest_vertices]])
    uv = np.concatenate([packed_uv, placed_uv[rest_vertices]])
    return _fitted_layout(out_vertex_of, out_faces, uv, atlas, size)


def _spread_charts(uv: np.ndarray, faces: np.ndarray, chart: np.ndarray) -> np.ndarray:
    """Translate each chart (faces with the same ``chart`` id) to its own cell of a grid."""
    vertex_chart = np.zeros(uv.shape[0], dtype=np.int64)
    vertex_chart[faces.reshape(-1)] = np.repeat(chart, 3)
    num = int(chart.max()) + 1
    low = np.full((num, 2), np.inf)
    high = np.full((num, 2), -np.inf)
    np.minimum.at(low, vertex_chart, uv)
    np.maximum.at(high, vertex_chart, uv)
    low[~np.isfinite(low)] = 0.0
    high[~np.isfinite(high)] = 0.0
    cell = float(np.max(high - low)) + 16.0
    columns = int(np.ceil(np.sqrt(num)))
    origin = np.stack([np.arange(num) % columns, np.arange(num) // columns], axis=1) * cell
    return uv - low[vertex_chart] + origin[vertex_chart]


def _check_atlas(atlas: Any) -> None:
    if atlas.atlas_count != 1:
        raise RuntimeError(f"xatlas made {atlas.atlas_count} atlases, expected 1")


def _fitted_layout(vertex_of: np.ndarray, faces: np.ndarray, uv: np.ndarray, atlas: Any, size: int) -> _Layout:
    """The layout with the texture at xatlas's size, shrunk to ``size`` on the longer side."""
    scale = min(1.0, size / max(atlas.width, atlas.height))
    width = max(1, round(atlas.width * scale))
    height = max(1, round(atlas.height * scale))
    return _Layout(vertex_of=vertex_of, faces=faces, uv=uv.astype(np.float64), width=width, height=height)


def _view_charts(
    vertices: np.ndarray, faces: np.ndarray, pairs: np.ndarray, labels: np.ndarray, views: list[_View]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Charts = connected same-view patches laid out in their view's pixels.

    Returns (vertex_of V' int64 input vertex of each split vertex, faces F×3 into the split
    vertices, uv V'×2 float64 in pixels, F int64 chart of each face). Faces no view sees get
    three split vertices of their own at uv (0, 0): zero-area charts of one face each.
    """
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    n_faces = faces.shape[0]
    seen = labels >= 0
    pairs = pairs[(labels[pairs[:, 0]] == labels[pairs[:, 1]]) & seen[pairs[:, 0]]]
    graph = sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n_faces, n_faces))
    _, chart = connected_components(graph, directed=False)

    # Seen faces: one split vertex per (input vertex, chart).
    seen_idx = np.flatnonzero(seen)
    key = faces[seen_idx].astype(np.int64) * n_faces + chart[seen_idx, None]
    unique_keys, inverse = np.unique(key.reshape(-1), return_inverse=True)
    vertex_of = unique_keys // n_faces
    chart_label = np.zeros(n_faces, dtype=np.int64)
    chart_label[chart[seen_idx]] = labels[seen_idx]
    vertex_label = chart_label[unique_keys % n_faces]
    uv = np.zeros((vertex_of.shape[0], 2))
    for n, view in enumerate(views):
        pick = vertex_label == n
        if np.any(pick):
            uv[pick] = view.intrinsics.project(view.to_cam(vertices[vertex_of[pick]]))
    out_faces = np.zeros_like(faces, dtype=np.int64)
    out_faces[seen_idx] = inverse.reshape(-1, 3)

    unseen_idx = np.flatnonzero(~seen)
    if unseen_idx.size:
        start = vertex_of.shape[0]
        vertex_of = np.concatenate([vertex_of, faces[unseen_idx].reshape(-1)])
        uv = np.concatenate([uv, np.zeros((3 * unseen_idx.size, 2))])
        out_faces[unseen_idx] = start + np.arange(3 * unseen_idx.size).reshape(-1, 3)
        chart[unseen_idx] = n_faces + np.arange(unseen_idx.size)
    _, chart = np.unique(chart, return_inverse=True)
    return vertex_of, out_faces, uv, chart


# ----------------------------------------------------------------------------------------
# Baking


def _bake_atlas(
    layout: _Layout,
    vertices: np.ndarray,
    faces: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    views: list[_View],
    edge: float,
    vertex_colors: np.ndarray | None,
    cfg: TextureBakeConfig,
    report: ProgressFn,
) -> np.ndarray:
    """H×W×3 uint8 atlas: every texel of a face coloured from its blend of views, holes filled."""
    import open3d as o3d

    width, height = layout.width, layout.height
    flat = np.zeros((layout.uv.shape[0], 3), dtype=np.float32)
    flat[:, 0] = layout.uv[:, 0] * width
    flat[:, 1] = layout.uv[:, 1] * height
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(flat, layout.faces.astype(np.uint32))

    num_views = len(views)
    weights = _vertex_view_weights(faces, labels, vertices.shape[0], num_views)
    if cfg.blend_seams:
        face_uses = (weights > 0)[faces].any(axis=1) & (scores > 0)
    else:
        face_uses = np.zeros(scores.shape, dtype=bool)
        seen = labels >= 0
        face_uses[np.flatnonzero(seen), labels[seen]] = True
    face_uses[labels < 0] = False

    colour = np.zeros((height * width, 3), dtype=np.float32)
    filled = np.zeros(height * width, dtype=bool)
    rows_per_chunk = max(1, _TEXEL_CHUNK // width)
    chunks = range(0, height, rows_per_chunk)
    for done, row0 in enumerate(chunks):
        row1 = min(height, row0 + rows_per_chunk)
        cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(row0, row1) + 0.5)
        rays = np.zeros((cols.size, 6), dtype=np.float32)
        rays[:, 0], rays[:, 1], rays[:, 2], rays[:, 5] = cols.ravel(), rows.ravel(), 1.0, -1.0
        hit = scene.cast_rays(rays)
        face = hit["primitive_ids"].numpy().astype(np.int64)
        ok = face != o3d.t.geometry.RaycastingScene.INVALID_ID
        texel = np.flatnonzero(ok) + row0 * width
        face = face[ok]
        b12 = hit["primitive_uvs"].numpy()[ok].astype(np.float64)
        bary = np.column_stack([1.0 - b12.sum(axis=1), b12])
        colour[texel], filled[texel] = _texel_colours(
            face, bary, vertices, faces, labels, weights, face_uses, views, edge, vertex_colors, cfg
        )
        report("texture: bake", done + 1, len(chunks))
    image = colour.reshape(height, width, 3)
    image = fill_holes(image, filled.reshape(height, width))
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _texel_colours(
    face: np.ndarray,
    bary: np.ndarray,
    vertices: np.ndarray,
    faces: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    face_uses: np.ndarray,
    views: list[_View],
    edge: float,
    vertex_colors: np.ndarray | None,
    cfg: TextureBakeConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """N×3 float32 colours (0..255) and N bool filled of texels on ``face`` at barycentrics ``bary``."""
    corners = faces[face]
    points = np.einsum("ni,nij->nj", bary, vertices[corners])
    acc = np.zeros((face.shape[0], 3), dtype=np.float64)
    total = np.zeros(face.shape[0], dtype=np.float64)
    for n, view in enumerate(views):
        pick = np.flatnonzero(face_uses[face, n])
        if pick.size == 0:
            continue
        if cfg.blend_seams:
            w = np.einsum("ni,ni->n", bary[pick], weights[corners[pick], n])
        else:
            w = np.ones(pick.size)
        keep = w > 0
        pick, w = pick[keep], w[keep]
        cam = view.to_cam(points[pick])
        uv, inside = view.pixels(cam)
        ok = inside & view.visible(cam, cfg.depth_tolerance * np.abs(cam[:, 2]) + 1.5 * edge)
        if view.mask is not None:
            ok &= ~view.masked(uv)
        pick, w, uv = pick[ok], w[ok], uv[ok]
        acc[pick] += w[:, None] * sample_bilinear(view.image, uv)
        total[pick] += w
    filled = total > 0
    out = np.zeros((face.shape[0], 3), dtype=np.float32)
    out[filled] = acc[filled] / total[filled, None]

    # Texels no view sees cleanly (beside an occlusion edge, at a grazing angle, a sliver the
    # z-buffer misses): the face's own view if it sees the texel at all, then that view
    # without the visibility test, else the vertex colours.
    for test in (True, False):
        rest = np.flatnonzero(~filled & (labels[face] >= 0))
        for n, view in enumerate(views):
            pick = rest[labels[face[rest]] == n]
            if pick.size == 0:
                continue
            cam = view.to_cam(points[pick])
            uv, ok = view.pixels(cam)
            if test:
                ok &= view.visible(cam, cfg.depth_tolerance * np.abs(cam[:, 2]) + 1.5 * edge, strict=False)
            out[pick[ok]] = sample_bilinear(view.image, uv[ok])
            filled[pick[ok]] = True
    if vertex_colors is not None:
        rest = np.flatnonzero(~filled)
        out[rest] = np.einsum("ni,nij->nj", bary[rest], vertex_colors[corners[rest]].astype(np.float64))
        filled[rest] = True
    return out, filled


def sample_bilinear(image: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """N×3 float64 bilinear samples of an H×W×3 image at N×2 pixel coordinates (centres at +0.5)."""
    h, w = image.shape[:2]
    x = np.clip(uv[:, 0] - 0.5, 0.0, w - 1.0)
    y = np.clip(uv[:, 1] - 0.5, 0.0, h - 1.0)
    x0 = np.minimum(np.floor(x).astype(np.int64), w - 2) if w > 1 else np.zeros(x.shape, np.int64)
    y0 = np.minimum(np.floor(y).astype(np.int64), h - 2) if h > 1 else np.zeros(y.shape, np.int64)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    img = image.astype(np.float64) if image.dtype != np.float64 else image
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bottom = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def fill_holes(image: np.ndarray, filled: np.ndarray) -> np.ndarray:
    """Fill the texels where ``filled`` is False by push-pull: masked 2×2 averages down a
    pyramid, then each level's holes taken from the (bilinearly enlarged) level above.

    Args:
        image: H×W×C float32.
        filled: H×W bool.

    Returns:
        H×W×C float32 with every texel set (black only when nothing at all was filled).
    """
    import cv2

    if filled.all() or not filled.any():
        return image
    image = np.where(filled[..., None], image, 0.0).astype(np.float32)
    weight = filled.astype(np.float32)
    levels = [(image, weight)]
    while min(levels[-1][1].shape) > 1 and not np.all(levels[-1][1] > 0):
        img, wgt = levels[-1]
        h, w = wgt.shape
        ph, pw = h + (h % 2), w + (w % 2)
        img = np.pad(img * wgt[..., None], ((0, ph - h), (0, pw - w), (0, 0)))
        wgt = np.pad(wgt, ((0, ph - h), (0, pw - w)))
        img_sum = img.reshape(ph // 2, 2, pw // 2, 2, -1).sum(axis=(1, 3))
        wgt_sum = wgt.reshape(ph // 2, 2, pw // 2, 2).sum(axis=(1, 3))
        levels.append((img_sum / np.maximum(wgt_sum, 1e-12)[..., None], np.minimum(wgt_sum, 1.0)))
    coarse = levels[-1][0]
    if not np.all(levels[-1][1] > 0):
        # A level of one row or column with holes left: its mean fills them.
        img, wgt = levels[-1]
        mean = (img * wgt[..., None]).sum(axis=(0, 1)) / max(float(wgt.sum()), 1e-12)
        coarse = np.where(wgt[..., None] > 0, img, mean)
    for img, wgt in reversed(levels[:-1]):
        h, w = wgt.shape
        up = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
        if up.ndim == 2:
            up = up[..., None]
        coarse = np.where(wgt[..., None] > 0, img, up)
    return coarse.astype(np.float32)


def _vertex_colours(vertices: np.ndarray, faces: np.ndarray, scores: np.ndarray, views: list[_View]) -> np.ndarray:
    """V×3 uint8: each vertex's colour in the view that scores best over its faces (grey if none)."""
    from scipy import sparse

    incidence = sparse.coo_matrix(
        (np.ones(faces.size, dtype=np.float32), (faces.reshape(-1), np.repeat(np.arange(faces.shape[0]), 3))),
        shape=(vertices.shape[0], faces.shape[0]),
    ).tocsr()
    vertex_scores = np.asarray(incidence @ scores)
    best = vertex_scores.argmax(axis=1)
    has = vertex_scores.max(axis=1) > 0
    out = np.full((vertices.shape[0], 3), 128.0)
    for n, view in enumerate(views):
        pick = np.flatnonzero(has & (best == n))
        if pick.size == 0:
            continue
        uv, inside = view.pixels(view.to_cam(vertices[pick]))
        out[pick[inside]] = sample_bilinear(view.image, uv[inside])
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
