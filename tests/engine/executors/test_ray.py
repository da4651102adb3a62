"""The Ray executor on a local cluster started in this process: a batch of two shots and a
frame-parallel render come out as the local executor's, and a batch whose workers are killed
mid-way still finishes with nothing lost and nothing half-written."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from sceneforge.engine.cli import main
from sceneforge.scenegraph import read_camera_track
from tests.engine.conftest import SHORT_SHOT_OPTIONS

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def cluster():
    """A two-CPU Ray cluster for this module (the executor joins it and leaves it running)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _assert_same_shot(a: Path, b: Path) -> None:
    """Two reconstructions of one shot hold the same cameras, depth, background and objects."""
    np.testing.assert_array_equal(read_camera_track(a / "scene.usda").world_from_cam, read_camera_track(b / "scene.usda").world_from_cam)
    depth_a, depth_b = sorted((a / "run" / "depth").glob("*.npz")), sorted((b / "run" / "depth").glob("*.npz"))
    assert [p.name for p in depth_a] == [p.name for p in depth_b] and depth_a
    for pa, pb in zip(depth_a, depth_b):
        with np.load(pa) as da, np.load(pb) as db:
            np.testing.assert_array_equal(da["depth"], db["depth"])
            np.testing.assert_array_equal(da["confidence"], db["confidence"])
    with np.load(a / "run" / "cache" / "background.npz") as ma, np.load(b / "run" / "cache" / "background.npz") as mb:
        np.testing.assert_array_equal(ma["vertices"], mb["vertices"])
        np.testing.assert_array_equal(ma["texture"], mb["texture"])
    objects = [json.loads((s / "report.json").read_text())["objects"] for s in (a, b)]
    assert objects[0] == objects[1]


def test_a_batch_on_ray_matches_the_local_executor(cluster, shot_list, local_batch, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["batch", str(shot_list), "-o", str(out), "--executor", "ray", *SHORT_SHOT_OPTIONS]) == 0
    assert "2 reconstructed, 0 kept, 0 failed" in capsys.readouterr().out
    assert json.loads((out / "batch.json").read_text())["executor"] == "ray"
    assert ray.is_initialized()  # a cluster the executor joined is left running
    for name in ("first", "second"):
        _assert_same_shot(out / name, local_batch[0] / name)


def _png_frames(folder: Path) -> list[np.ndarray]:
    import cv2

    return [cv2.imread(str(p)) for p in sorted(folder.glob("*.png"))]


def test_a_frame_parallel_render_matches_one_process(cluster, local_batch, tmp_path):
    shot = local_batch[0] / "first"
    common = ["render", str(shot), "--mode", "cg", "--format", "png"]
    assert main(["-q", *common, "-o", str(tmp_path / "serial")]) == 0
    assert main(["-q", *common, "-o", str(tmp_path / "local"), "--executor", "local", "--workers", "2"]) == 0
    assert main(["-q", *common, "-o", str(tmp_path / "ray"), "--executor", "ray"]) == 0
    serial = _png_frames(tmp_path / "serial")
    assert len(serial) == 18
    for name in ("local", "ray"):
        frames = _png_frames(tmp_path / name)
        assert [p.name for p in sorted((tmp_path / name).glob("*.png"))] == [p.name for p in sorted((tmp_path / "serial").glob("*.png"))]
        for a, b in zip(serial, frames):
            np.testing.assert_array_equal(a, b)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # the staging folders are gone


def test_a_composite_rendered_in_ranges_is_assembled_in_order(cluster, local_batch, tmp_path):
    import av

    shot = tmp_path / "shot"
    shutil.copytree(local_batch[0] / "first", shot)
    assert main(["-q", "edit", str(shot), "delete", "object_01"]) == 0
    assert main(["-q", "render", str(shot), "-o", str(tmp_path / "serial.mp4")]) == 0
    assert main(["-q", "render", str(shot), "-o", str(tmp_path / "edit.mp4"), "--executor", "ray"]) == 0

    def decoded(name: str) -> list[np.ndarray]:
        with av.open(str(tmp_path / name)) as container:
            return [frame.to_ndarray(format="rgb24").astype(np.float32) for frame in container.decode(video=0)]

    video, serial = decoded("edit.mp4"), decoded("serial.mp4")
    assert len(video) == len(serial) == 18
    for i, frame in enumerate(video):
        errors = [float(np.abs(frame - s).mean()) for s in serial]
        # frame i of the video is the shot's frame i; they differ where the deletion revealed what
        # no frame saw: OpenCV's shift-map inpainting fills it a little differently from run to run
        assert int(np.argmin(errors)) == i


def _ray_workers(task: str) -> list[int]:
    """Process ids of the Ray workers running tasks named ``task`` right now."""
    listing = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True, check=True).stdout
    return [int(line.split(None, 1)[0]) for line in listing.splitlines() if f"ray::{task}" in line.split(None, 1)[-1]]


def test_a_batch_survives_workers_killed_mid_way(cluster, shot_list, local_batch, tmp_path):
    out = tmp_path / "out"
    codes: list[int] = []
    run = threading.Thread(
        target=lambda: codes.append(
            main(["-q", "batch", str(shot_list), "-o", str(out), "--executor", "ray", *SHORT_SHOT_OPTIONS])
        )
    )
    run.start()
    killed: dict[str, int] = {}
    deadline = time.monotonic() + 300
    while run.is_alive() and len(killed) < 2 and time.monotonic() < deadline:
        # a depth task once some of its frames are written, then a shot's own task
        raw = list((out / "first" / "run" / "cache" / "depth_raw").glob("*.npz"))
        if "depth" not in killed and len(raw) >= 2 and _ray_workers("_depth_frames"):
            killed["depth"] = _ray_workers("_depth_frames")[0]
            os.kill(killed["depth"], signal.SIGKILL)
        elif "depth" in killed and "shot" not in killed and _ray_workers("_reconstruct_shot"):
            killed["shot"] = _ray_workers("_reconstruct_shot")[0]
            os.kill(killed["shot"], signal.SIGKILL)
        time.sleep(0.05)
    run.join(timeout=600)
    assert set(killed) == {"depth", "shot"}, "the batch ended before its workers could be killed"
    assert codes == [0]
    shots = json.loads((out / "batch.json").read_text())["shots"]
    assert [s["status"] for s in shots] == ["done", "done"]
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]  # no temporary left behind
    for name in ("first", "second"):
        _assert_same_shot(out / name, local_batch[0] / name)  # every frame whole, and the same
