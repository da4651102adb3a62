"""Neural backends on the CPU: time and peak memory per frame, and how they grow with the clip.

No weights ship with SceneForge and none can be fetched here, so each backend runs on a tiny,
randomly initialised model of its real architecture, built by the tests' own builders and
loaded by path through the backend's real loading code (VGGT through the stand-in package
that honours its documented output contract). The numbers measure our plumbing —
preprocessing, batching, chunking, propagation, alignment — not the cost of the real
networks, which are 10²–10⁴ times larger. The person model is the real one (MediaPipe selfie
segmentation, bundled).

A case is ``BACKEND:FRAMES``; each runs in its own process (its own peak memory):

- ``depth-anything``, ``depth-pro``, ``prompt-depth-anything``: depth for every frame of 7-Scenes
  kitchen at 320×240, aligned to sparse points back-projected from the Kinect depth of a few
  frames (the ground-truth poses stand in for a solve);
- ``sam2``: a box on the first kitchen frame tracked through the clip; ``sam3``: a text prompt
  found on the first frame and tracked;
- ``people``: the person model and the people linking on the kitchen frames;
- ``vggt``: the stand-in solve of a synthetic 160×120 clip in chunks of 8 frames (overlap 2),
  bundle adjustment included: memory must stay flat as the clip grows. The stand-in itself keeps
  the whole clip as its "weights" (and resamples it on every call), so the process peak grows
  with the clip; the Python/numpy peak of our own chunking, stitching and adjustment is traced
  apart (tracemalloc, a second run).

Reported: model load seconds, milliseconds per frame, peak memory of the process, and per
backend the growth of peak memory from the short clip to the long one.

    python -m tests.bench.bench_neural --out bench_results
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

from tests.bench._common import SHARED_DATA
from tests.bench._harness import Benchmark, Report, main, print_table

KITCHEN = SHARED_DATA / "7scenes_kitchen"
SHORT, LONG = 8, 32
KITCHEN_BACKENDS = ("depth-anything", "depth-pro", "prompt-depth-anything", "sam2", "sam3", "people")
CASES = [f"{b}:{n}" for b in KITCHEN_BACKENDS for n in (SHORT, LONG)] + [f"vggt:{n}" for n in (16, 48)]


def _kitchen(num: int):
    """The first ``num`` kitchen frames at 320×240 and a camera track of their true poses with
    sparse points back-projected from the Kinect depth."""
    from PIL import Image

    from sceneforge.reconstruct import read_frames
    from sceneforge.scenegraph import CameraTrack, FrameStatus, Intrinsics, SparsePoints

    frames = read_frames(KITCHEN, end=num, max_size=320, pattern="*.color.jpg")
    k = np.array([[585.0, 0, 320.0], [0, 585.0, 240.0], [0, 0, 1.0]]) * np.array([[0.5], [0.5], [1.0]])
    intrinsics = Intrinsics(K=k, width=frames.width, height=frames.height)
    poses = np.stack([np.loadtxt(KITCHEN / f"frame-{int(i):06d}.pose.txt") for i in frames.frame_numbers])
    u, _, vt = np.linalg.svd(poses[:, :3, :3])  # the dataset's rotations are orthonormal only to ~1e-4
    poses[:, :3, :3] = u @ vt
    rng = np.random.default_rng(0)
    points = []
    for i in range(0, num, max(1, num // 4)):
        depth = np.asarray(Image.open(KITCHEN / f"frame-{int(frames.frame_numbers[i]):06d}.depth.png")).astype(np.float64) / 1000
        depth = depth[::2, ::2]
        rows, cols = np.nonzero((depth > 0.3) & (depth < 6))
        pick = rng.choice(len(rows), size=min(400, len(rows)), replace=False)
        z = depth[rows[pick], cols[pick]]
        in_cam = np.stack([(cols[pick] + 0.5 - k[0, 2]) / k[0, 0] * z, (rows[pick] + 0.5 - k[1, 2]) / k[1, 1] * z, z], 1)
        points.append(in_cam @ poses[i][:3, :3].T + poses[i][:3, 3])
    world = np.concatenate(points)
    sparse = SparsePoints(points_in_world=world, colors=np.full((len(world), 3), 128, np.uint8), error_px=np.zeros(len(world)))
    track = CameraTrack(
        intrinsics=(intrinsics,) * num, world_from_cam=poses, frame_numbers=frames.frame_numbers, fps=frames.fps,
        status=np.full(num, FrameStatus.SOLVED, np.int8), points=sparse,
    )
    return frames, track


def _timed(load, run, num: int) -> dict[str, Any]:
    started = time.perf_counter()
    backend = load()
    loaded = time.perf_counter()
    output = run(backend)
    done = time.perf_counter()
    return {"frames": num, "load_secs": loaded - started, "ms_per_frame": 1000 * (done - loaded) / num, "output": output}


def run_case(case: str, args: argparse.Namespace) -> dict[str, Any]:
    backend, _, count = case.partition(":")
    num = int(count)
    with tempfile.TemporaryDirectory(prefix="sf-neural-") as tmp:
        folder = Path(tmp)
        if backend == "vggt":
            result = _run_vggt(folder, num)
        else:
            frames, track = _kitchen(num)
            result = _run_kitchen(backend, folder, frames, track)
    result.pop("output", None)
    return {"backend": backend, **result}


def _run_kitchen(backend: str, folder: Path, frames, track) -> dict[str, Any]:
    num = len(frames)
    if backend in ("depth-anything", "depth-pro", "prompt-depth-anything"):
        from sceneforge.reconstruct.depth import MonoDepthConfig
        from tests.reconstruct._tiny_depth_models import save_tiny_depth_model

        model = save_tiny_depth_model(folder / "model", backend)
        # each map is measured and dropped as it comes (the pipeline writes it to disk): the
        # backend's own memory, not the outputs', is what must not grow with the clip
        result = _timed(
            lambda: MonoDepthConfig(family=backend, model=str(model)).build(),
            lambda b: [float((d.depth > 0).mean()) for _, d in b.estimate(frames, track)], num,
        )
        result["depth_coverage"] = float(np.mean(result["output"]))
        return result
    if backend in ("sam2", "sam3"):
        from sceneforge.reconstruct.objects import ObjectPrompt, Sam2SegmenterConfig, Sam3SegmenterConfig
        from tests.reconstruct._tiny_sam_models import save_tiny_sam2, save_tiny_sam3

        if backend == "sam2":
            config = Sam2SegmenterConfig(model=str(save_tiny_sam2(folder / "model")))
            prompt = ObjectPrompt(name="thing", frame=0, box=(100.0, 80.0, 220.0, 200.0))
        else:
            config = Sam3SegmenterConfig(model=str(save_tiny_sam3(folder / "model")), detection_threshold=0.0)
            prompt = ObjectPrompt(name="thing", frame=0, text="the kettle")
        return _timed(config.build, lambda b: b.track_prompt(frames, prompt), num)
    if backend == "people":
        from sceneforge.reconstruct.objects import PeopleProposerConfig

        result = _timed(
            lambda: PeopleProposerConfig(with_geometry=False).build(), lambda b: b.propose_people(frames), num
        )
        result["people_found"] = len(result["output"])
        return result
    raise ValueError(f"unknown backend {backend!r}")


def _run_vggt(folder: Path, num: int) -> dict[str, Any]:
    import resource

    from safetensors.torch import save_file

    from sceneforge.reconstruct.camera import VGGTSolverConfig
    from sceneforge.scenegraph import Frames
    from tests.reconstruct.camera._vggt_standin import render_scene, standin_state, write_standin_package

    scene = render_scene(n=num, width=160, height=120)
    write_standin_package(folder / "site", num_frames=num, height=120, width=160)
    sys.path.insert(0, str(folder / "site"))
    save_file(standin_state(scene, rot_noise=0.005, trans_noise=0.01, focal_noise=0.01), str(folder / "vggt.safetensors"))
    standin_mb = sum(v.nbytes for v in standin_state(scene).values() if hasattr(v, "nbytes")) / 2**20
    frames = Frames(images=scene["images"], fps=24.0, frame_numbers=np.arange(num))
    before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    config = VGGTSolverConfig(model=str(folder / "vggt.safetensors"), resolution=168, chunk_size=8, overlap=2)
    result = _timed(config.build, lambda b: b.solve(frames), num)
    result["standin_weights_mb"] = standin_mb
    result["peak_before_solve_mb"] = before_mb
    result["reprojection_px"] = float(result["output"].report.mean_error_px)
    # The process peak includes the oracle's torch buffers, which hold the whole clip; the
    # Python and numpy memory of our own chunking, stitching and adjustment is traced apart.
    tracemalloc.start()
    config.build().solve(frames)
    result["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> Report:
    by = {(r.get("backend"), r.get("frames")): r for r in results if r.get("ok", True)}
    for r in results:
        backend = r.get("backend")
        lengths = sorted(n for (b, n) in by if b == backend)
        if len(lengths) == 2 and r.get("frames") == lengths[1]:
            short = by[(backend, lengths[0])]
            r["growth_mb"] = r.get("peak_memory_mb", 0) - short.get("peak_memory_mb", 0)
            if backend == "vggt":
                r["traced_growth_mb"] = r["traced_peak_mb"] - short["traced_peak_mb"]
    table = print_table(
        "Neural backends on the CPU with tiny random models (the real networks cost far more): per frame, and "
        "peak memory as the clip grows",
        results,
        [("case", "case"), ("load_secs", "load s"), ("ms_per_frame", "ms/frame"), ("peak_memory_mb", "peak MB"),
         ("growth_mb", "growth MB"), ("traced_peak_mb", "numpy peak MB"), ("traced_growth_mb", "numpy growth MB"),
         ("depth_coverage", "depth cover"), ("reprojection_px", "reproj px"), ("people_found", "people")],
    )
    return Report([table])


BENCHMARK = Benchmark(
    name="neural", module="tests.bench.bench_neural", description=__doc__, cases=CASES, run_case=run_case, report=report,
    data_folder=lambda case: None if case.startswith("vggt") else KITCHEN,
)

if __name__ == "__main__":
    sys.exit(main(BENCHMARK))
