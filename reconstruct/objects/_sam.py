"""Promptable video segmentation through transformers: SAM 2 (boxes, clicks and masks tracked
through the clip) and SAM 3 (the same, plus text: words naming the object on a frame).

Both backends implement :class:`~sceneforge.reconstruct.PromptableSegmenter` (one image,
``set_image`` then ``segment``) and :class:`~sceneforge.reconstruct.MaskTracker` (``track``
from a mask), and ``track_prompt``: segmentation on the prompt frame and propagation through
the clip in one go, which :func:`~sceneforge.reconstruct.track_object` prefers — the video
model is better given the box or clicks themselves than a mask cut from them.

The processors transformers ships for these models need torchvision, which cannot be
installed beside our torch, so the pre- and postprocessing they document is done here:

- frames are resized to the model's square input (``side``×``side``: 1024 for SAM 2, 1008 for
  SAM 3; aspect ratio not kept) bilinearly with antialiasing, rounded to uint8 as the
  processors' uint8 resize does, scaled by 1/255 and normalised with ImageNet's mean/std
  (SAM 2) or 0.5/0.5 (SAM 3);
- box corners and clicks (frame pixels, DESIGN.md's convention: pixel centres at +0.5) are
  scaled by ``side / width`` and ``side / height``; the models add half a pixel themselves
  ("shift to centre of pixel", they expect integer pixel indices), so half a model pixel is
  taken off first and a point lands exactly where it was put. A box goes in as two points
  labelled 2 and 3 (its corners), clicks as 1 (on the object) or 0 (background);
- mask logits (``side / 4`` square) are upsampled bilinearly (no corner alignment) to the
  model's side, then to the frame's height×width, and thresholded at ``mask_threshold``
  (logit 0 = probability ½), as ``post_process_masks`` does.

Memory stays bounded on long clips: frames are preprocessed only when the model asks for them
(never the whole clip at once), the vision features of one frame are cached, and the model's
memory bank keeps at most ``max_frames_in_memory`` propagated frames (SAM 2 attends to the last
``num_maskmem`` frames and ``max_object_pointers_in_encoder`` object pointers; the rest is
never read again).

Model weights load from a folder saved by ``save_pretrained`` or a Hugging Face repo id in the
user's cache (``facebook/sam2.1-hiera-tiny``, ``facebook/sam3``); never fetched unless
``allow_download``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from sceneforge.scenegraph import CameraTrack, DepthMap, DepthMaps, Frames, InputError, check_array

from .._neural import check_choice, load_pretrained, memory_guard, pick_device, pick_dtype, require, resolve_model
from .._progress import ProgressFn
from ._prompt import ObjectPrompt
from ._segment import SegmentResult, _check_prompt_in_image, _prompt_region, fit_mask
from ._types import TrackedMasks

__all__ = [
    "Sam2SegmenterConfig",
    "Sam2Segmenter",
    "Sam3SegmenterConfig",
    "Sam3Segmenter",
    "sam_preprocess",
    "sam_prompt_points",
    "sam_upsample_logits",
]

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
HALF_MEAN = (0.5, 0.5, 0.5)
HALF_STD = (0.5, 0.5, 0.5)
_OBJECT_ID = 1


# -- pre- and postprocessing ---------------------------------------------------------------


def sam_preprocess(image: np.ndarray, side: int, *, mean: tuple[float, ...] = IMAGENET_MEAN,
                   std: tuple[float, ...] = IMAGENET_STD) -> Any:
    """One RGB frame as the SAM processors hand it to the model.

    Args:
        image: H×W×3 uint8 RGB.
        side: the model's input side in pixels.
        mean, std: per-channel normalisation (ImageNet's for SAM 2, 0.5 for SAM 3).

    Returns:
        3×side×side float32 torch tensor: bilinear antialiased resize (aspect not kept),
        rounded to uint8 levels, ``(v / 255 - mean) / std``.
    """
    import torch
    import torch.nn.functional as F

    image = check_array(image, "image", shape=(None, None, 3), dtype=np.uint8, hint="pass an RGB frame")
    pixels = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float()
    if pixels.shape[-2:] != (side, side):
        pixels = F.interpolate(pixels, size=(side, side), mode="bilinear", align_corners=False, antialias=True)
        pixels = pixels.round().clamp(0, 255)
    mean_t = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    return ((pixels / 255.0 - mean_t) / std_t)[0]


def sam_prompt_points(prompt: ObjectPrompt, width: int, height: int, side: int) -> tuple[np.ndarray, np.ndarray]:
    """A box/points prompt in the model's input pixels, as SAM's prompt encoder takes it.

    Args:
        prompt: a box and/or points prompt in pixels of a ``width``×``height`` frame.
        side: the model's input side.

    Returns:
        (P×2 float32 ``(x, y)`` model pixel indices, P int32 labels): the box's two corners
        first (labels 2 and 3), then the clicks (1 on the object, 0 background). A frame
        coordinate ``x`` becomes ``x · side / width − 0.5``, so that after the model's own
        +0.5 shift it sits at ``x / width`` of the image.
    """
    coords, labels = [], []
    if prompt.box is not None:
        x0, y0, x1, y1 = prompt.box
        coords += [(x0, y0), (x1, y1)]
        labels += [2, 3]
    if prompt.points is not None:
        coords += [tuple(p) for p in np.asarray(prompt.points, np.float64)]
        labels += [1 if positive else 0 for positive in prompt.labels]
    if not coords:
        raise InputError(f"object {prompt.name!r}: a {prompt.kind} prompt has no box or points for SAM")
    xy = np.asarray(coords, np.float64) * [side / width, side / height] - 0.5
    return xy.astype(np.float32), np.asarray(labels, np.int32)


def sam_upsample_logits(logits: Any, side: int, height: int, width: int) -> Any:
    """K×h×w low-resolution mask logits → K×height×width logits, as ``post_process_masks``
    does: bilinear (no corner alignment) to side×side, then to the frame's size."""
    import torch.nn.functional as F

    logits = logits.float()[:, None]
    if logits.shape[-2:] != (side, side):
        logits = F.interpolate(logits, size=(side, side), mode="bilinear", align_corners=False)
    logits = F.interpolate(logits, size=(height, width), mode="bilinear", align_corners=False)
    return logits[:, 0]


class _LazyFrames:
    """The session's ``processed_frames``: a frame is preprocessed when the model asks for it."""

    def __init__(self, images: np.ndarray, prepare: Callable[[np.ndarray], Any]) -> None:
        self._images = images
        self._prepare = prepare

    def __len__(self) -> int:
        return len(self._images)

    def __getitem__(self, index: int) -> Any:
        return self._prepare(self._images[index])

    def __contains__(self, index: object) -> bool:
        return isinstance(index, (int, np.integer)) and 0 <= int(index) < len(self._images)


# -- configs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sam2SegmenterConfig:
    """SAM 2 (transformers' ``Sam2VideoModel``): box, click and mask prompts segmented on their
    frame and tracked forwards and backwards through the clip by the model's memory.

    Needs ``pip install 'sceneforge[neural]'`` and weights (``facebook/sam2.1-hiera-tiny`` …
    ``-large``). Masks come back at the frames' size; quality per frame is the model's own
    object score (probability the object is visible)."""

    model: str | None = None
    """Folder saved by save_pretrained, or a Hugging Face repo id in your model cache
    (e.g. facebook/sam2.1-hiera-tiny). Required."""
    allow_download: bool = False
    """Let a repo id missing from the cache be downloaded."""
    device: str = "auto"
    """auto (CUDA when available), cpu or cuda."""
    precision: str = "auto"
    """auto (bf16/fp16 on CUDA, fp32 on CPU), fp32, fp16 or bf16."""
    resolution: int | None = None
    """Model input side in pixels (frames are resized to a square of this side); the model is
    trained at one side (1024 for SAM 2), so leave unset or give exactly that."""
    multimask: bool = True
    """For a single click (ambiguous: part or whole?), let the model predict three masks and
    keep the one with the best predicted IoU."""
    mask_threshold: float = 0.0
    """Logit above which a pixel is on the object (0 = probability ½)."""
    visible_threshold: float = 0.5
    """Object score (probability the object is in the frame) under which a propagated frame
    counts as lost (empty mask, motion 'lost')."""
    max_frames_in_memory: int = 64
    """Propagated frames whose model state (memory features, object pointers) is kept; older
    ones are dropped so memory stays bounded on long clips (SAM 2 only reads the last few)."""
    offload_state: bool = False
    """Keep the tracking state in CPU memory instead of the GPU's (slower, fits longer clips
    and larger models)."""

    def __post_init__(self) -> None:
        check_choice(self.device, ("auto", "cpu", "cuda"), "device")
        check_choice(self.precision, ("auto", "fp32", "fp16", "bf16"), "precision")
        if self.resolution is not None and not (isinstance(self.resolution, int) and self.resolution >= 32):
            raise InputError(f"resolution must be an integer ≥ 32 or unset, got {self.resolution!r}")
        if not 0.0 <= self.visible_threshold <= 1.0:
            raise InputError(f"visible_threshold must be in [0, 1], got {self.visible_threshold}")
        if not np.isfinite(self.mask_threshold):
            raise InputError(f"mask_threshold must be a finite logit, got {self.mask_threshold}")
        if int(self.max_frames_in_memory) < 1:
            raise InputError(f"max_frames_in_memory must be ≥ 1, got {self.max_frames_in_memory}")

    text_prompts: ClassVar[bool] = False
    """Whether the backend answers text prompts (``NAME=text:...``)."""

    def build(self) -> Sam2Segmenter:
        """The backend this configuration describes (weights load on first use)."""
        return Sam2Segmenter(self)

    def check(self) -> None:
        """Fail now, before any work, when transformers or the weights are missing (the model
        itself loads on first use).

        Raises:
            DependencyError: transformers is not installed.
            InputError: no model given, or not found (folder or cached repo id).
        """
        backend = self.build()
        require("torch", "transformers", what=backend._what)
        resolve_model(self.model, what=backend._what, flag="--segmenter.model (or --tracker.model)",
                      allow_download=self.allow_download, example=backend._example)


@dataclass(frozen=True)
class Sam3SegmenterConfig(Sam2SegmenterConfig):
    """SAM 3 (transformers' ``Sam3VideoModel``): text prompts (``--object "chair=text:the red
    chair@F"``) as well as boxes, clicks and masks, tracked through the clip.

    A text prompt is looked for on its frame by SAM 3's detector; the highest-scoring instance
    is the object (one prompt = one object: name another one with its own prompt or a box), and
    SAM 3's tracker carries its mask through the clip forwards and backwards. Needs
    ``pip install 'sceneforge[neural]'`` and the weights (``facebook/sam3``)."""

    model: str | None = None
    """Folder saved by save_pretrained, or a Hugging Face repo id in your model cache
    (e.g. facebook/sam3). Required."""
    resolution: int | None = None
    """Model input side in pixels (1008 for SAM 3); leave unset or give exactly the model's."""
    detection_threshold: float = 0.5
    """Score (detection × presence probability) the best instance of a text prompt must reach
    on its frame; below it the text is taken as not found there."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 <= self.detection_threshold <= 1.0:
            raise InputError(f"detection_threshold must be in [0, 1], got {self.detection_threshold}")

    text_prompts: ClassVar[bool] = True

    def build(self) -> Sam3Segmenter:
        """The backend this configuration describes (weights load on first use)."""
        return Sam3Segmenter(self)


# -- backends ------------------------------------------------------------------------------


class Sam2Segmenter:
    """SAM 2 through transformers: a :class:`PromptableSegmenter` and a :class:`MaskTracker`
    (see :class:`Sam2SegmenterConfig` and the module docstring)."""

    text_prompts = False
    """Whether :meth:`track_prompt` and :meth:`segment` answer text prompts."""
    _what = "the sam2 segmenter"
    _example = "facebook/sam2.1-hiera-tiny"
    _mean, _std = IMAGENET_MEAN, IMAGENET_STD

    def __init__(self, config: Sam2SegmenterConfig | None = None) -> None:
        self.config = config or Sam2SegmenterConfig()
        self._loaded = False
        self._image: np.ndarray | None = None
        self._image_session: Any = None

    # loading ----------------------------------------------------------------------------

    def _load(self) -> None:
        """Import the stack, find and load the weights, pick the device (once)."""
        if self._loaded:
            return
        require("torch", "transformers", what=self._what)
        cfg = self.config
        source = resolve_model(cfg.model, what=self._what, flag="--segmenter.model (or --tracker.model)",
                               allow_download=cfg.allow_download, example=self._example)
        self.device = pick_device(cfg.device)
        self.dtype = pick_dtype(self.device, cfg.precision)
        self._load_model(source)
        side = int(self._model_side())
        if cfg.resolution is not None and cfg.resolution != side:
            raise InputError(f"{self._what}: resolution {cfg.resolution} does not match the model's input side {side}; "
                             "leave resolution unset")
        self.side = side
        self.tracker.config.multimask_output_in_sam = bool(cfg.multimask)
        self._loaded = True
        log.info("%s: %s on %s (%s), input %d px", self._what, cfg.model, self.device, self.dtype, side)

    def _load_model(self, source: Any) -> None:
        from transformers import Sam2VideoModel

        self.tracker = load_pretrained(Sam2VideoModel, source, device=self.device, dtype=self.dtype,
                                       allow_download=self.config.allow_download, what=self._what)

    def _model_side(self) -> int:
        return self.tracker.config.image_size

    def _session_class(self) -> Any:
        from transformers import Sam2VideoInferenceSession

        return Sam2VideoInferenceSession

    def _before_frame(self, session: Any, index: int) -> None:
        """Hook run before the tracker sees frame ``index`` (SAM 3 computes its features here)."""

    # single image -----------------------------------------------------------------------

    def set_image(self, image: np.ndarray, *, depth: DepthMap | np.ndarray | None = None,
                  neighbour: np.ndarray | None = None) -> None:
        """See :meth:`PromptableSegmenter.set_image`; ``depth`` and ``neighbour`` are not used.

        Args:
            image: H×W×3 uint8 RGB.
        """
        image = check_array(image, "image", shape=(None, None, 3), dtype=np.uint8, hint="pass an RGB frame")
        self._load()
        self._image = image
        self._image_session = self._session(image[None])

    def segment(self, prompt: ObjectPrompt) -> SegmentResult:
        """See :meth:`PromptableSegmenter.segment`: one mask at the image's size, scored by the
        model's object score in [0, 1]. A mask prompt comes back as given. When the model finds
        nothing at the prompt, the box (or the clicked pixels) is kept with score 0."""
        if self._image is None:
            raise InputError("call set_image before segment")
        if not isinstance(prompt, ObjectPrompt):
            raise InputError(f"prompt must be an ObjectPrompt, got {type(prompt).__name__}")
        height, width = self._image.shape[:2]
        if prompt.mask is not None:
            mask = fit_mask(prompt.mask, height, width, name=prompt.name)
            return SegmentResult(mask[None], np.ones(1, np.float32))
        session = self._image_session
        session.reset_tracking_data()
        if prompt.text is not None:
            mask, score = self._find_text(session, prompt, width, height)
        else:
            _check_prompt_in_image(prompt, width, height)
            self._add_points(session, prompt, 0, width, height)
            logits, score = self._step(session, 0, reverse=False)
            mask = (sam_upsample_logits(logits, self.side, height, width)[0] > self.config.mask_threshold).cpu().numpy()
        if not mask.any():
            log.warning("object %r: %s finds nothing at the prompt; keeping the prompt region", prompt.name, self._what)
            mask, score = _prompt_region(prompt, width, height), 0.0
        return SegmentResult(mask[None], np.array([min(1.0, max(0.0, score))], np.float32))

    # video ------------------------------------------------------------------------------

    def track(self, frames: Frames, prompt_mask: np.ndarray, prompt_frame: int, *, name: str = "object",
              depths: DepthMaps | Mapping[int, DepthMap] | Iterable[DepthMap] | None = None,
              track: CameraTrack | None = None, progress: ProgressFn | None = None) -> TrackedMasks:
        """See :meth:`MaskTracker.track`: the mask is the model's prompt on ``prompt_frame`` (kept
        as is there) and propagated both ways; ``depths`` and ``track`` are not used."""
        prompt_frame = _check_frame(frames, prompt_frame)
        prompt_mask = check_array(prompt_mask, "prompt_mask", shape=(frames.height, frames.width), dtype=bool,
                                  hint="pass the object's mask on the prompt frame at the frames' size")
        if not prompt_mask.any():
            raise InputError("prompt_mask is empty; mark the object's pixels True")
        prompt = ObjectPrompt(name=name, frame=prompt_frame, mask=prompt_mask)
        return self.track_prompt(frames, prompt, progress=progress)

    def track_prompt(self, frames: Frames, prompt: ObjectPrompt, *,
                     depths: DepthMaps | Mapping[int, DepthMap] | Iterable[DepthMap] | None = None,
                     track: CameraTrack | None = None, progress: ProgressFn | None = None) -> TrackedMasks:
        """Segment ``prompt`` on its frame with the video model and track it through the clip.

        Args:
            frames: N×H×W×3 uint8 RGB frames.
            prompt: box, points, mask (or, for SAM 3, text) on ``prompt.frame`` (an index into
                ``frames``), in the frames' pixels.
            depths, track: not used (accepted so callers can pass what the flow tracker takes).
            progress: optional ``progress(stage, done, total)`` callback.

        Returns:
            :class:`TrackedMasks` over every frame at the frames' size: motion ``prompt`` on the
            prompt frame (quality 1), ``flow`` where the model carried the object (quality: its
            object score), ``lost`` where the object score says it is absent (empty, quality 0).

        Raises:
            InputError: a prompt outside the clip or frame; a text the backend cannot answer or
                does not find on its frame.
        """
        if not isinstance(frames, Frames):
            raise InputError(f"frames must be Frames, got {type(frames).__name__}; read them with read_frames")
        if not isinstance(prompt, ObjectPrompt):
            raise InputError(f"prompt must be an ObjectPrompt, got {type(prompt).__name__}; see parse_object_prompt")
        p = _check_frame(frames, prompt.frame)
        n, height, width = len(frames), frames.height, frames.width
        if prompt.text is not None and not self.text_prompts:
            raise InputError(f"object {prompt.name!r}: text prompts need --segmenter sam3")
        if prompt.box is not None or prompt.points is not None:
            _check_prompt_in_image(prompt, width, height)
        self._load()
        session = self._session(frames.images)
        masks = np.zeros((n, height, width), bool)
        quality = np.zeros(n, np.float32)
        motion = ["lost"] * n
        if prompt.text is not None:
            first, _score = self._find_text(session, prompt, width, height, frame=p)
            self._add_mask(session, first, p)
            self._step(session, p, reverse=False)
        elif prompt.mask is not None:
            first = fit_mask(prompt.mask, height, width, name=prompt.name)
            self._add_mask(session, first, p)
            self._step(session, p, reverse=False)
        else:
            self._add_points(session, prompt, p, width, height)
            logits, _score = self._step(session, p, reverse=False)
            first = (sam_upsample_logits(logits, self.side, height, width)[0] > self.config.mask_threshold).cpu().numpy()
            if not first.any():
                log.warning("object %r: %s finds nothing at the prompt on frame %d", prompt.name, self._what, p)
        masks[p], quality[p], motion[p] = first, 1.0, "prompt"
        done = 1
        if progress:
            progress("track", done, n)
        for reverse, order in ((False, range(p + 1, n)), (True, range(p - 1, -1, -1))):
            for index in order:
                logits, score = self._step(session, index, reverse=reverse)
                mask = (sam_upsample_logits(logits, self.side, height, width)[0] > self.config.mask_threshold).cpu().numpy()
                if score >= self.config.visible_threshold and mask.any():
                    masks[index], quality[index], motion[index] = mask, score, "flow"
                self._forget(session, index)
                done += 1
                if progress:
                    progress("track", done, n)
        return TrackedMasks(name=prompt.name, masks=masks, quality=quality, prompt_frame=p,
                            frame_numbers=frames.frame_numbers, motion=tuple(motion))

    # session plumbing -------------------------------------------------------------------

    def _session(self, images: np.ndarray) -> Any:
        """The model's inference session over ``images`` (N×H×W×3 uint8), frames prepared lazily."""
        import torch

        cfg = self.config
        state_device = "cpu" if cfg.offload_state else self.device
        session = self._session_class()(
            video_height=int(images.shape[1]), video_width=int(images.shape[2]),
            inference_device=self.device, inference_state_device=state_device,
            video_storage_device=self.device, dtype=self.dtype, max_vision_features_cache_size=1,
        )

        def prepare(image: np.ndarray) -> torch.Tensor:
            return sam_preprocess(image, self.side, mean=self._mean, std=self._std).to(self.device, self.dtype)

        session.processed_frames = _LazyFrames(images, prepare)
        session.obj_id_to_idx(_OBJECT_ID)
        return session

    def _add_points(self, session: Any, prompt: ObjectPrompt, index: int, width: int, height: int) -> None:
        import torch

        coords, labels = sam_prompt_points(prompt, width, height, self.side)
        obj = session.obj_id_to_idx(_OBJECT_ID)
        session.add_point_inputs(obj, index, {
            "point_coords": torch.from_numpy(coords)[None, None].to(self.dtype),
            "point_labels": torch.from_numpy(labels)[None, None],
        })
        session.remove_mask_inputs(obj, index)
        session.obj_with_new_inputs = [_OBJECT_ID]

    def _add_mask(self, session: Any, mask: np.ndarray, index: int) -> None:
        """A mask prompt as the processor adds it: resized to side×side bilinearly with
        antialiasing and thresholded at ½."""
        import torch
        import torch.nn.functional as F

        values = torch.from_numpy(mask.astype(np.float32))[None, None]
        if values.shape[-2:] != (self.side, self.side):
            values = F.interpolate(values, size=(self.side, self.side), mode="bilinear", align_corners=False,
                                   antialias=True)
            values = (values >= 0.5).float()
        obj = session.obj_id_to_idx(_OBJECT_ID)
        session.add_mask_inputs(obj, index, values.to(self.device))
        session.remove_point_inputs(obj, index)
        session.obj_with_new_inputs = [_OBJECT_ID]

    def _step(self, session: Any, index: int, *, reverse: bool) -> tuple[Any, float]:
        """Run the tracker on frame ``index``: (1×h×w low-res logits, object score in [0, 1])."""
        import torch

        with memory_guard(self._what, self.device):
            self._before_frame(session, index)
            out = self.tracker(inference_session=session, frame_idx=index, reverse=reverse)
        logits = out.pred_masks.reshape(-1, *out.pred_masks.shape[-2:])[:1]
        score = float(torch.sigmoid(out.object_score_logits.float().reshape(-1)[0]))
        return logits, score

    def _forget(self, session: Any, index: int) -> None:
        """Drop what the model will not read again: full-resolution masks of past frames, and the
        state of propagated frames beyond ``max_frames_in_memory`` from ``index``."""
        keep = int(self.config.max_frames_in_memory)
        for per_object in session.output_dict_per_obj.values():
            for outputs in per_object.values():
                for out in outputs.values():
                    out.pop("high_res_masks", None)
            past = per_object["non_cond_frame_outputs"]
            if len(past) > keep:
                for frame in sorted(past, key=lambda f: abs(f - index))[keep:]:
                    del past[frame]

    def _find_text(self, session: Any, prompt: ObjectPrompt, width: int, height: int,
                   frame: int = 0) -> tuple[np.ndarray, float]:
        raise InputError(f"object {prompt.name!r}: text prompts need --segmenter sam3")


class Sam3Segmenter(Sam2Segmenter):
    """SAM 3 through transformers: text, box, click and mask prompts, tracked through the clip
    (see :class:`Sam3SegmenterConfig`). One text prompt is one object: the instance SAM 3 scores
    highest on the prompt frame."""

    text_prompts = True
    _what = "the sam3 segmenter"
    _example = "facebook/sam3"
    _mean, _std = HALF_MEAN, HALF_STD

    def _load_model(self, source: Any) -> None:
        from transformers import AutoTokenizer, Sam3VideoModel

        self.video_model = load_pretrained(Sam3VideoModel, source, device=self.device, dtype=self.dtype,
                                           allow_download=self.config.allow_download, what=self._what)
        self.detector = self.video_model.detector_model
        self.tracker = self.video_model.tracker_model
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(source.location, local_files_only=not self.config.allow_download)
        except (OSError, ValueError, TypeError) as error:
            raise InputError(f"{self._what}: {source.location} has no tokenizer SAM 3 can read ({type(error).__name__}); "
                             "save the processor's tokenizer beside the model") from error

    def _model_side(self) -> int:
        return self.video_model.config.detector_config.vision_config.backbone_config.image_size

    def _session_class(self) -> Any:
        from transformers.models.sam3_tracker_video.modeling_sam3_tracker_video import Sam3TrackerVideoInferenceSession

        return Sam3TrackerVideoInferenceSession

    def _vision(self, session: Any, index: int) -> Any:
        """The detector's vision features of frame ``index``, also cached for the tracker (which
        shares SAM 3's vision encoder and has none of its own)."""
        import torch

        with torch.inference_mode():
            embeds = self.detector.get_vision_features(pixel_values=session.get_frame(index)[None])
            feats, positions = self.video_model.get_vision_features_for_tracker(vision_embeds=embeds)
        session.cache.cache_vision_features(index, {"vision_feats": feats, "vision_pos_embeds": positions})
        return embeds

    def _before_frame(self, session: Any, index: int) -> None:
        if session.cache.get_vision_features(index) is None:
            self._vision(session, index)

    def _find_text(self, session: Any, prompt: ObjectPrompt, width: int, height: int,
                   frame: int = 0) -> tuple[np.ndarray, float]:
        """The mask (height×width bool) and score of the best instance of ``prompt.text`` on
        ``frame`` of the session.

        Raises:
            InputError: no instance scores ``detection_threshold`` there.
        """
        import torch

        text = self.tokenizer(prompt.text, return_tensors="pt", padding="max_length", max_length=32, truncation=True)
        with memory_guard(self._what, self.device), torch.inference_mode():
            embeds = self._vision(session, frame)
            out = self.detector(vision_embeds=embeds, input_ids=text.input_ids.to(self.device),
                                attention_mask=text.attention_mask.to(self.device))
        scores = torch.sigmoid(out.pred_logits.float()[0])
        if out.presence_logits is not None:
            scores = scores * torch.sigmoid(out.presence_logits.float().reshape(-1)[0])
        best = int(torch.argmax(scores))
        score = float(scores[best])
        if score < self.config.detection_threshold:
            raise InputError(
                f"object {prompt.name!r}: SAM 3 finds no {prompt.text!r} on frame {frame} (best score {score:.2f} < "
                f"{self.config.detection_threshold:g}); prompt it on another frame where it is clearly visible, or give a box"
            )
        logits = out.pred_masks[0, best : best + 1]
        mask = (sam_upsample_logits(logits, self.side, height, width)[0] > self.config.mask_threshold).cpu().numpy()
        if not mask.any():
            raise InputError(f"object {prompt.name!r}: SAM 3's mask for {prompt.text!r} on frame {frame} is empty; "
                             "prompt it on another frame, or give a box")
        log.info("object %r: %r found on frame %d (score %.2f)", prompt.name, prompt.text, frame, score)
        return mask, score


# -- helpers -------------------------------------------------------------------------------


def _check_frame(frames: Frames, index: int) -> int:
    if not isinstance(frames, Frames):
        raise InputError(f"frames must be Frames, got {type(frames).__name__}; read them with read_frames")
    n = len(frames)
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < n:
        raise InputError(f"prompt frame must be a frame index in [0, {n}), got {index!r}")
    return int(index)

