"""Creator footage benchmark: DAVIS-2016 clips (a subject the camera follows, 854×480) made into
scenes by ``sceneforge reconstruct``, and the subject's *USD object layer* measured.

For each clip (bear, blackswan, car-shadow, breakdance) the subject is prompted on the first
frame, once with its ground-truth mask (``--object NAME=mask:first.png@0``) and once with that
mask's bounding box (``box:x0,y0,x1,y1@0``), at full size (``--max-size 0``). Reported:

- whether a scene came out at all (the share of clips that give one is a target), the camera
  solve's backend and flags (``rotation_only``, ``solve_fallback``) and whether the object was
  classified static or moving;
- layer J: the object's layer rendered *alone* through the USD plate camera (the object-id
  pass of the scene renderer), its mean IoU with the annotation over frames 1…N-1 (the DAVIS
  convention, prompt frame excluded); and the J of the reconstruction's own 2D masks
  (``run/instances``) on the same frames — the layer should lose little to them;
- seconds per frame of the whole reconstruct (its own process) and its peak memory.

Overlays (layer red, annotation outline green; PNG) of three frames per case go to
``OUT/footage/`` for a person to look at. Shots are made in ``--work`` (a temporary folder
unless given; given, a reconstruction there with the same arguments is reused).

    python -m tests.bench.bench_footage --out bench_results [--work /tmp/footage_work]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from tests.bench._common import ROOT, SHARED_DATA
from tests.bench._harness import Benchmark, Report, main, print_table, work_folder

DAVIS = SHARED_DATA / "davis"
CLIPS = ["bear", "blackswan", "car-shadow", "breakdance"]
PROMPTS = ["mask", "box"]
CASES = [f"{clip}:{prompt}" for prompt in PROMPTS for clip in CLIPS]
TARGETS = {"layer_j_mask": 0.75, "layer_j_box": 0.65, "gap_to_2d": 0.05}
TARGET_CLIPS = ("bear", "blackswan", "car-shadow")
"""The clips the layer-J targets are stated on (breakdance is reported beside them)."""


def _command() -> list[str]:
    script = Path(sys.executable).with_name("sceneforge")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "sceneforge.engine.cli"]


def _masks(clip: Path) -> list[Path]:
    return sorted((clip / "masks").glob("*.png"))


def _truth(path: Path) -> np.ndarray:
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise RuntimeError(f"cannot read the annotation {path}")
    return image > 127


def prompt_of(clip: Path, kind: str) -> str:
    """``--object`` text for the clip's subject from its first annotation (a mask or its box)."""
    first = _masks(clip)[0]
    frame = int(first.stem)
    if kind == "mask":
        return f"subject=mask:{first}@{frame}"
    rows, cols = np.nonzero(_truth(first))
    return f"subject=box:{cols.min()},{rows.min()},{cols.max() + 1},{rows.max() + 1}@{frame}"


def reconstruct(clip: Path, kind: str, work: Path) -> tuple[Path, dict[str, Any]]:
    """The clip's shot in ``work`` (made here, or reused when made with the same arguments)."""
    shot = work / f"{clip.name}-{kind}"
    arguments = [str(clip / "frames"), "--max-size", "0", "--object", prompt_of(clip, kind), "-o", str(shot), "--force"]
    marker = work / f"{clip.name}-{kind}.json"
    if marker.is_file() and (shot / "scene.usda").is_file():
        made = json.loads(marker.read_text())
        if made.get("arguments") == arguments:
            return shot, {**made, "reconstructed_here": False}
    start = time.perf_counter()
    done = subprocess.run([*_command(), "-q", "reconstruct", *arguments], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    made = {"arguments": arguments, "seconds": seconds, "reconstruct_peak_mb": peak_mb, "returncode": done.returncode,
            "stderr_tail": "\n".join((done.stderr or "").strip().splitlines()[-4:])}
    marker.write_text(json.dumps(made))
    return shot, {**made, "reconstructed_here": True}


def layer_silhouettes(shot: Path, name: str) -> dict[int, np.ndarray]:
    """Source frame number → H×W bool: where the object's layer alone covers the frame through
    the USD plate camera (the renderer's object-id pass)."""
    from pxr import Usd, UsdGeom

    from sceneforge.render.scene import iter_scene_passes
    from sceneforge.scenegraph import read_camera_track
    from sceneforge.scenegraph.usd import BACKGROUND_PATH, OBJECTS_PATH

    scene = shot / "scene.usda"
    track = read_camera_track(scene)
    prefix = f"{OBJECTS_PATH}/{name}"
    # alone: the background and the other objects hidden on the session layer (nothing saved)
    stage = Usd.Stage.Open(str(scene))
    stage.SetEditTarget(stage.GetSessionLayer())
    others = [stage.GetPrimAtPath(BACKGROUND_PATH)]
    objects = stage.GetPrimAtPath(OBJECTS_PATH)
    others += [child for child in (objects.GetChildren() if objects else []) if str(child.GetPath()) != prefix]
    for prim in others:
        if prim and prim.IsA(UsdGeom.Imageable):
            UsdGeom.Imageable(prim).MakeInvisible()
    out = {}
    for frame in iter_scene_passes(stage, track, passes=("object_id",)):
        ids = [i for i, path in frame.object_paths.items() if path == prefix or path.startswith(prefix + "/")]
        out[frame.frame_number] = np.isin(frame.passes.object_id, ids)
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else np.count_nonzero(a & b) / union


def _resized(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    import cv2

    if mask.shape == shape:
        return mask
    return cv2.resize(mask.astype(np.uint8), shape[::-1], interpolation=cv2.INTER_NEAREST).astype(bool)


def _overlay(frame: np.ndarray, layer: np.ndarray, truth: np.ndarray) -> np.ndarray:
    import cv2

    out = frame.copy()
    out[layer] = (0.5 * out[layer] + [127, 0, 0]).astype(np.uint8)
    edge = cv2.morphologyEx(truth.astype(np.uint8), cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)).astype(bool)
    out[edge] = (0, 255, 0)
    return out


def run_case(case: str, args: argparse.Namespace) -> dict[str, Any]:
    import cv2

    name, kind = case.split(":")
    clip = DAVIS / name
    shot, made = reconstruct(clip, kind, args.work)
    frames_total = len(_masks(clip))
    out: dict[str, Any] = {"clip": name, "prompt": kind, "frames": frames_total, **made,
                           "secs_per_frame": made["seconds"] / max(frames_total, 1)}
    out["scene"] = made["returncode"] == 0 and (shot / "scene.usda").is_file()
    if not out["scene"]:
        out["failure"] = made["stderr_tail"]
        return out
    report = json.loads((shot / "report.json").read_text())
    solve = report.get("camera_solve") or {}
    out["solver"] = solve.get("backend")
    out["flags"] = list(solve.get("flags") or [])
    objects = report.get("objects") or []
    subject = next((o for o in objects if o["name"] == "subject"), None)
    if subject is None:
        out["layer_j"] = 0.0
        out["failure"] = "no object layer for the subject"
        return out
    out["static"] = bool(subject.get("static"))
    layers = layer_silhouettes(shot, "subject")
    layer_j, tracked_j, picks = [], [], []
    for path in _masks(clip)[1:]:
        number = int(path.stem)
        truth = _truth(path)
        layer = _resized(layers.get(number, np.zeros(truth.shape, bool)), truth.shape)
        instance = cv2.imread(str(shot / "run" / "instances" / f"{number:06d}.png"), cv2.IMREAD_UNCHANGED)
        tracked = _resized(instance == int(subject["instance_id"]), truth.shape) if instance is not None else np.zeros_like(truth)
        layer_j.append(_iou(layer, truth))
        tracked_j.append(_iou(tracked, truth))
        picks.append((number, layer, truth))
    out.update({"layer_j": float(np.mean(layer_j)), "tracked_j": float(np.mean(tracked_j)),
                "layer_j_first_half": float(np.mean(layer_j[: len(layer_j) // 2])),
                "layer_j_second_half": float(np.mean(layer_j[len(layer_j) // 2:]))})
    out["gap_to_2d"] = out["tracked_j"] - out["layer_j"]
    folder = args.out / "footage"
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for number, layer, truth in (picks[0], picks[len(picks) // 2], picks[-1]):
        image = cv2.imread(str(clip / "frames" / f"{number:05d}.jpg"))
        if image is not None:
            rows.append(_overlay(image[..., ::-1], layer, truth))
    if rows:
        strip = np.concatenate(rows, axis=1)
        path = folder / f"{name}-{kind}.png"
        cv2.imwrite(str(path), cv2.resize(strip, None, fx=0.5, fy=0.5)[..., ::-1])
        out["overlay"] = str(path)
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for the shots (default: a temporary folder, removed after); a shot found there "
                             "made with the same arguments is reused")


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> Report:
    table = print_table(
        "Creator footage (DAVIS-2016, subject prompted on frame 0): does a scene come out, and does the subject's "
        "USD layer sit on it (layer J: the layer alone through the plate camera vs the annotation; 2D J: the "
        "reconstruction's own masks; frames 1…N-1)",
        results,
        [("case", "case"), ("scene", "scene"), ("solver", "solver"), ("flags", "flags"), ("static", "static"),
         ("layer_j", "layer J"), ("tracked_j", "2D J"), ("gap_to_2d", "gap"), ("layer_j_second_half", "J 2nd half"),
         ("secs_per_frame", "s/frame"), ("reconstruct_peak_mb", "peak MB"), ("failure", "failure"), ("error", "error")],
    )
    by_case = {r["case"]: r for r in results}
    verdict: dict[str, bool] = {}
    ran = [r for r in results if r.get("ok")]
    if ran:
        verdict["every_clip_gives_a_scene"] = all(r.get("scene") for r in ran)
    for clip in TARGET_CLIPS:
        for kind, target in (("mask", TARGETS["layer_j_mask"]), ("box", TARGETS["layer_j_box"])):
            r = by_case.get(f"{clip}:{kind}")
            if r and r.get("ok") and r.get("layer_j") is not None:
                verdict[f"{clip}_{kind}_layer_j_ge_{target}"] = r["layer_j"] >= target
                if r.get("gap_to_2d") is not None:
                    verdict[f"{clip}_{kind}_within_{TARGETS['gap_to_2d']}_of_2d"] = r["gap_to_2d"] <= TARGETS["gap_to_2d"]
    return Report([table], targets=verdict, also=f" and overlays in {args.out / 'footage'}")


BENCHMARK = Benchmark(
    name="footage", module="tests.bench.bench_footage", description=__doc__, cases=CASES, run_case=run_case, report=report,
    add_arguments=add_arguments, forward=("--work",), around_cases=work_folder("bench_footage_"),
    data_folder=lambda case: DAVIS / case.split(":")[0],
)

if __name__ == "__main__":
    sys.exit(main(BENCHMARK))
