"""Core camera and transform types: convention round trips and input validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sceneforge.scenegraph import (
    CameraTrack,
    FrameStatus,
    InputError,
    Intrinsics,
    ShapeError,
    SolveReport,
    SparsePoints,
    check_rigid,
    invert_rigid,
    is_rigid,
    make_transform,
    quat_wxyz_from_rotation,
    rotation_about_axis,
    rotation_angle,
    rotation_from_quat_wxyz,
    similarity_from_points,
    transform_points,
)

K = np.array([[800.0, 0.0, 330.5], [0.0, 790.0, 235.25], [0.0, 0.0, 1.0]])


def random_rigid(rng: np.random.Generator) -> np.ndarray:
    return make_transform(rotation_about_axis(rng.normal(size=3), rng.uniform(0, math.pi)), rng.normal(size=3))


def pixels_inside(rng: np.random.Generator, intrinsics: Intrinsics, count: int = 100) -> np.ndarray:
    return rng.uniform([0, 0], [intrinsics.width, intrinsics.height], (count, 2))


# --------------------------------------------------------------------------------- intrinsics


@pytest.mark.parametrize("radial", [(0.0, 0.0), (-0.08, 0.01), (0.05, -0.002)])
def test_project_unproject_round_trip(radial):
    rng = np.random.default_rng(1)
    intrinsics = Intrinsics(K=K, width=640, height=480, radial=np.array(radial))
    pixels = pixels_inside(rng, intrinsics)
    depth = rng.uniform(0.5, 30.0, len(pixels))
    points_in_cam = intrinsics.unproject(pixels, depth)
    np.testing.assert_allclose(points_in_cam[:, 2], depth)  # z-depth, not ray length
    np.testing.assert_allclose(intrinsics.project(points_in_cam), pixels, atol=1e-6)


def test_unproject_project_round_trip_from_points():
    rng = np.random.default_rng(2)
    intrinsics = Intrinsics(K=K, width=640, height=480, radial=np.array([-0.05, 0.004]))
    points = np.column_stack([rng.uniform(-1, 1, 50), rng.uniform(-0.7, 0.7, 50), rng.uniform(2, 9, 50)])
    pixels = intrinsics.project(points)
    np.testing.assert_allclose(intrinsics.unproject(pixels, points[:, 2]), points, atol=1e-8)


def test_principal_point_projects_the_optical_axis():
    intrinsics = Intrinsics(K=K, width=640, height=480)
    np.testing.assert_allclose(intrinsics.project(np.array([[0.0, 0.0, 3.0]])), [[K[0, 2], K[1, 2]]])
    # OpenCV axes: +X right (u grows), +Y down (v grows).
    u, v = intrinsics.project(np.array([[0.1, 0.2, 1.0]]))[0]
    assert u > K[0, 2] and v > K[1, 2]


def test_points_behind_the_camera_do_not_project():
    intrinsics = Intrinsics(K=K, width=640, height=480)
    assert not np.any(np.isfinite(intrinsics.project(np.array([[0.1, 0.1, -1.0], [0.0, 0.0, 0.0]]))))


def test_scaled_keeps_pixel_centre_geometry():
    """Resizing by 1/2: the centre of a 2×2 block of source pixels is the centre of one new pixel."""
    intrinsics = Intrinsics(K=K, width=640, height=480)
    half = intrinsics.scaled(0.5)
    assert (half.width, half.height) == (320, 240)
    # Source pixels (0,0)..(1,1) have centres 0.5 and 1.5; their block's centre (1, 1) is new pixel (0,0)'s centre.
    ray = intrinsics.unproject(np.array([[1.0, 1.0]]), np.array([1.0]))
    np.testing.assert_allclose(half.project(ray), [[0.5, 0.5]], atol=1e-12)
    # Image edges map to image edges, so a point's pixel scales with the image.
    rng = np.random.default_rng(3)
    points = intrinsics.unproject(pixels_inside(rng, intrinsics), rng.uniform(1, 5, 100))
    np.testing.assert_allclose(half.project(points), 0.5 * intrinsics.project(points), atol=1e-9)
    assert half.horizontal_fov_rad() == pytest.approx(intrinsics.horizontal_fov_rad())


def test_from_focal_centres_the_principal_point():
    intrinsics = Intrinsics.from_focal(focal_px=1000.0, width=1920, height=1080)
    assert (intrinsics.cx, intrinsics.cy) == (960.0, 540.0)
    assert intrinsics.horizontal_fov_rad() == pytest.approx(2 * math.atan(960 / 1000))


def test_intrinsics_dict_round_trip_and_equality():
    intrinsics = Intrinsics(K=K, width=640, height=480, radial=np.array([0.01, 0.002]))
    again = Intrinsics.from_dict(intrinsics.to_dict())
    assert again == intrinsics and hash(again) == hash(intrinsics)
    assert again != intrinsics.scaled(2.0)


@pytest.mark.parametrize(
    ("k", "error"),
    [
        (np.eye(2), ShapeError),
        (K.astype(np.int64), ShapeError),
        (K.tolist(), ShapeError),
        (np.array([[800.0, 0, 320], [5.0, 790, 240], [0, 0, 1]]), InputError),
        (np.array([[-800.0, 0, 320], [0, 790, 240], [0, 0, 1]]), InputError),
        (np.array([[800.0, 0, np.nan], [0, 790, 240], [0, 0, 1]]), InputError),
    ],
)
def test_bad_intrinsics_raise_typed_errors(k, error):
    with pytest.raises(error):
        Intrinsics(K=k, width=640, height=480)


def test_bad_image_size_and_radial():
    with pytest.raises(InputError, match="width and height"):
        Intrinsics(K=K, width=0, height=480)
    with pytest.raises(InputError, match="radial"):
        Intrinsics(K=K, width=640, height=480, radial=np.zeros(3))


def test_unproject_needs_one_depth_per_pixel():
    with pytest.raises(InputError, match="one value per pixel"):
        Intrinsics(K=K, width=640, height=480).unproject(np.zeros((3, 2)), np.ones(2))


def test_shape_error_carries_expected_and_actual():
    with pytest.raises(ShapeError) as info:
        Intrinsics(K=K, width=640, height=480).project(np.zeros((4, 2)))
    assert info.value.actual == (4, 2) and "\n" not in str(info.value)


# --------------------------------------------------------------------------------- transforms


def test_invert_rigid_and_compose():
    rng = np.random.default_rng(4)
    world_from_cam = random_rigid(rng)
    cam_from_obj = random_rigid(rng)
    cam_from_world = invert_rigid(world_from_cam)
    np.testing.assert_allclose(cam_from_world @ world_from_cam, np.eye(4), atol=1e-12)
    np.testing.assert_allclose(cam_from_world, np.linalg.inv(world_from_cam), atol=1e-12)
    world_from_obj = world_from_cam @ cam_from_obj
    points_in_obj = rng.normal(size=(10, 3))
    np.testing.assert_allclose(
        transform_points(world_from_obj, points_in_obj),
        transform_points(world_from_cam, transform_points(cam_from_obj, points_in_obj)),
        atol=1e-12,
    )
    batch = np.stack([random_rigid(rng) for _ in range(5)])
    np.testing.assert_allclose(invert_rigid(batch) @ batch, np.broadcast_to(np.eye(4), batch.shape), atol=1e-12)


def test_quaternion_round_trip():
    rng = np.random.default_rng(5)
    for _ in range(200):
        rotation = rotation_about_axis(rng.normal(size=3), rng.uniform(0, math.pi))
        quat = quat_wxyz_from_rotation(rotation)
        assert quat[0] >= 0 and np.linalg.norm(quat) == pytest.approx(1.0)
        np.testing.assert_allclose(rotation_from_quat_wxyz(quat), rotation, atol=1e-12)
    # Known value: 90° about +Z is (cos 45°, 0, 0, sin 45°).
    quat = quat_wxyz_from_rotation(rotation_about_axis(np.array([0.0, 0.0, 1.0]), math.pi / 2))
    np.testing.assert_allclose(quat, [math.sqrt(0.5), 0, 0, math.sqrt(0.5)], atol=1e-12)


def test_rotation_about_axis_and_angle():
    rotation = rotation_about_axis(np.array([0.0, 0.0, 2.0]), math.pi / 2)
    np.testing.assert_allclose(rotation @ [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], atol=1e-12)  # right-hand rule
    assert rotation_angle(rotation) == pytest.approx(math.pi / 2)


def test_similarity_from_points_recovers_a_known_similarity():
    rng = np.random.default_rng(6)
    rotation = rotation_about_axis(rng.normal(size=3), 1.1)
    translation = rng.normal(size=3)
    points_in_a = rng.normal(size=(30, 3))
    points_in_b = 2.5 * points_in_a @ rotation.T + translation
    b_from_a = similarity_from_points(points_in_a, points_in_b)
    assert b_from_a.scale == pytest.approx(2.5)
    np.testing.assert_allclose(b_from_a.rotation, rotation, atol=1e-10)
    np.testing.assert_allclose(b_from_a.translation, translation, atol=1e-10)
    np.testing.assert_allclose(b_from_a.apply_points(points_in_a), points_in_b, atol=1e-10)
    matrix = b_from_a.matrix()
    np.testing.assert_allclose(points_in_a @ matrix[:3, :3].T + matrix[:3, 3], points_in_b, atol=1e-10)
    # Poses map with the rotation composed and the centre mapped; they stay rigid.
    a_from_cam = random_rigid(rng)
    b_from_cam = b_from_a.apply_rigid(a_from_cam)
    assert is_rigid(b_from_cam)
    np.testing.assert_allclose(b_from_cam[:3, 3], b_from_a.apply_points(a_from_cam[None, :3, 3])[0], atol=1e-10)


def test_similarity_without_scale_and_too_few_points():
    rng = np.random.default_rng(7)
    points = rng.normal(size=(10, 3))
    rigid = similarity_from_points(points, points * 3.0, with_scale=False)
    assert rigid.scale == 1.0
    with pytest.raises(InputError, match="at least 3"):
        similarity_from_points(points[:2], points[:2])
    with pytest.raises(ShapeError):
        similarity_from_points(points, points[:5])


def test_check_rigid_rejects_non_rigid_and_bad_shapes():
    rng = np.random.default_rng(8)
    good = random_rigid(rng)
    assert check_rigid(good, "pose") is not None
    scaled = good.copy()
    scaled[:3, :3] *= 1.1
    mirrored = good @ np.diag([1.0, 1.0, -1.0, 1.0])
    for bad in (scaled, mirrored):
        assert not is_rigid(bad)
        with pytest.raises(InputError, match="rigid"):
            check_rigid(bad, "pose")
    with pytest.raises(ShapeError):
        check_rigid(np.eye(3), "pose")
    with pytest.raises(ShapeError):
        check_rigid(good, "poses", batched=True)


# ----------------------------------------------------------------------------- track, points


def make_track(num_frames: int = 4, **changes) -> CameraTrack:
    rng = np.random.default_rng(9)
    fields = dict(
        intrinsics=(Intrinsics(K=K, width=640, height=480),) * num_frames,
        world_from_cam=np.stack([random_rigid(rng) for _ in range(num_frames)]),
        frame_numbers=np.arange(num_frames, dtype=np.int64) * 2 + 10,
        fps=25.0,
        status=np.full(num_frames, FrameStatus.SOLVED, dtype=np.int8),
    )
    fields.update(changes)
    return CameraTrack(**fields)


def test_camera_track_basics():
    track = make_track()
    assert len(track) == 4 and track.single_camera
    np.testing.assert_allclose(track.cam_from_world() @ track.world_from_cam, np.broadcast_to(np.eye(4), (4, 4, 4)),
                               atol=1e-12)
    np.testing.assert_allclose(track.camera_centers(), track.world_from_cam[:, :3, 3])
    zoomed = track.replace(intrinsics=tuple(i.scaled(1.0 + 0.1 * n) for n, i in enumerate(track.intrinsics)))
    assert not zoomed.single_camera
    assert len(track.points) == 0


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        (dict(frame_numbers=np.array([10, 12, 12, 14])), InputError, "strictly increasing"),
        (dict(frame_numbers=np.arange(3)), ShapeError, "frame_numbers"),
        (dict(frame_numbers=np.arange(4.0)), ShapeError, "frame_numbers"),
        (dict(fps=0.0), InputError, "fps"),
        (dict(status=np.zeros(3, np.int8)), ShapeError, "status"),
        (dict(intrinsics=(Intrinsics(K=K, width=640, height=480),) * 3), InputError, "intrinsics"),
        (dict(world_from_cam=np.zeros((0, 4, 4))), InputError, "at least one frame"),
        (dict(world_from_cam=np.tile(np.diag([1.0, 1.0, 2.0, 1.0]), (4, 1, 1))), InputError, "rigid"),
        (dict(world_from_cam=np.eye(4)), ShapeError, "world_from_cam"),
    ],
)
def test_camera_track_validation(changes, error, match):
    with pytest.raises(error, match=match):
        make_track(**changes)


def test_sparse_points_validation():
    assert len(SparsePoints.empty()) == 0
    with pytest.raises(ShapeError, match="colors"):
        SparsePoints(np.zeros((3, 3)), np.zeros((3, 3)), np.zeros(3))  # colours must be uint8
    with pytest.raises(ShapeError, match="error_px"):
        SparsePoints(np.zeros((3, 3)), np.zeros((3, 3), np.uint8), np.zeros(2))
    with pytest.raises(InputError, match="finite"):
        SparsePoints(np.full((1, 3), np.inf), np.zeros((1, 3), np.uint8), np.zeros(1))


def test_solve_report_dict_round_trip():
    report = SolveReport(
        backend="b", num_frames=3, num_solved=2, num_localized=1, num_interpolated=0, mean_error_px=0.5,
        max_error_px=1.0, flags=("rotation_only",), per_frame_error_px=(0.25, math.nan, 0.75),
    )
    data = report.to_dict()
    assert data["per_frame_error_px"] == [0.25, None, 0.75]
    again = SolveReport.from_dict(data)
    assert again.flags == report.flags and math.isnan(again.per_frame_error_px[1])
    assert again.to_dict() == data
