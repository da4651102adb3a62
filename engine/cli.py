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
from typing import Any

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
    obj = rec.add_argument_group("objects")
    obj.add_argument(
        "--object", dest="objects", action="append", default=[], metavar="NAME=PROMPT@FRAME",
        help="an object to segment and track, prompted on one source frame in source-video pixels: "
        "NAME=box:x0,y0,x1,y1@F, NAME=points:x,y,+;x,y,-@F (+ on the object, - off it) or NAME=mask:file.png@F "
        "(non-zero pixels); repeat for more objects. Without any, objects are proposed from the geometry",
    )
    obj.add_argument("--no-objects", action="store_true", help="no objects: neither prompts nor proposals; everything is background")
    obj.add_argument(
        "--keep-moving-in-solve", action="store_true",
        help="do not solve the camera again without objects found to move (faster; the moving pixels may bias the camera)",
    )
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
    ren.add_argument("--no-fill", action="store_true", help="leave pixels no geometry covers black instead of filling them from their surroundings")

    _add_edit_parser(sub)

    from sceneforge.scenegraph import EXPORT_FORMATS

    exp = sub.add_parser(
        "export", help="export a scene (edits included) to GLB, COLMAP, nerfstudio, Nuke .chan or PLY",
        description=(
            "Export a scene as other tools read it: glb (meshes with textures and the plate camera, metres, +Y up), "
            "colmap (a text model folder: cameras.txt, images.txt, points3D.txt), nerfstudio (transforms.json, "
            "OpenCV lens), chan (a Nuke camera: frame tx ty tz rx ry rz vfov, degrees, ZXY), ply (the sparse points "
            "with colours). Edits in edits.usda are included."
        ),
        epilog="Example: sceneforge export shot/scene.usda --to colmap -o shot_colmap/ --images",
    )
    exp.add_argument("scene", type=Path, help="a scene.usda (or the shot folder holding it)")
    exp.add_argument("--to", required=True, choices=EXPORT_FORMATS, help="the format to write")
    exp.add_argument("-o", "--output", type=Path, required=True, help="the file to write (a folder for colmap)")
    exp.add_argument("--camera", default="/World/Cameras/Plate", help="the USD camera to export (default /World/Cameras/Plate)")
    exp.add_argument("--time", type=float, default=None, help="glb: the source frame whose camera pose is written (default: the first)")
    exp.add_argument(
        "--images", action="store_true",
        help="colmap/nerfstudio: also decode the scene's source clip and write its frames as PNGs into an "
        "'images' folder beside the export (the names the export references)",
    )
    exp.add_argument("--force", action="store_true", help="overwrite an existing output")

    info = sub.add_parser(
        "info", help="describe a SceneForge scene",
        description="Print a scene's frames, fps, camera, sparse points and solve error (and check it with USD's validators).",
    )
    info.add_argument("scene", type=Path, help="a scene.usda (or the shot folder holding it)")
    info.add_argument("--json", action="store_true", help="print machine-readable JSON")
    info.add_argument("--validate", action="store_true", help="also run USD's validators on the stage")
    info.add_argument("--preview", type=Path, default=None, metavar="DIR", help="write coloured previews of the depth maps into DIR")
    return parser


def _vector(size: int):
    """An argparse type: ``size`` comma-separated numbers (``0.4,0,0``)."""

    def parse(text: str) -> list[float]:
        try:
            values = [float(v) for v in text.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {size} comma-separated numbers, got {text!r}") from None
        if len(values) != size:
            raise argparse.ArgumentTypeError(f"expected {size} comma-separated numbers, got {text!r}")
        return values

    return parse


def _number_or_vector(text: str) -> float | list[float]:
    return _vector(3)(text) if "," in text else _vector(1)(text)[0]


def _add_edit_parser(sub: Any) -> None:
    edit = sub.add_parser(
        "edit", help="edit a scene: move, rotate, delete, insert objects, move the camera",
        description=(
            "Edit a scene non-destructively: every edit is written to the shot's edits.usda, never to "
            "reconstruction.usda (reset NAME drops an object's edits). Give one edit as a subcommand, or "
            "replay a list with --apply (a JSON edit list or a Python script that gets the open `scene`). "
            "Negative vectors need '=': --by=-0.4,0,0."
        ),
        epilog=(
            "Examples: sceneforge edit shot/ move chair --by 0.4,0,0 | sceneforge edit shot/ camera orbit --deg 15 | "
            "sceneforge edit shot/ insert teapot.glb --name teapot | sceneforge edit shot/ --apply edits.json"
        ),
    )
    edit.add_argument("scene", type=Path, help="a scene.usda (or the shot folder holding it)")
    edit.add_argument("--apply", type=Path, default=None, metavar="FILE", help="replay a JSON edit list (see docs) or run a Python script with `scene` defined")
    edit.add_argument("--dry-run", action="store_true", help="apply and report the edits, but do not save them")
    ops = edit.add_subparsers(dest="op", metavar="EDIT", help="the edit to make (each has its own --help)")
    # One positional for the thing edited, then the op's own options.
    p = ops.add_parser("move", help="move an object", description="Move an object by an offset or to a position (scene units, world axes).")
    p.add_argument("name", help="the object (or 'background', or a light)")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--by", type=_vector(3), help="offset dx,dy,dz")
    where.add_argument("--to", type=_vector(3), help="position x,y,z of the object's origin")
    p = ops.add_parser("rotate", help="rotate an object", description="Rotate an object about the world X, then Y, then Z axis, about its bounding-box centre.")
    p.add_argument("name", help="the object")
    for axis in "xyz":
        p.add_argument(f"--{axis}-deg", type=float, default=0.0, help=f"degrees about world {axis.upper()} (default 0)")
    p.add_argument("--about", choices=["center", "origin"], default="center", help="rotate about the bounding-box centre or the object's origin (default center)")
    p = ops.add_parser("scale", help="scale an object", description="Scale an object about its bounding-box centre.")
    p.add_argument("name", help="the object")
    p.add_argument("--by", type=_number_or_vector, required=True, help="a factor, or sx,sy,sz along the object's axes")
    for op, text in (("delete", "delete (deactivate) an object; reset brings it back"), ("hide", "hide an object"),
                     ("show", "show a hidden object"), ("reset", "drop every edit of an object ('camera' for the camera)")):
        p = ops.add_parser(op, help=text, description=text[0].upper() + text[1:] + ".")
        p.add_argument("name", help="the object")
    p = ops.add_parser("color", help="set an object's base colour", description="Set the base colour of an object's material (linear RGB 0..1).")
    p.add_argument("name", help="the object")
    p.add_argument("--rgb", type=_vector(3), required=True, help="r,g,b in 0..1")
    p = ops.add_parser("duplicate", help="copy an object", description="Copy an object under a new name, in the same place.")
    p.add_argument("name", help="the object")
    p.add_argument("--as", dest="new_name", required=True, help="the copy's name")
    p = ops.add_parser("rename", help="rename an object", description="Give an object a new name.")
    p.add_argument("name", help="the object")
    p.add_argument("--to", dest="new_name", required=True, help="the new name")
    p = ops.add_parser(
        "insert", help="insert an asset (glTF/GLB, OBJ, PLY, USD)",
        description="Insert an asset as a new object, standing on the ground plane (y = 0) where the camera looks unless told otherwise. glTF is metres; OBJ/PLY are taken as metres unless --units-m says otherwise.",
    )
    p.add_argument("asset", type=Path, help="the asset file")
    p.add_argument("--name", required=True, help="the new object's name")
    p.add_argument("--at", type=_vector(2), default=None, help="ground point x,z under the asset's centre (default: where the camera looks)")
    p.add_argument("--keep-height", action="store_true", help="do not stand it on the ground; keep the asset's own height")
    p.add_argument("--scale-to", type=_positive_float, default=None, help="scale so the longest side is this many scene units")
    p.add_argument("--units-m", type=_positive_float, default=None, help="metres per asset unit (overrides the format's)")
    p = ops.add_parser("light", help="add a light", description="Add a UsdLux light.")
    p.add_argument("name", help="the light's name")
    p.add_argument("--kind", choices=["distant", "sphere", "dome"], default="distant", help="light type (default distant)")
    p.add_argument("--intensity", type=float, default=1.0, help="intensity (default 1)")
    p.add_argument("--color", type=_vector(3), default=(1.0, 1.0, 1.0), help="linear r,g,b (default 1,1,1)")
    cam = ops.add_parser(
        "camera", help="change the camera path",
        description="Change the plate camera's path progressively over the shot (nothing at the first frame, all of it at the last).",
    )
    moves = cam.add_subparsers(dest="move", metavar="MOVE", required=True, help="the camera move (each has its own --help)")
    for move, text, option, meaning in (
        ("orbit", "orbit around what the camera looks at", "--deg", "degrees around the up axis"),
        ("dolly", "move along the view direction", "--by", "distance in scene units (negative: back)"),
        ("push-in", "push in along the view direction", "--by", "distance in scene units"),
        ("pan", "turn left/right about the camera's up axis", "--deg", "degrees (positive: right)"),
        ("tilt", "turn up/down about the camera's right axis", "--deg", "degrees (positive: up)"),
        ("crane", "move up/down along world +Y", "--by", "height in scene units"),
        ("zoom", "change the focal length", "--factor", "focal length × this at the end"),
    ):
        m = moves.add_parser(move, help=text, description=text[0].upper() + text[1:] + ".")
        m.add_argument(option, dest="amount", type=float, required=True, help=meaning)
        m.add_argument("--range", type=_vector(2), default=None, metavar="START,END", help="source frames the move spans (default: the whole shot)")
        m.add_argument("--ease", choices=["linear", "smooth"], default="linear", help="how the move accelerates (default linear)")
        if move == "orbit":
            m.add_argument("--pivot", type=_vector(3), default=None, help="world point to orbit (default: what the first frame looks at)")
    m = moves.add_parser("ken-burns", help="a slow push-in/pan from one frame's view", description="Replace the path by a slow push-in and pan starting from one frame's camera.")
    m.add_argument("--frame", type=int, required=True, help="the source frame whose camera starts the move")
    m.add_argument("--frames", dest="num_frames", type=_positive_int, default=None, help="how many frames the move takes (default: the whole shot)")
    m.add_argument("--push-in", type=float, default=None, help="distance pushed in, scene units (default: a tenth of what the camera looks at)")
    m.add_argument("--pan-deg", type=float, default=0.0, help="degrees panned over the move (default 0)")
    m.add_argument("--ease", choices=["linear", "smooth"], default="smooth", help="how the move accelerates (default smooth)")
    ops.add_parser("list", help="list objects, lights, cameras and the edits so far", description="List the scene's objects, lights and cameras, and every edit in edits.usda.")


_CAMERA_AMOUNT = {"orbit": "degrees", "dolly": "distance", "push-in": "distance", "pan": "degrees", "tilt": "degrees", "crane": "height", "zoom": "factor"}


def _edit_op_from_args(args: argparse.Namespace) -> dict[str, Any] | None:
    """The edit list entry one ``sceneforge edit`` subcommand stands for (None for ``list``)."""
    op = args.op
    if op == "move":
        return {"op": "move", "object": args.name, **({"by": args.by} if args.by is not None else {"to": args.to})}
    if op == "rotate":
        return {"op": "rotate", "object": args.name, "x_deg": args.x_deg, "y_deg": args.y_deg, "z_deg": args.z_deg, "about": args.about}
    if op == "scale":
        return {"op": "scale", "object": args.name, "by": args.by}
    if op in ("delete", "reset"):
        return {"op": op, "object": args.name}
    if op in ("hide", "show"):
        return {"op": "show", "object": args.name, "visible": op == "show"}
    if op == "color":
        return {"op": "color", "object": args.name, "rgb": args.rgb}
    if op == "duplicate":
        return {"op": "duplicate", "object": args.name, "as": args.new_name}
    if op == "rename":
        return {"op": "rename", "object": args.name, "to": args.new_name}
    if op == "insert":
        out = {"op": "insert", "asset": str(args.asset), "name": args.name, "on": None if args.keep_height else "ground"}
        if args.at is not None:
            out["position"] = args.at
        if args.scale_to is not None:
            out["scale_to"] = args.scale_to
        if args.units_m is not None:
            out["units_m"] = args.units_m
        return out
    if op == "light":
        return {"op": "light", "name": args.name, "kind": args.kind, "intensity": args.intensity, "color": list(args.color)}
    if op == "camera":
        if args.move == "ken-burns":
            out = {"op": "camera", "move": "ken_burns", "frame": args.frame, "pan_deg": args.pan_deg, "ease": args.ease}
            if args.num_frames is not None:
                out["num_frames"] = args.num_frames
            if args.push_in is not None:
                out["push_in"] = args.push_in
            return out
        out = {"op": "camera", "move": args.move.replace("-", "_"), _CAMERA_AMOUNT[args.move]: args.amount, "ease": args.ease}
        if args.range is not None:
            out["frames"] = [int(v) for v in args.range]
        if getattr(args, "pivot", None) is not None:
            out["pivot"] = args.pivot
        return out
    return None


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

    if args.no_objects and args.objects:
        from sceneforge.scenegraph import InputError

        raise InputError("--no-objects and --object contradict each other; drop one")
    config = ReconstructConfig(
        input=args.input, output=args.output, start=args.start, end=args.end, stride=args.stride,
        max_size=args.max_size or None, fps=args.fps, pattern=args.pattern, solver=args.solver,
        focal_px=args.focal, intrinsics_file=args.intrinsics, refine_principal_point=args.refine_principal_point,
        lens=args.lens, camera_per_frame=args.camera_per_frame, mask=args.mask, depth=args.depth,
        background=not args.no_background, max_triangles=args.max_triangles, texture_size=args.texture_size,
        objects=tuple(args.objects), propose_objects=not args.no_objects, solve_without_moving=not args.keep_moving_in_solve,
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
        scene=args.scene, output=args.output, camera=args.camera, start=args.start, end=args.end, force=args.force,
        fill=not args.no_fill,
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
            + ("" if args.no_fill else ", the rest filled from their surroundings")
        )
    return 0


def _cmd_edit(args: argparse.Namespace) -> int:
    from sceneforge.scenegraph import InputError, Scene, apply_edits, read_edit_list

    if args.apply is None and args.op is None:
        raise InputError("give one edit (e.g. 'move chair --by 0.4,0,0') or --apply FILE; see 'sceneforge edit --help'")
    if args.apply is not None and args.op is not None:
        raise InputError(f"give either one edit or --apply, got both ({args.op} and --apply {args.apply})")
    scene = Scene.open(args.scene)
    before = len(scene.diff())
    if args.op == "list":
        _print_scene_listing(scene)
        return 0
    if args.apply is not None and args.apply.suffix.lower() == ".py":
        import runpy

        if not args.apply.is_file():
            raise InputError(f"edit script {str(args.apply)!r} does not exist")
        with scene._recording(f"run {args.apply.name}"):  # noqa: SLF001 - one step, undone whole on failure
            try:
                runpy.run_path(str(args.apply), init_globals={"scene": scene}, run_name="__sceneforge_edit__")
            except SceneForgeError:
                raise
            except Exception as exc:
                raise InputError(f"edit script {args.apply} failed: {exc.__class__.__name__}: {exc}") from exc
        done = [f"ran {args.apply}"]
    elif args.apply is not None:
        done = apply_edits(scene, read_edit_list(args.apply), base_dir=args.apply.parent)
    else:
        done = apply_edits(scene, [_edit_op_from_args(args)])
    if not args.dry_run:
        scene.save()
    if not args.quiet:
        for line in done:
            print(line)
        edits = scene.diff()
        verb = "would leave" if args.dry_run else "saved;"
        print(f"{verb} {len(edits)} opinions in {scene.folder / 'edits.usda'} (was {before})")
    return 0


def _print_scene_listing(scene: Any) -> None:
    print(f"{scene.path}: frames {scene.frame_range[0]}–{scene.frame_range[1]} at {scene.fps:g} fps")
    for title, handles in (("objects", scene.objects), ("lights", scene.lights), ("cameras", scene.cameras)):
        names = list(handles)
        print(f"{title}: {', '.join(names) if names else '(none)'}")
    removed = list(scene.removed_objects)
    if removed:
        print(f"removed objects: {', '.join(removed)}")
    edits = scene.diff()
    print(f"edits ({len(edits)}):")
    for edit in edits:
        print(f"  {edit}")


def _cmd_export(args: argparse.Namespace) -> int:
    from ._export_job import ExportConfig, export_job
    from ._progress import ProgressBars

    config = ExportConfig(
        scene=args.scene, output=args.output, to=args.to, time=args.time, camera=args.camera,
        images=args.images, force=args.force,
    )
    bars = ProgressBars(enabled=False if args.quiet else None)
    try:
        result = export_job(config, progress=bars)
    finally:
        bars.close()
    if not args.quiet:
        extra = f", {result.num_images} images in {result.images}" if result.images is not None else ""
        print(f"Exported {args.scene} as {result.to} to {result.output}{extra}")
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


_COMMANDS = {"reconstruct": _cmd_reconstruct, "render": _cmd_render, "edit": _cmd_edit, "export": _cmd_export, "info": _cmd_info}


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
