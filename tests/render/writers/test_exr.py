"""EXR sequences: linear half RGB, extra channels with their stored types, naming, refusals."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

from sceneforge.render.writers import VideoWriter, write_video
from sceneforge.scenegraph import DependencyError, InputError, OutputExistsError, ShapeError

OpenEXR = pytest.importorskip("OpenEXR")


def srgb_reference(encoded: np.ndarray) -> np.ndarray:
    """The sRGB EOTF (IEC 61966-2-1) in float64, written independently of the writer."""
    c = encoded.astype(np.float64)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def read_exr(path):
    with OpenEXR.File(str(path), separate_channels=True) as image:
        header = dict(image.header())  # the file clears its own dict when closed
        channels = {name: (channel.pixels.copy(), channel.type()) for name, channel in image.channels().items()}
    return header, channels


def passes(height: int = 6, width: int = 8, seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    rgb = rng.random((height, width, 3), dtype=np.float32)
    rgb[0, :4, 0] = [0.0, 0.04045, 0.5, 1.0]  # the EOTF's ends and its linear segment's edge
    channels = {
        "depth": rng.uniform(0.5, 80.0, (height, width)).astype(np.float32),
        "object_id": rng.integers(0, 70000, (height, width)).astype(np.int32),
        "coverage": rng.random((height, width)) > 0.5,
        "source": rng.integers(0, 4, (height, width)).astype(np.uint8),
    }
    return rgb, channels


def test_exr_round_trip_channels_types_and_values(tmp_path):
    rgb, channels = passes()
    with VideoWriter(tmp_path / "beauty_%04d.exr", fps=30000 / 1001) as writer:
        assert writer.format == "exr"
        writer.write(rgb, channels=channels)
    header, stored = read_exr(tmp_path / "beauty_0000.exr")
    assert set(stored) == {"R", "G", "B", "depth", "object_id", "coverage", "source"}
    types = {name: pixel_type for name, (_, pixel_type) in stored.items()}
    assert types == {
        "R": OpenEXR.HALF, "G": OpenEXR.HALF, "B": OpenEXR.HALF,
        "depth": OpenEXR.FLOAT, "object_id": OpenEXR.UINT, "coverage": OpenEXR.HALF, "source": OpenEXR.HALF,
    }
    linear = np.stack([stored[c][0] for c in "RGB"], axis=-1).astype(np.float64)
    # Half floats keep 11 significant bits: a relative error of at most 2^-11.
    np.testing.assert_allclose(linear, srgb_reference(rgb), rtol=2**-11, atol=1e-7)
    np.testing.assert_allclose(linear[0, :4, 0], [0.0, 0.0031308, 0.2140411, 1.0], rtol=1e-3)
    assert stored["depth"][0].dtype == np.float32
    np.testing.assert_array_equal(stored["depth"][0], channels["depth"])
    np.testing.assert_array_equal(stored["object_id"][0], channels["object_id"].astype(np.uint32))
    np.testing.assert_array_equal(stored["coverage"][0], channels["coverage"].astype(np.float16))
    np.testing.assert_array_equal(stored["source"][0], channels["source"].astype(np.float16))
    assert header["framesPerSecond"] == Fraction(30000, 1001)


def test_uint8_frames_are_decoded_to_linear(tmp_path):
    image = np.zeros((4, 4, 3), np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = 255, 128, 10
    write_video(tmp_path / "f_%02d.exr", [image], fps=24)
    _, stored = read_exr(tmp_path / "f_00.exr")
    got = [float(stored[c][0][0, 0]) for c in "RGB"]
    np.testing.assert_allclose(got, srgb_reference(np.array([255, 128, 10]) / 255.0), rtol=2**-11)


def test_exr_frames_are_named_by_source_frame_number(tmp_path):
    rgb, _ = passes()
    folder = write_video(tmp_path / "exr", [rgb, rgb, rgb], fps=24, start_number=1001, format="exr")
    assert sorted(p.name for p in folder.iterdir()) == ["frame_001001.exr", "frame_001002.exr", "frame_001003.exr"]
    with VideoWriter(tmp_path / "plates_%04d.exr", fps=24, start_number=7) as writer:
        writer.write(rgb)
        writer.write(rgb, frame_number=12)  # a gap in the source numbers
        writer.write(rgb)
    assert sorted(p.name for p in tmp_path.glob("plates_*")) == ["plates_0007.exr", "plates_0012.exr", "plates_0013.exr"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_exr_sequence_is_atomic_and_refuses_to_overwrite(tmp_path):
    rgb, channels = passes()
    with pytest.raises(RuntimeError, match="stop"):
        with VideoWriter(tmp_path / "seq", fps=24, format="exr") as writer:
            writer.write(rgb, channels=channels)
            raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []
    write_video(tmp_path / "seq", [rgb], fps=24, format="exr")
    before = (tmp_path / "seq" / "frame_000000.exr").read_bytes()
    with pytest.raises(OutputExistsError, match="frame_000000.exr"):
        VideoWriter(tmp_path / "seq", fps=24, format="exr")
    assert (tmp_path / "seq" / "frame_000000.exr").read_bytes() == before


@pytest.mark.parametrize(
    ("channels", "error", "message"),
    [
        ({"R": np.zeros((6, 8), np.float32)}, InputError, "other than R, G, B"),
        ({"depth": np.zeros((6, 7), np.float32)}, ShapeError, "6×8"),
        ({"depth": np.zeros((6, 8), np.float64)}, ShapeError, "float32"),
        ({"object_id": np.full((6, 8), -1, np.int32)}, InputError, "0..4294967295"),
    ],
)
def test_bad_channels_are_refused(tmp_path, channels, error, message):
    rgb, _ = passes()
    with pytest.raises(error, match=message):
        with VideoWriter(tmp_path / "f_%04d.exr", fps=24) as writer:
            writer.write(rgb, channels=channels)
    assert list(tmp_path.iterdir()) == []


def test_every_frame_carries_the_same_channels(tmp_path):
    rgb, channels = passes()
    with pytest.raises(InputError, match="channels of the first"):
        with VideoWriter(tmp_path / "f_%04d.exr", fps=24) as writer:
            writer.write(rgb, channels=channels)
            writer.write(rgb, channels={"depth": channels["depth"]})
    assert list(tmp_path.iterdir()) == []


def test_missing_openexr_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "OpenEXR", None)  # makes `import OpenEXR` fail
    with pytest.raises(DependencyError, match=r"pip install 'sceneforge\[exr\]'"):
        VideoWriter(tmp_path / "f_%04d.exr", fps=24)
    assert list(tmp_path.iterdir()) == []


def test_importing_sceneforge_does_not_import_openexr():
    code = "import sys, sceneforge.render, sceneforge.engine; print('OpenEXR' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
