"""The light probe from footage: a synthetic box room with a ball and a column, each surface of
its own albedo, shaded by a known directional light plus ambient and seen by a few cameras with
exact depth."""

from __future__ import annotations

import numpy as np
import pytest

from sceneforge.reconstruct import LightProbeConfig, build_light_probe
from sceneforge.reconstruct.surface._light_probe import _key_disc
from sceneforge.scenegraph import (
    CameraTrack,
    DepthMap,
    DepthMaps,
    Frames,
    InputError,
    Intrinsics,
    LightProbe,
    SolveError,
)
from sceneforge.scenegraph.types import equirect_directions, equirect_solid_angles

LIGHT = np.array([0.45, 0.75, 0.48]) / np.linalg.norm([0.45, 0.75, 0.48])
AMBIENT, DIFFUSE = 0.4, 0.6
ROOM_MIN, ROOM_MAX = np.array([-3.0, 0.0, -4.0]), np.array([3.0, 3.0, 4.0])
# One albedo per room face (−x, +x, −y floor, +y ceiling, −z far wall, +z back wall): the room alone
# cannot tell albedo from light.
WALLS = np.array([[0.55, 0.50, 0.45], [0.35, 0.45, 0.55], [0.30, 0.22, 0.15], [0.80, 0.80, 0.78], [0.60, 0.55, 0.40], [0.45, 0.45, 0.45]])
BALL_CENTRE, BALL_RADIUS, BALL_ALBEDO = np.array([-0.8, 0.6, -1.8]), 0.6, np.array([0.70, 0.35, 0.30])
COLUMN_CENTRE, COLUMN_RADIUS, COLUMN_HEIGHT, COLUMN_ALBEDO = np.array([1.0, 0.0, -2.2]), 0.45, 1.6, np.array([0.40, 0.60, 0.45])
WIDTH, HEIGHT, FOCAL = 320, 240, 260.0


def _look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """world_from_cam (OpenCV axes) of a camera at ``eye`` looking at ``target``, +Y up."""
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    pose = np.eye(4)
    pose[:3, :3] = np.column_stack([right, down, forward])
    pose[:3, 3] = eye
    return pose


def _cast(origin: np.ndarray, dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest hit of rays ``origin + t·dirs`` (N×3) inside the room: t, unit normal, albedo."""
    n = len(dirs)
    with np.errstate(divide="ignore", invalid="ignore"):
        exits = np.where(dirs > 0, (ROOM_MAX - origin) / dirs, (ROOM_MIN - origin) / dirs)
    axis = np.argmin(np.where(np.isfinite(exits) & (exits > 0), exits, np.inf), axis=1)
    t = exits[np.arange(n), axis]
    positive = dirs[np.arange(n), axis] > 0
    normal = np.zeros((n, 3))
    normal[np.arange(n), axis] = np.where(positive, -1.0, 1.0)
    albedo = WALLS[2 * axis + positive]
    point = origin + t[:, None] * dirs
    # A stripe texture on the room: albedo varies within each surface too.
    albedo = albedo * (0.85 + 0.15 * (np.sin(7.0 * point.sum(axis=1)) > 0))[:, None]

    # The ball.
    oc = origin - BALL_CENTRE
    b = dirs @ oc
    disc = b * b - (np.sum(dirs * dirs, axis=1) * (oc @ oc - BALL_RADIUS**2))
    t_ball = np.where(disc > 0, (-b - np.sqrt(np.maximum(disc, 0))) / np.sum(dirs * dirs, axis=1), np.inf)
    hit = (t_ball > 0) & (t_ball < t)
    t = np.where(hit, t_ball, t)
    normal[hit] = (origin + t_ball[hit, None] * dirs[hit] - BALL_CENTRE) / BALL_RADIUS
    albedo[hit] = BALL_ALBEDO

    # The column: a vertical cylinder on the floor with a flat top.
    o2, d2 = origin[[0, 2]] - COLUMN_CENTRE[[0, 2]], dirs[:, [0, 2]]
    a = np.sum(d2 * d2, axis=1)
    b = d2 @ o2
    disc = b * b - a * (o2 @ o2 - COLUMN_RADIUS**2)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_side = np.where(disc > 0, (-b - np.sqrt(np.maximum(disc, 0))) / a, np.inf)
        t_top = (COLUMN_HEIGHT - origin[1]) / dirs[:, 1]
    y_side = origin[1] + t_side * dirs[:, 1]
    side = (t_side > 0) & (y_side >= 0) & (y_side <= COLUMN_HEIGHT) & (t_side < t)
    t = np.where(side, t_side, t)
    p_side = origin + t_side[side, None] * dirs[side]
    normal[side] = np.column_stack([p_side[:, 0] - COLUMN_CENTRE[0], np.zeros(side.sum()), p_side[:, 2] - COLUMN_CENTRE[2]]) / COLUMN_RADIUS
    albedo[side] = COLUMN_ALBEDO
    p_top = origin + np.where(np.isfinite(t_top), t_top, 0.0)[:, None] * dirs
    top = (t_top > 0) & (np.hypot(p_top[:, 0] - COLUMN_CENTRE[0], p_top[:, 2] - COLUMN_CENTRE[2]) <= COLUMN_RADIUS) & (t_top < t)
    t = np.where(top, t_top, t)
    normal[top] = (0.0, 1.0, 0.0)
    albedo[top] = COLUMN_ALBEDO
    return t, normal, albedo


def room_shot(*, encoding: str = "linear", key: bool = True, num_views: int = 6):
    """(frames, track, exact depth) of the room seen from ``num_views`` cameras at the back of it."""
    k = np.array([[FOCAL, 0, WIDTH / 2], [0, FOCAL, HEIGHT / 2], [0, 0, 1.0]])
    cols, rows = np.meshgrid(np.arange(WIDTH) + 0.5, np.arange(HEIGHT) + 0.5)
    rays_cam = np.column_stack([(cols.ravel() - k[0, 2]) / FOCAL, (rows.ravel() - k[1, 2]) / FOCAL, np.ones(cols.size)])
    images, maps, poses = [], [], []
    for i in range(num_views):
        s = i / max(num_views - 1, 1)
        eye = np.array([-1.2 + 2.4 * s, 1.5 + 0.2 * np.sin(3 * s), 2.6 - 0.4 * s])
        target = np.array([0.6 - 1.2 * s, 0.7, -2.0])
        pose = _look_at(eye, target)
        dirs = rays_cam @ pose[:3, :3].T  # camera z = 1: t is the z-depth
        t, normal, albedo = _cast(pose[:3, 3], dirs)
        shade = AMBIENT + (DIFFUSE * np.maximum(normal @ LIGHT, 0.0) if key else 0.0)
        colour = np.clip(albedo * np.asarray(shade)[..., None] if key else albedo * AMBIENT * 1.8, 0.0, 1.0)
        if encoding == "srgb":
            colour = np.where(colour <= 0.0031308, 12.92 * colour, 1.055 * colour ** (1 / 2.4) - 0.055)
        images.append(np.rint(colour * 255).astype(np.uint8).reshape(HEIGHT, WIDTH, 3))
        depth = t.reshape(HEIGHT, WIDTH).astype(np.float32)
        maps.append(DepthMap(depth=depth, confidence=np.ones_like(depth), frame_number=10 + 2 * i))
        poses.append(pose)
    numbers = 10 + 2 * np.arange(num_views)
    frames = Frames(images=np.stack(images), fps=24.0, frame_numbers=numbers)
    intrinsics = Intrinsics(K=k, width=WIDTH, height=HEIGHT)
    track = CameraTrack(
        intrinsics=(intrinsics,) * num_views, world_from_cam=np.stack(poses), frame_numbers=numbers, fps=24.0,
        status=np.zeros(num_views, np.int8),
    )
    return frames, track, DepthMaps(maps)


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip(a @ b / np.linalg.norm(a) / np.linalg.norm(b), -1.0, 1.0))))


@pytest.fixture(scope="module", params=["linear", "srgb"])
def lit(request):
    frames, track, depths = room_shot(encoding=request.param)
    return build_light_probe(frames, track, depths, config=LightProbeConfig(encoding=request.param, height=64)), request.param


def test_key_light_direction_and_strength_are_found(lit):
    probe, encoding = lit
    assert isinstance(probe, LightProbe) and probe.encoding == encoding
    assert probe.key_direction is not None
    assert _angle_deg(probe.key_direction, LIGHT) < 4.0
    # π·ambient : key irradiance is the shading's a : b, whatever the albedos.
    assert probe.ambient_to_key == pytest.approx(AMBIENT / DIFFUSE, rel=0.15)
    assert np.all(probe.key_irradiance > 0)


def test_map_is_seen_in_part_and_filled_elsewhere(lit):
    probe, _ = lit
    assert probe.radiance.shape == (64, 128, 3) and probe.seen.shape == (64, 128)
    share = float((equirect_solid_angles(64) * probe.seen).sum() / (4 * np.pi))
    assert 0.1 < share < 0.8  # the cameras see the front of the room, not its back
    unseen = probe.radiance[~probe.seen]
    assert np.all(np.isfinite(unseen)) and np.all(unseen >= 0)
    assert np.median(unseen.sum(axis=1)) > 0.1 * np.median(probe.radiance[probe.seen].sum(axis=1))  # not black
    # The floor (dark wood) is below, the bright ceiling is unseen and filled: the map's lower
    # half is seen more than its upper half.
    assert probe.seen[32:].mean() > probe.seen[:32].mean()


def test_diffuse_lighting_from_the_sh_matches_ambient_plus_key(lit):
    probe, _ = lit
    facing, away = probe.irradiance(np.stack([probe.key_direction, -probe.key_direction]))
    expected_facing = np.pi * probe.ambient_radiance + probe.key_irradiance
    # Order-2 SH of a disc light and a non-uniform ambient: a few tens of percent, not more.
    np.testing.assert_allclose(facing, expected_facing, rtol=0.3)
    assert np.all(facing > away)


def test_uniformly_lit_room_has_no_key_light():
    frames, track, depths = room_shot(key=False)
    probe = build_light_probe(frames, track, depths, config=LightProbeConfig(encoding="linear", height=32))
    assert probe.key_direction is None
    assert np.all(probe.key_irradiance == 0)
    assert probe.ambient_to_key == float("inf")
    np.testing.assert_allclose(probe.sh[0], probe.ambient_radiance * np.sqrt(4 * np.pi), rtol=1e-6)


def test_depth_of_some_frames_and_excluded_pixels():
    frames, track, depths = room_shot(num_views=4)
    some = DepthMaps([depths[n] for n in depths.frame_numbers[::2]])
    probe = build_light_probe(frames, track, some, config=LightProbeConfig(encoding="linear", height=16))
    assert probe.seen.any()
    everything = {n: np.ones((HEIGHT, WIDTH), bool) for n in frames.frame_numbers}
    with pytest.raises(SolveError):
        build_light_probe(frames, track, depths, config=LightProbeConfig(height=16), exclude=everything)


def test_bad_input_is_refused():
    frames, track, depths = room_shot(num_views=2)
    with pytest.raises(InputError):
        LightProbeConfig(encoding="gamma")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        LightProbeConfig(height=2)
    with pytest.raises(InputError):
        LightProbeConfig(centre=(0.0, np.nan, 0.0))
    with pytest.raises(InputError):
        build_light_probe(frames, track, DepthMaps())
    with pytest.raises(InputError):
        build_light_probe(frames, track, depths, config="srgb")  # type: ignore[arg-type]


def test_given_centre_is_used():
    frames, track, depths = room_shot(num_views=2)
    probe = build_light_probe(frames, track, depths, config=LightProbeConfig(height=16, centre=(0.0, 1.0, 0.0)))
    np.testing.assert_array_equal(probe.centre_in_world, [0.0, 1.0, 0.0])


def test_painted_key_disc_gives_the_key_irradiance():
    height = 64
    directions, solid = equirect_directions(height), equirect_solid_angles(height)
    for direction in (LIGHT, np.array([0.0, 1.0, 0.0]), np.array([0.0, -0.2, -1.0]) / np.hypot(0.2, 1.0)):
        disc = _key_disc(direction, np.array([1.0, 2.0, 3.0]), directions, solid, 5.0)
        irradiance = np.einsum("hwc,hw->c", disc, np.maximum(directions @ direction, 0.0) * solid)
        np.testing.assert_allclose(irradiance, [1.0, 2.0, 3.0], rtol=1e-9)
        assert np.degrees(np.arccos(directions[disc[..., 0] > 0] @ direction)).max() <= 5.0
