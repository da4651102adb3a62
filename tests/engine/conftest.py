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
