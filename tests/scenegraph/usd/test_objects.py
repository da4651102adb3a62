"""Object layers in USD: the ObjectLayer type, authoring static and moving objects, reading
them back through read_scene_meshes at every time, editing them through Scene, validators."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pxr import Kind, Sdf, Usd, UsdGeom, UsdShade

from sceneforge.scenegraph import (
    CameraTrack,
    InputError,
    Intrinsics,
    ObjectLayer,
    Scene,
    ShapeError,
    TexturedMesh,
    author_object_layer,
    make_transform,
    read_object_layers,
    read_scene_meshes,
    scene_summary,
    validate_stage,
    write_scene,
)
from sceneforge.scenegraph.usd._png import read_image

FRAMES = np.arange(1001, 1007, dtype=np.int64)  # the clip: 1001..1006
SEEN = np.array([1002, 1003, 1004], dtype=np.int64)  # the moving object's track
CRATE_AT = np.array([1.0, 0.0, -2.0])
BALL_AT = np.array([-1.0, 0.5, -2.0])
STEP = np.array([0.1, 0.0, 0.0])  # the ball's motion per frame, local coordinates


def _track() -> CameraTrack:
    pose = np.diag([1.0, -1.0, -1.0, 1.0])  # looking along world -Z, +Y up
    pose[:3, 3] = (0.0, 1.0, 3.0)
    k = Intrinsics.from_focal(focal_px=200.0, width=160, height=120)
    return CameraTrack(
        intrinsics=(k,) * len(FRAMES),
        world_from_cam=np.repeat(pose[None], len(FRAMES), axis=0),
        frame_numbers=FRAMES,
        fps=24.0,
        status=np.zeros(len(FRAMES), dtype=np.int8),
    )


def _box(size: tuple[float, float, float]) -> TexturedMesh:
    """A textured box standing on local y = 0, centred on local x and z (the static anchor's frame)."""
    hx, hy, hz = np.asarray(size) / 2.0
    corners = np.array([[x, y, z] for x in (-hx, hx) for y in (0.0, 2 * hy) for z in (-hz, hz)])
    faces = np.array(
        [[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
         [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]],
        dtype=np.int32,
    )
    uv = ((corners[:, [0, 2]] - corners[:, [0, 2]].min(axis=0)) / np.ptp(corners[:, [0, 2]], axis=0)).astype(np.float32)
    texture = np.random.default_rng(1).integers(0, 256, (8, 8, 3)).astype(np.uint8)
    return TexturedMesh(vertices=corners, faces=faces, uv=uv, texture=texture)


def crate_layer() -> ObjectLayer:
    return ObjectLayer(
        name="crate",
        instance_id=1,
        static=True,
        world_from_local=make_transform(np.eye(3), CRATE_AT),
        mesh=_box((0.6, 0.6, 0.6)),
        stats={"frames_visible": 6, "first_frame": 1001, "last_frame": 1006, "mask_quality_mean": 0.9},
    )


def ball_layer() -> ObjectLayer:
    """A moving quad (2 triangles) seen on SEEN, stepping by STEP each frame, one colour per frame."""
    quad = np.array([[-0.2, 0.0, 0.0], [0.2, 0.0, 0.0], [-0.2, 0.4, 0.0], [0.2, 0.4, 0.0]])
    per_frame = np.stack([quad + k * STEP for k in range(len(SEEN))]).astype(np.float32)
    uv = np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=np.float32)
    textures = np.stack([np.full((4, 4, 3), 60 * (k + 1), dtype=np.uint8) for k in range(len(SEEN))])
    mesh = TexturedMesh(
        vertices=per_frame[0].astype(np.float64),
        faces=np.array([[0, 1, 3], [0, 3, 2]], dtype=np.int32),
        uv=uv,
        texture=textures[0],
    )
    return ObjectLayer(
        name="ball",
        instance_id=2,
        static=False,
        world_from_local=make_transform(np.eye(3), BALL_AT),
        mesh=mesh,
        frame_numbers=SEEN,
        vertices_per_frame=per_frame,
        textures_per_frame=textures,
        stats={"mask_quality_mean": 0.75},
    )


@pytest.fixture()
def shot(tmp_path: Path) -> Path:
    folder = tmp_path / "shot"
    folder.mkdir()
    (folder / "instances").mkdir()
    paths = [f"instances/{n:06d}.npz" for n in FRAMES]
    for p in paths:
        np.savez(folder / p, instance=np.zeros((120, 160), dtype=np.int32))
    write_scene(folder, _track(), objects=[crate_layer(), ball_layer()], instance_paths=paths)
    return folder


def _by_name(meshes) -> dict:
    return {m.name: m for m in meshes}


def _world(scene_mesh) -> np.ndarray:
    m = scene_mesh.world_from_local
    return scene_mesh.mesh.vertices @ m[:3, :3].T + m[:3, 3]


# ------------------------------------------------------------------------------------ the type


def test_object_layer_fills_stats_from_the_mesh_and_frames():
    crate = crate_layer()
    assert crate.stats["size"] == pytest.approx([0.6, 0.6, 0.6])
    assert crate.stats["frames_visible"] == 6 and crate.stats["mask_quality_mean"] == 0.9
    ball = ball_layer()
    assert (ball.stats["first_frame"], ball.stats["last_frame"], ball.stats["frames_visible"]) == (1002, 1004, 3)
    assert ball.stats["size"] == pytest.approx([0.4, 0.4, 0.0])
    assert ball.mesh_name == "ball_mesh"


def test_object_layer_rejects_bad_input():
    crate, ball = crate_layer(), ball_layer()
    with pytest.raises(InputError, match="identifier"):
        ObjectLayer(name="my crate", instance_id=1, static=True, world_from_local=np.eye(4), mesh=crate.mesh)
    with pytest.raises(InputError, match="instance_id"):
        ObjectLayer(name="crate", instance_id=0, static=True, world_from_local=np.eye(4), mesh=crate.mesh)
    with pytest.raises(InputError, match="rigid|rotation"):
        ObjectLayer(name="crate", instance_id=1, static=True, world_from_local=np.diag([2.0, 1, 1, 1]), mesh=crate.mesh)
    with pytest.raises(InputError, match="must not have frame_numbers"):
        ObjectLayer(name="crate", instance_id=1, static=True, world_from_local=np.eye(4), mesh=crate.mesh, frame_numbers=SEEN)
    with pytest.raises(InputError, match="needs frame_numbers"):
        ObjectLayer(name="ball", instance_id=2, static=False, world_from_local=np.eye(4), mesh=ball.mesh)
    with pytest.raises(ShapeError, match="vertices_per_frame"):
        ObjectLayer(
            name="ball", instance_id=2, static=False, world_from_local=np.eye(4), mesh=ball.mesh,
            frame_numbers=SEEN, vertices_per_frame=ball.vertices_per_frame[:, :3],
        )
    with pytest.raises(InputError, match="strictly increasing"):
        ObjectLayer(
            name="ball", instance_id=2, static=False, world_from_local=np.eye(4), mesh=ball.mesh,
            frame_numbers=SEEN[::-1].copy(), vertices_per_frame=ball.vertices_per_frame,
        )
    with pytest.raises(InputError, match="size"):
        ObjectLayer(name="crate", instance_id=1, static=True, world_from_local=np.eye(4), mesh=crate.mesh, stats={"size": [1, 2]})


def test_write_scene_refuses_clashing_or_foreign_objects(tmp_path):
    with pytest.raises(InputError, match="unique"):
        write_scene(tmp_path, _track(), objects=[crate_layer(), crate_layer()])
    late = ball_layer()
    late = ObjectLayer(
        name="late", instance_id=3, static=False, world_from_local=np.eye(4), mesh=late.mesh,
        frame_numbers=SEEN + 10, vertices_per_frame=late.vertices_per_frame,
    )
    with pytest.raises(InputError, match="not a frame of the camera track"):
        write_scene(tmp_path, _track(), objects=[late])
    with pytest.raises(InputError, match="instance_paths must have one path per frame"):
        write_scene(tmp_path, _track(), instance_paths=["a.npz"])
    with pytest.raises(InputError, match="sequence of ObjectLayer"):
        write_scene(tmp_path, _track(), objects=crate_layer())  # type: ignore[arg-type]
    assert not (tmp_path / "scene.usda").exists()


# ------------------------------------------------------------------------------------ the USD


def test_layout_kinds_transform_and_attributes(shot):
    stage = Usd.Stage.Open(str(shot / "scene.usda"))
    group = stage.GetPrimAtPath("/World/Objects")
    assert Usd.ModelAPI(group).GetKind() == Kind.Tokens.group
    assert [p.GetName() for p in group.GetChildren()] == ["crate", "ball"]
    crate = stage.GetPrimAtPath("/World/Objects/crate")
    assert Usd.ModelAPI(crate).GetKind() == Kind.Tokens.component
    ops = UsdGeom.Xformable(crate).GetOrderedXformOps()
    assert [op.GetOpName() for op in ops] == ["xformOp:transform"] and not ops[0].GetAttr().GetNumTimeSamples()
    np.testing.assert_allclose(np.array(ops[0].Get()).T[:3, 3], CRATE_AT)
    assert crate.GetAttribute("sceneforge:instanceId").Get() == 1
    assert crate.GetAttribute("sceneforge:static").Get() is True
    assert crate.GetAttribute("sceneforge:framesVisible").Get() == 6
    assert crate.GetAttribute("sceneforge:maskQuality").Get() == pytest.approx(0.9)
    assert tuple(crate.GetAttribute("sceneforge:frameRange").Get()) == (1001, 1006)
    assert stage.GetPrimAtPath("/World/Objects/crate/crate_mesh").IsA(UsdGeom.Mesh)
    assert (shot / "textures" / "crate_mesh.png").is_file()

    ball = stage.GetPrimAtPath("/World/Objects/ball")
    assert ball.GetAttribute("sceneforge:static").Get() is False
    mesh = UsdGeom.Mesh(stage.GetPrimAtPath("/World/Objects/ball/ball_mesh"))
    assert mesh.GetPointsAttr().GetTimeSamples() == [1002.0, 1003.0, 1004.0]
    assert mesh.GetExtentAttr().GetTimeSamples() == [1002.0, 1003.0, 1004.0]
    visibility = mesh.GetVisibilityAttr()
    assert {t: visibility.Get(t) for t in visibility.GetTimeSamples()} == {
        1001.0: "invisible", 1002.0: "inherited", 1003.0: "inherited", 1004.0: "inherited",
        1005.0: "invisible", 1006.0: "invisible",
    }
    assert UsdGeom.Imageable(ball).GetVisibilityAttr().Get() == "inherited"  # the Xform is the user's to hide
    texture = UsdShade.Shader(stage.GetPrimAtPath("/World/Looks/ball_mesh/Texture"))
    file_input = texture.GetInput("file")
    assert file_input.GetAttr().GetTimeSamples() == [1002.0, 1003.0, 1004.0]
    assert file_input.Get(1003).path == "./textures/ball/frame_001003.png"
    assert sorted(p.name for p in (shot / "textures" / "ball").iterdir()) == [f"frame_{n:06d}.png" for n in SEEN]
    assert not (shot / "textures" / "ball_mesh.png").exists()  # no stray copy of the first frame


def test_read_scene_meshes_places_the_static_and_plays_the_moving_object(shot):
    ball = ball_layer()
    for time in FRAMES:
        meshes = _by_name(read_scene_meshes(shot, time=float(time)))
        crate = meshes["crate_mesh"]
        low, high = _world(crate).min(axis=0), _world(crate).max(axis=0)
        np.testing.assert_allclose(low, CRATE_AT + [-0.3, 0.0, -0.3], atol=1e-6)
        np.testing.assert_allclose(high, CRATE_AT + [0.3, 0.6, 0.3], atol=1e-6)
        if time not in SEEN:
            assert "ball_mesh" not in meshes, time
            continue
        k = int(np.flatnonzero(SEEN == time)[0])
        got = meshes["ball_mesh"]
        expected = ball.vertices_per_frame[k].astype(np.float64) + BALL_AT
        np.testing.assert_allclose(_world(got)[np.argsort(got.mesh.vertices[:, 0] * 10 + got.mesh.vertices[:, 1])],
                                   expected[np.argsort(expected[:, 0] * 10 + expected[:, 1])], atol=1e-6)
        np.testing.assert_array_equal(got.mesh.texture, ball.textures_per_frame[k])
        assert got.texture_file.endswith(f"frame_{time:06d}.png")
    # Readers that ignore time see the first frame of the track.
    assert read_image(shot / "textures" / "ball" / "frame_001002.png")[0, 0, 0] == 60


def test_validators_are_clean(shot):
    result = validate_stage(shot / "scene.usda")
    assert result.ok, result.errors


def test_summary_lists_objects_and_instance_maps(shot):
    info = scene_summary(shot)
    assert info["instance_maps"] == len(FRAMES) and info["missing_instance_maps"] == 0
    assert info["depth_maps"] == 0
    objects = {o["name"]: o for o in info["objects"]}
    assert objects["crate"] == {
        "name": "crate", "prim": "/World/Objects/crate", "instance_id": 1, "static": True, "frames_visible": 6,
        "first_frame": 1001, "last_frame": 1006, "size": pytest.approx([0.6, 0.6, 0.6]), "mask_quality": pytest.approx(0.9),
    }
    assert objects["ball"]["static"] is False and objects["ball"]["frames_visible"] == 3
    assert (objects["ball"]["first_frame"], objects["ball"]["last_frame"]) == (1002, 1004)
    assert read_object_layers(shot) == info["objects"]
    stage = Usd.Stage.Open(str(shot / "scene.usda"))
    assets = stage.GetPrimAtPath("/World/Cameras/Plate").GetAttribute("sceneforge:instanceMaps").Get()
    assert [a.path for a in assets] == [f"./instances/{n:06d}.npz" for n in FRAMES]


def test_summary_measures_an_object_without_a_stored_size(shot, tmp_path):
    """A layer made by another tool has no ``sceneforge:size``: the summary measures its world bounds."""
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(shot, copy)
    layer = Sdf.Layer.FindOrOpen(str(copy / "reconstruction.usda"))
    crate = layer.GetPrimAtPath("/World/Objects/crate")
    crate.RemoveProperty(crate.properties["sceneforge:size"])
    layer.Save()
    objects = {o["name"]: o for o in scene_summary(copy)["objects"]}
    assert objects["crate"]["size"] == pytest.approx([0.6, 0.6, 0.6], abs=1e-6)


def test_scene_without_objects_summarises_empty(tmp_path):
    info = scene_summary(write_scene(tmp_path, _track()))
    assert info["objects"] == [] and info["instance_maps"] == 0


# ------------------------------------------------------------------------------------ editing


def test_scene_api_moves_a_static_object_with_one_transform_edit(shot):
    scene = Scene.open(shot)
    assert list(scene.objects) == ["crate", "ball"]
    crate = scene.objects["crate"]
    np.testing.assert_allclose(crate.position, CRATE_AT)
    crate.translate((0.5, 0.0, 0.25))
    scene.save()
    moved = _by_name(read_scene_meshes(shot, time=1003.0))["crate_mesh"]
    np.testing.assert_allclose(_world(moved).min(axis=0), CRATE_AT + [0.2, 0.0, -0.05], atol=1e-6)
    assert validate_stage(shot / "scene.usda").ok
    # The edit is in edits.usda; the reconstruction still holds the lifted anchor.
    assert "crate" in (shot / "edits.usda").read_text()
    recon = Usd.Stage.Open(Sdf.Layer.FindOrOpen(str(shot / "reconstruction.usda")))
    anchor = UsdGeom.Xformable(recon.GetPrimAtPath("/World/Objects/crate")).ComputeLocalToWorldTransform(Usd.TimeCode.Default())
    np.testing.assert_allclose(np.array(anchor).T[:3, 3], CRATE_AT)


def test_scene_api_sees_the_moving_object_over_time(shot):
    scene = Scene.open(shot)
    ball = scene.objects["ball"]
    bounds = {t: ball.world_bounds(time=float(t)) for t in SEEN}
    for k, t in enumerate(SEEN):
        np.testing.assert_allclose(bounds[t][0], BALL_AT + [-0.2, 0.0, 0.0] + k * STEP, atol=1e-6)
    ball.translate((0.0, 1.0, 0.0))  # moves the whole performance
    meshes = _by_name(read_scene_meshes(scene.stage, time=1004.0))
    assert _world(meshes["ball_mesh"])[:, 1].min() == pytest.approx(BALL_AT[1] + 1.0)
    ball.visible = False
    assert "ball_mesh" not in _by_name(read_scene_meshes(scene.stage, time=1003.0))
    ball.visible = True
    assert "ball_mesh" in _by_name(read_scene_meshes(scene.stage, time=1003.0))
    assert "ball_mesh" not in _by_name(read_scene_meshes(scene.stage, time=1006.0))  # still outside its track


def test_author_object_layer_on_a_bare_stage(tmp_path):
    stage = Usd.Stage.CreateNew(str(tmp_path / "bare.usda"))
    UsdGeom.Xform.Define(stage, "/World")
    author_object_layer(stage, ball_layer(), folder=tmp_path)  # no clip frames: hidden just outside its track
    visibility = UsdGeom.Mesh(stage.GetPrimAtPath("/World/Objects/ball/ball_mesh")).GetVisibilityAttr()
    assert visibility.Get(1001) == "invisible" and visibility.Get(1005) == "invisible"
    assert visibility.Get(1000) == "invisible" and visibility.Get(1002) == "inherited"
    with pytest.raises(InputError, match="ObjectLayer"):
        author_object_layer(stage, "ball", folder=tmp_path)  # type: ignore[arg-type]
