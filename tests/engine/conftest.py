"""Fixtures shared by the engine's end-to-end tests: the demo clip reconstructed once per session."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEMO_DIR


@pytest.fixture(scope="session")
def demo_shot(tmp_path_factory) -> Path:
    """The demo clip reconstructed once through the command line (a real subprocess), at half size."""
    shot = tmp_path_factory.mktemp("demo") / "shot"
    done = subprocess.run(
        [sys.executable, "-m", "sceneforge.engine.cli", "reconstruct", str(DEMO_DIR / "room.mp4"), "-o", str(shot),
         "--max-size", "320", "--texture-size", "512"],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Scene written" in done.stdout
    return shot


@pytest.fixture(scope="session")
def truth() -> dict:
    return json.loads((DEMO_DIR / "ground_truth.json").read_text())


@pytest.fixture()
def edited_shot(demo_shot, tmp_path) -> Path:
    """A private copy of the demo shot's scene files (the run folder's files hard-linked, not
    copied: a symbolic link out of the shot would be refused as an outside asset)."""
    shot = tmp_path / "shot"
    shot.mkdir()
    for name in ("scene.usda", "edits.usda", "reconstruction.usda"):
        shutil.copy(demo_shot / name, shot / name)
    shutil.copytree(demo_shot / "textures", shot / "textures")
    shutil.copytree(demo_shot / "run", shot / "run", copy_function=os.link)
    return shot


SHORT_SHOT_OPTIONS = ["--max-size", "160", "--texture-size", "128", "--stride", "2"]
"""What every shot of the short batch is reconstructed with (18 frames each, seconds per shot)."""


@pytest.fixture(scope="session")
def shot_list(tmp_path_factory) -> Path:
    """A shot list of two short pieces of the demo clip, with per-shot names and ranges."""
    folder = tmp_path_factory.mktemp("shot_list")
    clip = DEMO_DIR / "room.mp4"
    path = folder / "shots.txt"
    path.write_text(f"# two pieces of the demo room\n{clip} --name first --end 36\n{clip} --name second --start 36 --end 72\n")
    return path


@pytest.fixture(scope="session")
def local_batch(shot_list, tmp_path_factory) -> tuple[Path, str]:
    """The short batch reconstructed by ``sceneforge batch`` on the local executor (two processes,
    a real subprocess): the output folder and what it printed."""
    out = tmp_path_factory.mktemp("local_batch") / "out"
    done = subprocess.run(
        [sys.executable, "-m", "sceneforge.engine.cli", "batch", str(shot_list), "-o", str(out), "--workers", "2",
         *SHORT_SHOT_OPTIONS],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    return out, done.stdout
