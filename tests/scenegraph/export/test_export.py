"""Exports of a scene, each read back with its own format's conventions: pycolmap opens the
COLMAP model, trimesh the GLB and PLY, and nerfstudio's, glTF's and Nuke's camera
conventions are re-implemented here from their documentation; edits, overwrite refusal and
bad input."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest
from pxr import Gf, Sdf, Usd, UsdGeom

from sceneforge.scenegraph import (
    EXPORT_FORMATS,
    CameraTrack,
    FrameStatus,
    InputError,
    Intrinsics,
    OutputExistsError,
    SceneFileError,
    SparsePoints,
    TexturedMesh,
    author_mesh,
    export_chan,
    export_colmap,
    export_glb,
    export_nerfstudio,
    export_ply,
    export_scene,
    invert_rigid,
    make_transform,
    rotation_about_axis,
    transform_points,
    write_scene,
)
from sceneforge.scenegraph.export._chan import nuke_zxy_degrees

WIDTH, HEIGHT = 640, 360
K_OFF_CENTRE = np.array([[512.25, 0.0, 331.5], [0.0, 512.25, 171.75], [0.0, 0.0, 1.0]])
RADIAL = np.array([0.02, -0.003])
# An OpenCV camera looking along world +Z with world +Y up has its +X (right) along world -X.
UPRIGHT = np.diag([-1.0, -1.0, 1.0])
WORLD_FROM_CHAIR = make_transform(rotation_about_axis(np.array([0.0, 1.0, 0.0]), 0.6), np.array([0.4, 0.0, 4.5]))


def make_track(
    *,
    intrinsics: Intrinsics | None = None,
    per_frame: bool = False,
    num_frames: int = 5,
    with_points: bool = True,
) -> CameraTrack:
    """An upright camera (+Y up) dollying and panning in front of points 3 to 8 units ahead."""
    rng = np.random.default_rng(3)
    base = intrinsics or Intrinsics(K=K_OFF_CENTRE, width=WIDTH, height=HEIGHT, radial=RADIAL)
    if per_frame:
        zooms = np.linspace(0.9, 1.2, num_frames)
        per = tuple(
            Intrinsics(K=base.K * [[z], [z], [1.0]], width=base.width, height=base.height, radial=base.radial)
            for z in zooms
        )
    else:
        per = (base,) * num_frames
    poses = []
    for i in range(num_frames):
        turn = rotation_about_axis(np.array([0.0, 1.0, 0.0]), 0.1 * i) @ rotation_about_axis(rng.normal(size=3), 0.03)
        poses.append(make_transform(turn @ UPRIGHT, np.array([0.25 * i, 1.5, 0.1 * i])))
    points = SparsePoints.empty()
    if with_points:
        count = 50
        xyz = np.column_stack([rng.uniform(-2, 3, count), rng.uniform(0, 3, count), rng.uniform(3, 8, count)])
        error = rng.uniform(0.1, 2.0, count)
        error[0] = np.nan
        colors = rng.integers(0, 256, (count, 3)).astype(np.uint8)
        points = SparsePoints(points_in_world=xyz, colors=colors, error_px=error)
    return CameraTrack(
        intrinsics=per,
        world_from_cam=np.stack(poses),
        frame_numbers=1001 + 2 * np.arange(num_frames, dtype=np.int64),
        fps=24.0,
        status=np.full(num_frames, FrameStatus.SOLVED, dtype=np.int8),
        points=points,
    )


def grid_mesh(*, textured: bool, z: float = 6.0, seed: int = 0) -> TexturedMesh:
    """A small wavy grid at depth ``z``: textured (random texture) or vertex-coloured."""
    rng = np.random.default_rng(seed)
    rows, cols = 5, 7
    u, v = np.meshgrid(np.linspace(0.0, 1.0, cols), np.linspace(0.0, 1.0, rows))
    vertices = np.column_stack([u.ravel() * 4.0 - 2.0, v.ravel() * 3.0, 0.2 * np.sin(5.0 * u.ravel()) + z])
    index = np.arange(rows * cols).reshape(rows, cols)
    faces = np.concatenate([
        np.stack([index[:-1, :-1], index[:-1, 1:], index[1:, :-1]], -1).reshape(-1, 3),
        np.stack([index[:-1, 1:], index[1:, 1:], index[1:, :-1]], -1).reshape(-1, 3),
    ]).astype(np.int32)
    if not textured:
        colours = rng.integers(0, 256, (len(vertices), 3)).astype(np.uint8)
        return TexturedMesh(vertices=vertices, faces=faces, vertex_colors=colours)
    uv = np.column_stack([u.ravel(), v.ravel()]).astype(np.float32)
    texture = rng.integers(0, 256, (9, 13, 3)).astype(np.uint8)
    return TexturedMesh(vertices=vertices, faces=faces, uv=uv, texture=texture)


def build_scene(folder: Path, track: CameraTrack | None = None, *, meters_per_unit: float = 1.0) -> Path:
    """A scene with a textured background and a vertex-coloured object /World/Objects/chair
    (Xform with an anchor transform holding /World/Objects/chair/mesh) in reconstruction.usda."""
    path = write_scene(folder, track or make_track(), background=grid_mesh(textured=True), meters_per_unit=meters_per_unit)
    layer = Sdf.Layer.FindOrOpen(str(folder / "reconstruction.usda"))
    stage = Usd.Stage.Open(layer)
    UsdGeom.Xform.Define(stage, "/World/Objects")
    chair = UsdGeom.Xform.Define(stage, "/World/Objects/chair")
    chair.AddTransformOp().Set(Gf.Matrix4d(WORLD_FROM_CHAIR.T.tolist()))
    author_mesh(stage, "/World/Objects/chair/mesh", grid_mesh(textured=False, z=0.0, seed=1), folder=folder, name="chair")
    layer.Save()
    return path


@pytest.fixture()
def scene(tmp_path: Path) -> Path:
    folder = tmp_path / "shot"
    folder.mkdir()
    return build_scene(folder)


def glb_json(path: Path) -> dict:
    """The JSON chunk of a GLB file (glTF 2.0 binary container: 12-byte header, then chunks)."""
    data = path.read_bytes()
    magic, version, length = struct.unpack("<4sII", data[:12])
    assert (magic, version, length) == (b"glTF", 2, len(data))
    chunk_length, chunk_type = struct.unpack("<I4s", data[12:20])
    assert chunk_type == b"JSON"
    return json.loads(data[20 : 20 + chunk_length])


def points_in_view(track: CameraTrack, index: int, count: int = 40) -> np.ndarray:
    """World points spread over the view of frame ``index``, 2 to 9 units in front of it."""
    rng = np.random.default_rng(index)
    intrinsics = track.intrinsics[index]
    pixels = rng.uniform([0, 0], [intrinsics.width, intrinsics.height], (count, 2))
    in_cam = intrinsics.unproject(pixels, rng.uniform(2.0, 9.0, count))
    return transform_points(track.world_from_cam[index], in_cam)


def no_temporaries(folder: Path) -> bool:
    return not any(".tmp" in p.name for p in folder.iterdir())


# ---------------------------------------------------------------------------------- registry


def test_every_format_dispatches(scene, tmp_path):
    outs = {"glb": "a.glb", "colmap": "model", "nerfstudio": "ns", "chan": "a.chan", "ply": "a.ply"}
    assert set(outs) == set(EXPORT_FORMATS)
    for name, out in outs.items():
        written = export_scene(scene, tmp_path / out, to=name.upper())
        assert written.exists(), name
    assert no_temporaries(tmp_path)


def test_unknown_format_lists_the_formats(scene, tmp_path):
    with pytest.raises(InputError, match="glb, colmap, nerfstudio, chan, ply") as info:
        export_scene(scene, tmp_path / "a.obj", to="obj")
    assert "\n" not in str(info.value)
    with pytest.raises(InputError, match="did you mean 'colmap'"):
        export_scene(scene, tmp_path / "m", to="colmpa")
    assert not (tmp_path / "a.obj").exists()


def test_an_option_of_another_format_is_refused(scene, tmp_path):
    with pytest.raises(InputError, match="time applies to glb"):
        export_scene(scene, tmp_path / "m", to="colmap", time=1003)
    with pytest.raises(InputError, match="image_paths applies to colmap and nerfstudio"):
        export_scene(scene, tmp_path / "a.ply", to="ply", image_paths=["a.png"])


def test_scene_may_be_a_folder_or_an_open_stage(scene, tmp_path):
    a = export_chan(scene.parent, tmp_path / "a.chan").read_text()
    b = export_chan(Usd.Stage.Open(str(scene)), tmp_path / "b.chan").read_text()
    assert a == b
    with pytest.raises(InputError, match="scene must be"):
        export_chan(42, tmp_path / "c.chan")
    with pytest.raises(SceneFileError):
        export_chan(tmp_path / "missing.usda", tmp_path / "c.chan")


# ---------------------------------------------------------------------------------- COLMAP


@pytest.mark.parametrize(
    ("intrinsics", "model"),
    [
        (Intrinsics(K=K_OFF_CENTRE, width=WIDTH, height=HEIGHT, radial=RADIAL), "RADIAL"),
        (Intrinsics(K=K_OFF_CENTRE, width=WIDTH, height=HEIGHT), "PINHOLE"),
        (Intrinsics(K=K_OFF_CENTRE * [[1.0], [1.05], [1.0]], width=WIDTH, height=HEIGHT, radial=RADIAL), "OPENCV"),
    ],
)
def test_pycolmap_reads_our_cameras(tmp_path, intrinsics, model):
    pycolmap = pytest.importorskip("pycolmap")
    track = make_track(intrinsics=intrinsics)
    scene = write_scene(tmp_path, track)
    folder = export_colmap(scene, tmp_path / "sparse")
    assert sorted(p.name for p in folder.iterdir()) == ["cameras.txt", "images.txt", "points3D.txt"]

    reconstruction = pycolmap.Reconstruction(str(folder))
    assert len(reconstruction.cameras) == 1 and len(reconstruction.images) == len(track)
    camera = reconstruction.cameras[1]
    assert camera.model_name == model
    assert (camera.width, camera.height) == (WIDTH, HEIGHT)
    np.testing.assert_allclose(camera.calibration_matrix(), intrinsics.K, rtol=1e-12)
    if model != "PINHOLE":
        k1, k2 = camera.params[camera.extra_params_idxs()][:2]
        np.testing.assert_allclose([k1, k2], intrinsics.radial, rtol=1e-12)
    by_name = {image.name: image for image in reconstruction.images.values()}
    for index, number in enumerate(track.frame_numbers):
        image = by_name[f"frame_{number:06d}.png"]
        cam_from_world = np.eye(4)
        cam_from_world[:3] = image.cam_from_world().matrix()
        np.testing.assert_allclose(cam_from_world, invert_rigid(track.world_from_cam[index]), atol=1e-9)
        # The same pixel through COLMAP's camera model as through ours (pixel centres agree).
        world = points_in_view(track, index)
        in_cam = transform_points(cam_from_world, world)
        np.testing.assert_allclose(camera.img_from_cam(in_cam), intrinsics.project(in_cam), atol=1e-6)


def test_colmap_zoom_gets_one_camera_per_frame(tmp_path):
    pycolmap = pytest.importorskip("pycolmap")
    track = make_track(per_frame=True)
    reconstruction = pycolmap.Reconstruction(str(export_colmap(write_scene(tmp_path, track), tmp_path / "sparse")))
    assert len(reconstruction.cameras) == len(track)
    for image in reconstruction.images.values():
        index = int(np.flatnonzero(track.frame_numbers == int(image.name[6:12]))[0])
        camera = reconstruction.cameras[image.camera_id]
        np.testing.assert_allclose(camera.calibration_matrix(), track.intrinsics[index].K, rtol=1e-12)


def test_colmap_points_and_image_names(scene, tmp_path):
    pycolmap = pytest.importorskip("pycolmap")
    track = make_track()
    names = [f"shot/{i:03d}.jpg" for i in range(len(track))]
    folder = export_colmap(scene, tmp_path / "sparse", image_paths=names)
    reconstruction = pycolmap.Reconstruction(str(folder))
    assert sorted(image.name for image in reconstruction.images.values()) == names
    points = sorted(reconstruction.points3D.items())
    assert len(points) == len(track.points)
    xyz = np.stack([p.xyz for _, p in points])
    np.testing.assert_allclose(xyz, track.points.points_in_world, atol=1e-5)  # USD stores float32
    np.testing.assert_array_equal(np.stack([p.color for _, p in points]), track.points.colors)
    assert points[0][1].error == -1.0  # unknown error
    np.testing.assert_allclose([p.error for _, p in points[1:]], track.points.error_px[1:], rtol=1e-6)
    assert all(p.track.length() == 0 for _, p in points)
    with pytest.raises(InputError, match="spaces"):
        export_colmap(scene, tmp_path / "other", image_paths=[f"my frame {i}.png" for i in range(len(track))])
    with pytest.raises(InputError, match="one path per frame"):
        export_colmap(scene, tmp_path / "other", image_paths=["a.png"])


def test_colmap_refuses_skew(tmp_path):
    skewed = Intrinsics(K=K_OFF_CENTRE + [[0.0, 2.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], width=WIDTH, height=HEIGHT)
    scene = write_scene(tmp_path, make_track(intrinsics=skewed))
    with pytest.raises(InputError, match="no skew"):
        export_colmap(scene, tmp_path / "sparse")
    assert not (tmp_path / "sparse").exists()


# ---------------------------------------------------------------------------------- nerfstudio


def nerfstudio_project(meta: dict, frame: dict, points_in_world: np.ndarray) -> np.ndarray:
    """Pixels of world points by nerfstudio's documented conventions: ``transform_matrix`` is
    camera-to-world with OpenGL axes (+X right, +Y up, looking down -Z), OPENCV distortion
    (k1, k2 radial, p1, p2 tangential), pixel centres at +0.5."""
    get = lambda key: frame.get(key, meta.get(key))  # noqa: E731  per-frame fields win
    c2w = np.array(frame["transform_matrix"])
    in_gl = transform_points(np.linalg.inv(c2w), points_in_world)
    x, y = in_gl[:, 0] / -in_gl[:, 2], -in_gl[:, 1] / -in_gl[:, 2]
    k1, k2, p1, p2 = (get(k) for k in ("k1", "k2", "p1", "p2"))
    r2 = x * x + y * y
    radial = 1.0 + k1 * r2 + k2 * r2 * r2
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    return np.column_stack([get("fl_x") * xd + get("cx"), get("fl_y") * yd + get("cy")])


@pytest.mark.parametrize("per_frame", [False, True])
def test_nerfstudio_projects_like_our_intrinsics(tmp_path, per_frame):
    track = make_track(per_frame=per_frame)
    scene = write_scene(tmp_path, track)
    out = export_nerfstudio(scene, tmp_path / "data")
    assert out == tmp_path / "data" / "transforms.json"
    meta = json.loads(out.read_text())
    assert meta["camera_model"] == "OPENCV"
    assert ("fl_x" in meta) is not per_frame
    assert [f["file_path"] for f in meta["frames"]] == [f"images/frame_{n:06d}.png" for n in track.frame_numbers]
    for index, frame in enumerate(meta["frames"]):
        assert frame.get("w", meta.get("w")) == WIDTH and frame.get("h", meta.get("h")) == HEIGHT
        world = points_in_view(track, index)
        ours = track.intrinsics[index].project(transform_points(invert_rigid(track.world_from_cam[index]), world))
        np.testing.assert_allclose(nerfstudio_project(meta, frame, world), ours, atol=1e-6)


def test_nerfstudio_points_and_paths(scene, tmp_path):
    trimesh = pytest.importorskip("trimesh")
    track = make_track()
    names = [f"rgb/{i}.png" for i in range(len(track))]
    out = export_nerfstudio(scene, tmp_path / "transforms.json", image_paths=names)
    meta = json.loads(out.read_text())
    assert [f["file_path"] for f in meta["frames"]] == names
    assert "applied_transform" not in meta
    cloud = trimesh.load(tmp_path / meta["ply_file_path"])
    np.testing.assert_allclose(cloud.vertices, track.points.points_in_world, atol=1e-5)
    # Without points there is no PLY and no ply_file_path.
    bare = tmp_path / "bare"
    bare.mkdir()
    meta = json.loads(export_nerfstudio(write_scene(bare, make_track(with_points=False)), bare / "ns").read_text())
    assert "ply_file_path" not in meta and not (bare / "ns" / "sparse_pc.ply").exists()


# ---------------------------------------------------------------------------------- Nuke .chan


def test_chan_columns_follow_nukes_camera(scene, tmp_path):
    """frame tx ty tz rx ry rz vfov: rotation order ZXY (Z first, then X, then Y) in degrees of
    a Y-up camera looking down -Z; vfov in degrees."""
    track = make_track()
    rows = np.loadtxt(export_chan(scene, tmp_path / "plate.chan"), ndmin=2)
    assert rows.shape == (len(track), 8)
    np.testing.assert_array_equal(rows[:, 0], track.frame_numbers)
    world_from_nukecam = track.world_from_cam @ np.diag([1.0, -1.0, -1.0, 1.0])
    for row, expected, intrinsics in zip(rows, world_from_nukecam, track.intrinsics):
        np.testing.assert_allclose(row[1:4], expected[:3, 3], atol=1e-12)
        rx, ry, rz = np.radians(row[4:7])
        rotation = (
            rotation_about_axis(np.array([0.0, 1.0, 0.0]), ry)
            @ rotation_about_axis(np.array([1.0, 0.0, 0.0]), rx)
            @ rotation_about_axis(np.array([0.0, 0.0, 1.0]), rz)
        )
        np.testing.assert_allclose(rotation, expected[:3, :3], atol=1e-12)
        np.testing.assert_allclose(row[7], np.degrees(2.0 * np.arctan(HEIGHT / (2.0 * intrinsics.fy))), rtol=1e-12)
        # Nuke: focal from vfov and the vertical aperture; the image framed by the horizontal
        # aperture. With haperture / vaperture as the docstring says, the horizontal fov is K's.
        vaperture = 18.672
        focal = vaperture / (2.0 * math.tan(math.radians(row[7]) / 2.0))
        haperture = vaperture * (WIDTH / intrinsics.fx) / (HEIGHT / intrinsics.fy)
        np.testing.assert_allclose(2.0 * math.atan(haperture / (2.0 * focal)), intrinsics.horizontal_fov_rad(), rtol=1e-12)
    # An upright camera has no roll and little tilt.
    assert np.all(np.abs(rows[:, 6]) < 5.0) and np.all(np.abs(rows[:, 4]) < 5.0)


def test_zxy_angles_rebuild_any_rotation_and_survive_gimbal_lock():
    rng = np.random.default_rng(0)
    rotations = [rotation_about_axis(rng.normal(size=3), rng.uniform(0, math.pi)) for _ in range(50)]
    x_axis, y_axis, z_axis = np.eye(3)
    # Looking straight down or up: rx = ±90°, ry and rz share one degree of freedom.
    rotations.append(rotation_about_axis(x_axis, math.pi / 2) @ rotation_about_axis(z_axis, 0.3))
    rotations.append(rotation_about_axis(y_axis, 0.7) @ rotation_about_axis(x_axis, -math.pi / 2))
    for rotation in rotations:
        rx, ry, rz = np.radians(nuke_zxy_degrees(rotation))
        rebuilt = (
            rotation_about_axis(np.array([0.0, 1.0, 0.0]), ry)
            @ rotation_about_axis(np.array([1.0, 0.0, 0.0]), rx)
            @ rotation_about_axis(np.array([0.0, 0.0, 1.0]), rz)
        )
        np.testing.assert_allclose(rebuilt, rotation, atol=1e-7)


# ---------------------------------------------------------------------------------- PLY


def test_ply_reads_back_with_trimesh(scene, tmp_path):
    trimesh = pytest.importorskip("trimesh")
    track = make_track()
    out = export_ply(scene, tmp_path / "points.ply")
    assert out.read_bytes().startswith(b"ply\nformat binary_little_endian 1.0\n")
    cloud = trimesh.load(out)
    np.testing.assert_allclose(cloud.vertices, track.points.points_in_world, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(cloud.colors)[:, :3], track.points.colors)


def test_ply_without_points_says_so(tmp_path):
    scene = write_scene(tmp_path, make_track(with_points=False))
    with pytest.raises(InputError, match="no"):
        export_ply(scene, tmp_path / "points.ply")
    assert not (tmp_path / "points.ply").exists()


# ---------------------------------------------------------------------------------- GLB


def test_glb_meshes_transforms_and_textures_read_back_with_trimesh(tmp_path):
    trimesh = pytest.importorskip("trimesh")
    pytest.importorskip("PIL")
    folder = tmp_path / "shot"
    folder.mkdir()
    scene = build_scene(folder, meters_per_unit=0.01)
    out = export_glb(scene, tmp_path / "scene.glb")
    loaded = trimesh.load(out, force="scene")
    assert set(loaded.geometry) == {"Background", "Objects/chair/mesh"}
    to_metres = np.diag([0.01, 0.01, 0.01, 1.0])

    background = loaded.geometry["Background"]
    matrix, _ = loaded.graph["Background"]
    np.testing.assert_allclose(matrix, to_metres, atol=1e-12)
    expected = grid_mesh(textured=True)
    np.testing.assert_allclose(background.vertices, expected.vertices, atol=1e-6)  # local frame, USD float32
    np.testing.assert_allclose(background.visual.uv, expected.uv, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(background.visual.material.baseColorTexture.convert("RGB")), expected.texture)

    chair = loaded.geometry["Objects/chair/mesh"]
    matrix, _ = loaded.graph["Objects/chair/mesh"]
    np.testing.assert_allclose(matrix, to_metres @ WORLD_FROM_CHAIR, atol=1e-9)
    # COLOR_0 is linear (glTF); our colours are sRGB.
    colours = grid_mesh(textured=False, z=0.0, seed=1).vertex_colors / 255.0
    linear = np.where(colours <= 0.04045, colours / 12.92, ((colours + 0.055) / 1.055) ** 2.4)
    assert np.abs(chair.visual.vertex_colors[:, :3].astype(int) - np.rint(linear * 255.0)).max() <= 1


@pytest.mark.parametrize("meters_per_unit", [1.0, 0.01])
def test_glb_camera_projects_like_our_intrinsics(tmp_path, meters_per_unit):
    """The glTF camera node and perspective projection (spec: looks down -Z, +Y up;
    x_ndc = x / (-z aspectRatio tan(yfov / 2))) put a point on our pixel."""
    k = np.array([[520.0, 0.0, WIDTH / 2.0], [0.0, 535.6, HEIGHT / 2.0], [0.0, 0.0, 1.0]])  # non-square pixels
    centred = Intrinsics(K=k, width=WIDTH, height=HEIGHT)
    track = make_track(intrinsics=centred)
    folder = tmp_path / "shot"
    folder.mkdir()
    scene = build_scene(folder, track, meters_per_unit=meters_per_unit)
    index = 3
    gltf = glb_json(export_glb(scene, tmp_path / "scene.glb", time=int(track.frame_numbers[index])))
    (camera,) = gltf["cameras"]
    node = next(n for n in gltf["nodes"] if n.get("camera") == 0)
    assert gltf["nodes"].index(node) in gltf["scenes"][0]["nodes"]
    assert camera["extras"]["sceneforge"]["frame"] == track.frame_numbers[index]
    np.testing.assert_allclose(camera["extras"]["sceneforge"]["K"], centred.K)
    gltf_from_cam = np.array(node["matrix"]).reshape(4, 4).T  # column-major
    np.testing.assert_allclose(gltf_from_cam[:3, :3].T @ gltf_from_cam[:3, :3], np.eye(3), atol=1e-12)  # rigid
    perspective = camera["perspective"]
    tan_half = math.tan(perspective["yfov"] / 2.0)
    world = points_in_view(track, index)
    in_cam = transform_points(np.linalg.inv(gltf_from_cam), world * meters_per_unit)
    ndc_x = in_cam[:, 0] / (-in_cam[:, 2] * perspective["aspectRatio"] * tan_half)
    ndc_y = in_cam[:, 1] / (-in_cam[:, 2] * tan_half)
    pixels = np.column_stack([(ndc_x + 1.0) / 2.0 * WIDTH, (1.0 - ndc_y) / 2.0 * HEIGHT])
    ours = centred.project(transform_points(invert_rigid(track.world_from_cam[index]), world))
    np.testing.assert_allclose(pixels, ours, atol=1e-6)
    assert 0 < perspective["znear"] < perspective["zfar"]


def test_glb_time_must_be_a_frame(scene, tmp_path):
    with pytest.raises(InputError, match="one of the camera's frames"):
        export_glb(scene, tmp_path / "a.glb", time=1002)
    assert not (tmp_path / "a.glb").exists()


def test_glb_of_a_z_up_stage_is_y_up(scene, tmp_path):
    stage = Usd.Stage.Open(str(scene))
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.z)  # on the session's root layer, not saved
    gltf = glb_json(export_glb(stage, tmp_path / "a.glb"))
    node = next(n for n in gltf["nodes"] if n.get("name") == "Background")
    matrix = np.array(node["matrix"]).reshape(4, 4).T
    np.testing.assert_allclose(matrix @ [0.0, 0.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0], atol=1e-12)


# ---------------------------------------------------------------------------------- edits


def edit_stage(scene: Path) -> tuple[Usd.Stage, Sdf.Layer]:
    stage = Usd.Stage.Open(str(scene))
    edits = Sdf.Layer.FindOrOpen(str(scene.parent / "edits.usda"))
    stage.SetEditTarget(Usd.EditTarget(edits))
    return stage, edits


def test_edited_scene_exports_with_the_edits(scene, tmp_path):
    trimesh = pytest.importorskip("trimesh")
    pytest.importorskip("PIL")
    stage, edits = edit_stage(scene)
    moved = make_transform(rotation_about_axis(np.array([0.0, 1.0, 0.0]), 0.25), np.array([1.0, 0.5, -2.0]))
    UsdGeom.Xformable(stage.GetPrimAtPath("/World/Background")).AddTransformOp().Set(Gf.Matrix4d(moved.T.tolist()))
    stage.GetPrimAtPath("/World/Objects/chair").SetActive(False)  # delete = deactivate
    UsdGeom.Xformable(stage.GetPrimAtPath("/World/Points")).AddTranslateOp().Set(Gf.Vec3d(0.0, 2.0, 0.0))
    UsdGeom.Xformable(stage.GetPrimAtPath("/World/Cameras")).AddTranslateOp().Set(Gf.Vec3d(0.0, 0.0, 3.0))
    reconstruction = (scene.parent / "reconstruction.usda").read_text()

    # Unsaved edits on the open stage are exported.
    loaded = trimesh.load(export_glb(stage, tmp_path / "open.glb"), force="scene")
    assert set(loaded.geometry) == {"Background"}
    np.testing.assert_allclose(loaded.graph["Background"][0], moved, atol=1e-12)

    # Saved edits, through the scene file.
    edits.Save()
    loaded = trimesh.load(export_glb(scene, tmp_path / "saved.glb"), force="scene")
    np.testing.assert_allclose(loaded.graph["Background"][0], moved, atol=1e-12)
    track = make_track()
    cloud = trimesh.load(export_ply(scene, tmp_path / "points.ply"))
    np.testing.assert_allclose(cloud.vertices, track.points.points_in_world + [0.0, 2.0, 0.0], atol=1e-5)
    rows = np.loadtxt(export_chan(scene, tmp_path / "plate.chan"), ndmin=2)
    np.testing.assert_allclose(rows[:, 1:4], track.camera_centers() + [0.0, 0.0, 3.0], atol=1e-9)
    assert (scene.parent / "reconstruction.usda").read_text() == reconstruction  # never changes


# ---------------------------------------------------------------------------------- outputs


@pytest.mark.parametrize(
    ("fmt", "name"), [("glb", "a.glb"), ("colmap", "model"), ("nerfstudio", "ns.json"), ("chan", "a.chan"), ("ply", "a.ply")]
)
def test_existing_output_needs_overwrite(scene, tmp_path, fmt, name):
    out = tmp_path / name
    export_scene(scene, out, to=fmt)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(OutputExistsError, match="pass --force") as info:
        export_scene(scene, out, to=fmt)
    assert "\n" not in str(info.value)
    written = export_scene(scene, out, to=fmt, overwrite=True)
    assert written.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # replaced in place, nothing left over


def test_colmap_overwrite_keeps_foreign_folders_intact(scene, tmp_path):
    (tmp_path / "empty").mkdir()
    export_colmap(scene, tmp_path / "empty")  # an empty folder is filled
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(OutputExistsError):
        export_colmap(scene, mine, overwrite=True)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    # A previous binary model is replaced as a whole (no stale .bin files beside the text).
    (tmp_path / "empty" / "cameras.bin").write_bytes(b"old")
    export_colmap(scene, tmp_path / "empty", overwrite=True)
    assert sorted(p.name for p in (tmp_path / "empty").iterdir()) == ["cameras.txt", "images.txt", "points3D.txt"]
    assert no_temporaries(tmp_path)


def test_bad_output_paths(scene, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        export_glb(scene, tmp_path / "missing" / "a.glb")
    with pytest.raises(InputError, match="folder"):
        export_chan(scene, tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="must be a folder"):
        export_colmap(scene, tmp_path / "file", overwrite=True)
