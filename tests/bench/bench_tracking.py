"""Object tracking benchmark: DAVIS-2016 sequences (bear, blackswan, car-shadow; 854×480).

For each sequence the object is prompted on the first frame, once with its ground-truth
mask and once with only that mask's bounding box (segmented by the default single-frame
backend), and tracked through every frame by the default tracker. Reported, per sequence
and as the mean over sequences, with the DAVIS conventions:

- J, region similarity: mean IoU with the ground truth over the frames, excluding the first
  (prompt) frame;
- F, boundary accuracy: the boundary F-measure, boundaries matched within a tolerance of
  0.8% of the image diagonal (8 px at 854×480), same frames;
- the prompt frame's own IoU (box prompts only: how good the box's cut was);
- seconds per frame of tracking (excluding the prompt's segmentation) and the prompt
  frame's segmentation time; peak memory of the case's process.

The machine's load average is recorded with each case: the CPU is shared, and timings
taken beside another job are slower. A few overlays (mask tinted red, ground-truth boundary
green) are written to ``OUT/tracking/`` for a person to look at.

    python -m tests.bench.bench_tracking --out bench_results
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

from tests.bench._common import SHARED_DATA
from tests.bench._harness import Benchmark, Report, main, print_table

DAVIS = SHARED_DATA / "davis"
SEQUENCES = ["bear", "blackswan", "car-shadow"]
PROMPTS = ["mask", "box"]
CASES = [f"{seq}:{prompt}" for prompt in PROMPTS for seq in SEQUENCES]
TARGETS = {"mean_j_mask": 0.70, "mean_j_box": 0.60, "secs_per_frame": 0.5}
BOUNDARY_TOLERANCE = 0.008
"""DAVIS's boundary tolerance, as a share of the image diagonal."""


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """One-pixel-wide boundary of a bool mask: pixels whose label differs from their right,
    lower or lower-right neighbour (the DAVIS convention, at the mask's own resolution)."""
    m = mask.astype(bool)
    right = np.zeros_like(m)
    below = np.zeros_like(m)
    diagonal = np.zeros_like(m)
    right[:, :-1] = m[:, 1:]
    below[:-1, :] = m[1:, :]
    diagonal[:-1, :-1] = m[1:, 1:]
    edge = (m ^ right) | (m ^ below) | (m ^ diagonal)
    # the last row and column have no neighbour beyond the image: compare within the image only
    edge[-1, :] = m[-1, :] ^ right[-1, :]
    edge[:, -1] = m[:, -1] ^ below[:, -1]
    edge[-1, -1] = False
    return edge


def region_similarity(estimate: np.ndarray, truth: np.ndarray) -> float:
    """J: intersection over union (1 when both masks are empty)."""
    union = np.logical_or(estimate, truth).sum()
    return 1.0 if union == 0 else float(np.logical_and(estimate, truth).sum() / union)


def boundary_f_measure(estimate: np.ndarray, truth: np.ndarray, tolerance: float = BOUNDARY_TOLERANCE) -> float:
    """F: harmonic mean of boundary precision and recall, a boundary pixel counting as matched
    when the other boundary lies within ``ceil(tolerance × diagonal)`` pixels (a disc)."""
    import cv2

    radius = int(np.ceil(tolerance * np.hypot(*truth.shape)))
    offsets = np.arange(-radius, radius + 1)
    disc = (offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius**2).astype(np.uint8)
    est_b, true_b = boundary_map(estimate), boundary_map(truth)
    n_est, n_true = int(est_b.sum()), int(true_b.sum())
    if n_est == 0 and n_true == 0:
        return 1.0
    if n_est == 0 or n_true == 0:
        return 0.0
    near_true = cv2.dilate(true_b.astype(np.uint8), disc) > 0
    near_est = cv2.dilate(est_b.astype(np.uint8), disc) > 0
    precision = (est_b & near_true).sum() / n_est
    recall = (true_b & near_est).sum() / n_true
    return 0.0 if precision + recall == 0 else float(2 * precision * recall / (precision + recall))


def load_sequence(name: str):
    """The sequence's frames (Frames, as the pipeline reads them) and N×H×W bool ground truth."""
    import cv2

    from sceneforge.reconstruct import read_frames

    folder = DAVIS / name
    frames = read_frames(folder / "frames", max_size=None, pattern="*.jpg")
    paths = sorted((folder / "masks").glob("*.png"))
    truth = np.stack([cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) > 127 for p in paths])
    if truth.shape != (len(frames), frames.height, frames.width):
        raise RuntimeError(f"{name}: {truth.shape} masks for {len(frames)} frames of {frames.width}×{frames.height}")
    return frames, truth


def bounding_box(mask: np.ndarray) -> tuple[float, float, float, float]:
    """Tight ``(x0, y0, x1, y1)`` box of a mask in pixel coordinates (edges of the pixels)."""
    rows, cols = np.nonzero(mask)
    return float(cols.min()), float(rows.min()), float(cols.max() + 1), float(rows.max() + 1)


def overlay(image: np.ndarray, mask: np.ndarray, truth: np.ndarray | None = None) -> np.ndarray:
    """RGB uint8: the mask tinted red over the frame, the true boundary in green."""
    import cv2

    out = image.copy()
    out[mask] = (0.5 * out[mask] + np.array([127, 0, 0])).astype(np.uint8)
    if truth is not None:
        edge = cv2.dilate(boundary_map(truth).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        out[edge] = (0, 255, 0)
    return out


def run_case(case: str, args: argparse.Namespace) -> dict[str, Any]:
    import cv2

    from sceneforge.reconstruct import FlowTrackerConfig, GraphCutSegmenterConfig, ObjectPrompt

    sequence, kind = case.split(":")
    frames, truth = load_sequence(sequence)
    start = time.perf_counter()
    if kind == "mask":
        prompt_mask = truth[0]
    else:
        segmenter = GraphCutSegmenterConfig().build()
        segmenter.set_image(frames.images[0], neighbour=frames.images[1])
        prompt_mask = segmenter.segment(ObjectPrompt(sequence.replace("-", "_"), frame=0, box=bounding_box(truth[0]))).best
    segment_secs = time.perf_counter() - start
    start = time.perf_counter()
    tracked = FlowTrackerConfig().build().track(frames, prompt_mask, 0, name=sequence.replace("-", "_"))
    track_secs = time.perf_counter() - start
    per_frame = []
    for i in range(len(frames)):
        per_frame.append({
            "frame": i,
            "j": region_similarity(tracked.masks[i], truth[i]),
            "f": boundary_f_measure(tracked.masks[i], truth[i]),
            "quality": float(tracked.quality[i]),
            "motion": tracked.motion[i],
        })
    scored = per_frame[1:]  # DAVIS excludes the prompt frame
    picture_dir = args.out / "tracking"
    picture_dir.mkdir(parents=True, exist_ok=True)
    picks = np.linspace(0, len(frames) - 1, 4).round().astype(int)
    strip = np.concatenate([overlay(frames.images[i], tracked.masks[i], truth[i]) for i in picks], axis=1)
    strip = cv2.resize(strip, (strip.shape[1] // 2, strip.shape[0] // 2), interpolation=cv2.INTER_AREA)
    picture = picture_dir / f"{sequence}_{kind}.png"
    cv2.imwrite(str(picture), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
    return {
        "sequence": sequence,
        "prompt": kind,
        "frames": len(frames),
        "width": frames.width,
        "height": frames.height,
        "j": float(np.mean([r["j"] for r in scored])),
        "f": float(np.mean([r["f"] for r in scored])),
        "j_last": scored[-1]["j"],
        "prompt_iou": per_frame[0]["j"],
        "held_frames": sum(r["motion"] == "held" for r in scored),
        "lost_frames": sum(r["motion"] == "lost" for r in scored),
        "segment_secs": segment_secs,
        "secs_per_frame": track_secs / max(1, len(frames) - 1),
        "overlay": str(picture),
        "per_frame": per_frame,
    }


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> Report:
    summary = []
    for kind in PROMPTS:
        done = [r for r in results if r.get("ok") and r["prompt"] == kind]
        if done:
            summary.append({
                "case": f"mean:{kind}", "sequence": "mean", "prompt": kind,
                **{k: float(np.mean([r[k] for r in done])) for k in ("j", "f", "prompt_iou", "secs_per_frame", "segment_secs")},
            })
    rows = results + summary
    tables = [print_table(
        "Tracking on DAVIS-2016 from the first frame's mask or its box (J = mean IoU, F = boundary F-measure "
        "at 0.8% of the diagonal; both over frames 1…N-1; s/frame = tracking only)",
        rows,
        [("case", "case"), ("frames", "frames"), ("j", "J"), ("f", "F"), ("j_last", "J last"),
         ("prompt_iou", "prompt IoU"), ("held_frames", "held"), ("lost_frames", "lost"),
         ("secs_per_frame", "s/frame"), ("segment_secs", "prompt s"), ("peak_memory_mb", "peak MB"),
         ("load_average_at_start", "load"), ("error", "error")],
    )]
    verdict: dict[str, bool] = {}
    by_case = {r["case"]: r for r in rows}
    complete = all(r.get("ok") for r in results) and len(results) == len(CASES)
    if complete:
        verdict["mean_j_from_mask_ge_0.70"] = by_case["mean:mask"]["j"] >= TARGETS["mean_j_mask"]
        verdict["mean_j_from_box_ge_0.60"] = by_case["mean:box"]["j"] >= TARGETS["mean_j_box"]
        worst = max(r["secs_per_frame"] for r in results)
        verdict["secs_per_854x480_frame_le_0.5"] = worst <= TARGETS["secs_per_frame"]
    return Report(tables, targets=verdict, extra={"summary": summary}, also=f" and overlays in {args.out / 'tracking'}")


BENCHMARK = Benchmark(
    name="tracking", module="tests.bench.bench_tracking", description=__doc__, cases=CASES, run_case=run_case, report=report,
    data_folder=lambda case: DAVIS / case.split(":")[0],
)

if __name__ == "__main__":
    sys.exit(main(BENCHMARK))
