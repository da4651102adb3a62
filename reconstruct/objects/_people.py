"""People in a shot, found by a learned model and proposed as objects.

:class:`PersonSegmenter` runs MediaPipe's selfie-segmentation model (the general 256×256
variant, Apache-2.0, bundled as ``sceneforge.models/selfie_segmentation.tflite``; see
``assets/models/README.md``) through LiteRT (``ai-edge-litert``) on the CPU:

1. **Coarse pass.** The whole frame is resized (stretched, not letterboxed: on real frames
   the letterbox's black bars made the model fire on empty rooms) to the model's 256×256
   input, RGB in [0, 1]; its 256×256 person probability is resized back to the frame.
2. **Zoomed pass** (optional, ``zoom``; off by default). The model was trained on selfies,
   where the person fills the picture. Around each coarse candidate a square crop (its box
   grown by half, black past the frame's edges) can be run again, the crop's probability
   replacing the coarse one inside it. Measured on DAVIS it sharpens an isolated person
   (breakdance's dancer, cropped around the annotation: mean probability 0.42 → 0.82) and
   fades a car (0.26 → 0.17), but on whole frames a crowd's crops swallow the dancer and a
   swan's neck comes out confident, so it is not the default.
3. **Over time.** Each frame's probability is averaged with its neighbours' (weights ¼ ½ ¼),
   thresholded, and cleaned by a morphological open and close.

:class:`PeopleProposer` (the ``people`` and ``auto`` proposers) splits the masks into
individual people:

1. **Who moves.** :func:`residual_motion`: the dense optical flow (OpenCV DIS, on frames
   downscaled to 320 px) to each neighbouring frame, minus the camera's motion — a
   homography fitted by RANSAC to the flow of the pixels that are not person — is the motion
   the camera does not explain, as a share of the frame's diagonal, smoothed over time.
2. **Moving people.** Where that motion is above ``motion_threshold`` the pixels move; the
   moving pixels are grouped (pieces closer than 4 % of the long side are one part) and linked
   from frame to frame; a moving part is a person when, on enough frames, at least half of it
   is person, and its box is upright. Its masks are the moving pixels themselves, person or
   not: on DAVIS breakdance the model loses the dancer (upside down, blurred) on two thirds
   of the frames while the motion keeps him; people touching him (the crowd behind) stay out.
3. **Still people.** The person mask without the moving pixels: connected components, linked
   from frame to frame by mask IoU, or by the nearest centre when the masks do not overlap,
   kept when seen on enough frames, large enough and upright (the median height/width of its
   box: a standing or walking person is taller than wide most of the time; a bear, a car or a
   sofa is not).

People are named ``person_01``, ``person_02``, …: the moving ones largest first, then the
still ones largest first. With ``with_geometry`` the geometry proposals
(:class:`GeometryProposer`, default :class:`ProposalConfig`) follow, minus the clusters that
lie mostly on a person (a person standing still also forms a geometry cluster), renamed
``object_01``, … in their order.

Known limits: still people who touch in the image (a crowd shoulder to shoulder) come out as
one object, and moving people who touch as one moving part; a moving person's mask is the
motion's, a little wider than the person (the flow bleeds past their edges) and holding
whatever they carry or kick up; the moving-part tests are tuned on few clips (the dancer is
a person on 17 % of the frames against 10 % needed, upright 1.25 against 1.0; the swan of
DAVIS blackswan is a person as often, and is dropped by its upright 0.84 alone); a person
lying down the whole shot is not upright and is dropped; people smaller than
``min_area_share`` of the frame (3 %) are not proposed, because at that size the selfie model
fires as readily on a swan's neck or a car as on a person; an animal large and upright
enough (a bear rearing up) would be proposed as a person. The motion threshold is per frame
step: a clip read with a larger stride moves more per step.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sceneforge.scenegraph import (
    CameraTrack,
    DependencyError,
    DepthMap,
    DepthMaps,
    Frames,
    InputError,
    check_array,
)

from .._progress import ProgressFn
from ._proposals import ObjectProposer, ProposalConfig
from ._types import TrackedMasks

__all__ = ["PeopleProposer", "PeopleProposerConfig", "PersonSegmenter", "bundled_person_model"]

log = logging.getLogger(__name__)

MODEL_PACKAGE = "sceneforge.models"
MODEL_FILE = "selfie_segmentation.tflite"
LITERT_HINT = "pip install ai-edge-litert"

_CROP_GROW = 1.5
"""A zoomed pass's square crop is the candidate's longer box side times this."""
_MIN_CROP_SHARE = 0.25
"""...and at least this share of the frame's short side (tiny candidates get context)."""
_MIN_SEED_SHARE = 0.001
"""Coarse candidates smaller than this share of the frame get no zoomed pass (they are dropped)."""
_MAX_CROPS = 6
"""Zoomed passes per frame at most (the largest candidates)."""
_TEMPORAL_WEIGHTS = (0.25, 0.5, 0.25)
"""A frame's probability averaged with its neighbours' (renormalised at the clip's ends)."""


def bundled_person_model() -> Path:
    """The path of the bundled ``selfie_segmentation.tflite`` (package data of ``sceneforge.models``).

    Raises:
        DependencyError: the file is missing from the installation.
    """
    from importlib import resources

    try:
        path = Path(str(resources.files(MODEL_PACKAGE) / MODEL_FILE))
    except ModuleNotFoundError as error:
        raise DependencyError(
            f"the bundled person model package {MODEL_PACKAGE} is missing; reinstall sceneforge (pip install -e .)"
        ) from error
    if not path.is_file():
        raise DependencyError(f"the bundled person model {path} is missing; reinstall sceneforge or run `make models`")
    return path


def _interpreter_class():
    """LiteRT's Interpreter class, or one DependencyError with the pip line."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as error:
        raise DependencyError(
            f"finding people needs ai-edge-litert ({error.name or 'ai_edge_litert'} is missing); {LITERT_HINT}, "
            "or pick --proposer geometry"
        ) from error
    return Interpreter


class PersonSegmenter:
    """Person probability and masks per frame from MediaPipe's selfie-segmentation model (CPU).

    The model takes 1×256×256×3 float32 RGB in [0, 1] and returns 1×256×256×1 float32, the
    probability that a pixel shows a person (both read from the model, checked at load).
    See the module docstring for the coarse and zoomed passes and the smoothing over time.

    Args:
        model_path: a selfie-segmentation ``.tflite``; None: the bundled one.
        num_threads: CPU threads LiteRT may use.
        zoom: run the zoomed pass around each candidate (step 2 of the module docstring).

    Raises:
        DependencyError: ai-edge-litert is not installed, or the bundled model is missing.
        InputError: a model whose input or output is not the shape described above.
    """

    def __init__(self, model_path: str | Path | None = None, *, num_threads: int = 1, zoom: bool = False) -> None:
        interpreter_class = _interpreter_class()
        path = Path(model_path) if model_path is not None else bundled_person_model()
        if not path.is_file():
            raise InputError(f"person model {path} does not exist; give a selfie-segmentation .tflite file")
        self.model_path = path
        self.zoom = zoom
        self._interpreter = interpreter_class(model_path=str(path), num_threads=max(1, int(num_threads)))
        self._interpreter.allocate_tensors()
        (inp,), (out,) = self._interpreter.get_input_details(), self._interpreter.get_output_details()
        in_shape, out_shape = tuple(int(v) for v in inp["shape"]), tuple(int(v) for v in out["shape"])
        if len(in_shape) != 4 or in_shape[0] != 1 or in_shape[3] != 3 or inp["dtype"] != np.float32:
            raise InputError(f"person model input must be 1×H×W×3 float32, got {in_shape} {inp['dtype'].__name__}; "
                             "give MediaPipe's selfie_segmentation.tflite")
        if out_shape != (*in_shape[:3], 1) or out["dtype"] != np.float32:
            raise InputError(f"person model output must be {(*in_shape[:3], 1)} float32, got {out_shape}; "
                             "give MediaPipe's selfie_segmentation.tflite")
        self.input_shape: tuple[int, int, int, int] = in_shape  # type: ignore[assignment]
        """The model's input, 1×H×W×3 (1×256×256×3 for the bundled model)."""
        self.output_shape: tuple[int, int, int, int] = out_shape  # type: ignore[assignment]
        """The model's output, 1×H×W×1."""
        self._in, self._out = inp["index"], out["index"]

    # ------------------------------------------------------------------ one image

    def _run(self, image: np.ndarray) -> np.ndarray:
        """The model on one RGB uint8 image of any size, stretched to its input: H×W float32 at the model's size."""
        import cv2

        h, w = self.input_shape[1:3]
        x = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) * np.float32(1 / 255)
        self._interpreter.set_tensor(self._in, x[None])
        self._interpreter.invoke()
        return np.clip(self._interpreter.get_tensor(self._out)[0, :, :, 0], 0.0, 1.0)

    def person_probability(self, image: np.ndarray, *, threshold: float = 0.5) -> np.ndarray:
        """The probability that each pixel shows a person.

        Args:
            image: H×W×3 uint8 RGB.
            threshold: what counts as a coarse candidate for the zoomed pass.

        Returns:
            H×W float32 in [0, 1], at the image's size.
        """
        import cv2

        image = check_array(image, "image", shape=(None, None, 3), dtype=np.uint8, hint="pass an RGB frame")
        height, width = image.shape[:2]
        coarse = cv2.resize(self._run(image), (width, height), interpolation=cv2.INTER_LINEAR)
        if not self.zoom:
            return coarse
        count, _, stats, _ = cv2.connectedComponentsWithStats((coarse > threshold).astype(np.uint8), connectivity=8)
        seeds = [s for s in stats[1:] if s[4] >= _MIN_SEED_SHARE * width * height]
        seeds = sorted(seeds, key=lambda s: -int(s[4]))[:_MAX_CROPS]
        out = coarse * (coarse <= threshold)  # coarse candidates without a zoomed pass are dropped
        zoomed = np.zeros_like(coarse)
        covered = np.zeros(coarse.shape, bool)
        for x, y, w, h, _ in seeds:
            side = int(round(max(w, h) * _CROP_GROW))
            side = max(side, int(_MIN_CROP_SHARE * min(width, height)), 8)
            x0, y0 = int(x + w / 2 - side / 2), int(y + h / 2 - side / 2)
            crop = _padded_crop(image, x0, y0, side)
            prob = cv2.resize(self._run(crop), (side, side), interpolation=cv2.INTER_LINEAR)
            fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x0 + side, width), min(y0 + side, height)
            part = prob[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0]
            np.maximum(zoomed[fy0:fy1, fx0:fx1], part, out=zoomed[fy0:fy1, fx0:fx1])
            covered[fy0:fy1, fx0:fx1] = True
        out[covered] = zoomed[covered]
        return out

    # ------------------------------------------------------------------ clips

    def probabilities(
        self, frames: Frames | np.ndarray, *, threshold: float = 0.5, progress: ProgressFn | None = None
    ) -> Iterator[np.ndarray]:
        """Each frame's person probability averaged over time with its neighbours', frame by
        frame (three frames in memory): H×W float32 in [0, 1] per frame."""
        images = _images(frames)
        n = len(images)
        window: dict[int, np.ndarray] = {}
        for i in range(n + 1):
            if i < n:
                window[i] = self.person_probability(images[i], threshold=threshold)
                if progress is not None:
                    progress("people", i + 1, n)
            j = i - 1  # frame j is ready once its next neighbour is in
            if j < 0:
                continue
            total = np.zeros_like(window[j])
            weight = 0.0
            for k, w in zip((j - 1, j, j + 1), _TEMPORAL_WEIGHTS):
                if k in window:
                    total += np.float32(w) * window[k]
                    weight += w
            window.pop(j - 1, None)
            yield total / np.float32(weight)

    def person_masks(
        self, frames: Frames | np.ndarray, *, threshold: float = 0.5, progress: ProgressFn | None = None
    ) -> np.ndarray:
        """Where people are, frame by frame.

        Args:
            frames: :class:`Frames` or N×H×W×3 uint8 RGB.
            threshold: the smoothed probability above which a pixel is on a person.
            progress: optional ``progress(stage, done, total)`` callback (stage ``"people"``).

        Returns:
            N×H×W bool, True on a person.
        """
        _check_threshold(threshold)
        images = _images(frames)
        masks = np.zeros(images.shape[:3], bool)
        for i, prob in enumerate(self.probabilities(images, threshold=threshold, progress=progress)):
            masks[i] = clean_mask(prob > threshold)
        return masks


def clean_mask(mask: np.ndarray) -> np.ndarray:
    """H×W bool: ``mask`` opened then closed with a disc of radius 0.4 % of its long side
    (at least 1 px): specks and hairline gaps gone."""
    import cv2

    radius = max(1, int(round(0.004 * max(mask.shape))))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    m = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    return cv2.morphologyEx(m, cv2.MORPH_CLOSE, kernel).astype(bool)


def _padded_crop(image: np.ndarray, x0: int, y0: int, side: int) -> np.ndarray:
    """The side×side crop at (x0, y0) of an H×W×3 image, black past its edges."""
    h, w = image.shape[:2]
    crop = np.zeros((side, side, 3), np.uint8)
    fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x0 + side, w), min(y0 + side, h)
    if fx1 > fx0 and fy1 > fy0:
        crop[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0] = image[fy0:fy1, fx0:fx1]
    return crop


def _images(frames: Frames | np.ndarray) -> np.ndarray:
    if isinstance(frames, Frames):
        return frames.images
    return check_array(frames, "frames", shape=(None, None, None, 3), dtype=np.uint8, hint="pass RGB frames")


def _check_threshold(threshold: float) -> None:
    if not 0 < threshold < 1:
        raise InputError(f"threshold must be in (0, 1), got {threshold}")


# ------------------------------------------------------------------ proposals


@dataclass(frozen=True)
class PeopleProposerConfig:
    """How people are proposed as objects (see :mod:`sceneforge.reconstruct.objects._people`)."""

    with_geometry: bool = True
    """Also propose every other object from the geometry (default ProposalConfig), without
    the clusters that lie on a person."""
    threshold: float = 0.5
    """A pixel is on a person when its smoothed person probability is above this."""
    min_area_share: float = 0.03
    """A person must cover at least this share of the frame (median over the frames it is on).
    The selfie model is trusted only on people large in the frame (its intended use): below
    ~3 % its look-alikes (a swan's neck, a car) score as high as real people."""
    min_frames_share: float = 0.25
    """A person must be found on at least this share of the frames (one-frame false positives go)."""
    min_upright: float = 0.8
    """A person's box must be at least this many times as tall as wide (median over its frames)."""
    max_people: int = 8
    """Keep at most this many people (the largest)."""
    link_iou: float = 0.1
    """A frame's person continues a person of the previous frames when their masks overlap by at
    least this IoU (else when its centre is within a quarter of the frame's diagonal of theirs)."""
    max_gap_share: float = 0.1
    """A person unseen for more than this share of the frames (at least 3) is not continued."""
    inside_person_share: float = 0.5
    """With ``with_geometry``: a geometry cluster with at least this share of its mask pixels on
    a person is the person itself, and dropped."""
    zoom: bool = False
    """Run the model again on a zoomed crop around each candidate (see PersonSegmenter)."""
    split_by_motion: bool = True
    """Tell the people who move apart from the still ones by the image motion the camera does
    not explain (see :func:`residual_motion`); False: people are the person mask's components alone."""
    motion_threshold: float = 0.005
    """A pixel moves when its residual motion (the flow to its neighbouring frames minus the
    camera's, mean of the two) is above this share of the frame's diagonal per frame step."""
    moving_evidence_share: float = 0.1
    """A moving part is a person when, on at least this share of the clip's frames, at least half
    of its pixels are person (probability above ``threshold``). The model loses a person seen
    upside down or blurred while the motion keeps them, so the evidence need not hold on every frame."""
    min_moving_upright: float = 1.0
    """A moving part's box must be at least this many times as tall as wide (median over its
    frames). Stricter than ``min_upright``: the moving part's box is the motion's, and on
    DAVIS blackswan the swan (neck up, 0.84) scores as a person as often as the dancer
    (upside down, 1.25) does."""
    motion_max_size_px: int = 320
    """The flow and the camera's motion are computed on frames downscaled to this long side."""
    num_threads: int = 1
    """CPU threads the model may use."""

    def __post_init__(self) -> None:
        shares = ("threshold", "min_area_share", "min_frames_share", "link_iou", "max_gap_share", "inside_person_share",
                  "motion_threshold", "moving_evidence_share")
        for name in shares:
            value = getattr(self, name)
            if not (np.isfinite(value) and 0 <= value <= 1):
                raise InputError(f"{name} must be in [0, 1], got {value}")
        _check_threshold(self.threshold)
        if not (self.min_upright >= 0 and self.min_moving_upright >= 0):
            raise InputError(f"min_upright and min_moving_upright must be ≥ 0, got {self.min_upright} and "
                             f"{self.min_moving_upright}")
        if self.motion_max_size_px < 16:
            raise InputError(f"motion_max_size_px must be ≥ 16, got {self.motion_max_size_px}")
        if self.max_people < 1 or self.num_threads < 1:
            raise InputError(f"max_people and num_threads must be ≥ 1, got {self.max_people} and {self.num_threads}")

    def build(self) -> PeopleProposer:
        """The backend this configuration describes."""
        return PeopleProposer(self)


@dataclass
class _Person:
    """One person being linked through the clip: its component label per frame."""

    labels: dict[int, int] = dataclasses.field(default_factory=dict)
    area: dict[int, int] = dataclasses.field(default_factory=dict)
    upright: dict[int, float] = dataclasses.field(default_factory=dict)
    quality: dict[int, float] = dataclasses.field(default_factory=dict)
    person_share: dict[int, float] = dataclasses.field(default_factory=dict)
    """Moving parts only: the share of the part's pixels that are person, per frame."""
    last_mask: np.ndarray | None = None
    last_centre: np.ndarray | None = None
    last_frame: int = -1


class PeopleProposer:
    """An :class:`ObjectProposer`: people from the bundled person model, then (``with_geometry``)
    the geometry's objects that are not people.

    Args:
        config: the settings; default ``PeopleProposerConfig()``.
        segmenter: the person segmenter; None: a :class:`PersonSegmenter` on the bundled model,
            built on first use.
        geometry: the proposer of the other objects; None: ``ProposalConfig().build()``.
    """

    def __init__(
        self,
        config: PeopleProposerConfig | None = None,
        *,
        segmenter: PersonSegmenter | None = None,
        geometry: ObjectProposer | None = None,
    ) -> None:
        self.config = config or PeopleProposerConfig()
        self._segmenter = segmenter
        self._geometry = geometry

    @property
    def segmenter(self) -> PersonSegmenter:
        """The person segmenter (loaded on first use)."""
        if self._segmenter is None:
            self._segmenter = PersonSegmenter(num_threads=self.config.num_threads, zoom=self.config.zoom)
        return self._segmenter

    def propose(
        self,
        frames: Frames,
        track: CameraTrack | None,
        depths: DepthMaps | Mapping[int, DepthMap] | Iterable[DepthMap] | None,
        *,
        progress: ProgressFn | None = None,
    ) -> list[TrackedMasks]:
        """People, ``person_01``… largest first, then (``with_geometry``) the geometry's
        objects not on a person, ``object_01``… in the geometry's order.

        Args:
            frames: N×H×W×3 uint8 RGB frames.
            track, depths: the camera track and depth (see :meth:`ObjectProposer.propose`);
                only the geometry proposals use them (None is fine without ``with_geometry``).
            progress: optional ``progress(stage, done, total)`` callback (stage ``"people"``,
                one step per frame, then the geometry's stages).

        Returns:
            One :class:`TrackedMasks` per object: masks N×H×W bool; for people, quality N
            float32 = the mean person probability inside the mask (0 where absent), the
            prompt frame the one where the person is largest, motion ``prompt`` there,
            ``flow`` on the other frames it is found on and ``lost`` where it is not.

        Raises:
            InputError: frames that are not :class:`Frames`; with ``with_geometry``, a
                missing or mismatched track or depths.
            DependencyError: ai-edge-litert is not installed.
        """
        if not isinstance(frames, Frames):
            raise InputError(f"frames must be Frames, got {type(frames).__name__}; read them with read_frames")
        cfg = self.config
        if cfg.with_geometry and (track is None or depths is None):
            raise InputError("proposing objects from the geometry needs the camera track and depth; "
                             "solve them first or set with_geometry=False")
        people = self.propose_people(frames, progress=progress)
        if not cfg.with_geometry:
            return people
        geometry = self._geometry or ProposalConfig().build()
        objects = geometry.propose(frames, track, depths, progress=progress)
        return people + drop_on_people(objects, people, share=cfg.inside_person_share)

    def propose_people(self, frames: Frames | np.ndarray, *, progress: ProgressFn | None = None) -> list[TrackedMasks]:
        """The people alone (see :meth:`propose`); frames as :class:`Frames` or N×H×W×3 uint8.

        With ``split_by_motion``, the people who move come first (``person_01``… largest
        first), then the still ones (largest first)."""
        import cv2

        cfg = self.config
        images = _images(frames)
        numbers = frames.frame_numbers if isinstance(frames, Frames) else np.arange(len(images), dtype=np.int64)
        n, height, width = images.shape[:3]
        min_px = max(1, int(cfg.min_area_share * width * height))
        stream = self.segmenter.probabilities(images, threshold=cfg.threshold, progress=progress)
        # kept for the whole clip (people are linked over it): half precision halves that memory
        probs = [np.asarray(prob, np.float16) for prob in stream]
        motion = None
        if cfg.split_by_motion and n > 1:
            motion = residual_motion(images, probs, max_size_px=cfg.motion_max_size_px)
        # A person who moves breaks into pieces (limbs, blur): pieces closer than this are one part.
        group = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * _group_radius(width, height) + 1,) * 2)
        still_labels = np.zeros((n, height, width), np.uint16)
        moving_labels = np.zeros((n, height, width), np.uint16)
        still: list[_Person] = []
        moving: list[_Person] = []
        for i in range(n):
            prob = probs[i]
            person = clean_mask(prob > cfg.threshold)
            if motion is not None:
                speed = cv2.resize(motion[i], (width, height), interpolation=cv2.INTER_LINEAR)
                moves = clean_mask(speed > cfg.motion_threshold)
                grouped = cv2.morphologyEx(moves.astype(np.uint8), cv2.MORPH_CLOSE, group)
                _, label = cv2.connectedComponents(grouped, connectivity=8)
                moving_labels[i] = np.where(moves, label, 0).astype(np.uint16)
                self._link(moving_labels[i], prob, i, moving, n, width, height, min_px, person=person)
                person = clean_mask(person & ~moves)
            _, label = cv2.connectedComponents(person.astype(np.uint8), connectivity=8)
            still_labels[i] = label.astype(np.uint16)
            self._link(still_labels[i], prob, i, still, n, width, height, min_px)
        kept = [(p, moving_labels) for p in moving if self._keep(p, n, width, height, min_px, moving=True)]
        kept.sort(key=lambda pl: -sum(pl[0].area.values()))
        kept_still = [(p, still_labels) for p in still if self._keep(p, n, width, height, min_px, moving=False)]
        kept_still.sort(key=lambda pl: -sum(pl[0].area.values()))
        kept = (kept + kept_still)[: cfg.max_people]
        log.info("people: %d found (%d moving and %d still candidates)", len(kept), len(moving), len(still))
        out = []
        for index, (person, labels) in enumerate(kept, start=1):
            masks = np.zeros((n, height, width), bool)
            quality = np.zeros(n, np.float32)
            for i, k in person.labels.items():
                masks[i] = labels[i] == k
                quality[i] = person.quality[i]
            prompt = max(person.area, key=lambda i: (person.area[i], -i))
            motion_kind = tuple("prompt" if i == prompt else "flow" if i in person.labels else "lost" for i in range(n))
            out.append(TrackedMasks(name=f"person_{index:02d}", masks=masks, quality=quality, prompt_frame=prompt,
                                    frame_numbers=np.asarray(numbers, np.int64), motion=motion_kind))
        return out

    def _link(self, label: np.ndarray, prob: np.ndarray, i: int, people: list[_Person], n: int, width: int, height: int,
              min_px: int, *, person: np.ndarray | None = None) -> None:
        """Frame ``i``'s components (``label``, H×W, 0 = none) joined to the people of the earlier
        frames (new people where none continues); components under a quarter of the minimum
        area are specks and cleared from ``label`` in place. ``person``: for moving parts, the
        frame's person mask (their person share is recorded)."""
        cfg = self.config
        max_gap = max(3, int(round(cfg.max_gap_share * n)))
        reach = 0.25 * float(np.hypot(width, height))
        areas = np.bincount(label.ravel(), minlength=1)
        keep = [k for k in range(1, len(areas)) if areas[k] >= max(1, min_px // 4)]
        label[~np.isin(label, keep)] = 0
        active = [p for p in people if i - p.last_frame <= max_gap]
        taken: set[int] = set()
        for k in sorted(keep, key=lambda k: -int(areas[k])):
            component = label == k
            rows, cols = np.nonzero(component)
            centre = np.array([cols.mean(), rows.mean()])
            match = _best_match(component, centre, active, taken, cfg.link_iou, reach)
            if match is None:
                match = _Person()
                people.append(match)
            taken.add(id(match))
            box_w, box_h = int(np.ptp(cols)) + 1, int(np.ptp(rows)) + 1
            match.labels[i], match.area[i] = int(k), int(areas[k])
            match.upright[i] = box_h / box_w
            match.quality[i] = float(prob[component].mean(dtype=np.float64))
            if person is not None:
                match.person_share[i] = float(np.count_nonzero(person[component])) / int(areas[k])
            match.last_mask, match.last_centre, match.last_frame = component, centre, i

    def _keep(self, person: _Person, n: int, width: int, height: int, min_px: int, *, moving: bool) -> bool:
        """Whether a candidate is a person (the filters of :class:`PeopleProposerConfig`); a
        moving part (anything that moves is one) must also be person often enough."""
        cfg = self.config
        frames_on = len(person.labels)
        area = float(np.median(list(person.area.values())))
        upright = float(np.median(list(person.upright.values())))
        evidence = sum(share >= 0.5 for share in person.person_share.values()) / n
        why = (
            "seen on too few frames" if frames_on < cfg.min_frames_share * n else
            "too small" if area < min_px else
            "not upright" if upright < (cfg.min_moving_upright if moving else cfg.min_upright) else
            "too rarely a person" if moving and evidence < cfg.moving_evidence_share else ""
        )
        log.debug("%s person candidate on %d/%d frames, median area %.4f of the frame, upright %.2f, person on %.2f of "
                  "the frames, mean quality %.2f: %s", "moving" if moving else "still", frames_on, n,
                  area / (width * height), upright, evidence, np.mean(list(person.quality.values())), why or "kept")
        return not why


def _group_radius(width: int, height: int) -> int:
    """Pieces of a moving part closer than about twice this (px) are grouped: 2 % of the long side."""
    return max(1, int(round(0.02 * max(width, height))))


def residual_motion(
    images: np.ndarray, person_probability: list[np.ndarray] | np.ndarray, *, max_size_px: int = 320,
    background_below: float = 0.2,
) -> np.ndarray:
    """How much each pixel moves beyond the camera's motion, per frame.

    The dense optical flow (OpenCV DIS) from each frame to its neighbours, minus the motion a
    homography fitted (RANSAC, 1 px) to the flow of the pixels that are not person explains
    (the camera's motion over a background far or flat enough; with too little background,
    the median flow); the length of the rest, averaged over the two neighbours (one at the
    clip's ends), then averaged over time with weights ¼ ½ ¼ (a dancer pauses briefly).

    Args:
        images: N×H×W×3 uint8 RGB, N ≥ 2.
        person_probability: N arrays H×W (any float dtype), the person probability per frame.
        max_size_px: the flow runs on frames downscaled to this long side.
        background_below: pixels with a lower person probability (away from people by a few
            pixels) are the background the camera's motion is fitted to.

    Returns:
        N×h×w float32: residual motion as a share of the frame's diagonal per frame step, at
        the working size (h×w: H×W downscaled to ``max_size_px``).
    """
    import cv2

    n, height, width = images.shape[:3]
    scale = min(1.0, max_size_px / max(width, height))
    w, h = max(8, round(width * scale)), max(8, round(height * scale))
    gray = [cv2.cvtColor(cv2.resize(im, (w, h), interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY) for im in images]
    near = np.ones((7, 7), np.uint8)
    background = [
        cv2.erode((cv2.resize(np.asarray(p, np.float32), (w, h), interpolation=cv2.INTER_LINEAR) < background_below)
                  .astype(np.uint8), near) > 0
        for p in person_probability
    ]
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    diagonal = float(np.hypot(w, h))
    step = max(1, int(round(max(w, h) / 80)))  # about 80×45 flow samples for the fit

    def residual(a: int, b: int) -> np.ndarray:
        flow = dis.calc(gray[a], gray[b], None)
        rows, cols = np.nonzero(background[a][::step, ::step])
        rows, cols = rows * step, cols * step
        camera = None
        if len(rows) >= 20:
            src = np.stack([cols, rows], axis=1).astype(np.float32)
            homography, _ = cv2.findHomography(src, src + flow[rows, cols], cv2.RANSAC, 1.0)
            if homography is not None:
                mapped = np.stack([gx, gy, np.ones_like(gx)], axis=-1) @ homography.T.astype(np.float32)
                with np.errstate(divide="ignore", invalid="ignore"):
                    camera = mapped[..., :2] / mapped[..., 2:] - np.stack([gx, gy], axis=-1)
                if not np.isfinite(camera).all():
                    camera = None
        if camera is None:
            camera = np.median(flow.reshape(-1, 2), axis=0)
        return np.linalg.norm(flow - camera, axis=2) / diagonal

    ahead = [residual(i, i + 1) for i in range(n - 1)]
    behind = [residual(i + 1, i) for i in range(n - 1)]
    raw = np.stack([
        ahead[0] if i == 0 else behind[-1] if i == n - 1 else 0.5 * (ahead[i] + behind[i - 1]) for i in range(n)
    ]).astype(np.float32)
    out = raw.copy()
    if n > 2:
        out[1:-1] = 0.25 * raw[:-2] + 0.5 * raw[1:-1] + 0.25 * raw[2:]
    return out


def _best_match(component: np.ndarray, centre: np.ndarray, active: list[_Person], taken: set[int], min_iou: float,
                reach: float) -> _Person | None:
    """The active person this frame's component continues: best IoU with its last mask (at
    least ``min_iou``), else the nearest last centre within ``reach`` pixels; None: a new person."""
    best, best_iou = None, min_iou
    free = [p for p in active if id(p) not in taken]
    for person in free:
        assert person.last_mask is not None
        inter = np.count_nonzero(component & person.last_mask)
        if inter == 0:
            continue
        iou = inter / np.count_nonzero(component | person.last_mask)
        if iou >= best_iou:
            best, best_iou = person, iou
    if best is not None:
        return best
    distances = [float(np.linalg.norm(np.asarray(p.last_centre) - centre)) for p in free]
    if distances and min(distances) <= reach:
        return free[int(np.argmin(distances))]
    return None


def drop_on_people(objects: list[TrackedMasks], people: list[TrackedMasks], *, share: float = 0.5) -> list[TrackedMasks]:
    """``objects`` without those with at least ``share`` of their mask pixels (all frames
    together) on a person, renamed ``object_01``, ``object_02``, … in their order.

    Args:
        objects: the geometry's proposals (N×H×W masks).
        people: the people (same frames and size).
        share: in [0, 1].
    """
    if not people:
        on_person = None
    else:
        on_person = np.zeros_like(people[0].masks)
        for person in people:
            on_person |= person.masks
    kept = []
    for obj in objects:
        total = int(np.count_nonzero(obj.masks))
        if on_person is not None and obj.masks.shape == on_person.shape and total:
            inside = int(np.count_nonzero(obj.masks & on_person)) / total
            if inside >= share:
                log.info("geometry proposal %s dropped: %.0f%% of it lies on a person", obj.name, 100 * inside)
                continue
        kept.append(obj)
    return [dataclasses.replace(obj, name=f"object_{i:02d}") for i, obj in enumerate(kept, start=1)]

