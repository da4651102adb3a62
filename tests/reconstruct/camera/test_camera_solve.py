"""Camera solving: synthetic shots with exact truth, hard shots, and the pieces of the solver."""

from __future__ import annotations

import numpy as np
import pytest

from sceneforge.reconstruct import (
    ColmapSolverConfig,
    FrameMotion,
    align_world,
    interpolate_poses,
    read_frames,
    select_keyframes,
)
from sceneforge.scenegraph import (
    FrameStatus,
    Frames,
    InputError,
    Intrinsics,
    make_transform,
    rotation_about_axis,
    rotation_angle,
)
from tests.reconstruct._synthetic import flat_clip, pan_clip, plane_dolly_clip, still_clip


def test_pan_falls_back_to_rotation_only():
    frames, k, cam_from_ref = pan_clip()
    track = ColmapSolverConfig().build().solve(frames)
    assert "rotation_only" in track.report.flags
    assert len(track) == len(frames)
    assert track.intrinsics[0].fx == pytest.approx(k[0, 0], rel=0.05)
    np.testing.assert_allclose(track.camera_centers(), 0.0, atol=1e-12)
    # relative rotations between frames match the truth
    true_first_from_i = cam_from_ref[0] @ np.swapaxes(cam_from_ref, 1, 2)
    est_first_from_i = track.world_from_cam[0, :3, :3].T @ track.world_from_cam[:, :3, :3]
    errors = np.degrees(rotation_angle(np.swapaxes(true_first_from_i, 1, 2) @ est_first_from_i))
    assert errors.max() < 0.5


def test_pan_that_colmap_solves_degenerately_is_still_a_pan():
    # at this size the mapper registers every frame of the pan with made-up positions
    frames, k, _ = pan_clip(n=16, width=640, height=360, focal_px=500.0)
    track = ColmapSolverConfig().build().solve(frames)
    assert "rotation_only" in track.report.flags
    assert track.intrinsics[0].fx == pytest.approx(500.0, rel=0.03)


def test_moving_camera_before_a_wall_is_not_a_pan():
    track = ColmapSolverConfig().build().solve(plane_dolly_clip())
    assert "rotation_only" not in track.report.flags
    assert np.ptp(track.camera_centers(), axis=0).max() > 0


def test_pan_with_known_focal_uses_it():
    frames, k, _ = pan_clip(n=12)
    track = ColmapSolverConfig(focal_px=k[0, 0]).build().solve(frames)
    assert track.intrinsics[0].fx == pytest.approx(k[0, 0])


def test_a_clip_whose_keyframes_do_not_register_still_gives_a_flagged_camera(caplog):
    """Readable frames always give a camera: here a textureless clip, solved as a pan through
    its homographies, flagged and said in one warning."""
    frames = flat_clip()
    with caplog.at_level("WARNING"):
        track = ColmapSolverConfig().build().solve(frames)
    assert len(track) == len(frames)
    assert {"rotation_only", "solve_fallback"} <= set(track.report.flags)
    (message,) = [m for m in track.report.messages if "fell back" in m]
    assert "too little texture" in message and "\n" not in message
    assert any("fell back" in r.getMessage() for r in caplog.records)


def test_still_camera_is_flagged():
    track = ColmapSolverConfig().build().solve(still_clip())
    assert track.report.flags == ("static_camera",)
    np.testing.assert_allclose(track.world_from_cam, np.tile(np.eye(4), (len(track), 1, 1)))


def test_mask_of_wrong_size_is_refused():
    frames = still_clip(n=3)
    config = ColmapSolverConfig(ignore_masks=np.zeros((10, 10), dtype=bool))
    with pytest.raises(InputError, match="ignore masks"):
        config.build().solve(frames)


def test_bad_options_are_refused():
    with pytest.raises(InputError, match="lens"):
        ColmapSolverConfig(lens="fisheye")
    with pytest.raises(InputError, match="mapper"):
        ColmapSolverConfig(mapper="magic")
    with pytest.raises(InputError, match="focal"):
        ColmapSolverConfig(focal_px=-3.0)


def test_known_intrinsics_must_match_frames():
    frames, k, _ = pan_clip(n=6)
    wrong = Intrinsics(K=k, width=640, height=480)
    with pytest.raises(InputError, match="640×480"):
        ColmapSolverConfig(intrinsics=wrong, solve_all_below=100).build()._known_camera_params(frames)


def test_interpolate_poses_slerps_between_neighbours():
    poses = np.tile(np.eye(4), (5, 1, 1))
    poses[4] = make_transform(rotation_about_axis(np.array([0, 1.0, 0]), np.radians(40)), [4.0, 0, 0])
    filled = interpolate_poses(poses, np.array([0, 4]))
    np.testing.assert_allclose(filled[2, :3, 3], [2.0, 0, 0])
    assert np.degrees(rotation_angle(filled[2, :3, :3])) == pytest.approx(20.0)
    np.testing.assert_allclose(filled[0], poses[0])


def test_interpolate_poses_holds_the_ends():
    poses = np.tile(np.eye(4), (4, 1, 1))
    poses[1, :3, 3] = [1, 2, 3]
    poses[2, :3, 3] = [2, 2, 3]
    filled = interpolate_poses(poses, np.array([1, 2]))
    np.testing.assert_allclose(filled[0], poses[1])
    np.testing.assert_allclose(filled[3], poses[2])


def test_select_keyframes_by_accumulated_motion():
    n = 20
    motion = FrameMotion(
        median_flow_px=np.full(n - 1, 10.0),
        num_detected=np.full(n - 1, 300),
        num_tracked=np.full(n - 1, 300),
        homography_inlier_ratio=np.ones(n - 1),
        next_from_this=np.tile(np.eye(3), (n - 1, 1, 1)),
    )
    keys = select_keyframes(motion, min_flow_px=30.0, max_gap=100)
    np.testing.assert_array_equal(keys, [0, 3, 6, 9, 12, 15, 18, 19])
    keys = select_keyframes(motion, min_flow_px=1e9, max_gap=4)
    np.testing.assert_array_equal(keys, [0, 4, 8, 12, 16, 19])


def test_select_keyframes_on_lost_tracking():
    n = 10
    tracked = np.full(n - 1, 300)
    tracked[4] = 5  # a cut between frames 4 and 5
    motion = FrameMotion(np.zeros(n - 1), np.full(n - 1, 300), tracked, np.ones(n - 1), np.tile(np.eye(3), (n - 1, 1, 1)))
    keys = select_keyframes(motion, min_flow_px=1e9, max_gap=100)
    assert 5 in keys


def test_align_world_levels_a_tilted_floor():
    rng = np.random.default_rng(0)
    tilt = rotation_about_axis(np.array([1.0, 0, 0]), np.radians(30)) @ rotation_about_axis(np.array([0, 0, 1.0]), np.radians(-20))
    floor = np.column_stack([rng.uniform(-3, 3, 400), np.zeros(400), rng.uniform(-3, 3, 400)])
    boxes = np.column_stack([rng.uniform(-1, 1, 100), rng.uniform(0.1, 1, 100), rng.uniform(-1, 1, 100)])
    points_level = np.concatenate([floor, boxes]) + [0.5, 0, 0.2]
    # level cameras 1.5 above the floor looking along +X (OpenCV axes: +Y down)
    cam_axes = np.column_stack([[0, 0, 1.0], [0, -1.0, 0], [1.0, 0, 0]])
    poses_level = np.stack([make_transform(cam_axes, [-4.0, 1.5, z]) for z in np.linspace(-1, 1, 5)])
    points = points_level @ tilt.T
    poses = poses_level.copy()
    poses[:, :3, :3] = tilt @ poses_level[:, :3, :3]
    poses[:, :3, 3] = poses_level[:, :3, 3] @ tilt.T
    aligned_from_world = align_world(poses, points)
    aligned_points = aligned_from_world.apply_points(points)
    aligned_poses = aligned_from_world.apply_rigid(poses)
    # the floor is y = 0, cameras stand above it, looking along -Z
    assert np.abs(aligned_points[:400, 1]).max() < 1e-6
    np.testing.assert_allclose(aligned_poses[:, 1, 3], 1.5, atol=1e-6)
    mean_forward = aligned_poses[:, :3, 2].mean(axis=0)
    np.testing.assert_allclose(mean_forward / np.linalg.norm(mean_forward), [0, 0, -1.0], atol=1e-6)
    assert aligned_from_world.scale == 1.0


def test_frames_status_values_are_stable():
    # the USD and report files store these numbers
    assert [s.value for s in FrameStatus] == [0, 1, 2]
    assert Frames  # imported for the public surface


def test_clip_that_breaks_in_two_keeps_the_largest_part(demo_clip):
    from sceneforge.reconstruct import read_frames

    room = read_frames(demo_clip)  # 72 frames of the room
    pan, _, _ = pan_clip(n=16, width=room.width, height=room.height, focal_px=500.0)
    images = np.concatenate([room.images, pan.images])
    frames = Frames(images=images, fps=24.0, frame_numbers=np.arange(len(images)))
    track = ColmapSolverConfig().build().solve(frames)
    assert len(track) == len(frames)
    assert "largest_component" in track.report.flags
    assert np.all(track.status[: len(room)] != FrameStatus.INTERPOLATED)
    assert np.sum(track.status[len(room) :] == FrameStatus.SOLVED) == 0


def test_loop_candidates_pair_keyframes_that_look_alike():
    from sceneforge.reconstruct.camera._colmap import _loop_candidates
    from tests.conftest import textured_image

    images = np.stack([textured_image(48, 64, seed=s) for s in range(30)])
    images[27] = images[2]  # the camera comes back to where it was at keyframe 2
    names = [f"{i:06d}.png" for i in range(30)]
    pairs = _loop_candidates(images, names, min_distance=20)
    assert ("000002.png", "000027.png") in pairs
    assert all(int(b[:6]) - int(a[:6]) >= 20 for a, b in pairs)


def test_camera_per_frame_gives_each_frame_its_own_lens(demo_clip, demo_module):
    from sceneforge.reconstruct import read_frames

    frames = read_frames(demo_clip, end=40)
    track = ColmapSolverConfig(camera_per_frame=True).build().solve(frames)
    focals = np.array([i.fx for i in track.intrinsics])
    assert not track.single_camera
    k_true = demo_module.demo_intrinsics()
    np.testing.assert_allclose(np.median(focals), k_true[0, 0], rtol=0.05)


def test_the_same_clip_gives_the_same_cameras_every_time(demo_clip):
    """Deterministic by default: COLMAP on one thread, seeded RANSAC — bit-identical cameras."""
    frames = read_frames(demo_clip, end=24, max_size=320)
    first, second = (ColmapSolverConfig().build().solve(frames) for _ in range(2))
    np.testing.assert_array_equal(first.world_from_cam, second.world_from_cam)
    assert first.intrinsics[0].fx == second.intrinsics[0].fx
