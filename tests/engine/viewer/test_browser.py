"""The viewer in a real browser (headless chromium, WebGL in software): the page loads and draws
the scene, a click on an object selects it, a scripted drag of its gizmo's arrow moves the
object in ``edits.usda``, and the "undo" button puts it back.

Where things land on the page is computed, not guessed: the test puts the browser's camera
where it wants it (looking at the object from the plate camera's side, so nothing stands
between), reads back the camera the client reports and projects world points to page pixels
(``_browser.project_to_page``). The gizmo is drei's PivotControls: each translation arrow is
an invisible pick cylinder from the gizmo's centre to ``scale`` along its axis (radius
``0.07·scale``), with rotation arcs at ``0.65·scale`` between the axes; the drag grabs the
arrow at ``0.9·scale``, past the arcs, and pulls it back towards the centre so that it stays
on the canvas, clear of the GUI panel. The press waits until the arrow under the pointer changes to
drei's hover colour: with software WebGL running behind, an early press can miss the arrow.

Both tests skip when Playwright or a system chromium is absent (see ``_browser.py``).
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path

import numpy as np
import pytest

from sceneforge.scenegraph import Scene
from tests.engine.viewer._browser import (
    canvas_box,
    canvas_statistics,
    drag,
    look_at_object,
    patch_changed,
    project_to_page,
    screenshot_patch,
    wait_for_viser_page,
    wait_until,
)

pytestmark = pytest.mark.browser

DRAG_START_ON_ARROW = 0.9
"""Where the drag grabs the arrow, as a share of the gizmo's scale (past the rotation arcs at 0.65)."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture()
def viewer(edited_shot: Path):
    """A started :class:`SceneViewer` of a private copy of the demo scene; stopped afterwards."""
    from sceneforge.engine.viewer import SceneViewer, ViewerState

    started = SceneViewer(ViewerState.load(edited_shot))
    started.start("127.0.0.1", _free_port())
    yield started
    started.stop()


def _translation(shot: Path, name: str, frame: int) -> np.ndarray:
    """The object's world translation at ``frame`` as saved in the shot's files.

    Read from a copy of the scene's layers: a ``Scene.open(shot)`` in this process would share
    the viewer's open layers (USD keeps one layer per file per process) and see edits not yet saved.
    """
    with tempfile.TemporaryDirectory(prefix="sceneforge-saved-") as folder:
        for layer in ("scene.usda", "edits.usda", "reconstruction.usda"):
            shutil.copy(shot / layer, Path(folder) / layer)
        return Scene.open(folder).objects[name].get_world_from_local(frame)[:3, 3].copy()


def _object_points_in_world(viewer, name: str) -> np.ndarray:
    view = viewer.state.object_view(name)
    vertices = np.concatenate([part.vertices for part in view.parts]).astype(np.float64)
    return vertices @ view.world_from_node[:3, :3].T + view.world_from_node[:3, 3]


def _on_canvas(page, pixel: np.ndarray) -> bool:
    """True when the page shows the 3D canvas at ``pixel`` (not the GUI panel floating over it)."""
    tag = page.evaluate("([x, y]) => document.elementFromPoint(x, y)?.tagName ?? ''", [float(pixel[0]), float(pixel[1])])
    return tag.upper() == "CANVAS"


def test_page_loads_and_draws_the_scene(viewer, page):
    client = wait_for_viser_page(page, viewer.url, viewer.server)
    box = canvas_box(page)
    assert box["width"] > 500 and box["height"] > 300, box
    name = viewer.state.objects[0]
    look_at_object(viewer, client, name, sizes_away=1.6)
    stats = canvas_statistics(page.screenshot())
    # the demo room fills the view: a blank canvas would be one flat colour
    assert stats.std > 10.0, stats
    assert stats.foreground_share > 0.3, stats
    assert page.get_by_role("button", name="undo", exact=True).is_visible()


def test_click_select_drag_gizmo_and_undo(viewer, page, edited_shot, tmp_path):
    client = wait_for_viser_page(page, viewer.url, viewer.server)
    name = viewer.state.objects[0]
    frame = viewer.state.frame
    before = _translation(edited_shot, name, frame)
    look_at_object(viewer, client, name, sizes_away=1.6)

    # click the object where most of its vertices land (its bounding box's centre may be empty)
    click_px = np.median(project_to_page(client, page, _object_points_in_world(viewer, name)), axis=0)
    page.mouse.click(*click_px)
    wait_until(lambda: viewer.selected == name and viewer.gizmo is not None, timeout_secs=10, what=f"a click to select {name}")
    page.wait_for_timeout(500)  # the gizmo's pick meshes reach the client

    # drag the longest-looking arrow that is not under the GUI panel back towards the centre by
    # a quarter of the object's size (so the drag stays on the canvas)
    centre = viewer.gizmo.position.copy()
    scale = float(viewer.gizmo.scale)
    move = -0.25 * max(viewer.state.object_info(name).size or (scale,))
    base_px = project_to_page(client, page, centre)[0]
    candidates = []
    for axis in np.eye(3):
        grab = centre + DRAG_START_ON_ARROW * scale * axis
        start_px, end_px = project_to_page(client, page, np.stack([grab, grab + move * axis]))
        if _on_canvas(page, start_px):
            candidates.append((float(np.linalg.norm(start_px - base_px)), axis, start_px, end_px))
    assert candidates, "every arrow of the gizmo is hidden under the GUI panel"
    length_px, axis, start_px, end_px = max(candidates, key=lambda c: c[0])
    assert length_px > 60, f"the gizmo's arrows are too short on screen to grab: {length_px:.0f} px"
    unhovered = screenshot_patch(page, start_px)  # the arrow's own colour, to see it turn hover-yellow
    phases: list[str] = []
    viewer.gizmo.on_update(lambda event: phases.append(event.phase))
    try:
        drag(page, start_px, end_px, ready=lambda: patch_changed(page, start_px, unhovered))
    except TimeoutError as exc:
        page.screenshot(path=str(tmp_path / "drag.png"))
        raise AssertionError(f"{exc}: the arrow never showed its hover colour there; screenshot {tmp_path / 'drag.png'}") from None

    def saved_move() -> tuple[float, ...] | None:
        now = _translation(edited_shot, name, frame)
        return None if np.allclose(now, before, atol=1e-6) else tuple(now)

    try:
        moved = wait_until(saved_move, timeout_secs=10, what="", interval_secs=0.25)
    except TimeoutError:
        page.screenshot(path=str(tmp_path / "drag.png"))
        raise AssertionError(
            f"the drag of the {'xyz'[int(np.argmax(axis))]} arrow from {start_px.round()} to {end_px.round()} px was not "
            f"saved: the gizmo reported {phases or 'nothing'}; the viewer says {viewer.state.status!r}; "
            f"screenshot {tmp_path / 'drag.png'}"
        ) from None
    delta = np.asarray(moved) - before
    assert np.dot(delta, axis) == pytest.approx(move, rel=0.2), (delta, axis, move)
    assert np.linalg.norm(delta - np.dot(delta, axis) * axis) < 0.05 * abs(move), f"moved off the dragged axis: {delta}"
    assert viewer.selected == name

    page.get_by_role("button", name="undo", exact=True).click()
    wait_until(
        lambda: np.allclose(_translation(edited_shot, name, frame), before, atol=1e-6),
        timeout_secs=10, what="undo to restore the saved transform", interval_secs=0.25,
    )
