"""``sceneforge batch``: many shots reconstructed side by side, on this machine or a Ray cluster."""

from __future__ import annotations

import argparse
import copy
import csv
import shlex
from pathlib import Path
from typing import Any

from sceneforge.reconstruct import IMAGE_SUFFIXES, VIDEO_SUFFIXES, available_memory
from sceneforge.scenegraph import InputError

from ..executors import EXECUTOR_NAMES
from ..pipeline import BatchResult, ReconstructConfig, ShotSpec, shot_name
from ..registry import config_kwargs_from_args, int_at_least, positive_float
from ._options import add_reconstruct_options, backend_options_from_args, reconstruct_parser

__all__ = ["add_batch_parser", "cmd_batch", "read_shots", "LIST_SUFFIXES"]

LIST_SUFFIXES = (".txt", ".csv", ".list")
_TRUE = {"1", "true", "yes", "y", "x", "on"}
_FALSE = {"", "0", "false", "no", "n", "off"}


def add_batch_parser(sub: Any) -> None:
    batch = sub.add_parser(
        "batch", help="reconstruct many shots side by side (a process pool, or a Ray cluster)",
        description=(
            "Reconstruct every shot into OUT_DIR/<shot>/ as 'sceneforge reconstruct' would, several at once. "
            "A shot is a video file or an image folder; a list file (.txt: one shot per line, 'INPUT [options]'; "
            ".csv: an 'input' column, an optional 'name' column and one column per reconstruct option, e.g. "
            "focal, intrinsics, object) gives shots their own options, added to the ones given here. "
            "Every shot resumes from its own run folder; a shot finished before with the same options is kept. "
            "Ends with a table (frames, solve error, depth coverage, objects, time) and OUT_DIR/batch.json. "
            "--executor local (default) runs shots in processes on this machine; --executor ray runs them on a "
            "Ray cluster, with each shot's depth frames spread over the cluster too."
        ),
        epilog=(
            "Examples: sceneforge batch clips/*.mp4 -o shots/ --max-size 480; "
            "sceneforge batch season.csv -o shots/ --executor ray --address auto"
        ),
        usage="sceneforge batch SHOTS... -o OUT_DIR [--executor local|ray] [reconstruct options]",
    )
    batch.add_argument("shots", nargs="+", type=Path, metavar="SHOTS",
                       help="video files, image folders, or shot lists (.txt, .csv, .list)")
    batch.add_argument("-o", "--output", type=Path, required=True, metavar="OUT_DIR",
                       help="the folder the shot folders go in (with batch.json)")
    run = batch.add_argument_group("batch")
    run.add_argument("--executor", choices=EXECUTOR_NAMES, default="local",
                     help="where shots run: local (processes on this machine) or ray (a Ray cluster; "
                          "pip install 'sceneforge[ray]') (default local)")
    run.add_argument("--address", default=None, metavar="ADDRESS",
                     help="ray: the cluster to join: auto (the one 'ray start --head' made here) or "
                          "ray://HOST:10001; default: start one on this machine")
    run.add_argument("--workers", type=int_at_least(1), default=None, metavar="N",
                     help="local: shots at once (default: as many as cores and --shot-memory-gb allow); "
                          "ray without --address: the local cluster's CPUs")
    run.add_argument("--shot-memory-gb", type=positive_float, default=4.0, metavar="GB",
                     help="memory one shot's task is expected to need; Ray reserves it, the local pool runs no "
                          "more shots than free memory holds (default 4)")
    run.add_argument("--force", action="store_true",
                     help="reconstruct shots again whose folder already holds a scene (finished stages are reused)")
    add_reconstruct_options(batch, exclude=("input", "output", "force"))


def read_shots(args: argparse.Namespace) -> list[ShotSpec]:
    """The batch's shots: the ones named on the command line and in list files, each with the
    batch's reconstruct options and its own on top. Fails before any work on a missing input,
    a bad option or a malformed list."""
    parser = reconstruct_parser()
    entries: list[tuple[Path, list[str], str | None, str]] = []
    for path in args.shots:
        if path.suffix.lower() in LIST_SUFFIXES and path.is_file():
            entries += _read_list(path)
        else:
            entries.append((path, [], None, str(path)))
    shots = []
    for path, options, name, where in entries:
        if not path.exists():
            raise InputError(f"{where}: {path} not found")
        if path.is_file() and path.suffix.lower() not in VIDEO_SUFFIXES + IMAGE_SUFFIXES:
            raise InputError(f"{where}: {path} is not a video, an image, an image folder or a shot list ({', '.join(LIST_SUFFIXES)})")
        name = name or shot_name(path)
        namespace = copy.deepcopy(args)
        try:
            shot_args = parser.parse_args([str(path), "-o", str(args.output / name), *options], namespace=namespace)
        except SystemExit as exc:  # the parser printed what was wrong
            raise InputError(f"{where}: bad options for shot {name!r}") from exc
        if shot_args.objects and not shot_args.propose_objects:
            raise InputError(f"{where}: --no-objects and --object contradict each other; drop one")
        config = ReconstructConfig(
            **config_kwargs_from_args(ReconstructConfig, shot_args), backend_options=backend_options_from_args(shot_args)
        )
        shots.append(ShotSpec(name=name, config=config))
    return shots


def _read_list(path: Path) -> list[tuple[Path, list[str], str | None, str]]:
    """(input, its options as arguments, its name or None, where it was written) per shot of a list file."""
    base = path.parent
    out = []
    if path.suffix.lower() == ".csv":
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        if not rows:
            raise InputError(f"{path} holds no shots; a CSV list needs a header row with an 'input' column")
        if "input" not in rows[0]:
            raise InputError(f"{path}: the header must have an 'input' column, got {', '.join(rows[0])}")
        flags = _flag_actions()
        for line, row in enumerate(rows, start=2):
            where = f"{path}:{line}"
            options: list[str] = []
            for column, cell in row.items():
                if column in ("input", "name") or column is None:
                    continue
                options += _cell_options(column.strip(), (cell or "").strip(), flags, where)
            out.append((_resolved(base, row["input"].strip()), _paths_resolved(base, options), (row.get("name") or "").strip() or None, where))
        return out
    for line, text in enumerate(path.read_text().splitlines(), start=1):
        text = text.strip()
        if not text or text.startswith("#"):
            continue
        where = f"{path}:{line}"
        try:
            tokens = shlex.split(text, comments=True)
        except ValueError as exc:
            raise InputError(f"{where}: {exc}") from exc
        name = None
        if "--name" in tokens:
            at = tokens.index("--name")
            if at + 1 >= len(tokens):
                raise InputError(f"{where}: --name needs a value")
            name = tokens[at + 1]
            del tokens[at : at + 2]
        out.append((_resolved(base, tokens[0]), _paths_resolved(base, tokens[1:]), name, where))
    return out


def _flag_actions() -> dict[str, bool]:
    """Option string → whether it is a switch (takes no value), for every reconstruct option."""
    return {
        string: action.nargs == 0
        for action in reconstruct_parser()._actions  # noqa: SLF001 - argparse keeps no public list of actions
        for string in action.option_strings
    }


def _cell_options(column: str, cell: str, flags: dict[str, bool], where: str) -> list[str]:
    flag = column if column.startswith("-") else "--" + column.replace("_", "-")
    if flag not in flags:
        raise InputError(f"{where}: column {column!r} is not an option of sceneforge reconstruct")
    if flags[flag]:
        if cell.lower() in _TRUE:
            return [flag]
        if cell.lower() in _FALSE:
            return []
        raise InputError(f"{where}: column {column!r} is a switch; write yes or leave it empty, got {cell!r}")
    if not cell:
        return []
    # a repeated option (--object) takes several values in one cell, separated by ';'
    values = [v.strip() for v in cell.split(";") if v.strip()] if flag == "--object" else [cell]
    return [f"{flag}={value}" for value in values]


_PATH_OPTIONS = ("--intrinsics", "--mask")


def _resolved(base: Path, text: str) -> Path:
    """A path written in a list file: relative to the list's folder."""
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


def _paths_resolved(base: Path, tokens: list[str]) -> list[str]:
    """``tokens`` with the values of file options (--intrinsics, --mask) made relative to the list's folder."""
    out = list(tokens)
    for i, token in enumerate(out):
        flag, eq, value = token.partition("=")
        if flag in _PATH_OPTIONS and eq:
            out[i] = f"{flag}={_resolved(base, value)}"
        elif token in _PATH_OPTIONS and i + 1 < len(out):
            out[i + 1] = str(_resolved(base, out[i + 1]))
    return out


def cmd_batch(args: argparse.Namespace) -> int:
    from ..executors import make_executor
    from ..pipeline import run_batch
    from ._progress import ProgressBars

    shots = read_shots(args)
    workers = args.workers
    memory = int(args.shot_memory_gb * 1024**3)
    if args.executor == "local" and workers is None:
        workers = _local_workers(len(shots), memory)
    executor = make_executor(args.executor, workers=workers, address=args.address)
    bars = ProgressBars(enabled=False if args.quiet else None)
    try:
        result = run_batch(
            shots, args.output, executor=executor, force=args.force, shot_memory_bytes=memory, progress=bars
        )
    finally:
        bars.close()
        executor.close()
    if not args.quiet:
        print(format_batch(result))
    if result.failed:
        import sys

        print(f"error: {len(result.failed)} of {len(result.shots)} shots failed ({', '.join(result.failed)}); "
              f"see {result.summary_path}", file=sys.stderr)
        return 1
    return 0


def _local_workers(shots: int, shot_memory: int) -> int:
    """Shots at once on this machine: one per core, no more than free memory holds, no more than shots."""
    import os

    cores = len(os.sched_getaffinity(0))
    free = available_memory("cpu")
    by_memory = max(1, int(free // shot_memory)) if free else cores
    return max(1, min(cores, by_memory, shots))


def format_batch(result: BatchResult) -> str:
    """The end-of-batch table: one row per shot, then the failures' reasons."""
    header = ("shot", "status", "frames", "registered", "solve px", "depth cov.", "objects", "time")
    rows = [header]
    for shot in result.shots:
        rows.append((
            shot.name, shot.status, _text(shot.frames), _text(shot.registered), _text(shot.solve_error_px, "{:.2f}"),
            _text(shot.depth_coverage, "{:.1%}"), _text(shot.objects), f"{shot.seconds:.1f} s" if shot.seconds else "-",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for shot in result.shots:
        if shot.error:
            lines.append(f"{shot.name}: {shot.error}")
    done = sum(s.status == "done" for s in result.shots)
    kept = sum(s.status == "kept" for s in result.shots)
    lines.append(
        f"Batch: {done} reconstructed, {kept} kept, {len(result.failed)} failed in {result.seconds:.1f} s "
        f"on {result.executor} ({result.workers} workers); {result.summary_path}"
    )
    return "\n".join(lines)


def _text(value: Any, fmt: str = "{}") -> str:
    return "-" if value is None else fmt.format(value)
