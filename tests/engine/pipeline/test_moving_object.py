"""A moving object end to end through the command line: a textured square pasted onto the demo
room, sliding across it, prompted with a box; it must come out as a moving, time-sampled layer
(although multi-view stereo gives it no depth) after a second camera solve without it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sceneforge.engine.cli import main
from sceneforge.scenegraph import scene_summary, validate_stage
from tests.conftest import DEMO_DIR

NUM_FRAMES = 36
SIDE_PX = 30
X_START, X_END, Y_TOP = 40, 250, 120  # the square's left edge slides from X_START to X_END
MARGIN_PX = 3


def square_left(index: int) -> int:
    return int(round(X_START + (X_END - X_START) * index / (NUM_FRAMES - 1)))


@pytest.fixture(scope="module")
def mover_shot(tmp_path_factory) -> Path:
    """The demo room with a sliding square pasted on, reconstructed once with the square prompted."""
    import cv2

    from sceneforge.reconstruct import read_frames

    root = tmp_path_factory.mktemp("mover")
    frames = read_frames(DEMO_DIR / "room.mp4", end=NUM_FRAMES, max_size=320)
    texture = np.random.default_rng(7).integers(0, 256, (SIDE_PX, SIDE_PX, 3), dtype=np.uint8)
    folder = root / "clip"
    folder.mkdir()
    for i, image in enumerate(frames.images):
        image = image.copy()
        x = square_left(i)
        image[Y_TOP : Y_TOP + SIDE_PX, x : x + SIDE_PX] = texture
        assert cv2.imwrite(str(folder / f"frame_{i:04d}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    x = square_left(0)
    box = f"{x - MARGIN_PX},{Y_TOP - MARGIN_PX},{x + SIDE_PX + MARGIN_PX},{Y_TOP + SIDE_PX + MARGIN_PX}"
    shot = root / "shot"
    code = main(
        ["reconstruct", str(folder), "-o", str(shot), "--max-size", "320", "--texture-size", "256",
         "--object", f"mover=box:{box}@0"]
    )
    assert code == 0
    return shot


def test_the_sliding_square_is_a_moving_layer(mover_shot):
    objects = {obj["name"]: obj for obj in scene_summary(mover_shot / "scene.usda")["objects"]}
    assert "mover" in objects
    assert objects["mover"]["static"] is False


def test_the_camera_is_solved_again_without_it(mover_shot):
    report = json.loads((mover_shot / "report.json").read_text())
    assert "camera_solve_static" in report["stage_timings_secs"]


def test_its_mesh_points_are_time_sampled(mover_shot):
    from pxr import Usd, UsdGeom

    stage = Usd.Stage.Open(str(mover_shot / "scene.usda"))
    root = stage.GetPrimAtPath("/World/Objects/mover")
    assert root.IsValid()
    meshes = [prim for prim in Usd.PrimRange(root) if prim.IsA(UsdGeom.Mesh)]
    assert meshes
    samples = UsdGeom.Mesh(meshes[0]).GetPointsAttr().GetTimeSamples()
    assert len(samples) > NUM_FRAMES // 2


def test_the_scene_renders_and_validates(mover_shot, tmp_path):
    out = tmp_path / "render"
    assert main(["render", str(mover_shot / "scene.usda"), "-o", str(out)]) == 0
    assert len(list(out.glob("*.png"))) > 0
    result = validate_stage(mover_shot / "scene.usda")
    assert not result.errors, result.errors
