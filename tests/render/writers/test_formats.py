"""Choosing the format, float frames, channels only where they can be stored, frame numbers."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from sceneforge.render.writers import WRITER_FORMATS, VideoWriter, write_video
from sceneforge.scenegraph import InputError, OutputExistsError


def ramp(height: int = 16, width: int = 24) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    return np.stack([xx / width, yy / height, np.full_like(xx, 0.5)], axis=-1).astype(np.float32)


def test_formats_are_listed():
    assert WRITER_FORMATS == ("mp4", "png", "exr", "prores")


@pytest.mark.parametrize(
    ("name", "format", "chosen"),
    [("a.mp4", None, "mp4"), ("a.mkv", "mp4", "mp4"), ("a.mov", None, "mp4"), ("a.mov", "prores", "prores"),
     ("seq", None, "png"), ("seq", "exr", "exr"), ("f_%04d.png", None, "png"), ("f_%04d.exr", None, "exr")],
)
def test_format_is_chosen_from_the_path_and_the_argument(tmp_path, name, format, chosen):
    writer = VideoWriter(tmp_path / name, fps=24, format=format)
    assert writer.format == chosen
    writer.abort()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("name", "format", "message"),
    [("a.mp4", "webm", "one of mp4, png, exr, prores"), ("a.mp4", "png", "image sequence"),
     ("f_%04d.png", "exr", "does not fit"), ("f_%04d.exr", "png", "does not fit"), ("seq", "mp4", "one file")],
)
def test_a_format_that_does_not_fit_the_path_is_refused(tmp_path, name, format, message):
    with pytest.raises(InputError, match=message):
        VideoWriter(tmp_path / name, fps=24, format=format)
    assert list(tmp_path.iterdir()) == []


def test_float_frames_become_8_bit_for_png(tmp_path):
    image = ramp()
    folder = write_video(tmp_path / "seq", [image], fps=24)
    stored = cv2.imread(str(folder / "frame_000000.png"))[:, :, ::-1]
    np.testing.assert_array_equal(stored, np.round(image * 255).astype(np.uint8))


def test_float_frames_become_8_bit_for_h264(tmp_path):
    image = ramp(48, 64) * 0.5 + 0.25  # gentle colours: 4:2:0 chroma costs little
    with av.open(str(write_video(tmp_path / "a.mp4", [image, image], fps=24))) as container:
        decoded = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert np.abs(decoded.astype(int) - np.round(image * 255).astype(int)).mean() < 3.0


def test_non_finite_float_frames_are_refused(tmp_path):
    image = ramp()
    image[0, 0, 0] = np.nan
    with pytest.raises(InputError, match="finite"):
        write_video(tmp_path / "a.mp4", [image], fps=24)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("name", "format"), [("a.mp4", None), ("seq", None), ("a.mov", "prores")])
def test_channels_are_refused_where_they_cannot_be_stored(tmp_path, name, format):
    with pytest.raises(InputError, match="cannot store extra channels"):
        with VideoWriter(tmp_path / name, fps=24, format=format) as writer:
            writer.write(ramp(), channels={"depth": np.ones((16, 24), np.float32)})
    assert list(tmp_path.iterdir()) == []


def test_frame_numbers_are_checked(tmp_path):
    with pytest.raises(InputError, match="already written"):
        with VideoWriter(tmp_path / "seq", fps=24) as writer:
            writer.write(ramp(), frame_number=3)
            writer.write(ramp(), frame_number=3)
    with pytest.raises(InputError, match="consecutive"):
        with VideoWriter(tmp_path / "a.mp4", fps=24, start_number=10) as writer:
            writer.write(ramp(), frame_number=10)
            writer.write(ramp(), frame_number=12)
    with pytest.raises(InputError, match="non-negative integer"):
        with VideoWriter(tmp_path / "seq", fps=24) as writer:
            writer.write(ramp(), frame_number=-1)
    assert list(tmp_path.iterdir()) == []


def test_overwrite_still_refused_for_png_with_a_format(tmp_path):
    write_video(tmp_path / "seq", [ramp()], fps=24, format="png")
    with pytest.raises(OutputExistsError, match="resume=True"):
        VideoWriter(tmp_path / "seq", fps=24, format="png")
