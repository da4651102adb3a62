"""People proposals: the bundled MediaPipe selfie-segmentation model through LiteRT."""

from __future__ import annotations

import builtins
from pathlib import Path

import numpy as np
import pytest

from sceneforge.reconstruct.objects import (
    PeopleProposer,
    PeopleProposerConfig,
    PersonSegmenter,
    TrackedMasks,
    bundled_person_model,
)
from sceneforge.scenegraph import DependencyError, Frames, InputError

pytest.importorskip("ai_edge_litert")

DANCER_FRAMES = (12, 18, 42, 54)


@pytest.fixture(scope="module")
def segmenter() -> PersonSegmenter:
    return PersonSegmenter()


def _frames(images: np.ndarray) -> Frames:
    return Frames(images=images, fps=24.0, frame_numbers=np.arange(len(images), dtype=np.int64))


def _breakdance(shared_data: Path, index: int) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    folder = shared_data / "davis" / "breakdance"
    if not folder.is_dir():
        pytest.skip("DAVIS breakdance is absent")
    image = cv2.cvtColor(cv2.imread(str(folder / "frames" / f"{index:05d}.jpg")), cv2.COLOR_BGR2RGB)
    truth = cv2.imread(str(folder / "masks" / f"{index:05d}.png"), cv2.IMREAD_GRAYSCALE) > 127
    return image, truth


def _dancer_crop(image: np.ndarray, truth: np.ndarray, side: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """A square crop around the annotated dancer (box grown by half), resized to side×side."""
    import cv2

    from sceneforge.reconstruct.objects._people import _padded_crop

    rows, cols = np.nonzero(truth)
    size = int(1.5 * max(np.ptp(rows), np.ptp(cols)))
    x0, y0 = int(cols.mean() - size / 2), int(rows.mean() - size / 2)
    crop = _padded_crop(image, x0, y0, size)
    mask = _padded_crop(np.repeat(truth[..., None].astype(np.uint8), 3, 2), x0, y0, size)[..., 0] > 0
    return cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA), cv2.resize(mask.astype(np.uint8), (side, side)) > 0


def test_model_loads_from_package_data_with_documented_shapes(segmenter):
    from importlib import resources

    path = bundled_person_model()
    assert path.name == "selfie_segmentation.tflite"
    assert (resources.files("sceneforge.models") / "selfie_segmentation.tflite").is_file()
    assert segmenter.input_shape == (1, 256, 256, 3)
    assert segmenter.output_shape == (1, 256, 256, 1)
    prob = segmenter.person_probability(np.full((90, 160, 3), 128, np.uint8))
    assert prob.shape == (90, 160) and prob.dtype == np.float32
    assert 0.0 <= prob.min() and prob.max() <= 1.0


def test_person_masks_shape_and_input_errors(segmenter):
    images = np.zeros((3, 48, 64, 3), np.uint8)
    masks = segmenter.person_masks(images, threshold=0.5)
    assert masks.shape == (3, 48, 64) and masks.dtype == bool
    with pytest.raises(InputError):
        segmenter.person_masks(images[..., 0])
    with pytest.raises(InputError):
        segmenter.person_masks(images, threshold=1.5)
    with pytest.raises(InputError):
        PeopleProposerConfig(min_frames_share=2.0)


def test_no_person_in_a_synthetic_room(segmenter):
    rng = np.random.default_rng(0)
    h, w = 120, 160
    images = np.empty((6, h, w, 3), np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(6):
        image = np.stack([90 + 0.3 * yy, 110 + 0.2 * xx, np.full_like(xx, 140.0)], axis=-1)
        image[70:, :] = (120, 95, 70)  # floor
        image[50:80, 40 + 2 * i : 80 + 2 * i] = (200, 60, 50)  # a box sliding along
        images[i] = np.clip(image + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8)
    people = PeopleProposer(PeopleProposerConfig(with_geometry=False), segmenter=segmenter).propose(
        _frames(images), None, None
    )
    assert people == []


@pytest.mark.realdata
def test_breakdance_dancer_is_found(shared_data, segmenter):
    """On crops around the dancer (the model's regime: the person fills the picture) the
    dancer's annotated pixels are found. IoU against DAVIS's annotation is low by design: the
    spectators behind the dancer are people too, and the annotation leaves them out."""
    recalls = []
    for index in DANCER_FRAMES:
        image, truth = _breakdance(shared_data, index)
        crop, mask = _dancer_crop(image, truth)
        found = segmenter.person_probability(crop) > 0.5
        recalls.append(np.count_nonzero(found & mask) / np.count_nonzero(mask))
    assert np.mean(recalls) > 0.6, np.round(recalls, 3)


class _FakeSegmenter:
    """People as boxes (x0, y0, x1, y1) moving right by ``step`` px a frame, probability 0.9."""

    def __init__(self, *boxes: tuple[int, int, int, int], step: int = 0) -> None:
        self.boxes, self.step = boxes, step

    def probabilities(self, frames, *, threshold=0.5, progress=None):
        images = frames.images if isinstance(frames, Frames) else frames
        for i in range(len(images)):
            prob = np.zeros(images.shape[1:3], np.float32)
            for x0, y0, x1, y1 in self.boxes:
                prob[y0:y1, x0 + i * self.step : x1 + i * self.step] = 0.9
            yield prob


def test_two_people_in_one_frame_become_two_objects():
    """Two upright people moving side by side are two objects, largest first, each linked
    through the clip; a box wider than tall (not upright) is not a person."""
    frames = _frames(np.zeros((8, 120, 200, 3), np.uint8))
    segmenter = _FakeSegmenter((10, 10, 40, 100), (90, 30, 115, 100), (140, 90, 198, 110), step=3)
    people = PeopleProposer(PeopleProposerConfig(with_geometry=False), segmenter=segmenter).propose(frames, None, None)
    assert [p.name for p in people] == ["person_01", "person_02"]
    for person, (x0, x1) in zip(people, ((10, 40), (90, 115))):
        assert person.masks.any(axis=(1, 2)).all()
        for i in range(8):
            cols = np.nonzero(person.masks[i].any(axis=0))[0]
            assert abs(cols.min() - (x0 + 3 * i)) <= 2 and abs(cols.max() + 1 - (x1 + 3 * i)) <= 2


class _FakeBoxSegmenter:
    """People as boxes given per frame: ``boxes(i)`` → [(x0, y0, x1, y1), …], probability 0.9."""

    def __init__(self, boxes) -> None:
        self.boxes = boxes

    def probabilities(self, frames, *, threshold=0.5, progress=None):
        images = frames.images if isinstance(frames, Frames) else frames
        for i in range(len(images)):
            prob = np.zeros(images.shape[1:3], np.float32)
            for x0, y0, x1, y1 in self.boxes(i):
                prob[y0:y1, x0:x1] = 0.9
            yield prob


def _texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    import cv2

    noise = rng.uniform(0, 255, (height, width, 3)).astype(np.float32)
    return np.clip(cv2.GaussianBlur(noise, (0, 0), 1.5) * 2.5 - 190, 0, 255).astype(np.uint8)


def test_touching_people_are_split_by_motion():
    """Two touching people (one component in every frame): the one walking down over a textured
    background is its own object (listed first) whose masks follow it; the still one is another."""
    rng = np.random.default_rng(1)
    n, h, w, step = 10, 120, 200, 3
    background, walker, stander = _texture(rng, h, w), _texture(rng, 80, 30), _texture(rng, 80, 30)
    images = np.empty((n, h, w, 3), np.uint8)
    for i in range(n):
        images[i] = background
        images[i, 20:100, 70:100] = stander
        images[i, 10 + step * i : 90 + step * i, 40:70] = walker
    segmenter = _FakeBoxSegmenter(lambda i: [(40, 10 + step * i, 70, 90 + step * i), (70, 20, 100, 100)])
    people = PeopleProposer(PeopleProposerConfig(with_geometry=False), segmenter=segmenter).propose(
        _frames(images), None, None
    )
    assert [p.name for p in people] == ["person_01", "person_02"]
    moving, still = people
    for i in range(n):
        rows, cols = np.nonzero(moving.masks[i])
        truth = np.zeros((h, w), bool)
        truth[10 + step * i : 90 + step * i, 40:70] = True
        iou = np.count_nonzero(moving.masks[i] & truth) / np.count_nonzero(moving.masks[i] | truth)
        assert iou > 0.7, (i, iou)
        assert abs(rows.mean() - (50 + step * i)) <= 4
        assert np.count_nonzero(still.masks[i][:, 70:100]) > 0.8 * np.count_nonzero(still.masks[i])
        assert np.count_nonzero(still.masks[i] & truth) < 0.1 * np.count_nonzero(truth)
    # Without the motion cue they are one object.
    config = PeopleProposerConfig(with_geometry=False, split_by_motion=False)
    assert len(PeopleProposer(config, segmenter=segmenter).propose(_frames(images), None, None)) == 1


class _FakeGeometry:
    """Two geometry proposals: one on the person, one beside it."""

    def propose(self, frames, track, depths, *, progress=None):
        n, h, w = len(frames), frames.height, frames.width
        out = []
        for name, (x0, x1) in (("object_01", (22, 38)), ("object_02", (60, 75))):
            masks = np.zeros((n, h, w), bool)
            masks[:, 30:50, x0:x1] = True
            out.append(TrackedMasks(name, masks, np.ones(n, np.float32), 0, np.arange(n)))
        return out


def test_with_geometry_drops_the_cluster_on_a_person():
    frames = _frames(np.zeros((5, 64, 96, 3), np.uint8))
    proposer = PeopleProposer(
        PeopleProposerConfig(with_geometry=True), segmenter=_FakeSegmenter((20, 5, 40, 60)), geometry=_FakeGeometry()
    )
    proposals = proposer.propose(frames, object(), object())  # the fake geometry ignores track and depth
    assert [p.name for p in proposals] == ["person_01", "object_01"]
    person, other = proposals
    assert person.masks[:, 30, 30].all() and not person.masks[:, 30, 70].any()
    assert other.masks[:, 40, 70].all()  # the geometry's second object, renamed object_01
    assert np.allclose(person.quality, 0.9, atol=1e-3)  # probabilities are kept in half precision
    assert person.motion.count("prompt") == 1 and set(person.motion) <= {"prompt", "flow"}


def test_with_geometry_needs_track_and_depth():
    proposer = PeopleProposer(PeopleProposerConfig(with_geometry=True), segmenter=_FakeSegmenter((0, 0, 1, 1)))
    with pytest.raises(InputError):
        proposer.propose(_frames(np.zeros((2, 8, 8, 3), np.uint8)), None, None)


def test_missing_litert_raises_dependency_error(monkeypatch):
    real_import = builtins.__import__

    def no_litert(name, *args, **kwargs):
        if name.startswith("ai_edge_litert"):
            raise ImportError("No module named 'ai_edge_litert'", name="ai_edge_litert")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_litert)
    with pytest.raises(DependencyError, match="pip install ai-edge-litert"):
        PersonSegmenter()
