"""``sceneforge edit``: one edit as a subcommand, or an edit list / Python script replayed on the scene."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sceneforge.scenegraph import InputError, Scene, SceneForgeError, apply_edits, read_edit_list
from sceneforge.scenegraph.edit import edits_lock

from ..registry import int_at_least, positive_float

__all__ = ["add_edit_parser", "cmd_edit", "edit_op_from_args"]

_positive_int = int_at_least(1)
_positive_float = positive_float


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


def add_edit_parser(sub: Any) -> None:
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
    edit.add_argument(
        "--apply", type=Path, default=None, metavar="FILE",
        help="replay a JSON edit list (see docs) or run a Python script with `scene` defined; a script is trusted "
             "code: it runs in this process with your permissions and can do anything, so run only scripts you trust",
    )
    edit.add_argument("--dry-run", action="store_true",
                      help="apply and report the edits, but do not save them (not for Python scripts: their side "
                           "effects cannot be held back)")
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
    p.add_argument("--at", type=_vector(2), default=None, help="ground point x,z under the asset's centre (default: where the camera looks); write --at=-1.5,2 when x is negative")
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
    p = ops.add_parser(
        "scale-scene", help="set how many metres a scene unit is",
        description=(
            "Rescale the whole scene to true metres: the stage's metersPerUnit changes (recorded in edits.usda, "
            "mirrored into scene.usda), the reconstruction does not. Measured on the reconstruction from a known "
            "distance between two pixels of a source frame, or the camera's height above the ground plane, or given."
        ),
        epilog="Example: sceneforge edit shot/ scale-scene --distance 12:410,300,520,310=0.9",
    )
    rule = p.add_mutually_exclusive_group(required=True)
    rule.add_argument("--distance", metavar="F:x1,y1,x2,y2=M",
                      help="two source-video pixels of source frame F whose 3D points lie M metres apart")
    rule.add_argument("--camera-height", type=_positive_float, metavar="M",
                      help="the camera was held M metres above the ground plane the solve found")
    rule.add_argument("--meters-per-unit", type=_positive_float, metavar="X", help="one scene unit is X metres")
    ops.add_parser("list", help="list objects, lights, cameras and the edits so far", description="List the scene's objects, lights and cameras, and every edit in edits.usda.")


_CAMERA_AMOUNT = {"orbit": "degrees", "dolly": "distance", "push-in": "distance", "pan": "degrees", "tilt": "degrees", "crane": "height", "zoom": "factor"}


def edit_op_from_args(args: argparse.Namespace) -> dict[str, Any] | None:
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
    if op == "scale-scene":
        from sceneforge.engine.pipeline import scale_of_scene

        if args.distance is not None:
            rule = f"distance={args.distance}"
        elif args.camera_height is not None:
            rule = f"camera-height={args.camera_height}"
        else:
            rule = f"meters-per-unit={args.meters_per_unit}"
        metres, metric, how = scale_of_scene(args.scene, rule)
        return {"op": "scale_scene", "meters_per_unit": metres, "metric": metric, "how": how}
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


def cmd_edit(args: argparse.Namespace) -> int:
    if args.apply is None and args.op is None:
        raise InputError("give one edit (e.g. 'move chair --by 0.4,0,0') or --apply FILE; see 'sceneforge edit --help'")
    if args.apply is not None and args.op is not None:
        raise InputError(f"give either one edit or --apply, got both ({args.op} and --apply {args.apply})")
    if args.op == "list":
        scene = Scene.open(args.scene)
        _print_scene_listing(scene)
        return 0
    folder = Path(args.scene) if Path(args.scene).is_dir() else Path(args.scene).parent
    if not folder.is_dir():
        Scene.open(args.scene)  # raises the usual one-line error for a missing scene
    with edits_lock(folder):
        # opened inside the lock: an edit saved by another writer while this one waited is read
        return _edit_locked(args, Scene.open(args.scene))


def _edit_locked(args: argparse.Namespace, scene: Scene) -> int:
    """The read-modify-write of one ``sceneforge edit``, under the shot's edits lock."""
    before = len(scene.diff())
    if args.apply is not None and args.apply.suffix.lower() == ".py" and args.dry_run:
        raise InputError(
            f"--dry-run cannot preview {args.apply.name}: a Python script is code and would run with all its side "
            "effects; read it, or use a JSON edit list for a dry run"
        )
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
        done = apply_edits(scene, [edit_op_from_args(args)])
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
    units = scene.units
    print(f"units: {units['meters_per_unit']:.4g} m per unit ({'metric' if units['metric'] else 'not metric'}"
          + (f"; {units['how']})" if units["how"] else ")"))
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
