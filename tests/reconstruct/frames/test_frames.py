"""Reading clips: videos and image folders, ranges, resizing, and every kind of bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sceneforge.reconstruct import read_frames
from sceneforge.scenegraph import InputError
from tests.conftest import textured_image, write_video


@pytest.fixture(scope="module")
def small_video(tmp_path_factory) -> Path:
    base = textured_image(120, 480, seed=1)
    images = np.stack([np.ascontiguousarray(base[:, 5 * i : 5 * i + 160]) for i in range(12)])
    return write_video(tmp_path_factory.mktemp("video") / "clip.mp4", images, fps=25)


def _image_folder(folder: Path, count: int, size=(64, 48)) -> Path:
    folder.mkdir()
    for i in range(count):
        Image.fromarray(textured_image(size[1], size[0], seed=i)).save(folder / f"img_{i}.png")
    return folder


def test_video_smoke(small_video):
    frames = read_frames(small_video)
    assert frames.images.shape == (12, 120, 160, 3)
    assert frames.images.dtype == np.uint8
    assert frames.fps == pytest.approx(25.0)
    np.testing.assert_array_equal(frames.frame_numbers, np.arange(12))


def test_video_range_keeps_source_frame_numbers(small_video):
    frames = read_frames(small_video, start=2, end=11, stride=3)
    np.testing.assert_array_equal(frames.frame_numbers, [2, 5, 8])
    assert frames.fps == pytest.approx(25.0)


def test_video_max_size_resizes_long_side(small_video):
    frames = read_frames(small_video, max_size=80)
    assert (frames.width, frames.height) == (80, 60)
    assert frames.scale == pytest.approx(0.5)


def test_image_folder_natural_order(tmp_path):
    folder = _image_folder(tmp_path / "imgs", 11)
    frames = read_frames(folder, max_size=None)
    assert len(frames) == 11
    # img_10 sorts after img_9 (numbers compared as numbers)
    expected = np.asarray(Image.open(folder / "img_10.png").convert("RGB"))
    np.testing.assert_array_equal(frames.images[10], expected)
    assert frames.fps == 24.0


def test_image_folder_pattern(tmp_path):
    folder = _image_folder(tmp_path / "imgs", 4)
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(folder / "other.jpg")
    frames = read_frames(folder, pattern="img_*.png")
    assert len(frames) == 4


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "missing.mp4", "not found"),
        (lambda p: (p / "notes.mp4").write_text("hello") and p / "notes.mp4", "not a readable video"),
        (lambda p: (p / "empty").mkdir() or p / "empty", "holds no images"),
    ],
)
def test_bad_input_one_clear_line(tmp_path, make, message):
    with pytest.raises(InputError, match=message) as info:
        read_frames(make(tmp_path))
    assert "\n" not in str(info.value)


def test_single_frame_is_refused(tmp_path):
    folder = _image_folder(tmp_path / "one", 1)
    with pytest.raises(InputError, match="at least 2"):
        read_frames(folder)


def test_mixed_image_sizes_are_refused(tmp_path):
    folder = _image_folder(tmp_path / "imgs", 3)
    Image.fromarray(textured_image(30, 40, seed=9)).save(folder / "img_3.png")
    with pytest.raises(InputError, match="one size"):
        read_frames(folder)


def test_broken_image_is_named(tmp_path):
    folder = _image_folder(tmp_path / "imgs", 3)
    (folder / "img_1.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match="img_1.png"):
        read_frames(folder)


@pytest.mark.parametrize(("kwargs", "message"), [({"stride": 0}, "stride"), ({"start": 5, "end": 3}, "end"), ({"start": -1}, "start")])
def test_bad_ranges(small_video, kwargs, message):
    with pytest.raises(InputError, match=message):
        read_frames(small_video, **kwargs)
