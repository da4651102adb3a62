"""The one harness every benchmark runs on: its arguments, one child process per case (for
that case's own peak memory and wall time), the printed tables and the JSON.

A benchmark module describes itself as a :class:`Benchmark` and ends with
``sys.exit(main(BENCHMARK))``. Run plainly, :func:`main` runs every selected case as
``python -m <module> --case CASE --result OUT/cases/<name>-<case>.json --out OUT [forwarded options]``,
then hands the results to the benchmark's ``report``, prints its targets (or checks) and writes
``OUT/<name>.json`` as ``{"results": [...], <extra>..., "tables": [...], "targets"/"checks": {...}}``.
Each result is the case's own JSON plus ``case``, ``ok`` (``error`` when not),
``process_wall_secs`` and ``peak_memory_mb``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from tests.bench._common import ROOT


@dataclasses.dataclass(frozen=True)
class Report:
    """What a benchmark's ``report`` step hands back once it has printed its tables."""

    tables: list[str]
    """The printed tables (``print_table``'s return values), kept in the JSON."""
    targets: dict[str, bool] | None = None
    """Target name → met; printed as met/MISSED and written as ``"targets"`` (none: no key)."""
    checks: dict[str, bool] | None = None
    """Correctness check name → passed; printed as ok/FAILED and written as ``"checks"``."""
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    """More top-level JSON entries, between ``"results"`` and ``"tables"``."""
    also: str = ""
    """Added to the closing ``wrote OUT/<name>.json`` line (e.g. where pictures went)."""


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """One benchmark: its cases, how to run one, and how to report them all."""

    name: str
    """Short name: the JSON is ``OUT/<name>.json``, each case's ``OUT/cases/<name>-<case>.json``."""
    module: str
    """The module run for each case, ``python -m <module> --case ...``."""
    description: str
    """The ``--help`` text: the module's docstring."""
    cases: Sequence[str]
    """Every case, in the order they run."""
    run_case: Callable[[str, argparse.Namespace], dict[str, Any]]
    """Measure one case in this process; returns its JSON-able result."""
    report: Callable[[list[dict[str, Any]], argparse.Namespace], Report]
    """Print the tables of all results (and add derived entries to them); return the :class:`Report`."""
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    """Add the benchmark's own options to the parser."""
    forward: tuple[str, ...] = ()
    """Own options (e.g. ``"--kitchen-stride"``) the parent passes on to each case's process; ``--out`` always is."""
    data_folder: Callable[[str], Path | None] = lambda case: None
    """The real-data folder a case reads (None: none); a case whose folder is absent is skipped."""
    prerequisites: frozenset[str] = frozenset()
    """Cases the later ones build on: when one fails, the run stops there."""
    around_cases: Callable[[argparse.Namespace], AbstractContextManager[Any]] | None = None
    """Entered around the parent's loop over the cases (it may set forwarded options, e.g. a work folder)."""
    records_load: bool = True
    """Record the machine's load average at the start and end of each case (the CPU is shared)."""


def work_folder(prefix: str) -> Callable[[argparse.Namespace], AbstractContextManager[None]]:
    """An ``around_cases`` for benchmarks with a ``--work`` option: ``args.work`` made absolute
    (and created), or a temporary folder named ``prefix…`` removed after the cases."""

    @contextlib.contextmanager
    def around(args: argparse.Namespace):
        import tempfile

        with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
            args.work = (args.work or Path(tmp)).resolve()
            args.work.mkdir(parents=True, exist_ok=True)
            yield

    return around


def main(benchmark: Benchmark, argv: list[str] | None = None) -> int:
    """Parse the arguments; run one case in-process (``--case``) or every selected case in its own process."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {benchmark.module}", description=benchmark.description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=Path("bench_results"), help="folder for the JSON results (and any pictures)")
    parser.add_argument(
        "--only", nargs="*", default=None, metavar="CASE", help=f"run only these cases (all: {' '.join(benchmark.cases)})"
    )
    parser.add_argument("--case", help="run one case in this process (used by the parent)")
    parser.add_argument("--result", type=Path, help="where a single case writes its JSON (with --case)")
    if benchmark.add_arguments is not None:
        benchmark.add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.case:
        if args.result is None:
            parser.error(f"--case {args.case} needs --result PATH for its JSON")
        run_one(benchmark, args)
        return 0
    results = run_all(benchmark, args)
    if not results:
        return 0
    report = benchmark.report(results, args)
    finish(
        args.out, benchmark.name, {"results": results, **report.extra, "tables": report.tables}, report.targets,
        checks=report.checks, also=report.also,
    )
    return 0


def run_one(benchmark: Benchmark, args: argparse.Namespace) -> None:
    """Measure ``args.case`` here and write its result to ``args.result``."""
    load = os.getloadavg()[0]  # the CPU is shared: its load says how far timings can be trusted
    result = benchmark.run_case(args.case, args)
    if benchmark.records_load:
        result["load_average_at_start"] = load
        result["load_average_at_end"] = os.getloadavg()[0]
    args.result.write_text(json.dumps(result, indent=1, default=float))


def run_all(benchmark: Benchmark, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every selected case whose data is present, each in its own process; their results."""
    cases, absent = [], {}
    for case in args.only or benchmark.cases:
        folder = benchmark.data_folder(case)
        if folder is not None and not folder.is_dir():
            absent.setdefault(folder, []).append(case)
        else:
            cases.append(case)
    for folder, skipped in absent.items():
        print(f"real data folder {folder} is absent: skipping {', '.join(skipped)}")
    if not cases:
        print("nothing to measure")
        return []
    results = []
    around = benchmark.around_cases(args) if benchmark.around_cases is not None else contextlib.nullcontext()
    with around:
        forwarded = _forwarded(("--out", *benchmark.forward), args)
        for case in cases:
            print(f"running {case} ...", flush=True)
            stem = case.replace(":", "_").replace("+", "-")
            results.append(run_case_in_child(benchmark.module, case, args.out / "cases" / f"{benchmark.name}-{stem}.json", *forwarded))
            if case in benchmark.prerequisites and not results[-1]["ok"]:
                print(f"{case} failed and the cases after it need it: nothing more to measure")
                break
    return results


def _forwarded(options: Sequence[str], args: argparse.Namespace) -> list[str]:
    """``[option, value, ...]`` for each option that has a value; paths made absolute (the child runs in ROOT)."""
    out = []
    for option in options:
        value = getattr(args, option.lstrip("-").replace("-", "_"))
        if value is not None:
            out += [option, str(value.resolve() if isinstance(value, Path) else value)]
    return out


def run_case_in_child(module: str, case: str, out_json: Path, *extra: str) -> dict[str, Any]:
    """Run ``python -m module --case CASE --result out_json`` and add its wall time and peak RSS."""
    out_json = out_json.resolve()
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.unlink(missing_ok=True)
    code, wall_secs, peak_mb = measure_process([sys.executable, "-m", module, "--case", case, "--result", str(out_json), *extra])
    result: dict[str, Any] = {"case": case, "ok": code == 0 and out_json.exists()}
    if result["ok"]:
        result.update(json.loads(out_json.read_text()))
    else:
        result["error"] = f"exit code {code}"
    result["process_wall_secs"] = round(wall_secs, 2)
    result["peak_memory_mb"] = round(peak_mb, 1)
    return result


def measure_process(command: list[str], **popen_options: Any) -> tuple[int, float, float]:
    """Run ``command`` in ROOT to its end: its exit code, wall seconds and peak resident memory (MB)."""
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, **popen_options)
    _, status, usage = os.wait4(child.pid, 0)
    wall_secs = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, wall_secs, usage.ru_maxrss / 1024.0  # Linux reports KiB


def print_table(title: str, rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    """Print and return a plain-text table; ``columns`` are (key, header). Nothing for no rows."""
    if not rows:
        return ""
    def fmt(value: Any) -> str:
        if value is None:
            return "—"
        if isinstance(value, float):
            return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
        return str(value)

    cells = [[fmt(row.get(key)) for key, _ in columns] for row in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, (_, h) in enumerate(columns)]
    lines = [title, "  ".join(h.ljust(w) for (_, h), w in zip(columns, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in cells]
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def finish(
    out: Path, name: str, payload: dict[str, Any], verdict: dict[str, bool] | None = None, *,
    checks: dict[str, bool] | None = None, also: str = "",
) -> Path:
    """Print each target as met or MISSED and each check as ok or FAILED; write ``payload``
    (with the targets and checks) to ``out/<name>.json``."""
    for target, met in (verdict or {}).items():
        print(f"target {target}: {'met' if met else 'MISSED'}")
    for check, passed in (checks or {}).items():
        print(f"check {check}: {'ok' if passed else 'FAILED'}")
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    payload = {**payload, **({"targets": verdict} if verdict is not None else {}), **({"checks": checks} if checks is not None else {})}
    path.write_text(json.dumps(payload, indent=1, default=float))
    print(f"wrote {path}{also}")
    return path
