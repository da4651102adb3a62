"""Scale benchmark: how many metres a scene unit is, against the demo clip's true scale.

Structure from motion has no scale; ``--scale-from`` sets ``metersPerUnit``. The demo clip's
true cameras are known (``assets/demo/ground_truth.json``, metres), so the error of a rule is
the solved camera path's length in metres (path in scene units × metersPerUnit) against the
true path's length:

- ``demo:auto``: the default rule (the camera assumed at eye level, 1.6 m, above the ground
  plane the solve finds);
- ``demo:camera-height``: the true median camera height given (``camera-height=<true>``);
- ``demo:distance``: two pixels of frame 36 on the floor whose true 3D points are a known
  distance apart (from the demo's exact depth), given as ``distance=36:x1,y1,x2,y2=<true>``.

Target (the geometry issue): scale error ≤ 3% with the distance option. The demo is
reconstructed at 320 px wide (``--max-size 320``); each case in its own process.

    python -m tests.bench.bench_scale --out bench_results
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from tests.bench._common import ROOT
from tests.bench._harness import Benchmark, Report, main, print_table

DEMO = ROOT / "assets" / "demo"
CASES = ["demo:auto", "demo:camera-height", "demo:distance"]
TARGETS = {"distance_error": 0.03}
DISTANCE_FRAME = 36


def _truth() -> tuple[np.ndarray, dict[str, Any]]:
    gt = json.loads((DEMO / "ground_truth.json").read_text())
    poses = np.array([f["world_from_cam"] for f in gt["frames"]], dtype=np.float64)
    return poses, gt


def _path_length(positions: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(positions, axis=0), axis=1).sum())


def _floor_pixels() -> tuple[tuple[float, float, float, float], float]:
    """Two pixels (source pixels, 640×360) of frame DISTANCE_FRAME on the floor and the true
    distance between their 3D points, from the demo renderer's exact depth."""
    from tests.bench.bench_objects import _demo_module

    demo = _demo_module()
    k, poses = demo.demo_cameras(demo.NUM_FRAMES, demo.WIDTH, demo.HEIGHT)
    _, depth, _ = demo.render_frame(poses[DISTANCE_FRAME], k, demo.WIDTH, demo.HEIGHT, supersample=1)
    k = np.asarray(k)
    picks = ((160.0, 330.0), (480.0, 330.0))  # lower third: the floor
    points = []
    for u, v in picks:
        z = float(depth[int(v), int(u)])
        cam = np.array([(u + 0.5 - k[0, 2]) / k[0, 0] * z, (v + 0.5 - k[1, 2]) / k[1, 1] * z, z])
        pose = np.asarray(poses[DISTANCE_FRAME])
        points.append(pose[:3, :3] @ cam + pose[:3, 3])
    return (*picks[0], *picks[1]), float(np.linalg.norm(points[0] - points[1]))


def run_case(case: str, args: argparse.Namespace) -> dict[str, Any]:
    from sceneforge.scenegraph import read_camera_track

    rule = case.split(":", 1)[1]
    poses, _ = _truth()
    true_path = _path_length(poses[:, :3, 3])
    if rule == "camera-height":
        # the demo's floor is y = 0 in its own world (metres)
        argument = f"camera-height={float(np.median(poses[:, 1, 3])):.4f}"
    elif rule == "distance":
        (x1, y1, x2, y2), metres = _floor_pixels()
        argument = f"distance={DISTANCE_FRAME}:{x1:g},{y1:g},{x2:g},{y2:g}={metres:.4f}"
    else:
        argument = "auto"
    with tempfile.TemporaryDirectory(prefix="bench_scale_") as tmp:
        shot = Path(tmp) / "shot"
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "sceneforge.engine.cli", "-q", "reconstruct", str(DEMO / "room.mp4"), "-o", str(shot),
             "--max-size", "320", "--texture-size", "256", "--scale-from", argument],
            capture_output=True, text=True, cwd=ROOT,
        )
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}")
        units = json.loads((shot / "report.json").read_text())["units"]
        track = read_camera_track(shot / "scene.usda")
    path_m = _path_length(track.world_from_cam[:, :3, 3]) * units["meters_per_unit"]
    return {"rule": argument, "meters_per_unit": units["meters_per_unit"], "metric": units["metric"], "how": units["how"],
            "path_m": path_m, "true_path_m": true_path, "error": abs(path_m - true_path) / true_path,
            "reconstruct_secs": seconds}


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> Report:
    table = print_table(
        "Scale on the demo clip (320 px): the solved camera path in metres (scene units × metersPerUnit) against "
        "the true path",
        results,
        [("case", "case"), ("rule", "--scale-from"), ("meters_per_unit", "m/unit"), ("path_m", "path m"),
         ("true_path_m", "true m"), ("error", "error"), ("how", "how")],
    )
    by_case = {r["case"]: r for r in results}
    verdict = {}
    if by_case.get("demo:distance", {}).get("ok"):
        verdict["demo_distance_scale_error_le_3pct"] = by_case["demo:distance"]["error"] <= TARGETS["distance_error"]
    return Report([table], targets=verdict)


BENCHMARK = Benchmark(
    name="scale", module="tests.bench.bench_scale", description=__doc__, cases=CASES, run_case=run_case, report=report,
)

if __name__ == "__main__":
    sys.exit(main(BENCHMARK))
