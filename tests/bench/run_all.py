"""Run every benchmark: each prints its table and writes JSON under ``--out``.

    python -m tests.bench.run_all --out bench_results
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.bench import (
    bench_batch, bench_camera, bench_composite, bench_depth, bench_edit, bench_footage, bench_geometry, bench_lighting, bench_neural,
    bench_objects, bench_people, bench_viewer, bench_probe, bench_render, bench_scale, bench_tracking,
)
from tests.bench._harness import main as run_benchmark

BENCHMARKS = {
    b.name: b
    for b in (
        bench_camera.BENCHMARK, bench_depth.BENCHMARK, bench_geometry.BENCHMARK, bench_scale.BENCHMARK, bench_render.BENCHMARK,
        bench_tracking.BENCHMARK, bench_objects.BENCHMARK, bench_footage.BENCHMARK, bench_edit.BENCHMARK,
        bench_composite.BENCHMARK, bench_probe.BENCHMARK, bench_lighting.BENCHMARK, bench_people.BENCHMARK,
        bench_neural.BENCHMARK, bench_viewer.BENCHMARK, bench_batch.BENCHMARK,
    )
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("bench_results"), help="folder for the JSON results")
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), help="run only these benchmarks")
    args = parser.parse_args(argv)
    status = 0
    for name in args.only or BENCHMARKS:
        print(f"== benchmark: {name}", flush=True)
        status |= run_benchmark(BENCHMARKS[name], ["--out", str(args.out)])
    return status


if __name__ == "__main__":
    sys.exit(main())
