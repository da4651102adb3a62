"""One frame's depth as a 2.5D surface: a grid mesh over the valid pixels, textured by the frame.

The building block of the per-object layers: every valid depth pixel becomes a vertex at its
unprojected z-depth, neighbouring pixels are joined by two triangles per pixel square, and
triangles are cut where the depth jumps (an occlusion edge) instead of stretching a rubber
sheet from a foreground object to the wall behind it.
"""

from __future__ import annotations

import numpy as np

from sceneforge.scenegraph import DepthMap, InputError, Intrinsics, TexturedMesh, check_array, check_rigid, transform_points

__all__ = ["frame_surface", "grid_triangles", "intrinsics_at", "vertex_normals"]


def frame_surface(
    depth: DepthMap,
    image: np.ndarray,
    intrinsics: Intrinsics,
    world_from_cam: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    max_depth_jump: float = 0.05,
    step: int = 1,
) -> TexturedMesh:
    """Mesh one frame's depth map: one vertex per valid pixel, textured with the frame itself.

    Vertices are in **world** coordinates (``world_from_cam`` applied); a caller that wants an
    object-local mesh applies its anchor's ``local_from_world`` afterwards. Every ``step``-th
    pixel of every ``step``-th row becomes a vertex at its pixel centre ``(j + 0.5, i + 0.5)``
    lifted to its z-depth (lens distortion of ``intrinsics`` is undone exactly). Each square
    of four neighbouring grid pixels gives two triangles, counter-clockwise seen from the
    camera; a triangle is dropped when any corner has no depth, lies outside ``mask``, or when
    its corners' depths differ by more than ``max_depth_jump`` relative to the nearest corner
    (``z_max > (1 + max_depth_jump) * z_min``): an occlusion edge, not a surface. Vertices no
    triangle uses are left out.

    Texture coordinates put each vertex on its own pixel of ``image``:
    ``u = (j + 0.5) / W``, ``v = 1 - (i + 0.5) / H`` (v up; texture row 0 is the top of the
    frame), with ``W``×``H`` the depth map's size, so a depth map smaller than the image (a
    network's output) still lands on the right place of the full-resolution frame.

    Args:
        depth: H×W z-depth in scene units (0 = none).
        image: H_i×W_i×3 uint8 RGB frame, the texture (any size with the depth map's aspect).
        intrinsics: the frame's camera, at the depth map's or at the image's resolution
            (scaled to the depth map's when it differs).
        world_from_cam: 4×4 float64 rigid pose of the camera (OpenCV axes).
        mask: H×W bool at the depth map's resolution, True where the surface is kept
            (e.g. one object's pixels); ``None`` keeps every pixel.
        max_depth_jump: the largest relative depth difference inside one triangle (> 0).
            With ``step`` > 1 it applies across ``step`` pixels.
        step: grid spacing in pixels (≥ 1); 2 gives a quarter of the vertices.

    Returns:
        A :class:`TexturedMesh` in world coordinates with ``uv``, ``texture`` (the image itself,
        not a copy) and unit vertex ``normals`` facing the camera. Empty (no faces) when no
        triangle survives.

    Raises:
        ShapeError: wrong array shapes or dtypes.
        InputError: mismatched sizes, a non-rigid pose or out-of-range options.
    """
    if not isinstance(depth, DepthMap):
        raise InputError(f"depth must be a DepthMap, got {type(depth).__name__}; wrap the z-depth array in DepthMap")
    height, width = depth.depth.shape
    check_array(image, "image", shape=(None, None, 3), dtype=np.uint8, hint="pass the RGB frame as read")
    if not isinstance(intrinsics, Intrinsics):
        raise InputError(f"intrinsics must be an Intrinsics, got {type(intrinsics).__name__}")
    pose = check_rigid(world_from_cam, "world_from_cam")
    if mask is not None:
        check_array(mask, "mask", shape=(height, width), dtype=bool, hint="pass a mask at the depth map's resolution")
    if not (np.isfinite(max_depth_jump) and max_depth_jump > 0):
        raise InputError(f"max_depth_jump must be a positive relative depth difference, got {max_depth_jump}")
    if int(step) != step or step < 1:
        raise InputError(f"step must be a whole number of pixels ≥ 1, got {step}")
    step = int(step)
    _check_aspect(image.shape[1], image.shape[0], width, height, "image")
    camera = intrinsics_at(intrinsics, width, height)

    rows = np.arange(0, height, step)
    cols = np.arange(0, width, step)
    z = depth.depth[np.ix_(rows, cols)].reshape(-1)
    usable = z > 0
    if mask is not None:
        usable &= mask[np.ix_(rows, cols)].reshape(-1)

    faces = grid_triangles(len(rows), len(cols))
    corner_z = z[faces]
    keep = usable[faces].all(axis=1)
    keep &= corner_z.max(axis=1) <= corner_z.min(axis=1) * (1.0 + max_depth_jump)
    faces = faces[keep]

    used = np.unique(faces)
    remap = np.full(z.shape[0], -1, dtype=np.int64)
    remap[used] = np.arange(used.shape[0])
    faces = remap[faces].astype(np.int32)

    col_of = cols[used % len(cols)].astype(np.float64) + 0.5
    row_of = rows[used // len(cols)].astype(np.float64) + 0.5
    points_in_cam = camera.unproject(np.column_stack([col_of, row_of]), z[used])
    points_in_world = transform_points(pose, points_in_cam)
    uv = np.column_stack([col_of / width, 1.0 - row_of / height]).astype(np.float32)
    return TexturedMesh(
        vertices=points_in_world,
        faces=faces,
        uv=uv,
        texture=image,
        normals=vertex_normals(points_in_world, faces),
    )


def grid_triangles(rows: int, cols: int) -> np.ndarray:
    """T×3 int64 vertex indices of a row-major ``rows``×``cols`` grid, two triangles per square.

    Counter-clockwise seen from a camera looking along +Z at the grid laid out in image
    order (column = +X, row = +Y down): ``(top-left, bottom-left, top-right)`` and
    ``(top-right, bottom-left, bottom-right)``.
    """
    if rows < 2 or cols < 2:
        return np.zeros((0, 3), dtype=np.int64)
    index = np.arange(rows * cols, dtype=np.int64).reshape(rows, cols)
    tl, tr = index[:-1, :-1], index[:-1, 1:]
    bl, br = index[1:, :-1], index[1:, 1:]
    upper = np.stack([tl, bl, tr], axis=-1).reshape(-1, 3)
    lower = np.stack([tr, bl, br], axis=-1).reshape(-1, 3)
    return np.concatenate([upper, lower])


def _check_aspect(width: int, height: int, ref_width: int, ref_height: int, name: str) -> None:
    """Raise unless ``width``×``height`` is ``ref_width``×``ref_height`` scaled (to within a pixel)."""
    scale = width / ref_width
    if abs(height - ref_height * scale) > max(1.0, scale):
        raise InputError(
            f"{name} must have the depth map's aspect ({ref_width}×{ref_height} or a multiple), "
            f"got {width}×{height}; resize without cropping"
        )


def intrinsics_at(intrinsics: Intrinsics, width: int, height: int) -> Intrinsics:
    """``intrinsics`` for the same camera imaged on ``width``×``height`` pixels (pixel-edge exact).

    Raises:
        InputError: the aspect differs by more than a pixel (a crop, not a resize).
    """
    if intrinsics.width == width and intrinsics.height == height:
        return intrinsics
    _check_aspect(intrinsics.width, intrinsics.height, width, height, "intrinsics' image size")
    sx, sy = width / intrinsics.width, height / intrinsics.height
    # Scaling pixel edges (not centres) keeps (j + 0.5) at the same place on the sensor.
    k = np.diag([sx, sy, 1.0]) @ intrinsics.K
    return Intrinsics(K=k, width=width, height=height, radial=intrinsics.radial)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """V×3 float32 unit vertex normals: area-weighted sums of the faces' normals.

    Faces are counter-clockwise seen from the front, so normals point to the front.
    Vertices without faces (or only degenerate ones) get +Z.
    """
    out = np.zeros((vertices.shape[0], 3), dtype=np.float64)
    if faces.shape[0]:
        tri = vertices[faces]
        face_normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # length = 2 × area
        for axis in range(3):
            out[:, axis] = np.bincount(faces.reshape(-1), np.repeat(face_normals[:, axis], 3), minlength=len(vertices))
    length = np.linalg.norm(out, axis=1, keepdims=True)
    out = np.where(length > 0, out / np.where(length > 0, length, 1.0), np.array([0.0, 0.0, 1.0]))
    return out.astype(np.float32)
