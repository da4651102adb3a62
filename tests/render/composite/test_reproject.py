"""Reprojection from other frames and the background depth behind removed objects, on exact synthetic geometry."""

from __future__ import annotations

import numpy as np
import pytest

from sceneforge.render.composite import SourceView, exposure_gain, pixel_points, reproject
from sceneforge.render.composite._background_depth import background_depth, fit_planes
from sceneforge.scenegraph import Intrinsics, make_transform

W, H = 96, 72
K = Intrinsics.from_focal(focal_px=80.0, width=W, height=H)


def _pose(x: float) -> np.ndarray:
    """A camera at (x, 0, 0) looking down +Z (world = OpenCV axes here)."""
    return make_transform(np.eye(3), np.array([x, 0.0, 0.0]))


def _texture(points: np.ndarray) -> np.ndarray:
    """A smooth colour pattern painted on the plane z = 5 (so bilinear sampling is nearly exact)."""
    x, y = points[:, 0], points[:, 1]
    return np.stack([0.5 + 0.4 * np.sin(3 * x), 0.5 + 0.4 * np.cos(2 * y), 0.5 + 0.3 * np.sin(x + y)], axis=1)


def _view(x: float, *, depth: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.mgrid[0:H, 0:W]
    points = pixel_points(K, _pose(x), rows.ravel(), cols.ravel(), np.full(H * W, depth))
    image = np.round(_texture(points) * 255).astype(np.uint8).reshape(H, W, 3)
    return image, np.full((H, W), depth, np.float32)


def _source(x: float, **kwargs) -> SourceView:
    image, depth = _view(x)
    fields = dict(image=image, depth=depth, usable=np.ones((H, W), bool), intrinsics=K, world_from_cam=_pose(x), frame_number=0)
    fields.update(kwargs)
    return SourceView(**fields)


def _target_points() -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.mgrid[20:50, 30:60]
    points = pixel_points(K, _pose(0.0), rows.ravel(), cols.ravel(), np.full(rows.size, 5.0))
    return points, _texture(points)


def test_points_seen_by_another_frame_take_its_colour():
    points, truth = _target_points()
    result = reproject(points, [_source(0.3)])
    assert result.found.all() and (result.source == 0).all()
    np.testing.assert_allclose(result.colour, truth, atol=2.5 / 255)


def test_sources_are_taken_in_order_and_unusable_pixels_never_feed():
    points, truth = _target_points()
    blocked = _source(0.3, usable=np.zeros((H, W), bool))
    result = reproject(points, [blocked, _source(-0.2)])
    assert (result.source == 1).all()
    np.testing.assert_allclose(result.colour, truth, atol=2.5 / 255)
    assert not reproject(points, [blocked]).found.any()


def test_an_occluder_in_the_source_is_detected_by_its_depth():
    points, _ = _target_points()
    image, _ = _view(0.3)
    occluded = _source(0.3, depth=np.full((H, W), 3.0, np.float32))  # something at z = 3 in front
    assert not reproject(points, [occluded], depth_tolerance=0.02).found.any()
    unknown = _source(0.3, depth=np.zeros((H, W), np.float32))  # no depth: a usable pixel counts
    assert reproject(points, [unknown]).found.all()


def test_points_outside_the_source_are_not_found():
    points, _ = _target_points()
    assert not reproject(points, [_source(40.0)]).found.any()


def test_exposure_gain_matches_a_brighter_source():
    rng = np.random.default_rng(0)
    target = rng.uniform(0.2, 0.6, (500, 3)).astype(np.float32)
    gain = exposure_gain(target, target * np.float32(1.25))
    np.testing.assert_allclose(gain, 0.8, rtol=1e-5)
    np.testing.assert_array_equal(exposure_gain(target[:10], target[:10] * 2), 1.0)  # too few samples


def _corner_depth() -> np.ndarray:
    """z-depth of a floor (y = 1) meeting a wall (z = 6), seen from the origin."""
    rows, cols = np.mgrid[0:H, 0:W]
    rays = K.unproject(np.column_stack([cols.ravel() + 0.5, rows.ravel() + 0.5]), np.ones(H * W))
    with np.errstate(divide="ignore"):
        floor = np.where(rays[:, 1] > 0, 1.0 / rays[:, 1], np.inf)
    return np.minimum(floor, 6.0).reshape(H, W).astype(np.float32)


def test_fit_planes_finds_the_floor_and_the_wall():
    depth = _corner_depth()
    rows, cols = np.mgrid[0:H:2, 0:W:2]
    points = K.unproject(np.column_stack([cols.ravel() + 0.5, rows.ravel() + 0.5]), depth[rows, cols].ravel())
    planes = fit_planes(points, threshold=0.01)
    normals = sorted(tuple(np.round(np.abs(p[:3]), 3)) for p, _ in planes[:2])
    assert normals == [(0.0, 0.0, 1.0), (0.0, 1.0, 0.0)]


def test_background_behind_a_removed_object_continues_the_planes_around_it():
    truth = _corner_depth()
    hole = np.zeros((H, W), bool)
    hole[30:60, 25:70] = True  # an object standing in the corner, across the floor line
    known = ~hole
    filled = background_depth(np.where(known, truth, 0), known, hole, K, behind=np.where(hole, 3.0, 0.0).astype(np.float32))
    np.testing.assert_allclose(filled[hole], truth[hole], rtol=0.01)
    np.testing.assert_array_equal(filled[known], truth[known])


@pytest.mark.parametrize("bad", [np.zeros((H, W, 3), np.float32), np.zeros((H, W), np.uint8)])
def test_source_view_checks_its_arrays(bad):
    with pytest.raises(Exception, match="image"):
        _source(0.0, image=bad)
