"""Human-readable summaries printed by the command line."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..pipeline import ReconstructResult

__all__ = ["format_light_probe", "format_objects", "format_solve_summary", "format_scene_info"]


def _num(value: Any, unit: str = "", digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}{unit}"


def format_solve_summary(result: ReconstructResult) -> str:
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
    lines += format_objects([o.to_dict() for o in result.objects], indent=15)
    if result.light_probe is not None:
        lines.append(f"{'Light probe:':<15}{format_light_probe(result.light_probe)}")
    timings = ", ".join(f"{name} {secs:.1f} s" for name, secs in result.timings_secs.items())
    lines.append(f"Timings:       {timings}")
    if result.resumed_stages:
        lines.append(f"Resumed:       {', '.join(result.resumed_stages)} (cached in the run folder; --fresh recomputes)")
    return "\n".join(lines)


def format_objects(objects: Sequence[Mapping[str, Any]], *, indent: int) -> list[str]:
    """One line per object: name, static or moving, frames seen, size, mask quality."""
    if not objects:
        return [f"{'Objects:':<{indent}}none"]
    lines = [f"{'Objects:':<{indent}}{len(objects)}"]
    for item in objects:
        size = item.get("size")
        size_text = " × ".join(f"{v:.2f}" for v in size) if size else "n/a"
        first, last = item.get("first_frame"), item.get("last_frame")
        seen = f"frames {first}–{last}" if first is not None else "frames n/a"
        lines.append(
            f"{'':<{indent}}{item.get('name')}: {'static' if item.get('static') else 'moving'}, {seen} "
            f"({item.get('frames_visible', 'n/a')} visible), size {size_text} units, "
            f"mask quality {_num(item.get('mask_quality_mean', item.get('mask_quality')))}"
        )
    return lines


def format_light_probe(probe: Mapping[str, Any]) -> str:
    """One line about a light probe summary (``light_probe_summary``): map size, seen share,
    the key light's direction and the ambient:key ratio."""
    size = probe.get("map_size")
    seen = probe.get("seen_share")
    head = f"{size[0]}×{size[1]} map" if size else "map missing on disk"
    head += f", {seen:.0%} of the sphere seen" if isinstance(seen, (int, float)) else ""
    if probe.get("key_direction") is None:
        return f"{head}; key light: none found in the shading"
    return (
        f"{head}; key light azimuth {_num(probe.get('key_azimuth_deg'), '°', 0)}, elevation "
        f"{_num(probe.get('key_elevation_deg'), '°', 0)} (azimuth from -Z towards +X); "
        f"ambient:key {_num(probe.get('ambient_to_key'))}"
    )


def format_scene_info(path: Path, summary: dict[str, Any]) -> str:
    """``sceneforge info``: a short description of the scene and its solve."""
    status = summary.get("frame_status") or {}
    solve = summary.get("solve") or summary.get("metadata") or {}
    layers = ", ".join(summary.get("layers", [])) or "none"
    lines = [
        f"Scene:      {path}",
        f"Layers:     {layers}; edits: {'yes' if summary.get('has_edits') else 'none'}",
        f"Source:     {summary.get('source') or 'unknown'}",
        f"Frames:     {summary.get('frames')} (source frames {summary.get('first_frame')}–{summary.get('last_frame')}) "
        f"at {_num(summary.get('fps'), digits=3).rstrip('0').rstrip('.')} fps, {_num(summary.get('duration_secs'), ' s')}, "
        f"{summary.get('width')}×{summary.get('height')}",
        f"Camera:     {summary.get('camera')}, {'one camera for the clip' if summary.get('single_camera') else 'intrinsics per frame'}; "
        f"focal {_num(summary.get('focal_length_px'), ' px', 1)} ({_num(summary.get('focal_length_35mm'), ' mm', 1)} full-frame equivalent), "
        f"horizontal FOV {_num(summary.get('hfov_deg'), '°', 1)}",
        f"Frames by:  {status.get('solved', 0)} solved, {status.get('localized', 0)} localized, "
        f"{status.get('interpolated', 0)} interpolated",
        f"Solve:      {solve.get('backend') or solve.get('solver') or 'unknown'}; reprojection mean "
        f"{_num(solve.get('mean_error_px'), ' px')}, worst frame {_num(solve.get('max_error_px'), ' px')}",
        f"Points:     {summary.get('num_points', 0)} sparse points",
        f"Units:      {summary.get('meters_per_unit'):.4g} m per unit ({'metric' if summary.get('metric_scale') else 'scale not metric'}), "
        f"up axis {summary.get('up_axis')}"
        + (f"; {summary['metadata']['scale']}" if isinstance(summary.get("metadata"), dict) and summary["metadata"].get("scale") else ""),
    ]
    background = summary.get("background")
    if background:
        texture = background.get("texture_size")
        look = f"texture {texture[0]}×{texture[1]}" if texture else "vertex colours"
        lines.append(f"Background: {background.get('faces')} faces, {background.get('vertices')} vertices, {look}")
    depth_maps = summary.get("depth_maps")
    if depth_maps:
        missing = summary.get("missing_depth_maps") or 0
        lines.append(f"Depth:      {depth_maps} depth maps" + (f", {missing} missing on disk" if missing else ""))
    lines += format_objects(summary.get("objects") or [], indent=12)
    instances = summary.get("instance_maps")
    if instances:
        lines.append(f"Instances:  {instances} per-frame instance maps")
    probe = summary.get("light_probe")
    lines.append(f"Light:      {format_light_probe(probe)}" if probe else "Light:      no light probe")
    flags = solve.get("flags") or []
    if flags:
        lines.append(f"Flags:      {', '.join(flags)}")
    lines += [f"Note:       {m}" for m in solve.get("messages") or []]
    missing = summary.get("missing_layers") or []
    if missing:
        lines.append(f"Missing:    {', '.join(missing)}")
    validation = summary.get("validation")
    if validation is not None:
        errors, warnings = validation["errors"], validation["warnings"]
        lines.append(f"Validation: {len(errors)} error(s), {len(warnings)} warning(s) from USD's validators")
        lines += [f"  error: {e}" for e in errors] + [f"  warning: {w}" for w in warnings]
    return "\n".join(lines)
