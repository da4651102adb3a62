"""Monocular depth through transformers (``AutoModelForDepthEstimation``): Depth Anything V2,
Depth Pro and Prompt Depth Anything, aligned to the camera solve's sparse points.

One network pass per frame needs no second view, so a single image or a pan from a fixed
point still gets 2.5D depth. The network's output is brought to the frame's pixel grid and
to scene units:

- Depth Anything (relative models) predicts relative inverse depth (disparity): ``1 / z =
  scale · d + shift`` is fitted robustly to the sparse points the frame sees
  (:func:`~._align.align_relative_depth` with an inverse :class:`RelativeDepth`);
- metric Depth Anything models (``depth_estimation_type == "metric"``), Depth Pro (whose
  canonical inverse depth becomes metres through the frame's own focal length) and Prompt
  Depth Anything (prompted with the solve's own depth, so it answers in scene units) give
  metric depth: one robust scale to the points (:func:`~._align.align_metric_depth`).

Frames that see fewer than ``min_points`` points take the fit of the nearest frame that had
enough (logged). With no points anywhere (a single image, a pure pan) metric models keep
their metres and relative models get a fixed nominal mapping: the frame's median depth is
placed at ``nominal_distance`` scene units, at :data:`~._nominal.NOMINAL_CONFIDENCE`.

With ``mvs`` set, multi-view stereo runs first; the monocular depth, aligned densely to the
MVS depth of the same frame, fills only the pixels MVS has no answer for, at a confidence of
at most ``fill_confidence``.

Preprocessing is our own (torchvision, which the fast transformers image processors need,
is not a dependency) and reproduces each processor's documented behaviour:

- Depth Anything and Prompt Depth Anything (the DPT processor): resize keeping the aspect
  ratio, scaling as little as possible (for frames larger than ``resolution`` both ways: the
  short side to ``resolution``), each side rounded to a multiple of the patch size (14),
  bicubic (PIL, on the uint8 image), rescale 1/255, ImageNet mean and std;
- Depth Pro: rescale 1/255, normalise with mean 0.5 and std 0.5, then resize to
  ``resolution`` × ``resolution`` bilinearly without antialiasing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from sceneforge.scenegraph import CameraTrack, DepthMap, Frames, InputError, RelativeDepth

from .._neural import (
    Device,
    Precision,
    batch_size,
    check_choice,
    load_pretrained,
    memory_guard,
    pick_device,
    pick_dtype,
    require,
    resolve_model,
)
from .._progress import ProgressFn
from ._align import Fit, _points_at_pixels, apply_fit, fit_affine, fit_scale, relative_pairs
from ._nominal import NOMINAL_CONFIDENCE
from ._plane_sweep import _check_inputs

__all__ = [
    "MONO_FAMILIES",
    "MonoDepth",
    "MonoDepthConfig",
    "depth_anything_input_size",
    "preprocess_depth_anything",
    "preprocess_depth_pro",
    "sparse_prompt_depth",
]

log = logging.getLogger(__name__)

Family = Literal["depth-anything", "depth-pro", "prompt-depth-anything"]
MvsMode = Literal["none", "patchmatch", "plane-sweep"]

MONO_FAMILIES = ("depth-anything", "depth-pro", "prompt-depth-anything")
"""The model families :class:`MonoDepthConfig` runs."""

_MODEL_TYPES = {"depth-anything": "depth_anything", "depth-pro": "depth_pro", "prompt-depth-anything": "prompt_depth_anything"}
_EXAMPLES = {
    "depth-anything": "depth-anything/Depth-Anything-V2-Small-hf",
    "depth-pro": "apple/DepthPro-hf",
    "prompt-depth-anything": "depth-anything/prompt-depth-anything-vits-hf",
}
_MVS_MODES = ("none", "patchmatch", "plane-sweep")

_DA_RESOLUTION = 518
_IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
# Aligned depth farther than this many times the frame's far sparse points (98th percentile)
# is dropped: near the fitted zero of inverse depth (the sky) depths grow without bound.
_FAR_FACTOR = 20.0
# Relative gradient of depth (per pixel of the network's output) at which the edge term of the
# confidence halves: depth edges are where monocular depth smears foreground into background.
_EDGE_REL = 0.05
# Robust relative residual of the fit at which its agreement term halves.
_AGREEMENT_REL = 0.05
# Confidence factors: a fit taken from the nearest frame; metric depth no point confirmed.
_BORROWED = 0.5
_UNCONFIRMED_METRIC = 0.5
# MVS pixels sampled for the dense fit of the monocular depth to the MVS depth.
_MVS_SAMPLES = 4000
# Long side of Prompt Depth Anything's prompt (the low-resolution LiDAR it was trained with is 256×192).
_PROMPT_SIZE_PX = 256
# Bytes of activations per input pixel and batch item, at 4 bytes a value (measured roughly:
# Depth Anything V2 small at 518×924 peaks near 0.7 GB; Depth Pro runs 35 ViT patches per image).
_BYTES_PER_PIXEL = {"depth-anything": 1600, "depth-pro": 6000, "prompt-depth-anything": 1600}
_BATCH_LIMIT = {"depth-anything": 8, "depth-pro": 2, "prompt-depth-anything": 8}


@dataclass(frozen=True)
class MonoDepthConfig:
    """Monocular depth through transformers (Depth Anything V2, Depth Pro, Prompt Depth Anything),
    aligned to the camera solve's sparse points; needs no parallax, so a still or a pan gets
    2.5D depth. With ``mvs`` set it fills what multi-view stereo misses."""

    family: Family = "depth-anything"
    """Model family: depth-anything (relative inverse depth, or metric for the metric
    checkpoints), depth-pro (metric), prompt-depth-anything (metric, prompted with the solve's
    own sparse or MVS depth)."""
    model: str | None = None
    """Weights: a folder saved by save_pretrained, or a Hugging Face repo id in your cache
    (e.g. depth-anything/Depth-Anything-V2-Small-hf, apple/DepthPro-hf,
    depth-anything/prompt-depth-anything-vits-hf). Required."""
    allow_download: bool = False
    """Let a repo id missing from the Hugging Face cache be downloaded."""
    device: Device = "auto"
    """Where the network runs: auto (CUDA when there is one), cpu or cuda."""
    precision: Precision = "auto"
    """Network precision: auto (bf16/fp16 on CUDA, fp32 on the CPU), fp32, fp16 or bf16."""
    resolution: int | None = None
    """Network input size in pixels; None: the family's own (518 for the Depth Anything families,
    their short side, a multiple of 14; Depth Pro's square input, 1536 for its released model)."""
    batch_size: int = 0
    """Frames per network pass; 0 chooses from the free memory of the device."""
    mvs: MvsMode = "none"
    """Run this multi-view stereo first (patchmatch or plane-sweep, with its default options) and
    let the monocular depth, aligned to it, fill only the pixels it has no depth for."""
    min_points: int = 20
    """Sparse points a frame must see for its own alignment; frames with fewer take the fit of the
    nearest frame that has enough."""
    fill_confidence: float = 0.3
    """With mvs: the most confidence a pixel filled by monocular depth carries."""
    nominal_distance: float = 10.0
    """With no sparse points at all: the median depth, in scene units, of a relative model's frame."""

    def __post_init__(self) -> None:
        check_choice(self.family, MONO_FAMILIES, "family")
        check_choice(self.mvs, _MVS_MODES, "mvs")
        check_choice(self.device, ("auto", "cpu", "cuda"), "device")
        check_choice(self.precision, ("auto", "fp32", "fp16", "bf16"), "precision")
        if self.resolution is not None:
            if self.family == "depth-pro" and int(self.resolution) < 16:
                raise InputError(f"resolution must be ≥ 16 pixels, got {self.resolution}")
            if self.family != "depth-pro" and (int(self.resolution) < 14 or int(self.resolution) % 14):
                raise InputError(
                    f"resolution of the {self.family} family must be a positive multiple of 14 (its patch size), "
                    f"got {self.resolution}; e.g. 518"
                )
        if int(self.batch_size) < 0:
            raise InputError(f"batch_size must be ≥ 0 (0 = from the free memory), got {self.batch_size}")
        if int(self.min_points) < 3:
            raise InputError(f"min_points must be ≥ 3, got {self.min_points}")
        if not 0 < self.fill_confidence < 1:
            raise InputError(f"fill_confidence must be in (0, 1), got {self.fill_confidence}")
        if not (np.isfinite(self.nominal_distance) and self.nominal_distance > 0):
            raise InputError(f"nominal_distance must be a positive number of scene units, got {self.nominal_distance}")

    @property
    def needs_parallax(self) -> bool:
        """False: one frame is enough (the pipeline uses this backend for stills and pans)."""
        return False

    def check(self) -> None:
        """Fail now, before any work, when transformers or the weights are missing.

        Raises:
            DependencyError: transformers or torch is not installed.
            InputError: no model given, or not found (folder or cached repo id).
        """
        what = f"the {self.family} depth backend"
        require("torch", "transformers", what=what)
        resolve_model(self.model, what=what, flag="--depth.model", allow_download=self.allow_download,
                      example=_EXAMPLES[self.family])

    def build(self) -> MonoDepth:
        """The backend this configuration describes (loads the model).

        Raises:
            DependencyError: transformers or torch is not installed.
            InputError: no or unusable weights, or weights of another model family.
        """
        return MonoDepth(self)


# -- preprocessing -----------------------------------------------------------------------------


def depth_anything_input_size(height: int, width: int, resolution: int, multiple: int = 14) -> tuple[int, int]:
    """(h, w) the DPT image processor resizes an H×W image to with ``size = resolution ×
    resolution``, ``keep_aspect_ratio`` and ``ensure_multiple_of = multiple``: the one scale
    nearer to 1 of the two that fit a side to ``resolution``, then each side rounded to the
    nearest multiple (a frame larger both ways gets its short side at ``resolution``)."""
    scale_h, scale_w = resolution / height, resolution / width
    scale = scale_w if abs(1 - scale_w) < abs(1 - scale_h) else scale_h

    def constrain(value: float) -> int:
        return max(multiple, int(round(value / multiple) * multiple))

    return constrain(scale * height), constrain(scale * width)


def preprocess_depth_anything(images: np.ndarray, resolution: int, multiple: int = 14) -> np.ndarray:
    """Depth Anything's (and Prompt Depth Anything's) network input.

    Args:
        images: N×H×W×3 uint8 RGB.
        resolution: the processor's ``size`` (518 for the released models).
        multiple: the patch size the sides are rounded to.

    Returns:
        N×3×h×w float32: bicubic resize (PIL, as the processor's PIL backend) to
        :func:`depth_anything_input_size`, then ``(x / 255 − mean) / std`` with ImageNet's mean
        and std.
    """
    from PIL import Image

    n, height, width, _ = images.shape
    h, w = depth_anything_input_size(height, width, resolution, multiple)
    out = np.empty((n, 3, h, w), np.float32)
    for i in range(n):
        resized = np.asarray(Image.fromarray(images[i]).resize((w, h), Image.Resampling.BICUBIC), dtype=np.float32)
        out[i] = ((resized * np.float32(1 / 255) - _IMAGENET_MEAN) / _IMAGENET_STD).transpose(2, 0, 1)
    return out


def preprocess_depth_pro(images: np.ndarray, resolution: int) -> Any:
    """Depth Pro's network input, as its image processor makes it: ``(x / 255 − 0.5) / 0.5``
    first, then a bilinear resize (no antialiasing) to ``resolution`` × ``resolution``.

    Args:
        images: N×H×W×3 uint8 RGB.

    Returns:
        N×3×resolution×resolution float32 torch tensor.
    """
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).to(torch.float32)
    x = (x * (1 / 255) - 0.5) / 0.5
    return F.interpolate(x, size=(resolution, resolution), mode="bilinear", align_corners=False, antialias=False)


def sparse_prompt_depth(
    u: np.ndarray, v: np.ndarray, z: np.ndarray, *, height: int, width: int, size_px: int = _PROMPT_SIZE_PX
) -> np.ndarray:
    """A dense low-resolution prompt depth from sparse depths, for Prompt Depth Anything.

    The network normalises its prompt by the prompt's own minimum and maximum and was trained
    with dense low-resolution LiDAR, so zeros for "no measurement" would corrupt it: each cell
    keeps its nearest point (a z-buffer), the cells are interpolated linearly over the points'
    triangulation and filled by the nearest point outside it.

    Args:
        u, v: N pixel coordinates on the H×W frame (right, down; pixel centres at +0.5) of the sparse depths.
        z: their z-depths (scene units, > 0).
        height, width: the frame's size.
        size_px: the prompt's long side.

    Returns:
        h×w float32 prompt depth, every cell > 0 (h×w has the frame's aspect, long side ``size_px``).
    """
    from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator

    scale = min(1.0, size_px / max(height, width))
    h, w = max(1, round(height * scale)), max(1, round(width * scale))
    x, y = np.asarray(u, np.float64) * (w / width), np.asarray(v, np.float64) * (h / height)
    cell = np.clip(y.astype(np.int64), 0, h - 1) * w + np.clip(x.astype(np.int64), 0, w - 1)
    order = np.lexsort((z, cell))  # per cell, nearest first
    first = np.ones(len(order), bool)
    first[1:] = cell[order][1:] != cell[order][:-1]
    keep = order[first]
    xy = np.column_stack([x[keep], y[keep]])
    values = z[keep].astype(np.float64)
    gy, gx = np.mgrid[0:h, 0:w] + 0.5
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    nearest = NearestNDInterpolator(xy, values)(grid)
    if len(values) >= 3:
        try:
            linear = LinearNDInterpolator(xy, values)(grid)
            nearest = np.where(np.isfinite(linear), linear, nearest)
        except Exception:  # collinear points (Qhull refuses): the nearest fill stands
            pass
    return nearest.reshape(h, w).astype(np.float32)


# -- the backend ---------------------------------------------------------------------------------


@dataclass
class _Prediction:
    """One frame's network output on the frame's grid, before alignment."""

    value: np.ndarray  # H×W float32
    valid: np.ndarray  # H×W bool
    kind: str  # "inverse" (relative disparity), "relative" (relative depth) or "metric"
    edge: np.ndarray  # H×W float32 in (0, 1]: the confidence's depth-edge term


class MonoDepth:
    """Monocular depth (see :class:`MonoDepthConfig`); implements :class:`DepthEstimator`."""

    def __init__(self, config: MonoDepthConfig) -> None:
        self.config = config
        self.what = f"the {config.family} depth backend"
        require("torch", "transformers", what=self.what)
        source = resolve_model(
            config.model, what=self.what, flag="--depth.model", allow_download=config.allow_download,
            example=_EXAMPLES[config.family],
        )
        from transformers import AutoConfig, AutoModelForDepthEstimation

        try:
            model_config = AutoConfig.from_pretrained(
                source.location, trust_remote_code=False, local_files_only=not config.allow_download
            )
        except (OSError, ValueError, KeyError) as error:
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise InputError(f"{self.what}: cannot read the model config in {source.location}: {first}") from error
        expected = _MODEL_TYPES[config.family]
        if model_config.model_type != expected:
            other = {v: k for k, v in _MODEL_TYPES.items()}.get(model_config.model_type)
            hint = f"use --depth {other} for it" if other else f"pass a {expected} model, e.g. {_EXAMPLES[config.family]}"
            raise InputError(
                f"{self.what} needs a {expected} model, but {source.location} holds a {model_config.model_type} model; {hint}"
            )
        self.device = pick_device(config.device)
        self.dtype = pick_dtype(self.device, config.precision)
        self.model = load_pretrained(
            AutoModelForDepthEstimation, source, device=self.device, dtype=self.dtype,
            allow_download=config.allow_download, what=self.what,
        )
        mc = self.model.config
        self.metric = config.family != "depth-anything" or getattr(mc, "depth_estimation_type", "relative") == "metric"
        if config.family == "depth-pro":
            native = int(round(mc.patch_size / min(mc.scaled_images_ratios)))
            self.resolution = int(config.resolution or native)
            if self.resolution * min(mc.scaled_images_ratios) < mc.patch_size:
                raise InputError(
                    f"{self.what}: resolution {self.resolution} is too small for this model "
                    f"(at least {native}: its patch size {mc.patch_size} / its smallest image ratio)"
                )
            self.multiple = 1
        else:
            self.multiple = int(mc.patch_size)
            self.resolution = int(config.resolution or _DA_RESOLUTION)
        log.info(
            "%s: %s (%s depth) on %s, %s, input %d px", self.what, source.location,
            "metric" if self.metric else "relative inverse", self.device, str(self.dtype).replace("torch.", ""),
            self.resolution,
        )

    # public ----------------------------------------------------------------------------------

    def estimate(
        self,
        frames: Frames,
        track: CameraTrack,
        *,
        indices: Sequence[int] | None = None,
        progress: ProgressFn | None = None,
    ) -> Iterator[tuple[int, DepthMap]]:
        """Depth for each requested frame, yielded as ``(index, DepthMap)`` in the order asked.

        See :meth:`DepthEstimator.estimate`. Works with any track, a rotation-only one or one
        without sparse points included (see the module's documentation for what the depth
        means then). Depth is z-depth in scene units on the frame's own grid, 0 = none;
        confidence in [0, 1] = the share of points the frame's fit explains × how closely they
        agree × a depth-edge term (× 0.5 for a fit taken from another frame).

        Raises:
            InputError: frames and track that do not belong together, or bad indices.
            OutOfMemory: the network does not fit on the device.
        """
        order = _check_inputs(frames, track, indices)
        return self._run(frames, track, order, progress)

    # internals ---------------------------------------------------------------------------------

    def _run(
        self, frames: Frames, track: CameraTrack, order: list[int], progress: ProgressFn | None
    ) -> Iterator[tuple[int, DepthMap]]:
        cfg = self.config
        state = _RunState(frames, track, cfg.min_points)
        if len(track.points) == 0:
            log.info(
                "%s: the track has no sparse points (a single image or a pan): %s", self.what,
                "metric depth is kept in the network's metres" if self.metric
                else f"relative depth is mapped nominally (median depth {cfg.nominal_distance:g} scene units); "
                "distances are not measured",
            )
        mvs = self._mvs(frames, track, order)
        size = self._batch_size(frames)
        done = 0
        for start in range(0, len(order), size):
            chunk = order[start : start + size]
            mvs_maps = [next(mvs)[1] if mvs is not None else None for _ in chunk]
            t0 = time.perf_counter()
            predictions = self._predict(frames, track, chunk, state, mvs_maps)
            for index, prediction, mvs_map in zip(chunk, predictions, mvs_maps):
                state.predictions[index] = prediction
                depth = self._align(index, prediction, mvs_map, state)
                log.debug("%s frame %d: %.2f s, coverage %.3f", self.what, index, (time.perf_counter() - t0) / len(chunk),
                          depth.coverage)
                state.predictions.pop(index, None)
                done += 1
                if progress:
                    progress("depth", done, len(order))
                yield index, depth

    def _mvs(self, frames: Frames, track: CameraTrack, order: list[int]) -> Iterator[tuple[int, DepthMap]] | None:
        if self.config.mvs == "none":
            return None
        from ._patchmatch import PatchMatchConfig
        from ._plane_sweep import PlaneSweepConfig

        config = (PatchMatchConfig if self.config.mvs == "patchmatch" else PlaneSweepConfig)(device=self.device)
        try:
            return config.build().estimate(frames, track, indices=order)
        except InputError as error:
            log.warning("%s: %s multi-view stereo cannot run (%s); monocular depth only", self.what, self.config.mvs, error)
            return None

    def _batch_size(self, frames: Frames) -> int:
        if self.config.batch_size:
            return int(self.config.batch_size)
        family = self.config.family
        if family == "depth-pro":
            pixels = self.resolution**2
        else:
            pixels = int(np.prod(depth_anything_input_size(frames.height, frames.width, self.resolution, self.multiple)))
        itemsize = 2 if self.dtype is not None and "16" in str(self.dtype) else 4
        return batch_size(pixels * _BYTES_PER_PIXEL[family] * itemsize / 4, self.device, limit=_BATCH_LIMIT[family])

    # network -------------------------------------------------------------------------------

    def _predict(
        self, frames: Frames, track: CameraTrack, indices: list[int], state: _RunState, mvs_maps: list[DepthMap | None]
    ) -> list[_Prediction]:
        """The network's output for ``indices`` (one batch), on each frame's grid."""
        import torch
        import torch.nn.functional as F

        cfg = self.config
        images = frames.images[indices]
        inputs: dict[str, Any] = {}
        if cfg.family == "depth-pro":
            inputs["pixel_values"] = preprocess_depth_pro(images, self.resolution)
        else:
            inputs["pixel_values"] = torch.from_numpy(preprocess_depth_anything(images, self.resolution, self.multiple))
        prompted = False
        if cfg.family == "prompt-depth-anything":
            prompts = [self._prompt(index, state, mvs_map) for index, mvs_map in zip(indices, mvs_maps)]
            have = [p is not None for p in prompts]
            if any(have) and not all(have):  # some frames have MVS depth to prompt with, others nothing
                by_index: dict[int, _Prediction] = {}
                for group in (True, False):
                    sub = [k for k in range(len(indices)) if have[k] == group]
                    got = self._predict(frames, track, [indices[k] for k in sub], state, [mvs_maps[k] for k in sub])
                    by_index.update(zip(sub, got))
                return [by_index[k] for k in range(len(indices))]
            if all(have):
                for prompt in prompts:
                    # the network divides by the prompt's range; the processor breaks a flat prompt's tie the same way
                    if prompt.max() == prompt.min():
                        prompt[0, 0] += max(1e-6, 1e-6 * abs(float(prompt[0, 0])))
                inputs["prompt_depth"] = torch.from_numpy(np.stack(prompts)[:, None])
                prompted = True
        inputs = {k: v.to(self.device, self.dtype) for k, v in inputs.items()}
        with memory_guard(self.what, self.device), torch.inference_mode():
            try:
                raw = self.model(**inputs).predicted_depth
            except ValueError as error:  # e.g. an input size the model refuses
                first = (str(error).strip().splitlines() or [type(error).__name__])[0]
                raise InputError(f"{self.what}: the model refused its input: {first}") from error
            raw = raw.float()[:, None]
            edge = _edge_term(raw)
            height, width = frames.height, frames.width
            mode = "bilinear" if cfg.family == "depth-pro" else "bicubic"
            value = F.interpolate(raw, size=(height, width), mode=mode, align_corners=False)[:, 0]
            edge = F.interpolate(edge, size=(height, width), mode="bilinear", align_corners=False)[:, 0]
        value = value.cpu().numpy()
        edge = edge.clamp(0, 1).cpu().numpy().astype(np.float32)
        out = []
        for k, index in enumerate(indices):
            v = np.nan_to_num(value[k], nan=0.0, posinf=0.0, neginf=0.0)
            if cfg.family == "depth-pro":
                # canonical inverse depth → metres with the frame's focal length, as the processor
                # does with the predicted field of view (inverse · W / f, clamped to [1e-4, 1e4])
                fx = track.intrinsics[index].fx
                inverse = np.clip(v * (width / fx), 1e-4, 1e4)
                out.append(_Prediction((1.0 / inverse).astype(np.float32), np.ones_like(v, bool), "metric", edge[k]))
            elif cfg.family == "prompt-depth-anything":
                out.append(_Prediction(v.astype(np.float32), v > 0, "metric" if prompted else "relative", edge[k]))
            else:
                kind = "metric" if self.metric else "inverse"
                out.append(_Prediction(v.astype(np.float32), v > 0, kind, edge[k]))
        return out

    def _prompt(self, index: int, state: _RunState, mvs_map: DepthMap | None) -> np.ndarray | None:
        """Prompt Depth Anything's prompt for a frame: its MVS depth, or its sparse points, or
        (too few) the nearest frame's sparse points; None when the track has no points."""
        frames = state.frames
        if mvs_map is not None and int(mvs_map.valid.sum()) >= self.config.min_points:
            rows, cols = np.nonzero(mvs_map.valid)
            step = max(1, len(rows) // 20000)
            rows, cols = rows[::step], cols[::step]
            return sparse_prompt_depth(cols + 0.5, rows + 0.5, mvs_map.depth[rows, cols], height=frames.height,
                                       width=frames.width)
        source = state.nearest_with_points(index)
        if source is None:
            return None
        if source != index:
            log.info("frame %d sees %d sparse points (< %d): prompted with those of frame %d", index,
                     state.count(index), self.config.min_points, source)
        rows, cols, z = state.points_at(source)
        return sparse_prompt_depth(cols + 0.5, rows + 0.5, z, height=frames.height, width=frames.width)

    # alignment -------------------------------------------------------------------------------

    def _align(self, index: int, prediction: _Prediction, mvs_map: DepthMap | None, state: _RunState) -> DepthMap:
        cfg = self.config
        number = int(state.frames.frame_numbers[index])
        inverse = prediction.kind == "inverse"
        if mvs_map is not None:
            fit = self._fit_to_mvs(prediction, mvs_map)
            if fit is not None:
                depth = apply_fit(prediction.value, prediction.valid, fit, inverse=inverse,
                                  max_depth=_FAR_FACTOR * float(np.percentile(mvs_map.depth[mvs_map.valid], 98)))
                conf = _confidence(depth, prediction.edge, fit)
                fill = ~mvs_map.valid & (depth > 0)
                return DepthMap(
                    depth=np.where(mvs_map.valid, mvs_map.depth, np.where(fill, depth, 0)).astype(np.float32),
                    confidence=np.where(mvs_map.valid, mvs_map.confidence,
                                        np.where(fill, np.minimum(conf, cfg.fill_confidence), 0)).astype(np.float32),
                    frame_number=number,
                )
            log.info("frame %d: too little MVS depth for the monocular depth to fit; aligned to the sparse points, "
                     "MVS depth kept", index)
        fit, source = self._fit_to_points(index, prediction, state)
        if fit is None:
            depth, conf = self._unaligned(prediction)
        else:
            far = state.far_depth(source)
            depth = apply_fit(prediction.value, prediction.valid, fit, inverse=inverse,
                              max_depth=None if far is None else _FAR_FACTOR * far)
            conf = _confidence(depth, prediction.edge, fit) * np.float32(1.0 if source == index else _BORROWED)
        if mvs_map is not None:  # MVS depth wins where it has an answer
            fill = ~mvs_map.valid & (depth > 0)
            depth = np.where(mvs_map.valid, mvs_map.depth, np.where(fill, depth, 0))
            conf = np.where(mvs_map.valid, mvs_map.confidence, np.where(fill, np.minimum(conf, cfg.fill_confidence), 0))
        return DepthMap(depth=depth.astype(np.float32), confidence=np.where(depth > 0, conf, 0).astype(np.float32),
                        frame_number=number)

    def _fit(self, value: np.ndarray, z: np.ndarray, kind: str) -> Fit | None:
        """The fit of network values to depths, or None when it fails (scale ≤ 0)."""
        if kind == "metric":
            fit = fit_scale(value[value > 0], z[value > 0]) if np.count_nonzero(value > 0) >= 1 else None
        else:
            fit = fit_affine(value, z, inverse=kind == "inverse")
        return fit if fit is not None and fit.scale > 0 and np.isfinite(fit.scale) else None

    def _fit_to_mvs(self, prediction: _Prediction, mvs_map: DepthMap) -> Fit | None:
        ok = mvs_map.valid & prediction.valid
        if ok.sum() < self.config.min_points:
            return None
        rows, cols = np.nonzero(ok)
        if len(rows) > _MVS_SAMPLES:
            pick = np.random.default_rng(0).choice(len(rows), _MVS_SAMPLES, replace=False)
            rows, cols = rows[pick], cols[pick]
        return self._fit(prediction.value[rows, cols].astype(np.float64), mvs_map.depth[rows, cols].astype(np.float64),
                         prediction.kind)

    def _fit_to_points(self, index: int, prediction: _Prediction, state: _RunState) -> tuple[Fit | None, int]:
        """This frame's fit to its sparse points, else the nearest frame's (computing it when
        needed), else None (no frame has enough points or a usable fit)."""
        if prediction.kind == "relative":  # an unprompted Prompt Depth Anything: the track has no points
            return None, index
        for source in state.candidates(index):
            if source not in state.fits:
                state.fits[source] = self._fit_frame(source, prediction if source == index else None, state)
            fit = state.fits[source]
            if fit is not None:
                if source != index:
                    seen = state.count(index)
                    why = (f"sees {seen} sparse points (< {self.config.min_points})" if seen < self.config.min_points
                           else "does not fit its own sparse points")
                    log.info("frame %d %s: aligned with the fit of frame %d", index, why, source)
                return fit, source
        return None, index

    def _fit_frame(self, index: int, prediction: _Prediction | None, state: _RunState) -> Fit | None:
        if prediction is None:
            prediction = state.predictions.get(index) or self._predict(state.frames, state.track, [index], state, [None])[0]
        relative = RelativeDepth(prediction.value, prediction.valid, int(state.frames.frame_numbers[index]),
                                 inverse=prediction.kind == "inverse")
        value, z = relative_pairs(relative, intrinsics=state.track.intrinsics[index],
                                  world_from_cam=state.track.world_from_cam[index],
                                  points_in_world=state.track.points.points_in_world)
        if len(z) < self.config.min_points:
            return None
        fit = self._fit(value, z, prediction.kind)
        if fit is None:
            log.warning("frame %d: the network's depth does not fit the sparse points (scale ≤ 0); not aligned with it", index)
        return fit

    def _unaligned(self, prediction: _Prediction) -> tuple[np.ndarray, np.ndarray]:
        """Depth without any point to align to: metric kept, relative mapped nominally."""
        value, valid = prediction.value, prediction.valid
        if prediction.kind == "metric":
            depth = np.where(valid & (value > 0), value, 0).astype(np.float32)
            return depth, np.float32(_UNCONFIRMED_METRIC) * prediction.edge
        if not valid.any():
            return np.zeros_like(value), np.zeros_like(value)
        median = max(float(np.median(value[valid])), 1e-12)
        distance = self.config.nominal_distance
        # the median pixel at the nominal distance: z = D · v / median, or 1 / z = d / (D · median)
        inverse = prediction.kind == "inverse"
        nominal = Fit(scale=1.0 / (distance * median) if inverse else distance / median, shift=0.0, share=1.0, spread=0.0,
                      count=0)
        depth = apply_fit(value, valid, nominal, inverse=inverse, max_depth=_FAR_FACTOR * distance)
        return depth, np.float32(NOMINAL_CONFIDENCE) * prediction.edge


def _edge_term(raw: Any) -> Any:
    """B×1×h×w in (0, 1]: 1 / (1 + (g / _EDGE_REL)²) with g the largest relative difference of
    the network's output to a 4-neighbour, at the network's own resolution."""
    import torch
    import torch.nn.functional as F

    v = raw.clamp_min(1e-6)
    padded = F.pad(v, (1, 1, 1, 1), mode="replicate")
    centre = padded[..., 1:-1, 1:-1]
    diffs = [
        (padded[..., 1:-1, :-2] - centre).abs(), (padded[..., 1:-1, 2:] - centre).abs(),
        (padded[..., :-2, 1:-1] - centre).abs(), (padded[..., 2:, 1:-1] - centre).abs(),
    ]
    g = torch.stack(diffs).amax(0) / centre
    return 1.0 / (1.0 + (g / _EDGE_REL) ** 2)


def _confidence(depth: np.ndarray, edge: np.ndarray, fit: Fit) -> np.ndarray:
    agreement = 1.0 / (1.0 + (fit.spread / _AGREEMENT_REL) ** 2)
    return np.where(depth > 0, np.clip(fit.share * agreement * edge, 0, 1), 0).astype(np.float32)


class _RunState:
    """What one ``estimate`` call learns about the frames: sparse points per frame, fits, and
    predictions kept while a frame waits to be yielded."""

    def __init__(self, frames: Frames, track: CameraTrack, min_points: int) -> None:
        self.frames, self.track, self.min_points = frames, track, min_points
        self.fits: dict[int, Fit | None] = {}
        self.predictions: dict[int, _Prediction] = {}
        self._points: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def points_at(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows, columns and z-depths of the sparse points frame ``index`` sees."""
        if index not in self._points:
            track = self.track
            intr = track.intrinsics[index]
            self._points[index] = _points_at_pixels(intr, track.world_from_cam[index], track.points.points_in_world,
                                                    (intr.height, intr.width))
        return self._points[index]

    def count(self, index: int) -> int:
        return len(self.points_at(index)[2])

    def far_depth(self, index: int) -> float | None:
        z = self.points_at(index)[2]
        return float(np.percentile(z, 98)) if len(z) else None

    def candidates(self, index: int) -> Iterator[int]:
        """Frame indices by distance from ``index`` (itself first) that see enough points."""
        if len(self.track.points) == 0:
            return
        n = len(self.track)
        for step in range(n):
            for j in ((index,) if step == 0 else (index - step, index + step)):
                if 0 <= j < n and self.count(j) >= self.min_points:
                    yield j

    def nearest_with_points(self, index: int) -> int | None:
        return next(self.candidates(index), None)
