"""SIGTERM stops a run like Ctrl-C: one line, exit code 143, no temporary left behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import DEMO_DIR


def test_sigterm_during_the_camera_solve_stops_with_one_line(tmp_path):
    before = set(Path(tempfile.gettempdir()).glob("sceneforge-solve-*"))
    run = subprocess.Popen(
        [sys.executable, "-m", "sceneforge.engine.cli", "reconstruct", str(DEMO_DIR / "room.mp4"), "-o", str(tmp_path / "shot"),
         "--max-size", "320"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    # wait until the solve has started (its temporary folder exists), then stop the run
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (set(Path(tempfile.gettempdir()).glob("sceneforge-solve-*")) - before):
        if run.poll() is not None:
            break
        time.sleep(0.2)
    run.send_signal(signal.SIGTERM)
    _, err = run.communicate(timeout=120)
    assert run.returncode == 143, err[-2000:]
    lines = [line for line in err.replace("\r", "\n").splitlines() if line.strip() and "%|" not in line and "it/s" not in line]
    assert lines[-1].startswith("stopped (SIGTERM)"), err[-2000:]
    assert "@ " not in err and "Traceback" not in err  # no native stack dump, no traceback
    assert not (set(Path(tempfile.gettempdir()).glob("sceneforge-solve-*")) - before)
