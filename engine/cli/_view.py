"""``sceneforge view``: the scene in a local web viewer (viser), editable, until Ctrl-C."""

from __future__ import annotations

import argparse
import threading
from pathlib import Path
from typing import Any

__all__ = ["add_view_parser", "cmd_view"]


def add_view_parser(sub: Any) -> None:
    view = sub.add_parser(
        "view", help="open a scene in a local web viewer and edit it there",
        description=(
            "Serve the scene as USD composes it (edits included) in a web page: background, objects (moving ones "
            "play back), sparse points, the plate camera with its footage, a timeline. Click an object to select "
            "it, drag the gizmo to move or rotate it; delete, duplicate, reset, undo, insert assets, move the "
            "camera, render a preview. Every edit is saved to edits.usda at once; edits made elsewhere (sceneforge "
            "edit) show up. Binds to 127.0.0.1 unless --host says otherwise. Ctrl-C stops it."
        ),
        epilog="Example: sceneforge view shot/  (then open the printed URL)",
    )
    view.add_argument("scene", type=Path, help="a scene.usda (or the shot folder holding it)")
    view.add_argument("--host", default="127.0.0.1",
                      help="address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 lets anyone on the network see and edit the scene)")
    view.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080; the next free one when taken)")
    view.add_argument("--triangle-budget", type=int, default=200_000, help="most triangles per mesh sent to the browser (default 200000)")
    view.add_argument("--texture-size", type=int, default=1024, help="longest texture side sent to the browser, pixels (default 1024)")
    view.add_argument("--no-footage", action="store_true", help="do not decode the source clip (no frustum image, no look-through)")


def cmd_view(args: argparse.Namespace, *, stop: threading.Event | None = None) -> int:
    """Run the viewer until Ctrl-C (or until ``stop`` is set, for tests); returns the exit code."""
    from sceneforge.engine.viewer import SceneViewer, ViewerOptions, ViewerState

    options = ViewerOptions(triangle_budget=args.triangle_budget, texture_size=args.texture_size)
    state = ViewerState.load(args.scene, options, plate=not args.no_footage)
    viewer = SceneViewer(state)
    url = viewer.start(args.host, args.port)
    quiet = getattr(args, "quiet", False)
    if not quiet:
        print(f"Viewing {state.scene.path} at {url} (loaded in {state.load_seconds['total']:.1f} s); Ctrl-C stops")
    waiter = stop or threading.Event()
    try:
        while not waiter.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        viewer.stop()
    if not quiet:
        print("viewer stopped; every edit is saved in edits.usda")
    return 0
