"""Light probe benchmark: the key light and the ambient:key ratio the probe finds in the demo
clip, against the generator's own light.

The demo generator (``assets/demo/generate.py``) shades every surface as
``albedo × (0.45 + 0.55·max(0, n·l))`` with ``l = (0.30, 0.80, 0.50)/|…|`` pointing towards
the light, in its own world, and writes the values to the video directly (no transfer curve:
``--footage-encoding linear``). The true ambient:key ratio (π·ambient radiance over the key's
irradiance, :attr:`LightProbe.ambient_to_key`) is 0.45/0.55 = 0.818.

- ``demo:exact``: the generator's exact cameras and depth for 24 frames at 640×360: what the
  method gives with perfect geometry (the shading pairs on the ball and the column).
- ``demo:640``: the clip reconstructed at 640×360 (the default size) with
  ``--footage-encoding linear``; the probe is read back from the scene.
- ``demo:320``: the same at ``--max-size 320`` (the size the tests and the lighting benchmark use).

The reconstruction's world is a similarity of the generator's: it is fitted from our camera
centres to the true ones, and the key direction taken into the generator's world by its
rotation. Reported: the angle between the key directions, the ambient:key ratio and its error
against 0.818, the share of the sphere seen, which cue gave the key (``pairs``: shading pairs
on curved surfaces; ``orientation``: luminance by surface orientation, the fallback for noisy
depth), and the time. Reconstructions are kept in OUT/probe/ (and reused when there); each
probe's map is saved as OUT/probe/<case>_light_probe.png.

    python -m tests.bench.bench_probe --out bench_results
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from tests.bench._common import ROOT, camera_centre_errors, demo_module
from tests.bench._harness import Benchmark, Report, main, print_table

DEMO = ROOT / "assets" / "demo"
CASES = ["demo:exact", "demo:640", "demo:320"]
EXACT_FRAMES = 24


class _CueLog(logging.Handler):
    """Which cue the probe's key light came from, read from the stage's log."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.cue = "pairs"

    def emit(self, record: logging.LogRecord) -> None:
        if "by orientation" in record.getMessage():
            self.cue = "orientation"


def _truth() -> dict[str, Any]:
    return json.loads((DEMO / "ground_truth.json").read_text())




def _exact_inputs():
    """Frames, cameras and exact depth of EXACT_FRAMES frames of the demo, from its generator."""
    from sceneforge.scenegraph import CameraTrack, DepthMap, DepthMaps, Frames, Intrinsics

    demo = demo_module()
    k, poses = demo.demo_cameras(demo.NUM_FRAMES, demo.WIDTH, demo.HEIGHT)
    picks = np.linspace(0, demo.NUM_FRAMES - 1, EXACT_FRAMES).round().astype(np.int64)
    images, maps = [], []
    for i in picks:
        rgb, depth, _ = demo.render_frame(poses[i], k, demo.WIDTH, demo.HEIGHT, supersample=1)
        images.append(rgb)
        maps.append(DepthMap(depth=depth, confidence=(depth > 0).astype(np.float32), frame_number=int(i)))
    intrinsics = Intrinsics(K=np.asarray(k), width=demo.WIDTH, height=demo.HEIGHT)
    frames = Frames(images=np.stack(images), fps=float(demo.FPS), frame_numbers=picks)
    track = CameraTrack(
        intrinsics=(intrinsics,) * len(picks), world_from_cam=np.stack([poses[i] for i in picks]),
        frame_numbers=picks, fps=float(demo.FPS), status=np.zeros(len(picks), np.int8),
    )
    return frames, track, DepthMaps(maps)


def _reconstructed(case: str, out: Path) -> tuple[Any, np.ndarray, float, str]:
    """(probe, the rotation taking our world to the generator's, seconds of the probe stage, cue)."""
    from sceneforge.scenegraph import read_camera_track, read_light_probe

    size = case.split(":", 1)[1]
    shot = out / "probe" / f"demo_{size}"
    if not (shot / "scene.usda").exists():
        done = subprocess.run(
            [sys.executable, "-m", "sceneforge.engine.cli", "-v", "reconstruct", str(DEMO / "room.mp4"), "-o", str(shot),
             "--max-size", size, "--footage-encoding", "linear", "--force"],
            capture_output=True, text=True, cwd=ROOT,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip()[-2000:])
        (shot / "reconstruct.log").write_text(done.stderr)
    log_text = (shot / "reconstruct.log").read_text() if (shot / "reconstruct.log").exists() else ""
    cue = "orientation" if "by orientation" in log_text else "pairs"
    report = json.loads((shot / "report.json").read_text())
    probe = read_light_probe(shot / "scene.usda")
    track = read_camera_track(shot / "scene.usda")
    truth = np.array([f["world_from_cam"] for f in _truth()["frames"]], dtype=np.float64)
    _, sim = camera_centre_errors(track.camera_centers(), truth[track.frame_numbers, :3, 3])
    return probe, sim.rotation, float(report["stage_timings_secs"].get("light_probe", float("nan"))), cue


def run_case(case: str, args: argparse.Namespace) -> dict[str, Any]:
    from sceneforge.engine.cli._previews import light_probe_image

    truth = _truth()["light"]
    towards = np.asarray(truth["direction_to_light"], dtype=np.float64)
    ratio_true = float(truth["ambient"]) / float(truth["diffuse"])
    if case == "demo:exact":
        from sceneforge.reconstruct import LightProbeConfig, build_light_probe

        frames, track, depths = _exact_inputs()
        cue_log = _CueLog()
        logging.getLogger("sceneforge.reconstruct.surface._light_probe").addHandler(cue_log)
        logging.getLogger("sceneforge.reconstruct.surface._light_probe").setLevel(logging.INFO)
        start = time.perf_counter()
        probe = build_light_probe(frames, track, depths, config=LightProbeConfig(encoding="linear"))
        seconds, rotation, cue = time.perf_counter() - start, np.eye(3), cue_log.cue
    else:
        probe, rotation, seconds, cue = _reconstructed(case, args.out)
    result: dict[str, Any] = {"probe_secs": seconds, "ambient_to_key_true": ratio_true}
    if probe is None:
        return {**result, "key": "no probe"}
    from PIL import Image

    folder = args.out / "probe"
    folder.mkdir(parents=True, exist_ok=True)
    preview = folder / f"{case.replace(':', '_')}_light_probe.png"
    Image.fromarray(light_probe_image(probe)).save(preview)
    from sceneforge.scenegraph.usd._light_probe import seen_share

    result.update({"seen_share": seen_share(probe.seen), "preview": str(preview), "encoding": probe.encoding})
    if probe.key_direction is None:
        return {**result, "key": "none found"}
    key = rotation @ probe.key_direction
    ratio = probe.ambient_to_key
    result.update({
        "key": "found", "cue": cue,
        "key_in_generator_world": key.tolist(),
        "key_error_deg": float(np.degrees(np.arccos(np.clip(key @ towards, -1.0, 1.0)))),
        "ambient_to_key": ratio, "ratio_error": abs(ratio - ratio_true) / ratio_true,
        "key_elevation_deg": float(np.degrees(np.arcsin(np.clip(key[1], -1, 1)))),
        "true_elevation_deg": float(np.degrees(np.arcsin(towards[1]))),
    })
    return result


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> Report:
    table = print_table(
        "Light probe on the demo clip: the key light against the generator's (angle in its world), "
        "ambient:key against 0.45/0.55 = 0.818",
        results,
        [("case", "case"), ("key", "key light"), ("cue", "cue"), ("key_error_deg", "angle °"),
         ("key_elevation_deg", "elev. °"), ("true_elevation_deg", "true elev. °"), ("ambient_to_key", "ambient:key"),
         ("ambient_to_key_true", "true"), ("ratio_error", "ratio err."), ("seen_share", "seen"), ("probe_secs", "secs")],
    )
    return Report([table], also=f"; maps in {args.out / 'probe'}")


BENCHMARK = Benchmark(
    name="probe", module="tests.bench.bench_probe", description=__doc__, cases=CASES, run_case=run_case, report=report,
)

if __name__ == "__main__":
    sys.exit(main(BENCHMARK))
