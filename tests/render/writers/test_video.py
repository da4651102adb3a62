"""Video and image-sequence writers: round trips, sizes, atomic writes, refusing to overwrite."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from sceneforge.render import VideoWriter, write_video
from sceneforge.scenegraph import InputError, OutputExistsError, ShapeError


def frames(count: int = 10, height: int = 48, width: int = 64, seed: int = 0) -> list[np.ndarray]:
    """Smooth colour gradients that move, with a bright square: easy to compress, easy to compare."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    out = []
    for i in range(count):
        image = np.stack([xx * 200 // width + 5 * i, yy * 200 // height + 20, np.full_like(xx, 40 + 15 * i)], axis=-1)
        y0, x0 = rng.integers(0, height - 8), rng.integers(0, width - 8)
        image[y0 : y0 + 8, x0 : x0 + 8] = [250, 250, 250]
        out.append(image.astype(np.uint8))
    return out


def read_back(path: Path) -> tuple[list[np.ndarray], av.video.stream.VideoStream]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        return decoded, stream


def no_temporaries(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith(".")]


# ------------------------------------------------------------------------------------ video


def test_mp4_round_trip_count_size_fps_and_colours(tmp_path):
    images = frames(10)
    path = write_video(tmp_path / "clip.mp4", images, fps=24)
    assert path == tmp_path / "clip.mp4"
    decoded, stream = read_back(path)
    assert len(decoded) == 10
    assert decoded[0].shape == (48, 64, 3)
    assert stream.average_rate == 24
    assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
    # 4:2:0 chroma blurs sharp colour edges a little; nothing else changes.
    error = np.abs(np.stack(decoded).astype(int) - np.stack(images).astype(int))
    assert error.mean() < 3.0, error.mean()
    assert no_temporaries(tmp_path)


def test_saturated_colours_survive_the_yuv_round_trip(tmp_path):
    # A BT.601/BT.709 mix-up between writer and reader shifts these by 10-20 levels.
    colours = np.array([[230, 40, 40], [40, 200, 60], [30, 60, 220], [250, 230, 30], [128, 128, 128]], np.uint8)
    images = [np.full((32, 32, 3), colour, np.uint8) for colour in colours]
    decoded, stream = read_back(write_video(tmp_path / "flat.mp4", images, fps=24))
    assert stream.codec_context.colorspace == 1  # AVCOL_SPC_BT709, tagged in the stream
    centres = np.array([image[16, 16] for image in decoded]).astype(int)
    assert np.abs(centres - colours.astype(int)).max() <= 3, centres


def test_ntsc_rates_are_kept_exactly(tmp_path):
    path = write_video(tmp_path / "clip.mov", frames(4), fps=30000 / 1001)
    _, stream = read_back(path)
    assert stream.average_rate == Fraction(30000, 1001)


@pytest.mark.parametrize(("odd_size", "expected"), [("pad", (50, 66)), ("crop", (48, 64))])
def test_odd_sizes_are_padded_or_cropped(tmp_path, odd_size, expected):
    images = frames(3, height=49, width=65)
    path = write_video(tmp_path / f"{odd_size}.mp4", images, fps=12, odd_size=odd_size)
    decoded, _ = read_back(path)
    assert decoded[0].shape[:2] == expected
    # The picture itself is not moved or scaled.
    error = np.abs(decoded[1][:48, :64].astype(int) - images[1][:48, :64].astype(int))
    assert error.mean() < 2.5


def test_streaming_writer_is_atomic(tmp_path):
    target = tmp_path / "stream.mp4"
    with VideoWriter(target, fps=25, crf=23) as writer:
        for image in frames(5):
            writer.write(image)
            assert not target.exists()  # only a temporary file while writing
        assert writer.frames_written == 5
    assert target.exists() and no_temporaries(tmp_path)
    assert len(read_back(target)[0]) == 5


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    target = tmp_path / "broken.mp4"
    with pytest.raises(RuntimeError, match="stop"):
        with VideoWriter(target, fps=24) as writer:
            writer.write(frames(1)[0])
            raise RuntimeError("stop")
    assert not target.exists() and no_temporaries(tmp_path)
    with pytest.raises(InputError, match="like the first"):
        with VideoWriter(target, fps=24) as writer:
            writer.write(frames(1)[0])
            writer.write(frames(1, height=32)[0])
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_overwrite_unless_asked(tmp_path):
    target = tmp_path / "clip.mp4"
    write_video(target, frames(3), fps=24)
    before = target.read_bytes()
    with pytest.raises(OutputExistsError, match="overwrite"):
        write_video(target, frames(5), fps=24)
    assert target.read_bytes() == before
    write_video(target, frames(5), fps=24, overwrite=True)
    assert len(read_back(target)[0]) == 5


# ---------------------------------------------------------------------------- PNG sequences


def test_png_sequence_in_a_folder_round_trips_exactly(tmp_path):
    images = frames(6, height=33, width=47)  # odd sizes are kept as they are
    folder = write_video(tmp_path / "seq", images, fps=24)
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"frame_{i:06d}.png" for i in range(6)]
    for i, image in enumerate(images):
        np.testing.assert_array_equal(cv2.imread(str(folder / names[i]))[:, :, ::-1], image)
    assert no_temporaries(tmp_path)


def test_png_sequence_with_a_pattern_and_start_number(tmp_path):
    images = frames(3)
    (tmp_path / "plates").mkdir()
    write_video(tmp_path / "plates" / "shot_%04d.png", images, fps=24, start_number=1001)
    assert sorted(p.name for p in (tmp_path / "plates").iterdir()) == ["shot_1001.png", "shot_1002.png", "shot_1003.png"]
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "plates" / "shot_1002.png"))[:, :, ::-1], images[1])
    with pytest.raises(OutputExistsError, match="shot_1001.png"):
        write_video(tmp_path / "plates" / "shot_%04d.png", images, fps=24, start_number=1001)
    # Overwriting replaces the whole sequence: no stale frames from the longer one survive.
    write_video(tmp_path / "plates" / "shot_%04d.png", images[:1], fps=24, start_number=1001, overwrite=True)
    assert sorted(p.name for p in (tmp_path / "plates").iterdir()) == ["shot_1001.png"]


def test_a_failed_sequence_leaves_the_folder_as_it_was(tmp_path):
    folder = tmp_path / "seq"
    with pytest.raises(RuntimeError):
        with VideoWriter(folder, fps=24) as writer:
            writer.write(frames(1)[0])
            raise RuntimeError("stop")
    assert not folder.exists() and list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("clip.avi2", "unknown suffix"),
        ("frame.png", "names one image"),
        ("frames_%06d.tif", "PNG or EXR"),
        ("frames_%06d.jpg", "PNG"),
        ("frames_%d_%04d.png", "exactly one"),
        ("missing/clip.mp4", "does not exist"),
    ],
)
def test_bad_paths_are_refused(tmp_path, name, message):
    with pytest.raises(InputError, match=message):
        write_video(tmp_path / name, frames(1), fps=24)


def test_bad_frames_and_parameters_are_refused(tmp_path):
    with pytest.raises(ShapeError, match="uint8 or float32"):
        write_video(tmp_path / "a.mp4", [np.zeros((8, 8, 3), np.float64)], fps=24)
    with pytest.raises(ShapeError, match="H×W×3"):
        write_video(tmp_path / "a.mp4", [np.zeros((8, 8), np.uint8)], fps=24)
    with pytest.raises(InputError, match="fps"):
        write_video(tmp_path / "a.mp4", frames(1), fps=0)
    with pytest.raises(InputError, match="crf"):
        write_video(tmp_path / "a.mp4", frames(1), fps=24, crf=80)
    with pytest.raises(InputError, match="no frames"):
        write_video(tmp_path / "a.mp4", [], fps=24)
    assert list(tmp_path.iterdir()) == []


def test_progress_is_reported(tmp_path):
    seen = []
    write_video(tmp_path / "a.mp4", frames(4), fps=24, progress=lambda stage, done, total: seen.append((done, total)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
