"""The rasterizer: convention tests first (a known plane lands where our projection says),
then passes, scene editing and input validation.

OpenGL tests are marked ``gl`` and skip with the reason when no headless context can be made.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest

from sceneforge.render import PASS_NAMES, Rasterizer, RenderPasses
from sceneforge.render.raster import clip_from_cam
from sceneforge.scenegraph import (
    DependencyError,
    InputError,
    Intrinsics,
    ShapeError,
    TexturedMesh,
    invert_rigid,
    make_transform,
    rotation_about_axis,
    transform_points,
)

WIDTH, HEIGHT = 640, 480
# Off-centre principal point and non-square pixels.
K = np.array([[530.0, 0.0, 347.3], [0.0, 585.0, 221.9], [0.0, 0.0, 1.0]])
INTRINSICS = Intrinsics(K=K, width=WIDTH, height=HEIGHT)
WORLD_FROM_CAM = make_transform(rotation_about_axis(np.array([0.3, 1.0, -0.2]), 0.6), np.array([0.4, 1.5, -2.0]))
# The plane in the camera frame: centre 4 units ahead, tilted about two axes and turned in-plane.
CAM_FROM_PLANE = make_transform(
    rotation_about_axis(np.array([0.0, 0.0, 1.0]), 0.23)
    @ rotation_about_axis(np.array([1.0, 0.4, 0.0]), 0.45),
    np.array([0.05, 0.0, 3.4]),
)
HALF_W, HALF_H = 1.2, 0.8  # the plane's half extents along its local x and y
CHECKER_CELL = 8  # texels per checker cell
PALETTE = np.array([[230, 40, 40], [40, 200, 60], [30, 60, 220], [250, 230, 30]], dtype=np.uint8)


# ---------------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def gl() -> None:
    """Skip the test when no headless OpenGL context can be made here."""
    try:
        Rasterizer(4, 4).close()
    except DependencyError as error:
        pytest.skip(f"no headless OpenGL context: {error}")


def checker_texture(height: int = 64, width: int = 96) -> np.ndarray:
    """Colour of texel (row, col) = PALETTE[(row // cell + 2 * (col // cell)) % 4]."""
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    return PALETTE[(rows // CHECKER_CELL + 2 * (cols // CHECKER_CELL)) % 4]


def plane_mesh(*, textured: bool = True, colors: np.ndarray | None = None) -> TexturedMesh:
    """Two triangles spanning [-HALF_W, HALF_W] × [-HALF_H, HALF_H] in z = 0, uv over [0, 1]²."""
    vertices = np.array([[-HALF_W, -HALF_H, 0.0], [HALF_W, -HALF_H, 0.0], [HALF_W, HALF_H, 0.0], [-HALF_W, HALF_H, 0.0]])
    faces = np.array([[0, 1, 2], [0, 2, 3]], dtype=np.int32)
    uv = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]], dtype=np.float32)
    if textured:
        return TexturedMesh(vertices, faces, uv=uv, texture=checker_texture())
    return TexturedMesh(vertices, faces, vertex_colors=colors)


def uv_sphere(radius: float, *, rings: int = 48, segments: int = 96, with_normals: bool = True) -> TexturedMesh:
    theta = np.linspace(0.0, math.pi, rings + 1)
    phi = np.linspace(0.0, 2.0 * math.pi, segments, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    unit = np.stack([np.sin(t) * np.cos(p), np.cos(t), np.sin(t) * np.sin(p)], axis=-1).reshape(-1, 3)
    index = np.arange((rings + 1) * segments).reshape(rings + 1, segments)
    a, b = index[:-1], np.roll(index[:-1], -1, axis=1)
    c, d = index[1:], np.roll(index[1:], -1, axis=1)
    faces = np.concatenate([np.stack([a, c, b], -1).reshape(-1, 3), np.stack([b, c, d], -1).reshape(-1, 3)]).astype(np.int32)
    normals = unit.astype(np.float32) if with_normals else None
    return TexturedMesh(unit * radius, faces, normals=normals)


def box_mesh(size: np.ndarray, color: tuple[int, int, int]) -> TexturedMesh:
    """An axis-aligned box centred at the origin (8 shared corners, 12 triangles)."""
    corners = np.array([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)]) * size
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = np.array([tri for q in quads for tri in ((q[0], q[1], q[2]), (q[0], q[2], q[3]))], dtype=np.int32)
    return TexturedMesh(corners, faces, vertex_colors=np.tile(np.array(color, np.uint8), (8, 1)))


def pixel_centres(width: int, height: int) -> np.ndarray:
    jj, ii = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    return np.stack([jj.ravel(), ii.ravel()], axis=1)


def plane_hits(intrinsics: Intrinsics, cam_from_plane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Analytic z-depth (H×W) of every pixel ray on the infinite plane, and the hit in plane coordinates."""
    rays = intrinsics.unproject(pixel_centres(intrinsics.width, intrinsics.height), np.ones(intrinsics.width * intrinsics.height))
    normal, centre = cam_from_plane[:3, 2], cam_from_plane[:3, 3]
    z = (normal @ centre) / (rays @ normal)
    local = transform_points(invert_rigid(cam_from_plane), rays * z[:, None])
    return z.reshape(intrinsics.height, intrinsics.width), local.reshape(intrinsics.height, intrinsics.width, 3)


def fit_edge(coverage: np.ndarray, a: np.ndarray, b: np.ndarray, margin: float = 4.0) -> np.ndarray:
    """Line ``(n, c)`` with ``n·p = c`` fitted to the coverage boundary between pixels ``a`` and ``b``.

    Along the edge's major axis, each pixel column (or row) gives one boundary sample:
    the midpoint between the last covered and the first uncovered pixel centre.
    Only ``a`` and ``b`` choose where to look; the fit uses the mask alone.
    """
    d = b - a
    major = 0 if abs(d[0]) >= abs(d[1]) else 1  # 0: step along u (columns)
    minor = 1 - major
    lo, hi = sorted((a[major], b[major]))
    samples = []
    for k in range(int(math.ceil(lo + margin - 0.5)), int(math.floor(hi - margin - 0.5)) + 1):
        s = k + 0.5
        predicted = a[minor] + (s - a[major]) * d[minor] / d[major]
        start = int(math.floor(predicted)) - 4
        line = coverage[start : start + 9, k] if major == 0 else coverage[k, start : start + 9]
        changes = np.flatnonzero(line[1:] != line[:-1])
        assert len(changes) == 1, f"expected one coverage transition near {predicted:.1f}, got {len(changes)}"
        boundary = start + changes[0] + 1.0  # halfway between pixel centres start+c+0.5 and start+c+1.5
        samples.append((s, boundary) if major == 0 else (boundary, s))
    points = np.array(samples)
    centre = points.mean(axis=0)
    _, _, vt = np.linalg.svd(points - centre)
    normal = vt[1]
    return np.array([normal[0], normal[1], normal @ centre])


def intersect(line1: np.ndarray, line2: np.ndarray) -> np.ndarray:
    return np.linalg.solve(np.array([line1[:2], line2[:2]]), np.array([line1[2], line2[2]]))


def render_plane(passes=PASS_NAMES, intrinsics: Intrinsics = INTRINSICS, **mesh_kwargs) -> RenderPasses:
    with Rasterizer(intrinsics.width, intrinsics.height) as rasterizer:
        rasterizer.add_mesh(plane_mesh(**mesh_kwargs), world_from_local=WORLD_FROM_CAM @ CAM_FROM_PLANE, object_id=7)
        return rasterizer.render(intrinsics, WORLD_FROM_CAM, passes=passes)


def plane_corners_in_cam() -> np.ndarray:
    local = np.array([[-HALF_W, -HALF_H, 0.0], [HALF_W, -HALF_H, 0.0], [HALF_W, HALF_H, 0.0], [-HALF_W, HALF_H, 0.0]])
    return transform_points(CAM_FROM_PLANE, local)


# ------------------------------------------------------------------ projection (no OpenGL)


@pytest.mark.parametrize("skew", [0.0, 3.5])
def test_projection_matrix_maps_points_where_intrinsics_project_them(skew):
    k = K.copy()
    k[0, 1] = skew
    intrinsics = Intrinsics(K=k, width=WIDTH, height=HEIGHT)
    rng = np.random.default_rng(0)
    points = np.column_stack([rng.uniform(-2, 2, 50), rng.uniform(-1.5, 1.5, 50), rng.uniform(0.5, 40, 50)])
    clip = np.column_stack([points, np.ones(50)]) @ clip_from_cam(intrinsics, near=0.1, far=100.0).T
    ndc = clip[:, :3] / clip[:, 3:]
    # OpenGL's viewport transform; framebuffer row i is image row i (the projection flips y).
    window = np.column_stack([(ndc[:, 0] + 1) / 2 * WIDTH, (ndc[:, 1] + 1) / 2 * HEIGHT])
    np.testing.assert_allclose(window, intrinsics.project(points), atol=1e-9)
    assert np.all(clip[:, 3] > 0) and np.all(np.abs(ndc[:, 2]) < 1)
    near_far = np.array([[0.0, 0.0, 0.1, 1.0], [0.0, 0.0, 100.0, 1.0]]) @ clip_from_cam(intrinsics, near=0.1, far=100.0).T
    np.testing.assert_allclose(near_far[:, 2] / near_far[:, 3], [-1.0, 1.0], atol=1e-9)


def test_projection_rejects_a_bad_clipping_range():
    with pytest.raises(InputError, match="near < far"):
        clip_from_cam(INTRINSICS, near=5.0, far=1.0)


# ------------------------------------------------------------------- the key convention test


@pytest.mark.gl
def test_plane_corners_land_where_intrinsics_project_them(gl):
    passes = render_plane()
    expected = INTRINSICS.project(plane_corners_in_cam())
    assert np.all((expected > 20) & (expected < [WIDTH - 20, HEIGHT - 20])), "the plane must sit inside the image"
    lines = [fit_edge(passes.coverage, expected[k], expected[(k + 1) % 4]) for k in range(4)]
    measured = np.array([intersect(lines[k - 1], lines[k]) for k in range(4)])
    error = np.linalg.norm(measured - expected, axis=1)
    assert error.max() < 0.1, f"corner errors {np.round(error, 3)} px"


@pytest.mark.gl
def test_coverage_is_exactly_the_pixel_centres_inside_the_projected_plane(gl):
    coverage = render_plane(passes=("coverage",)).coverage
    corners = INTRINSICS.project(plane_corners_in_cam())
    centres = pixel_centres(WIDTH, HEIGHT)
    signed = []
    for k in range(4):
        a, b = corners[k], corners[(k + 1) % 4]
        edge = (b - a) / np.linalg.norm(b - a)
        signed.append(edge[0] * (centres[:, 1] - a[1]) - edge[1] * (centres[:, 0] - a[0]))
    signed = np.array(signed)
    signed *= np.sign(np.median(signed[:, coverage.ravel()], axis=1))[:, None]  # inside positive
    inside = np.all(signed > 0, axis=0)
    near_boundary = np.any(np.abs(signed) < 0.1, axis=0)
    wrong = (inside != coverage.ravel()) & ~near_boundary
    assert not wrong.any(), f"{wrong.sum()} pixels farther than 0.1 px from the edges are misclassified"
    assert coverage.sum() > 50_000


@pytest.mark.gl
def test_plane_depth_is_the_analytic_z_depth(gl):
    passes = render_plane(passes=("depth", "coverage"))
    z, _ = plane_hits(INTRINSICS, CAM_FROM_PLANE)
    covered = passes.coverage
    assert passes.depth.dtype == np.float32
    relative = np.abs(passes.depth[covered] - z[covered]) / z[covered]
    assert relative.max() < 1e-4, f"max relative depth error {relative.max():.2e}"
    assert np.all(passes.depth[~covered] == 0)


@pytest.mark.gl
def test_rgb_reproduces_the_texture_colours_unlit(gl):
    passes = render_plane(passes=("rgb", "coverage"))
    _, local = plane_hits(INTRINSICS, CAM_FROM_PLANE)
    texture = checker_texture()
    th, tw = texture.shape[:2]
    u = (local[..., 0] + HALF_W) / (2 * HALF_W)
    v = (local[..., 1] + HALF_H) / (2 * HALF_H)
    # Texel coordinates: column from u, row from the top (v = 1 is row 0).
    col, row = u * tw, (1.0 - v) * th
    cell_col, cell_row = np.floor(col / CHECKER_CELL), np.floor(row / CHECKER_CELL)
    expected = PALETTE[((cell_row + 2 * cell_col) % 4).astype(int)] / 255.0
    # Away from cell borders bilinear filtering returns the cell's colour exactly.
    distance = np.minimum(np.abs(col - np.round(col / CHECKER_CELL) * CHECKER_CELL),
                          np.abs(row - np.round(row / CHECKER_CELL) * CHECKER_CELL))
    inner = passes.coverage & (distance > 1.5) & (u > 0) & (u < 1) & (v > 0) & (v < 1)
    assert inner.sum() > 20_000
    assert passes.rgb.dtype == np.float32
    np.testing.assert_allclose(passes.rgb[inner], expected[inner], atol=0.5 / 255)
    assert np.all(passes.rgb[~passes.coverage] == 0)
    # Orientation: the texture's top-left cell (row 0, col 0 → PALETTE[0]) is at the uv (0, 1) corner.
    corner = INTRINSICS.project(transform_points(CAM_FROM_PLANE, np.array([[-HALF_W * 0.97, HALF_H * 0.97, 0.0]])))[0]
    np.testing.assert_allclose(passes.rgb[int(corner[1]), int(corner[0])], PALETTE[0] / 255.0, atol=0.5 / 255)


@pytest.mark.gl
def test_plane_normals_are_the_plane_normal_in_the_camera_frame(gl):
    passes = render_plane(passes=("normals", "coverage"))
    normal = CAM_FROM_PLANE[:3, 2]
    normal = -normal if normal @ CAM_FROM_PLANE[:3, 3] > 0 else normal  # the side facing the camera
    n = passes.normals[passes.coverage]
    assert np.degrees(np.arccos(np.clip(n @ normal, -1, 1))).max() < 0.05
    assert np.all(passes.normals[~passes.coverage] == 0)


@pytest.mark.gl
def test_curved_surface_normals(gl):
    radius, centre_in_cam = 1.0, np.array([0.2, 0.1, 4.0])
    for with_normals, tolerance_deg in ((True, 1.0), (False, 3.0)):
        with Rasterizer(WIDTH, HEIGHT) as rasterizer:
            rasterizer.add_mesh(uv_sphere(radius, with_normals=with_normals),
                                world_from_local=WORLD_FROM_CAM @ make_transform(np.eye(3), centre_in_cam))
            passes = rasterizer.render(INTRINSICS, WORLD_FROM_CAM, passes=("depth", "normals"))
        covered = passes.depth > 0
        points = INTRINSICS.unproject(pixel_centres(WIDTH, HEIGHT)[covered.ravel()], passes.depth[covered])
        expected = (points - centre_in_cam) / np.linalg.norm(points - centre_in_cam, axis=1, keepdims=True)
        angle = np.degrees(np.arccos(np.clip(np.sum(passes.normals[covered] * expected, axis=1), -1, 1)))
        # The silhouette ring sees the facets edge-on; judge the body of the sphere.
        body = expected @ -points.T.mean(axis=1) / np.linalg.norm(points.mean(axis=0)) > 0.3
        assert np.percentile(angle[body], 99) < tolerance_deg, (with_normals, np.percentile(angle[body], 99))
        np.testing.assert_allclose(np.linalg.norm(passes.normals[covered], axis=1), 1.0, atol=1e-5)


@pytest.mark.gl
def test_vertex_colours_and_plain_meshes(gl):
    colors = np.tile(np.array([[200, 30, 90]], np.uint8), (4, 1))
    passes = render_plane(passes=("rgb", "coverage"), textured=False, colors=colors)
    np.testing.assert_allclose(passes.rgb[passes.coverage], np.broadcast_to([200 / 255, 30 / 255, 90 / 255], (passes.coverage.sum(), 3)),
                               atol=0.5 / 255)
    grey = render_plane(passes=("rgb", "coverage"), textured=False, colors=None)
    np.testing.assert_allclose(grey.rgb[grey.coverage], 0.5, atol=1 / 255)


# ---------------------------------------------------------------------- pose and visibility


@pytest.mark.gl
def test_camera_pose_convention_front_is_plus_z(gl):
    square = TexturedMesh(np.array([[-0.1, -0.1, 0.0], [0.1, -0.1, 0.0], [0.1, 0.1, 0.0], [-0.1, 0.1, 0.0]]),
                          np.array([[0, 1, 2], [0, 2, 3]], dtype=np.int32))
    with Rasterizer(WIDTH, HEIGHT) as rasterizer:
        for offset, visible in (((0.0, 0.0, 5.0), True), ((0.0, 0.0, -5.0), False), ((1.0, 0.6, 5.0), True)):
            name = rasterizer.add_mesh(square, world_from_local=WORLD_FROM_CAM @ make_transform(np.eye(3), np.array(offset)))
            passes = rasterizer.render(INTRINSICS, WORLD_FROM_CAM, passes=("coverage",))
            rasterizer.remove_mesh(name)
            assert passes.coverage.any() == visible, offset
            if visible:
                rows, cols = np.nonzero(passes.coverage)
                expected = INTRINSICS.project(np.array([offset]))[0]  # +X right, +Y down
                np.testing.assert_allclose([cols.mean() + 0.5, rows.mean() + 0.5], expected, atol=0.6)


@pytest.mark.gl
def test_empty_scene_gives_no_coverage(gl):
    with Rasterizer(64, 48) as rasterizer:
        passes = rasterizer.render(INTRINSICS.scaled(0.1), np.eye(4))
    assert not passes.coverage.any()
    for name in ("rgb", "depth", "normals", "object_id"):
        assert not np.any(getattr(passes, name)), name
    assert passes.coverage.shape == (48, 64) and passes.rgb.shape == (48, 64, 3)


@pytest.mark.gl
def test_object_ids_and_occlusion(gl):
    near = make_transform(np.eye(3), np.array([-0.5, 0.0, 3.0]))
    far = make_transform(np.eye(3), np.array([0.5, 0.0, 6.0]))
    with Rasterizer(WIDTH, HEIGHT) as rasterizer:
        rasterizer.add_mesh(plane_mesh(), world_from_local=WORLD_FROM_CAM @ far, object_id=7, name="far")
        rasterizer.add_mesh(plane_mesh(textured=False), world_from_local=WORLD_FROM_CAM @ near, object_id=3, name="near")
        passes = rasterizer.render(INTRINSICS, WORLD_FROM_CAM)
        assert rasterizer.mesh_names == ("far", "near")
    assert passes.object_id.dtype == np.int32
    assert set(np.unique(passes.object_id)) == {0, 3, 7}
    np.testing.assert_array_equal(passes.object_id > 0, passes.coverage)
    # Where both overlap the nearer one wins, at its depth.
    np.testing.assert_allclose(passes.depth[passes.object_id == 3], 3.0, rtol=1e-6)
    np.testing.assert_allclose(passes.depth[passes.object_id == 7], 6.0, rtol=1e-6)
    centre = INTRINSICS.project(np.array([[0.0, 0.0, 3.0]]))[0].astype(int)
    assert passes.object_id[centre[1], centre[0]] == 3


@pytest.mark.gl
def test_demo_room_depth_and_instances_match_the_ray_caster(gl, demo_module):
    """Boxes of the demo scene rasterized with its own cameras agree with its exact ray caster."""
    k, poses = demo_module.demo_cameras(num_frames=3)
    width, height = demo_module.WIDTH, demo_module.HEIGHT
    intrinsics = Intrinsics(K=k, width=width, height=height)
    room_min, room_max = np.array(demo_module.ROOM_MIN), np.array(demo_module.ROOM_MAX)
    with Rasterizer(width, height) as rasterizer:
        rasterizer.add_mesh(box_mesh(room_max - room_min, (128, 128, 128)),
                            world_from_local=make_transform(np.eye(3), (room_min + room_max) / 2), object_id=0)
        for obj in demo_module.OBJECTS:
            if obj["kind"] == "box":
                yaw = rotation_about_axis(np.array([0.0, 1.0, 0.0]), math.radians(obj["yaw_deg"]))
                rasterizer.add_mesh(box_mesh(np.array(obj["size_m"]), (200, 100, 50)),
                                    world_from_local=make_transform(yaw, np.array(obj["center_m"])),
                                    object_id=obj["instance_id"])
        for pose in (poses[0], poses[-1]):
            passes = rasterizer.render(intrinsics, pose, passes=("depth", "object_id"))
            _, depth, instance = demo_module.render_frame(pose, k, width, height, supersample=1)
            # Compare where the ray caster sees a box or the room, away from any boundary.
            import cv2

            curved = np.isin(instance, [o["instance_id"] for o in demo_module.OBJECTS if o["kind"] != "box"])
            edges = cv2.dilate((cv2.Laplacian(instance.astype(np.float32), cv2.CV_32F) != 0).astype(np.uint8)
                               | curved.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
            creases = (np.abs(cv2.Laplacian(depth, cv2.CV_32F)) > 1e-2).astype(np.uint8)  # the room's corners
            room_edges = cv2.dilate(creases, np.ones((3, 3), np.uint8)).astype(bool)
            keep = ~edges & ~room_edges
            assert keep.mean() > 0.6
            np.testing.assert_array_equal(passes.object_id[keep], instance[keep])
            relative = np.abs(passes.depth[keep] - depth[keep]) / depth[keep]
            assert relative.max() < 1e-4, f"max relative depth error {relative.max():.2e}"


# ------------------------------------------------------------------------------ distortion


@pytest.mark.gl
def test_distorted_camera_passes_line_up_with_the_distorted_projection(gl):
    distorted = Intrinsics(K=K, width=WIDTH, height=HEIGHT, radial=np.array([-0.12, 0.03]))
    passes = render_plane(intrinsics=distorted)
    z, _ = plane_hits(distorted, CAM_FROM_PLANE)
    # Depth inside the surface is interpolated: its error, turned into a position error
    # along the depth gradient, is how well the remap lines up with the plate.
    gy, gx = np.gradient(z)
    slope = np.hypot(gx, gy)
    inner = passes.coverage & (np.abs(passes.depth - z) < 0.01 * z)
    assert inner.mean() > 0.2
    offset_px = np.abs(passes.depth[inner] - z[inner]) / slope[inner]
    assert np.median(offset_px) < 0.05 and np.percentile(offset_px, 99) < 0.15, np.percentile(offset_px, [50, 99])
    # Coverage follows the curved (distorted) edges: corners where project() puts them.
    corners = distorted.project(plane_corners_in_cam())
    for corner in corners:
        window = passes.coverage[int(corner[1]) - 3 : int(corner[1]) + 4, int(corner[0]) - 3 : int(corner[0]) + 4]
        assert 0 < window.sum() < window.size
    rows, cols = np.nonzero(passes.coverage)
    assert passes.object_id[rows, cols].min() == 7 and passes.normals[rows, cols, 2].max() < 0
    # A pinhole render of the same plane differs: the distortion was applied.
    assert (render_plane(passes=("coverage",)).coverage != passes.coverage).sum() > 1000


@pytest.mark.gl
def test_a_zooming_distorted_camera_renders_every_frame(gl):
    with Rasterizer(WIDTH, HEIGHT) as rasterizer:
        rasterizer.add_mesh(plane_mesh(), world_from_local=WORLD_FROM_CAM @ CAM_FROM_PLANE)
        for zoom in (1.0, 1.05, 1.1, 1.15, 1.2, 1.25, 1.0):
            k = K @ np.diag([zoom, zoom, 1.0])
            k[:2, 2] = K[:2, 2]
            intrinsics = Intrinsics(K=k, width=WIDTH, height=HEIGHT, radial=np.array([-0.1 / zoom, 0.0]))
            passes = rasterizer.render(intrinsics, WORLD_FROM_CAM, passes=("normals",))
            assert passes.passes == ("normals",)
            assert np.abs(np.linalg.norm(passes.normals, axis=2) - 1.0)[passes.normals.any(axis=2)].max() < 1e-4


# ------------------------------------------------------------------- scene editing and input


@pytest.mark.gl
def test_only_requested_passes_are_rendered_and_meshes_move(gl):
    with Rasterizer(WIDTH, HEIGHT) as rasterizer:
        name = rasterizer.add_mesh(plane_mesh(), world_from_local=WORLD_FROM_CAM @ CAM_FROM_PLANE)
        depth_only = rasterizer.render(INTRINSICS, WORLD_FROM_CAM, passes=["depth"])
        assert depth_only.passes == ("depth",) and depth_only.rgb is None and depth_only.coverage is None
        moved = CAM_FROM_PLANE.copy()
        moved[2, 3] += 1.0
        rasterizer.set_world_from_local(name, WORLD_FROM_CAM @ moved)
        farther = rasterizer.render(INTRINSICS, WORLD_FROM_CAM, passes=("depth", "coverage"))
        centre = INTRINSICS.project(CAM_FROM_PLANE[None, :3, 3])[0].astype(int)
        assert farther.depth[centre[1], centre[0]] > depth_only.depth[centre[1], centre[0]] + 0.9
        # Explicit clipping planes override the scene bounds.
        clipped = rasterizer.render(INTRINSICS, WORLD_FROM_CAM, passes=("coverage",), far=2.0)
        assert not clipped.coverage.any()
        rasterizer.clear()
        assert rasterizer.mesh_names == ()
        assert not rasterizer.render(INTRINSICS, WORLD_FROM_CAM, passes=("coverage",)).coverage.any()


@pytest.mark.gl
def test_scaled_placement_keeps_unit_normals(gl):
    scale = np.diag([2.0, 0.5, 3.0, 1.0])
    with Rasterizer(WIDTH, HEIGHT) as rasterizer:
        placement = WORLD_FROM_CAM @ make_transform(np.eye(3), np.array([0, 0, 6.0])) @ scale
        rasterizer.add_mesh(uv_sphere(0.5), world_from_local=placement)
        passes = rasterizer.render(INTRINSICS, WORLD_FROM_CAM, passes=("normals", "coverage"))
    np.testing.assert_allclose(np.linalg.norm(passes.normals[passes.coverage], axis=1), 1.0, atol=1e-5)
    assert passes.normals[passes.coverage][:, 2].max() < 0.05  # facing the camera


@pytest.mark.gl
def test_rasterizer_input_errors(gl):
    with Rasterizer(WIDTH, HEIGHT) as rasterizer:
        with pytest.raises(InputError, match="640×480"):
            rasterizer.render(INTRINSICS.scaled(0.5), WORLD_FROM_CAM)
        with pytest.raises(InputError, match="unknown render pass"):
            rasterizer.render(INTRINSICS, WORLD_FROM_CAM, passes=("albedo",))
        with pytest.raises(InputError, match="string"):
            rasterizer.render(INTRINSICS, WORLD_FROM_CAM, passes="rgb")
        with pytest.raises(InputError, match="rigid"):
            rasterizer.render(INTRINSICS, np.diag([2.0, 1.0, 1.0, 1.0]))
        with pytest.raises(InputError, match="near < far"):
            rasterizer.render(INTRINSICS, WORLD_FROM_CAM, near=3.0, far=1.0)
        rasterizer.add_mesh(plane_mesh(), world_from_local=np.eye(4), name="a")
        with pytest.raises(InputError, match="already"):
            rasterizer.add_mesh(plane_mesh(), world_from_local=np.eye(4), name="a")
        with pytest.raises(InputError, match="object_id"):
            rasterizer.add_mesh(plane_mesh(), world_from_local=np.eye(4), object_id=-1)
        with pytest.raises(InputError, match="invertible"):
            rasterizer.add_mesh(plane_mesh(), world_from_local=np.diag([1.0, 0.0, 1.0, 1.0]))
        with pytest.raises(ShapeError):
            rasterizer.add_mesh(plane_mesh(), world_from_local=np.eye(3))
        with pytest.raises(InputError, match="no mesh named"):
            rasterizer.remove_mesh("b")
    with pytest.raises(InputError, match="closed"):
        rasterizer.render(INTRINSICS, WORLD_FROM_CAM)
    with pytest.raises(InputError, match="positive"):
        Rasterizer(0, 10)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("import OpenGL.GL", "before anything imports OpenGL"),  # PyOpenGL bound to GLX already
        ("import os; os.environ['PYOPENGL_PLATFORM'] = 'wgl'", "cannot render offscreen"),
    ],
)
def test_an_unusable_opengl_platform_gives_one_clear_error(setup, message):
    code = (
        f"{setup}\n"
        "from sceneforge.render import Rasterizer\n"
        "from sceneforge.scenegraph import DependencyError\n"
        "try:\n    Rasterizer(4, 4)\nexcept DependencyError as error:\n    print('DependencyError:', error)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYOPENGL_PLATFORM"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert "DependencyError:" in out.stdout and message in out.stdout, out.stdout + out.stderr


# ------------------------------------------------------------------ RenderPasses (no OpenGL)


def test_render_passes_validates_its_arrays():
    depth = np.ones((4, 5), np.float32)
    passes = RenderPasses(depth=depth, coverage=depth > 0)
    assert passes.passes == ("depth", "coverage") and (passes.height, passes.width) == (4, 5)
    with pytest.raises(InputError, match="at least one"):
        RenderPasses()
    with pytest.raises(ShapeError, match="coverage"):
        RenderPasses(depth=depth, coverage=np.ones((4, 6), bool))
    with pytest.raises(ShapeError, match="float32"):
        RenderPasses(rgb=np.zeros((4, 5, 3), np.uint8))
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        RenderPasses(rgb=np.full((4, 5, 3), 2.0, np.float32))
    with pytest.raises(InputError, match="≥ 0"):
        RenderPasses(depth=-depth)
    with pytest.raises(ShapeError, match="int32"):
        RenderPasses(object_id=np.zeros((4, 5), np.int64))
