"""Inserted assets belong in the shot: lit by the scene's light, casting a contact shadow, and
polished by the chosen refiner — end to end through the render job and the command line."""

from __future__ import annotations

import numpy as np
import pytest

from sceneforge.engine.cli import main
from sceneforge.engine.pipeline import RenderConfig, render_scene
from sceneforge.reconstruct import read_frames
from sceneforge.scenegraph import InputError, Scene
from tests.conftest import DEMO_DIR

FRAMES = (34, 37)


def _pngs(folder):
    from PIL import Image

    return {int(p.stem.split("_")[-1]): np.asarray(Image.open(p)).astype(np.float32) / 255.0 for p in sorted(folder.glob("*.png"))}


@pytest.fixture(scope="module")
def plate() -> np.ndarray:
    return read_frames(DEMO_DIR / "room.mp4", max_size=320).images.astype(np.float32) / 255.0


def _insert_sphere(shot, tmp_path, grey: int = 230) -> str:
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=3, radius=0.5)
    sphere.visual.vertex_colors = np.tile([grey, grey, grey, 255], (len(sphere.vertices), 1))
    path = tmp_path / "sphere.glb"
    sphere.export(path)
    scene = Scene.open(shot)
    # on the floor between the camera and the objects, a fifth of the room's size across
    low, high = scene.background.world_bounds()
    objects = np.array([o.world_bounds().mean(axis=0) for o in scene.objects.values()])
    track = scene.cameras["Plate"]
    eye = track.world_from_cam(FRAMES[0])[:3, 3]
    spot = 0.6 * objects.mean(axis=0) + 0.4 * eye
    scene.insert(path, name="sphere", position=(spot[0], spot[2]), scale_to=0.12 * float(np.linalg.norm(high - low)))
    scene.save()
    return "sphere"


def _render(shot, out, **options):
    return render_scene(RenderConfig(scene=shot, output=out, start=FRAMES[0], end=FRAMES[1], **options))


def test_an_inserted_asset_is_lit_by_the_scenes_light_and_casts_a_shadow(edited_shot, tmp_path, plate):
    _insert_sphere(edited_shot, tmp_path)
    scene = Scene.open(edited_shot)
    overhead = np.eye(4)
    overhead[:3, :3] = [[1, 0, 0], [0, 0, 1], [0, -1, 0]]  # local -Z (where it shines) → world -Y: from above
    for name in list(scene.lights):  # only the light this test adds
        scene.lights[name].remove()
    scene.add_light("sun", "distant", intensity=0.8, world_from_local=overhead)
    scene.save()
    lit = _render(edited_shot, tmp_path / "lit", refiner="none")
    unlit = _render(edited_shot, tmp_path / "unlit", refiner="none", lighting=False, shadows=False)
    assert lit.pixels_by_source["shaded"] > 0 and unlit.pixels_by_source["shaded"] == 0
    for number, image in _pngs(tmp_path / "lit").items():
        flat = _pngs(tmp_path / "unlit")[number]
        sphere = np.abs(flat - plate[number]).max(axis=2) > 0.08
        rows, cols = np.nonzero(sphere)
        top = sphere & (np.arange(sphere.shape[0])[:, None] < rows.min() + 0.3 * np.ptp(rows))
        bottom = sphere & (np.arange(sphere.shape[0])[:, None] > rows.max() - 0.3 * np.ptp(rows))
        # lit from above: the top is brighter than the bottom; unlit it is one flat colour
        assert image[top].mean() > image[bottom].mean() + 0.1
        assert abs(flat[top].mean() - flat[bottom].mean()) < 0.03
        # the floor just below the sphere is darker than in the footage, the far corners untouched
        below = np.zeros_like(sphere)
        below[min(rows.max() + 2, sphere.shape[0] - 1):min(rows.max() + 6, sphere.shape[0]), cols.min():cols.max()] = True
        below &= ~sphere
        assert image[below].mean() < plate[number][below].mean() - 0.01
        np.testing.assert_array_equal(image[:20, :20], (plate[number][:20, :20] * 255).round() / 255)


def test_refiners_change_only_what_the_edit_changed(edited_shot, tmp_path, plate):
    _insert_sphere(edited_shot, tmp_path, grey=128)
    none = _render(edited_shot, tmp_path / "none", refiner="none")
    classical = _render(edited_shot, tmp_path / "classical", refiner="classical")
    assert none.pixels_by_source == classical.pixels_by_source
    import cv2

    for number, image in _pngs(tmp_path / "classical").items():
        raw = _pngs(tmp_path / "none")[number]
        touched = np.abs(raw - plate[number]).max(axis=2) > 0
        # away from what the edit touched (relit pixels whose change rounds away included), both
        # are the footage bit for bit; the refiner works where the edit did
        near = cv2.dilate(touched.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
        np.testing.assert_array_equal(image[~near], plate[number][~near])
        np.testing.assert_array_equal(raw[~near], plate[number][~near])
        assert np.abs(image[touched] - raw[touched]).max() > 0.02  # the refiner did something
    with pytest.raises(InputError, match="refiner"):
        _render(edited_shot, tmp_path / "bad", refiner="no-such")
    with pytest.raises(InputError, match="--refiner-model"):
        _render(edited_shot, tmp_path / "bad2", refiner="classical", refiner_model="x")


def test_the_diffusion_refiner_runs_end_to_end_from_the_command_line(edited_shot, tmp_path, plate, monkeypatch, capsys):
    pytest.importorskip("diffusers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from tests.render._tiny_diffusion import save_tiny_sd_controlnet_inpaint

    model = save_tiny_sd_controlnet_inpaint(tmp_path / "tiny")
    _insert_sphere(edited_shot, tmp_path)
    args = ["render", str(edited_shot), "-o", str(tmp_path / "out"), "--start", str(FRAMES[0]), "--end", str(FRAMES[0] + 2),
            "--refiner", "diffusion", "--refiner-model", str(model), "--refiner.steps", "2", "--refiner.resolution", "64", "-q"]
    assert main(args) == 0
    first = _pngs(tmp_path / "out")
    assert main([*args[:3], str(tmp_path / "again"), *args[4:]]) == 0
    again = _pngs(tmp_path / "again")
    for number, image in first.items():
        np.testing.assert_array_equal(image, again[number])  # seeded: the same twice
        changed = np.abs(image - plate[number]).max(axis=2) > 0.03
        assert 0 < changed.mean() < 0.5
    # no model: one clear line, nothing written
    assert main(["render", str(edited_shot), "-o", str(tmp_path / "nomodel.mp4"), "--refiner", "diffusion", "-q"]) != 0
    assert "--refiner-model" in capsys.readouterr().err
    assert not (tmp_path / "nomodel.mp4").exists()


def test_an_asset_inserted_into_a_scene_without_objects_is_drawn(edited_shot, tmp_path, plate):
    from pxr import Sdf

    # a scene reconstructed with --no-objects: no /World/Objects in the reconstruction
    layer = Sdf.Layer.FindOrOpen(str(edited_shot / "reconstruction.usda"))
    world = layer.GetPrimAtPath("/World")
    del world.nameChildren["Objects"]
    layer.Save()
    _insert_sphere_at_centre(edited_shot, tmp_path)
    result = _render(edited_shot, tmp_path / "out", refiner="none")
    assert result.pixels_by_source["rendered"] > 100


def _insert_sphere_at_centre(shot, tmp_path) -> None:
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=2, radius=0.5)
    path = tmp_path / "plain_sphere.glb"
    sphere.export(path)
    scene = Scene.open(shot)
    low, high = scene.background.world_bounds()
    centre = (low + high) / 2.0
    scene.insert(path, name="sphere", position=(centre[0], centre[2]), scale_to=0.15 * float(np.linalg.norm(high - low)))
    scene.save()
