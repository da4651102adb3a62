"""Contact shadows from objects approximated by spheres: where they fall and how soft they are."""

from __future__ import annotations

import numpy as np

from sceneforge.render.lighting import Occluder, occlusion

UP = np.array([0.0, 1.0, 0.0])


def _ball(radius: float = 1.0, centre=(0.0, 1.0, 0.0)) -> Occluder:
    rng = np.random.default_rng(0)
    points = rng.standard_normal((2000, 3))
    points = points / np.linalg.norm(points, axis=1, keepdims=True) * radius + np.asarray(centre)
    return Occluder.of_points(points, cells=4)


def _floor(xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    points = np.column_stack([xs, np.zeros_like(xs), np.zeros_like(xs)])
    return points, np.tile(UP, (len(xs), 1))


def test_spheres_cover_the_points_they_stand_for():
    ball = _ball()
    assert 8 <= len(ball.radii) <= 64
    low = (ball.centres_in_world - ball.radii[:, None]).min(axis=0)
    high = (ball.centres_in_world + ball.radii[:, None]).max(axis=0)
    assert np.all(low <= [-0.9, 0.1, -0.9]) and np.all(high >= [0.9, 1.9, 0.9])
    assert not ball.moved_from(_ball()) and ball.moved_from(_ball(centre=(0.5, 1.0, 0.0)))


def test_the_ambient_occlusion_is_darkest_under_the_object_and_fades_away_from_it():
    points, normals = _floor(np.array([0.0, 1.0, 2.0, 4.0, 8.0]))
    ambient, direct = occlusion(points, normals, [_ball()])
    assert np.all(np.diff(ambient) < 0)
    assert ambient[0] > 0.5 and ambient[-1] < 0.05
    np.testing.assert_array_equal(direct, 0.0)


def test_the_direct_shadow_falls_away_from_the_light_and_is_sharp_at_contact():
    points, normals = _floor(np.linspace(-4.0, 4.0, 81))
    towards = np.array([1.0, 1.0, 0.0]) / np.sqrt(2.0)  # light up and to the right: shadow to the left
    _, direct = occlusion(points, normals, [_ball()], towards_light=towards, penumbra=0.05)
    x = points[:, 0]
    assert direct[np.argmin(np.abs(x + 1.0))] > 0.9  # the ball's centre seen from (-1, 0, 0) along the light
    assert direct[x > 1.0].max() < 0.05
    assert direct[x < -3.5].max() < 0.2
    # a light straight overhead: shadow under the ball only
    _, overhead = occlusion(points, normals, [_ball()], towards_light=UP)
    assert overhead[np.abs(x) < 0.5].min() > 0.9 and overhead[np.abs(x) > 1.5].max() < 0.05


def test_surfaces_facing_away_get_no_ambient_occlusion():
    points = np.array([[0.0, -0.01, 0.0]])
    ambient, _ = occlusion(points, -UP[None], [_ball()])
    assert ambient[0] == 0.0
