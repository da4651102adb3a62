"""Nominal depth for shots without parallax: a sphere around the camera, subjects nearer."""

from __future__ import annotations

import numpy as np
import pytest

from sceneforge.reconstruct import nominal_depths
from sceneforge.reconstruct.depth import NOMINAL_CONFIDENCE
from sceneforge.scenegraph import CameraTrack, InputError, Intrinsics, make_transform, rotation_about_axis

W, H = 64, 48


def _pan(n: int = 4) -> CameraTrack:
    k = Intrinsics.from_focal(focal_px=50.0, width=W, height=H)
    poses = np.stack([make_transform(rotation_about_axis(np.array([0.0, 1.0, 0.0]), 0.1 * i), np.zeros(3)) for i in range(n)])
    return CameraTrack(intrinsics=(k,) * n, world_from_cam=poses, frame_numbers=np.arange(10, 10 + n), fps=24.0,
                       status=np.zeros(n, np.int8))


def test_every_pixel_lies_on_the_sphere_and_subjects_nearer():
    track = _pan()
    near = np.zeros((len(track), H, W), bool)
    near[2, 10:20, 30:40] = True
    depths = nominal_depths(track, distance=8.0, near=near)
    assert sorted(depths) == [10, 11, 12, 13]
    k = track.intrinsics[0]
    rows, cols = np.mgrid[0:H, 0:W]
    for i, depth in enumerate(depths.values()):
        points = k.unproject(np.column_stack([cols.ravel() + 0.5, rows.ravel() + 0.5]), depth.depth.ravel())
        radius = np.linalg.norm(points, axis=1).reshape(H, W)
        np.testing.assert_allclose(radius[~near[i]], 8.0, rtol=1e-5)
        np.testing.assert_allclose(radius[near[i]], 4.0, rtol=1e-5)
        assert np.all(depth.confidence == np.float32(NOMINAL_CONFIDENCE))
    # the centre pixel looks straight ahead: its z-depth is the radius; corners are nearer in z
    assert depths[10].depth[H // 2, W // 2] == pytest.approx(8.0, rel=1e-3)
    assert depths[10].depth[0, 0] < depths[10].depth[H // 2, W // 2]


@pytest.mark.parametrize("kwargs", [{"distance": 0.0}, {"distance": float("nan")}, {"near_fraction": 1.0},
                                    {"near": np.zeros((2, H, W), bool)}])
def test_bad_arguments_are_refused(kwargs):
    with pytest.raises(InputError):
        nominal_depths(_pan(), **kwargs)
