"""The argument parser of every subcommand; ``reconstruct``'s options are generated from its config."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ..pipeline import ExportConfig, RenderConfig
from ..registry import REFINERS, add_config_arguments
from ._batch import add_batch_parser
from ._edit import add_edit_parser
from ._models import add_models_parser
from ._options import Parser, add_backend_options, add_reconstruct_options, backend_options_from_args
from ._view import add_view_parser

__all__ = ["build_parser", "backend_options_from_args", "VERSION"]

VERSION = "0.1.0"

def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand (also used to check the CLI surface in tests)."""
    parser = Parser(
        prog="sceneforge",
        description="Turn a video into an editable USD scene: camera track, depth, objects; edit it; re-render it.",
        epilog="Run 'sceneforge COMMAND --help' for the options of one command.",
    )
    parser.add_argument("--version", action="version", version=f"sceneforge {VERSION}")
    _add_general_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_reconstruct_parser(sub)
    add_batch_parser(sub)
    _add_render_parser(sub)
    add_edit_parser(sub)
    _add_export_parser(sub)
    _add_info_parser(sub)
    add_models_parser(sub)
    add_view_parser(sub)
    for command in sub.choices.values():
        # the same options after the command too (``sceneforge render ... -v``); suppressed
        # defaults, so that one given before the command is not reset by the command's parser
        _add_general_options(command.add_argument_group("general options"), default=argparse.SUPPRESS)
    return parser


def _add_general_options(parser: Any, *, default: Any = False) -> None:
    parser.add_argument("--debug", action="store_true", default=default, help="show full tracebacks and debug logging")
    parser.add_argument("-v", "--verbose", action="store_true", default=default, help="log what each stage does")
    parser.add_argument("-q", "--quiet", action="store_true", default=default,
                        help="only print errors (no progress bars, no summary)")
    parser.add_argument(
        "--allow-outside-assets", action="store_true", default=default,
        help="let a scene make SceneForge read textures and per-frame files outside the scene's own folder "
             "(refused by default: a scene is a text file anyone can write; use only for scenes you trust)",
    )


def _add_reconstruct_parser(sub: Any) -> None:
    rec = sub.add_parser(
        "reconstruct",
        help="solve the camera of a clip and write a USD scene",
        description=(
            "Reconstruct a clip into a USD scene: reads the frames, solves one camera per frame "
            "(COLMAP on keyframes, every other frame localized against the map), aligns the world "
            "(+Y up, origin at the scene centre), estimates dense depth for every frame, fuses it into a "
            "textured background mesh, and writes OUTPUT/scene.usda with its layers, OUTPUT/report.json "
            "with the solve report, and OUTPUT/run/ with depth maps and resumable stage results. "
            "Every stage's backend is chosen by name (--solver, --depth, --fusion, --texture, --segmenter, "
            "--tracker, --proposer) and takes its own options as --STAGE.OPTION VALUE."
        ),
        epilog="Example: sceneforge reconstruct clip.mp4 -o shot/ --max-size 960 --depth.num-planes 96",
        usage="sceneforge reconstruct INPUT -o OUTPUT [options]",
    )
    add_reconstruct_options(rec)


def _add_render_parser(sub: Any) -> None:
    ren = sub.add_parser(
        "render", help="render a scene, edits included, composited over its footage (or as CG)",
        description=(
            "Render a scene through a USD camera — the plate camera by default — for every frame of the shot "
            "or a range. By default the edited scene is composited over the original footage: untouched pixels "
            "are the plate, what an edit reveals is reprojected from other frames, what no frame saw is invented "
            "once and kept consistent over time, moved or inserted objects are drawn with a depth test (inserted "
            "assets lit by the shot's light probe and lights, with contact shadows), a changed camera path is "
            "rendered from the nearest frames, and a refiner polishes only what changed (--refiner). "
            "--mode cg renders the meshes alone. "
            "Writes H.264 MP4, PNG or OpenEXR sequences (with depth, object id, coverage and source passes), "
            "or ProRes 4444."
        ),
        epilog=(
            "Examples: sceneforge render shot/ -o edit.mp4 --start 10 --end 60; "
            "sceneforge render shot/ -o edit.mp4 --refiner diffusion --refiner-model ./sd-inpaint-depth --refiner.steps 30"
        ),
    )
    add_config_arguments(ren, RenderConfig)
    for action in ren._actions:  # noqa: SLF001 - argparse keeps no public list of actions
        if action.dest == "refiner":
            action.help = f"{action.help}: " + "; ".join(f"{k}: {v}" for k, v in REFINERS.describe().items())
    add_backend_options(ren, REFINERS)


def _add_export_parser(sub: Any) -> None:
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
    add_config_arguments(exp, ExportConfig)


def _add_info_parser(sub: Any) -> None:
    info = sub.add_parser(
        "info", help="describe a SceneForge scene",
        description="Print a scene's frames, fps, camera, sparse points and solve error (and check it with USD's validators).",
    )
    info.add_argument("scene", type=Path, help="a scene.usda (or the shot folder holding it)")
    info.add_argument("--json", action="store_true", help="print machine-readable JSON")
    info.add_argument("--validate", action="store_true", help="also run USD's validators on the stage")
    info.add_argument("--preview", type=Path, default=None, metavar="DIR", help="write coloured previews of the depth maps and the light probe's map (light_probe.png) into DIR")


