"""Scene.insert: glTF/GLB, OBJ, PLY through trimesh and USD by reference; textures and colours
kept, units and up axes converted, placed on the ground; assets that do not load change nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image
from pxr import Gf, Sdf, Usd, UsdGeom

from sceneforge.scenegraph import InputError, Scene, read_scene_meshes, validate_stage

from .test_scene import LOOKED_AT_GROUND, edits_text, make_scene


def quadrant_image() -> np.ndarray:
    """8×8 RGB: red top-left, green top-right, blue bottom-left, white bottom-right."""
    image = np.zeros((8, 8, 3), dtype=np.uint8)
    image[:4, :4] = (255, 0, 0)
    image[:4, 4:] = (0, 255, 0)
    image[4:, :4] = (0, 0, 255)
    image[4:, 4:] = (255, 255, 255)
    return image


def box_trimesh(extents: tuple[float, float, float], *, lift: float = 0.0) -> trimesh.Trimesh:
    """An axis-aligned box centred on x and z whose bottom is at y = ``lift``."""
    box = trimesh.creation.box(extents=extents)
    box.apply_translation((0.0, extents[1] / 2.0 + lift, 0.0))
    return box


def write_textured_glb(path: Path, extents=(0.2, 0.4, 0.2), *, lift: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """A textured box as GLB; returns (its uv, its texture)."""
    box = box_trimesh(extents, lift=lift)
    xz = box.vertices[:, [0, 2]]
    uv = (xz - xz.min(axis=0)) / np.ptp(xz, axis=0)
    image = quadrant_image()
    material = trimesh.visual.material.PBRMaterial(baseColorTexture=Image.fromarray(image), baseColorFactor=[255, 255, 255, 255])
    box.visual = trimesh.visual.TextureVisuals(uv=uv, material=material)
    box.export(path)
    return uv.astype(np.float32), image


def write_coloured_ply(path: Path, extents=(0.3, 0.3, 0.3)) -> np.ndarray:
    box = box_trimesh(extents)
    colours = np.random.default_rng(1).integers(0, 256, (len(box.vertices), 3)).astype(np.uint8)
    box.visual = trimesh.visual.ColorVisuals(box, vertex_colors=np.column_stack([colours, np.full(len(colours), 255)]))
    box.export(path)
    return colours


def write_usd_asset(path: Path) -> None:
    """A centimetre, Z-up asset: a 100×100×200 cm box (tall along +Z) whose root is lifted 50 cm."""
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)
    UsdGeom.SetStageMetersPerUnit(stage, 0.01)
    root = UsdGeom.Xform.Define(stage, "/Asset")
    root.AddTranslateOp().Set(Gf.Vec3d(0.0, 0.0, 50.0))
    stage.SetDefaultPrim(root.GetPrim())
    box = box_trimesh((100.0, 200.0, 100.0))
    # The trimesh box is +Y tall; turn it to +Z tall for a Z-up asset.
    vertices = box.vertices[:, [0, 2, 1]] * [1.0, -1.0, 1.0]
    mesh = UsdGeom.Mesh.Define(stage, "/Asset/Body")
    mesh.CreatePointsAttr([Gf.Vec3f(*v) for v in vertices.tolist()])
    mesh.CreateFaceVertexCountsAttr([3] * len(box.faces))
    mesh.CreateFaceVertexIndicesAttr(box.faces.reshape(-1).tolist())
    mesh.CreateExtentAttr([Gf.Vec3f(*vertices.min(axis=0)), Gf.Vec3f(*vertices.max(axis=0))])
    stage.GetRootLayer().Save()


@pytest.fixture()
def scene(tmp_path: Path) -> Scene:
    folder = tmp_path / "shot"
    folder.mkdir()
    make_scene(folder)
    return Scene.open(folder)


def mesh_of(scene: Scene, prefix: str):
    return [m for m in read_scene_meshes(scene.stage) if m.prim_path.startswith(prefix)]


# ------------------------------------------------------------------------------------------ glTF


def test_textured_glb_stands_on_the_ground_where_the_camera_looks(scene, tmp_path):
    uv, image = write_textured_glb(tmp_path / "crate.glb")
    crate = scene.insert(tmp_path / "crate.glb", name="crate")
    assert list(scene.objects) == ["chair", "lamp", "crate"]
    bounds = crate.world_bounds()
    assert bounds[0, 1] == pytest.approx(0.0, abs=1e-7)  # its lowest point touches y = 0
    np.testing.assert_allclose(bounds[1] - bounds[0], [0.2, 0.4, 0.2], atol=1e-6)  # glTF metres, scene metres
    np.testing.assert_allclose(bounds.mean(axis=0)[[0, 2]], LOOKED_AT_GROUND[[0, 2]], atol=1e-7)
    (mesh,) = mesh_of(scene, "/World/Objects/crate/")
    np.testing.assert_array_equal(mesh.mesh.texture, image)
    np.testing.assert_array_equal(np.sort(mesh.mesh.uv, axis=0), np.sort(uv, axis=0))
    assert Path(mesh.texture_file).parent == scene.folder / "textures"
    assert scene.history == ("insert crate.glb as crate",)
    assert validate_stage(scene.stage).errors == ()


def test_texture_orientation_survives(scene, tmp_path):
    """A vertex with uv (0, 1) samples the image's top-left (red) after the trip through glTF."""
    write_textured_glb(tmp_path / "crate.glb")
    scene.insert(tmp_path / "crate.glb", name="crate")
    (mesh,) = mesh_of(scene, "/World/Objects/crate/")
    texture, uv = mesh.mesh.texture, mesh.mesh.uv
    h, w, _ = texture.shape
    corner = np.argmin(np.abs(uv[:, 0] - 0.0) + np.abs(uv[:, 1] - 1.0))
    row = int(np.clip((1.0 - uv[corner, 1]) * h, 0, h - 1))
    col = int(np.clip(uv[corner, 0] * w, 0, w - 1))
    np.testing.assert_array_equal(texture[row, col], (255, 0, 0))


def test_glb_in_a_centimetre_scene_is_scaled_to_scene_units(tmp_path):
    make_scene(tmp_path, meters_per_unit=0.01, objects=False)
    scene = Scene.open(tmp_path)
    write_textured_glb(tmp_path / "crate.glb", lift=0.0)
    crate = scene.insert(tmp_path / "crate.glb", name="crate", position=(10.0, -20.0))
    bounds = crate.world_bounds()
    np.testing.assert_allclose(bounds[1] - bounds[0], [20.0, 40.0, 20.0], atol=1e-4)
    np.testing.assert_allclose(bounds.mean(axis=0)[[0, 2]], [10.0, -20.0], atol=1e-5)
    assert bounds[0, 1] == pytest.approx(0.0, abs=1e-5)
    # The scene had no /World/Objects: the insert made it (a group, so objects stay models).
    assert Usd.ModelAPI(scene.stage.GetPrimAtPath("/World/Objects")).GetKind() == "group"
    assert validate_stage(scene.stage).errors == ()


def test_insert_never_overwrites_a_texture(scene, tmp_path):
    taken = scene.folder / "textures" / "crate_geometry_0.png"
    taken.write_bytes(b"someone else's file")
    _, image = write_textured_glb(tmp_path / "crate.glb")
    scene.insert(tmp_path / "crate.glb", name="crate")
    assert taken.read_bytes() == b"someone else's file"
    (mesh,) = mesh_of(scene, "/World/Objects/crate/")
    assert Path(mesh.texture_file).name == "crate_geometry_0_2.png"
    np.testing.assert_array_equal(mesh.mesh.texture, image)


def test_scale_to_and_explicit_placement(scene, tmp_path):
    write_textured_glb(tmp_path / "crate.glb")
    big = scene.insert(tmp_path / "crate.glb", name="big", scale_to=2.0, position=(1.0, 5.0, -1.0))
    bounds = big.world_bounds()
    assert np.max(bounds[1] - bounds[0]) == pytest.approx(2.0)
    np.testing.assert_allclose(bounds[1] - bounds[0], [1.0, 2.0, 1.0], atol=1e-6)
    np.testing.assert_allclose([bounds.mean(axis=0)[0], bounds[0, 1], bounds.mean(axis=0)[2]], [1.0, 0.0, -1.0], atol=1e-6)
    floating = scene.insert(tmp_path / "crate.glb", name="floating", on=None, position=(0.0, 1.0, 0.0))
    bounds = floating.world_bounds()
    np.testing.assert_allclose([bounds.mean(axis=0)[0], bounds[0, 1], bounds.mean(axis=0)[2]], [0.0, 1.0, 0.0], atol=1e-6)
    as_authored = scene.insert(tmp_path / "crate.glb", name="as_authored", on=None)
    np.testing.assert_allclose(as_authored.world_bounds()[0], [-0.1, 0.1, -0.1], atol=1e-6)  # the file's own coordinates


# ----------------------------------------------------------------------------------- OBJ and PLY


def test_obj_with_units_and_texture(scene, tmp_path):
    box = box_trimesh((20.0, 40.0, 20.0))
    xz = box.vertices[:, [0, 2]]
    image = quadrant_image()
    box.visual = trimesh.visual.TextureVisuals(uv=(xz - xz.min(axis=0)) / np.ptp(xz, axis=0), image=Image.fromarray(image))
    folder = tmp_path / "obj"
    folder.mkdir()
    box.export(folder / "crate.obj")
    crate = scene.insert(folder / "crate.obj", name="crate", units_m=0.01, position=(1.0, -2.0))
    bounds = crate.world_bounds()
    np.testing.assert_allclose(bounds[1] - bounds[0], [0.2, 0.4, 0.2], atol=1e-6)
    np.testing.assert_allclose(bounds.mean(axis=0)[[0, 2]], [1.0, -2.0], atol=1e-6)
    (mesh,) = mesh_of(scene, "/World/Objects/crate/")
    np.testing.assert_array_equal(mesh.mesh.texture, image)


def test_obj_without_units_is_taken_as_metres(scene, tmp_path):
    box_trimesh((0.5, 0.5, 0.5)).export(tmp_path / "cube.obj")
    cube = scene.insert(tmp_path / "cube.obj", name="cube")
    bounds = cube.world_bounds()
    np.testing.assert_allclose(bounds[1] - bounds[0], [0.5, 0.5, 0.5], atol=1e-6)


def test_ply_keeps_vertex_colours_and_takes_a_z_up_option(scene, tmp_path):
    colours = write_coloured_ply(tmp_path / "thing.ply", extents=(0.3, 0.6, 0.2))
    thing = scene.insert(tmp_path / "thing.ply", name="thing", up_axis="Z")
    bounds = thing.world_bounds()
    # Z-up → Y-up: the file's y extent (0.6) lies along world z, its z extent (0.2) is the height.
    np.testing.assert_allclose(bounds[1] - bounds[0], [0.3, 0.2, 0.6], atol=1e-6)
    (mesh,) = mesh_of(scene, "/World/Objects/thing/")
    assert mesh.mesh.texture is None
    # Written as linear displayColor, read back as sRGB bytes: within one step.
    got = np.sort(mesh.mesh.vertex_colors.astype(int), axis=0)
    assert np.abs(got - np.sort(colours.astype(int), axis=0)).max() <= 1
    assert validate_stage(scene.stage).errors == ()


# -------------------------------------------------------------------------------------------- USD


@pytest.mark.parametrize("inside", [False, True])
def test_usd_asset_by_reference_with_its_units_and_up_axis(scene, tmp_path, inside):
    folder = scene.folder / "assets" if inside else tmp_path / "library"
    folder.mkdir(exist_ok=True)
    write_usd_asset(folder / "column.usda")
    column = scene.insert(folder / "column.usda", name="column", position=(-2.0, 1.0))
    bounds = column.world_bounds()
    np.testing.assert_allclose(bounds[1] - bounds[0], [1.0, 2.0, 1.0], atol=1e-6)  # 200 cm tall along the asset's +Z
    np.testing.assert_allclose([bounds.mean(axis=0)[0], bounds[0, 1], bounds.mean(axis=0)[2]], [-2.0, 0.0, 1.0], atol=1e-6)
    spec = scene.stage.GetEditTarget().GetLayer().GetPrimAtPath("/World/Objects/column")
    (reference,) = spec.referenceList.GetAddedOrExplicitItems()
    # from outside the scene's folder, the asset is copied in (packaged with its files)
    assert reference.assetPath == ("./assets/column.usda" if inside else "./assets/column.usdz")
    assert inside or (scene.folder / "assets" / "column.usdz").is_file()
    assert reference.primPath == Sdf.Path("/Asset")
    assert Usd.ModelAPI(scene.stage.GetPrimAtPath("/World/Objects/column")).GetKind() == "component"
    assert [m.prim_path for m in mesh_of(scene, "/World/Objects/column/")] == ["/World/Objects/column/Body"]
    assert validate_stage(scene.stage).errors == ()
    column.rotate(y_deg=45)
    column.reset()  # an inserted object has nothing to go back to: it leaves
    assert "column" not in scene.objects


def test_usd_units_override(scene, tmp_path):
    write_usd_asset(tmp_path / "column.usda")
    column = scene.insert(tmp_path / "column.usda", name="column", units_m=0.001)
    bounds = column.world_bounds()
    np.testing.assert_allclose(bounds[1] - bounds[0], [0.1, 0.2, 0.1], atol=1e-7)


# ------------------------------------------------------------------------------ inserted objects


def test_inserted_objects_edit_undo_save_and_reopen(scene, tmp_path):
    write_textured_glb(tmp_path / "crate.glb")
    write_coloured_ply(tmp_path / "thing.ply")
    crate = scene.insert(tmp_path / "crate.glb", name="crate")
    scene.insert(tmp_path / "thing.ply", name="thing", position=(0.5, 0.5))
    crate.translate((0.0, 0.0, -1.0))
    crate.rotate(y_deg=45)
    twin = crate.duplicate("crate_twin")
    twin.translate((0.5, 0.0, 0.0))
    moved = scene.objects["thing"].rename("widget")
    assert list(scene.objects) == ["chair", "lamp", "crate", "crate_twin", "widget"]
    assert validate_stage(scene.stage).errors == ()
    recon = (scene.folder / "reconstruction.usda").read_bytes()
    scene.save()
    assert (scene.folder / "reconstruction.usda").read_bytes() == recon
    copy = tmp_path / "copy"
    shutil.copytree(scene.folder, copy)
    again = Scene.open(copy)
    assert list(again.objects) == list(scene.objects)
    for name in ("crate", "crate_twin", "widget"):
        np.testing.assert_allclose(again.objects[name].world_from_local, scene.objects[name].world_from_local)
    twin_mesh = [m for m in read_scene_meshes(again.stage) if m.prim_path.startswith("/World/Objects/crate_twin/")]
    assert twin_mesh[0].mesh.texture is not None and Path(twin_mesh[0].texture_file).is_relative_to(copy)
    assert validate_stage(again.stage).errors == ()
    np.testing.assert_allclose(moved.position, again.objects["widget"].position)
    # Undo everything: the edits layer is empty again.
    while scene.history:
        scene.undo()
    assert list(scene.objects) == ["chair", "lamp"]
    assert scene.diff() == []


# ------------------------------------------------------------------------------------- bad input


def test_assets_that_do_not_load_change_nothing(scene, tmp_path):
    write_textured_glb(tmp_path / "crate.glb")
    scene.insert(tmp_path / "crate.glb", name="crate")
    text = edits_text(scene)
    history = scene.history
    (tmp_path / "broken.glb").write_bytes(b"glTF\x02\x00\x00\x00 not really")
    (tmp_path / "broken.usda").write_text("#usda 1.0\ndef Xform \"A\" {{{{\n")
    (tmp_path / "points.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    (tmp_path / "model.fbx").write_bytes(b"\x00")
    (tmp_path / "empty.usda").write_text("#usda 1.0\n")
    cases = [
        (tmp_path / "missing.glb", {}, "missing.glb.*no such file"),
        (tmp_path / "broken.glb", {}, "cannot insert broken.glb"),
        (tmp_path / "broken.usda", {}, "cannot insert broken.usda: USD cannot open it"),
        (tmp_path / "points.obj", {}, "cannot insert points.obj"),
        (tmp_path / "model.fbx", {}, "expected one of"),
        (tmp_path / "empty.usda", {}, "no prims to reference"),
        (tmp_path / "crate.glb", {"name": "crate"}, "taken"),
        (tmp_path / "crate.glb", {"name": "chair"}, "taken"),
        (tmp_path / "crate.glb", {"name": "1crate"}, "valid USD prim name"),
        (tmp_path / "crate.glb", {"on": "table"}, "on must be"),
        (tmp_path / "crate.glb", {"scale_to": -1.0}, "scale_to"),
        (tmp_path / "crate.glb", {"units_m": 0.0}, "units_m"),
        (tmp_path / "crate.glb", {"up_axis": "X"}, "up_axis"),
        (tmp_path / "crate.glb", {"position": (1.0, np.nan)}, "finite"),
        (tmp_path / "crate.glb", {"on": None, "position": (1.0, 2.0)}, "3 numbers"),
    ]
    for path, options, message in cases:
        options = {"name": "new_thing", **options}
        with pytest.raises(InputError, match=message):
            scene.insert(path, **options)
    assert edits_text(scene) == text
    assert scene.history == history
    assert "new_thing" not in scene.objects


def test_a_textured_usd_asset_from_outside_is_packaged_with_its_texture(scene, tmp_path):
    """Copied in as one USDZ (the scene then reads only its own folder), its texture read from
    inside the package."""
    from sceneforge.scenegraph.usd import author_mesh
    from tests.scenegraph.edit.test_scene import box_mesh

    library = tmp_path / "library"
    library.mkdir()
    stage = Usd.Stage.CreateNew(str(library / "thing.usda"))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    UsdGeom.SetStageMetersPerUnit(stage, 1.0)
    stage.SetDefaultPrim(UsdGeom.Xform.Define(stage, "/Asset").GetPrim())
    author_mesh(stage, "/Asset/Body", box_mesh((0.5, 0.5, 0.5), textured=True), folder=library, name="thing")
    stage.GetRootLayer().Save()
    scene.insert(library / "thing.usda", name="thing")
    assert (scene.folder / "assets" / "thing.usdz").is_file()
    (mesh,) = mesh_of(scene, "/World/Objects/thing/")
    assert mesh.mesh.texture is not None and ".usdz[" in mesh.texture_file
    assert validate_stage(scene.stage).errors == ()
