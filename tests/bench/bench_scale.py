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

- ``kitchen:distance`` (7-Scenes kitchen, metric Kinect depth): our camera solve and depth of
  frame KITCHEN_FRAME (the default backend). Pairs of Kinect-depth pixels of that frame at
  least 0.5 m apart give metric 3D points and their true distance; their colour pixels are
  the points projected with our solved colour camera (the colour camera sits a few cm from
  the depth camera; both points move alike, so their distance barely changes). Each pair in
  turn is the ``distance`` rule's input (through the same function ``--scale-from`` and
  ``scale-scene`` use); the scale it gives is judged (a) on the other pairs: their distance
  in the scaled reconstruction against the Kinect's, and (b) against the scale of the camera
  path (our camera centres fitted to the Kinect poses, with the depth camera's offset).
  Median errors over the input pairs.

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

from tests.bench._common import ROOT, SHARED_DATA, similarity_with_offset
from tests.bench._harness import Benchmark, Report, main, print_table

DEMO = ROOT / "assets" / "demo"
CASES = ["demo:auto", "demo:camera-height", "demo:distance", "kitchen:distance"]
KITCHEN = SHARED_DATA / "7scenes_kitchen"
KITCHEN_FRAME = 150
KINECT_K = np.array([[585.0, 0.0, 320.0], [0.0, 585.0, 240.0], [0.0, 0.0, 1.0]])
PAIRS = 12
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
    from tests.bench._common import demo_module

    demo = demo_module()
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


def run_kitchen() -> dict[str, Any]:
    from PIL import Image

    from sceneforge.engine.pipeline._scale import ScaleChoice, scene_scale
    from sceneforge.engine.registry import DEPTH
    from sceneforge.reconstruct import ColmapSolverConfig, read_frames
    from sceneforge.scenegraph import DepthMaps

    frames = read_frames(KITCHEN, max_size=None, pattern="*.color.jpg")
    track = ColmapSolverConfig().build().solve(frames)
    numbers = [int(n) for n in frames.frame_numbers]
    index = numbers.index(KITCHEN_FRAME)
    (_, depth), = DEPTH.config("patchmatch").build().estimate(frames, track, indices=[index])
    gt_poses = np.stack([np.loadtxt(KITCHEN / f"frame-{n:06d}.pose.txt") for n in numbers])
    sim, _ = similarity_with_offset(track.world_from_cam, gt_poses[:, :3, 3])
    kinect = np.asarray(Image.open(KITCHEN / f"frame-{KITCHEN_FRAME:06d}.depth.png")).astype(np.float64) / 1000.0
    kinect[kinect >= 65.0] = 0.0
    # metric points of the depth camera, and where our colour camera sees them
    rng = np.random.default_rng(0)
    rows, cols = np.nonzero(kinect > 0)
    k_ours = track.intrinsics[index].K
    pairs = []
    while len(pairs) < PAIRS:
        a, b = rng.integers(0, len(rows), 2)
        pts = []
        for i in (a, b):
            z = kinect[rows[i], cols[i]]
            pts.append(np.linalg.solve(KINECT_K, np.array([cols[i] + 0.5, rows[i] + 0.5, 1.0])) * z)
        metres = float(np.linalg.norm(pts[0] - pts[1]))
        pix = [(k_ours @ p)[:2] / p[2] for p in pts]
        inside = all(8 <= u < frames.width - 8 and 8 <= v < frames.height - 8 for u, v in pix)
        if metres >= 0.5 and inside:
            pairs.append((pix[0][0], pix[0][1], pix[1][0], pix[1][1], metres))
    depths = DepthMaps([depth])

    def scale_from(pair) -> float | None:
        choice = ScaleChoice("distance", metres=pair[4], frame=KITCHEN_FRAME, pixels=tuple(float(v) for v in pair[:4]))
        try:
            return scene_scale(choice, frames, track, depths)[0]
        except Exception:  # no depth at a pixel: that pair cannot be the input
            return None

    units = [None if (m := scale_from((*p[:4], 1.0))) is None else 1.0 / m for p in pairs]  # scene units between the points
    per_input = []
    for i, pair in enumerate(pairs):
        if units[i] is None:
            continue
        mpu = pair[4] / units[i]
        others = [abs(units[j] * mpu - pairs[j][4]) / pairs[j][4] for j in range(len(pairs)) if j != i and units[j] is not None]
        per_input.append({"input_m": pair[4], "meters_per_unit": mpu, "other_pairs_error": float(np.median(others)),
                          "camera_path_error": abs(mpu - sim.scale) / sim.scale})
    return {
        "rule": f"distance={KITCHEN_FRAME}:… ({len(per_input)} pairs in turn)",
        "meters_per_unit": float(np.median([r["meters_per_unit"] for r in per_input])),
        "camera_path_meters_per_unit": sim.scale,
        "error": float(np.median([r["other_pairs_error"] for r in per_input])),
        "camera_path_error": float(np.median([r["camera_path_error"] for r in per_input])),
        "metric": True, "how": "Kinect distances between other point pairs (error); the camera path's scale (camera err.)",
        "per_input": per_input,
    }


def run_case(case: str, args: argparse.Namespace) -> dict[str, Any]:
    from sceneforge.scenegraph import read_camera_track

    if case.startswith("kitchen"):
        return run_kitchen()
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
        "Scale: on the demo clip (320 px) the solved camera path in metres (scene units × metersPerUnit) against "
        "the true path; on the kitchen, distances against the Kinect's",
        results,
        [("case", "case"), ("rule", "--scale-from"), ("meters_per_unit", "m/unit"), ("path_m", "path m"),
         ("true_path_m", "true m"), ("error", "error"), ("camera_path_error", "camera err."), ("how", "how")],
    )
    by_case = {r["case"]: r for r in results}
    verdict = {}
    if by_case.get("demo:distance", {}).get("ok"):
        verdict["demo_distance_scale_error_le_3pct"] = by_case["demo:distance"]["error"] <= TARGETS["distance_error"]
    if by_case.get("kitchen:distance", {}).get("ok"):
        verdict["kitchen_distance_scale_error_le_3pct"] = by_case["kitchen:distance"]["error"] <= TARGETS["distance_error"]
    return Report([table], targets=verdict)


BENCHMARK = Benchmark(
    name="scale", module="tests.bench.bench_scale", description=__doc__, cases=CASES, run_case=run_case, report=report,
    data_folder=lambda case: KITCHEN if case.startswith("kitchen") else None,
)

if __name__ == "__main__":
    sys.exit(main(BENCHMARK))
