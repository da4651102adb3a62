"""Run every benchmark: each prints its table and writes JSON under ``--out``.

    python -m tests.bench.run_all --out bench_results
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tests.bench import bench_camera, bench_depth, bench_edit, bench_geometry, bench_objects, bench_render, bench_tracking

BENCHMARKS = {
    "camera": bench_camera.main,
    "depth": bench_depth.main,
    "geometry": bench_geometry.main,
    "render": bench_render.main,
    "tracking": bench_tracking.main,
    "objects": bench_objects.main,
    "edit": bench_edit.main,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("bench_results"), help="folder for the JSON results")
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), help="run only these benchmarks")
    args = parser.parse_args(argv)
    status = 0
    for name in args.only or BENCHMARKS:
        print(f"== benchmark: {name}", flush=True)
        status |= BENCHMARKS[name](["--out", str(args.out)])
    return status


if __name__ == "__main__":
    sys.exit(main())
