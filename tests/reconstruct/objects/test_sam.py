"""SAM 2 / SAM 3 backends through transformers, on tiny randomly initialised models.

Random weights give meaningless masks: these tests check plumbing and conventions (how
prompts reach the model, pre/postprocessing, shapes, both tracking directions, routing of
text prompts, errors), never segmentation quality.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from sceneforge.reconstruct.objects import (
    FlowTracker,
    ObjectPrompt,
    Sam2Segmenter,
    Sam2SegmenterConfig,
    Sam3SegmenterConfig,
    TrackedMasks,
    parse_object_prompt,
    track_object,
)
from sceneforge.reconstruct.objects._sam import sam_preprocess, sam_prompt_points, sam_upsample_logits
from sceneforge.scenegraph import DependencyError, Frames, InputError

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tests.reconstruct._tiny_sam_models import TINY_SAM2_SIDE, TINY_SAM3_SIDE, save_tiny_sam2, save_tiny_sam3  # noqa: E402

HEIGHT, WIDTH, N = 48, 64, 5


@pytest.fixture(scope="module")
def sam2_folder(tmp_path_factory):
    return save_tiny_sam2(tmp_path_factory.mktemp("sam2"))


@pytest.fixture(scope="module")
def sam3_folder(tmp_path_factory):
    return save_tiny_sam3(tmp_path_factory.mktemp("sam3"))


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 255, (N, HEIGHT, WIDTH, 3), dtype=np.uint8)
    return Frames(images=images, fps=10.0, frame_numbers=np.arange(N) * 2)


def _recording_steps(segmenter, monkeypatch):
    calls = []
    step = segmenter._step

    def recorded(session, index, *, reverse):
        calls.append((index, reverse))
        return step(session, index, reverse=reverse)

    monkeypatch.setattr(segmenter, "_step", recorded)
    return calls


# -- text prompts: parsing -------------------------------------------------------------------


def test_parse_text_prompt_with_spaces_commas_and_frame():
    prompt = parse_object_prompt("chair=text:the red chair, by the window@12")
    assert prompt.kind == "text" and prompt.frame == 12
    assert prompt.text == "the red chair, by the window"
    assert prompt.box is None and prompt.points is None and prompt.mask is None
    default = parse_object_prompt("lamp=text:  a   tall lamp ")
    assert default.frame == 0 and default.text == "a tall lamp"


@pytest.mark.parametrize("text, fragment", [("chair=text:", "NAME=text"), ("chair=text:   @3", "NAME=text"), ("chair=txt:a cup", "unknown prompt kind")])
def test_parse_text_errors_are_one_line(text, fragment):
    with pytest.raises(InputError) as info:
        parse_object_prompt(text)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_text_prompt_excludes_other_kinds():
    with pytest.raises(InputError, match="not both"):
        ObjectPrompt("a", text="a chair", box=(0, 0, 4, 4))


def test_prompts_for_clip_maps_a_text_prompt_frame():
    from sceneforge.engine.pipeline._objects import prompts_for_clip

    clip = Frames(images=np.zeros((3, 8, 8, 3), np.uint8), fps=5.0, frame_numbers=np.array([10, 12, 14]), scale=0.5)
    (prompt,) = prompts_for_clip(["chair=text:the red chair@12"], clip)
    assert prompt.frame == 1 and prompt.text == "the red chair" and prompt.kind == "text"


# -- pre- and postprocessing match the processors ---------------------------------------------


def test_preprocess_is_square_resize_and_imagenet_normalisation():
    from transformers.image_utils import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, IMAGENET_STANDARD_MEAN

    from sceneforge.reconstruct.objects import _sam

    # the constants the SAM 2 video processor and the SAM 3 processor use
    assert _sam.IMAGENET_MEAN == tuple(IMAGENET_DEFAULT_MEAN) and _sam.IMAGENET_STD == tuple(IMAGENET_DEFAULT_STD)
    assert _sam.HALF_MEAN == tuple(IMAGENET_STANDARD_MEAN)
    colour = np.array([200, 100, 30], np.uint8)
    image = np.broadcast_to(colour, (HEIGHT, WIDTH, 3)).copy()
    pixels = sam_preprocess(image, 1024).numpy()
    assert pixels.shape == (3, 1024, 1024) and pixels.dtype == np.float32
    expected = (colour / 255.0 - np.array(IMAGENET_DEFAULT_MEAN)) / np.array(IMAGENET_DEFAULT_STD)
    np.testing.assert_allclose(pixels[:, 500, 700], expected, atol=1e-5)
    # aspect ratio is not kept: a left/right split lands at the middle column of the square
    image[:, : WIDTH // 2] = 0
    pixels = sam_preprocess(image, 256, mean=(0, 0, 0), std=(1, 1, 1)).numpy()
    assert np.all(pixels[0, :, :120] == 0) and np.allclose(pixels[0, :, 136:], 200 / 255)
    # values are on uint8 levels, as the processors' uint8 resize leaves them
    np.testing.assert_allclose(pixels * 255, np.round(pixels * 255), atol=1e-4)


def test_processor_defaults_are_what_the_backends_assume():
    """Read from transformers' own source: its processors cannot be imported here (torchvision)."""
    import importlib.util
    import re
    from pathlib import Path

    def source(module):
        return Path(importlib.util.find_spec(module).origin).read_text(encoding="utf-8")

    sam2 = source("transformers.models.sam2_video.video_processing_sam2_video")
    sam3 = source("transformers.models.sam3.image_processing_sam3")
    assert re.search(r'size = \{"height": 1024, "width": 1024\}', sam2)
    assert re.search(r'size = \{"height": 1008, "width": 1008\}', sam3)
    assert "image_mean = IMAGENET_DEFAULT_MEAN" in sam2 and "image_mean = IMAGENET_STANDARD_MEAN" in sam3
    assert sam2.count("resample = PILImageResampling.BILINEAR") == 1 == sam3.count("resample = PILImageResampling.BILINEAR")
    # post_process_masks: bilinear to the padded side, crop, bilinear to the frame, threshold at 0
    assert 'mode="bilinear", align_corners=False' in sam2 and "mask_threshold=0.0" in sam2


def test_box_and_points_map_to_model_pixels():
    prompt = ObjectPrompt("a", box=(16.0, 12.0, 48.0, 36.0), points=np.array([[32.0, 24.0], [1.0, 2.0]]),
                          labels=np.array([True, False]))
    coords, labels = sam_prompt_points(prompt, WIDTH, HEIGHT, 1024)
    sx, sy = 1024 / WIDTH, 1024 / HEIGHT
    expected = np.array([[16 * sx, 12 * sy], [48 * sx, 36 * sy], [32 * sx, 24 * sy], [1 * sx, 2 * sy]]) - 0.5
    np.testing.assert_allclose(coords, expected, rtol=1e-6)
    assert labels.tolist() == [2, 3, 1, 0] and labels.dtype == np.int32
    # after the model's own +0.5 shift the frame's centre is the model input's centre
    centre, _ = sam_prompt_points(ObjectPrompt("c", points=[[WIDTH / 2, HEIGHT / 2]]), WIDTH, HEIGHT, 1024)
    np.testing.assert_allclose((centre[0] + 0.5) / 1024, [0.5, 0.5])


def test_upsampling_logits_matches_post_process_masks():
    import torch
    import torch.nn.functional as F

    logits = torch.randn(2, 64, 64)
    out = sam_upsample_logits(logits, 256, HEIGHT, WIDTH)
    assert out.shape == (2, HEIGHT, WIDTH)
    staged = F.interpolate(logits[:, None], (256, 256), mode="bilinear", align_corners=False)
    staged = F.interpolate(staged, (HEIGHT, WIDTH), mode="bilinear", align_corners=False)[:, 0]
    torch.testing.assert_close(out, staged)


# -- SAM 2 -----------------------------------------------------------------------------------


def test_sam2_box_reaches_the_model_at_its_input_size(sam2_folder, frames):
    segmenter = Sam2SegmenterConfig(model=str(sam2_folder), device="cpu").build()
    segmenter.set_image(frames.images[0])
    seen = []
    hook = segmenter.tracker.prompt_encoder.register_forward_pre_hook(
        lambda module, args, kwargs: seen.append(kwargs), with_kwargs=True)
    try:
        prompt = ObjectPrompt("a", box=(16.0, 12.0, 48.0, 36.0))
        result = segmenter.segment(prompt)
    finally:
        hook.remove()
    assert segmenter.side == TINY_SAM2_SIDE
    points = seen[0]["input_points"][0, 0].numpy()
    expected, labels = sam_prompt_points(prompt, WIDTH, HEIGHT, TINY_SAM2_SIDE)
    np.testing.assert_allclose(points, expected, rtol=1e-6)
    assert seen[0]["input_labels"][0, 0].tolist() == labels.tolist() == [2, 3]
    np.testing.assert_allclose(expected[1] + 0.5, [48 * TINY_SAM2_SIDE / WIDTH, 36 * TINY_SAM2_SIDE / HEIGHT])
    assert result.masks.shape == (1, HEIGHT, WIDTH) and result.masks.dtype == bool and result.masks.any()
    assert 0.0 <= float(result.scores[0]) <= 1.0


def test_sam2_points_and_mask_prompts(sam2_folder, frames):
    segmenter = Sam2SegmenterConfig(model=str(sam2_folder), device="cpu").build()
    segmenter.set_image(frames.images[1])
    clicks = segmenter.segment(ObjectPrompt("a", points=[[20.0, 20.0], [50.0, 40.0]], labels=[True, False]))
    assert clicks.masks.shape == (1, HEIGHT, WIDTH)
    mask = np.zeros((HEIGHT // 2, WIDTH // 2), bool)
    mask[5:10, 5:12] = True
    given = segmenter.segment(ObjectPrompt("a", mask=mask))
    assert given.masks.shape == (1, HEIGHT, WIDTH) and given.masks[0, 10:20, 10:24].all()
    with pytest.raises(InputError, match="outside"):
        segmenter.segment(ObjectPrompt("a", box=(100.0, 100.0, 120.0, 120.0)))


def test_sam2_track_prompt_covers_both_directions(sam2_folder, frames, monkeypatch):
    segmenter = Sam2SegmenterConfig(model=str(sam2_folder), device="cpu").build()
    segmenter._load()
    calls = _recording_steps(segmenter, monkeypatch)
    reports = []
    tracked = segmenter.track_prompt(frames, ObjectPrompt("cup", frame=2, box=(16.0, 12.0, 48.0, 36.0)),
                                     progress=lambda stage, done, total: reports.append((stage, done, total)))
    assert isinstance(tracked, TrackedMasks) and tracked.name == "cup" and len(tracked) == N
    assert tracked.masks.shape == (N, HEIGHT, WIDTH) and tracked.prompt_frame == 2
    np.testing.assert_array_equal(tracked.frame_numbers, frames.frame_numbers)
    assert tracked.motion[2] == "prompt" and tracked.quality[2] == 1.0
    assert all(m in ("flow", "lost") for i, m in enumerate(tracked.motion) if i != 2)
    assert np.all((tracked.quality >= 0) & (tracked.quality <= 1))
    lost = np.array([m == "lost" for m in tracked.motion])
    assert not tracked.masks[lost].any() and np.all(tracked.quality[lost] == 0)
    assert calls == [(2, False), (3, False), (4, False), (1, True), (0, True)]
    assert reports[-1] == ("track", N, N)


def test_sam2_track_keeps_the_prompt_mask_and_bounds_memory(sam2_folder, frames, monkeypatch):
    segmenter = Sam2SegmenterConfig(model=str(sam2_folder), device="cpu", max_frames_in_memory=1).build()
    segmenter._load()
    kept = []
    forget = segmenter._forget

    def spy(session, index):
        forget(session, index)
        per_object = session.output_dict_per_obj[0]
        kept.append(len(per_object["non_cond_frame_outputs"]))
        assert all("high_res_masks" not in out for part in per_object.values() for out in part.values())

    monkeypatch.setattr(segmenter, "_forget", spy)
    mask = np.zeros((HEIGHT, WIDTH), bool)
    mask[10:30, 20:40] = True
    tracked = segmenter.track(frames, mask, 4, name="box")
    np.testing.assert_array_equal(tracked.masks[4], mask)
    assert tracked.motion[4] == "prompt" and tracked.name == "box"
    assert kept and max(kept) <= 1


def test_track_object_lets_sam2_take_the_prompt_itself(sam2_folder, frames, monkeypatch):
    segmenter = Sam2SegmenterConfig(model=str(sam2_folder), device="cpu").build()
    taken = []
    monkeypatch.setattr(segmenter, "track_prompt", lambda frames, prompt, **kw: taken.append(prompt) or "done")
    prompt = ObjectPrompt("a", frame=1, points=[[10.0, 10.0]])
    assert track_object(frames, prompt, tracker=segmenter) == "done"  # as the tracker
    assert track_object(frames, prompt, segmenter=segmenter) == "done"  # its own propagation ("auto")
    assert taken == [prompt, prompt]


def test_text_prompt_needs_sam3(sam2_folder, frames):
    prompt = ObjectPrompt("chair", frame=1, text="the red chair")
    with pytest.raises(InputError, match="text prompts need --segmenter sam3"):
        track_object(frames, prompt)
    segmenter = Sam2SegmenterConfig(model=str(sam2_folder), device="cpu").build()
    with pytest.raises(InputError, match="text prompts need --segmenter sam3"):
        track_object(frames, prompt, segmenter=segmenter)
    with pytest.raises(InputError, match="text prompts need --segmenter sam3"):
        segmenter.track_prompt(frames, prompt)


# -- SAM 3 -----------------------------------------------------------------------------------


def test_sam3_text_prompt_is_found_and_tracked(sam3_folder, frames, monkeypatch):
    segmenter = Sam3SegmenterConfig(model=str(sam3_folder), device="cpu", detection_threshold=0.0).build()
    segmenter._load()
    assert segmenter.side == TINY_SAM3_SIDE
    calls = _recording_steps(segmenter, monkeypatch)
    tracked = track_object(frames, ObjectPrompt("chair", frame=3, text="the red chair"), segmenter=segmenter)
    assert tracked.name == "chair" and tracked.masks.shape == (N, HEIGHT, WIDTH)
    assert tracked.motion[3] == "prompt" and tracked.masks[3].any()
    assert calls == [(3, False), (4, False), (2, True), (1, True), (0, True)]


def test_sam3_text_not_found_is_one_line(sam3_folder, frames):
    segmenter = Sam3SegmenterConfig(model=str(sam3_folder), device="cpu", detection_threshold=1.0).build()
    with pytest.raises(InputError) as info:
        segmenter.track_prompt(frames, ObjectPrompt("chair", frame=2, text="the red chair"))
    message = str(info.value)
    assert "another frame" in message and "box" in message and "\n" not in message


def test_sam3_box_prompt_and_text_then_flow(sam3_folder, frames):
    segmenter = Sam3SegmenterConfig(model=str(sam3_folder), device="cpu", detection_threshold=0.0).build()
    tracked = segmenter.track_prompt(frames, ObjectPrompt("a", frame=0, box=(8.0, 8.0, 40.0, 30.0)))
    assert tracked.masks.shape == (N, HEIGHT, WIDTH) and tracked.motion[0] == "prompt"
    # text answered by SAM 3 on its frame, then carried by the flow tracker
    flowed = track_object(frames, ObjectPrompt("b", frame=1, text="red"), segmenter=segmenter, tracker=FlowTracker())
    assert flowed.motion[1] == "prompt" and flowed.masks[1].any()


# -- errors ----------------------------------------------------------------------------------


def test_no_model_names_the_option(frames):
    segmenter = Sam2SegmenterConfig().build()
    with pytest.raises(InputError, match="--segmenter.model"):
        segmenter.set_image(frames.images[0])
    with pytest.raises(InputError, match="--segmenter.model"):
        Sam3SegmenterConfig().build().track_prompt(frames, ObjectPrompt("a", text="a cup"))


def test_missing_transformers_is_a_dependency_error(frames, monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(DependencyError, match="transformers"):
        Sam2SegmenterConfig(model="facebook/sam2.1-hiera-tiny").build().set_image(frames.images[0])


def test_config_validation(sam2_folder, frames):
    with pytest.raises(InputError, match="device"):
        Sam2SegmenterConfig(device="tpu")
    with pytest.raises(InputError, match="max_frames_in_memory"):
        Sam2SegmenterConfig(max_frames_in_memory=0)
    with pytest.raises(InputError, match="resolution"):
        Sam2SegmenterConfig(model=str(sam2_folder), device="cpu", resolution=1024).build().set_image(frames.images[0])
    assert isinstance(Sam2SegmenterConfig(model="x").build(), Sam2Segmenter)
