"""The batch job: many shots reconstructed side by side, each into its own resumable shot folder.

Every shot runs the reconstruct job unchanged (:func:`~sceneforge.engine.pipeline.reconstruct`)
as one task on an executor: a process pool on this machine, or a Ray cluster whose shot tasks
also hand their frame-parallel work (depth, its multi-view check) to the cluster. A shot
resumes from its own run folder; a finished shot whose options have not changed is kept, not
done again. ``OUT_DIR/batch.json`` says where every shot stands, rewritten as each finishes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sceneforge.reconstruct import ProgressFn
from sceneforge.scenegraph import InputError, SceneForgeError, atomic_write

from ..executors import Executor, Resources
from ._config import RUN_FOLDER, ReconstructConfig
from ._reconstruct import reconstruct

__all__ = ["BATCH_FILE", "ShotSpec", "ShotOutcome", "BatchResult", "run_batch", "shot_name"]

log = logging.getLogger(__name__)

BATCH_FILE = "batch.json"
_SHOT_MEMORY_BYTES = 4 * 1024**3


@dataclass(frozen=True)
class ShotSpec:
    """One shot of a batch: its name (the folder under the batch's output) and its reconstruct
    options (``config.output`` is ``OUT_DIR/name``)."""

    name: str
    config: ReconstructConfig

    def __post_init__(self) -> None:
        if not self.name or self.name in (".", "..") or "/" in self.name or os.sep in self.name:
            raise InputError(f"a shot name must be a plain folder name, got {self.name!r}")


@dataclass(frozen=True)
class ShotOutcome:
    """Where one shot of a batch stands and how good its scene is."""

    name: str
    input: str
    output: str
    status: str
    """``done`` (reconstructed now), ``kept`` (finished before with the same options) or ``failed``."""
    error: str | None = None
    """Why it failed (one line), else None."""
    frames: int | None = None
    registered: int | None = None
    """Frames the camera solve placed (solved or localized, not interpolated)."""
    solve_error_px: float | None = None
    """Mean reprojection error of the camera solve, pixels."""
    depth_coverage: float | None = None
    objects: int | None = None
    seconds: float = 0.0
    """Wall-clock time of the shot's task (0 when kept)."""
    resumed: tuple[str, ...] = ()
    """Stages reused from the shot's run folder."""
    warnings: tuple[str, ...] = ()
    """The warnings the shot's job logged."""

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["resumed"], out["warnings"] = list(self.resumed), list(self.warnings)
        return out


@dataclass(frozen=True)
class BatchResult:
    """What a batch did: one outcome per shot, in the order given."""

    shots: tuple[ShotOutcome, ...]
    seconds: float
    executor: str
    workers: int
    summary_path: Path
    failed: tuple[str, ...] = field(default=())
    """Names of the shots that failed."""


def shot_name(path: Path) -> str:
    """A shot's default name: the video's stem or the image folder's name."""
    path = Path(path)
    return path.stem if path.suffix else path.name


def run_batch(
    shots: Sequence[ShotSpec], output: Path, *, executor: Executor, force: bool = False,
    shot_memory_bytes: int = _SHOT_MEMORY_BYTES, progress: ProgressFn | None = None,
) -> BatchResult:
    """Reconstruct every shot into ``output/<name>/`` on ``executor``; see the module docstring.

    A shot that fails does not stop the others; its outcome says why (``BatchResult.failed``).

    Raises:
        InputError: two shots with one name, or an output that is not a folder.
        WorkerLost: a worker died more often than a task is retried.
    """
    start = time.perf_counter()
    output = Path(output)
    names = [shot.name for shot in shots]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        raise InputError(f"two shots are named {duplicate!r}; give them names (the 'name' column of a CSV list)")
    if output.exists() and not output.is_dir():
        raise InputError(f"{output} exists and is not a folder; choose another -o")
    output.mkdir(parents=True, exist_ok=True)

    outcomes: dict[str, ShotOutcome] = {}
    todo: list[ShotSpec] = []
    for shot in shots:
        config = dataclasses.replace(shot.config, output=output / shot.name)
        settled = _settled(config, force=force)
        if settled is not None:
            outcomes[shot.name] = settled
        else:
            todo.append(ShotSpec(shot.name, dataclasses.replace(config, force=True)))
    for outcome in outcomes.values():
        log.info("%s: %s", outcome.name, outcome.error or "finished before with the same options; kept")

    fan_out = executor if executor.fans_out_frames else None
    resources = Resources(
        cpus=1.0, gpus=1.0 if executor.has_gpus() and any(_neural_depth(s.config) for s in todo) else 0.0,
        memory_bytes=shot_memory_bytes,
    )
    done = len(outcomes)
    if progress:
        progress("shots", done, len(shots))
    _write_summary(output, shots, outcomes, executor, time.perf_counter() - start)
    for index, outcome in executor.map(_reconstruct_shot, todo, shared=fan_out, resources=resources):
        outcomes[todo[index].name] = outcome
        done += 1
        log.info("%s: %s in %.1f s", outcome.name, outcome.status if outcome.error is None else f"failed: {outcome.error}", outcome.seconds)
        _write_summary(output, shots, outcomes, executor, time.perf_counter() - start)
        if progress:
            progress("shots", done, len(shots))
    ordered = tuple(outcomes[shot.name] for shot in shots)
    seconds = time.perf_counter() - start
    path = _write_summary(output, shots, outcomes, executor, seconds)
    return BatchResult(
        shots=ordered, seconds=seconds, executor=executor.name, workers=executor.workers, summary_path=path,
        failed=tuple(o.name for o in ordered if o.status == "failed"),
    )


def _settled(config: ReconstructConfig, *, force: bool) -> ShotOutcome | None:
    """The outcome of a shot that is not to run: finished with the same options (kept), or its
    folder holds something that ``force`` would overwrite (failed); None when it is to run."""
    folder = config.output
    base = {"name": folder.name, "input": str(config.input), "output": str(folder)}
    if force or not folder.exists():
        return None
    if not folder.is_dir():
        return ShotOutcome(**base, status="failed", error=f"{folder} exists and is not a folder")
    report_path = folder / "report.json"
    if (folder / "scene.usda").exists():
        try:
            report = json.loads(report_path.read_text())
        except (OSError, ValueError):
            report = None
        if report is not None and report.get("config") == _config_record(config, report.get("config", {})):
            return _outcome_from_report(base, report, status="kept", seconds=0.0)
        return ShotOutcome(
            **base, status="failed",
            error=f"{folder} holds a scene made with other options; pass --force to reconstruct it again",
        )
    ours = (folder / RUN_FOLDER).is_dir()
    if not ours and any(folder.iterdir()):
        return ShotOutcome(**base, status="failed", error=f"{folder} is not empty and is not a SceneForge shot; pass --force")
    return None


def _config_record(config: ReconstructConfig, recorded: dict[str, Any]) -> dict[str, Any]:
    """``config`` as the report records it, with the fields that say how or where to run, not
    what to make (``force``, ``fresh``, ``output``: a batch folder may be moved), taken from the
    record itself."""
    out = {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(config).items()}
    out = json.loads(json.dumps(out, default=str))  # tuples as lists, as the report holds them
    for key in ("force", "fresh", "output"):
        if key in recorded:
            out[key] = recorded[key]
    return out


def _outcome_from_report(base: dict[str, str], report: dict[str, Any], *, status: str, seconds: float,
                         resumed: Sequence[str] = (), warnings: Sequence[str] = ()) -> ShotOutcome:
    solve = report.get("camera_solve") or {}
    return ShotOutcome(
        **base, status=status, frames=report.get("frames", {}).get("count"),
        registered=(solve.get("num_solved", 0) + solve.get("num_localized", 0)) if solve else None,
        solve_error_px=solve.get("mean_error_px"), depth_coverage=(report.get("depth") or {}).get("coverage"),
        objects=len(report.get("objects") or []), seconds=seconds, resumed=tuple(resumed), warnings=tuple(warnings),
    )


def _neural_depth(config: ReconstructConfig) -> bool:
    from ..registry import DEPTH

    if config.depth == "none":
        return False
    return not getattr(DEPTH.config_type(config.depth), "frame_independent", False)


class _Warnings(logging.Handler):
    """Collects the warnings a shot's job logs (a worker's log is not the user's terminal)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _reconstruct_shot(shot: ShotSpec, executor: Executor | None) -> ShotOutcome:
    """Task: one shot's reconstruct job; a failure of the shot's own is its outcome, not an error."""
    config = shot.config
    base = {"name": shot.name, "input": str(config.input), "output": str(config.output)}
    logger = logging.getLogger("sceneforge")
    collector = _Warnings()
    saved = (logger.handlers[:], logger.propagate, logger.level)
    logger.handlers[:] = [collector]
    logger.propagate = False
    logger.setLevel(logging.WARNING)
    start = time.perf_counter()
    try:
        result = reconstruct(config, executor=executor)
    except SceneForgeError as exc:
        return ShotOutcome(**base, status="failed", error=str(exc), seconds=time.perf_counter() - start,
                           warnings=tuple(collector.messages))
    except Exception as exc:  # noqa: BLE001 - one shot's bug must not take the batch down
        return ShotOutcome(**base, status="failed", error=f"internal error: {exc.__class__.__name__}: {exc}",
                           seconds=time.perf_counter() - start, warnings=tuple(collector.messages))
    finally:
        logger.handlers[:], logger.propagate, _ = saved
        logger.setLevel(saved[2])
    report = json.loads(result.report_path.read_text())
    return _outcome_from_report(base, report, status="done", seconds=time.perf_counter() - start,
                                resumed=result.resumed_stages, warnings=collector.messages)


def _write_summary(
    output: Path, shots: Sequence[ShotSpec], outcomes: dict[str, ShotOutcome], executor: Executor, seconds: float
) -> Path:
    path = output / BATCH_FILE
    record = {
        "executor": executor.name,
        "seconds": round(seconds, 3),
        "shots": [
            outcomes[s.name].to_dict() if s.name in outcomes
            else {"name": s.name, "input": str(s.config.input), "output": str(output / s.name), "status": "pending"}
            for s in shots
        ],
    }
    atomic_write(path, json.dumps(record, indent=2, allow_nan=False, default=str))
    return path
