"""The subcommands' handlers: options in, a job run with progress bars, a summary out."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import TypeVar

from sceneforge.scenegraph import InputError, SceneFileError, read_light_probe, scene_summary, validate_stage

from ..pipeline import ExportConfig, ReconstructConfig, RenderConfig, export_job, reconstruct, render_scene
from ..registry import config_kwargs_from_args
from ._parser import backend_options_from_args
from ._previews import write_depth_previews, write_light_probe_preview
from ._progress import ProgressBars
from ._summary import format_scene_info, format_solve_summary

__all__ = ["cmd_reconstruct", "cmd_render", "cmd_export", "cmd_info"]

T = TypeVar("T")


def cmd_reconstruct(args: argparse.Namespace) -> int:
    if args.objects and not args.propose_objects:
        raise InputError("--no-objects and --object contradict each other; drop one")
    config = ReconstructConfig(
        **config_kwargs_from_args(ReconstructConfig, args), backend_options=backend_options_from_args(args)
    )
    result = _with_progress(args, reconstruct, config)
    if not args.quiet:
        print(format_solve_summary(result))
    return 0


def _with_progress(args: argparse.Namespace, job: Callable[..., T], config: object) -> T:
    """``job(config, progress=...)`` with one progress bar per stage on a terminal (none with -q)."""
    bars = ProgressBars(enabled=False if args.quiet else None)
    try:
        return job(config, progress=bars)
    finally:
        bars.close()


def cmd_render(args: argparse.Namespace) -> int:
    config = RenderConfig(**config_kwargs_from_args(RenderConfig, args), backend_options=backend_options_from_args(args))
    result = _with_progress(args, render_scene, config)
    if not args.quiet:
        head = (
            f"Rendered {result.num_frames} frames of {result.width}×{result.height} to {result.output} "
            f"in {result.seconds:.1f} s ({result.num_frames / max(result.seconds, 1e-9):.1f} frames/s)"
        )
        total = sum(result.pixels_by_source.values())
        if config.mode == "cg":
            tail = f"{result.coverage:.1%} of pixels covered by geometry" + (
                ", the rest filled from their surroundings" if config.fill else ""
            )
        elif total:
            shares = {name: count / total for name, count in result.pixels_by_source.items()}
            tail = (
                f"composited over the footage: {shares['plate']:.1%} plate, {shares['reprojected']:.1%} from other "
                f"frames, {shares['invented']:.1%} invented, {shares['rendered']:.1%} rendered objects"
                + (f", {shares['shaded']:.1%} relit by shadows" if shares.get("shaded") else "")
                + f"; refiner {config.refiner}"
            )
        else:
            tail = "every frame was already there (--resume)"
        print(f"{head}; {tail}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    config = ExportConfig(**config_kwargs_from_args(ExportConfig, args))
    result = _with_progress(args, export_job, config)
    if not args.quiet:
        extra = f", {result.num_images} images in {result.images}" if result.images is not None else ""
        print(f"Exported {args.scene} as {result.to} to {result.output}{extra}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    path = args.scene / "scene.usda" if args.scene.is_dir() else args.scene
    summary = scene_summary(path)
    if args.validate:
        result = validate_stage(path)
        summary["validation"] = {"errors": list(result.errors), "warnings": list(result.warnings)}
    if args.preview is not None:
        written = write_depth_previews(path, args.preview) if summary.get("depth_maps") else []
        probe = read_light_probe(path) if summary.get("light_probe") else None
        if probe is not None:
            written.append(write_light_probe_preview(probe, args.preview))
        if not written:
            raise SceneFileError(
                f"{path} references no depth maps and has no light probe; reconstruct with depth (the default) first"
            )
        summary["previews"] = {"folder": str(args.preview), "count": len(written)}
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print(format_scene_info(path, summary))
    if args.validate and summary["validation"]["errors"]:
        return 1
    return 0
