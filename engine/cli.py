"""The ``sceneforge`` command line.

One entry point with subcommands. Errors print one line (``error: …``) and exit
non-zero; ``--debug`` shows the traceback. Progress bars go to stderr, results to stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from sceneforge.scenegraph import SceneForgeError

__all__ = ["main", "build_parser"]

log = logging.getLogger("sceneforge")

_VERSION = "0.1.0"


def _int_at_least(minimum: int):
    """An argparse type: a whole number ≥ ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a number ≥ {minimum}, got {value}")
        return value

    return parse


_positive_int = _int_at_least(1)
_non_negative_int = _int_at_least(0)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand (also used to check the CLI surface in tests)."""
    from ._registry import SOLVERS

    parser = argparse.ArgumentParser(
        prog="sceneforge",
        description="Turn a video into an editable USD scene: camera track, depth, objects; edit it; re-render it.",
        epilog="Run 'sceneforge COMMAND --help' for the options of one command.",
    )
    parser.add_argument("--version", action="version", version=f"sceneforge {_VERSION}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks and debug logging")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what each stage does")
    parser.add_argument("-q", "--quiet", action="store_true", help="only print errors (no progress bars, no summary)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    rec = sub.add_parser(
        "reconstruct",
        help="solve the camera of a clip and write a USD scene",
        description=(
            "Reconstruct a clip into a USD scene: reads the frames, solves one camera per frame "
            "(COLMAP on keyframes, every other frame localized against the map), aligns the world "
            "(+Y up, origin at the scene centre), estimates dense depth for every frame, fuses it into a "
            "textured background mesh, and writes OUTPUT/scene.usda with its layers, OUTPUT/report.json "
            "with the solve report, and OUTPUT/run/ with depth maps and resumable stage results."
        ),
        epilog="Example: sceneforge reconstruct clip.mp4 -o shot/ --max-size 960",
    )
    rec.add_argument("input", type=Path, help="a video file (MP4, MOV, MKV, WebM) or a folder of images")
    rec.add_argument("-o", "--output", type=Path, required=True, help="the shot folder to write")
    frames = rec.add_argument_group("frames")
    frames.add_argument("--start", type=_non_negative_int, default=0, help="first source frame to use (default 0)")
    frames.add_argument("--end", type=_positive_int, default=None, help="source frame to stop before (default: the end)")
    frames.add_argument("--stride", type=_positive_int, default=1, help="use every n-th frame (default 1)")
    frames.add_argument(
        "--max-size", type=_non_negative_int, default=960,
        help="resize so the long side is at most this many pixels; 0 keeps the size (default 960)",
    )
    frames.add_argument("--fps", type=_positive_float, default=None, help="frames per second (default: the video's, or 24 for images)")
    frames.add_argument("--pattern", default=None, help="glob picking the frames in an image folder, e.g. '*.color.jpg'")
    cam = rec.add_argument_group("camera solve")
    cam.add_argument(
        "--solver", default="colmap-global",
        help="solver backend: " + "; ".join(f"{k}: {v}" for k, v in SOLVERS.describe().items()),
    )
    known = cam.add_mutually_exclusive_group()
    known.add_argument("--focal", type=_positive_float, default=None, help="known focal length in pixels of the source frames")
    known.add_argument("--intrinsics", type=Path, default=None, help="file with the known 3×3 K of the source frames (9 numbers or JSON {'K': ...})")
    cam.add_argument("--refine-principal-point", action="store_true", help="let the solve move the principal point (default: fixed at the centre)")
    cam.add_argument("--lens", choices=["pinhole", "simple_radial", "radial"], default="radial", help="lens model: no distortion, one or two radial terms (default radial)")
    cam.add_argument("--camera-per-frame", action="store_true", help="separate intrinsics per frame (zooming lens)")
    cam.add_argument("--mask", type=Path, default=None, help="image (or folder of per-frame images) whose non-zero pixels the solve ignores, e.g. moving things")
    from ._registry import DEPTH

    geo = rec.add_argument_group("depth and geometry")
    geo.add_argument(
        "--depth", default="plane-sweep",
        help="dense depth backend, or 'none' to stop after the camera: "
        + "; ".join(f"{k}: {v}" for k, v in DEPTH.describe().items()),
    )
    geo.add_argument("--no-background", action="store_true", help="do not fuse the depth into a background mesh")
    geo.add_argument("--max-triangles", type=_positive_int, default=500_000, help="triangle budget of the background mesh (default 500000)")
    geo.add_argument("--texture-size", type=_positive_int, default=2048, help="background texture atlas size in pixels (default 2048)")
    run = rec.add_argument_group("run")
    run.add_argument("--force", action="store_true", help="overwrite a scene already in the output folder")
    run.add_argument("--fresh", action="store_true", help="ignore cached stage results in OUTPUT/run and compute everything again")

    ren = sub.add_parser(
        "render", help="render a scene through its camera to a video or images",
        description=(
            "Render a scene's meshes (background, objects) through a USD camera — the plate camera by "
            "default — for every frame of the shot or a range, to an MP4 (H.264) or a PNG sequence."
        ),
        epilog="Example: sceneforge render shot/scene.usda -o edit.mp4 --start 10 --end 60",
    )
    ren.add_argument("scene", type=Path, help="a scene.usda (or the shot folder holding it)")
    ren.add_argument("-o", "--output", type=Path, required=True, help="an .mp4/.mov/.mkv file, or a folder (or frame_%%06d.png pattern) for PNGs")
    ren.add_argument("--camera", default="/World/Cameras/Plate", help="the USD camera prim to look through (default /World/Cameras/Plate)")
    ren.add_argument("--start", type=_non_negative_int, default=None, help="first source frame to render (default: the scene's first)")
    ren.add_argument("--end", type=_positive_int, default=None, help="source frame to stop before (default: after the last)")
    ren.add_argument("--force", action="store_true", help="overwrite an existing output")

    info = sub.add_parser(
        "info", help="describe a SceneForge scene",
        description="Print a scene's frames, fps, camera, sparse points and solve error (and check it with USD's validators).",
    )
    info.add_argument("scene", type=Path, help="a scene.usda (or the shot folder holding it)")
    info.add_argument("--json", action="store_true", help="print machine-readable JSON")
    info.add_argument("--validate", action="store_true", help="also run USD's validators on the stage")
    info.add_argument("--preview", type=Path, default=None, metavar="DIR", help="write coloured previews of the depth maps into DIR")
    return parser


def _setup_logging(debug: bool, verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s" if not debug else "%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("sceneforge")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _cmd_reconstruct(args: argparse.Namespace) -> int:
    from ._pipeline import ReconstructConfig, reconstruct
    from ._progress import ProgressBars
    from ._summary import format_solve_summary

    config = ReconstructConfig(
        input=args.input, output=args.output, start=args.start, end=args.end, stride=args.stride,
        max_size=args.max_size or None, fps=args.fps, pattern=args.pattern, solver=args.solver,
        focal_px=args.focal, intrinsics_file=args.intrinsics, refine_principal_point=args.refine_principal_point,
        lens=args.lens, camera_per_frame=args.camera_per_frame, mask=args.mask, depth=args.depth,
        background=not args.no_background, max_triangles=args.max_triangles, texture_size=args.texture_size,
        force=args.force, fresh=args.fresh,
    )
    bars = ProgressBars(enabled=False if args.quiet else None)
    try:
        result = reconstruct(config, progress=bars)
    finally:
        bars.close()
    if not args.quiet:
        print(format_solve_summary(result))
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    from ._progress import ProgressBars
    from ._render_job import RenderConfig, render_scene

    config = RenderConfig(
        scene=args.scene, output=args.output, camera=args.camera, start=args.start, end=args.end, force=args.force
    )
    bars = ProgressBars(enabled=False if args.quiet else None)
    try:
        result = render_scene(config, progress=bars)
    finally:
        bars.close()
    if not args.quiet:
        print(
            f"Rendered {result.num_frames} frames of {result.width}×{result.height} to {result.output} "
            f"in {result.seconds:.1f} s ({result.num_frames / max(result.seconds, 1e-9):.1f} frames/s); "
            f"{result.coverage:.1%} of pixels covered by geometry"
        )
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from sceneforge.scenegraph import scene_summary, validate_stage

    from ._summary import format_scene_info

    path = args.scene / "scene.usda" if args.scene.is_dir() else args.scene
    summary = scene_summary(path)
    if args.validate:
        result = validate_stage(path)
        summary["validation"] = {"errors": list(result.errors), "warnings": list(result.warnings)}
    if args.preview is not None:
        from ._previews import write_depth_previews

        written = write_depth_previews(path, args.preview)
        summary["previews"] = {"folder": str(args.preview), "count": len(written)}
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print(format_scene_info(path, summary))
    if args.validate and summary["validation"]["errors"]:
        return 1
    return 0


_COMMANDS = {"reconstruct": _cmd_reconstruct, "render": _cmd_render, "info": _cmd_info}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    _setup_logging(args.debug, args.verbose, args.quiet)
    try:
        return _COMMANDS[args.command](args)
    except SceneForgeError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted; finished stages are kept in the run folder and a re-run resumes", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI turns every unexpected failure into one line
        if args.debug:
            raise
        print(f"internal error: {exc.__class__.__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
