"""Human-readable summaries printed by the command line."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

__all__ = ["format_solve_summary", "format_scene_info"]


def _num(value: Any, unit: str = "", digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}{unit}"


def format_solve_summary(result: Any) -> str:
    """The end-of-run summary of ``sceneforge reconstruct``: what was written and how good it is."""
    track = result.track
    report = track.report
    k = track.intrinsics[0]
    width, height = result.image_size
    lines = [
        f"Scene written: {result.scene_path}",
        f"Report:        {result.report_path}",
        f"Frames:        {result.num_frames} at {width}×{height}, {track.fps:g} fps "
        f"(source frames {int(track.frame_numbers[0])}–{int(track.frame_numbers[-1])})",
        f"Camera:        fx {k.fx:.1f} px, fy {k.fy:.1f} px, principal point ({k.cx:.1f}, {k.cy:.1f}), "
        f"horizontal FOV {math.degrees(k.horizontal_fov_rad()):.1f}°",
        f"Sparse points: {len(track.points)}",
    ]
    if report is not None:
        lines += [
            f"Solve:         {report.backend}: {report.num_solved} solved, {report.num_localized} localized, "
            f"{report.num_interpolated} interpolated of {report.num_frames}",
            f"Reprojection:  mean {_num(report.mean_error_px, ' px')}, worst frame {_num(report.max_error_px, ' px')}",
        ]
        if report.flags:
            lines.append(f"Flags:         {', '.join(report.flags)}")
        lines += [f"Note:          {m}" for m in report.messages]
    timings = ", ".join(f"{name} {secs:.1f} s" for name, secs in result.timings_secs.items())
    lines.append(f"Timings:       {timings}")
    if result.resumed_stages:
        lines.append(f"Resumed:       {', '.join(result.resumed_stages)} (cached in the run folder; --fresh recomputes)")
    return "\n".join(lines)


def format_scene_info(path: Path, summary: dict[str, Any]) -> str:
    """``sceneforge info``: one line per fact of the scene summary."""
    lines = [f"Scene: {path}"]
    width = max((len(str(key)) for key in summary), default=0)
    for key, value in summary.items():
        if key == "validation":
            continue
        if isinstance(value, float):
            value = _num(value, digits=3)
        elif isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value) or "none"
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={_num(v, digits=3) if isinstance(v, float) else v}" for k, v in value.items()) or "none"
        lines.append(f"  {str(key).replace('_', ' '):<{width}}  {value}")
    validation = summary.get("validation")
    if validation is not None:
        errors, warnings = validation["errors"], validation["warnings"]
        lines.append(f"  {'validation':<{width}}  {len(errors)} error(s), {len(warnings)} warning(s)")
        lines += [f"    error: {e}" for e in errors] + [f"    warning: {w}" for w in warnings]
    return "\n".join(lines)
