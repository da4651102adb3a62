"""The render job composites over the footage: the plate where nothing changed, other frames
where an edit reveals the background, image-based rendering for held-out views; EXR passes."""

from __future__ import annotations

import numpy as np
import pytest

from sceneforge.engine.cli import main
from sceneforge.engine.pipeline import RenderConfig, render_scene
from sceneforge.reconstruct import read_frames
from sceneforge.scenegraph import Scene
from tests.conftest import DEMO_DIR


def _pngs(folder):
    from PIL import Image

    return {int(p.stem.split("_")[-1]): np.asarray(Image.open(p)) for p in sorted(folder.glob("*.png"))}


@pytest.fixture(scope="module")
def plate() -> np.ndarray:
    return read_frames(DEMO_DIR / "room.mp4", max_size=320).images


def test_an_unedited_scene_renders_to_its_footage_exactly(demo_shot, tmp_path, plate):
    out = tmp_path / "pngs"
    result = render_scene(RenderConfig(scene=demo_shot, output=out, start=20, end=26))
    frames = _pngs(out)
    assert sorted(frames) == list(range(20, 26))
    for number, image in frames.items():
        np.testing.assert_array_equal(image, plate[number])
    assert result.pixels_by_source["plate"] == 6 * 320 * 180 and result.pixels_by_source["invented"] == 0


def test_deleting_an_object_reveals_the_background_from_other_frames(edited_shot, tmp_path, plate):
    scene = Scene.open(edited_shot)
    name = sorted(scene.objects)[0]
    scene.objects[name].remove()
    scene.save()
    out = tmp_path / "pngs"
    result = render_scene(RenderConfig(scene=edited_shot, output=out, start=30, end=34))
    counts = result.pixels_by_source
    assert counts["reprojected"] > 0 and counts["rendered"] == 0
    assert sum(counts.values()) == 4 * 320 * 180
    for number, image in _pngs(out).items():
        changed = np.any(image != plate[number], axis=-1)
        # Only the object's neighbourhood changes; most of the frame is the plate, bit for bit.
        assert 0.001 < changed.mean() < 0.5, number


def test_a_moved_object_is_drawn_at_its_new_place(edited_shot, tmp_path, plate):
    scene = Scene.open(edited_shot)
    name = sorted(scene.objects)[-1]
    scene.objects[name].translate((0.0, 0.0, 0.2 * scene_extent(scene)))
    scene.save()
    result = render_scene(RenderConfig(scene=edited_shot, output=tmp_path / "pngs", start=30, end=32))
    assert result.pixels_by_source["rendered"] > 0


def scene_extent(scene: Scene) -> float:
    box = scene.background.world_bounds()
    return float(np.max(box[1] - box[0]))


def test_a_held_out_frame_is_rendered_from_the_others(demo_shot, tmp_path, plate):
    out = tmp_path / "pngs"
    result = render_scene(RenderConfig(scene=demo_shot, output=out, start=36, end=37, hold_out=(36,)))
    assert result.pixels_by_source["plate"] == 0
    assert result.pixels_by_source["reprojected"] > 0.7 * 320 * 180
    image = _pngs(out)[36].astype(np.float64)
    psnr = 10 * np.log10(255.0**2 / np.mean((image - plate[36]) ** 2))
    assert psnr > 20.0


def test_exr_carries_the_passes(edited_shot, tmp_path):
    import OpenEXR

    scene = Scene.open(edited_shot)
    scene.objects[sorted(scene.objects)[0]].visible = False
    scene.save()
    out = tmp_path / "exr"
    assert main(["-q", "render", str(edited_shot), "-o", str(out), "--format", "exr", "--start", "30", "--end", "31"]) == 0
    with OpenEXR.File(str(out / "frame_000030.exr")) as exr:
        channels = exr.channels()
        names = set(channels)
        source = np.array(channels["source"].pixels)
    assert {"depth", "object_id", "coverage", "source"} <= names
    assert set(np.unique(source).tolist()) <= {0, 1, 2, 3, 4} and (source > 0).any()


def test_resume_renders_only_the_missing_frames(demo_shot, tmp_path):
    out = tmp_path / "pngs"
    render_scene(RenderConfig(scene=demo_shot, output=out, start=10, end=12))
    (out / "frame_000011.png").unlink()
    result = render_scene(RenderConfig(scene=demo_shot, output=out, start=10, end=14, resume=True))
    assert result.num_frames == 3
    assert sorted(_pngs(out)) == [10, 11, 12, 13]


def test_composite_needs_the_footage_and_says_so(edited_shot, tmp_path, capsys):
    from pxr import Sdf

    for name in ("scene.usda", "reconstruction.usda"):  # the clip is named in the layers' metadata
        layer = Sdf.Layer.FindOrOpen(str(edited_shot / name))
        for key, value in dict(layer.customLayerData).items():
            if isinstance(value, dict) and "source" in value:
                layer.customLayerData = {**dict(layer.customLayerData), key: {**value, "source": str(tmp_path / "gone.mp4")}}
        layer.Save()
    assert main(["render", str(edited_shot), "-o", str(tmp_path / "x.mp4"), "--end", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "gone.mp4" in err and not (tmp_path / "x.mp4").exists()
    assert not list(tmp_path.glob(".x*")), "a temporary file was left behind"
    assert main(["-q", "render", str(edited_shot), "-o", str(tmp_path / "cg.mp4"), "--mode", "cg", "--end", "2"]) == 0
