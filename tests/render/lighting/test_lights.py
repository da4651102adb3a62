"""Diffuse lighting of inserted assets: units of the user's lights, the probe's SH, encodings."""

from __future__ import annotations

import numpy as np
import pytest

from sceneforge.render.lighting import SceneLights, decode, encode
from sceneforge.scenegraph import LightProbe
from sceneforge.scenegraph.types import equirect_directions, equirect_solid_angles, sh_project

UP = np.array([[0.0, 1.0, 0.0]])
DOWN = np.array([[0.0, -1.0, 0.0]])


def _uniform_probe(radiance: float, encoding: str = "linear") -> LightProbe:
    height = 16
    dirs = equirect_directions(height).reshape(-1, 3)
    values = np.full((len(dirs), 3), radiance)
    sh = sh_project(dirs, values, equirect_solid_angles(height).ravel())
    return LightProbe(
        radiance=np.full((height, 2 * height, 3), radiance, np.float32), seen=np.ones((height, 2 * height), bool),
        sh=sh, centre_in_world=np.zeros(3), ambient_radiance=np.full(3, radiance), encoding=encoding,
    )


def test_a_white_surface_facing_a_distant_light_of_intensity_one_is_white():
    lights = SceneLights(directional=[[0.0, 1.0, 0.0]], directional_irradiance=[[np.pi] * 3], encoding="linear")
    np.testing.assert_allclose(lights.shade(np.ones((1, 3)), UP), [[1.0, 1.0, 1.0]], atol=1e-6)
    np.testing.assert_allclose(lights.shade(np.ones((1, 3)), DOWN), [[0.0, 0.0, 0.0]], atol=1e-6)
    tilted = np.array([[np.sin(np.pi / 3), np.cos(np.pi / 3), 0.0]])
    np.testing.assert_allclose(lights.shade(np.full((1, 3), 0.8), tilted), [[0.4] * 3], atol=1e-6)


def test_a_uniform_probe_shows_its_radiance_on_every_side():
    lights = SceneLights(probe=_uniform_probe(0.3))
    for normal in (UP, DOWN, np.array([[1.0, 0.0, 0.0]])):
        np.testing.assert_allclose(lights.shade(np.full((1, 3), 0.5), normal), [[0.15] * 3], atol=2e-3)
    assert lights.key() is None


def test_srgb_footage_lights_in_linear_light():
    lights = SceneLights(probe=_uniform_probe(0.25, encoding="srgb"))
    shaded = lights.shade(np.full((1, 3), encode(np.array([0.8]), "srgb")[0]), UP)
    np.testing.assert_allclose(decode(shaded, "srgb"), [[0.2] * 3], atol=2e-3)
    np.testing.assert_allclose(decode(encode(np.linspace(0, 1, 11), "srgb"), "srgb"), np.linspace(0, 1, 11), atol=1e-6)


def test_a_sphere_light_falls_off_with_the_square_of_the_distance():
    from sceneforge.render.lighting import PointLight

    lights = SceneLights(points=(PointLight(np.array([0.0, 10.0, 0.0]), 1.0, np.ones(3)),), encoding="linear")
    near = lights.irradiance(UP, np.array([[0.0, 8.0, 0.0]]))[0, 0]
    far = lights.irradiance(UP, np.array([[0.0, 6.0, 0.0]]))[0, 0]
    assert near == pytest.approx(np.pi / 4) and far == pytest.approx(np.pi / 16)


def test_user_lights_come_from_the_stage():
    from pxr import Gf, Usd, UsdGeom, UsdLux

    stage = Usd.Stage.CreateInMemory()
    UsdGeom.Xform.Define(stage, "/World")
    sun = UsdLux.DistantLight.Define(stage, "/World/Lights/sun")
    sun.CreateIntensityAttr(2.0)
    # rotated -90° about X: its local -Z (where it shines) becomes world -Y, so it lights from above
    UsdGeom.Xformable(sun).AddRotateXOp().Set(-90.0)
    sky = UsdLux.DomeLight.Define(stage, "/World/Lights/sky")
    sky.CreateIntensityAttr(0.1)
    sky.CreateColorAttr(Gf.Vec3f(1.0, 0.5, 0.5))
    off = UsdLux.DistantLight.Define(stage, "/World/Lights/off")
    off.CreateIntensityAttr(5.0)
    off.GetPrim().SetActive(False)
    lights = SceneLights.of_stage(stage)
    assert len(lights.directional) == 1
    np.testing.assert_allclose(lights.directional[0], [0.0, 1.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(lights.directional_irradiance[0], [2 * np.pi] * 3)
    np.testing.assert_allclose(lights.ambient_radiance, [0.1, 0.05, 0.05], rtol=1e-6)
    direction, strength = lights.key()
    np.testing.assert_allclose(direction, [0.0, 1.0, 0.0], atol=1e-9)
    assert strength == pytest.approx(2 * np.pi)
    assert not lights.empty and SceneLights().empty
