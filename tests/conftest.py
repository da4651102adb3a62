"""Shared fixtures: paths to the demo clip and the real data, and synthetic clips."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO_DIR = ROOT / "assets" / "demo"
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("real data folder ../shared/data is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def demo_module():
    """The demo clip generator (assets/demo/generate.py), loaded by path."""
    spec = importlib.util.spec_from_file_location("sceneforge_demo_generate", DEMO_DIR / "generate.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def demo_clip() -> Path:
    return DEMO_DIR / "room.mp4"


def write_video(path: Path, images: np.ndarray, fps: int = 24) -> Path:
    """Encode N×H×W×3 uint8 frames as an H.264 MP4 (near-lossless)."""
    import av

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = images.shape[2], images.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "12"}
        for image in images:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def textured_image(height: int, width: int, *, seed: int) -> np.ndarray:
    """A feature-rich RGB uint8 image: multi-octave value noise plus a few sharp shapes."""
    import cv2

    rng = np.random.default_rng(seed)
    out = np.zeros((height, width, 3))
    for octave in range(1, 6):
        cells = 2**octave * 2
        noise = rng.random((cells, int(cells * width / height) + 1, 3))
        out += cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC) / octave
    out = (out - out.min()) / (out.max() - out.min()) * 255
    image = out.astype(np.uint8)
    for _ in range(60):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        cv2.circle(image, centre, int(rng.integers(3, 25)), colour, -1)
    return np.ascontiguousarray(image)
