"""A pan from a tripod with a subject in it, end to end through the command line: no parallax,
yet a scene comes out — the camera solved as a rotation, the background a panorama at a
nominal distance, the subject a layer in front of it — and removing the subject composites
a clean plate from the other frames (exact up to resampling, as for any pure rotation)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sceneforge.engine.cli import main
from sceneforge.scenegraph import scene_summary, validate_stage
from tests.reconstruct._synthetic import pan_clip

SIDE_PX = 40


@pytest.fixture(scope="module")
def pan_shot(tmp_path_factory) -> tuple[Path, np.ndarray, np.ndarray]:
    """A 16-frame pan with a red-and-yellow square pasted at a fixed place of the panorama's
    frame 0 view and drifting right (a subject walking); reconstructed with the square prompted."""
    import cv2

    root = tmp_path_factory.mktemp("pan")
    frames, _, _ = pan_clip(n=16, width=240, height=180, max_yaw_deg=8.0)
    folder = root / "clip"
    folder.mkdir()
    checker = (np.add.outer(np.arange(SIDE_PX) // 8, np.arange(SIDE_PX) // 8) % 2).astype(bool)
    square = np.where(checker[..., None], np.uint8([230, 40, 40]), np.uint8([250, 220, 30]))
    masks = np.zeros((len(frames), 180, 240), bool)
    for i, image in enumerate(frames.images):
        image = image.copy()
        x, y = 60 + 3 * i, 90
        image[y : y + SIDE_PX, x : x + SIDE_PX] = square
        masks[i, y : y + SIDE_PX, x : x + SIDE_PX] = True
        assert cv2.imwrite(str(folder / f"frame_{i:04d}.png"), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    shot = root / "shot"
    code = main(["reconstruct", str(folder), "-o", str(shot), "--max-size", "240", "--texture-size", "256",
                 "--object", f"walker=box:57,87,{60 + SIDE_PX + 3},{90 + SIDE_PX + 3}@0"])
    assert code == 0
    return shot, frames.images, masks


def test_a_pan_with_a_subject_is_a_scene(pan_shot):
    shot, _, _ = pan_shot
    report = json.loads((shot / "report.json").read_text())
    assert "rotation_only" in report["camera_solve"]["flags"]
    result = validate_stage(shot / "scene.usda")
    assert result.ok, result.errors
    summary = scene_summary(shot / "scene.usda")
    assert summary["background"] is not None
    (walker,) = summary["objects"]
    assert walker["name"] == "walker" and walker["static"] is False
    assert report["stage_timings_secs"]["subjects"] >= 0  # tracked before the solve


def test_removing_the_subject_of_a_pan_gives_a_clean_plate(pan_shot, tmp_path):
    import cv2

    shot, _, masks = pan_shot
    assert main(["edit", str(shot), "delete", "walker"]) == 0
    out = tmp_path / "frames"
    assert main(["render", str(shot), "-o", str(out), "--format", "png"]) == 0
    clean, _, _ = pan_clip(n=16, width=240, height=180, max_yaw_deg=8.0)  # the pan without the square
    errors = []
    for i in range(len(masks)):
        image = cv2.cvtColor(cv2.imread(str(out / f"frame_{i:06d}.png")), cv2.COLOR_BGR2RGB)
        inside = masks[i]
        errors.append(np.abs(image[inside].astype(float) - clean.images[i][inside]).mean())
    # the square is gone: what is there now is the panorama behind it (not red or yellow)
    assert np.median(errors) < 25.0, errors
