"""Atomic writes and the temporaries a killed run leaves: removed by the next run, never a live
process's."""

from __future__ import annotations

import os
import subprocess
import sys

from sceneforge.scenegraph import atomic_write
from sceneforge.scenegraph.files import process_alive, remove_stale_temporaries, temporary_sibling


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_atomic_write_leaves_only_the_target(tmp_path):
    target = atomic_write(tmp_path / "a.json", "{}")
    assert target.read_text() == "{}" and sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_a_dead_runs_temporaries_are_removed_and_a_live_ones_kept(tmp_path):
    dead = _dead_pid()
    assert not process_alive(dead) and process_alive(os.getpid())
    stale_file = tmp_path / f".render.{dead}.0123abcd.tmp.mp4"
    stale_file.write_bytes(b"half a video")
    stale_folder = tmp_path / f".frames.{dead}.89abcdef.tmp"
    stale_folder.mkdir()
    (stale_folder / "frame_000001.png").write_bytes(b"x")
    mine = temporary_sibling(tmp_path / "edits.usda")
    mine.write_text("in progress")
    user = tmp_path / ".notes.123.tmp"  # not our pattern: never touched
    user.write_text("keep")
    assert remove_stale_temporaries(tmp_path) == 2
    assert not stale_file.exists() and not stale_folder.exists()
    assert mine.exists() and user.exists()
    assert remove_stale_temporaries(tmp_path / "missing") == 0

