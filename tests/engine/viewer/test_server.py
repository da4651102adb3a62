"""SceneViewer on a real viser server in this process: nodes, URL, GUI and gizmo callbacks
driven server-side, the file watcher, a clean stop, and the command line's host warning."""

from __future__ import annotations

import argparse
import logging
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import numpy as np
import pytest

pytest.importorskip("viser")

from sceneforge.engine.cli._view import add_view_parser, cmd_view  # noqa: E402
from sceneforge.engine.viewer import NODE_NAMES, SceneViewer, ViewerState, is_loopback  # noqa: E402
from sceneforge.scenegraph import Scene  # noqa: E402


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _nodes(viewer: SceneViewer) -> set[str]:
    return set(viewer.server.scene._handle_from_node_name)


@pytest.fixture()
def viewer(edited_shot):
    state = ViewerState.load(edited_shot)
    viewer = SceneViewer(state)
    viewer.start("127.0.0.1", _free_port())
    yield viewer
    viewer.stop()


def test_serves_the_scene(viewer):
    assert viewer.url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(viewer.url, timeout=10) as page:
        assert page.status == 200
    name = viewer.state.objects[0]
    nodes = _nodes(viewer)
    for key in ("background", "points", "frustum", "camera_path"):
        assert NODE_NAMES[key] in nodes
    assert NODE_NAMES["object_mesh"].format(name=name) in nodes
    assert viewer.object_node(name) is not None


def test_click_and_gizmo_drag(viewer, edited_shot):
    name = viewer.state.objects[0]
    viewer.click_object(name)
    assert viewer.selected == name
    assert viewer.gizmo_name == f"/objects/{name}/gizmo" and viewer.gizmo_name in _nodes(viewer)
    before = viewer.state.scene.objects[name].position
    gizmo = viewer.gizmo
    start_wxyz, start = np.array(gizmo.wxyz), np.array(gizmo.position)
    viewer.drag_gizmo("start", start_wxyz, start)
    viewer.drag_gizmo("update", start_wxyz, start + (0.2, 0.0, 0.0))
    viewer.drag_gizmo("end", start_wxyz, start + (0.4, 0.0, 0.0))
    after = Scene.open(edited_shot).objects[name].position
    assert after == pytest.approx(before + (0.4, 0.0, 0.0))
    assert np.array(viewer.object_node(name).position) == pytest.approx(after)
    assert np.array(viewer.gizmo.position) == pytest.approx(start + (0.4, 0.0, 0.0))
    viewer.click_object(None)
    assert viewer.selected is None and viewer.gizmo_name is None


def test_buttons(viewer, edited_shot):
    name = viewer.state.objects[0]
    viewer.click_object(name)
    viewer.duplicate()
    copy = viewer.selected
    assert copy != name and NODE_NAMES["object_mesh"].format(name=copy) in _nodes(viewer)
    viewer.delete()
    assert NODE_NAMES["object"].format(name=copy) not in _nodes(viewer)
    viewer.undo()
    assert NODE_NAMES["object_mesh"].format(name=copy) in _nodes(viewer)
    viewer.redo()
    viewer.delete()  # nothing selected: refused on the status line, not raised
    assert "selected" in viewer.state.status
    viewer.preview_camera_move("dolly", 1.0)
    assert NODE_NAMES["camera_preview"] in _nodes(viewer)
    viewer.apply_camera_move("dolly", 1.0)
    assert "dolly" in viewer.state.status
    viewer.set_look_through(True)
    viewer.set_overlay_opacity(0.3)
    viewer.go_to(int(viewer.state.frame_numbers[-1]))
    assert NODE_NAMES["overlay"] in _nodes(viewer)
    assert np.array(viewer.server.scene._handle_from_node_name[NODE_NAMES["frustum"]].position) == pytest.approx(
        viewer.state.world_from_cam()[:3, 3]
    )
    image = viewer.render_preview()
    assert image is not None and image.shape[2] == 3, viewer.state.status


def test_watcher_picks_up_an_edit_made_elsewhere(viewer, edited_shot):
    name = viewer.state.objects[0]
    viewer.click_object(name)
    viewer.state.translate((0.1, 0.0, 0.0))
    # another process, as a user in a terminal (in one process two Scenes share one layer)
    done = subprocess.run(
        [sys.executable, "-m", "sceneforge.engine.cli", "edit", str(edited_shot), "duplicate", name, "--as", "from_elsewhere"],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    deadline = time.monotonic() + 10
    while NODE_NAMES["object_mesh"].format(name="from_elsewhere") not in _nodes(viewer) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert NODE_NAMES["object_mesh"].format(name="from_elsewhere") in _nodes(viewer)
    assert viewer.state.scene.objects[name].position == pytest.approx(Scene.open(edited_shot).objects[name].position)


def test_stop_is_clean(edited_shot):
    viewer = SceneViewer(ViewerState.load(edited_shot, plate=False))
    port = _free_port()
    viewer.start("127.0.0.1", port)
    viewer.stop()
    assert viewer.server is None
    assert not [t for t in threading.enumerate() if t.name.startswith("sceneforge-viewer")]
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more


def test_cli_binds_loopback_and_warns_otherwise(edited_shot, caplog, capsys):
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0")
    parser = argparse.ArgumentParser()
    add_view_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["view", str(edited_shot), "--port", str(_free_port()), "--no-footage"])
    assert args.host == "127.0.0.1"
    for host, warns in (("127.0.0.1", False), ("0.0.0.0", True)):
        args.host = host
        stop = threading.Event()
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="sceneforge.engine.viewer"):
            timer = threading.Timer(0.5, stop.set)
            timer.start()
            assert cmd_view(args, stop=stop) == 0
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "anyone" in r.getMessage()]
        assert bool(warnings) == warns
        assert all("\n" not in r.getMessage() for r in warnings)
        out = capsys.readouterr().out
        assert "http://127.0.0.1:" in out and "viewer stopped" in out
