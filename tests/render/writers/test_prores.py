"""ProRes 4444 .mov files: codec, profile, count, size, exact fps, colours, atomic writes."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from sceneforge.render.writers import VideoWriter, write_video
from sceneforge.scenegraph import InputError, OutputExistsError


def gradients(count: int = 5, height: int = 49, width: int = 64) -> list[np.ndarray]:
    """Smooth float32 sRGB ramps; an odd height (4:4:4 ProRes keeps it), a width that is a multiple of 16
    (FFmpeg's prores_ks sometimes garbles 8 pixels at other widths; see render/writers/_encode.py)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    return [
        np.stack([xx / (width - 1), yy / (height - 1), np.full_like(xx, 0.1 + 0.15 * i)], axis=-1).astype(np.float32)
        for i in range(count)
    ]


def decode(path, pix_fmt: str):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        context = stream.codec_context
        info = {"codec": context.name, "profile": context.profile, "rate": stream.average_rate,
                "colorspace": context.colorspace, "size": (context.height, context.width)}
        return [frame.to_ndarray(format=pix_fmt) for frame in container.decode(stream)], info


def test_prores_round_trip_codec_count_size_fps_and_colours(tmp_path):
    images = gradients()
    path = write_video(tmp_path / "edit.mov", images, fps=30000 / 1001, format="prores")
    decoded, info = decode(path, "rgb48le")
    assert info["codec"] == "prores" and info["profile"] == "4444"
    assert info["rate"] == Fraction(30000, 1001)
    assert info["colorspace"] == 1  # BT.709, tagged
    assert len(decoded) == 5 and info["size"] == (49, 64)
    # 10-bit 4:4:4 through a BT.709 matrix: a few 10-bit codes at most.
    error = np.abs(np.stack(decoded) / 65535.0 - np.stack(images))
    assert error.max() < 0.01 and error.mean() < 0.002, (error.max(), error.mean())
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_prores_keeps_saturated_uint8_colours(tmp_path):
    colours = np.array([[230, 40, 40], [40, 200, 60], [30, 60, 220], [250, 230, 30], [128, 128, 128]], np.uint8)
    images = [np.full((32, 32, 3), colour, np.uint8) for colour in colours]
    decoded, _ = decode(write_video(tmp_path / "flat.mov", images, fps=24, format="prores"), "rgb24")
    centres = np.array([image[16, 16] for image in decoded]).astype(int)
    assert np.abs(centres - colours.astype(int)).max() <= 2, centres


def test_mov_without_a_format_stays_h264(tmp_path):
    _, info = decode(write_video(tmp_path / "clip.mov", gradients(2, 32, 32), fps=24), "rgb24")
    assert info["codec"] == "h264"


def test_prores_is_atomic_and_refuses_to_overwrite(tmp_path):
    target = tmp_path / "edit.mov"
    writer = VideoWriter(target, fps=24, format="prores")
    writer.write(gradients(1)[0])
    assert not target.exists()
    writer.abort()
    assert list(tmp_path.iterdir()) == []
    write_video(target, gradients(2), fps=24, format="prores")
    before = target.read_bytes()
    with pytest.raises(OutputExistsError, match="overwrite"):
        VideoWriter(target, fps=24, format="prores")
    assert target.read_bytes() == before
    write_video(target, gradients(3), fps=24, format="prores", overwrite=True)
    assert len(decode(target, "rgb24")[0]) == 3


@pytest.mark.parametrize(("name", "message"), [("edit.mp4", ".mov"), ("shots", "one file"), ("f_%04d.png", "PNG pattern")])
def test_prores_needs_a_mov_file(tmp_path, name, message):
    with pytest.raises(InputError, match=message):
        VideoWriter(tmp_path / name, fps=24, format="prores")
    assert list(tmp_path.iterdir()) == []
