"""Edit lists: every op replays through the Python API, all or nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sceneforge.scenegraph import InputError, Scene, SceneFileError, apply_edits, read_edit_list
from tests.scenegraph.edit.test_scene import make_scene


@pytest.fixture()
def scene(tmp_path):
    folder = tmp_path / "shot"
    folder.mkdir()
    return Scene.open(make_scene(folder, animated=True))


def test_a_list_is_one_undoable_step(scene):
    names = list(scene.objects)
    before = scene.objects[names[0]].world_from_local.copy()
    done = apply_edits(scene, [
        {"op": "move", "object": names[0], "by": [1, 0, 0]},
        {"op": "rotate", "object": names[0], "y_deg": 90},
        {"op": "light", "name": "key", "kind": "sphere", "intensity": 3.0},
        {"op": "camera", "move": "crane", "height": 0.5},
    ])
    assert len(done) == 4 and len(scene.history) == 1
    assert "key" in scene.lights
    assert not np.allclose(scene.objects[names[0]].world_from_local, before)
    scene.undo()
    assert np.allclose(scene.objects[names[0]].world_from_local, before) and "key" not in scene.lights


def test_keyed_move_animates_one_frame(scene):
    apply_edits(scene, [{"op": "move", "object": "ball", "by": [0, 1, 0], "frame": 1003}])
    ball = scene.objects["ball"]
    assert np.allclose(ball.get_world_from_local(time=1001)[:3, 3], [0, 0, 0])
    assert np.allclose(ball.get_world_from_local(time=1003)[:3, 3], [2, 1, 0])


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        ([{"op": "explode", "object": "x"}], "expected one of"),
        ([{"op": "move", "object": "x"}], "exactly one of"),
        ([{"op": "move", "by": [0, 0, 0]}], "needs object"),
        ([{"op": "scale", "object": "x", "by": 2, "colour": 1}], "does not take colour"),
        ([{"op": "camera", "move": "spin"}], "expected one of"),
        ([{"op": "camera", "move": "orbit", "degrees": 5, "distance": 1}], "does not take distance"),
        ([{"op": "move", "object": "nope", "by": [0, 0, 0]}], "no object, background or light named 'nope'"),
    ],
)
def test_bad_lists_change_nothing(scene, edits, message):
    layer = scene.stage.GetEditTarget().GetLayer().ExportToString()
    valid = {"op": "move", "object": list(scene.objects)[0], "by": [1, 0, 0]}
    with pytest.raises(InputError, match=message):
        apply_edits(scene, [valid, *edits])
    assert scene.stage.GetEditTarget().GetLayer().ExportToString() == layer
    assert scene.history == ()


def test_read_edit_list(tmp_path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"edits": [{"op": "delete", "object": "a"}]}))
    assert read_edit_list(path) == [{"op": "delete", "object": "a"}]
    path.write_text("{not json")
    with pytest.raises(SceneFileError, match="not readable JSON"):
        read_edit_list(path)
    path.write_text(json.dumps({"op": "delete"}))
    with pytest.raises(InputError, match="JSON list"):
        read_edit_list(path)
    with pytest.raises(SceneFileError, match="does not exist"):
        read_edit_list(tmp_path / "missing.json")
