"""The diffusion refiner on tiny random pipelines: only changed pixels change, seeds reproduce,
the depth reaches the ControlNet, and bad models fail with one clear InputError (offline)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"  # before huggingface_hub is imported: these tests never reach the network
pytest.importorskip("diffusers")
pytest.importorskip("transformers")
pytest.importorskip("accelerate")

from sceneforge.render.refine._diffusion import DiffusionRefiner, DiffusionRefinerConfig  # noqa: E402
from sceneforge.render.refine._protocol import RefineFrame, Refiner  # noqa: E402
from sceneforge.scenegraph import DependencyError, InputError, Intrinsics  # noqa: E402
from tests.render._tiny_diffusion import (  # noqa: E402
    save_tiny_sd_controlnet_inpaint,
    save_tiny_sd_inpaint,
    save_tiny_wan_vace,
)

HEIGHT, WIDTH = 48, 64
SAVERS = {
    "sd_inpaint": save_tiny_sd_inpaint,
    "sd_controlnet_inpaint": save_tiny_sd_controlnet_inpaint,
    "wan_vace": save_tiny_wan_vace,
}
CLASSES = {
    "sd_inpaint": "StableDiffusionInpaintPipeline",
    "sd_controlnet_inpaint": "StableDiffusionControlNetInpaintPipeline",
    "wan_vace": "WanVACEPipeline",
}


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny_pipelines")
    return {kind: save(root / kind) for kind, save in SAVERS.items()}


def config(model: Path | str | None, **overrides) -> DiffusionRefinerConfig:
    options = dict(steps=2, resolution=64, video_frames=5, device="cpu", prompt="a room")
    options.update(overrides)
    return DiffusionRefinerConfig(model=None if model is None else str(model), **options)


def make_frame(frame_number: int, *, changed: bool = True, depth_seed: int = 0) -> RefineFrame:
    rng = np.random.default_rng(frame_number)
    rgb = rng.random((HEIGHT, WIDTH, 3), dtype=np.float32)
    mask = np.zeros((HEIGHT, WIDTH), bool)
    if changed:
        mask[16:32, 24 + frame_number : 40 + frame_number] = True
    depth = np.random.default_rng(depth_seed).uniform(1.0, 5.0, (HEIGHT, WIDTH)).astype(np.float32)
    k = np.array([[50.0, 0.0, WIDTH / 2], [0.0, 50.0, HEIGHT / 2], [0.0, 0.0, 1.0]])
    return RefineFrame(
        frame_number=frame_number,
        rgb=rgb,
        changed=mask,
        inserted=mask.astype(np.float32),
        invented=np.zeros_like(mask),
        depth=depth,
        plate=(rgb * 255).astype(np.uint8),
        intrinsics=Intrinsics(k, WIDTH, HEIGHT),
        world_from_cam=np.eye(4),
    )


# -- feature: each pipeline class, end to end -----------------------------------------------------


@pytest.mark.parametrize("kind", list(SAVERS))
def test_refines_only_changed_pixels(models, kind):
    refiner = config(models[kind]).build()
    try:
        assert isinstance(refiner, Refiner)
        assert refiner.pipeline_class == CLASSES[kind]
        assert refiner.window == (5 if kind == "wan_vace" else 1)
        frames = [make_frame(0), make_frame(1, changed=False), make_frame(2)]
        out = refiner.refine(frames)
    finally:
        refiner.close()
    assert len(out) == len(frames)
    for frame, image in zip(frames, out):
        assert image.shape == (HEIGHT, WIDTH, 3) and image.dtype == np.float32
        assert np.all(np.isfinite(image)) and image.min() >= 0.0 and image.max() <= 1.0
        assert np.array_equal(image[~frame.changed], frame.rgb[~frame.changed])
        if frame.changed.any():
            assert np.mean(image[frame.changed] != frame.rgb[frame.changed]) > 0.95
        else:
            assert np.array_equal(image, frame.rgb)


@pytest.mark.parametrize("kind", ["sd_inpaint", "wan_vace"])
def test_same_seed_same_output(models, kind):
    frames = [make_frame(0), make_frame(1)]
    first = config(models[kind], seed=7).build()
    again = config(models[kind], seed=7).build()
    other = config(models[kind], seed=8).build()
    try:
        a = first.refine(frames)
        b = first.refine(frames)
        c = again.refine(frames)
        d = other.refine(frames)
    finally:
        for refiner in (first, again, other):
            refiner.close()
    for x, y, z, w in zip(a, b, c, d):
        assert np.array_equal(x, y) and np.array_equal(x, z)
        assert not np.array_equal(x, w)


def test_depth_reaches_the_controlnet(models):
    refiner = config(models["sd_controlnet_inpaint"], controlnet_scale=1.0).build()
    try:
        near = refiner.refine([make_frame(0, depth_seed=1)])[0]
        far = refiner.refine([make_frame(0, depth_seed=2)])[0]
    finally:
        refiner.close()
    assert not np.array_equal(near, far)


def test_video_window_is_padded_and_split(models):
    refiner = config(models["wan_vace"], video_frames=5).build()
    try:
        frames = [make_frame(i) for i in range(7)]  # one full window and one of 2 frames, padded to 5
        out = refiner.refine(frames)
    finally:
        refiner.close()
    assert len(out) == 7
    for frame, image in zip(frames, out):
        assert np.array_equal(image[~frame.changed], frame.rgb[~frame.changed])


def test_closed_refiner_refuses(models):
    refiner = config(models["sd_inpaint"]).build()
    refiner.close()
    refiner.close()
    with pytest.raises(InputError, match="closed"):
        refiner.refine([make_frame(0)])


# -- exceptions: bad models and options fail with one clear line --------------------------------


def test_model_required():
    with pytest.raises(InputError, match="needs a model"):
        config(None).build()


def test_missing_folder(tmp_path):
    with pytest.raises(InputError, match="neither a folder nor a Hugging Face repo id"):
        config(tmp_path / "no" / "such" / "model").build()


def test_folder_without_model_index(tmp_path):
    with pytest.raises(InputError, match="model_index.json"):
        config(tmp_path).build()


def test_unsupported_pipeline_class(tmp_path):
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    with pytest.raises(InputError, match="StableDiffusionPipeline.*supports StableDiffusionInpaintPipeline"):
        config(tmp_path).build()


def test_incomplete_folder(tmp_path, models):
    index = json.loads((models["sd_inpaint"] / "model_index.json").read_text())
    (tmp_path / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(InputError, match="cannot load the StableDiffusionInpaintPipeline"):
        config(tmp_path).build()


def test_repo_id_not_in_cache_is_never_downloaded(monkeypatch):
    import huggingface_hub

    calls = []
    real = huggingface_hub.hf_hub_download

    def spy(*args, **kwargs):
        calls.append(kwargs.get("local_files_only"))
        return real(*args, **kwargs)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", spy)
    with pytest.raises(InputError, match="neither a folder nor a Hugging Face repo id in your model cache"):
        config("sceneforge-tests/no-such-pipeline-3f9c2a").build()
    assert calls == [True]


@pytest.mark.parametrize(
    "option",
    [{"strength": 0.0}, {"steps": 0}, {"resolution": 100}, {"video_frames": 6}, {"guidance": -1.0}],
)
def test_bad_options(option):
    with pytest.raises(InputError):
        config("unused", **option)


def test_too_few_steps_for_the_strength(models):
    with pytest.raises(InputError, match="steps × strength"):
        config(models["sd_inpaint"], steps=1, strength=0.5).build()


def test_missing_diffusers_is_a_dependency_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "diffusers", None)  # import diffusers now raises ImportError
    with pytest.raises(DependencyError, match=r"pip install 'sceneforge\[diffusion\]'"):
        DiffusionRefiner(config("unused"))


def test_import_needs_no_heavy_libraries():
    code = (
        "import sys, sceneforge.render.refine._diffusion\n"
        "heavy = {'torch', 'diffusers', 'transformers', 'accelerate'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])
