"""Viewer benchmark: how long ``sceneforge view`` takes to show a scene in a real browser, and
screenshots of it for a person to look at.

The browser is Debian's chromium driven by Playwright for Python, headless, WebGL in software
(SwiftShader; see ``tests/engine/viewer/_browser.py``), at 1024×640 CSS px. Software rendering
on a shared CPU is far slower than a GPU: the draw times are an upper bound of what a person sees.

- ``demo``: the demo clip's scene (``--demo-shot PATH``, else reconstructed once from
  ``assets/demo/room.mp4`` at ``--max-size 320 --texture-size 512`` into OUT/viewer/demo).
  Screenshots: ``demo_default.png`` (the view a new page opens on), ``demo_selected.png``
  (the first object selected, its gizmo shown, the camera closer), ``demo_plate_camera.png``
  (looking through the plate camera, the footage over the scene), ``demo_render_preview.png``
  (after "render preview": the footage and the render in the panel).
- ``kitchen``: 300 frames of 7-Scenes kitchen (``--kitchen-shot PATH`` to an existing shot;
  else ``../shared/data/7scenes_kitchen`` reconstructed once with ``--pattern '*.color.jpg'
  --max-size 320`` into OUT/viewer/kitchen, which takes long on a CPU; skipped without the data).
  Screenshot: ``kitchen_default.png``.

Reported per scene: ``ViewerState.load``'s parts (open, background, objects, points, plate),
the server's start, the page's connection (canvas shown, websocket connected) and the first
draw (more than 5% of the canvas's left 60%, clear of the GUI panel, away from the background
colour; checked by screenshots, so to within about one screenshot's time).

    python -m tests.bench.bench_viewer --out bench_results [--kitchen-shot PATH]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.bench._common import ROOT, SHARED_DATA
from tests.bench._harness import Benchmark, Report, main, print_table

CASES = ["demo", "kitchen"]
KITCHEN_DATA = SHARED_DATA / "7scenes_kitchen"
SOFTWARE_WEBGL_NOTICE = "Software WebGL rendering detected"
FIRST_DRAW_SHARE = 0.05
"""Share of the canvas away from the background colour from which the scene counts as drawn."""


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--demo-shot", type=Path, default=None, help="an existing shot of the demo clip (default: reconstruct it into OUT/viewer/demo)")
    parser.add_argument("--kitchen-shot", type=Path, default=None, help="an existing shot of 7-Scenes kitchen (default: reconstruct it into OUT/viewer/kitchen)")


def _reconstruct(source: Path, shot: Path, *options: str) -> Path:
    if not (shot / "scene.usda").exists():
        print(f"reconstructing {source} into {shot} (once) ...", flush=True)
        done = subprocess.run(
            [sys.executable, "-m", "sceneforge.engine.cli", "reconstruct", str(source), "-o", str(shot), "--max-size", "320", "--force", *options],
            capture_output=True, text=True, cwd=ROOT,
        )
        if done.returncode != 0:
            raise RuntimeError(f"reconstructing {source} failed: {done.stderr.strip()[-2000:]}")
    return shot


def _shot(case: str, args: argparse.Namespace) -> Path | None:
    folder = args.out / "viewer"
    if case == "demo":
        return args.demo_shot or _reconstruct(ROOT / "assets" / "demo" / "room.mp4", folder / "demo", "--texture-size", "512")
    if args.kitchen_shot is not None:
        return args.kitchen_shot
    if not KITCHEN_DATA.is_dir():
        return None
    return _reconstruct(KITCHEN_DATA, folder / "kitchen", "--pattern", "*.color.jpg")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_first_draw(page: Any, *, timeout_secs: float = 120.0) -> tuple[float, Any]:
    """Seconds until the canvas shows the scene, and the last screenshot's statistics."""
    from tests.engine.viewer._browser import canvas_box, canvas_statistics

    start = time.perf_counter()
    while True:
        box = canvas_box(page)
        # the left 60% of the canvas: the GUI panel floats over the right
        clip = {"x": box["x"], "y": box["y"], "width": 0.6 * box["width"], "height": box["height"]}
        stats = canvas_statistics(page.screenshot(clip=clip))
        if stats.foreground_share > FIRST_DRAW_SHARE or time.perf_counter() - start > timeout_secs:
            return time.perf_counter() - start, stats
        time.sleep(0.2)


def _settle(page: Any, secs: float = 1.5) -> None:
    page.wait_for_timeout(secs * 1000)


def run_case(case: str, args: argparse.Namespace) -> dict[str, Any]:
    from sceneforge.engine.viewer import SceneViewer, ViewerState
    from tests.engine.viewer._browser import (
        browser_unavailable, dismiss_notification, launch_chromium, look_at_object, wait_for_viser_page, wait_until,
    )

    reason = browser_unavailable()
    if reason is not None:
        return {"skipped": reason}
    shot = _shot(case, args)
    if shot is None:
        return {"skipped": f"no --kitchen-shot and the real data folder {KITCHEN_DATA} is absent"}
    pictures = args.out / "viewer"
    pictures.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    state = ViewerState.load(shot)
    load_secs = time.perf_counter() - start
    viewer = SceneViewer(state)
    t = time.perf_counter()
    viewer.start("127.0.0.1", _free_port())
    result: dict[str, Any] = {
        "shot": str(shot), "frames": int(len(state.frame_numbers)), "objects": len(state.objects),
        "background_triangles": int(sum(len(part.faces) for part in state.background())),
        **{f"load_{part}_secs": secs for part, secs in state.load_seconds.items()},
        "state_load_secs": load_secs, "server_start_secs": time.perf_counter() - t,
    }
    screenshots = []
    try:
        with launch_chromium() as page:
            t = time.perf_counter()
            client = wait_for_viser_page(page, viewer.url, viewer.server, timeout_secs=120)
            result["page_connect_secs"] = time.perf_counter() - t
            result["first_draw_secs"], stats = _wait_for_first_draw(page)
            result["first_draw_secs"] += result["page_connect_secs"]
            result["first_draw_foreground_share"] = stats.foreground_share
            result["open_to_first_draw_secs"] = time.perf_counter() - start
            dismiss_notification(page, SOFTWARE_WEBGL_NOTICE)
            _settle(page)

            def shoot(label: str) -> None:
                path = pictures / f"{case}_{label}.png"
                page.screenshot(path=str(path))
                screenshots.append(str(path))

            shoot("default")
            if case == "demo" and state.objects:
                name = state.objects[0]
                viewer.click_object(name)
                wait_until(lambda: viewer.gizmo is not None, timeout_secs=10, what=f"{name}'s gizmo")
                look_at_object(viewer, client, name, sizes_away=2.5)
                _settle(page)
                shoot("selected")
                viewer.click_object(None)
                page.get_by_text("look through the plate camera").click()  # the GUI's checkbox, by its label
                wait_until(lambda: viewer.look_through, timeout_secs=10, what="look-through to turn on")
                _settle(page, 3.0)
                shoot("plate_camera")
                page.get_by_text("look through the plate camera").click()
                t = time.perf_counter()
                page.get_by_role("button", name="render preview", exact=True).click()
                wait_until(lambda: viewer.state.status.startswith(("rendered", "⚠")), timeout_secs=300, what="the render preview")
                result["render_preview_secs"] = time.perf_counter() - t
                result["render_preview_status"] = viewer.state.status
                _settle(page)
                images = page.locator("img").all()
                if images:
                    images[-1].scroll_into_view_if_needed()
                    _settle(page, 0.5)
                shoot("render_preview")
    finally:
        viewer.stop()
    result["screenshots"] = screenshots
    return result


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> Report:
    for row in results:
        if row.get("skipped"):
            print(f"{row['case']}: skipped ({row['skipped']})")
    shown = [r for r in results if not r.get("skipped")]
    table = print_table(
        "Viewer load (ViewerState.load parts, server start, page connect, first draw in headless chromium, SwiftShader WebGL)",
        shown,
        [("case", "case"), ("frames", "frames"), ("objects", "objects"), ("background_triangles", "bg tris"),
         ("load_open_secs", "open s"), ("load_background_secs", "bg s"), ("load_objects_secs", "objects s"),
         ("load_points_secs", "points s"), ("load_plate_secs", "plate s"), ("state_load_secs", "load s"),
         ("server_start_secs", "server s"), ("page_connect_secs", "connect s"), ("first_draw_secs", "draw s"),
         ("open_to_first_draw_secs", "total s"), ("render_preview_secs", "render s"), ("process_wall_secs", "process s")],
    )
    checks = {f"{r['case']} drawn": r.get("first_draw_foreground_share", 0.0) > FIRST_DRAW_SHARE for r in shown if r.get("ok")}
    return Report([table], checks=checks, also=f"; screenshots in {args.out / 'viewer'}")


BENCHMARK = Benchmark(
    name="viewer", module="tests.bench.bench_viewer", description=__doc__, cases=CASES, run_case=run_case, report=report,
    add_arguments=_add_arguments, forward=("--demo-shot", "--kitchen-shot"),
)

if __name__ == "__main__":
    sys.exit(main(BENCHMARK))
