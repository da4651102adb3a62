"""Conventions of the light probe's maths: lat-long layout, solid angles, SH projection and irradiance."""

from __future__ import annotations

import numpy as np
import pytest

from sceneforge.scenegraph import InputError, LightProbe
from sceneforge.scenegraph.types import (
    equirect_directions,
    equirect_pixels,
    equirect_solid_angles,
    sh_basis,
    sh_irradiance,
    sh_project,
)


def test_latlong_layout_is_y_up_with_minus_z_at_the_centre():
    h = 32
    d = equirect_directions(h)
    assert d.shape == (h, 2 * h, 3)
    np.testing.assert_allclose(np.linalg.norm(d, axis=-1), 1.0)
    assert d[0, :, 1].min() > 0.99 and d[-1, :, 1].max() < -0.99  # row 0 up, last row down
    centre = d[h // 2, h]  # just below the horizon, just right of the centre column's edge
    assert centre[2] < -0.99  # the centre column looks along -Z
    quarter = d[h // 2, h // 2]
    assert quarter[0] < -0.99  # the quarter column looks along -X
    three_quarters = d[h // 2, 3 * h // 2]
    assert three_quarters[0] > 0.99  # and three quarters along +X


def test_pixels_of_texel_directions_are_the_texels():
    h = 24
    rows, cols = equirect_pixels(equirect_directions(h).reshape(-1, 3), h)
    expected_rows, expected_cols = np.meshgrid(np.arange(h), np.arange(2 * h), indexing="ij")
    np.testing.assert_array_equal(rows, expected_rows.ravel())
    np.testing.assert_array_equal(cols, expected_cols.ravel())
    # Any length, and the poles and the seam land inside the map.
    rows, cols = equirect_pixels(np.array([[0, 5.0, 0], [0, -1.0, 0], [0, 0, 1.0], [1e-9, 0, 1.0]]), h)
    assert rows.tolist()[:2] == [0, h - 1]
    assert np.all((cols >= 0) & (cols < 2 * h))


def test_solid_angles_sum_to_the_sphere():
    for h in (4, 17, 64):
        assert equirect_solid_angles(h).sum() == pytest.approx(4 * np.pi, rel=1e-12)


def test_sh_basis_is_orthonormal_on_the_sphere():
    h = 128
    d, w = equirect_directions(h).reshape(-1, 3), equirect_solid_angles(h).reshape(-1)
    basis = sh_basis(d)
    np.testing.assert_allclose(basis.T @ (basis * w[:, None]), np.eye(9), atol=2e-3)


def test_uniform_radiance_gives_pi_times_radiance_and_a_cosine_lobe_its_irradiance():
    h = 64
    d, w = equirect_directions(h).reshape(-1, 3), equirect_solid_angles(h).reshape(-1)
    sh = sh_project(d, np.full((len(d), 3), 0.5), w)
    normals = np.array([[0, 1.0, 0], [1.0, 0, 0], [0, 0, -1.0]])
    np.testing.assert_allclose(sh_irradiance(sh, normals), np.pi * 0.5, rtol=1e-3)
    # Radiance max(0, d·y) (a sky brighter overhead): E(up) = 2π/3, E(down) = 0 exactly, order 2 nearly.
    sky = np.maximum(d[:, 1], 0.0)[:, None].repeat(3, axis=1)
    e = sh_irradiance(sh_project(d, sky, w), np.array([[0, 1.0, 0], [0, -1.0, 0]]))
    assert e[0, 0] == pytest.approx(2 * np.pi / 3, rel=0.03)
    assert abs(e[1, 0]) < 0.1


def test_light_probe_validates_its_fields():
    radiance = np.ones((8, 16, 3), np.float32)
    seen = np.zeros((8, 16), bool)
    probe = LightProbe(radiance=radiance, seen=seen, sh=np.zeros((9, 3)), centre_in_world=np.zeros(3), key_direction=np.array([0, 2.0, 0]))
    np.testing.assert_allclose(probe.key_direction, [0, 1, 0])
    assert probe.height == 8 and probe.ambient_to_key == float("inf")
    with pytest.raises(InputError):
        LightProbe(radiance=np.ones((8, 8, 3), np.float32), seen=np.zeros((8, 8), bool), sh=np.zeros((9, 3)), centre_in_world=np.zeros(3))
    with pytest.raises(InputError):
        LightProbe(radiance=-radiance, seen=seen, sh=np.zeros((9, 3)), centre_in_world=np.zeros(3))
    with pytest.raises(InputError):
        LightProbe(radiance=radiance, seen=seen, sh=np.zeros((9, 3)), centre_in_world=np.zeros(3), key_direction=np.zeros(3))
    with pytest.raises(InputError):
        LightProbe(radiance=radiance, seen=seen, sh=np.zeros((9, 3)), centre_in_world=np.zeros(3), encoding="gamma")  # type: ignore[arg-type]
