"""The depth search behind removed objects and the colour consensus, on exact synthetic geometry:
a textured wall at z = 5 seen by cameras spread along x."""

from __future__ import annotations

import numpy as np

from sceneforge.render.composite import SourceView, pixel_points, reproject
from sceneforge.render.composite._depth_search import search_depth, sweep_levels
from sceneforge.scenegraph import Intrinsics, make_transform

W, H = 96, 72
K = Intrinsics.from_focal(focal_px=80.0, width=W, height=H)
WALL = 5.0


def _pose(x: float) -> np.ndarray:
    return make_transform(np.eye(3), np.array([x, 0.0, 0.0]))


def _texture(points: np.ndarray) -> np.ndarray:
    """A textured wall: distinct colours every few centimetres, so wrong depths disagree."""
    x, y = points[:, 0], points[:, 1]
    return np.stack([0.5 + 0.4 * np.sin(9 * x), 0.5 + 0.4 * np.cos(7 * y), 0.5 + 0.3 * np.sin(5 * (x + y))], axis=1)


def _source(x: float, *, usable: np.ndarray | None = None, image: np.ndarray | None = None, depth: float = 0.0) -> SourceView:
    rows, cols = np.mgrid[0:H, 0:W]
    points = pixel_points(K, _pose(x), rows.ravel(), cols.ravel(), np.full(H * W, WALL))
    if image is None:
        image = np.round(_texture(points) * 255).astype(np.uint8).reshape(H, W, 3)
    return SourceView(
        image=image, depth=np.full((H, W), depth, np.float32), usable=np.ones((H, W), bool) if usable is None else usable,
        intrinsics=K, world_from_cam=_pose(x), frame_number=0,
    )


def _hole() -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.mgrid[26:46, 38:58]
    return rows.ravel(), cols.ravel()


SOURCES = [_source(x) for x in (-0.6, -0.3, 0.3, 0.6)]  # no depth known: only colours decide


def test_a_contradicted_prior_gives_way_to_the_level_the_views_agree_on():
    rows, cols = _hole()
    levels = sweep_levels(2.0, 12.0, 40)
    assert np.isclose(levels[0], 2.0) and np.isclose(levels[-1], 12.0)
    levels = np.sort(np.append(levels, WALL))
    hypotheses = np.column_stack([np.full(len(rows), 3.0), np.broadcast_to(levels, (len(rows), len(levels)))])
    depth, cost = search_depth(rows, cols, hypotheses, K, _pose(0.0), SOURCES, priors=1)
    assert np.allclose(depth, WALL)
    assert cost.max() < 0.02


def test_a_right_prior_stands_and_a_prior_nobody_saw_is_kept():
    rows, cols = _hole()
    levels = sweep_levels(2.0, 12.0, 16)
    hypotheses = np.column_stack([np.full(len(rows), WALL), np.broadcast_to(levels, (len(rows), len(levels)))])
    depth, _ = search_depth(rows, cols, hypotheses, K, _pose(0.0), SOURCES, priors=1)
    assert np.allclose(depth, WALL)
    # every source blocked but one: nothing can contradict the prior, which stays even if wrong
    blocked = np.zeros((H, W), bool)
    lonely = [_source(x, usable=blocked) for x in (-0.6, -0.3, 0.3)] + [_source(0.6)]
    hypotheses[:, 0] = 4.0
    depth, _ = search_depth(rows, cols, hypotheses, K, _pose(0.0), lonely, priors=1)
    assert np.allclose(depth, 4.0)


def test_hypotheses_in_front_of_what_a_source_saw_are_occluded_there():
    rows, cols = _hole()
    # sources whose depth says the wall is at 5: a level at 2.5 lies in front of it (fine), a level
    # at 8 lies behind it (the source's view of it is blocked by the wall) and cannot be checked
    seeing = [_source(x, depth=WALL) for x in (-0.6, -0.3, 0.3, 0.6)]
    hypotheses = np.column_stack([np.full(len(rows), 8.0), np.full(len(rows), WALL)])
    depth, _ = search_depth(rows, cols, hypotheses, K, _pose(0.0), seeing, priors=1)
    assert np.allclose(depth, 8.0)  # the prior is unchecked (occluded everywhere): it stands
    hypotheses = np.column_stack([np.full(len(rows), 4.0), np.full(len(rows), WALL)])
    depth, _ = search_depth(rows, cols, hypotheses, K, _pose(0.0), seeing, priors=1)
    assert np.allclose(depth, WALL)  # 4 is seen, disagrees, and the wall beats it


def test_consensus_outvotes_a_colour_only_one_source_has():
    rows, cols = _hole()
    points = pixel_points(K, _pose(0.0), rows, cols, np.full(len(rows), WALL))
    truth = _texture(points)
    stained = _source(0.3)
    image = stained.image.copy()
    image[:] = (255, 0, 255)  # an object's rim the mask missed, all over this source
    stained = _source(0.3, image=image)
    first = reproject(points, [stained, *SOURCES], depth_tolerance=0.02)
    assert (first.source == 0).all()  # without consensus the preferred source wins
    voted = reproject(points, [stained, *SOURCES], depth_tolerance=0.02, consensus=3)
    assert voted.found.all() and (voted.source != 0).all()
    np.testing.assert_allclose(voted.colour, truth, atol=4 / 255)
    two = reproject(points, [stained, SOURCES[0]], depth_tolerance=0.02, consensus=3)
    assert (two.source == 0).all()  # with two candidates there is no majority: the preferred one
