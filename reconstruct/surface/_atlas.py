"""The texture atlas: unwrapping the mesh into charts, baking every texel from its views, and
filling the texels no chart covers (see :mod:`._texture` for the whole method)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._progress import ProgressFn
from ._texture_views import TextureView, vertex_view_weights

__all__ = ["AtlasLayout", "bake_atlas", "fill_empty_texels", "sample_bilinear", "unwrap"]

_ATLAS_FILL = 0.6
"""Share of the atlas that xatlas fills with its own charts (padding and packing loss)."""
_VIEW_ATLAS_FILL = 0.3
"""Share of the atlas that xatlas fills with view charts (irregular patches pack loosely)."""
_MAX_UPSAMPLING = 2.0
"""Most texels per frame pixel along a side in view charts."""
_TEXEL_CHUNK = 1 << 20
"""Texels baked at once (bounds memory at 4096² atlases)."""


@dataclass
class AtlasLayout:
    """The unwrapped mesh: vertices split along chart seams, faces in the input order."""

    vertex_of: np.ndarray  # V' int64 index of the input vertex
    faces: np.ndarray  # F×3 into the split vertices
    uv: np.ndarray  # V'×2 float64 atlas coordinates in [0, 1], y down (row 0 at y = 0)
    width: int  # texture size in texels
    height: int


def unwrap(
    vertices: np.ndarray,
    faces: np.ndarray,
    pairs: np.ndarray,
    labels: np.ndarray,
    views: list[TextureView],
    double_area: np.ndarray,
    *,
    texture_size: int,
    padding: int,
    charts: str,
) -> AtlasLayout:
    """The mesh unwrapped into one atlas of at most ``texture_size`` texels a side:
    ``charts="views"`` lays each same-view patch out as its view sees it, ``"xatlas"`` lets
    xatlas cut and flatten (see :mod:`._texture`)."""
    import xatlas

    size = int(texture_size)
    pack = xatlas.PackOptions()
    pack.padding = int(padding)
    pack.bilinear = True
    pack.resolution = 0  # one atlas of whatever size the density gives; fitted below
    if charts == "xatlas":
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
        vertex_of, out_faces, uv = _inside_atlas(vertices, vertex_of, out_faces, uv.astype(np.float64))
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

    # One atlas position per split vertex where xatlas placed it; only the vertices of packed
    # faces: xatlas also returns the input vertices no packed face uses (those of the
    # unpackable faces) with coordinates outside the atlas. The rest (NaN here) are given a
    # texel by _inside_atlas.
    placed_uv = np.full((vertex_of.shape[0], 2), np.nan)
    placed_uv[mapping[packed_faces.reshape(-1)]] = packed_uv[packed_faces.reshape(-1)]
    rest = np.flatnonzero(~packable)
    out_faces = np.zeros_like(faces)
    out_faces[np.flatnonzero(packable)] = packed_faces
    out_faces[rest] = mapping.shape[0] + np.arange(3 * rest.size).reshape(-1, 3)
    rest_vertices = split_faces[rest].reshape(-1)
    out_vertex_of = np.concatenate([vertex_of[mapping], vertex_of[rest_vertices]])
    uv = np.concatenate([placed_uv[mapping], placed_uv[rest_vertices]])
    out_vertex_of, out_faces, uv = _inside_atlas(vertices, out_vertex_of, out_faces, uv)
    return _fitted_layout(out_vertex_of, out_faces, uv, atlas, size)


def _inside_atlas(
    vertices: np.ndarray, vertex_of: np.ndarray, faces: np.ndarray, uv: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every face inside the atlas: a face with a corner outside [0, 1] or not placed (faces no
    view sees, edge-on faces, and a corner a view sees at a grazing angle, which projects far
    out and xatlas leaves there) gets three vertices of its own at the atlas position of the
    inside vertex nearest its centre — one texel's colour instead of a texture smeared from
    the atlas's edge, and no area to overlap another chart."""
    from scipy.spatial import cKDTree

    good_vertex = np.all(np.isfinite(uv) & (uv >= 0.0) & (uv <= 1.0), axis=1)
    bad = np.flatnonzero(~good_vertex[faces].all(axis=1))
    if bad.size == 0 or not good_vertex.any():
        return vertex_of, faces, np.where(good_vertex[:, None], uv, 0.0)
    corners = faces[bad].reshape(-1)
    inside = np.flatnonzero(good_vertex)
    # one point for all three corners (a zero-area face overlaps no chart): the texel of the
    # inside vertex nearest the face's centre
    centres = vertices[vertex_of[faces[bad]]].mean(axis=1)
    _, nearest = cKDTree(vertices[vertex_of[inside]]).query(centres, workers=-1)
    faces = faces.copy()
    faces[bad] = vertex_of.shape[0] + np.arange(corners.size).reshape(-1, 3)
    uv = uv.copy()
    uv[~good_vertex] = 0.0  # no face uses these any more
    return (
        np.concatenate([vertex_of, vertex_of[corners]]),
        faces,
        np.concatenate([uv, np.repeat(uv[inside[nearest]], 3, axis=0)]),
    )


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


def _fitted_layout(vertex_of: np.ndarray, faces: np.ndarray, uv: np.ndarray, atlas: Any, size: int) -> AtlasLayout:
    """The layout with the texture at xatlas's size, shrunk to ``size`` on the longer side."""
    scale = min(1.0, size / max(atlas.width, atlas.height))
    width = max(1, round(atlas.width * scale))
    height = max(1, round(atlas.height * scale))
    return AtlasLayout(vertex_of=vertex_of, faces=faces, uv=uv.astype(np.float64), width=width, height=height)


def _view_charts(
    vertices: np.ndarray, faces: np.ndarray, pairs: np.ndarray, labels: np.ndarray, views: list[TextureView]
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


def bake_atlas(
    layout: AtlasLayout,
    vertices: np.ndarray,
    faces: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    views: list[TextureView],
    edge: float,
    vertex_colors: np.ndarray | None,
    report: ProgressFn,
    *,
    blend_seams: bool,
    depth_tolerance: float,
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
    weights = vertex_view_weights(faces, labels, vertices.shape[0], num_views)
    if blend_seams:
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
            face, bary, vertices, faces, labels, weights, face_uses, views, edge, vertex_colors,
            blend_seams=blend_seams, depth_tolerance=depth_tolerance,
        )
        report("texture: bake", done + 1, len(chunks))
    image = colour.reshape(height, width, 3)
    image = fill_empty_texels(image, filled.reshape(height, width))
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def _texel_colours(
    face: np.ndarray,
    bary: np.ndarray,
    vertices: np.ndarray,
    faces: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    face_uses: np.ndarray,
    views: list[TextureView],
    edge: float,
    vertex_colors: np.ndarray | None,
    *,
    blend_seams: bool,
    depth_tolerance: float,
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
        if blend_seams:
            w = np.einsum("ni,ni->n", bary[pick], weights[corners[pick], n])
        else:
            w = np.ones(pick.size)
        keep = w > 0
        pick, w = pick[keep], w[keep]
        cam = view.to_cam(points[pick])
        uv, inside = view.pixels(cam)
        ok = inside & view.visible(cam, depth_tolerance * np.abs(cam[:, 2]) + 1.5 * edge)
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
                ok &= view.visible(cam, depth_tolerance * np.abs(cam[:, 2]) + 1.5 * edge, strict=False)
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


def fill_empty_texels(image: np.ndarray, filled: np.ndarray) -> np.ndarray:
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
