"""frame_surface: one frame's exact depth becomes a mesh on the true surface, cut at occlusion edges."""

from __future__ import annotations

import numpy as np
import pytest

from sceneforge.reconstruct import frame_surface
from sceneforge.scenegraph import (
    CameraTrack,
    DepthMap,
    DepthMaps,
    Frames,
    InputError,
    Intrinsics,
    ShapeError,
    invert_rigid,
    transform_points,
)

WIDTH, HEIGHT = 320, 180


# ------------------------------------------------------------------ demo-room helpers (shared with test_fusion)


def demo_views(demo, num_frames: int, *, width: int = WIDTH, height: int = HEIGHT):
    """Exact renders of ``num_frames`` cameras spread over the demo path.

    Returns (frames, track, depths (DepthMaps keyed by source frame number), instances N×H×W int32).
    """
    k, poses = demo.demo_cameras(demo.NUM_FRAMES, width, height)
    picks = np.linspace(0, demo.NUM_FRAMES - 1, num_frames).round().astype(np.int64)
    images, depths, instances = [], [], []
    for n, i in enumerate(picks):
        rgb, depth, instance = demo.render_frame(poses[i], k, width, height, supersample=1)
        images.append(rgb)
        instances.append(instance)
        depths.append(DepthMap(depth=depth, confidence=(depth > 0).astype(np.float32), frame_number=int(i)))
    intrinsics = Intrinsics(K=k, width=width, height=height)
    frames = Frames(images=np.stack(images), fps=float(demo.FPS), frame_numbers=picks)
    track = CameraTrack(
        intrinsics=(intrinsics,) * num_frames,
        world_from_cam=np.stack([poses[i] for i in picks]),
        frame_numbers=picks,
        fps=float(demo.FPS),
        status=np.zeros(num_frames, dtype=np.int8),
    )
    return frames, track, DepthMaps(depths), np.stack(instances)


def _box_sdf(points: np.ndarray, obj: dict, demo) -> np.ndarray:
    rotation = demo._rot_y(obj["yaw_deg"])  # world_from_box rotation
    q = np.abs((points - np.asarray(obj["center_m"])) @ rotation) - 0.5 * np.asarray(obj["size_m"])
    return np.linalg.norm(np.maximum(q, 0.0), axis=1) + np.minimum(q.max(axis=1), 0.0)


def object_sdf(points: np.ndarray, obj: dict, demo) -> np.ndarray:
    """Signed distance (m) from world points to one of the demo's analytic objects."""
    centre = np.asarray(obj["center_m"], dtype=np.float64)
    if obj["kind"] == "box":
        return _box_sdf(points, obj, demo)
    if obj["kind"] == "sphere":
        return np.linalg.norm(points - centre, axis=1) - obj["radius_m"]
    q = points - centre
    radial = np.linalg.norm(q[:, [0, 2]], axis=1) - obj["radius_m"]
    axial = np.abs(q[:, 1]) - obj["height_m"] / 2.0
    both = np.column_stack([radial, axial])
    return np.linalg.norm(np.maximum(both, 0.0), axis=1) + np.minimum(both.max(axis=1), 0.0)


def demo_distance(points: np.ndarray, demo) -> np.ndarray:
    """Unsigned distance (m) from N×3 world points to the nearest surface of the demo room:
    the six walls of the room box, the two boxes, the sphere and the capped cylinder."""
    p = np.asarray(points, dtype=np.float64)
    low, high = np.asarray(demo.ROOM_MIN), np.asarray(demo.ROOM_MAX)
    inside = np.minimum(p - low, high - p)
    outside = np.linalg.norm(np.maximum(np.maximum(low - p, p - high), 0.0), axis=1)
    distance = np.where(np.all(inside >= 0, axis=1), inside.min(axis=1), outside)
    for obj in demo.OBJECTS:
        distance = np.minimum(distance, np.abs(object_sdf(p, obj, demo)))
    return distance


def pixel_of(track_or_pose, intrinsics: Intrinsics, points_in_world: np.ndarray) -> np.ndarray:
    """N×2 pixels (u right, v down) of world points in a camera."""
    cam_from_world = invert_rigid(track_or_pose)
    return intrinsics.project(transform_points(cam_from_world, points_in_world))


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def view(demo_module):
    frames, track, depths, instances = demo_views(demo_module, 2)
    return frames.images[0], depths[track.frame_numbers[0]], track.intrinsics[0], track.world_from_cam[0], instances[0]


# ------------------------------------------------------------------ geometry


def test_vertices_lie_on_the_true_surface(view, demo_module):
    image, depth, intrinsics, pose, _ = view
    mesh = frame_surface(depth, image, intrinsics, pose)
    assert mesh.num_faces > 0.9 * 2 * (WIDTH - 1) * (HEIGHT - 1)
    assert demo_distance(mesh.vertices, demo_module).max() < 1e-5
    assert mesh.vertices.dtype == np.float64 and mesh.faces.dtype == np.int32


def test_no_triangle_spans_a_depth_discontinuity(view, demo_module):
    image, depth, intrinsics, pose, _ = view

    def centroid_off_px(mesh):
        """Distance of each triangle's centroid from the true surface, in pixel footprints."""
        centroids = mesh.vertices[mesh.faces].mean(axis=1)
        z = transform_points(invert_rigid(pose), centroids)[:, 2]
        return demo_distance(centroids, demo_module) / (z / intrinsics.fx)

    # A triangle on the surface has its centroid on it, up to the folds of room corners and
    # the one-pixel steps the 5% jump allows at silhouettes: less than a pixel's footprint.
    mesh = frame_surface(depth, image, intrinsics, pose)
    assert centroid_off_px(mesh).max() < 1.0
    # Without the cut, rubber sheets span from the objects to the walls behind them.
    sheets = frame_surface(depth, image, intrinsics, pose, max_depth_jump=1e6)
    assert centroid_off_px(sheets).max() > 10.0


def test_faces_are_counter_clockwise_seen_from_the_camera(view):
    image, depth, intrinsics, pose, _ = view
    mesh = frame_surface(depth, image, intrinsics, pose)
    tri = mesh.vertices[mesh.faces]
    face_normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    towards_camera = pose[:3, 3] - tri.mean(axis=1)
    assert np.all(np.einsum("ij,ij->i", face_normals, towards_camera) > 0)
    assert np.all(np.einsum("ij,ij->i", mesh.normals.astype(np.float64), pose[:3, 3] - mesh.vertices) > 0)
    np.testing.assert_allclose(np.linalg.norm(mesh.normals, axis=1), 1.0, atol=1e-5)


def test_mask_is_respected(view):
    image, depth, intrinsics, pose, instance = view
    crate = instance == 2
    assert crate.sum() > 500
    mesh = frame_surface(depth, image, intrinsics, pose, mask=crate)
    assert mesh.num_faces > 0
    pixels = np.floor(pixel_of(pose, intrinsics, mesh.vertices)).astype(int)
    assert np.all(crate[pixels[:, 1], pixels[:, 0]])
    # Every vertex is used by a face.
    assert np.array_equal(np.unique(mesh.faces), np.arange(mesh.num_vertices))


def test_uv_maps_each_vertex_to_its_own_pixel_colour(view):
    image, depth, intrinsics, pose, _ = view
    mesh = frame_surface(depth, image, intrinsics, pose, step=3)
    assert mesh.texture is image and mesh.uv.dtype == np.float32
    # v is up: texture row 0 (the top of the frame) is v = 1.
    col = np.floor(mesh.uv[:, 0] * WIDTH).astype(int)
    row = np.floor((1.0 - mesh.uv[:, 1]) * HEIGHT).astype(int)
    pixels = np.floor(pixel_of(pose, intrinsics, mesh.vertices)).astype(int)
    np.testing.assert_array_equal(col, pixels[:, 0])
    np.testing.assert_array_equal(row, pixels[:, 1])
    np.testing.assert_array_equal(mesh.texture[row, col], image[pixels[:, 1], pixels[:, 0]])


def test_step_thins_the_grid(view, demo_module):
    image, depth, intrinsics, pose, _ = view
    full = frame_surface(depth, image, intrinsics, pose)
    half = frame_surface(depth, image, intrinsics, pose, step=2)
    assert 0.2 < half.num_faces / full.num_faces < 0.3
    assert demo_distance(half.vertices, demo_module).max() < 1e-5


def test_distortion_and_a_smaller_depth_map(view):
    """A depth map at half the image size and a lens with radial distortion: each vertex still
    projects (distortion applied) to its depth pixel's centre, and its uv to the same place
    of the full-size image."""
    image, _, _, _, _ = view
    k = np.array([[150.0, 0.0, 81.0], [0.0, 150.0, 44.0], [0.0, 0.0, 1.0]])
    half = Intrinsics(K=k, width=WIDTH // 2, height=HEIGHT // 2, radial=np.array([-0.08, 0.01]))
    full = Intrinsics(K=np.diag([2.0, 2.0, 1.0]) @ k, width=WIDTH, height=HEIGHT, radial=half.radial)
    rng = np.random.default_rng(1)
    z = rng.uniform(2.0, 2.1, (HEIGHT // 2, WIDTH // 2)).astype(np.float32)
    depth = DepthMap(depth=z, confidence=np.ones_like(z), frame_number=0)
    pose = np.eye(4)
    pose[:3, 3] = [0.5, 1.0, -2.0]
    mesh = frame_surface(depth, image, full, pose)  # intrinsics of the image, scaled to the depth map
    cam = transform_points(invert_rigid(pose), mesh.vertices)
    projected = half.project(cam)
    np.testing.assert_allclose(projected - 0.5, np.round(projected - 0.5), atol=1e-6)
    uv_pixels = np.column_stack([mesh.uv[:, 0] * WIDTH, (1.0 - mesh.uv[:, 1]) * HEIGHT])
    np.testing.assert_allclose(uv_pixels, full.project(cam), atol=1e-3)


def test_no_depth_gives_an_empty_mesh(view):
    image, depth, intrinsics, pose, _ = view
    empty = DepthMap(depth=np.zeros_like(depth.depth), confidence=np.zeros_like(depth.depth), frame_number=0)
    mesh = frame_surface(empty, image, intrinsics, pose)
    assert mesh.num_faces == 0 and mesh.num_vertices == 0


# ------------------------------------------------------------------ bad input


def test_bad_input_raises_typed_errors(view):
    image, depth, intrinsics, pose, _ = view
    with pytest.raises(ShapeError, match="uint8"):
        frame_surface(depth, image.astype(np.float32), intrinsics, pose)
    with pytest.raises(ShapeError, match="mask"):
        frame_surface(depth, image, intrinsics, pose, mask=np.ones((10, 10), dtype=bool))
    with pytest.raises(InputError, match="max_depth_jump"):
        frame_surface(depth, image, intrinsics, pose, max_depth_jump=0.0)
    with pytest.raises(InputError, match="step"):
        frame_surface(depth, image, intrinsics, pose, step=0)
    with pytest.raises(InputError, match="rigid"):
        frame_surface(depth, image, intrinsics, pose * 2.0)
    with pytest.raises(InputError, match="DepthMap"):
        frame_surface(depth.depth, image, intrinsics, pose)
    with pytest.raises(InputError, match="aspect"):
        frame_surface(depth, image[:, :200], intrinsics, pose)
