"""A run killed mid-stage (SIGKILL: no cleanup at all) resumes: finished stages and finished
frames are reused, nothing half-written is read back, the killed run's temporaries are removed,
and the result is the uninterrupted run's (runs are deterministic)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np

from sceneforge.engine.cli import main
from sceneforge.scenegraph import read_camera_track
from tests.conftest import DEMO_DIR

ARGS = [str(DEMO_DIR / "room.mp4"), "--max-size", "160", "--texture-size", "128", "--end", "36"]


def _wait_for(condition, run: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert run.poll() is None, "the run ended before the point it was to be killed at"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_run_killed_during_depth_resumes_to_the_same_scene(tmp_path, capsys):
    shot = tmp_path / "shot"
    run = subprocess.Popen([sys.executable, "-m", "sceneforge.engine.cli", "-q", "reconstruct", *ARGS, "-o", str(shot)])
    raw = shot / "run" / "cache" / "depth_raw"
    _wait_for(lambda: (shot / "run" / "cache" / "camera_solve.npz").exists() and len(list(raw.glob("*.npz"))) >= 3, run)
    run.send_signal(signal.SIGKILL)
    run.wait()
    kept = len(list(raw.glob("*.npz")))
    assert 3 <= kept < 36
    assert main(["reconstruct", *ARGS, "-o", str(shot), "--force"]) == 0
    printed = capsys.readouterr()
    assert "camera_solve" in printed.out.split("Resumed:")[1].splitlines()[0]
    assert not [p for p in shot.rglob("*") if ".tmp" in p.name]  # the killed run's temporaries are gone
    fresh = tmp_path / "fresh"
    assert main(["-q", "reconstruct", *ARGS, "-o", str(fresh)]) == 0
    a, b = read_camera_track(shot / "scene.usda"), read_camera_track(fresh / "scene.usda")
    np.testing.assert_array_equal(a.world_from_cam, b.world_from_cam)
    depth_a = np.load(sorted((shot / "run" / "depth").glob("*.npz"))[10])
    depth_b = np.load(sorted((fresh / "run" / "depth").glob("*.npz"))[10])
    np.testing.assert_array_equal(depth_a["depth"], depth_b["depth"])
