"""The views a texture is baked from: candidate frames, their visibility of the mesh, and the
choice of one view per face (see :mod:`._texture` for the whole method)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sceneforge.scenegraph import CameraTrack, Frames, FrameStatus, Intrinsics

__all__ = [
    "TextureView",
    "absorb_small_patches",
    "face_adjacency",
    "face_scores",
    "make_view",
    "raycasting_scene",
    "select_views",
    "sharpness",
    "smooth_labels",
    "vertex_view_weights",
]

_EDGE_JUMP = 0.03
"""Relative depth step between neighbouring z-buffer pixels that counts as an occlusion edge."""


@dataclass
class TextureView:
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


def raycasting_scene(vertices: np.ndarray, faces: np.ndarray) -> Any:
    import open3d as o3d

    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(vertices.astype(np.float32), faces.astype(np.uint32))
    return scene


def make_view(scene: Any, frames: Frames, track: CameraTrack, index: int, zscale: float, mask: np.ndarray | None) -> TextureView:
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
    return TextureView(
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


def face_scores(
    view: TextureView,
    vertices: np.ndarray,
    faces: np.ndarray,
    centroids: np.ndarray,
    face_normals: np.ndarray,
    edge: float,
    *,
    min_cos: float,
    depth_tolerance: float,
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
    tolerance = depth_tolerance * np.abs(centroid_cam[:, 2]) + 1.5 * edge
    centroid_pixels, inside = view.pixels(centroid_cam)
    loose = inside & (cos > 0) & view.visible(centroid_cam, tolerance, strict=False)
    if view.mask is not None:
        loose &= ~view.masked(centroid_pixels)
    clean = loose & (cos > min_cos) & view.visible(centroid_cam, tolerance, strict=True)
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


def smooth_labels(scores: np.ndarray, pairs: np.ndarray, iterations: int, smoothness: float) -> np.ndarray:
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


def absorb_small_patches(labels: np.ndarray, scores: np.ndarray, pairs: np.ndarray, min_faces: int, rounds: int = 3) -> np.ndarray:
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


def vertex_view_weights(faces: np.ndarray, labels: np.ndarray, num_vertices: int, num_views: int) -> np.ndarray:
    """V×views float32: share of each vertex's seen faces that chose each view."""
    from scipy import sparse

    seen = labels >= 0
    rows = faces[seen].reshape(-1)
    cols = np.repeat(labels[seen], 3)
    counts = sparse.coo_matrix((np.ones(rows.shape[0], dtype=np.float32), (rows, cols)), shape=(num_vertices, num_views))
    dense = counts.toarray()
    total = dense.sum(axis=1, keepdims=True)
    return dense / np.where(total > 0, total, 1.0)
