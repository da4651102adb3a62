"""Camera solving on real captured data from ../shared/data (skipped when it is absent)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sceneforge.reconstruct import ColmapSolverConfig, read_frames
from sceneforge.scenegraph import Intrinsics, similarity_from_points

pytestmark = pytest.mark.realdata


def _centre_errors(est: np.ndarray, gt: np.ndarray) -> np.ndarray:
    sim = similarity_from_points(est, gt)
    return np.linalg.norm(sim.apply_points(est) - gt, axis=1)


def test_strecha_fountain_with_known_k(shared_data):
    folder = shared_data / "strecha" / "fountain-P11"
    cameras = json.loads((folder / "cameras.json").read_text())
    frames = read_frames(folder / "images", max_size=None)
    k = Intrinsics(K=np.array(cameras["K_for_images_768x512"]), width=frames.width, height=frames.height)
    track = ColmapSolverConfig(intrinsics=k).build().solve(frames)
    gt = np.array([f["C_world"] for f in cameras["frames"]])
    errors_m = _centre_errors(track.camera_centers(), gt)
    assert track.report.num_solved == 11
    assert errors_m.mean() < 0.01  # measured: about 3 mm


@pytest.mark.slow
def test_kitchen_every_frame_gets_a_camera(shared_data):
    folder = shared_data / "7scenes_kitchen"
    frames = read_frames(folder, pattern="*.color.jpg", max_size=None)
    track = ColmapSolverConfig().build().solve(frames)
    gt = np.stack([np.loadtxt(folder / f"frame-{i:06d}.pose.txt")[:3, 3] for i in range(300)])
    assert len(track) == 300
    assert track.report.num_interpolated < 10
    errors_m = _centre_errors(track.camera_centers(), gt)
    assert np.sqrt(np.mean(errors_m**2)) < 0.05  # measured: about 3.6 cm (the target of 3.5 cm lives in the benchmark)
