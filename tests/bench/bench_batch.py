"""Scale-out benchmark: four short shots reconstructed one after another, in a local process
pool and on a local Ray cluster; one edited shot rendered in one process, in frame ranges on
the process pool and on Ray; and the per-stage times measured here projected onto N workers.

Shots: four pieces of 7-Scenes kitchen (``../shared/data/7scenes_kitchen``, handheld, real
parallax): frames 0–80, 80–160, 160–240 and 240–300, every 2nd at ``--max-size 320`` (40, 40,
40 and 30 frames); without the data, four 36-frame pieces of the demo room.

- ``serial``: ``sceneforge batch`` with the local executor and one worker (a shot at a time);
- ``pool``: the local executor, two workers (one per core here);
- ``ray``: ``--executor ray`` on a two-CPU cluster this process starts (its start-up is
  measured on its own); each shot's depth frames are spread over the cluster too;
- ``render-serial`` / ``render-local`` / ``render-ray``: the first shot of ``serial`` with its
  first object deleted, composited to MP4 in one process, then in two frame ranges.

Memory is the peak of the whole process tree (the case, its pool or Ray workers and Ray's own
daemons), sampled every 0.2 s. The projection (printed last, and in the README's scale-out
section) takes each shot's stage times from ``serial`` and splits them into what stays
sequential in a shot (reading, people, camera solve, objects, background, light probe, USD)
and what runs frame-parallel (depth and its check; rendering), and schedules them on N
workers (longest shot first); Ray's per-task overhead is the measured ``ray`` - ``pool``
difference spread over its tasks.

    python -m tests.bench.bench_batch --out bench_results [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from tests.bench._common import ROOT, SHARED_DATA
from tests.bench._harness import Benchmark, Report, main, print_table, work_folder

CASES = ["serial", "pool", "ray", "render-serial", "render-local", "render-ray"]
KITCHEN = SHARED_DATA / "7scenes_kitchen"
KITCHEN_PIECES = ((0, 80), (80, 160), (160, 240), (240, 300))
OPTIONS = ["--max-size", "320", "--stride", "2", "--texture-size", "512"]
PARALLEL_STAGES = ("depth", "depth_static")
"""Stages of the report's timings that run frame-parallel on Ray; the rest stay sequential in a shot."""
WORKERS = (1, 2, 4, 8, 16, 32, 64)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--work", type=Path, default=None, help="folder for the shots (default: a temporary one)")


def _shot_list(work: Path) -> Path:
    path = work / "shots.txt"
    if KITCHEN.is_dir():
        lines = [f"{KITCHEN} --name kitchen{i} --pattern '*.color.jpg' --start {a} --end {b}"
                 for i, (a, b) in enumerate(KITCHEN_PIECES)]
    else:
        clip = ROOT / "assets" / "demo" / "room.mp4"
        lines = [f"{clip} --name room{i} --start {36 * i} --end {36 * (i + 1)}" for i in range(4)]
    path.write_text("\n".join(lines) + "\n")
    return path


class _TreeMemory:
    """Peak resident memory of this process and all its descendants, sampled in a thread."""

    def __init__(self) -> None:
        import psutil

        self._root = psutil.Process()
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            for proc in [self._root, *self._root.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
            self.peak_mb = max(self.peak_mb, total / 1024**2)
            self._stop.wait(0.2)

    def __enter__(self) -> _TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _cli(*argv: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "sceneforge.engine.cli", *argv], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"sceneforge {' '.join(argv[:2])} failed: {done.stderr.strip()[-2000:]}")
    return done


def _batch_case(case: str, args: argparse.Namespace) -> dict[str, Any]:
    from sceneforge.engine.executors import make_executor
    from sceneforge.engine.pipeline import run_batch
    from sceneforge.engine.cli._batch import read_shots
    from sceneforge.engine.cli._parser import build_parser

    out = args.work / case
    shots = read_shots(build_parser().parse_args(["batch", str(_shot_list(args.work)), "-o", str(out), "--force", *OPTIONS]))
    result: dict[str, Any] = {"shots": len(shots)}
    with _TreeMemory() as memory:
        start = time.perf_counter()
        executor = make_executor("ray" if case == "ray" else "local", workers=1 if case == "serial" else 2)
        if case == "ray":
            result["cluster_cpus"] = executor.workers  # starts the cluster
            result["ray_start_secs"] = time.perf_counter() - start
        try:
            batch = run_batch(shots, out, executor=executor, force=True)
        finally:
            executor.close()
        result["wall_secs"] = time.perf_counter() - start
    result["peak_tree_memory_mb"] = memory.peak_mb
    result["failed"] = list(batch.failed)
    result["per_shot"] = []
    for shot in batch.shots:
        report = json.loads((out / shot.name / "report.json").read_text()) if shot.status == "done" else {}
        result["per_shot"].append({
            "name": shot.name, "frames": shot.frames, "seconds": shot.seconds, "solve_error_px": shot.solve_error_px,
            "depth_coverage": shot.depth_coverage, "objects": shot.objects, "stages": report.get("stage_timings_secs", {}),
        })
    return result


def _render_case(case: str, args: argparse.Namespace) -> dict[str, Any]:
    import shutil

    source = sorted(p for p in (args.work / "serial").iterdir() if (p / "scene.usda").exists())[0]
    shot = args.work / "render_shot"
    if not shot.exists():
        shutil.copytree(source, shot)
        objects = json.loads((shot / "report.json").read_text())["objects"]
        if objects:
            _cli("edit", str(shot), "delete", objects[0]["name"])
    extra = {"render-serial": [], "render-local": ["--executor", "local", "--workers", "2"],
             "render-ray": ["--executor", "ray", "--workers", "2"]}[case]
    with _TreeMemory() as memory:
        start = time.perf_counter()
        _cli("-q", "render", str(shot), "-o", str(args.work / f"{case}.mp4"), "--force", *extra)
        wall = time.perf_counter() - start
    import av

    with av.open(str(args.work / f"{case}.mp4")) as container:
        frames = sum(1 for _ in container.decode(video=0))
    result = {"shot": shot.name, "frames": frames, "wall_secs": wall, "peak_tree_memory_mb": memory.peak_mb}
    if case == "render-serial":
        # one frame: what a range pays before its first frame (the process, the plate, the unedited renders)
        first = json.loads((shot / "report.json").read_text())["frames"]["first"]
        start = time.perf_counter()
        _cli("-q", "render", str(shot), "-o", str(args.work / "one"), "--format", "png", "--force", "--start", str(first),
             "--end", str(first + 1))
        one = time.perf_counter() - start
        result["per_frame_secs"] = max(0.0, (wall - one) / max(frames - 1, 1))
        result["setup_secs"] = max(0.0, one - result["per_frame_secs"])
    return result


def run_case(case: str, args: argparse.Namespace) -> dict[str, Any]:
    return _render_case(case, args) if case.startswith("render") else _batch_case(case, args)


def _lpt(durations: list[float], workers: int) -> float:
    """Makespan of independent jobs on ``workers`` machines, longest first onto the least loaded."""
    loads = [0.0] * workers
    for d in sorted(durations, reverse=True):
        loads[loads.index(min(loads))] += d
    return max(loads)


def project(per_shot: list[dict[str, Any]], render: dict[str, float], ray_overhead_secs: float) -> list[dict[str, Any]]:
    """The measured stage times scheduled on N workers (see the module docstring).

    - one shot alone (the longest measured): sequential stages, then depth and its render on
      min(N, frames) workers each, plus Ray's task overhead per wave;
    - a season of 100 shots (the four measured, 25 times each): shots packed onto N workers
      (the pool; Ray adds its overhead per shot); a shot's frames only spread out when
      workers outnumber the shots, which never happens at N ≤ 64.
    """
    shots = [(sum(v for k, v in s["stages"].items() if k not in PARALLEL_STAGES),
              sum(v for k, v in s["stages"].items() if k in PARALLEL_STAGES), s["frames"] or 1) for s in per_shot]
    longest = max(shots, key=lambda s: s[0] + s[1])
    per_frame_render = render["per_frame_secs"]
    rows = []
    season = shots * 25
    for n in WORKERS:
        seq, par, frames = longest
        lanes = min(n, frames)
        one = seq + par / lanes + render["setup_secs"] + per_frame_render * frames / lanes + (ray_overhead_secs if n > 1 else 0.0)
        pool = _lpt([s + p + render["setup_secs"] + per_frame_render * f for s, p, f in season], n)
        ray_season = _lpt([s + p + render["setup_secs"] + per_frame_render * f + ray_overhead_secs for s, p, f in season], n)
        rows.append({
            "workers": n, "one_shot_secs": one, "one_shot_speedup": (seq + par + render["setup_secs"] + per_frame_render * frames) / one,
            "season_pool_min": pool / 60, "season_ray_min": ray_season / 60,
            "season_speedup": _lpt([s + p + render["setup_secs"] + per_frame_render * f for s, p, f in season], 1) / pool,
        })
    return rows


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> Report:
    ok = {r["case"]: r for r in results if r.get("ok")}
    batch_rows = [r for r in results if not r["case"].startswith("render")]
    tables = [print_table(
        "Four short shots (batch): wall time and peak memory of the whole process tree",
        batch_rows,
        [("case", "case"), ("shots", "shots"), ("wall_secs", "wall s"), ("ray_start_secs", "Ray start s"),
         ("peak_tree_memory_mb", "peak tree MB"), ("failed", "failed")],
    )]
    if "serial" in ok:
        rows = []
        for shot in ok["serial"]["per_shot"]:
            stages = shot["stages"]
            par = sum(v for k, v in stages.items() if k in PARALLEL_STAGES)
            rows.append({**shot, "sequential_secs": sum(stages.values()) - par, "parallel_secs": par})
        tables.append(print_table(
            "Per shot (serial case): quality and what stays sequential vs runs frame-parallel",
            rows,
            [("name", "shot"), ("frames", "frames"), ("solve_error_px", "solve px"), ("depth_coverage", "depth cov."),
             ("objects", "objects"), ("seconds", "shot s"), ("sequential_secs", "sequential s"), ("parallel_secs", "depth s")],
        ))
    render_rows = [r for r in results if r["case"].startswith("render")]
    tables.append(print_table(
        "One edited shot composited to MP4: one process vs two frame ranges",
        render_rows, [("case", "case"), ("frames", "frames"), ("wall_secs", "wall s"), ("setup_secs", "setup s"),
                      ("per_frame_secs", "s/frame"), ("peak_tree_memory_mb", "peak tree MB")],
    ))
    extra: dict[str, Any] = {}
    if {"serial", "pool", "ray", "render-serial"} <= set(ok):
        shots = ok["serial"]["per_shot"]
        tasks = sum(1 + 4 for _ in shots)  # a shot's task and its depth / check ranges (two each on two CPUs)
        overhead = max(0.0, (ok["ray"]["wall_secs"] - ok["ray"].get("ray_start_secs", 0.0) - ok["pool"]["wall_secs"])) / max(tasks, 1)
        serial_render = ok["render-serial"]
        render = {"setup_secs": serial_render["setup_secs"], "per_frame_secs": serial_render["per_frame_secs"]}
        rows = project(shots, render, overhead * 5)
        extra["projection"] = {"ray_overhead_per_task_secs": overhead, "render": render, "rows": rows}
        tables.append(print_table(
            "Projection onto N workers (stage times of 'serial'; 'one shot' = the longest, frame-parallel on Ray; "
            "season = 100 shots)",
            rows,
            [("workers", "N"), ("one_shot_secs", "one shot s"), ("one_shot_speedup", "speed-up"),
             ("season_pool_min", "season pool min"), ("season_ray_min", "season Ray min"), ("season_speedup", "season speed-up")],
        ))
    checks = {f"{r['case']} completed": not r.get("failed") for r in batch_rows if r.get("ok")}
    return Report([t for t in tables if t], checks=checks, extra=extra)


BENCHMARK = Benchmark(
    name="batch", module="tests.bench.bench_batch", description=__doc__, cases=CASES, run_case=run_case, report=report,
    add_arguments=_add_arguments, forward=("--work",), prerequisites=frozenset({"serial"}),
    around_cases=work_folder("sceneforge-bench-batch-"),
)

if __name__ == "__main__":
    sys.exit(main(BENCHMARK))
