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
from typing import Literal, Protocol

import numpy as np

from sceneforge.scenegraph import CameraTrack, FrameMasks, Frames, InputError, SolveError, TexturedMesh

from .._checks import check_frames_and_track, masks_by_index
from .._progress import ProgressFn
from ._atlas import bake_atlas, sample_bilinear, unwrap
from ._frame_surface import vertex_normals
from ._texture_views import (
    TextureView,
    absorb_small_patches,
    face_adjacency,
    face_scores,
    make_view,
    raycasting_scene,
    select_views,
    smooth_labels,
)

__all__ = ["TextureBaker", "TextureBakeConfig", "ViewTextureBaker"]

log = logging.getLogger(__name__)


class TextureBaker(Protocol):
    """A texturing backend: a mesh and the frames that saw it in, the textured mesh out."""

    def bake(
        self,
        mesh: TexturedMesh,
        frames: Frames,
        track: CameraTrack,
        *,
        masks: FrameMasks | Mapping[int, np.ndarray] | None = None,
        progress: ProgressFn | None = None,
    ) -> TexturedMesh:
        """Texture ``mesh`` (world coordinates) from ``frames`` seen through ``track``.

        Args:
            mesh: the mesh in world coordinates (the track's world).
            frames: N×H×W×3 uint8 RGB frames.
            track: one camera per frame, intrinsics at the frames' size.
            masks: per-frame H'×W' bool keyed by source frame number (:class:`FrameMasks` or a
                mapping), True where a frame's pixels must not be used (moving or foreground
                objects), at the frame's resolution or a scaled one.
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
        """The backend this configuration describes."""
        return ViewTextureBaker(self)


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
        masks: FrameMasks | Mapping[int, np.ndarray] | None = None,
        progress: ProgressFn | None = None,
    ) -> TexturedMesh:
        """See :meth:`TextureBaker.bake`."""
        check_frames_and_track(frames, track)
        if not isinstance(mesh, TexturedMesh):
            raise InputError(f"mesh must be a TexturedMesh, got {type(mesh).__name__}")
        masks = masks_by_index(masks, frames)
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
        scene = raycasting_scene(vertices, faces)
        views: list[TextureView] = []
        scores = np.zeros((faces.shape[0], len(view_ids)), dtype=np.float32)
        for n, index in enumerate(view_ids):
            view = make_view(scene, frames, track, index, cfg.zbuffer_scale, masks.get(index))
            views.append(view)
            scores[:, n] = face_scores(
                view, vertices, faces, centroids, face_normals, edge, min_cos=cfg.min_cos, depth_tolerance=cfg.depth_tolerance
            )
            report("texture: visibility", n + 1, len(view_ids))

        pairs = face_adjacency(faces)
        labels = smooth_labels(scores, pairs, cfg.smoothing_iterations, cfg.smoothness)
        labels = absorb_small_patches(labels, scores, pairs, cfg.min_patch_faces)
        seen = labels >= 0
        log.debug("texture: %d views, %d of %d faces seen", len(views), int(seen.sum()), len(faces))
        if not np.any(seen):
            raise SolveError(
                "expected the mesh to be visible in some frame, got no face seen by any of "
                f"{len(views)} views; check that the mesh and the cameras share one world"
            )

        try:
            layout = unwrap(
                vertices, faces, pairs, labels, views, double_area,
                texture_size=cfg.texture_size, padding=cfg.padding, charts=cfg.charts,
            )
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

        texture = bake_atlas(
            layout, vertices, faces, labels, scores, views, edge, mesh.vertex_colors, report,
            blend_seams=cfg.blend_seams, depth_tolerance=cfg.depth_tolerance,
        )
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


def _vertex_colours(vertices: np.ndarray, faces: np.ndarray, scores: np.ndarray, views: list[TextureView]) -> np.ndarray:
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
