"""Lifting tracked objects: static/moving classification, the static fused layer, the moving
2.5D layer on one topology, instance maps, and the layers through USD — on the demo room's
exact renders and on a synthetic clip of a square sliding in front of a wall."""

from __future__ import annotations

import numpy as np
import pytest

from sceneforge.reconstruct import TrackedMasks, classify_static, instance_maps, lift_object, lift_objects
from sceneforge.scenegraph import (
    CameraTrack,
    DepthMap,
    DepthMaps,
    Frames,
    InputError,
    Intrinsics,
    ObjectLayer,
    Scene,
    read_scene_meshes,
    scene_summary,
    validate_stage,
    write_scene,
)

from tests.reconstruct.surface.test_surface import demo_views

WIDTH, HEIGHT, NUM_FRAMES = 320, 180, 12


def tracked_from_instances(instances: np.ndarray, instance_id: int, name: str, frame_numbers: np.ndarray) -> TrackedMasks:
    masks = instances == instance_id
    quality = np.where(masks.reshape(len(masks), -1).any(axis=1), 1.0, 0.0).astype(np.float32)
    return TrackedMasks(name=name, masks=masks, quality=quality, prompt_frame=0, frame_numbers=frame_numbers)


@pytest.fixture(scope="module")
def room(demo_module):
    """12 exact views of the demo room at 320×180 and every object's exact masks."""
    frames, track, depths, instances = demo_views(demo_module, NUM_FRAMES, width=WIDTH, height=HEIGHT)
    tracked = {
        obj["name"]: tracked_from_instances(instances, obj["instance_id"], obj["name"], frames.frame_numbers)
        for obj in demo_module.OBJECTS
    }
    return frames, track, depths, instances, tracked


# --------------------------------------------------------------------------- a square sliding past a wall

SQUARE_HALF = 0.3
SQUARE_Z = -1.5  # world z of the square's plane
WALL_Z = -3.0
SQUARE_Y = 1.0


def square_centres(n: int) -> np.ndarray:
    """World x of the square's centre per frame; frame 0 is far off to the left (out of view)."""
    xs = np.linspace(-0.9, 0.9, n)
    xs[0] = -3.0
    return xs


def _pattern(a: np.ndarray, b: np.ndarray, colours: tuple) -> np.ndarray:
    """A two-colour checker of 0.1 m cells on surface coordinates (metres)."""
    odd = ((np.floor(a / 0.1) + np.floor(b / 0.1)) % 2).astype(bool)
    return np.where(odd[..., None], np.asarray(colours[0], np.uint8), np.asarray(colours[1], np.uint8))


def square_clip(n: int = NUM_FRAMES, width: int = 160, height: int = 120):
    """A camera dollying slightly right (and yawing 2°) in front of a checkered wall at z = -3,
    a checkered 0.6 m square sliding along +X at z = -1.5. Exact rgb, z-depth and masks.

    Returns (frames, track, depths, tracked, centres).
    """
    from sceneforge.scenegraph import rotation_about_axis

    k = Intrinsics.from_focal(focal_px=120.0, width=width, height=height)
    centres = square_centres(n)
    images, depths, masks, poses = [], {}, [], []
    cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    pixels = np.column_stack([cols.ravel(), rows.ravel()])
    rays_cam = k.unproject(pixels, np.ones(len(pixels)))  # z = 1
    for i in range(n):
        pose = np.eye(4)
        pose[:3, :3] = rotation_about_axis(np.array([0.0, 1.0, 0.0]), np.radians(2.0 * i / n)) @ np.diag([1.0, -1.0, -1.0])
        pose[:3, 3] = (0.02 * i, SQUARE_Y, 1.0)
        poses.append(pose)
        dirs = rays_cam @ pose[:3, :3].T  # world direction per unit camera z
        origin = pose[:3, 3]
        t_square = (SQUARE_Z - origin[2]) / dirs[:, 2]
        hit = origin + t_square[:, None] * dirs
        on_square = (np.abs(hit[:, 0] - centres[i]) <= SQUARE_HALF) & (np.abs(hit[:, 1] - SQUARE_Y) <= SQUARE_HALF)
        t_wall = (WALL_Z - origin[2]) / dirs[:, 2]
        wall = origin + t_wall[:, None] * dirs
        t = np.where(on_square, t_square, t_wall)  # z-depth: rays have unit camera z
        rgb = np.where(
            on_square[:, None],
            _pattern(hit[:, 0] - centres[i], hit[:, 1], ((230, 40, 40), (250, 220, 30))),
            _pattern(wall[:, 0], wall[:, 1], ((40, 60, 200), (200, 200, 200))),
        )
        images.append(rgb.reshape(height, width, 3).astype(np.uint8))
        depths[i] = DepthMap(depth=t.reshape(height, width).astype(np.float32), confidence=np.ones((height, width), np.float32), frame_number=i)
        masks.append(on_square.reshape(height, width))
    numbers = np.arange(n, dtype=np.int64)
    frames = Frames(images=np.stack(images), fps=24.0, frame_numbers=numbers)
    track = CameraTrack(
        intrinsics=(k,) * n, world_from_cam=np.stack(poses), frame_numbers=numbers, fps=24.0, status=np.zeros(n, np.int8)
    )
    masks = np.stack(masks)
    quality = np.where(masks.reshape(n, -1).any(axis=1), 0.9, 0.0).astype(np.float32)
    tracked = TrackedMasks(name="square", masks=masks, quality=quality, prompt_frame=5, frame_numbers=numbers)
    return frames, track, depths, tracked, centres


@pytest.fixture(scope="module")
def sliding():
    return square_clip()


@pytest.fixture(scope="module")
def crate_layer(room):
    frames, track, depths, _, tracked = room
    return lift_object(frames, track, depths, tracked["crate"], instance_id=2, texture_size=256, threads=1)


@pytest.fixture(scope="module")
def square_layer(sliding):
    frames, track, depths, tracked, _ = sliding
    return lift_object(frames, track, depths, tracked, instance_id=1, grid_size=32, texture_size=128)


def _world(layer: ObjectLayer, local: np.ndarray) -> np.ndarray:
    m = layer.world_from_local
    return local @ m[:3, :3].T + m[:3, 3]


def _true_box(obj: dict, demo) -> tuple[np.ndarray, np.ndarray]:
    """World-aligned bounding box of one of the demo's yawed boxes."""
    half = 0.5 * np.asarray(obj["size_m"])
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]) * half
    world = corners @ demo._rot_y(obj["yaw_deg"]).T + np.asarray(obj["center_m"])
    return world.min(axis=0), world.max(axis=0)


# --------------------------------------------------------------------------------------- classify


def test_demo_objects_are_static(room):
    _, track, depths, _, tracked = room
    for name, masks in tracked.items():
        static, score = classify_static(masks, depths, track)
        assert static, (name, score)
        assert score > 0.9, (name, score)


def test_sliding_square_is_moving(sliding):
    _, track, depths, tracked, _ = sliding
    static, score = classify_static(tracked, depths, track)
    assert not static and score < 0.5


def test_a_wall_patch_seen_by_a_moving_camera_is_static(sliding):
    # The same clip's wall, where the square never is: static although the camera moves.
    _, track, depths, tracked, _ = sliding
    patch = np.zeros_like(tracked.masks)
    patch[:, 5:25, 5:30] = True
    patch &= ~tracked.masks
    wall = TrackedMasks(name="wall", masks=patch, quality=np.ones(len(patch), np.float32), prompt_frame=0, frame_numbers=tracked.frame_numbers)
    static, score = classify_static(wall, depths, track)
    assert static and score > 0.9


def test_one_frame_gives_no_evidence(sliding):
    _, track, depths, tracked, _ = sliding
    static, score = classify_static(tracked, {3: depths[3]}, track)
    assert static and np.isnan(score)


# --------------------------------------------------------------------------------------- static


def test_static_crate_matches_its_true_box(crate_layer, room, demo_module):
    obj = next(o for o in demo_module.OBJECTS if o["name"] == "crate")
    low, high = _true_box(obj, demo_module)
    layer = crate_layer
    assert layer.static and layer.name == "crate" and layer.instance_id == 2
    world = _world(layer, layer.mesh.vertices)
    np.testing.assert_allclose(world.min(axis=0), low, atol=0.04)
    np.testing.assert_allclose(world.max(axis=0), high, atol=0.04)
    # The anchor is the bottom centre of the box, axes along the world's.
    np.testing.assert_allclose(layer.world_from_local[:3, :3], np.eye(3))
    np.testing.assert_allclose(layer.world_from_local[:3, 3], [obj["center_m"][0], 0.0, obj["center_m"][2]], atol=0.04)
    assert layer.mesh.vertices[:, 1].min() == pytest.approx(0.0, abs=1e-9)
    assert layer.stats["size"] == pytest.approx((high - low).tolist(), abs=0.06)
    # Textured from the crate's own pixels; seen on every frame of the exact masks.
    assert layer.mesh.texture is not None and layer.mesh.uv is not None
    _, track, _, instances, _ = room
    assert layer.stats["frames_visible"] == int((instances == 2).any(axis=(1, 2)).sum())
    assert layer.stats["mask_quality_mean"] == pytest.approx(1.0)
    assert layer.stats["static_score"] > 0.9


def test_static_crate_surface_lies_on_the_crate(crate_layer, demo_module):
    from tests.reconstruct.surface.test_surface import object_sdf

    obj = next(o for o in demo_module.OBJECTS if o["name"] == "crate")
    distance = np.abs(object_sdf(_world(crate_layer, crate_layer.mesh.vertices), obj, demo_module))
    assert np.percentile(distance, 95) < 0.03


def test_tiny_object_falls_back_to_its_best_frame_surface(sliding):
    frames, track, depths, tracked, _ = sliding
    patch = np.zeros_like(tracked.masks)
    patch[:, 10:15, 10:15] = True  # 5×5 px of wall: too few voxels across for a TSDF
    patch &= ~tracked.masks
    speck = TrackedMasks(name="speck 1", masks=patch, quality=np.ones(len(patch), np.float32), prompt_frame=0, frame_numbers=tracked.frame_numbers)
    layer = lift_object(frames, track, depths, speck, static=True, texture_size=64, min_area_px=4)
    assert layer.name == "speck_1" and layer.static and layer.mesh.num_faces > 0
    world = _world(layer, layer.mesh.vertices)
    np.testing.assert_allclose(world[:, 2], WALL_Z, atol=1e-5)
    assert layer.mesh.texture.shape[0] <= 10 and layer.mesh.texture.shape[1] <= 10  # cropped, not the frame


# --------------------------------------------------------------------------------------- moving


def test_moving_square_layer_follows_the_square(square_layer, sliding):
    _, track, _, tracked, centres = sliding
    layer = square_layer
    assert not layer.static and layer.stats["static_score"] < 0.5
    visible = np.flatnonzero(tracked.area_px >= 16)
    np.testing.assert_array_equal(layer.frame_numbers, track.frame_numbers[visible])
    assert 0 not in layer.frame_numbers  # off screen on frame 0
    assert layer.vertices_per_frame.shape == (len(visible), layer.mesh.num_vertices, 3)
    assert layer.textures_per_frame.shape[0] == len(visible)
    for k, index in enumerate(visible):
        world = _world(layer, layer.vertices_per_frame[k].astype(np.float64))
        # A grid point takes the depth of the pixel it falls in: off by the 2° yaw's slope over half a pixel.
        np.testing.assert_allclose(world[:, 2], SQUARE_Z, atol=2e-3)
        # Whole cells: the grid's box edge may overhang the square by up to a pixel's footprint.
        low, high = world.min(axis=0), world.max(axis=0)
        footprint = 2.5 / 120.0
        assert low[0] == pytest.approx(centres[index] - SQUARE_HALF, abs=footprint)
        assert high[0] == pytest.approx(centres[index] + SQUARE_HALF, abs=footprint)
        assert low[1] == pytest.approx(SQUARE_Y - SQUARE_HALF, abs=footprint)
        assert high[1] == pytest.approx(SQUARE_Y + SQUARE_HALF, abs=footprint)
    np.testing.assert_allclose(layer.stats["size"], [0.6, 0.6, 0.0], atol=0.05)
    assert layer.stats["frames_visible"] == len(visible) and layer.stats["first_frame"] == 1


def test_moving_square_texture_is_each_frames_crop(square_layer):
    layer = square_layer
    # The square's checker is red and yellow; the wall (blue/grey) must not show.
    for texture in layer.textures_per_frame:
        red_or_yellow = (texture[..., 0] > 180) & (texture[..., 2] < 80)
        assert red_or_yellow.mean() > 0.9
    np.testing.assert_array_equal(layer.mesh.texture, layer.textures_per_frame[0])
    assert layer.mesh.uv.min() >= 0.0 and layer.mesh.uv.max() <= 1.0


def test_one_topology_and_the_face_budget(sliding):
    frames, track, depths, tracked, _ = sliding
    layer = lift_object(frames, track, depths, tracked, static=False, max_faces=200, texture_size=64)
    assert layer.mesh.num_faces <= 200
    assert layer.vertices_per_frame.shape[1] == layer.mesh.num_vertices
    assert layer.textures_per_frame.shape[1:3] == layer.mesh.texture.shape[:2]


# --------------------------------------------------------------------------------------- many objects


def test_lift_objects_numbers_and_names(sliding):
    frames, track, depths, tracked, _ = sliding
    twin = TrackedMasks(name="square", masks=tracked.masks, quality=tracked.quality, prompt_frame=5, frame_numbers=tracked.frame_numbers)
    layers = lift_objects(frames, track, depths, [tracked, twin], static=[False, False], grid_size=8, texture_size=64)
    assert [(layer.name, layer.instance_id) for layer in layers] == [("square", 1), ("square_2", 2)]
    with pytest.raises(InputError, match="one entry per object"):
        lift_objects(frames, track, depths, [tracked], static=[True, False])


def test_instance_maps_are_the_exact_maps_and_resolve_overlaps(room):
    frames, _, _, instances, tracked = room
    ordered = [tracked[name] for name in ("table", "crate", "ball", "column")]
    maps = instance_maps(ordered, len(frames))
    assert maps.dtype == np.int32 and maps.shape == instances.shape
    np.testing.assert_array_equal(maps, instances)

    n, h, w = 2, 4, 4
    numbers = np.arange(n, dtype=np.int64)
    full = np.ones((n, h, w), dtype=bool)
    a = TrackedMasks(name="a", masks=full, quality=np.array([0.9, 0.5], np.float32), prompt_frame=0, frame_numbers=numbers)
    b = TrackedMasks(name="b", masks=full, quality=np.array([0.5, 0.5], np.float32), prompt_frame=0, frame_numbers=numbers)
    maps = instance_maps([a, b], n)
    assert np.all(maps[0] == 1)  # a is surer on frame 0
    assert np.all(maps[1] == 2)  # a tie: the later object wins
    assert instance_maps([], 3, image_size=(5, 4)).shape == (3, 4, 5)
    with pytest.raises(InputError, match="image_size"):
        instance_maps([], 3)
    with pytest.raises(InputError, match="masks of"):
        instance_maps([a], 5)


def test_bad_inputs_raise_typed_errors(sliding, room):
    frames, track, depths, tracked, _ = sliding
    with pytest.raises(InputError, match="frame index"):
        lift_object(frames, track, [DepthMap(depth=depths[3].depth, confidence=depths[3].confidence, frame_number=999)], tracked)
    with pytest.raises(InputError, match="texture_size"):
        lift_object(frames, track, depths, tracked, texture_size=10)
    _, demo_track, demo_depths, _, demo_tracked = room
    with pytest.raises(InputError, match="tracked on the track"):
        classify_static(demo_tracked["crate"], depths, track)
    with pytest.raises(InputError, match="TrackedMasks"):
        classify_static(tracked.masks, depths, track)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------- through USD


def test_static_layer_round_trips_through_usd_and_edits(crate_layer, room, tmp_path):
    _, track, _, _, _ = room
    write_scene(tmp_path, track, objects=[crate_layer])
    assert validate_stage(tmp_path / "scene.usda").ok
    meshes = {m.name: m for m in read_scene_meshes(tmp_path, time=float(track.frame_numbers[3]))}
    got = meshes["crate_mesh"]
    world = got.mesh.vertices @ got.world_from_local[:3, :3].T + got.world_from_local[:3, 3]
    expected = _world(crate_layer, crate_layer.mesh.vertices)
    np.testing.assert_allclose(world.min(axis=0), expected.min(axis=0), atol=1e-5)
    np.testing.assert_allclose(world.max(axis=0), expected.max(axis=0), atol=1e-5)
    scene = Scene.open(tmp_path)
    scene.objects["crate"].translate((0.0, 0.0, 1.0))
    moved = {m.name: m for m in read_scene_meshes(scene.stage)}["crate_mesh"]
    assert moved.world_from_local[2, 3] == pytest.approx(crate_layer.world_from_local[2, 3] + 1.0)
    (info,) = scene_summary(tmp_path)["objects"]
    assert info["static"] is True and info["frames_visible"] == crate_layer.stats["frames_visible"]


def test_moving_layer_plays_back_through_usd(square_layer, sliding, tmp_path):
    _, track, _, _, _ = sliding
    write_scene(tmp_path, track, objects=[square_layer])
    result = validate_stage(tmp_path / "scene.usda")
    assert result.ok, result.errors
    for number in track.frame_numbers:
        meshes = {m.name: m for m in read_scene_meshes(tmp_path, time=float(number))}
        if number not in square_layer.frame_numbers:
            assert "square_mesh" not in meshes
            continue
        k = int(np.flatnonzero(square_layer.frame_numbers == number)[0])
        got = meshes["square_mesh"]
        world = got.mesh.vertices @ got.world_from_local[:3, :3].T + got.world_from_local[:3, 3]
        expected = _world(square_layer, square_layer.vertices_per_frame[k].astype(np.float64))
        np.testing.assert_allclose(np.sort(world, axis=0), np.sort(expected, axis=0), atol=1e-5)
        np.testing.assert_array_equal(got.mesh.texture, square_layer.textures_per_frame[k])
    (info,) = scene_summary(tmp_path)["objects"]
    assert info["static"] is False and info["first_frame"] == int(square_layer.frame_numbers[0])


def test_a_moving_layer_takes_each_frames_outline(sliding, tmp_path):
    """The square loses its top-right quarter on odd frames (an L, like an arm folded away):
    those frames hide the faces over the missing quarter, and the layer through USD covers
    only what the mask does."""
    frames, track, depths, tracked, _ = sliding
    masks = tracked.masks.copy()
    for i in range(1, len(masks), 2):
        rows, cols = np.flatnonzero(masks[i].any(axis=1)), np.flatnonzero(masks[i].any(axis=0))
        if len(cols):
            masks[i][: (rows[0] + rows[-1]) // 2 + 1, (cols[0] + cols[-1]) // 2 + 1:] = False
    shaped = TrackedMasks(name="square", masks=masks, quality=tracked.quality, prompt_frame=5, frame_numbers=tracked.frame_numbers)
    layer = lift_object(frames, track, depths, shaped, static=False, instance_id=1, grid_size=32, texture_size=64)
    hidden = layer.hidden_faces_per_frame
    assert hidden is not None and hidden.shape == (len(layer.frame_numbers), layer.mesh.num_faces)
    odd = layer.frame_numbers % 2 == 1
    assert hidden[~odd].mean() < 0.05 and 0.15 < hidden[odd].mean() < 0.35
    write_scene(tmp_path, track, objects=[layer])
    for k, number in enumerate(layer.frame_numbers):
        (got,) = [m for m in read_scene_meshes(tmp_path, time=float(number)) if m.name == "square_mesh"]
        assert got.mesh.num_faces == int((~hidden[k]).sum())
        world = got.mesh.vertices @ got.world_from_local[:3, :3].T + got.world_from_local[:3, 3]
        # projected into the frame, the drawn faces' centres lie on the frame's mask
        cam = (world - track.world_from_cam[number][:3, 3]) @ track.world_from_cam[number][:3, :3]
        uv = track.intrinsics[number].project(cam)
        centres = uv[got.mesh.faces].mean(axis=1)
        on = masks[number][np.clip(centres[:, 1].astype(int), 0, 119), np.clip(centres[:, 0].astype(int), 0, 159)]
        assert on.mean() > 0.97
    with pytest.raises(InputError, match="hides every face"):
        ObjectLayer(name="square", instance_id=1, static=False, world_from_local=layer.world_from_local, mesh=layer.mesh,
                    frame_numbers=layer.frame_numbers, vertices_per_frame=layer.vertices_per_frame,
                    hidden_faces_per_frame=np.ones_like(hidden))


# --------------------------------------------------------------------------------------- no stereo depth: cards


def _without_depth_on(depths: DepthMaps, masks: np.ndarray) -> DepthMaps:
    """``depths`` with nothing on ``masks``: what multi-view stereo leaves on a moving object.

    ``depths`` covers every frame, so its i-th map (by frame number) is frame index i's.
    """
    return DepthMaps(
        DepthMap(depth=np.where(masks[i], 0, d.depth).astype(np.float32), confidence=d.confidence, frame_number=d.frame_number)
        for i, d in enumerate(DepthMaps.of(depths).values())
    )


def test_square_without_stereo_depth_is_moving_on_its_cards(sliding):
    frames, track, depths, tracked, _ = sliding
    holed = _without_depth_on(depths, tracked.masks)
    static, score = classify_static(tracked, holed, track)
    assert not static and score < 0.5
    layer = lift_object(frames, track, holed, tracked, instance_id=1, grid_size=16, texture_size=64)
    visible = np.flatnonzero(tracked.area_px >= 16)
    assert not layer.static
    assert layer.stats["card_frames"] == track.frame_numbers[visible].tolist()
    np.testing.assert_array_equal(layer.frame_numbers, track.frame_numbers[visible])
    centres_x = []
    for k in range(len(visible)):
        world = _world(layer, layer.vertices_per_frame[k].astype(np.float64))
        # The card stands at the depth of the wall around the square (the camera yaws 2°).
        np.testing.assert_allclose(world[:, 2], WALL_Z, atol=0.1)
        centres_x.append(world[:, 0].mean())
    assert np.all(np.diff(centres_x) > 0)  # it follows the square's slide


def test_static_objects_without_stereo_depth_stay_static_on_their_cards(room, sliding):
    _, track, depths, _, tracked = room
    for name, masks in tracked.items():
        static, score = classify_static(masks, _without_depth_on(depths, masks.masks), track)
        assert static and score > 0.85, (name, score)
    _, track, depths, square, _ = sliding
    patch = np.zeros_like(square.masks)
    patch[:, 5:25, 5:30] = True
    patch &= ~square.masks
    wall = TrackedMasks(name="wall", masks=patch, quality=np.ones(len(patch), np.float32), prompt_frame=0, frame_numbers=square.frame_numbers)
    static, score = classify_static(wall, _without_depth_on(depths, patch), track)
    assert static and score > 0.85


def test_static_object_without_stereo_depth_gets_its_best_cards_surface(room, crate_layer):
    frames, track, depths, _, tracked = room
    crate = tracked["crate"]
    layer = lift_object(frames, track, _without_depth_on(depths, crate.masks), crate, static=True, texture_size=64)
    assert layer.static and layer.mesh.num_faces > 0 and layer.mesh.texture is not None
    assert len(layer.stats["card_frames"]) == layer.stats["frames_visible"]
    # Objects with their own depth use no card.
    assert crate_layer.stats["card_frames"] == []
