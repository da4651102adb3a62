"""ViewerState without a browser: display data, every edit the GUI makes, other writers, budgets."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from sceneforge.engine.viewer import (
    DisplayMesh,
    ObjectInfo,
    ViewerOptions,
    ViewerState,
    display_mesh,
    downsize_image,
    glb_bytes,
    node_pose,
    subsample_points,
)
from sceneforge.scenegraph import InputError, Scene, SceneMesh, TexturedMesh, rotation_about_axis


@pytest.fixture()
def state(edited_shot) -> ViewerState:
    return ViewerState.load(edited_shot, plate=False)


def _object(state: ViewerState) -> str:
    return state.objects[0]


def _edits(shot) -> str:
    return (shot / "edits.usda").read_text()


# ------------------------------------------------------------------------------ smoke / facts


def test_load_times_and_draws(state):
    assert set(state.load_seconds) >= {"open", "background", "objects", "points", "total"}
    assert state.background() and state.background()[0].num_faces > 0
    points, colors = state.points()
    assert points.shape[1] == 3 and colors.shape == points.shape and colors.dtype == np.uint8
    view = state.object_view(_object(state))
    assert view.parts and view.world_from_node.shape == (4, 4)
    assert state.frame == int(state.frame_numbers[0])
    assert state.set_frame(10**6) == int(state.frame_numbers[-1])  # snapped to the shot


def test_select_shows_info(state):
    name = _object(state)
    info = state.select(name)
    assert isinstance(info, ObjectInfo) and info.name == name and state.selection == name
    assert info.motion in ("static", "moving") and info.size is not None and len(info.size) == 3
    assert info.mask_quality is None or 0.0 <= info.mask_quality <= 1.0
    assert name in info.markdown()
    assert state.select(None) is None and state.selection is None
    with pytest.raises(InputError):
        state.select("no_such_object")


def test_edit_without_selection_is_refused(state):
    with pytest.raises(InputError, match="selected"):
        state.delete()


# ------------------------------------------------------------------------------ edits


def test_gizmo_move_writes_edits_layer(state, edited_shot):
    name = _object(state)
    state.select(name)
    before = state.scene.objects[name].get_world_from_local()
    start = state.gizmo_pose()
    end = start.copy()
    end[:3, 3] += (0.5, 0.0, -0.25)
    state.apply_gizmo(start, end)
    reopened = Scene.open(edited_shot / "scene.usda")  # same process: shared layer; read the file too
    assert "xformOp" in _edits(edited_shot)
    np.testing.assert_allclose(reopened.objects[name].get_world_from_local()[:3, 3], before[:3, 3] + (0.5, 0.0, -0.25), atol=1e-9)
    assert state.object_view(name).world_from_node[:3, 3] == pytest.approx(before[:3, 3] + (0.5, 0.0, -0.25))
    assert "reconstruction" not in state.scene.history[-1]


def test_gizmo_rotation_is_one_step(state):
    name = _object(state)
    state.select(name)
    before = state.scene.objects[name].get_world_from_local()
    start = state.gizmo_pose()
    end = start.copy()
    end[:3, :3] = rotation_about_axis(np.array([0.0, 1.0, 0.0]), np.radians(30))
    end[:3, 3] += (0.1, 0.0, 0.0)
    state.apply_gizmo(start, end)
    after = state.scene.objects[name].get_world_from_local()
    delta = end @ np.linalg.inv(start)
    np.testing.assert_allclose(after, delta @ before, atol=1e-9)
    assert len(state.scene.history) == 1
    state.rotate(y_deg=-30)
    assert len(state.scene.history) == 2


def test_delete_duplicate_reset_undo_redo(state, edited_shot):
    name = _object(state)
    state.select(name)
    copy = state.duplicate()
    assert copy == f"{name}_copy" and copy in state.objects and state.selection == copy
    assert copy in _edits(edited_shot)
    state.select(name)
    state.delete()
    assert name not in state.objects and state.selection is None
    assert "active = false" in _edits(edited_shot)
    state.undo()
    assert name in state.objects
    state.redo()
    assert name not in state.objects
    state.reset(name)  # a removed object comes back
    assert name in state.objects
    state.select(name)
    state.translate((0.2, 0.0, 0.0))
    moved = state.scene.objects[name].get_world_from_local()
    state.reset()
    assert not np.allclose(state.scene.objects[name].get_world_from_local(), moved)
    state.undo()
    np.testing.assert_allclose(state.scene.objects[name].get_world_from_local(), moved)
    state.translate((0.0, 0.0, 0.1))  # a new edit clears redo
    with pytest.raises(InputError, match="nothing to redo"):
        state.redo()


def test_undo_restores_file(state, edited_shot):
    original = _edits(edited_shot)
    state.select(_object(state))
    state.translate((0.3, 0.0, 0.0))
    assert _edits(edited_shot) != original
    state.undo()
    assert Scene.open(edited_shot).diff() == []
    with pytest.raises(InputError, match="nothing to undo"):
        state.undo()


def test_insert_obj_asset(state, edited_shot, tmp_path):
    asset = tmp_path / "crate box.obj"
    trimesh.creation.box(extents=(0.5, 0.5, 0.5)).export(asset)
    name = state.insert(str(asset))
    assert name == "crate_box" and name in state.objects and state.selection == name
    assert "crate_box" in _edits(edited_shot)
    view = state.object_view(name)
    assert view.parts and view.parts[0].num_faces == 12
    assert state.object_info(name).motion == "inserted"
    assert state.insert(asset) == "crate_box_2"  # a free name
    with pytest.raises(InputError, match="not a file"):
        state.insert(tmp_path / "missing.glb")


def test_camera_move_preview_then_apply(state, edited_shot):
    before = state.camera_centres()
    preview = state.preview_camera_move("orbit", 20.0)
    assert preview.shape == before.shape
    np.testing.assert_allclose(state.camera_centres(), before)  # a preview writes nothing
    assert not state.scene.history and "Plate" not in _edits(edited_shot)
    assert np.linalg.norm(preview[-1] - before[-1]) > 1e-6
    np.testing.assert_allclose(preview[0], before[0], atol=1e-9)  # a move starts from the first frame
    state.apply_camera_move("orbit", 20.0)
    np.testing.assert_allclose(state.camera_centres(), preview, atol=1e-9)
    assert state.camera_preview is None and "Plate" in _edits(edited_shot)
    state.reset_camera()
    np.testing.assert_allclose(state.camera_centres(), before, atol=1e-9)
    with pytest.raises(InputError, match="camera move"):
        state.preview_camera_move("barrel_roll", 1.0)


def test_external_edit_is_reloaded_without_losing_ours(state, edited_shot):
    name = _object(state)
    state.select(name)
    state.translate((0.4, 0.0, 0.0))
    assert not state.reload_if_changed()  # our own save is not another writer's
    other = Scene.open(edited_shot / "scene.usda")
    other.insert(_write_box(edited_shot.parent / "other.obj"), name="from_cli")
    other.save()
    revision = state.revision
    assert state.reload_if_changed()
    assert state.revision > revision and "from_cli" in state.objects
    # the viewer's next edit starts from what is on disk: both edits survive
    state.translate((0.0, 0.1, 0.0))
    text = _edits(edited_shot)
    assert "from_cli" in text
    moved = Scene.open(edited_shot / "scene.usda").objects[name].position
    assert moved == pytest.approx(state.scene.objects[name].position)


def _write_box(path):
    trimesh.creation.box(extents=(0.3, 0.3, 0.3)).export(path)
    return path


# ------------------------------------------------------------------------------ budgets


def _grid_mesh(n: int, texture: int | None = None) -> SceneMesh:
    u, v = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n))
    vertices = np.column_stack([u.ravel(), np.sin(3 * u.ravel()) * 0.1, v.ravel()])
    idx = np.arange(n * n).reshape(n, n)
    a, b, c, d = idx[:-1, :-1].ravel(), idx[:-1, 1:].ravel(), idx[1:, :-1].ravel(), idx[1:, 1:].ravel()
    faces = np.concatenate([np.column_stack([a, c, b]), np.column_stack([b, c, d])]).astype(np.int32)
    uv = np.column_stack([u.ravel(), v.ravel()]).astype(np.float32)
    image = None if texture is None else np.zeros((texture, texture // 2, 3), np.uint8)
    mesh = TexturedMesh(vertices=vertices, faces=faces, uv=uv if texture else None, texture=image)
    return SceneMesh(prim_path="/World/Background", name="Background", world_from_local=np.eye(4), mesh=mesh)


def test_decimation_under_budget():
    big = _grid_mesh(120, texture=64)  # 28 322 triangles
    shown = display_mesh(big, triangle_budget=5000, texture_size=1024)
    assert shown.source_faces == big.mesh.num_faces and 0 < shown.num_faces <= 5000
    assert shown.uv is not None and shown.uv.shape == (len(shown.vertices), 2)
    assert shown.faces.max() < len(shown.vertices)
    small = display_mesh(_grid_mesh(10), triangle_budget=5000, texture_size=1024)
    assert small.num_faces == small.source_faces and small.colors is not None


def test_texture_downsized():
    shown = display_mesh(_grid_mesh(8, texture=2048), triangle_budget=10**6, texture_size=512)
    assert max(shown.texture.shape[:2]) == 512 and shown.texture.shape[:2] == (512, 256)
    assert downsize_image(np.zeros((100, 50, 3), np.uint8), 512).shape == (100, 50, 3)


def test_scene_budgets_apply(edited_shot):
    state = ViewerState.load(edited_shot, ViewerOptions(triangle_budget=2000, texture_size=128, max_points=50), plate=False)
    assert all(part.num_faces <= 2000 and max(part.texture.shape[:2]) <= 128 for part in state.background() if part.texture is not None)
    assert all(part.num_faces <= 2000 for part in state.object_view(_object(state)).parts)
    assert len(state.points()[0]) <= 50
    with pytest.raises(InputError):
        ViewerOptions(triangle_budget=0)


def test_points_subsampled_and_glb():
    points = np.random.default_rng(1).normal(size=(1000, 3))
    kept, colors = subsample_points(points, np.zeros((1000, 3), np.uint8), 100)
    assert kept.shape == (100, 3) and colors.shape == (100, 3)
    data = glb_bytes([DisplayMesh(vertices=np.eye(3), faces=np.array([[0, 1, 2]]))], opacity=0.5)
    assert data[:4] == b"glTF"


def test_node_pose_conventions():
    rotation = rotation_about_axis(np.array([0.0, 1.0, 0.0]), 0.7)
    matrix = np.eye(4)
    matrix[:3, :3] = rotation * 2.0
    matrix[:3, 3] = (1, 2, 3)
    wxyz, position, scale = node_pose(matrix)
    assert wxyz[0] == pytest.approx(np.cos(0.35)) and wxyz[2] == pytest.approx(np.sin(0.35))
    assert position == pytest.approx((1, 2, 3)) and scale == pytest.approx((2, 2, 2))
    shear = np.eye(4)
    shear[0, 1] = 0.5
    assert node_pose(shear) is None
