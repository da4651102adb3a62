"""People benchmark: the bundled MediaPipe selfie-segmentation model (LiteRT, CPU) as the
people proposer.

- ``breakdance:model``: DAVIS breakdance (84 frames, 854×480). J (mask IoU, mean over the
  annotated frames) of the raw per-frame model masks (probability > 0.5) against the
  dancer's annotation, and the dancer's recall (annotated pixels marked person). The
  annotation leaves out the spectators behind the dancer, whom the model (rightly) marks
  as people, so J is low by construction; recall says whether the dancer is found. Also
  the model's time per frame at 854×480 (one thread).
- ``breakdance:usd``: ``sceneforge reconstruct`` on the clip (every 2nd frame, 320 px, the
  default proposer), then the person layers READ BACK THROUGH THE USD: the object prims'
  names and instance ids (``read_object_layers``) and the instance maps the plate camera
  references (``sceneforge:instanceMaps``); J of the person layer that best matches the
  dancer's annotation (resized to the maps' size), the number of person layers, and a
  picture (``breakdance_layers.png`` in ``--out``: six frames, each person layer tinted).
- ``no-people``: people proposed on clips without people: DAVIS bear, blackswan,
  car-shadow, 7-Scenes kitchen (every 3rd of 300 frames) and the demo room.

    python -m tests.bench.bench_people --out bench_results
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from tests.bench._common import ROOT, SHARED_DATA
from tests.bench._harness import Benchmark, Report, main, print_table

DAVIS = SHARED_DATA / "davis"
CASES = ["breakdance:model", "breakdance:usd", "no-people"]


def _truth(clip: str) -> np.ndarray:
    import cv2

    return np.stack([cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) > 127 for p in sorted((DAVIS / clip / "masks").glob("*.png"))])


def _j(masks: np.ndarray, truth: np.ndarray) -> float:
    inter = (masks & truth).sum(axis=(1, 2))
    union = (masks | truth).sum(axis=(1, 2))
    return float(np.mean(np.where(union > 0, inter / np.maximum(union, 1), 1.0)))


def run_model(args: argparse.Namespace) -> dict[str, Any]:
    from sceneforge.reconstruct import read_frames
    from sceneforge.reconstruct.objects import PersonSegmenter

    frames = read_frames(DAVIS / "breakdance" / "frames", max_size=None, pattern="*.jpg")
    truth = _truth("breakdance")
    segmenter = PersonSegmenter()
    start = time.perf_counter()
    raw = np.stack([segmenter.person_probability(image) > 0.5 for image in frames.images])
    ms = (time.perf_counter() - start) / len(frames) * 1000
    smoothed = segmenter.person_masks(frames)
    recall = float(np.mean([(r & t).sum() / max(t.sum(), 1) for r, t in zip(raw, truth)]))
    return {"frames": len(frames), "width": frames.width, "height": frames.height, "j_raw": _j(raw, truth),
            "j_smoothed": _j(smoothed, truth), "dancer_recall": recall, "ms_per_frame": ms}


def run_usd(args: argparse.Namespace) -> dict[str, Any]:
    import cv2

    from sceneforge.scenegraph.usd import ATTR_INSTANCE_MAPS, DEFAULT_CAMERA_PATH, open_stage, read_object_layers

    with tempfile.TemporaryDirectory(prefix="bench_people_") as tmp:
        shot = Path(tmp) / "shot"
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "sceneforge.engine.cli", "-q", "reconstruct", str(DAVIS / "breakdance" / "frames"), "-o",
             str(shot), "--max-size", "320", "--stride", "2"], capture_output=True, text=True, cwd=ROOT,
        )
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"reconstruct failed: {done.stderr.strip()[-2000:]}")
        scene = shot / "scene.usda"
        objects = read_object_layers(scene)
        stage = open_stage(scene)
        paths = list(stage.GetPrimAtPath(DEFAULT_CAMERA_PATH).GetAttribute(ATTR_INSTANCE_MAPS).Get() or [])
        maps = np.stack([cv2.imread(str(p.resolvedPath or shot / p.path), cv2.IMREAD_UNCHANGED).astype(np.int32) for p in paths])
        truth = _truth("breakdance")[::2][: len(maps)]
        h, w = maps.shape[1:]
        truth = np.stack([cv2.resize(t.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0 for t in truth])
        people = [o for o in objects if o["name"].startswith("person_")]
        scores = {o["name"]: _j(maps == o["instance_id"], truth) for o in people}
        picture = _layers_picture(maps, truth, people, Path(args.out) / "breakdance_layers.png")
    best = max(scores, key=scores.get) if scores else None
    return {"objects": [o["name"] for o in objects], "people": len(people), "j_by_person": scores, "best_person": best,
            "j_best_person": scores.get(best) if best else 0.0, "frames": len(maps), "reconstruct_secs": wall,
            "picture": str(picture)}


_COLOURS = ((230, 60, 60), (60, 120, 230), (60, 200, 90), (230, 200, 40), (200, 60, 220), (40, 210, 210))


def _layers_picture(maps: np.ndarray, truth: np.ndarray, people: list[dict[str, Any]], path: Path) -> Path:
    """Six frames side by side in rows of three, each person layer tinted in its colour
    (person_01 red, person_02 blue, …) and the dancer's annotation outlined in white."""
    import cv2

    from sceneforge.reconstruct import read_frames

    frames = read_frames(DAVIS / "breakdance" / "frames", max_size=None, pattern="*.jpg", stride=2)
    h, w = maps.shape[1:]
    tiles = []
    for i in np.linspace(0, len(maps) - 1, 6).round().astype(int):
        image = cv2.resize(frames.images[i], (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
        for person, colour in zip(people, _COLOURS):
            on = maps[i] == person["instance_id"]
            image[on] = 0.45 * image[on] + 0.55 * np.float32(colour)
        tile = np.ascontiguousarray(image.astype(np.uint8))
        contours, _ = cv2.findContours(truth[i].astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(tile, contours, -1, (255, 255, 255), 1)
        cv2.putText(tile, f"{2 * i}", (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1)
        tiles.append(tile)
    grid = np.concatenate([np.concatenate(tiles[:3], axis=1), np.concatenate(tiles[3:], axis=1)], axis=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
    return path


def run_no_people(args: argparse.Namespace) -> dict[str, Any]:
    from sceneforge.reconstruct import read_frames
    from sceneforge.reconstruct.objects import PeopleProposer, PeopleProposerConfig

    proposer = PeopleProposer(PeopleProposerConfig(with_geometry=False))
    clips = {name: (DAVIS / name / "frames", "*.jpg", 1) for name in ("bear", "blackswan", "car-shadow")}
    clips["kitchen"] = (SHARED_DATA / "7scenes_kitchen", "*.color.jpg", 3)
    clips["room"] = (ROOT / "assets" / "demo" / "room.mp4", None, 1)
    counts = {}
    for name, (path, pattern, stride) in clips.items():
        frames = read_frames(path, pattern=pattern, stride=stride, max_size=None)
        counts[name] = len(proposer.propose(frames, None, None))
    return {"false_people": counts, "total": sum(counts.values())}


def run_case(case: str, args: argparse.Namespace) -> dict[str, Any]:
    return {"breakdance:model": run_model, "breakdance:usd": run_usd, "no-people": run_no_people}[case](args)


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> Report:
    by_case = {r["case"]: r for r in results if r.get("ok")}
    tables = []
    model, usd, fp = by_case.get("breakdance:model"), by_case.get("breakdance:usd"), by_case.get("no-people")
    row = {
        "j_raw": model and model["j_raw"], "j_smoothed": model and model["j_smoothed"],
        "recall": model and model["dancer_recall"], "ms": model and model["ms_per_frame"],
        "j_usd": usd and usd["j_best_person"], "people": usd and usd["people"], "fp": fp and fp["total"],
    }
    tables.append(print_table("People on DAVIS breakdance (J vs the dancer's annotation) and false people elsewhere", [row], [
        ("j_raw", "J raw model"), ("j_smoothed", "J smoothed"), ("recall", "dancer recall"), ("j_usd", "J best person layer via USD"),
        ("people", "person layers in USD"), ("fp", "false people (5 clips)"), ("ms", "ms/frame 854×480"),
    ]))
    if fp:
        tables.append(print_table("False people per clip without people", [fp["false_people"]],
                                  [(k, k) for k in fp["false_people"]]))
    checks = {}
    if fp:
        checks["no person proposed on the clips without people"] = fp["total"] == 0
    if usd:
        checks["a person is proposed on breakdance"] = usd["people"] >= 1
    return Report(tables=[t for t in tables if t], checks=checks)


BENCHMARK = Benchmark(
    name="people", module="tests.bench.bench_people", description=__doc__ or "", cases=CASES, run_case=run_case,
    report=report, data_folder=lambda case: DAVIS,
)

if __name__ == "__main__":
    sys.exit(main(BENCHMARK))
