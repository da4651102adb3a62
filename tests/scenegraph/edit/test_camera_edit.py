"""The camera handle: reads through the stage, every move checked against exact geometry, edits only in edits.usda."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pxr import Gf, Sdf, Usd, UsdGeom

from sceneforge.scenegraph import (
    CameraHandle,
    CameraTrack,
    InputError,
    Intrinsics,
    SceneFileError,
    SparsePoints,
    invert_rigid,
    make_transform,
    read_camera_track,
    rotation_about_axis,
    rotation_angle,
    transform_points,
    validate_stage,
    write_scene,
)
from sceneforge.scenegraph.edit._camera_paths import ease_weights, interpolate_path, rotation_exp, rotation_log

CAMERA = "/World/Cameras/Plate"
K = np.array([[1012.5, 0.0, 701.25], [0.0, 1030.75, 297.5], [0.0, 0.0, 1.0]])
WIDTH, HEIGHT = 1280, 720
NUMBERS = 1001 + 2 * np.arange(9, dtype=np.int64)  # a stride, so frame numbers are not indices
UP = np.array([0.0, 1.0, 0.0])


def make_track(*, with_points: bool = True) -> CameraTrack:
    """A camera tracking sideways and turning slightly, looking down world -Z at points 6 to 10 units away."""
    rng = np.random.default_rng(7)
    # OpenCV camera looking along world -Z with world +Y up: camera +X = world +X, +Y = world -Y, +Z = world -Z.
    level = np.diag([1.0, -1.0, -1.0])
    poses = [
        make_transform(rotation_about_axis(UP, 0.03 * i) @ level, np.array([0.25 * i, 1.5, 0.1 * i]))
        for i in range(len(NUMBERS))
    ]
    points = SparsePoints.empty()
    if with_points:
        xyz = np.column_stack([rng.uniform(-2, 2, 300), rng.uniform(0, 3, 300), rng.uniform(-10, -6, 300)])
        points = SparsePoints(xyz, rng.integers(0, 256, (300, 3)).astype(np.uint8), np.full(300, 0.5))
    return CameraTrack(
        intrinsics=(Intrinsics(K=K, width=WIDTH, height=HEIGHT),) * len(NUMBERS),
        world_from_cam=np.stack(poses),
        frame_numbers=NUMBERS.copy(),
        fps=24.0,
        status=np.zeros(len(NUMBERS), np.int8),
        points=points,
    )


class Recorder:
    """The Scene's recording contract in small: snapshot the edits layer, restore it if the edit raises."""

    def __init__(self, layer: Sdf.Layer) -> None:
        self.layer = layer
        self.history: list[str] = []

    @contextlib.contextmanager
    def __call__(self, description: str) -> Iterator[None]:
        snapshot = self.layer.ExportToString()
        try:
            yield
        except BaseException:
            self.layer.ImportFromString(snapshot)
            raise
        self.history.append(description)


class Shot:
    def __init__(self, folder: Path, track: CameraTrack, *, recording=None) -> None:
        self.folder, self.track = folder, track
        write_scene(folder, track)
        self.stage = Usd.Stage.Open(str(folder / "scene.usda"))
        self.edits = Sdf.Layer.Find(str(folder / "edits.usda"))
        self.stage.SetEditTarget(Usd.EditTarget(self.edits))
        self.recorder = Recorder(self.edits)
        self.camera = CameraHandle(stage=self.stage, path=CAMERA, recording=recording or self.recorder)

    def reconstruction_bytes(self) -> bytes:
        return (self.folder / "reconstruction.usda").read_bytes()


@pytest.fixture()
def shot(tmp_path: Path) -> Shot:
    return Shot(tmp_path, make_track())


def centres(poses: np.ndarray) -> np.ndarray:
    return poses[:, :3, 3]


def linear_weights() -> np.ndarray:
    return (NUMBERS - NUMBERS[0]) / (NUMBERS[-1] - NUMBERS[0])


# ---------------------------------------------------------------------------------- reads


def test_reads_go_through_to_the_stage(shot):
    cam = shot.camera
    assert cam.name == "Plate" and cam.path == CAMERA and "9 frames" in repr(cam)
    np.testing.assert_array_equal(cam.frame_numbers, NUMBERS)
    np.testing.assert_allclose(cam.world_from_cam(), shot.track.world_from_cam, rtol=0, atol=1e-12)
    np.testing.assert_allclose(cam.world_from_cam(1005), shot.track.world_from_cam[2], rtol=0, atol=1e-12)
    assert len(cam.intrinsics()) == len(NUMBERS)
    assert cam.intrinsics(1017) == Intrinsics(K=K, width=WIDTH, height=HEIGHT)
    # No cached copy: an edit made behind the handle's back shows at once.
    other = CameraHandle(stage=shot.stage, path=CAMERA, recording=lambda d: contextlib.nullcontext())
    other.crane(1.0)
    np.testing.assert_allclose(centres(cam.world_from_cam())[-1], centres(shot.track.world_from_cam)[-1] + UP)


def test_a_path_without_a_camera_is_refused(shot):
    with pytest.raises(SceneFileError, match="expected a Camera prim at /World/Points"):
        CameraHandle(stage=shot.stage, path="/World/Points", recording=shot.recorder)


def test_look_at_point_is_on_the_view_ray_at_the_median_point_depth(shot):
    world_from_cam = shot.track.world_from_cam[0]
    points_in_cam = transform_points(invert_rigid(world_from_cam), shot.track.points.points_in_world)
    uv = Intrinsics(K=K, width=WIDTH, height=HEIGHT).project(points_in_cam)
    inside = (points_in_cam[:, 2] > 0) & (uv[:, 0] >= 0) & (uv[:, 0] <= WIDTH) & (uv[:, 1] >= 0) & (uv[:, 1] <= HEIGHT)
    want = world_from_cam[:3, 3] + np.median(points_in_cam[inside, 2]) * world_from_cam[:3, 2]
    # Points are stored as float32, hence the tolerance.
    np.testing.assert_allclose(shot.camera.look_at_point(), want, atol=1e-5)


def test_look_at_point_falls_back_to_the_scene_bounds(tmp_path):
    shot = Shot(tmp_path, make_track(with_points=False))
    with pytest.raises(InputError, match="pass pivot="):
        shot.camera.look_at_point()
    cube = UsdGeom.Cube.Define(shot.stage, "/World/Box")
    cube.AddTranslateOp().Set(Gf.Vec3d(0.5, 1.0, -8.0))
    pose = shot.track.world_from_cam[0]
    depth = np.dot(np.array([0.5, 1.0, -8.0]) - pose[:3, 3], pose[:3, 2])
    np.testing.assert_allclose(shot.camera.look_at_point(), pose[:3, 3] + depth * pose[:3, 2], atol=1e-9)


# ---------------------------------------------------------------------------------- authoring paths


def test_set_world_from_cam_whole_path_and_some_frames(shot):
    cam = shot.camera
    before = shot.reconstruction_bytes()
    moved = shot.track.world_from_cam.copy()
    moved[:, :3, 3] += [1.0, 2.0, 3.0]
    cam.set_world_from_cam(moved)
    np.testing.assert_allclose(cam.world_from_cam(), moved, rtol=0, atol=1e-12)

    single = make_transform(rotation_about_axis(np.array([1.0, 2.0, 3.0]), 0.7), np.array([4.0, 5.0, 6.0]))
    cam.set_world_from_cam(single[None], frames=[1007])
    cam.set_world_from_cam(single, frames=[1009])  # a lone 4×4 for one frame
    want = moved.copy()
    want[3] = want[4] = single
    np.testing.assert_allclose(cam.world_from_cam(), want, rtol=0, atol=1e-12)

    # The complete sample set lives in edits.usda; the reconstruction never changes.
    attr = shot.edits.GetAttributeAtPath(f"{CAMERA}.xformOp:transform")
    assert sorted(attr.GetInfo("timeSamples").keys()) == [float(n) for n in NUMBERS]
    shot.edits.Save()
    assert shot.reconstruction_bytes() == before
    reopened = read_camera_track(shot.folder / "scene.usda")
    np.testing.assert_allclose(reopened.world_from_cam, want, rtol=0, atol=1e-12)
    assert shot.recorder.history == [
        "set the path of camera Plate at every frame",
        "set the path of camera Plate at 1 frame(s)",
        "set the path of camera Plate at 1 frame(s)",
    ]


def test_set_world_from_cam_under_an_edited_parent(shot):
    """A move of /World/Cameras is composed in: the camera still lands where it was asked to."""
    cameras = UsdGeom.Xformable(shot.stage.GetPrimAtPath("/World/Cameras"))
    cameras.AddTranslateOp().Set(Gf.Vec3d(3.0, 0.0, -1.0))
    cameras.AddRotateYOp().Set(20.0)
    cameras.AddScaleOp().Set(Gf.Vec3d(2.0, 2.0, 2.0))
    shot.camera.set_world_from_cam(shot.track.world_from_cam)
    np.testing.assert_allclose(shot.camera.world_from_cam(), shot.track.world_from_cam, rtol=0, atol=1e-12)


def test_extra_xform_ops_on_the_camera_are_replaced_by_one_matrix(shot):
    UsdGeom.Xformable(shot.stage.GetPrimAtPath(CAMERA)).AddTranslateOp().Set(Gf.Vec3d(9.0, 9.0, 9.0))
    shot.camera.set_world_from_cam(shot.track.world_from_cam)
    np.testing.assert_allclose(shot.camera.world_from_cam(), shot.track.world_from_cam, rtol=0, atol=1e-12)


def keyframes() -> tuple[list[int], np.ndarray]:
    frames = [1003, 1009, 1011, 1017]  # uneven spacing in time
    poses = np.stack(
        [
            make_transform(rotation_about_axis(np.array([0.2, 1.0, 0.1]), a), c)
            for a, c in zip([0.0, 0.9, 1.4, 2.6], [[0, 0, 0], [2, 1, -1], [3, 1.5, -1], [1, 0, 3]])
        ]
    )
    return frames, poses


@pytest.mark.parametrize("interpolation", ["smooth", "linear"])
def test_keyframes_pass_through_the_keys_and_hold_outside(shot, interpolation):
    frames, poses = keyframes()
    shot.camera.set_keyframes(frames[::-1], poses[::-1], interpolation=interpolation)  # any order
    path = shot.camera.world_from_cam()
    for frame, pose in zip(frames, poses):
        np.testing.assert_allclose(path[np.searchsorted(NUMBERS, frame)], pose, rtol=0, atol=1e-12)
    np.testing.assert_allclose(path[0], poses[0], atol=1e-12)  # 1001 is before the first key: held
    want = interpolate_path(np.array(frames, float), poses, NUMBERS.astype(float), interpolation=interpolation)
    np.testing.assert_allclose(path, want, rtol=0, atol=1e-12)
    assert shot.recorder.history == [f"set 4 {interpolation} keyframe(s) on camera Plate"]


def test_linear_keyframes_are_lerp_and_slerp():
    frames, poses = keyframes()
    t = np.array([1003 + 0.25 * 6])
    got = interpolate_path(np.array(frames, float), poses, t, interpolation="linear")[0]
    np.testing.assert_allclose(got[:3, 3], 0.75 * poses[0, :3, 3] + 0.25 * poses[1, :3, 3], atol=1e-12)
    relative = poses[0, :3, :3].T @ got[:3, :3]
    full = rotation_log(poses[0, :3, :3].T @ poses[1, :3, :3])
    np.testing.assert_allclose(rotation_log(relative), 0.25 * full, atol=1e-12)


def derivatives(times: np.ndarray, poses: np.ndarray, at: float, eps: float, interpolation: str):
    """One-sided (left, right) velocity and body angular velocity of the interpolated path at ``at``."""
    sample = interpolate_path(times, poses, np.array([at - eps, at, at + eps]), interpolation=interpolation)
    left_v, right_v = (sample[1, :3, 3] - sample[0, :3, 3]) / eps, (sample[2, :3, 3] - sample[1, :3, 3]) / eps
    left_w = rotation_log(sample[0, :3, :3].T @ sample[1, :3, :3]) / eps
    right_w = rotation_log(sample[1, :3, :3].T @ sample[2, :3, :3]) / eps
    return left_v, right_v, left_w, right_w


def test_smooth_keyframes_are_c1_and_linear_ones_are_not():
    frames, poses = keyframes()
    times = np.array(frames, float)
    for key in times[1:-1]:
        left_v, right_v, left_w, right_w = derivatives(times, poses, key, 1e-6, "smooth")
        np.testing.assert_allclose(left_v, right_v, atol=1e-4)
        np.testing.assert_allclose(left_w, right_w, atol=1e-4)
        assert np.linalg.norm(right_w) > 0.05  # the keys are passed through in motion, not at rest
        left_v, right_v, left_w, right_w = derivatives(times, poses, key, 1e-6, "linear")
        assert np.linalg.norm(left_v - right_v) > 0.05 and np.linalg.norm(left_w - right_w) > 0.01
    # Start and end at rest, so the holds outside the keys join smoothly.
    for key in (times[0], times[-1]):
        left_v, right_v, left_w, right_w = derivatives(times, poses, key, 1e-6, "smooth")
        assert max(np.abs(left_v).max(), np.abs(right_v).max(), np.abs(left_w).max(), np.abs(right_w).max()) < 1e-4


def test_rotation_exp_and_log_round_trip_near_zero_and_pi():
    for angle in (0.0, 1e-9, 1e-3, 1.0, math.pi - 1e-7, math.pi):
        phi = angle * np.array([0.6, -0.8, 0.0])
        rotation = rotation_exp(phi)
        np.testing.assert_allclose(rotation, rotation_about_axis(np.array([0.6, -0.8, 0.0]), angle), atol=1e-12)
        back = rotation_log(rotation)
        np.testing.assert_allclose(rotation_exp(back), rotation, atol=1e-12)
    np.testing.assert_allclose(ease_weights(np.array([0.0, 1.0, 2.0, 3.0]), 1.0, 3.0, "smooth"), [0, 0, 0.5, 1])
    np.testing.assert_allclose(ease_weights(np.array([4.0, 5.0]), 5.0, 5.0), [0, 1])


# ---------------------------------------------------------------------------------- moves


def test_orbit_keeps_the_distance_and_sweeps_exactly(shot):
    pivot = shot.camera.look_at_point()
    shot.camera.orbit(degrees=40)
    before, after = shot.track.world_from_cam, shot.camera.world_from_cam()
    np.testing.assert_allclose(
        np.linalg.norm(centres(after) - pivot, axis=1), np.linalg.norm(centres(before) - pivot, axis=1), atol=1e-9
    )
    for i, w in enumerate(linear_weights()):
        turn = rotation_about_axis(UP, math.radians(40) * w)
        np.testing.assert_allclose(after[i, :3, :3], turn @ before[i, :3, :3], atol=1e-12)
        np.testing.assert_allclose(centres(after)[i] - pivot, turn @ (centres(before)[i] - pivot), atol=1e-9)
    assert rotation_angle(after[-1, :3, :3] @ before[-1, :3, :3].T) == pytest.approx(math.radians(40), abs=1e-12)
    # What the camera saw at the pivot stays where it was in the image.
    intrinsics = shot.camera.intrinsics(1001)
    for b, a in zip(before, after):
        np.testing.assert_allclose(
            intrinsics.project(transform_points(invert_rigid(a), pivot[None])),
            intrinsics.project(transform_points(invert_rigid(b), pivot[None])),
            atol=1e-6,
        )
    assert shot.recorder.history[0].startswith("orbit camera Plate by 40° about (0, 1, 0) through (")


def test_orbit_about_a_given_pivot_and_axis_over_a_range(shot):
    pivot, axis = np.array([1.0, 0.0, -5.0]), np.array([0.0, 0.0, 2.0])
    shot.camera.orbit(-90, pivot=pivot, axis=axis, frames=(1005, 1013), ease="smooth")
    before, after = shot.track.world_from_cam, shot.camera.world_from_cam()
    weights = ease_weights(NUMBERS.astype(float), 1005, 1013, "smooth")
    np.testing.assert_allclose(after[:2], before[:2], atol=1e-12)  # before the range: untouched
    for i, w in enumerate(weights):
        turn = rotation_about_axis(np.array([0.0, 0.0, 1.0]), math.radians(-90) * w)
        np.testing.assert_allclose(centres(after)[i] - pivot, turn @ (centres(before)[i] - pivot), atol=1e-9)
    assert weights[-1] == weights[-2] == 1.0  # after the range: the full move, held


@pytest.mark.parametrize("method", ["dolly", "push_in"])
def test_dolly_moves_the_centre_along_the_view_axis(shot, method):
    getattr(shot.camera, method)(2.5)
    before, after = shot.track.world_from_cam, shot.camera.world_from_cam()
    np.testing.assert_allclose(after[:, :3, :3], before[:, :3, :3], atol=1e-12)
    expected = centres(before) + 2.5 * linear_weights()[:, None] * before[:, :3, 2]
    np.testing.assert_allclose(centres(after), expected, atol=1e-12)
    assert np.linalg.norm(centres(after)[-1] - centres(before)[-1]) == pytest.approx(2.5, abs=1e-12)


@pytest.mark.parametrize(
    ("method", "axis_in_cam", "turned"), [("pan", [0, 1, 0], (0, +1)), ("tilt", [1, 0, 0], (1, -1))]
)
def test_pan_and_tilt_turn_about_the_cameras_own_axes(shot, method, axis_in_cam, turned):
    getattr(shot.camera, method)(12)
    before, after = shot.track.world_from_cam, shot.camera.world_from_cam()
    np.testing.assert_allclose(centres(after), centres(before), atol=1e-12)
    for i, w in enumerate(linear_weights()):
        relative = before[i, :3, :3].T @ after[i, :3, :3]
        want = rotation_about_axis(np.array(axis_in_cam, float), math.radians(12) * w)
        np.testing.assert_allclose(relative, want, atol=1e-12)
    # Pan right: the new view direction leans to the old camera's +X; tilt up: to its -Y (image up).
    view_in_old_cam = before[-1, :3, :3].T @ after[-1, :3, 2]
    component, sign = turned
    assert sign * view_in_old_cam[component] == pytest.approx(math.sin(math.radians(12)), abs=1e-12)


def test_crane_raises_along_world_up(shot):
    shot.camera.crane(-0.75, frames=(1001, 1009))
    before, after = shot.track.world_from_cam, shot.camera.world_from_cam()
    weights = ease_weights(NUMBERS.astype(float), 1001, 1009, "linear")
    np.testing.assert_allclose(centres(after), centres(before) - 0.75 * weights[:, None] * UP, atol=1e-12)
    np.testing.assert_allclose(after[:, :3, :3], before[:, :3, :3], atol=1e-12)


def test_zoom_scales_the_focal_length_and_keeps_k_exact(shot):
    before = shot.reconstruction_bytes()
    shot.camera.zoom(1.8)
    track = read_camera_track(shot.stage)
    for intrinsics, w in zip(track.intrinsics, linear_weights()):
        want = K.copy()
        want[0, 0] *= 1.8**w
        want[1, 1] *= 1.8**w
        np.testing.assert_allclose(intrinsics.K, want, rtol=1e-14, atol=0)
    assert track.intrinsics[-1].fx == K[0, 0] * 1.8  # exact at the end: sceneforge:K is trusted
    assert track.intrinsics[-1].cx == K[0, 2] and track.intrinsics[-1].cy == K[1, 2]
    camera = UsdGeom.Camera(shot.stage.GetPrimAtPath(CAMERA))
    focal = camera.GetFocalLengthAttr()
    assert focal.GetNumTimeSamples() == len(NUMBERS)
    assert focal.Get(1017) == pytest.approx(1.8 * focal.Get(1001), rel=1e-6)
    # Zooms compose, and the poses are untouched.
    shot.camera.zoom(0.5, frames=(1015, 1017))
    assert shot.camera.intrinsics(1017).fx == pytest.approx(K[0, 0] * 0.9, rel=1e-14)
    assert shot.camera.intrinsics(1013).fx == pytest.approx(K[0, 0] * 1.8 ** 0.75, rel=1e-14)
    np.testing.assert_allclose(shot.camera.world_from_cam(), shot.track.world_from_cam, atol=1e-12)
    shot.edits.Save()
    assert shot.reconstruction_bytes() == before


def test_ken_burns_starts_every_frame_at_one_pose(shot):
    base = shot.track.world_from_cam[4]
    distance = np.linalg.norm(shot.camera.look_at_point(1009) - base[:3, 3])
    shot.camera.ken_burns(1009, num_frames=5, pan_deg=6)
    after = shot.camera.world_from_cam()
    np.testing.assert_allclose(after[0], base, atol=1e-12)
    weights = np.clip((NUMBERS - 1001) / 8.0, 0, 1)  # the move takes frames 1001..1009
    want = base[:3, 3] + 0.1 * distance * weights[:, None] * base[:3, 2]
    np.testing.assert_allclose(centres(after), want, atol=1e-12)
    for pose, w in zip(after, weights):
        relative = base[:3, :3].T @ pose[:3, :3]
        want = rotation_about_axis(np.array([0.0, 1.0, 0.0]), math.radians(6) * w)
        np.testing.assert_allclose(relative, want, atol=1e-12)
    # It starts from the frame's pose as it is now (the edit above included).
    first = shot.camera.world_from_cam(1001)
    shot.camera.ken_burns(1001, push_in=1.0)
    after = shot.camera.world_from_cam()
    np.testing.assert_allclose(centres(after)[-1], first[:3, 3] + first[:3, 2], atol=1e-12)


def test_moves_compose_and_the_stage_validates(shot):
    before = shot.reconstruction_bytes()
    cam = shot.camera
    cam.dolly(1.0)
    cam.orbit(15)
    cam.pan(-5, ease="smooth")
    cam.tilt(3)
    cam.crane(0.2)
    cam.zoom(1.25)
    frames, poses = keyframes()
    cam.set_keyframes(frames, poses)
    cam.ken_burns(1005, push_in=0.5, pan_deg=2)
    assert len(shot.recorder.history) == 8
    result = validate_stage(shot.stage)
    assert result.errors == ()
    shot.edits.Save()
    assert shot.reconstruction_bytes() == before
    assert validate_stage(shot.folder / "scene.usda").errors == ()
    read_camera_track(shot.folder / "scene.usda")  # rigid, readable


def test_reset_drops_the_cameras_opinions(shot):
    cam = shot.camera
    cam.orbit(30)
    cam.zoom(2.0)
    UsdGeom.Cube.Define(shot.stage, "/World/Other")  # someone else's edit under /World stays
    cam.reset()
    assert shot.edits.GetPrimAtPath("/World/Cameras") is None
    assert shot.edits.GetPrimAtPath("/World/Other") is not None
    np.testing.assert_allclose(cam.world_from_cam(), shot.track.world_from_cam, atol=1e-12)
    assert cam.intrinsics(1017) == Intrinsics(K=K, width=WIDTH, height=HEIGHT)
    assert shot.recorder.history[-1] == "reset camera Plate"
    shot.stage.RemovePrim("/World/Other")
    cam.orbit(10)
    cam.reset()
    assert len(shot.edits.rootPrims) == 0  # empty parent overs go too
    cam.reset()  # nothing to drop: no edit, no history entry
    assert len(shot.recorder.history) == 5


# ---------------------------------------------------------------------------------- bad input


IDENTITY = np.eye(4)
SHEAR = np.eye(4)
SHEAR[0, 1] = 0.3
NAN = np.eye(4)
NAN[0, 3] = np.nan
BAD = [
    ("orbit", (math.nan,), {}, "degrees must be finite"),
    ("orbit", (10,), {"pivot": (0, 0)}, "pivot must be 3 numbers"),
    ("orbit", (10,), {"axis": (0, 0, 0)}, "axis must be a non-zero 3-vector"),
    ("orbit", (10,), {"axis": "sideways"}, "axis must be 'up'"),
    ("orbit", (10,), {"frames": (1009, 1001)}, "start <= end"),
    ("orbit", (10,), {"frames": (1001, 1002)}, "frames end must be one of the shot's source frame numbers"),
    ("dolly", (math.inf,), {}, "distance must be finite"),
    ("push_in", ("far",), {}, "distance must be a number"),
    ("pan", (True,), {}, "degrees must be a number"),
    ("tilt", (5,), {"ease": "bouncy"}, "ease must be one of linear, smooth"),
    ("crane", (1.0,), {"frames": 1001}, r"frames must be \(start, end\)"),
    ("zoom", (0.0,), {}, "factor must be positive"),
    ("zoom", (-2.0,), {}, "factor must be positive"),
    ("ken_burns", (1000,), {}, r"frame must be one of the shot's source frame numbers \(1001..1017 step 2\), got 1000"),
    ("ken_burns", (1001,), {"num_frames": 10}, "num_frames must be between 1 and the shot's 9 frames"),
    ("ken_burns", (1001,), {"pan_deg": math.nan}, "pan_deg must be finite"),
    ("set_world_from_cam", (np.stack([IDENTITY] * 8),), {}, "must have shape 9×4×4"),
    ("set_world_from_cam", (np.stack([NAN] * 9),), {}, "must be finite"),
    ("set_world_from_cam", (np.stack([SHEAR] * 9),), {}, "must be rigid"),
    ("set_world_from_cam", (IDENTITY,), {"frames": [1004]}, "got 1004"),
    ("set_world_from_cam", (np.stack([IDENTITY] * 2),), {"frames": [1003, 1003]}, "must not repeat a frame"),
    ("set_world_from_cam", (IDENTITY,), {"frames": [1003.5]}, "whole source frame number"),
    ("set_keyframes", ([1001, 1017], np.stack([IDENTITY] * 2)), {"interpolation": "cubic"}, "interpolation must be"),
    ("set_keyframes", ([], np.zeros((0, 4, 4))), {}, "at least one keyframe"),
    ("set_keyframes", ([1001, 1017], np.stack([IDENTITY, SHEAR])), {}, "must be rigid"),
    ("world_from_cam", (999,), {}, "frame must be one of"),
    ("intrinsics", ("1001",), {}, "frame must be a source frame number"),
]


@pytest.mark.parametrize(("method", "args", "kwargs", "message"), BAD, ids=[f"{b[0]}-{b[3][:24]}" for b in BAD])
def test_bad_input_is_a_one_line_input_error_and_changes_nothing(tmp_path, method, args, kwargs, message):
    # No recorder to fall back on: validation must come before any authoring.
    shot = Shot(tmp_path, make_track(), recording=lambda d: contextlib.nullcontext())
    shot.camera.crane(0.1)  # an existing edit, which must survive untouched
    text = shot.edits.ExportToString()
    with pytest.raises(InputError, match=message) as info:
        getattr(shot.camera, method)(*args, **kwargs)
    assert "\n" not in str(info.value)
    assert shot.edits.ExportToString() == text


def test_a_failed_edit_inside_the_recording_is_rolled_back(shot, monkeypatch):
    shot.camera.dolly(1.0)
    text = shot.edits.ExportToString()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(CameraHandle, "_author_samples", broken)
    with pytest.raises(RuntimeError):
        shot.camera.orbit(20)
    assert shot.edits.ExportToString() == text
    assert shot.recorder.history == ["dolly camera Plate by 1"]
