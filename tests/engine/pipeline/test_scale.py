"""Metres per scene unit: from the camera height above the ground plane, from a known distance
between two pixels, assumed at eye level, or left arbitrary — on a synthetic solve whose units
are exactly 1/4 m."""

from __future__ import annotations

import numpy as np
import pytest

from sceneforge.engine.pipeline._scale import EYE_LEVEL_M, parse_scale, scene_scale
from sceneforge.scenegraph import CameraTrack, DepthMap, DepthMaps, Frames, InputError, Intrinsics, SparsePoints

W, H = 64, 48
UNITS_PER_M = 4.0


def _shot(*, ground: bool = True):
    """Cameras 1.5 m (6 units) above a floor at y = 0, looking along -Z; sparse points on the floor
    (and some above it); every frame's depth a wall 2 m (8 units) in front."""
    n = 4
    k = Intrinsics.from_focal(focal_px=50.0, width=W, height=H)
    poses = np.tile(np.eye(4), (n, 1, 1))
    poses[:, :3, :3] = np.diag([1.0, -1.0, -1.0])  # OpenCV camera looking along world -Z, +Y up
    poses[:, 1, 3] = 1.5 * UNITS_PER_M
    poses[:, 0, 3] = np.arange(n) * 0.1
    rng = np.random.default_rng(0)
    floor = np.column_stack([rng.uniform(-20, 20, 400), np.zeros(400), rng.uniform(-40, -5, 400)])
    above = np.column_stack([rng.uniform(-20, 20, 100), rng.uniform(1, 12, 100), rng.uniform(-40, -5, 100)])
    cloud = np.vstack([floor, above]) if ground else above
    track = CameraTrack(intrinsics=(k,) * n, world_from_cam=poses, frame_numbers=np.arange(n), fps=24.0,
                        status=np.zeros(n, np.int8), points=SparsePoints(points_in_world=cloud, colors=np.zeros((len(cloud), 3), np.uint8), error_px=np.zeros(len(cloud))))
    frames = Frames(images=np.zeros((n, H, W, 3), np.uint8), fps=24.0, frame_numbers=np.arange(n))
    depths = DepthMaps(DepthMap(depth=np.full((H, W), 2.0 * UNITS_PER_M, np.float32), confidence=np.ones((H, W), np.float32),
                                frame_number=i) for i in range(n))
    return frames, track, depths


def test_camera_height_and_eye_level():
    frames, track, depths = _shot()
    metres, known, how = scene_scale(parse_scale("camera-height=1.5"), frames, track, depths)
    assert metres == pytest.approx(1 / UNITS_PER_M, rel=1e-3) and known and "camera-height" in how
    metres, known, how = scene_scale(parse_scale("auto"), frames, track, depths)
    assert metres == pytest.approx(EYE_LEVEL_M / (1.5 * UNITS_PER_M), rel=1e-3) and not known and "assumed" in how


def test_distance_between_two_pixels():
    frames, track, depths = _shot()
    # two pixels on the wall 8 units away, 20 px apart at f = 50: 20 / 50 * 8 = 3.2 units = 0.8 m
    metres, known, _ = scene_scale(parse_scale("distance=2:22,24,42,24=0.8"), frames, track, depths)
    assert metres == pytest.approx(1 / UNITS_PER_M, rel=1e-3) and known


def test_no_ground_no_assumption():
    frames, track, depths = _shot(ground=False)
    assert scene_scale(parse_scale("auto"), frames, track, depths)[:2] == (1.0, False)
    with pytest.raises(InputError, match="ground plane"):
        scene_scale(parse_scale("camera-height=1.6"), frames, track, depths)
    assert scene_scale(parse_scale("none"), frames, track, depths)[:2] == (1.0, False)


@pytest.mark.parametrize("text", ["metric", "camera-height=-1", "camera-height=0", "distance=1:1,2,3=0.9",
                                  "distance=1:1,2,3,4=0", "height=1.6"])
def test_malformed_rules_are_refused(text):
    with pytest.raises(InputError, match="scale-from"):
        parse_scale(text)


def test_distance_on_a_frame_not_in_the_clip_or_without_depth():
    frames, track, depths = _shot()
    with pytest.raises(InputError, match="not in the clip"):
        scene_scale(parse_scale("distance=9:1,1,5,5=1"), frames, track, depths)
    with pytest.raises(InputError, match="--depth none"):
        scene_scale(parse_scale("distance=1:1,1,5,5=1"), frames, track, None)


# -- rescaling a written scene: sceneforge edit shot/ scale-scene ---------------------------------


@pytest.fixture()
def shot(tmp_path):
    """The synthetic solve written as a scene with its depth maps, scale assumed (eye level)."""
    from sceneforge.scenegraph import write_scene

    frames, track, depths = _shot()
    folder = tmp_path / "shot"
    (folder / "depth").mkdir(parents=True)
    paths = []
    for n, depth in depths.items():
        np.savez(folder / "depth" / f"{n:06d}.npz", depth=depth.depth, confidence=depth.confidence.astype(np.float16))
        paths.append(f"depth/{n:06d}.npz")
    write_scene(folder, track, meters_per_unit=0.5, metric_scale=False, metadata={"scale": "scale assumed"}, depth_paths=paths)
    return folder


def _reconstruction_text(folder):
    return (folder / "reconstruction.usda").read_text()


def test_scale_scene_from_a_known_distance_through_the_cli(shot, capsys):
    from pxr import Usd, UsdGeom

    from sceneforge.engine.cli import main
    from sceneforge.scenegraph import Scene

    before = _reconstruction_text(shot)
    assert main(["edit", str(shot), "scale-scene", "--distance", "2:22,24,42,24=0.8"]) == 0
    stage = Usd.Stage.Open(str(shot / "scene.usda"))
    assert UsdGeom.GetStageMetersPerUnit(stage) == pytest.approx(1 / UNITS_PER_M, rel=1e-3)  # scene.usda carries it
    assert _reconstruction_text(shot) == before  # the reconstruction is untouched
    scene = Scene.open(shot)
    assert scene.units["metric"] and "scale-scene --distance" in scene.units["how"]
    capsys.readouterr()
    assert main(["info", str(shot)]) == 0
    assert "scale-scene --distance" in capsys.readouterr().out
    # a second rule replaces the first
    assert main(["edit", str(shot), "scale-scene", "--camera-height", "3.0"]) == 0
    assert Scene.open(shot).meters_per_unit == pytest.approx(3.0 / (1.5 * UNITS_PER_M), rel=1e-3)


def test_scale_scene_is_an_undoable_edit_that_survives_other_writers(shot):
    from pxr import Usd, UsdGeom

    from sceneforge.scenegraph import Scene

    scene = Scene.open(shot)
    scene.set_meters_per_unit(0.25, how="tape measure")
    assert scene.meters_per_unit == 0.25 and scene.history == ("scale the scene to 0.25 m per unit",)
    scene.undo()
    assert scene.meters_per_unit == 0.5 and scene.units["how"] == "scale assumed"
    scene.redo()
    scene.save()
    assert UsdGeom.GetStageMetersPerUnit(Usd.Stage.Open(str(shot / "scene.usda"))) == 0.25
    with pytest.raises(InputError):
        scene.set_meters_per_unit(0)
    with pytest.raises(InputError):
        scene.set_meters_per_unit(float("nan"))


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--distance", "2:22,24=0.8"], "scale-scene takes"), (["--distance", "9:1,1,5,5=1"], "not in the shot"),
     (["--camera-height", "-1"], "positive"), (["--meters-per-unit", "0"], "positive"), ([], "one of the arguments")],
)
def test_scale_scene_refuses_bad_rules_in_one_line(shot, capsys, args, message):
    from sceneforge.engine.cli import main

    before = (shot / "edits.usda").read_text()
    assert main(["edit", str(shot), "scale-scene", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert (shot / "edits.usda").read_text() == before
