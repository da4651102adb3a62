"""USD I/O of the camera track: convention round trips, USD's own camera math, layout, validation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from pxr import Gf, Kind, Sdf, Usd, UsdGeom

from sceneforge.scenegraph import (
    CameraTrack,
    FrameStatus,
    Intrinsics,
    SceneFileError,
    SolveReport,
    SparsePoints,
    StageValidation,
    invert_rigid,
    make_transform,
    open_stage,
    read_camera_track,
    rotation_about_axis,
    scene_summary,
    transform_points,
    validate_stage,
    write_scene,
)

# An off-centre principal point and non-square pixels: the case that catches sign and axis slips.
K_OFF_CENTRE = np.array([[1012.5, 0.0, 701.25], [0.0, 1030.75, 297.5], [0.0, 0.0, 1.0]])
WIDTH, HEIGHT = 1280, 720
CAMERA = "/World/Cameras/Plate"


def make_track(
    *,
    num_frames: int = 6,
    intrinsics: Intrinsics | None = None,
    per_frame: bool = False,
    with_points: bool = True,
    first_frame: int = 1001,
    stride: int = 2,
    fps: float = 24000.0 / 1001.0,
    seed: int = 0,
) -> CameraTrack:
    """A camera dollying and turning in front of a cloud of points 4 to 12 units away."""
    rng = np.random.default_rng(seed)
    base = intrinsics or Intrinsics(K=K_OFF_CENTRE, width=WIDTH, height=HEIGHT, radial=np.array([0.02, -0.003]))
    if per_frame:
        zooms = np.linspace(0.9, 1.3, num_frames)
        per = tuple(
            Intrinsics(K=base.K * [[z], [z], [1.0]], width=base.width, height=base.height, radial=base.radial)
            for z in zooms
        )
    else:
        per = (base,) * num_frames
    poses = []
    for i in range(num_frames):
        rotation = rotation_about_axis(np.array([0.1, 1.0, 0.05]), 0.05 * i) @ rotation_about_axis(
            rng.normal(size=3), 0.02
        )
        poses.append(make_transform(rotation, np.array([0.3 * i, 0.05 * i, -0.2 * i]) + rng.normal(0, 0.01, 3)))
    points = SparsePoints.empty()
    if with_points:
        count = 200
        xyz = np.column_stack([rng.uniform(-4, 4, count), rng.uniform(-3, 3, count), rng.uniform(4, 12, count)])
        colors = rng.integers(0, 256, (count, 3)).astype(np.uint8)
        points = SparsePoints(points_in_world=xyz, colors=colors, error_px=rng.uniform(0.1, 2.0, count))
    status = np.array([FrameStatus.SOLVED, FrameStatus.LOCALIZED, FrameStatus.INTERPOLATED] * num_frames)[:num_frames]
    report = SolveReport(
        backend="synthetic",
        num_frames=num_frames,
        num_solved=int(np.sum(status == FrameStatus.SOLVED)),
        num_localized=int(np.sum(status == FrameStatus.LOCALIZED)),
        num_interpolated=int(np.sum(status == FrameStatus.INTERPOLATED)),
        mean_error_px=0.42,
        max_error_px=1.9,
        flags=("fixed_intrinsics",),
        messages=("synthetic track",),
        timings_secs={"solve": 1.5},
        per_frame_error_px=tuple([0.3, math.nan] * num_frames)[:num_frames],
    )
    return CameraTrack(
        intrinsics=per,
        world_from_cam=np.stack(poses),
        frame_numbers=first_frame + stride * np.arange(num_frames, dtype=np.int64),
        fps=fps,
        status=status.astype(np.int8),
        points=points,
        report=report,
    )


def open_plate(path: Path) -> tuple[Usd.Stage, UsdGeom.Camera]:
    """The stage (keep it: prims expire with their stage) and its plate camera."""
    stage = Usd.Stage.Open(str(path))
    return stage, UsdGeom.Camera(stage.GetPrimAtPath(CAMERA))


def film_attrs(camera: UsdGeom.Camera, time: Usd.TimeCode = Usd.TimeCode.Default()) -> dict[str, float]:
    return {
        "focal": camera.GetFocalLengthAttr().Get(time),
        "h_ap": camera.GetHorizontalApertureAttr().Get(time),
        "v_ap": camera.GetVerticalApertureAttr().Get(time),
        "h_off": camera.GetHorizontalApertureOffsetAttr().Get(time),
        "v_off": camera.GetVerticalApertureOffsetAttr().Get(time),
    }


def k_from_attrs(attrs: dict[str, float], width: int, height: int) -> np.ndarray:
    """K the float32 USD attributes describe (the module's formulas, inverted, in doubles)."""
    fx = attrs["focal"] / attrs["h_ap"] * width
    fy = attrs["focal"] / attrs["v_ap"] * height
    cx = width * (0.5 - attrs["h_off"] / attrs["h_ap"])
    cy = height * (0.5 + attrs["v_off"] / attrs["v_ap"])
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def gf_project(camera: UsdGeom.Camera, time: Usd.TimeCode, points_in_world: np.ndarray, width: int, height: int):
    """Pixels (u right, v down, pixel centres at +0.5) of world points through Gf's frustum matrices."""
    frustum = camera.GetCamera(time).frustum
    # Gf matrices act on row vectors: p_clip = p_world · view · projection.
    world_to_clip = np.array(frustum.ComputeViewMatrix() * frustum.ComputeProjectionMatrix())
    homogeneous = np.column_stack([points_in_world, np.ones(len(points_in_world))]) @ world_to_clip
    ndc = homogeneous[:, :3] / homogeneous[:, 3:4]
    u = (ndc[:, 0] + 1.0) / 2.0 * width
    v = (1.0 - ndc[:, 1]) / 2.0 * height  # NDC y is up, image v is down
    return np.column_stack([u, v])


@pytest.fixture()
def scene(tmp_path: Path) -> tuple[Path, CameraTrack]:
    track = make_track()
    path = write_scene(tmp_path, track, meters_per_unit=1.0, metric_scale=True, source="clip.mp4",
                       metadata={"mean_error_px": 0.42, "registered": 6})
    return path, track


# ---------------------------------------------------------------------------------- round trips


def test_round_trip_single_camera(scene):
    path, track = scene
    back = read_camera_track(path)
    assert len(back) == len(track)
    np.testing.assert_allclose(back.world_from_cam, track.world_from_cam, rtol=0, atol=1e-9)
    for got, want in zip(back.intrinsics, track.intrinsics):
        np.testing.assert_allclose(got.K, want.K, rtol=0, atol=1e-9)
        assert (got.width, got.height) == (want.width, want.height)
        np.testing.assert_array_equal(got.radial, want.radial)
    assert back.single_camera
    np.testing.assert_array_equal(back.frame_numbers, track.frame_numbers)
    np.testing.assert_array_equal(back.status, track.status)
    assert back.fps == track.fps
    assert back.report is not None
    assert back.report.to_dict() == track.report.to_dict()  # dicts: NaN per-frame errors become None


def test_round_trip_per_frame_intrinsics(tmp_path):
    track = make_track(per_frame=True, num_frames=5)
    assert not track.single_camera
    path = write_scene(tmp_path, track)
    back = read_camera_track(path)
    np.testing.assert_allclose(back.world_from_cam, track.world_from_cam, rtol=0, atol=1e-9)
    for got, want in zip(back.intrinsics, track.intrinsics):
        np.testing.assert_allclose(got.K, want.K, rtol=0, atol=1e-9)
    stage, camera = open_plate(path)
    assert camera.GetFocalLengthAttr().GetNumTimeSamples() == 5
    assert camera.GetHorizontalApertureOffsetAttr().GetNumTimeSamples() == 5
    assert camera.GetPrim().GetAttribute("sceneforge:K").GetNumTimeSamples() == 5


def test_single_camera_is_not_time_sampled(scene):
    path, _ = scene
    stage, camera = open_plate(path)
    for attr in (camera.GetFocalLengthAttr(), camera.GetVerticalApertureAttr(), camera.GetVerticalApertureOffsetAttr()):
        assert attr.GetNumTimeSamples() == 0 and attr.HasAuthoredValue()


def test_points_round_trip(scene):
    path, track = scene
    back = read_camera_track(path).points
    np.testing.assert_allclose(back.points_in_world, track.points.points_in_world, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(back.colors, track.points.colors)
    np.testing.assert_allclose(back.error_px, track.points.error_px, rtol=1e-6)


def test_every_8bit_colour_survives_the_linear_display_color(tmp_path):
    levels = np.arange(256, dtype=np.uint8)
    colors = np.column_stack([levels, levels[::-1], np.roll(levels, 7)])
    xyz = np.column_stack([np.linspace(-1, 1, 256), np.zeros(256), np.full(256, 5.0)])
    track = make_track(num_frames=3).replace(points=SparsePoints(xyz, colors, np.zeros(256)))
    back = read_camera_track(write_scene(tmp_path, track)).points
    np.testing.assert_array_equal(back.colors, colors)


def test_points_prim(scene):
    path, track = scene
    stage = Usd.Stage.Open(str(path))  # held: prims expire with their stage
    points = UsdGeom.Points(stage.GetPrimAtPath("/World/Points"))
    assert points
    lo, hi = (np.array(v) for v in points.GetExtentAttr().Get())
    xyz = track.points.points_in_world
    assert np.all(xyz >= lo - 1e-5) and np.all(xyz <= hi + 1e-5)
    assert points.GetWidthsInterpolation() == UsdGeom.Tokens.constant
    assert len(points.GetWidthsAttr().Get()) == 1 and points.GetWidthsAttr().Get()[0] > 0
    assert points.GetDisplayColorPrimvar().GetInterpolation() == UsdGeom.Tokens.vertex
    error = UsdGeom.PrimvarsAPI(points.GetPrim()).GetPrimvar("sceneforge:errorPx")
    assert error and len(error.Get()) == len(xyz)


def test_no_points_omits_the_prim(tmp_path):
    track = make_track(with_points=False, num_frames=3)
    path = write_scene(tmp_path, track)
    stage = Usd.Stage.Open(str(path))
    assert not stage.GetPrimAtPath("/World/Points").IsValid()
    assert len(read_camera_track(path).points) == 0
    near, far = UsdGeom.Camera(stage.GetPrimAtPath(CAMERA)).GetClippingRangeAttr().Get()
    assert (near, far) == pytest.approx((0.01, 1000.0))


def test_clipping_range_brackets_the_point_depths(scene):
    path, track = scene
    stage, camera = open_plate(path)
    near, far = camera.GetClippingRangeAttr().Get()
    depths = np.concatenate(
        [transform_points(c, track.points.points_in_world)[:, 2] for c in invert_rigid(track.world_from_cam)]
    )
    assert 0 < near < depths.min() and far > depths.max()


# ------------------------------------------------------------------------- USD's own camera math


@pytest.mark.parametrize("meters_per_unit", [1.0, 0.01])
def test_projection_through_gf_frustum_matches_intrinsics(tmp_path, meters_per_unit):
    """Pixels through UsdGeom.Camera.GetCamera(t).frustum equal Intrinsics.project: the offsets' sign."""
    pinhole = Intrinsics(K=K_OFF_CENTRE, width=WIDTH, height=HEIGHT)  # USD has no distortion model
    track = make_track(intrinsics=pinhole, num_frames=4)
    path = write_scene(tmp_path, track, meters_per_unit=meters_per_unit)
    stage, camera = open_plate(path)
    attrs = film_attrs(camera)
    # The float32 attributes describe K to float32 precision ...
    k_usd = k_from_attrs(attrs, WIDTH, HEIGHT)
    np.testing.assert_allclose(k_usd, pinhole.K, rtol=1e-6)
    # ... and Gf projects exactly like our pinhole with that K.
    described = Intrinsics(K=k_usd, width=WIDTH, height=HEIGHT)
    xyz = track.points.points_in_world
    for frame, world_from_cam in zip(track.frame_numbers, track.world_from_cam):
        ours = described.project(transform_points(invert_rigid(world_from_cam), xyz))
        theirs = gf_project(camera, Usd.TimeCode(float(frame)), xyz, WIDTH, HEIGHT)
        np.testing.assert_allclose(theirs, ours, rtol=0, atol=1e-6)
        # Against the original K the only difference is float32 rounding of the attributes.
        np.testing.assert_allclose(theirs, pinhole.project(transform_points(invert_rigid(world_from_cam), xyz)),
                                   rtol=0, atol=2e-3)


def test_projection_through_gf_frustum_exact_film_back(tmp_path):
    """With every film-back number exact in float32, Gf matches our original K to 1e-6 px."""
    # metersPerUnit 0.72 makes horizontalAperture 0.5, and this K gives focal 25/64, vertical
    # aperture 1/4 and offsets -3/128, -1/32: all exact binary fractions.
    k = np.array([[1000.0, 0.0, 700.0], [0.0, 1125.0, 270.0], [0.0, 0.0, 1.0]])
    pinhole = Intrinsics(K=k, width=WIDTH, height=HEIGHT)
    track = make_track(intrinsics=pinhole, num_frames=3)
    path = write_scene(tmp_path, track, meters_per_unit=0.72)
    stage, camera = open_plate(path)
    attrs = film_attrs(camera)
    assert attrs == {"focal": 25 / 64, "h_ap": 0.5, "v_ap": 0.25, "h_off": -3 / 128, "v_off": -1 / 32}
    xyz = track.points.points_in_world
    for frame, world_from_cam in zip(track.frame_numbers, track.world_from_cam):
        ours = pinhole.project(transform_points(invert_rigid(world_from_cam), xyz))
        theirs = gf_project(camera, Usd.TimeCode(float(frame)), xyz, WIDTH, HEIGHT)
        np.testing.assert_allclose(theirs, ours, rtol=0, atol=1e-6)


def test_offset_signs(tmp_path):
    """Principal point right of and below the centre: negative horizontal, positive vertical offset."""
    k = np.array([[1000.0, 0.0, WIDTH / 2 + 50], [0.0, 1000.0, HEIGHT / 2 + 30], [0.0, 0.0, 1.0]])
    track = make_track(intrinsics=Intrinsics(K=k, width=WIDTH, height=HEIGHT), num_frames=3, with_points=False)
    stage, camera = open_plate(write_scene(tmp_path, track))
    attrs = film_attrs(camera)
    assert attrs["h_off"] < 0 < attrs["v_off"]


def test_camera_looks_down_minus_z_with_y_up(scene):
    """USD camera axes are OpenCV's with Y and Z flipped (DESIGN.md conventions)."""
    path, track = scene
    stage, camera = open_plate(path)
    world_from_usdcam = np.array(camera.ComputeLocalToWorldTransform(Usd.TimeCode(float(track.frame_numbers[0])))).T
    np.testing.assert_allclose(world_from_usdcam[:3, 2], -track.world_from_cam[0, :3, 2], atol=1e-12)  # forward
    np.testing.assert_allclose(world_from_usdcam[:3, 1], -track.world_from_cam[0, :3, 1], atol=1e-12)  # up
    np.testing.assert_allclose(world_from_usdcam[:3, 0], track.world_from_cam[0, :3, 0], atol=1e-12)


@pytest.mark.parametrize("meters_per_unit", [1.0, 0.01, 0.3048])
def test_35mm_lens_imports_into_blender_as_35mm(tmp_path, meters_per_unit):
    width, height = 1920, 1080
    track = make_track(
        intrinsics=Intrinsics.from_focal(focal_px=35.0 / 36.0 * width, width=width, height=height),
        num_frames=3,
        with_points=False,
    )
    stage = Usd.Stage.Open(str(write_scene(tmp_path, track, meters_per_unit=meters_per_unit)))
    attrs = film_attrs(UsdGeom.Camera(stage.GetPrimAtPath(CAMERA)))
    assert attrs["focal"] / attrs["h_ap"] == pytest.approx(35.0 / 36.0, rel=1e-6)
    # Blender's usd_reader_camera.cc: tenth_unit_to_millimeters = 100 * stage_meters_per_unit.
    tenth_unit_to_mm = 100.0 * UsdGeom.GetStageMetersPerUnit(stage)
    assert attrs["focal"] * tenth_unit_to_mm == pytest.approx(35.0, rel=1e-6)  # bcam->lens
    assert attrs["h_ap"] * tenth_unit_to_mm == pytest.approx(36.0, rel=1e-6)  # bcam->sensor_x
    assert attrs["v_ap"] * tenth_unit_to_mm == pytest.approx(36.0 * 1080 / 1920, rel=1e-6)  # bcam->sensor_y
    assert attrs["h_off"] == 0.0 and attrs["v_off"] == 0.0  # centred: no lens shift


# -------------------------------------------------------------------------------- layout, time


def test_time_codes_are_source_frame_numbers(scene):
    path, track = scene
    stage = Usd.Stage.Open(str(path))
    assert stage.GetTimeCodesPerSecond() == track.fps
    assert stage.GetFramesPerSecond() == track.fps
    assert stage.GetStartTimeCode() == track.frame_numbers[0]
    assert stage.GetEndTimeCode() == track.frame_numbers[-1]
    camera = UsdGeom.Camera(stage.GetPrimAtPath(CAMERA))
    (op,) = camera.GetOrderedXformOps()
    assert op.GetOpType() == UsdGeom.XformOp.TypeTransform and op.GetPrecision() == UsdGeom.XformOp.PrecisionDouble
    np.testing.assert_array_equal(op.GetTimeSamples(), track.frame_numbers.astype(float))
    assert list(camera.GetPrim().GetAttribute("sceneforge:frameNumbers").Get()) == track.frame_numbers.tolist()


def test_layer_stack(scene):
    path, _ = scene
    folder = path.parent
    root = Sdf.Layer.FindOrOpen(str(path))
    assert list(root.subLayerPaths) == ["./edits.usda", "./reconstruction.usda"]
    assert root.defaultPrim == "World"
    for name in ("scene.usda", "edits.usda", "reconstruction.usda"):
        layer = Sdf.Layer.FindOrOpen(str(folder / name))
        assert layer.defaultPrim == "World"
        assert layer.pseudoRoot.GetInfo("upAxis") == "Y"
        assert layer.pseudoRoot.GetInfo("metersPerUnit") == 1.0
        assert layer.timeCodesPerSecond == root.timeCodesPerSecond
        assert (layer.startTimeCode, layer.endTimeCode) == (root.startTimeCode, root.endTimeCode)
    edits = Sdf.Layer.FindOrOpen(str(folder / "edits.usda"))
    assert len(edits.rootPrims) == 0 and len(edits.subLayerPaths) == 0
    stage = Usd.Stage.Open(str(path))
    assert stage.GetDefaultPrim().GetPath() == Sdf.Path("/World")
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.y
    data = root.customLayerData["sceneforge"]
    assert data["formatVersion"] == 1 and data["metricScale"] is True and data["source"] == "clip.mp4"
    assert data["metadata"]["registered"] == 6


def test_world_is_the_model_root(scene):
    path, _ = scene
    stage = Usd.Stage.Open(str(path))
    world = stage.GetPrimAtPath("/World")
    assert world.IsA(UsdGeom.Xform) and Usd.ModelAPI(world).GetKind() == Kind.Tokens.assembly
    assert world.IsModel() and world.IsGroup()


def test_edits_layer_overrides_the_reconstruction(scene):
    """A focal-length edit in edits.usda wins over the stored exact K; the camera move applies."""
    path, track = scene
    edits = Sdf.Layer.FindOrOpen(str(path.parent / "edits.usda"))
    stage = Usd.Stage.Open(str(path))
    stage.SetEditTarget(Usd.EditTarget(edits))
    camera = UsdGeom.Camera(stage.GetPrimAtPath(CAMERA))
    focal = camera.GetFocalLengthAttr().Get()
    camera.GetFocalLengthAttr().Set(focal * 2.0)
    UsdGeom.Xformable(stage.GetPrimAtPath("/World/Cameras")).AddTranslateOp().Set(Gf.Vec3d(0.0, 5.0, 0.0))
    edits.Save()
    reconstruction_layer = Sdf.Layer.FindOrOpen(str(path.parent / "reconstruction.usda"))
    assert reconstruction_layer.GetAttributeAtPath(CAMERA + ".focalLength").default == focal  # untouched
    back = read_camera_track(path)
    np.testing.assert_allclose(back.intrinsics[0].fx, 2.0 * track.intrinsics[0].fx, rtol=1e-6)
    np.testing.assert_allclose(back.intrinsics[0].cx, track.intrinsics[0].cx, rtol=1e-6)
    moved = back.camera_centers() - track.camera_centers()
    np.testing.assert_allclose(moved, np.tile([0.0, 5.0, 0.0], (len(track), 1)), atol=1e-9)
    assert scene_summary(path)["has_edits"] is True
    reconstruction = read_camera_track(path.parent / "reconstruction.usda")
    np.testing.assert_allclose(reconstruction.intrinsics[0].K, track.intrinsics[0].K, atol=1e-9)


def test_rewrite_replaces_the_scene_and_keeps_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    (tmp_path / "textures").mkdir()
    (tmp_path / "textures" / "bg.png").write_bytes(b"\x89PNG fake")
    first = make_track(num_frames=3)
    path = write_scene(tmp_path, first)
    held = open_stage(path)  # a stage still open in this process must not hide the rewrite
    second = make_track(num_frames=5, seed=3, first_frame=1)
    assert write_scene(tmp_path, second) == path
    back = read_camera_track(path)
    np.testing.assert_array_equal(back.frame_numbers, second.frame_numbers)
    np.testing.assert_allclose(back.world_from_cam, second.world_from_cam, atol=1e-9)
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    assert (tmp_path / "textures" / "bg.png").read_bytes() == b"\x89PNG fake"
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["edits.usda", "notes.txt", "reconstruction.usda", "scene.usda", "textures"]  # no temp files
    del held


def test_write_into_a_missing_folder_is_an_input_error(tmp_path):
    from sceneforge.scenegraph import InputError

    with pytest.raises(InputError, match="existing folder"):
        write_scene(tmp_path / "nope", make_track(num_frames=3))


# --------------------------------------------------------------------------------- validation


def test_written_stage_passes_pixars_validators(scene):
    path, _ = scene
    result = validate_stage(path)
    assert isinstance(result, StageValidation)
    assert result.validators_run > 0
    assert result.errors == (), result.errors
    assert result.ok


def test_broken_stage_fails_validation(scene):
    path, _ = scene
    target = path.parent / "broken.usda"  # a copy of the root layer with its stage metadata broken
    Sdf.Layer.FindOrOpen(str(path)).Export(str(target))
    layer = Sdf.Layer.FindOrOpen(str(target))
    layer.ClearDefaultPrim()
    layer.pseudoRoot.ClearInfo("metersPerUnit")
    layer.Save()
    result = validate_stage(target)
    assert not result.ok
    assert any("MissingDefaultPrim" in line for line in result.errors)
    assert any("MetersPerUnit" in line for line in result.errors)


# ------------------------------------------------------------------------------ reading errors


def test_missing_path_raises_scene_file_error(tmp_path):
    with pytest.raises(SceneFileError, match="does not exist") as info:
        read_camera_track(tmp_path / "nowhere" / "scene.usda")
    assert "\n" not in str(info.value)


def test_text_file_raises_scene_file_error(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a scene")
    with pytest.raises(SceneFileError, match="expected a USD file"):
        read_camera_track(text)
    garbage = tmp_path / "garbage.usda"
    garbage.write_text("this is not usda\n")
    with pytest.raises(SceneFileError, match="cannot open") as info:
        open_stage(garbage)
    assert "\n" not in str(info.value)


def test_stage_without_world_raises_scene_file_error(tmp_path):
    other = tmp_path / "other.usda"
    stage = Usd.Stage.CreateNew(str(other))
    stage.DefinePrim("/Root", "Xform")
    stage.Save()
    with pytest.raises(SceneFileError, match="/World"):
        open_stage(other)


def test_wrong_camera_path_raises_scene_file_error(scene):
    path, _ = scene
    with pytest.raises(SceneFileError, match="Camera prim at /World/Nope"):
        read_camera_track(path, camera="/World/Nope")


def test_open_stage_accepts_the_scene_folder(scene):
    path, _ = scene
    assert open_stage(path.parent).GetRootLayer().realPath == str(path)


# ------------------------------------------------------------------------- cameras of other tools


def test_camera_from_another_tool_reads(tmp_path):
    """Standard attributes only (a 35 mm lens on a 36×20.25 mm back in a centimetre stage)."""
    path = tmp_path / "foreign.usda"
    stage = Usd.Stage.CreateNew(str(path))
    UsdGeom.SetStageMetersPerUnit(stage, 0.01)
    stage.SetTimeCodesPerSecond(25.0)
    camera = UsdGeom.Camera.Define(stage, "/cam")
    camera.CreateFocalLengthAttr(35.0)
    camera.CreateHorizontalApertureAttr(36.0)
    camera.CreateVerticalApertureAttr(20.25)
    translate = camera.AddTranslateOp()
    for frame in (10, 11, 12):
        translate.Set(Gf.Vec3d(frame, 0.0, 0.0), frame)
    stage.Save()

    track = read_camera_track(path, camera="/cam", width=1920)
    np.testing.assert_array_equal(track.frame_numbers, [10, 11, 12])
    assert track.fps == 25.0
    k = track.intrinsics[0]
    assert (k.width, k.height) == (1920, 1080)
    np.testing.assert_allclose([k.fx, k.fy, k.cx, k.cy], [35 / 36 * 1920, 35 / 36 * 1920, 960, 540], rtol=1e-6)
    np.testing.assert_allclose(track.camera_centers()[:, 0], [10, 11, 12])
    # A USD camera at rest looks down -Z: in OpenCV axes its +Z points to world -Z.
    np.testing.assert_allclose(track.world_from_cam[0, :3, 2], [0, 0, -1], atol=1e-12)
    assert np.all(track.status == FrameStatus.SOLVED) and len(track.points) == 0
    default_width = read_camera_track(path, camera="/cam").intrinsics[0]
    assert default_width.width == 1920


# ------------------------------------------------------------------------------------ summary


def test_scene_summary(scene):
    path, track = scene
    info = scene_summary(path.parent)
    assert info["frames"] == 6
    assert (info["first_frame"], info["last_frame"]) == (1001, 1011)
    assert info["fps"] == pytest.approx(23.976, abs=1e-3)
    assert info["duration_secs"] == pytest.approx(11 / track.fps)
    assert (info["width"], info["height"]) == (WIDTH, HEIGHT)
    assert info["focal_length_px"] == pytest.approx(1012.5)
    assert info["focal_length_35mm"] == pytest.approx(1012.5 / WIDTH * 36.0)
    assert info["hfov_deg"] == pytest.approx(math.degrees(2 * math.atan(WIDTH / 2 / 1012.5)))
    assert info["num_points"] == 200
    assert info["frame_status"] == {"solved": 2, "localized": 2, "interpolated": 2}
    assert info["solve"]["mean_error_px"] == pytest.approx(0.42) and info["solve"]["backend"] == "synthetic"
    assert info["metadata"] == {"mean_error_px": 0.42, "registered": 6}
    assert info["layers"] == ["scene.usda", "edits.usda", "reconstruction.usda"]
    assert info["missing_layers"] == [] and info["has_edits"] is False
    assert info["meters_per_unit"] == 1.0 and info["metric_scale"] is True and info["up_axis"] == "Y"
    assert info["format_version"] == 1 and info["source"] == "clip.mp4"
