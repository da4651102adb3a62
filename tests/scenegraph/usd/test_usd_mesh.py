"""Textured meshes in the USD scene: write → read round trips, st orientation, validators,
meshes made by other tools, and the scene summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pxr import Gf, Sdf, Usd, UsdGeom, UsdShade

from sceneforge.scenegraph import (
    CameraTrack,
    InputError,
    Intrinsics,
    SceneFileError,
    TexturedMesh,
    author_mesh,
    read_scene_meshes,
    scene_summary,
    validate_stage,
    write_scene,
)
from sceneforge.scenegraph.usd._png import _decode_png, read_image, write_png


def _track(num_frames: int = 3) -> CameraTrack:
    intrinsics = Intrinsics.from_focal(focal_px=500.0, width=640, height=360)
    poses = np.repeat(np.eye(4)[None], num_frames, axis=0)
    poses[:, 0, 3] = np.arange(num_frames) * 0.1
    return CameraTrack(
        intrinsics=(intrinsics,) * num_frames,
        world_from_cam=poses,
        frame_numbers=np.arange(num_frames, dtype=np.int64) + 1001,
        fps=24.0,
        status=np.zeros(num_frames, dtype=np.int8),
    )


def _grid_mesh(*, textured: bool = True, rows: int = 12, cols: int = 17, seed: int = 0) -> TexturedMesh:
    """A wavy grid with per-vertex uv over a random texture (non-square, odd sizes)."""
    rng = np.random.default_rng(seed)
    u, v = np.meshgrid(np.linspace(0.0, 1.0, cols), np.linspace(0.0, 1.0, rows))
    vertices = np.column_stack([u.ravel() * 4.0 - 2.0, v.ravel() * 3.0, 0.2 * np.sin(5.0 * u.ravel()) - 3.0])
    index = np.arange(rows * cols).reshape(rows, cols)
    faces = np.concatenate([
        np.stack([index[:-1, :-1], index[:-1, 1:], index[1:, :-1]], -1).reshape(-1, 3),
        np.stack([index[:-1, 1:], index[1:, 1:], index[1:, :-1]], -1).reshape(-1, 3),
    ]).astype(np.int32)
    normals = rng.normal(size=vertices.shape)
    normals = (normals / np.linalg.norm(normals, axis=1, keepdims=True)).astype(np.float32)
    colours = rng.integers(0, 256, (len(vertices), 3)).astype(np.uint8)
    if not textured:
        return TexturedMesh(vertices=vertices, faces=faces, vertex_colors=colours, normals=normals)
    uv = np.column_stack([u.ravel(), v.ravel()]).astype(np.float32)
    texture = rng.integers(0, 256, (37, 53, 3)).astype(np.uint8)
    return TexturedMesh(vertices=vertices, faces=faces, uv=uv, texture=texture, normals=normals)


@pytest.fixture()
def scene(tmp_path: Path) -> tuple[Path, TexturedMesh]:
    mesh = _grid_mesh()
    (tmp_path / "depth").mkdir()
    paths = [f"depth/{n:04d}.npz" for n in range(3)]
    for p in paths:
        (tmp_path / p).write_bytes(b"stand-in")
    return write_scene(tmp_path, _track(), background=mesh, depth_paths=paths), mesh


# ---------------------------------------------------------------------------------- round trips


def test_textured_mesh_round_trip(scene):
    path, mesh = scene
    meshes = read_scene_meshes(path)
    assert [m.prim_path for m in meshes] == ["/World/Background"]
    back = meshes[0]
    assert back.name == "Background"
    np.testing.assert_array_equal(back.world_from_local, np.eye(4))
    np.testing.assert_array_equal(back.mesh.vertices, mesh.vertices.astype(np.float32))  # USD points are float32
    np.testing.assert_array_equal(back.mesh.faces, mesh.faces)
    np.testing.assert_array_equal(back.mesh.uv, mesh.uv)
    np.testing.assert_array_equal(back.mesh.texture, mesh.texture)
    np.testing.assert_allclose(back.mesh.normals, mesh.normals, atol=1e-6)
    assert Path(back.texture_file) == path.parent / "textures" / "Background.png"


def test_vertex_coloured_mesh_round_trip(tmp_path):
    mesh = _grid_mesh(textured=False)
    path = write_scene(tmp_path, _track(), background=mesh)
    back = read_scene_meshes(path)[0].mesh
    assert back.texture is None and back.uv is None
    # displayColor is linear float32; sRGB bytes come back to within one step.
    assert np.abs(back.vertex_colors.astype(int) - mesh.vertex_colors.astype(int)).max() <= 1
    assert not (tmp_path / "textures").exists()
    stage = Usd.Stage.Open(str(path))
    display = UsdGeom.Mesh(stage.GetPrimAtPath("/World/Background")).GetDisplayColorPrimvar()
    assert display.GetInterpolation() == UsdGeom.Tokens.vertex
    assert validate_stage(path).errors == ()


def test_stage_passes_the_validators(scene):
    path, _ = scene
    result = validate_stage(path)
    assert result.errors == (), result.errors
    assert result.validators_run > 10


def test_mesh_prim_follows_the_layout(scene):
    path, mesh = scene
    stage = Usd.Stage.Open(str(path))
    prim = stage.GetPrimAtPath("/World/Background")
    geom = UsdGeom.Mesh(prim)
    assert geom.GetSubdivisionSchemeAttr().Get() == UsdGeom.Tokens.none
    assert geom.GetOrientationAttr().Get() == UsdGeom.Tokens.rightHanded
    assert list(geom.GetFaceVertexCountsAttr().Get()) == [3] * mesh.num_faces
    np.testing.assert_allclose(np.array(geom.GetExtentAttr().Get()), mesh.bounds(), atol=1e-6)
    assert Usd.ModelAPI(prim).GetKind() == "component"
    material, _ = UsdShade.MaterialBindingAPI(prim).ComputeBoundMaterial()
    assert material.GetPath() == Sdf.Path("/World/Looks/Background")
    surface = material.ComputeSurfaceSource()[0]
    assert surface.GetIdAttr().Get() == "UsdPreviewSurface"
    assert surface.GetInput("roughness").Get() == 1.0 and surface.GetInput("useSpecularWorkflow").Get() == 0
    texture = UsdShade.Shader(stage.GetPrimAtPath("/World/Looks/Background/Texture"))
    assert texture.GetInput("file").Get().path == "./textures/Background.png"
    assert texture.GetInput("sourceColorSpace").Get() == "sRGB"
    st = UsdGeom.PrimvarsAPI(prim).GetPrimvar("st")
    assert st.GetTypeName() == Sdf.ValueTypeNames.TexCoord2fArray and st.GetInterpolation() == UsdGeom.Tokens.vertex
    # The mesh lives in the reconstruction layer, which edits never change.
    assert stage.GetPrimAtPath("/World/Background").GetPrimStack()[0].layer.identifier.endswith("reconstruction.usda")


def test_st_orientation_matches_the_image_as_other_tools_read_it(tmp_path):
    """USD's st (0, 0) is the bottom-left of the image: a vertex at v = 0.9 must sample the top
    of the PNG as any image reader (here Pillow, not our decoder) sees it."""
    image_lib = pytest.importorskip("PIL.Image")
    texture = np.zeros((40, 30, 3), dtype=np.uint8)
    texture[:20] = [255, 0, 0]  # top half red
    texture[20:] = [0, 0, 255]  # bottom half blue
    vertices = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    uv = np.array([[0.1, 0.1], [0.9, 0.1], [0.1, 0.9]], dtype=np.float32)
    mesh = TexturedMesh(vertices=vertices, faces=np.array([[0, 1, 2]], np.int32), uv=uv, texture=texture)
    path = write_scene(tmp_path, _track(), background=mesh)

    stage = Usd.Stage.Open(str(path))
    st = np.array(UsdGeom.PrimvarsAPI(stage.GetPrimAtPath("/World/Background")).GetPrimvar("st").Get())
    png = np.asarray(image_lib.open(tmp_path / "textures" / "Background.png").convert("RGB"))
    height = png.shape[0]
    row = lambda v: int((1.0 - v) * height)  # noqa: E731 - st v up, image rows down
    np.testing.assert_array_equal(png[row(st[2, 1]), 5], [255, 0, 0])  # v = 0.9: top, red
    np.testing.assert_array_equal(png[row(st[0, 1]), 5], [0, 0, 255])  # v = 0.1: bottom, blue


# ---------------------------------------------------------------------------------- other tools' meshes


def test_meshes_made_by_other_tools(tmp_path):
    """Quads and a pentagon, face-varying indexed st, a moved and scaled parent, left-handed
    winding, a constant displayColor; an untextured mesh without colours reads grey."""
    file = tmp_path / "other.usda"
    stage = Usd.Stage.CreateNew(str(file))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    parent = UsdGeom.Xform.Define(stage, "/Root")
    parent.AddTranslateOp().Set(Gf.Vec3d(1.0, 2.0, 3.0))
    parent.AddScaleOp().Set(Gf.Vec3f(2.0, 2.0, 2.0))
    geom = UsdGeom.Mesh.Define(stage, "/Root/Thing")
    points = [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (2, 0, 0), (2, 1, 0), (3, 0.5, 0)]
    geom.CreatePointsAttr(points)
    geom.CreateFaceVertexCountsAttr([4, 5])
    geom.CreateFaceVertexIndicesAttr([0, 1, 2, 3, 1, 4, 6, 5, 2])
    geom.CreateOrientationAttr(UsdGeom.Tokens.leftHanded)
    st = UsdGeom.PrimvarsAPI(geom.GetPrim()).CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.faceVarying)
    st.Set([(0, 0), (1, 0), (1, 1), (0, 1), (0.5, 0.5)])
    st.SetIndices([0, 1, 2, 3, 4, 4, 4, 4, 4])
    geom.CreateDisplayColorPrimvar(UsdGeom.Tokens.constant).Set([(0.2, 0.4, 0.6)])
    hidden = UsdGeom.Mesh.Define(stage, "/Root/Hidden")
    hidden.CreatePointsAttr([(0, 0, 0), (1, 0, 0), (0, 1, 0)])
    hidden.CreateFaceVertexCountsAttr([3])
    hidden.CreateFaceVertexIndicesAttr([0, 1, 2])
    hidden.CreateVisibilityAttr(UsdGeom.Tokens.invisible)
    guide = UsdGeom.Mesh.Define(stage, "/Root/Guide")
    guide.CreatePointsAttr([(0, 0, 0), (1, 0, 0), (0, 1, 0)])
    guide.CreateFaceVertexCountsAttr([3])
    guide.CreateFaceVertexIndicesAttr([0, 1, 2])
    guide.CreatePurposeAttr(UsdGeom.Tokens.guide)
    plain = UsdGeom.Mesh.Define(stage, "/Plain")
    plain.CreatePointsAttr([(0, 0, 0), (1, 0, 0), (0, 1, 0)])
    plain.CreateFaceVertexCountsAttr([3])
    plain.CreateFaceVertexIndicesAttr([0, 1, 2])
    stage.Save()

    meshes = {m.prim_path: m for m in read_scene_meshes(file)}
    assert set(meshes) == {"/Root/Thing", "/Plain"}
    thing = meshes["/Root/Thing"]
    expected = np.diag([2.0, 2.0, 2.0, 1.0])
    expected[:3, 3] = [1.0, 2.0, 3.0]
    np.testing.assert_allclose(thing.world_from_local, expected)
    mesh = thing.mesh
    assert mesh.num_faces == 2 + 3  # quad → 2, pentagon → 3
    assert mesh.texture is None  # no material: colours only
    np.testing.assert_array_equal(mesh.vertex_colors, np.broadcast_to(mesh.vertex_colors[0], mesh.vertex_colors.shape))
    # Left-handed winding is flipped: the quad's triangles now face -Z (right-handed rule).
    tri = mesh.vertices[mesh.faces]
    assert np.all(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])[:, 2] < 0)
    assert np.all(meshes["/Plain"].mesh.vertex_colors == 128)


def test_face_varying_st_with_a_texture_splits_vertices(tmp_path):
    file = tmp_path / "textured.usda"
    write_png(tmp_path / "tex.png", np.full((4, 4, 3), 200, dtype=np.uint8))
    stage = Usd.Stage.CreateNew(str(file))
    geom = UsdGeom.Mesh.Define(stage, "/Cube")
    geom.CreatePointsAttr([(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0)])
    geom.CreateFaceVertexCountsAttr([3, 3])
    geom.CreateFaceVertexIndicesAttr([0, 1, 2, 0, 2, 3])
    st = UsdGeom.PrimvarsAPI(geom.GetPrim()).CreatePrimvar("uvs", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.faceVarying)
    st.Set([(0, 0), (1, 0), (1, 1), (0.5, 0), (0.5, 1), (0, 1)])  # corner 0 and 2 differ between faces
    material = UsdShade.Material.Define(stage, "/Looks/M")
    surface = UsdShade.Shader.Define(stage, "/Looks/M/S")
    surface.CreateIdAttr("UsdPreviewSurface")
    reader = UsdShade.Shader.Define(stage, "/Looks/M/R")
    reader.CreateIdAttr("UsdPrimvarReader_float2")
    reader.CreateInput("varname", Sdf.ValueTypeNames.String).Set("uvs")
    texture = UsdShade.Shader.Define(stage, "/Looks/M/T")
    texture.CreateIdAttr("UsdUVTexture")
    texture.CreateInput("file", Sdf.ValueTypeNames.Asset).Set("./tex.png")
    texture.CreateInput("st", Sdf.ValueTypeNames.Float2).ConnectToSource(reader.ConnectableAPI(), "result")
    surface.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).ConnectToSource(texture.ConnectableAPI(), "rgb")
    material.CreateSurfaceOutput().ConnectToSource(surface.ConnectableAPI(), "surface")
    UsdShade.MaterialBindingAPI.Apply(geom.GetPrim()).Bind(material)
    stage.Save()

    scene_mesh = read_scene_meshes(file)[0]
    mesh = scene_mesh.mesh
    assert mesh.texture is not None and mesh.texture.shape == (4, 4, 3)
    assert mesh.num_faces == 2 and mesh.num_vertices == 6  # 4 points, 2 of them split by st
    corner_uv = mesh.uv[mesh.faces].reshape(-1, 2)
    np.testing.assert_allclose(corner_uv, [(0, 0), (1, 0), (1, 1), (0.5, 0), (0.5, 1), (0, 1)])


# ---------------------------------------------------------------------------------- summary and inputs


def test_summary_reports_the_background_and_depth_maps(scene, tmp_path):
    path, mesh = scene
    info = scene_summary(path)
    assert info["background"] == {
        "prim": "/World/Background",
        "faces": mesh.num_faces,
        "vertices": mesh.num_vertices,
        "texture_size": [53, 37],
    }
    assert info["depth_maps"] == 3 and info["missing_depth_maps"] == 0
    stage = Usd.Stage.Open(str(path))
    assets = stage.GetPrimAtPath("/World/Cameras/Plate").GetAttribute("sceneforge:depthMaps").Get()
    assert [a.path for a in assets] == ["./depth/0000.npz", "./depth/0001.npz", "./depth/0002.npz"]

    bare = tmp_path / "bare"
    bare.mkdir()
    info = scene_summary(write_scene(bare, _track()))
    assert info["background"] is None and info["depth_maps"] == 0


def test_bad_input_raises_typed_errors(tmp_path):
    with pytest.raises(InputError, match="one path per frame"):
        write_scene(tmp_path, _track(), depth_paths=["a.npz"])
    with pytest.raises(InputError, match="relative"):
        write_scene(tmp_path, _track(), depth_paths=["/abs/a.npz", "b", "c"])
    with pytest.raises(InputError, match="TexturedMesh"):
        write_scene(tmp_path, _track(), background=np.zeros((3, 3)))  # type: ignore[arg-type]
    stage = Usd.Stage.CreateInMemory()
    with pytest.raises(InputError, match="prim path"):
        author_mesh(stage, "World/Relative", _grid_mesh(), folder=tmp_path)
    assert not (tmp_path / "scene.usda").exists()


# ---------------------------------------------------------------------------------- PNG codec


def test_png_round_trip_and_foreign_pngs(tmp_path):
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (23, 41, 3)).astype(np.uint8)
    written = write_png(tmp_path / "a.png", image)
    np.testing.assert_array_equal(read_image(written), image)
    assert not list(tmp_path.glob(".*tmp*"))  # the temporary file was renamed away
    image_lib = pytest.importorskip("PIL.Image")
    np.testing.assert_array_equal(np.asarray(image_lib.open(written)), image)
    image_lib.fromarray(image).convert("RGBA").save(tmp_path / "b.png")  # Pillow filters rows adaptively
    np.testing.assert_array_equal(read_image(tmp_path / "b.png"), image)
    image_lib.fromarray(image[..., 1]).save(tmp_path / "grey.png", optimize=False, compress_level=0)
    grey = read_image(tmp_path / "grey.png")
    np.testing.assert_array_equal(grey, np.repeat(image[..., 1:2], 3, axis=2))
    assert _decode_png(b"not a png") is None
    with pytest.raises(SceneFileError, match="expected an image"):
        read_image(tmp_path / "missing.png")
