"""The light probe in USD: the Radiance RGBE codec, the dome light's layout and orientation, the
round trip, validation, edits of the dome, and the probe among the scene's lights."""

from __future__ import annotations

import numpy as np
import pytest
from pxr import Usd, UsdGeom, UsdLux

from sceneforge.scenegraph import (
    CameraTrack,
    InputError,
    Intrinsics,
    LightProbe,
    Scene,
    SceneFileError,
    read_light_probe,
    rotation_about_axis,
    validate_stage,
    write_scene,
)
from sceneforge.scenegraph.types import equirect_directions, equirect_solid_angles, sh_project
from sceneforge.scenegraph.usd import LIGHT_PROBE_PATH, hdr_size, light_probe_summary, read_hdr, scene_summary, write_hdr


def _track(n: int = 3) -> CameraTrack:
    poses = np.repeat(np.eye(4)[None], n, axis=0)
    poses[:, 0, 3] = np.arange(n) * 0.1
    return CameraTrack(
        intrinsics=(Intrinsics.from_focal(focal_px=100.0, width=64, height=48),) * n, world_from_cam=poses,
        frame_numbers=np.arange(n), fps=24.0, status=np.zeros(n, np.int8),
    )


def _probe(height: int = 16, *, key: bool = True) -> LightProbe:
    """A probe with a recognisable map: brighter towards +Y and towards +X, a seen band in front."""
    d = equirect_directions(height)
    radiance = (0.2 + 0.1 * d[..., 1:2] + 0.05 * d[..., 0:1] * np.array([1.0, 0.5, 0.25])).astype(np.float32)
    seen = (d[..., 2] < -0.3) & (np.abs(d[..., 1]) < 0.6)
    sh = sh_project(d.reshape(-1, 3), radiance.reshape(-1, 3), equirect_solid_angles(height).reshape(-1))
    return LightProbe(
        radiance=radiance, seen=seen, sh=sh, centre_in_world=np.array([0.1, 1.2, -0.5]),
        key_direction=np.array([0.3, 0.8, 0.5]) if key else None,
        key_irradiance=np.array([0.9, 0.8, 0.7]) if key else np.zeros(3), ambient_radiance=np.array([0.2, 0.18, 0.15]),
        encoding="srgb",
    )


@pytest.fixture()
def shot(tmp_path):
    write_scene(tmp_path, _track(), light_probe=_probe())
    return tmp_path


# ------------------------------------------------------------------ RGBE


def test_rgbe_round_trip_is_within_rgbe_precision(tmp_path):
    rng = np.random.default_rng(0)
    image = (rng.random((8, 20, 3)) * np.array([1.0, 30.0, 0.001])).astype(np.float32)
    image[0, 0] = 0.0
    path = write_hdr(tmp_path / "a.hdr", image)
    back = read_hdr(path)
    assert back.shape == image.shape and back.dtype == np.float32
    # Shared exponent, 8-bit mantissas: each channel within 1/128 of the pixel's largest.
    error = np.abs(back - image) / np.maximum(image.max(axis=-1, keepdims=True), 1e-30)
    assert error.max() <= 1 / 128
    assert np.all(back <= image + 1e-12)  # mantissas are truncated
    assert np.all(back[0, 0] == 0) and hdr_size(path) == (20, 8)


def test_opencv_reads_our_hdr_and_we_read_opencvs(tmp_path):
    cv2 = pytest.importorskip("cv2")
    image = np.random.default_rng(1).random((16, 32, 3)).astype(np.float32) * 4.0
    ours = write_hdr(tmp_path / "ours.hdr", image)
    read = cv2.imread(str(ours), cv2.IMREAD_ANYDEPTH | cv2.IMREAD_COLOR)
    assert read is not None and read.dtype == np.float32
    np.testing.assert_array_equal(read[..., ::-1], read_hdr(ours))
    # OpenCV writes run-length-encoded scanlines.
    assert cv2.imwrite(str(tmp_path / "cv.hdr"), np.ascontiguousarray(read))
    np.testing.assert_array_equal(read_hdr(tmp_path / "cv.hdr"), read[..., ::-1])


def test_hdr_refuses_bad_input(tmp_path):
    with pytest.raises(InputError):
        write_hdr(tmp_path / "n.hdr", -np.ones((2, 4, 3), np.float32))
    (tmp_path / "x.hdr").write_bytes(b"P6\n1 1\n255\n\x00\x00\x00")
    with pytest.raises(SceneFileError):
        read_hdr(tmp_path / "x.hdr")
    write_hdr(tmp_path / "t.hdr", np.ones((4, 8, 3), np.float32))
    data = (tmp_path / "t.hdr").read_bytes()
    (tmp_path / "t.hdr").write_bytes(data[:-10])
    with pytest.raises(SceneFileError):
        read_hdr(tmp_path / "t.hdr")
    assert hdr_size(tmp_path / "x.hdr") is None


# ------------------------------------------------------------------ the dome light


def test_dome_light_layout_and_validation(shot):
    stage = Usd.Stage.Open(str(shot / "scene.usda"))
    prim = stage.GetPrimAtPath(LIGHT_PROBE_PATH)
    assert prim.IsA(UsdLux.DomeLight)
    dome = UsdLux.DomeLight(prim)
    assert dome.GetTextureFileAttr().Get().path == "./textures/light_probe.hdr"
    assert dome.GetTextureFormatAttr().Get() == "latlong"
    assert dome.GetIntensityAttr().Get() == 1.0
    assert (shot / "textures" / "light_probe.hdr").is_file()
    result = validate_stage(shot / "scene.usda")
    assert result.ok, result.errors


def test_dome_orientation_matches_the_usdlux_latlong_convention(shot):
    """Each texel's direction as UsdLux defines the latlong layout (the OpenEXR convention the
    DomeLight schema quotes: top-left pixel at latitude +π/2, longitude +π; longitude 0 along the
    light's +Z, π/2 along its +X), carried to the world by the dome's transform, is the direction
    our map gives that texel."""
    stage = Usd.Stage.Open(str(shot / "scene.usda"))
    world_from_dome = np.array(UsdGeom.Xformable(stage.GetPrimAtPath(LIGHT_PROBE_PATH)).ComputeLocalToWorldTransform(0)).T
    h = 16
    rows, cols = np.meshgrid(np.arange(h) + 0.5, np.arange(2 * h) + 0.5, indexing="ij")
    latitude = np.pi / 2 - rows / h * np.pi
    longitude = np.pi - cols / (2 * h) * 2 * np.pi
    in_dome = np.stack(
        [np.cos(latitude) * np.sin(longitude), np.sin(latitude), np.cos(latitude) * np.cos(longitude)], axis=-1
    )
    np.testing.assert_allclose(in_dome @ world_from_dome[:3, :3].T, equirect_directions(h), atol=1e-12)


def test_round_trip(shot):
    probe = _probe()
    back = read_light_probe(shot)
    assert back is not None
    error = np.abs(back.radiance - probe.radiance) / probe.radiance.max(axis=-1, keepdims=True)
    assert error.max() <= 1 / 128
    np.testing.assert_array_equal(back.seen, probe.seen)
    np.testing.assert_array_equal(back.sh, probe.sh)
    np.testing.assert_array_equal(back.centre_in_world, probe.centre_in_world)
    np.testing.assert_allclose(back.key_direction, probe.key_direction)
    np.testing.assert_array_equal(back.key_irradiance, probe.key_irradiance)
    np.testing.assert_array_equal(back.ambient_radiance, probe.ambient_radiance)
    assert back.encoding == "srgb"
    # From an open stage too.
    assert read_light_probe(Usd.Stage.Open(str(shot / "scene.usda"))) is not None


def test_without_a_key_light_and_without_a_probe(tmp_path):
    write_scene(tmp_path, _track(), light_probe=_probe(key=False))
    back = read_light_probe(tmp_path)
    assert back is not None and back.key_direction is None
    summary = light_probe_summary(tmp_path)
    assert summary["key_direction"] is None and summary["ambient_to_key"] is None
    other = tmp_path / "none"
    other.mkdir()
    write_scene(other, _track())
    assert read_light_probe(other) is None
    assert scene_summary(other / "scene.usda")["light_probe"] is None
    with pytest.raises(InputError):
        write_scene(other, _track(), light_probe="probe.hdr")  # type: ignore[arg-type]


def test_summary(shot):
    summary = scene_summary(shot / "scene.usda")["light_probe"]
    assert summary["map_size"] == [32, 16]
    assert 0 < summary["seen_share"] < 1
    key = np.array([0.3, 0.8, 0.5]) / np.linalg.norm([0.3, 0.8, 0.5])
    np.testing.assert_allclose(summary["key_direction"], key)
    assert summary["key_elevation_deg"] == pytest.approx(np.degrees(np.arcsin(key[1])))
    assert summary["key_azimuth_deg"] == pytest.approx(np.degrees(np.arctan2(key[0], -key[2])))
    luma = np.array([0.2126, 0.7152, 0.0722])
    expected = np.pi * np.array([0.2, 0.18, 0.15]) @ luma / (np.array([0.9, 0.8, 0.7]) @ luma)
    assert summary["ambient_to_key"] == pytest.approx(expected)


def test_missing_texture_is_a_scene_error(shot):
    (shot / "textures" / "light_probe.hdr").unlink()
    with pytest.raises(SceneFileError):
        read_light_probe(shot)
    assert light_probe_summary(shot)["map_size"] is None


# ------------------------------------------------------------------ edits and the scene's lights


def test_probe_is_one_of_the_scenes_lights_and_follows_its_edits(shot):
    scene = Scene.open(shot / "scene.usda")
    light = scene.lights["LightProbe"]
    assert light.kind == "dome" and light.intensity == 1.0
    probe = _probe()
    light.intensity = 2.0
    light.color = (1.0, 0.5, 1.0)
    scene.save()
    brighter = read_light_probe(shot)
    np.testing.assert_allclose(brighter.sh, probe.sh * [2.0, 1.0, 2.0])
    np.testing.assert_allclose(brighter.key_irradiance, probe.key_irradiance * [2.0, 1.0, 2.0])
    np.testing.assert_allclose(brighter.ambient_radiance, probe.ambient_radiance * [2.0, 1.0, 2.0])

    # A quarter turn about +Y turns the light with it.
    turn = np.eye(4)
    turn[:3, :3] = rotation_about_axis(np.array([0.0, 1.0, 0.0]), np.pi / 2)
    light.world_from_local = turn @ light.world_from_local
    scene.save()
    turned = read_light_probe(shot)
    np.testing.assert_allclose(turned.key_direction, turn[:3, :3] @ probe.key_direction, atol=1e-9)
    # The map's +X brightening now lies along the turned +X (−Z): compare the SH's linear band.
    x_before = probe.sh[3]  # Y11 ~ x
    z_after = turned.sh[2]  # Y10 ~ z
    np.testing.assert_allclose(-z_after, x_before * [2.0, 1.0, 2.0], rtol=0.05, atol=1e-3)
    np.testing.assert_allclose(turned.centre_in_world, turn[:3, :3] @ probe.centre_in_world, atol=1e-9)

    # Moving the dome moves the point the probe is seen from; the light stays as it was.
    shift = np.eye(4)
    shift[:3, 3] = [1.0, 0.0, -2.0]
    light.world_from_local = shift @ light.world_from_local
    scene.save()
    moved = read_light_probe(shot)
    np.testing.assert_allclose(moved.centre_in_world, turned.centre_in_world + [1.0, 0.0, -2.0], atol=1e-9)
    np.testing.assert_allclose(moved.key_direction, turned.key_direction, atol=1e-12)


def test_removed_probe_reads_as_none(shot):
    stage = Usd.Stage.Open(str(shot / "scene.usda"))
    stage.GetPrimAtPath(LIGHT_PROBE_PATH).SetActive(False)
    assert read_light_probe(stage) is None
    # A hand-made dome light without the probe's attributes is not a probe either.
    other = Usd.Stage.CreateInMemory()
    UsdLux.DomeLight.Define(other, LIGHT_PROBE_PATH).CreateIntensityAttr().Set(1.0)
    assert read_light_probe(other) is None
