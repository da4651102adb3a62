"""Neural backends end to end through the command line, offline, on tiny random models the
tests build and save themselves (loaded by path like real weights).

Random weights give meaningless masks and depth: these tests check that the real loading
code, the prompts, the options and the scene they produce fit together — never quality.
"""

from __future__ import annotations

import pytest

from sceneforge.engine.cli import main
from sceneforge.scenegraph import Scene
from tests.conftest import DEMO_DIR

pytest.importorskip("transformers")

CLIP = DEMO_DIR / "room.mp4"
SHORT = ["--end", "10", "--max-size", "160", "--no-light-probe", "--force"]


@pytest.fixture(scope="module")
def tiny_sam(tmp_path_factory):
    from tests.reconstruct._tiny_sam_models import save_tiny_sam2, save_tiny_sam3

    folder = tmp_path_factory.mktemp("sam")
    return {"sam2": save_tiny_sam2(folder / "sam2"), "sam3": save_tiny_sam3(folder / "sam3")}


def _objects(shot):
    return sorted(Scene.open(shot / "scene.usda").objects)


def test_sam2_segments_and_tracks_a_box_prompt(tmp_path, tiny_sam):
    shot = tmp_path / "shot"
    code = main(["-q", "reconstruct", str(CLIP), "-o", str(shot), *SHORT, "--object", "ball=box:300,150,420,260@4",
                 "--segmenter", "sam2", "--segmenter.model", str(tiny_sam["sam2"])])
    assert code == 0
    assert _objects(shot) == ["ball"]


def test_sam3_finds_an_object_named_in_words(tmp_path, tiny_sam):
    shot = tmp_path / "shot"
    code = main(["-q", "reconstruct", str(CLIP), "-o", str(shot), *SHORT, "--object", "ball=text:the red ball@2",
                 "--segmenter", "sam3", "--segmenter.model", str(tiny_sam["sam3"]),
                 "--segmenter.detection-threshold", "0"])
    assert code == 0
    assert _objects(shot) == ["ball"]


def test_a_text_prompt_without_a_text_segmenter_fails_before_any_work(tmp_path, capsys):
    shot = tmp_path / "shot"
    assert main(["reconstruct", str(CLIP), "-o", str(shot), *SHORT, "--object", "ball=text:the red ball"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--segmenter sam3" in err
    assert not shot.exists()


@pytest.mark.parametrize("stage", ["segmenter"])
def test_a_neural_backend_without_weights_fails_before_any_work(tmp_path, capsys, stage):
    shot = tmp_path / "shot"
    code = main(["reconstruct", str(CLIP), "-o", str(shot), *SHORT, "--object", "ball=box:300,150,420,260@4",
                 "--segmenter", "sam2"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--segmenter.model" in err
    assert not shot.exists()
    code = main(["reconstruct", str(CLIP), "-o", str(shot), *SHORT, "--object", "ball=box:300,150,420,260@4",
                 "--segmenter", "sam2", "--segmenter.model", "nobody/no-such-model"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "nobody/no-such-model" in err


@pytest.fixture(scope="module")
def tiny_depth_anything(tmp_path_factory):
    import torch
    from transformers import AutoModelForDepthEstimation

    from tests.reconstruct._tiny_depth_models import save_tiny_depth_model

    folder = save_tiny_depth_model(tmp_path_factory.mktemp("depth") / "da", "depth-anything")
    # Random weights predict noise, from which no surface can be fused; a last layer that says
    # "the same disparity everywhere" makes the photo a wall facing the camera, as a test needs.
    model = AutoModelForDepthEstimation.from_pretrained(folder)
    with torch.no_grad():
        model.head.conv3.weight.zero_()
        model.head.conv3.bias.fill_(1.0)
    model.save_pretrained(folder)
    return folder


def test_a_still_photo_gets_monocular_depth_and_becomes_a_camera_move(tmp_path, tiny_depth_anything):
    import av
    import numpy as np

    from sceneforge.scenegraph import read_camera_track

    with av.open(str(CLIP)) as container:
        next(container.decode(video=0)).to_image().save(tmp_path / "photo.jpg")
    shot = tmp_path / "shot"
    assert main(["-q", "reconstruct", str(tmp_path / "photo.jpg"), "-o", str(shot), "--max-size", "160",
                 "--still-frames", "12", "--depth", "depth-anything", "--depth.model", str(tiny_depth_anything),
                 "--no-objects"]) == 0
    maps = sorted((shot / "run" / "depth").glob("*.npz"))
    assert len(maps) == 12
    depth = np.load(maps[0])["depth"]
    # the network's depth on every pixel (a constant disparity: one distance), not the nominal sphere of a pan
    assert depth.shape == (90, 160) and (depth > 0).mean() > 0.9
    assert np.ptp(depth[depth > 0]) < 1e-3 * np.median(depth[depth > 0])
    np.testing.assert_array_equal(np.load(maps[-1])["depth"], depth)  # a held still: the same depth throughout
    assert Scene.open(shot / "scene.usda").background is not None
    assert main(["-q", "edit", str(shot), "camera", "ken-burns", "--frame", "0", "--push-in", "0.5"]) == 0
    track = read_camera_track(shot / "scene.usda")
    assert len(track) == 12 and np.linalg.norm(track.world_from_cam[-1][:3, 3] - track.world_from_cam[0][:3, 3]) > 0.4
    assert main(["-q", "render", str(shot), "-o", str(tmp_path / "move.mp4")]) == 0
    with av.open(str(tmp_path / "move.mp4")) as container:
        rendered = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(rendered) == 12 and np.abs(rendered[-1].astype(int) - rendered[0].astype(int)).mean() > 1.0


def test_vggt_cameras_and_depth_through_the_command_line(tmp_path, monkeypatch):
    """The stand-in vggt package (it honours VGGT's documented output contract; it is not VGGT)."""
    import sys

    from PIL import Image
    from safetensors.torch import save_file

    from sceneforge.scenegraph import read_camera_track
    from tests.reconstruct.camera._vggt_standin import render_scene, standin_state, write_standin_package

    scene = render_scene(n=10, width=160, height=120)
    write_standin_package(tmp_path / "site", num_frames=10, height=120, width=160)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for name in [m for m in sys.modules if m == "vggt" or m.startswith("vggt.")]:
        monkeypatch.delitem(sys.modules, name)
    save_file(standin_state(scene), str(tmp_path / "vggt.safetensors"))
    (tmp_path / "clip").mkdir()
    for i, image in enumerate(scene["images"]):
        Image.fromarray(image).save(tmp_path / "clip" / f"{i:03d}.png")
    shot = tmp_path / "shot"
    model = str(tmp_path / "vggt.safetensors")
    code = main(["-q", "reconstruct", str(tmp_path / "clip"), "-o", str(shot), "--max-size", "0", "--no-objects",
                 "--no-light-probe", "--solver", "vggt", "--solver.model", model, "--solver.resolution", "168",
                 "--depth", "vggt", "--depth.model", model, "--depth.resolution", "168", "--scale-from", "none"])
    try:
        assert code == 0
        track = read_camera_track(shot / "scene.usda")
        assert len(track) == 10 and track.report.mean_error_px < 1.0
    finally:
        for name in [m for m in sys.modules if m == "vggt" or m.startswith("vggt.")]:
            sys.modules.pop(name, None)


def test_vggt_without_its_package_says_how_to_get_it(tmp_path, capsys):
    shot = tmp_path / "shot"
    assert main(["reconstruct", str(CLIP), "-o", str(shot), *SHORT, "--solver", "vggt"]) == 4
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "vggt" in err and "pip install" in err
    assert not shot.exists()


@pytest.mark.parametrize("family", ["depth-pro", "prompt-depth-anything"])
def test_metric_and_prompted_depth_backends_load_by_path(tmp_path, family):
    import av
    import numpy as np

    from tests.reconstruct._tiny_depth_models import save_tiny_depth_model

    model = save_tiny_depth_model(tmp_path / "model", family)
    clip = tmp_path / "clip"
    clip.mkdir()
    with av.open(str(CLIP)) as container:
        for i, frame in zip(range(6), container.decode(video=0)):
            frame.to_image().save(clip / f"{i:03d}.png")
    shot = tmp_path / "shot"
    assert main(["-q", "reconstruct", str(clip), "-o", str(shot), "--max-size", "160", "--depth", family,
                 "--depth.model", str(model), "--no-objects", "--no-background", "--no-light-probe"]) == 0
    maps = sorted((shot / "run" / "depth").glob("*.npz"))
    assert len(maps) == 6 and all(np.load(m)["depth"].shape == (90, 160) for m in maps)
