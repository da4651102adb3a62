"""The scene-editing API: opening, handles that write through, every edit, undo/redo, diff,
reset, save, validators — on small scenes built here with exact ground truth."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from pxr import Gf, Kind, Sdf, Usd, UsdGeom, UsdShade

from sceneforge.scenegraph import (
    BackgroundHandle,
    CameraTrack,
    InputError,
    Intrinsics,
    LightHandle,
    ObjectHandle,
    Scene,
    SceneEdit,
    SceneFileError,
    TexturedMesh,
    author_mesh,
    read_scene_meshes,
    validate_stage,
    write_scene,
)
from sceneforge.scenegraph.usd._png import write_png

# ------------------------------------------------------------------------------- scene builders

CAMERA_CENTRE = np.array([0.0, 2.0, 4.0])
LOOKED_AT_GROUND = np.array([0.0, 0.0, 2.0])  # the plate camera looks 45° down from CAMERA_CENTRE


def look_down_track(num_frames: int = 3) -> CameraTrack:
    """A camera at (0, 2, 4) looking 45° down towards -Z (OpenCV axes), drifting along +X."""
    forward = np.array([0.0, -1.0, -1.0]) / np.sqrt(2.0)
    right = np.array([1.0, 0.0, 0.0])
    down = np.cross(forward, right)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, down, forward, CAMERA_CENTRE
    poses = np.repeat(pose[None], num_frames, axis=0)
    poses[:, 0, 3] += np.arange(num_frames) * 0.01
    k = Intrinsics.from_focal(focal_px=300.0, width=320, height=240)
    return CameraTrack(
        intrinsics=(k,) * num_frames,
        world_from_cam=poses,
        frame_numbers=np.arange(num_frames, dtype=np.int64) + 1001,
        fps=24.0,
        status=np.zeros(num_frames, dtype=np.int8),
    )


def box_mesh(extents: tuple[float, float, float], *, textured: bool, seed: int = 0) -> TexturedMesh:
    """A box standing on its local y = 0, centred on the local x and z axes."""
    hx, hy, hz = np.asarray(extents) / 2.0
    corners = np.array([[x, y, z] for x in (-hx, hx) for y in (0.0, 2.0 * hy) for z in (-hz, hz)])
    faces = np.array(
        [[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
         [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]],
        dtype=np.int32,
    )
    if textured:
        xz = corners[:, [0, 2]]
        uv = ((xz - xz.min(axis=0)) / np.ptp(xz, axis=0)).astype(np.float32)
        texture = np.random.default_rng(seed).integers(0, 256, (8, 8, 3)).astype(np.uint8)
        return TexturedMesh(vertices=corners, faces=faces, uv=uv, texture=texture)
    colours = np.tile(np.array([[200, 30, 40]], dtype=np.uint8), (len(corners), 1))
    return TexturedMesh(vertices=corners, faces=faces, vertex_colors=colours)


def ground_mesh(size: float = 10.0) -> TexturedMesh:
    vertices = np.array([[-1, 0, -1], [1, 0, -1], [1, 0, 1], [-1, 0, 1]], dtype=np.float64) * size / 2.0
    faces = np.array([[0, 2, 1], [0, 3, 2]], dtype=np.int32)
    uv = np.array([[0, 1], [1, 1], [1, 0], [0, 0]], dtype=np.float32)
    return TexturedMesh(vertices=vertices, faces=faces, uv=uv, texture=np.full((4, 4, 3), 90, dtype=np.uint8))


CHAIR_AT = np.array([1.0, 0.0, 0.0])
LAMP_AT = np.array([-1.0, 0.0, -1.0])


def make_scene(
    folder: Path, *, background: bool = True, objects: bool = True, animated: bool = False, meters_per_unit: float = 1.0
) -> Path:
    """A SceneForge scene: camera, ground background, and in reconstruction.usda the objects
    ``chair`` (textured 0.5×1×0.5 box at CHAIR_AT) and ``lamp`` (vertex-coloured 0.2×1.5×0.2
    box at LAMP_AT), plus ``ball`` keyed at frames 1001 and 1003 when ``animated``."""
    folder = Path(folder)
    path = write_scene(
        folder, look_down_track(), background=ground_mesh() if background else None, meters_per_unit=meters_per_unit
    )
    if not objects:
        return path
    stage = Usd.Stage.Open(str(folder / "reconstruction.usda"))
    Usd.ModelAPI(UsdGeom.Xform.Define(stage, "/World/Objects").GetPrim()).SetKind(Kind.Tokens.group)
    things = [("chair", CHAIR_AT, box_mesh((0.5, 1.0, 0.5), textured=True)), ("lamp", LAMP_AT, box_mesh((0.2, 1.5, 0.2), textured=False))]
    if animated:
        things.append(("ball", None, box_mesh((0.3, 0.3, 0.3), textured=False)))
    for name, at, mesh in things:
        xform = UsdGeom.Xform.Define(stage, f"/World/Objects/{name}")
        Usd.ModelAPI(xform.GetPrim()).SetKind(Kind.Tokens.component)
        op = xform.AddTransformOp()
        if at is None:
            op.Set(Gf.Matrix4d(1).SetTranslate(Gf.Vec3d(0, 0, 0)), Usd.TimeCode(1001))
            op.Set(Gf.Matrix4d(1).SetTranslate(Gf.Vec3d(2, 0, 0)), Usd.TimeCode(1003))
        else:
            op.Set(Gf.Matrix4d(1).SetTranslate(Gf.Vec3d(*at)))
        author_mesh(stage, f"/World/Objects/{name}/mesh", mesh, folder=folder, name=name)
    stage.GetRootLayer().Save()
    return path


def files_bytes(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in ("scene.usda", "reconstruction.usda")}


def edits_text(scene: Scene) -> str:
    return scene.stage.GetEditTarget().GetLayer().ExportToString()


def reopen_copy(scene: Scene, tmp_path: Path) -> Scene:
    """Open what is on disk, in a fresh folder (USD shares layers by file path in a process)."""
    copy = tmp_path / f"copy_{len(list(tmp_path.glob('copy_*')))}"
    shutil.copytree(scene.folder, copy)
    return Scene.open(copy)


@pytest.fixture()
def shot(tmp_path: Path) -> Path:
    folder = tmp_path / "shot"
    folder.mkdir()
    make_scene(folder)
    return folder


@pytest.fixture()
def scene(shot: Path) -> Scene:
    return Scene.open(shot / "scene.usda")


# ---------------------------------------------------------------------------------------- opening


def test_open_file_or_folder_and_read_facts(shot):
    for target in (shot, shot / "scene.usda", str(shot)):
        scene = Scene.open(target)
        assert scene.path == shot / "scene.usda"
        assert scene.folder == shot
    assert scene.meters_per_unit == 1.0
    assert scene.fps == 24.0
    assert scene.frame_range == (1001, 1003)
    assert scene.up_axis == "Y"
    np.testing.assert_array_equal(scene.up, [0.0, 1.0, 0.0])
    assert scene.stage.GetEditTarget().GetLayer().realPath == str(shot / "edits.usda")
    assert list(scene.objects) == ["chair", "lamp"]
    assert isinstance(scene.background, BackgroundHandle)
    assert scene.history == ()
    assert not scene.has_unsaved_edits


def test_open_refuses_missing_and_broken_files(tmp_path, shot):
    with pytest.raises(SceneFileError, match="does not exist"):
        Scene.open(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "scene.usda").write_text("#usda 1.0\n(\n  this is not usd\n")
    with pytest.raises(SceneFileError):
        Scene.open(broken)
    no_edits = tmp_path / "no_edits"
    shutil.copytree(shot, no_edits)
    (no_edits / "edits.usda").unlink()
    with pytest.raises(SceneFileError, match="edits.usda, which is missing; restore it"):
        Scene.open(no_edits)
    garbled = tmp_path / "garbled"
    shutil.copytree(shot, garbled)
    (garbled / "edits.usda").write_text("#usda 1.0\nover \"World\" {{{\n")
    with pytest.raises(SceneFileError, match="edits.usda, which USD cannot read"):
        Scene.open(garbled)


def make_future_scene(folder: Path, **kwargs) -> Path:
    """A scene as a newer SceneForge (format version 99) would write it."""
    folder.mkdir()
    make_scene(folder, **kwargs)
    for name in ("scene.usda", "reconstruction.usda"):
        layer = Sdf.Layer.FindOrOpen(str(folder / name))
        data = dict(layer.customLayerData)
        data["sceneforge"] = dict(data["sceneforge"], formatVersion=99, toolVersion="9.0")
        layer.customLayerData = data
        layer.Save()
    return folder


def test_open_refuses_a_scene_from_a_newer_sceneforge(tmp_path):
    folder = make_future_scene(tmp_path / "future", objects=False)
    with pytest.raises(SceneFileError, match=r"version 99 .*upgrade SceneForge"):
        Scene.open(folder)


def test_scene_without_objects_or_background(tmp_path):
    make_scene(tmp_path, background=False, objects=False)
    scene = Scene.open(tmp_path)
    assert scene.background is None
    assert len(scene.objects) == 0 and len(scene.lights) == 0
    with pytest.raises(InputError, match="no object named 'chair'; the scene has none"):
        scene.objects["chair"]


def test_unknown_names_suggest_the_closest(scene):
    with pytest.raises(InputError, match="no object named 'chiar'; did you mean 'chair'") as info:
        scene.objects["chiar"]
    assert isinstance(info.value, KeyError)  # mapping semantics: `in`, .get() work
    assert str(info.value).startswith("no object")
    assert scene.objects.get("chiar") is None
    assert "chair" in scene.objects and "chiar" not in scene.objects
    scene.add_light("key")
    with pytest.raises(KeyError, match="did you mean 'key'"):
        scene.lights["kye"]


# ---------------------------------------------------------------------------------------- handles


def test_handles_read_the_stage(scene):
    chair = scene.objects["chair"]
    assert isinstance(chair, ObjectHandle)
    assert chair.name == "chair" and chair.prim_path == "/World/Objects/chair"
    np.testing.assert_array_equal(chair.world_from_local[:3, 3], CHAIR_AT)
    np.testing.assert_array_equal(chair.position, CHAIR_AT)
    np.testing.assert_allclose(chair.world_bounds(), [[0.75, 0.0, -0.25], [1.25, 1.0, 0.25]])
    assert chair.visible
    assert chair.texture == scene.folder / "textures" / "chair.png"
    assert chair.base_color is None  # the colour comes from the texture
    assert chair.time_samples == ()
    assert scene.objects["chair"] == chair and hash(scene.objects["chair"]) == hash(chair)
    assert scene.background.world_bounds()[1, 0] == pytest.approx(5.0)


def test_translate_writes_edits_only(scene, shot):
    before = files_bytes(shot)
    chair = scene.objects["chair"]
    chair.translate((0.4, 0.0, -0.1))
    np.testing.assert_allclose(chair.position, CHAIR_AT + [0.4, 0.0, -0.1])
    # The stage, and every reader of it, sees the move; the reconstruction layer does not hold it.
    meshes = {m.prim_path: m for m in read_scene_meshes(scene.stage)}
    np.testing.assert_allclose(meshes["/World/Objects/chair/mesh"].world_from_local[:3, 3], CHAIR_AT + [0.4, 0.0, -0.1])
    recon = Sdf.Layer.FindOrOpen(str(shot / "reconstruction.usda"))
    assert recon.GetAttributeAtPath("/World/Objects/chair.xformOp:transform").default == Gf.Matrix4d(1).SetTranslate(Gf.Vec3d(*CHAIR_AT))
    edits = scene.stage.GetEditTarget().GetLayer()
    assert edits.GetAttributeAtPath("/World/Objects/chair.xformOp:transform") is not None
    assert list(scene.stage.GetPrimAtPath("/World/Objects/chair").GetAttribute("xformOpOrder").Get()) == ["xformOp:transform"]
    scene.save()
    assert files_bytes(shot) == before


def test_position_setter_and_world_from_local_round_trip(scene):
    chair = scene.objects["chair"]
    chair.position = (3.0, 0.5, -2.0)
    np.testing.assert_allclose(chair.position, [3.0, 0.5, -2.0])
    matrix = np.eye(4)
    matrix[:3, :3] = 1.5 * np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])
    matrix[:3, 3] = (0.25, 0.0, 1.0)
    chair.world_from_local = matrix
    np.testing.assert_allclose(chair.world_from_local, matrix, atol=1e-12)
    np.testing.assert_allclose(chair.world_bounds(), [[-0.125, 0.0, 0.625], [0.625, 1.5, 1.375]], atol=1e-12)


def test_rotate_about_centre_and_origin(scene):
    chair = scene.objects["chair"]
    centre = chair.world_bounds().mean(axis=0)
    chair.rotate(y_deg=90)
    np.testing.assert_allclose(chair.world_bounds().mean(axis=0), centre, atol=1e-12)
    np.testing.assert_allclose(chair.world_from_local[:3, :3], [[0, 0, 1], [0, 1, 0], [-1, 0, 0]], atol=1e-12)
    lamp = scene.objects["lamp"]
    lamp.rotate(x_deg=90, about="origin")
    np.testing.assert_allclose(lamp.position, LAMP_AT, atol=1e-12)
    # A 1.5 tall lamp tipped about +X by 90°: its top now points along +Z.
    np.testing.assert_allclose(lamp.world_bounds()[1, 2], LAMP_AT[2] + 1.5, atol=1e-9)
    lamp.rotate(z_deg=180, about=(0.0, 0.0, 0.0))
    np.testing.assert_allclose(lamp.position, [1.0, 0.0, -1.0], atol=1e-12)


def test_rotations_apply_x_then_y_then_z(scene):
    chair = scene.objects["chair"]
    chair.rotate(x_deg=90, z_deg=90, about="origin")
    rx = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]])
    rz = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1]])
    np.testing.assert_allclose(chair.world_from_local[:3, :3], rz @ rx, atol=1e-12)


def test_scale_about_centre_and_along_local_axes(scene):
    chair = scene.objects["chair"]
    centre = chair.world_bounds().mean(axis=0)
    chair.scale(2.0)
    bounds = chair.world_bounds()
    np.testing.assert_allclose(bounds[1] - bounds[0], [1.0, 2.0, 1.0])
    np.testing.assert_allclose(bounds.mean(axis=0), centre)
    chair.rotate(y_deg=90)
    chair.scale((2.0, 1.0, 1.0), about="origin")  # along the chair's own x, now world -z
    bounds = chair.world_bounds()
    np.testing.assert_allclose(bounds[1] - bounds[0], [1.0, 2.0, 2.0], atol=1e-12)


def test_visibility(scene):
    lamp = scene.objects["lamp"]
    lamp.visible = False
    assert not lamp.visible
    assert "/World/Objects/lamp/mesh" not in {m.prim_path for m in read_scene_meshes(scene.stage)}
    lamp.visible = True
    assert lamp.visible
    assert "/World/Objects/lamp/mesh" in {m.prim_path for m in read_scene_meshes(scene.stage)}
    with pytest.raises(InputError):
        lamp.visible = "no"


def test_base_color_overrides_the_texture_without_touching_the_reconstruction(scene, shot):
    before = files_bytes(shot)
    chair = scene.objects["chair"]
    chair.base_color = (0.8, 0.1, 0.05)
    np.testing.assert_allclose(chair.base_color, [0.8, 0.1, 0.05], atol=1e-7)
    assert chair.texture is None
    mesh = next(m for m in read_scene_meshes(scene.stage) if m.prim_path == "/World/Objects/chair/mesh")
    assert mesh.mesh.texture is None
    # The reconstruction's material keeps its texture (it may be shared).
    material = UsdShade.Material(scene.stage.GetPrimAtPath("/World/Looks/chair"))
    assert material.ComputeSurfaceSource()[0].GetInput("diffuseColor").HasConnectedSource()
    # A vertex-coloured object takes a colour the same way, and a second set updates it.
    lamp = scene.objects["lamp"]
    lamp.base_color = (0.0, 0.0, 1.0)
    lamp.base_color = (0.0, 1.0, 0.0)
    lamp_mesh = next(m for m in read_scene_meshes(scene.stage) if m.prim_path == "/World/Objects/lamp/mesh")
    assert np.all(lamp_mesh.mesh.vertex_colors == (0, 255, 0))  # the material's colour, not the old displayColor
    np.testing.assert_allclose(lamp.base_color, [0.0, 1.0, 0.0])
    scene.background.base_color = (0.5, 0.5, 0.5)
    np.testing.assert_allclose(scene.background.base_color, [0.5, 0.5, 0.5])
    assert validate_stage(scene.stage).errors == ()
    scene.save()
    assert files_bytes(shot) == before
    with pytest.raises(InputError):
        chair.base_color = (1.0, -0.1, 0.0)


def test_texture_is_copied_into_the_scene_and_read_back(scene, tmp_path):
    image = np.zeros((6, 10, 3), dtype=np.uint8)
    image[:3] = (255, 0, 0)
    source = write_png(tmp_path / "stripes.png", image)
    chair = scene.objects["chair"]
    chair.base_color = (1.0, 1.0, 1.0)
    chair.texture = source
    assert chair.texture is not None and chair.texture.parent == scene.folder / "textures"
    assert chair.base_color is None
    mesh = next(m for m in read_scene_meshes(scene.stage) if m.prim_path == "/World/Objects/chair/mesh")
    np.testing.assert_array_equal(mesh.mesh.texture, image)
    assert validate_stage(scene.stage).errors == ()
    text = edits_text(scene)
    with pytest.raises(InputError, match="PNG or JPEG"):
        chair.texture = tmp_path / "missing.png"
    (tmp_path / "fake.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match="cannot be read"):
        chair.texture = tmp_path / "fake.png"
    with pytest.raises(InputError, match="no texture coordinates"):
        scene.objects["lamp"].texture = source
    assert edits_text(scene) == text
    # A JPEG (decoded with Pillow) is stored as a PNG beside the others.
    from PIL import Image

    Image.fromarray(np.full((4, 4, 3), 200, dtype=np.uint8)).save(tmp_path / "grey.jpg", quality=100)
    scene.background.texture = tmp_path / "grey.jpg"
    assert scene.background.texture.suffix == ".png"
    background = next(m for m in read_scene_meshes(scene.stage) if m.prim_path == "/World/Background")
    assert np.abs(background.mesh.texture.astype(int) - 200).max() <= 2


# --------------------------------------------------------------------------- bad edits change nothing


@pytest.mark.parametrize(
    "matrix, message",
    [
        (np.full((4, 4), np.nan), "finite"),
        (np.diag([1.0, 0.0, 1.0, 1.0]), "invertible"),
        (np.zeros((4, 4)), "last row"),
        (np.eye(3), "4×4"),
    ],
)
def test_bad_transforms_change_nothing(scene, matrix, message):
    chair = scene.objects["chair"]
    chair.translate((1.0, 0.0, 0.0))
    text = edits_text(scene)
    with pytest.raises(InputError, match=message):
        chair.world_from_local = matrix
    with pytest.raises(InputError, match=message):
        chair.set_world_from_local(matrix, time=1002)
    assert edits_text(scene) == text
    assert scene.history == ("move chair by (1, 0, 0)",)


def test_bad_arguments_change_nothing(scene):
    chair = scene.objects["chair"]
    text = edits_text(scene)
    for bad in (lambda: chair.translate((1.0, np.inf, 0.0)), lambda: chair.translate((1.0, 2.0)),
                lambda: chair.rotate(y_deg=float("nan")), lambda: chair.rotate(y_deg=10, about="top"),
                lambda: chair.scale(0.0), lambda: chair.scale((1.0, -1.0, 1.0)), lambda: chair.duplicate("lamp"),
                lambda: chair.duplicate("two words"), lambda: chair.rename("lamp"),
                lambda: scene.add_light("sun", kind="laser"), lambda: scene.add_light("sun", intensity=-1.0),
                lambda: scene.add_light("sun", world_from_local=np.zeros((4, 4)))):
        with pytest.raises(InputError):
            bad()
    assert edits_text(scene) == text
    assert scene.history == ()


def test_a_failure_inside_an_edit_restores_the_layer(scene):
    text = edits_text(scene)
    with pytest.raises(RuntimeError):
        with scene._recording("half an edit"):
            scene.objects["chair"].translate((1.0, 0.0, 0.0))
            scene.objects["lamp"].remove()
            raise RuntimeError("boom")
    assert edits_text(scene) == text
    assert scene.history == ()
    assert "lamp" in scene.objects


# ----------------------------------------------------------------------------------- animation


def test_keyframed_transform(scene):
    chair = scene.objects["chair"]
    first, last = np.eye(4), np.eye(4)
    first[:3, 3] = (0.0, 0.0, 0.0)
    last[:3, 3] = (2.0, 0.0, 0.0)
    chair.set_world_from_local(first, time=1001)
    # The first key on a static object holds everywhere until more keys come.
    np.testing.assert_allclose(chair.get_world_from_local(1003), first)
    chair.set_world_from_local(last, time=1003)
    assert chair.time_samples == (1001.0, 1003.0)
    np.testing.assert_allclose(chair.get_world_from_local(1002)[:3, 3], [1.0, 0.0, 0.0])  # USD interpolates
    # A relative edit moves every key.
    chair.translate((0.0, 0.0, 1.0))
    np.testing.assert_allclose(chair.get_world_from_local(1001)[:3, 3], [0.0, 0.0, 1.0])
    np.testing.assert_allclose(chair.get_world_from_local(1003)[:3, 3], [2.0, 0.0, 1.0])
    meshes = {m.prim_path: m for m in read_scene_meshes(scene.stage, time=1003)}
    np.testing.assert_allclose(meshes["/World/Objects/chair/mesh"].world_from_local[:3, 3], [2.0, 0.0, 1.0])
    # A static set replaces the animation.
    chair.world_from_local = np.eye(4)
    assert chair.time_samples == ()
    np.testing.assert_allclose(chair.get_world_from_local(1003), np.eye(4))


def test_edits_keep_a_reconstructed_animation(tmp_path):
    make_scene(tmp_path, animated=True)
    scene = Scene.open(tmp_path)
    ball = scene.objects["ball"]
    assert ball.time_samples == (1001.0, 1003.0)
    ball.translate((0.0, 1.0, 0.0))
    np.testing.assert_allclose(ball.get_world_from_local(1001)[:3, 3], [0.0, 1.0, 0.0])
    np.testing.assert_allclose(ball.get_world_from_local(1003)[:3, 3], [2.0, 1.0, 0.0])
    ball.set_world_from_local(np.eye(4), time=1002)
    assert ball.time_samples == (1001.0, 1002.0, 1003.0)
    np.testing.assert_allclose(ball.get_world_from_local(1003)[:3, 3], [2.0, 1.0, 0.0])
    ball.rotate(y_deg=90)  # about the centre at each key
    for frame, centre_x in ((1001, 0.0), (1003, 2.0)):
        np.testing.assert_allclose(ball.world_bounds(frame).mean(axis=0), [centre_x, 1.15, 0.0], atol=1e-12)
    scene.save()
    reopened = reopen_copy(scene, tmp_path)
    np.testing.assert_allclose(reopened.objects["ball"].get_world_from_local(1003), ball.get_world_from_local(1003))


# ------------------------------------------------------------------------- remove, reset, copies


def test_remove_hides_and_reset_restores(scene):
    lamp = scene.objects["lamp"]
    lamp.remove()
    assert list(scene.objects) == ["chair"]
    assert lamp.removed
    assert "/World/Objects/lamp/mesh" not in {m.prim_path for m in read_scene_meshes(scene.stage)}
    with pytest.raises(InputError, match="was removed"):
        lamp.translate((1.0, 0.0, 0.0))
    with pytest.raises(InputError, match="'lamp' was removed"):
        scene.objects["lamp"]
    assert list(scene.removed_objects) == ["lamp"]
    scene.removed_objects["lamp"].reset()
    assert list(scene.objects) == ["chair", "lamp"]
    assert edits_text(scene) == Sdf.Layer.FindOrOpen(str(scene.folder / "edits.usda")).ExportToString()


def test_reset_drops_one_object_and_keeps_the_others(scene):
    pristine = edits_text(scene)
    chair, lamp = scene.objects["chair"], scene.objects["lamp"]
    chair.translate((1.0, 0.0, 0.0))
    chair.base_color = (1.0, 0.0, 0.0)
    scene.background.base_color = (0.2, 0.2, 0.2)
    lamp.rotate(y_deg=45)
    chair.reset()
    np.testing.assert_array_equal(chair.position, CHAIR_AT)
    assert chair.texture == scene.folder / "textures" / "chair.png"
    assert lamp.world_from_local[0, 0] == pytest.approx(np.cos(np.pi / 4))
    scene.background.reset()
    assert scene.background.base_color is None
    lamp.reset()
    assert edits_text(scene) == pristine  # nothing of those edits is left behind


def test_duplicate_is_independent_and_keeps_its_material(scene):
    chair = scene.objects["chair"]
    chair.translate((0.0, 0.0, 1.0))
    copy = chair.duplicate("chair_2")
    assert list(scene.objects) == ["chair", "lamp", "chair_2"]
    np.testing.assert_allclose(copy.world_from_local, chair.world_from_local)
    assert copy.texture == chair.texture
    copy.translate((2.0, 0.0, 0.0))
    chair.translate((-5.0, 0.0, 0.0))
    chair.base_color = (1.0, 0.0, 0.0)
    chair.remove()
    np.testing.assert_allclose(copy.position, CHAIR_AT + [2.0, 0.0, 1.0])
    assert copy.texture is not None and not copy.removed
    meshes = {m.prim_path: m for m in read_scene_meshes(scene.stage)}
    expected = box_mesh((0.5, 1.0, 0.5), textured=True)
    np.testing.assert_array_equal(meshes["/World/Objects/chair_2/mesh"].mesh.vertices, expected.vertices.astype(np.float32))
    assert meshes["/World/Objects/chair_2/mesh"].mesh.texture is not None
    assert validate_stage(scene.stage).errors == ()
    # A copy of a copy carries the copy's edits.
    copy.base_color = (0.0, 0.0, 1.0)
    second = copy.duplicate("chair_3")
    np.testing.assert_allclose(second.base_color, [0.0, 0.0, 1.0])
    np.testing.assert_allclose(second.position, copy.position)
    assert validate_stage(scene.stage).errors == ()


def test_rename(scene):
    chair = scene.objects["chair"]
    chair.rotate(y_deg=20)
    before = chair.world_from_local
    seat = chair.rename("seat")
    assert list(scene.objects) == ["lamp", "seat"]
    assert chair.removed and not seat.removed
    np.testing.assert_allclose(seat.world_from_local, before)
    assert seat.texture is not None
    # An object that lives only in the edits moves within them: no inactive leftover.
    again = seat.rename("stool")
    assert list(scene.objects) == ["lamp", "stool"]
    assert not scene.stage.GetPrimAtPath("/World/Objects/seat").IsValid()
    np.testing.assert_allclose(again.world_from_local, before)
    assert validate_stage(scene.stage).errors == ()
    scene.undo()
    assert list(scene.objects) == ["lamp", "seat"]


# ---------------------------------------------------------------------------------- undo / redo


def test_undo_redo_history(scene):
    pristine = edits_text(scene)
    chair = scene.objects["chair"]
    chair.translate((0.4, 0.0, 0.0))
    after_move = edits_text(scene)
    chair.rotate(y_deg=30)
    scene.objects["lamp"].remove()
    assert scene.history == ("move chair by (0.4, 0, 0)", "rotate chair by (0, 30, 0) deg about center", "remove lamp")
    assert scene.undo() == "remove lamp"
    assert "lamp" in scene.objects
    assert scene.undo() == "rotate chair by (0, 30, 0) deg about center"
    assert edits_text(scene) == after_move
    assert scene.redo_history == ("rotate chair by (0, 30, 0) deg about center", "remove lamp")
    assert scene.redo() == "rotate chair by (0, 30, 0) deg about center"
    assert chair.world_from_local[0, 2] == pytest.approx(0.5)
    chair.translate((0.0, 1.0, 0.0))  # a new edit clears the redo stack
    assert scene.redo_history == ()
    with pytest.raises(InputError, match="nothing to redo"):
        scene.redo()
    while scene.history:
        scene.undo()
    assert edits_text(scene) == pristine
    with pytest.raises(InputError, match="nothing to undo"):
        scene.undo()
    # A zero move is not a step.
    chair.translate((0.0, 0.0, 0.0))
    chair.rotate()
    chair.scale(1.0)
    assert scene.history == ()


# ------------------------------------------------------------------------------------------ diff


def test_diff_lists_the_edits_as_data(scene):
    assert scene.diff() == []
    scene.objects["chair"].translate((0.5, 0.0, 0.0))
    scene.objects["lamp"].remove()
    scene.add_light("sun", intensity=3.0)
    edits = scene.diff()
    assert all(isinstance(e, SceneEdit) for e in edits)
    by_key = {(e.path, e.property): e for e in edits}
    move = by_key[("/World/Objects/chair", "xformOp:transform")]
    np.testing.assert_allclose(np.array(move.before)[:3, 3], CHAIR_AT)
    np.testing.assert_allclose(np.array(move.after)[:3, 3], CHAIR_AT + [0.5, 0.0, 0.0])
    assert by_key[("/World/Objects/chair", "xformOpOrder")].after == ("xformOp:transform",)
    assert by_key[("/World/Objects/lamp", "active")] == SceneEdit("/World/Objects/lamp", "active", None, False)
    assert by_key[("/World/Lights", None)].after == "added Xform"
    lines = [str(e) for e in edits]
    assert "/World/Objects/lamp.active: (none) -> False" in lines
    assert "/World/Lights: added Xform" in lines
    assert any(line.startswith("/World/Objects/chair.xformOp:transform: ((1, 0, 0, 1)") for line in lines)
    assert all("\n" not in line for line in lines)
    hash(tuple(edits))  # frozen, hashable values


# ------------------------------------------------------------------------------------- lights


def test_lights(scene):
    sun = scene.add_light("sun", "distant", intensity=2.0, color=(1.0, 0.9, 0.8))
    fill = scene.add_light("fill", "sphere", world_from_local=np.array([[1, 0, 0, 1], [0, 1, 0, 3], [0, 0, 1, 0], [0, 0, 0, 1.0]]))
    scene.add_light("sky", "dome", exposure=-1.0)
    assert isinstance(sun, LightHandle)
    assert list(scene.lights) == ["sun", "fill", "sky"]
    assert [light.kind for light in scene.lights.values()] == ["distant", "sphere", "dome"]
    assert sun.intensity == 2.0
    np.testing.assert_allclose(sun.color, [1.0, 0.9, 0.8], atol=1e-7)
    assert scene.lights["sky"].exposure == -1.0
    np.testing.assert_allclose(fill.position, [1.0, 3.0, 0.0])
    sun.intensity = 5.0
    sun.color = (1.0, 1.0, 1.0)
    sun.exposure = 0.5
    sun.rotate(x_deg=-45)
    # A distant light shines along its local -Z: now 45° down towards -Z.
    np.testing.assert_allclose(-sun.world_from_local[:3, 2], [0.0, -np.sqrt(0.5), -np.sqrt(0.5)], atol=1e-12)
    fill.translate((0.0, 1.0, 0.0))
    np.testing.assert_allclose(fill.position, [1.0, 4.0, 0.0])
    assert scene.lights["sun"].intensity == 5.0
    with pytest.raises(InputError, match="taken"):
        scene.add_light("sun")
    with pytest.raises(InputError):
        sun.intensity = float("nan")
    fill.remove()
    assert list(scene.lights) == ["sun", "sky"]
    assert validate_stage(scene.stage).errors == ()
    scene.save()
    reopened = reopen_copy(scene, scene.folder.parent)
    assert reopened.lights["sun"].intensity == 5.0
    np.testing.assert_allclose(reopened.lights["sun"].world_from_local, sun.world_from_local)


# ------------------------------------------------------------------------------------- cameras


def test_camera_handles(scene):
    camera = scene.camera
    assert camera.path == "/World/Cameras/Plate"
    assert list(scene.cameras) == ["Plate"]
    before = camera.world_from_cam(1003)
    camera.orbit(degrees=15)
    assert len(scene.history) == 1
    assert not np.allclose(camera.world_from_cam(1003), before)
    scene.undo()
    np.testing.assert_allclose(camera.world_from_cam(1003), before)
    assert scene.diff() == []


# ------------------------------------------------------------------------------- save and reopen


def test_save_reopen_and_validate(scene, shot, tmp_path):
    before = files_bytes(shot)
    chair = scene.objects["chair"]
    chair.translate((0.4, 0.0, 0.0))
    chair.rotate(y_deg=30)
    chair.scale(1.5)
    chair.base_color = (0.9, 0.2, 0.1)
    scene.objects["lamp"].remove()
    chair.duplicate("chair_copy").translate((0.0, 0.0, 1.5))
    scene.background.visible = False
    scene.add_light("sun", intensity=4.0)
    assert scene.has_unsaved_edits
    assert validate_stage(scene.stage).errors == ()
    saved = scene.save()
    assert saved == shot / "edits.usda"
    assert not scene.has_unsaved_edits
    assert files_bytes(shot) == before  # reconstruction.usda and scene.usda byte for byte
    assert not list(shot.glob(".*.tmp*"))

    again = reopen_copy(scene, tmp_path)
    assert list(again.objects) == ["chair", "chair_copy"]
    for name in again.objects:
        np.testing.assert_allclose(again.objects[name].world_from_local, scene.objects[name].world_from_local)
    np.testing.assert_allclose(again.objects["chair"].base_color, [0.9, 0.2, 0.1], atol=1e-7)
    assert not again.background.visible
    assert again.lights["sun"].intensity == 4.0
    assert validate_stage(again.folder).errors == ()
    assert [str(e) for e in again.diff()] == [str(e) for e in scene.diff()]


def test_edited_scene_reads_right_in_a_fresh_process(scene):
    """What another program sees: a new interpreter composing the saved files."""
    scene.objects["chair"].translate((0.25, 0.5, 0.0))
    scene.objects["lamp"].remove()
    scene.save()
    code = (
        "import json, sys; from sceneforge.scenegraph import read_scene_meshes;"
        "print(json.dumps({m.prim_path: m.world_from_local[:3, 3].tolist() for m in read_scene_meshes(sys.argv[1])}))"
    )
    out = subprocess.run(
        [os.sys.executable, "-c", code, str(scene.path)], capture_output=True, text=True, check=True
    ).stdout
    positions = json.loads(out.strip().splitlines()[-1])
    assert "/World/Objects/lamp/mesh" not in positions
    np.testing.assert_allclose(positions["/World/Objects/chair/mesh"], CHAIR_AT + [0.25, 0.5, 0.0])


def test_handles_survive_undo_and_reopen(scene):
    chair = scene.objects["chair"]
    chair.translate((1.0, 0.0, 0.0))
    scene.undo()
    np.testing.assert_array_equal(chair.position, CHAIR_AT)  # the handle reads the stage, not a copy
    scene.redo()
    np.testing.assert_array_equal(chair.position, CHAIR_AT + [1.0, 0.0, 0.0])


# ------------------------------------------------------------------------------------- Blender

_BLENDER_SCRIPT = """
import bpy, json, sys
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.wm.usd_import(filepath=sys.argv[-1])
bpy.context.scene.frame_set(int(sys.argv[-2]))
depsgraph = bpy.context.evaluated_depsgraph_get()
out = {}
for obj in bpy.data.objects:
    if obj.type != "MESH":
        continue
    evaluated = obj.evaluated_get(depsgraph)
    points = [list(evaluated.matrix_world @ v.co) for v in evaluated.data.vertices]
    out[obj.name] = {"parent": obj.parent.name if obj.parent else None, "points": points}
print("RESULT" + json.dumps(out))
"""


@pytest.mark.interop
def test_blender_reads_the_edited_scene(scene, tmp_path):
    """Blender's USD importer sees moved, rotated, scaled, keyed, removed and inserted objects
    where the scene API says they are."""
    python = os.environ.get("SCENEFORGE_BLENDER_PYTHON")
    if not python:
        pytest.skip("set SCENEFORGE_BLENDER_PYTHON to a Python with Blender's bpy module")
    import trimesh

    chair, lamp = scene.objects["chair"], scene.objects["lamp"]
    chair.translate((0.4, 0.5, -0.1))
    chair.rotate(y_deg=30)
    chair.scale(1.5)
    lamp.remove()
    copy = chair.duplicate("chair_copy")
    copy.set_world_from_local(np.eye(4), time=1001)
    moved = np.eye(4)
    moved[:3, 3] = (0.0, 0.0, -2.0)
    copy.set_world_from_local(moved, time=1003)
    box = trimesh.creation.box(extents=(0.2, 0.4, 0.2))
    box.export(tmp_path / "crate.glb")
    crate = scene.insert(tmp_path / "crate.glb", name="crate")
    scene.save()
    script = tmp_path / "import.py"
    script.write_text(_BLENDER_SCRIPT)

    def blender_bounds(frame: int) -> list[np.ndarray]:
        """World bounds (our axes) of every mesh object Blender made, at ``frame``."""
        done = subprocess.run([python, str(script), "--", str(frame), str(scene.path)], capture_output=True, text=True, check=True)
        result = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("RESULT"))[6:])
        out = []
        for data in result.values():
            points = np.asarray(data["points"])
            in_usd = np.column_stack([points[:, 0], points[:, 2], -points[:, 1]])  # Blender Z-up → our Y-up
            out.append(np.stack([in_usd.min(axis=0), in_usd.max(axis=0)]))
        return out

    def found(bounds: np.ndarray, among: list[np.ndarray]) -> bool:
        return any(np.allclose(bounds, other, atol=1e-5) for other in among)

    # Blender names objects after their mesh prims ("mesh", "mesh.001", ...): match by place.
    first = blender_bounds(1001)
    assert len(first) == 4  # background, chair, its copy, crate; the removed lamp is not imported
    for handle in (scene.background, chair, copy, crate):
        assert found(handle.world_bounds(1001), first), handle
    assert found(copy.world_bounds(1003), blender_bounds(1003))
    assert not np.allclose(copy.world_bounds(1003), copy.world_bounds(1001))
