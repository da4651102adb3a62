"""Saving beside other writers: the edits lock, and the merge when another writer saved since
this scene read the edits — no edit is ever lost."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pxr import Sdf

from sceneforge.scenegraph import Scene
from sceneforge.scenegraph.edit import edits_lock, merge_layers
from tests.scenegraph.edit.test_scene import make_scene


def _shot(tmp_path: Path, name: str = "shot") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    make_scene(folder)
    return folder


def _other_writer_saves(shot: Path, tmp_path: Path, edit) -> None:
    """Another writer: a copy of the shot edited and saved, its edits.usda put in place (USD
    shares layers by path within a process, so the copy stands for another process)."""
    copy = tmp_path / "other"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(shot, copy)
    other = Scene.open(copy)
    edit(other)
    other.save()
    shutil.copyfile(copy / "edits.usda", shot / "edits.usda")


def test_a_save_merges_onto_what_another_writer_saved_meanwhile(tmp_path):
    shot = _shot(tmp_path)
    scene = Scene.open(shot)
    start_x = scene.objects["chair"].world_from_local[0, 3]
    scene.objects["chair"].translate((1.0, 0.0, 0.0))
    _other_writer_saves(shot, tmp_path, lambda other: other.objects["lamp"].remove())
    scene.save()
    fresh = Scene.open(_copy(shot, tmp_path))
    assert "lamp" not in fresh.objects and "lamp" in fresh.removed_objects  # theirs kept
    np.testing.assert_allclose(fresh.objects["chair"].world_from_local[:3, 3], scene.objects["chair"].world_from_local[:3, 3])
    assert fresh.objects["chair"].world_from_local[0, 3] == pytest.approx(start_x + 1.0)  # ours kept
    assert scene.history == ()  # undo cannot reach across the merge


def test_where_both_changed_the_same_thing_the_later_save_wins(tmp_path):
    shot = _shot(tmp_path)
    scene = Scene.open(shot)
    start = scene.objects["chair"].world_from_local[:3, 3].copy()
    scene.objects["chair"].translate((1.0, 0.0, 0.0))
    _other_writer_saves(shot, tmp_path, lambda other: other.objects["chair"].translate((0.0, 0.0, 5.0)))
    scene.save()
    fresh = Scene.open(_copy(shot, tmp_path))
    np.testing.assert_allclose(fresh.objects["chair"].world_from_local[:3, 3], start + [1.0, 0.0, 0.0], atol=1e-9)


def test_merge_copies_new_prims_and_removes_what_this_writer_removed():
    def layer(text: str) -> Sdf.Layer:
        out = Sdf.Layer.CreateAnonymous(".usda")
        out.ImportFromString(text)
        return out

    base = layer('#usda 1.0\nover "World"\n{\n    over "a"\n    {\n        double x = 1\n    }\n}\n')
    ours = layer('#usda 1.0\nover "World"\n{\n    over "n"\n    {\n        double y = 2\n    }\n}\n')
    theirs = layer('#usda 1.0\nover "World"\n{\n    over "a"\n    {\n        double x = 1\n    }\n    over "t"\n    {\n    }\n}\n')
    merged = merge_layers(base, ours, theirs)
    assert merged.GetAttributeAtPath("/World/n.y").default == 2.0  # ours: new
    assert not merged.GetPrimAtPath("/World/a")  # ours: removed
    assert merged.GetPrimAtPath("/World/t")  # theirs: kept


_WRITER = """
import sys
from sceneforge.scenegraph import Scene
shot, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
for _ in range(count):
    scene = Scene.open(shot)
    scene.objects[name].translate((0.1, 0.0, 0.0))
    scene.save()
"""


def test_two_processes_editing_one_shot_lose_no_edit(tmp_path):
    """Two writers, each opening, moving its own object by 0.1 and saving, 15 times over, at
    once: every move is in the file at the end (a later save merges onto an earlier one)."""
    shot = _shot(tmp_path)
    start = {name: Scene.open(_copy(shot, tmp_path)).objects[name].world_from_local[0, 3] for name in ("chair", "lamp")}
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(shot), name, "15"], cwd=Path(__file__).resolve().parents[3])
        for name in ("chair", "lamp")
    ]
    assert all(w.wait(timeout=300) == 0 for w in writers)
    fresh = Scene.open(_copy(shot, tmp_path))
    for name in ("chair", "lamp"):
        assert fresh.objects[name].world_from_local[0, 3] - start[name] == pytest.approx(1.5, abs=1e-6)


def test_the_lock_is_held_once_per_process_and_released_on_exit(tmp_path):
    shot = _shot(tmp_path)
    with edits_lock(shot), edits_lock(shot):  # nested: no deadlock
        assert (shot / ".edits.lock").exists()
    # a process killed while holding the lock does not block the next one
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom sceneforge.scenegraph.edit import edits_lock\n"
         "with edits_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(60)\n", str(shot)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[3],
    )
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()
    with edits_lock(shot):
        pass


_copies = iter(range(1000))


def _copy(shot: Path, tmp_path: Path) -> Path:
    """The shot as it is on disk, in a fresh folder (USD shares layers by path in a process)."""
    copy = tmp_path / f"read_{next(_copies)}"
    shutil.copytree(shot, copy)
    return copy
