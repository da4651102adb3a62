"""The diffusion refiner: a diffusers inpainting pipeline repaints the edited regions.

Only the pixels a frame marks ``changed`` are repainted, and they are blended back with a
soft edge; every other pixel is returned bit-identical to the composite.

Supported pipelines (the class is read from the folder's ``model_index.json``):

- ``StableDiffusionInpaintPipeline`` (an SD 1.5 / 2.x inpainting checkpoint), one frame at a
  time: the changed region's bounding box plus some context is cropped, squared up, resized
  to ``resolution``, repainted with ``strength``, resized back and feathered in.
- ``StableDiffusionControlNetInpaintPipeline`` with a depth ControlNet: the same, and the
  edited scene's rendered depth (normalised inverse depth, as depth ControlNets are trained
  on) keeps the repainted region on the geometry of the edit.
- ``WanVACEPipeline`` (Wan 2.1 VACE), ``video_frames`` frames at a time: whole frames at
  ``resolution`` on the long side, the changed masks as the VACE mask, so the repaint is
  consistent over time. It has no ``strength``: masked regions are regenerated, conditioned
  on what the composite shows there.

A pipeline combining an inpainting model and a separate ControlNet is made once with
``StableDiffusionControlNetInpaintPipeline.from_pretrained(inpaint_repo,
controlnet=ControlNetModel.from_pretrained(depth_repo)).save_pretrained(folder)``.

Real quality needs real weights (e.g. an SD 1.5/2.x inpainting checkpoint with a depth
ControlNet, or Wan 2.1 VACE) and a GPU; on the CPU it runs, but slowly (minutes a frame at
512 px). Weights are read from a local folder or the user's Hugging Face cache, only as
safetensors, never with remote code, and never downloaded unless ``allow_download`` is set.
"""

from __future__ import annotations

import gc
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sceneforge.scenegraph import DependencyError, InputError

from ._protocol import RefineFrame, keep_untouched

__all__ = ["DiffusionRefiner", "DiffusionRefinerConfig", "SUPPORTED_PIPELINES"]

log = logging.getLogger(__name__)

_SD_INPAINT = "StableDiffusionInpaintPipeline"
_SD_CONTROLNET_INPAINT = "StableDiffusionControlNetInpaintPipeline"
_WAN_VACE = "WanVACEPipeline"
SUPPORTED_PIPELINES = (_SD_INPAINT, _SD_CONTROLNET_INPAINT, _WAN_VACE)
"""The diffusers pipeline classes the diffusion refiner can drive."""

_INSTALL_HINT = "pip install 'sceneforge[diffusion]'"
# Context around the changed region's bounding box, as a share of its long side (at least
# _MIN_CONTEXT_PX): the model must see the surroundings to make the repaint match them.
_CONTEXT = 0.25
_MIN_CONTEXT_PX = 16
# The model repaints slightly more than `changed`, so the pixels kept from it are never on the
# edge of its own mask, where inpainting models leave seams.
_MASK_GROW_PX = 3
# Depth of the ramp inside `changed` over which the repaint fades in from the composite.
_FEATHER_PX = 4.0


@dataclass(frozen=True)
class DiffusionRefinerConfig:
    """Repaint the edited regions with a diffusion model (SD inpainting ± depth ControlNet, Wan VACE)."""

    model: str | None = None
    """The pipeline: a local folder saved with diffusers' ``save_pretrained``, or a Hugging Face
    repo id already in the model cache (required)."""
    prompt: str = ""
    """Text prompt describing the shot (empty: unconditioned)."""
    negative_prompt: str = ""
    """What the repaint should avoid (empty: nothing)."""
    strength: float = 0.5
    """How much of the composite is repainted, in (0, 1]: low keeps its content and fixes the look,
    1 repaints from noise (image pipelines only; Wan VACE always regenerates the masked regions)."""
    steps: int = 20
    """Denoising steps (at full strength; image pipelines run ``strength`` × steps)."""
    guidance: float = 5.0
    """Classifier-free guidance scale (≤ 1 turns guidance off and halves the work)."""
    seed: int = 0
    """Seed of the noise (image pipelines: seed + frame number; video: seed + first frame number)."""
    controlnet_scale: float = 1.0
    """Weight of the depth ControlNet (SD) or of the VACE context (Wan)."""
    resolution: int = 512
    """Side of the crop the image model sees (its long side), or the long side of whole frames for
    video models; a multiple of 8 (video models round down to their own multiple, 16 for Wan)."""
    video_frames: int = 17
    """Frames per window for video pipelines; must be 4k+1 (the last window is padded)."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    """Where the model runs; auto = CUDA when available (fp16/bf16), else the CPU (fp32, slow)."""
    allow_download: bool = False
    """Let a Hugging Face repo id be downloaded when it is not in the cache (off: never any network)."""

    def __post_init__(self) -> None:
        if not 0.0 < self.strength <= 1.0:
            raise InputError(f"strength must be in (0, 1], got {self.strength}")
        if self.steps < 1:
            raise InputError(f"steps must be ≥ 1, got {self.steps}")
        if self.guidance < 0 or self.controlnet_scale < 0:
            raise InputError(
                f"guidance and controlnet_scale must be ≥ 0, got {self.guidance} and {self.controlnet_scale}"
            )
        if self.resolution < 32 or self.resolution % 8:
            raise InputError(f"resolution must be a multiple of 8 and ≥ 32, got {self.resolution}; try 512")
        if self.video_frames < 1 or (self.video_frames - 1) % 4:
            raise InputError(f"video_frames must be 4k+1 (1, 5, 9, 13, 17, ...), got {self.video_frames}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise InputError(f"device must be auto, cpu or cuda, got {self.device!r}")

    def build(self) -> DiffusionRefiner:
        """The backend this configuration describes (loads the model).

        Raises:
            InputError: no model given, not found, or not a supported pipeline.
            DependencyError: diffusers / transformers are not installed.
        """
        return DiffusionRefiner(self)


class DiffusionRefiner:
    """Repaints each frame's ``changed`` pixels with a diffusers pipeline (see the module docstring).

    The model is loaded when the refiner is built; ``close`` releases it.
    """

    name = "diffusion"

    def __init__(self, config: DiffusionRefinerConfig = DiffusionRefinerConfig()) -> None:
        self.config = config
        self._torch = _import_backend()
        self.device = _pick_device(self._torch, config.device)
        self.pipeline_class, self._pipe = _load_pipeline(self._torch, config, self.device)
        self._video = self.pipeline_class == _WAN_VACE
        self.window = config.video_frames if self._video else 1
        if not self._video and int(config.steps * config.strength) < 1:
            self.close()
            raise InputError(
                f"image pipelines run steps × strength denoising steps, got {config.steps} × {config.strength} < 1; "
                "raise steps or strength"
            )
        log.info("diffusion refiner: %s from %s on %s", self.pipeline_class, config.model, self.device)

    def refine(self, frames: Sequence[RefineFrame]) -> list[np.ndarray]:
        """One H×W×3 float32 image in [0, 1] per frame; pixels outside ``changed`` are the composite's."""
        if self._pipe is None:
            raise InputError("this diffusion refiner was closed; build a new one")
        if not frames:
            return []
        if self._video:
            out: list[np.ndarray] = []
            for start in range(0, len(frames), self.window):
                out.extend(self._refine_video(frames[start : start + self.window]))
            return out
        return [self._refine_image(frame) for frame in frames]

    def close(self) -> None:
        """Release the pipeline (and the GPU memory it held)."""
        if self._pipe is None:
            return
        self._pipe = None
        gc.collect()
        if self.device == "cuda":
            self._torch.cuda.empty_cache()

    # -- image pipelines ------------------------------------------------------------------------

    def _refine_image(self, frame: RefineFrame) -> np.ndarray:
        from PIL import Image

        if not frame.changed.any():
            log.debug("frame %d: nothing changed, kept", frame.frame_number)
            return frame.rgb.copy()
        cfg = self.config
        started = time.perf_counter()
        y0, y1, x0, x1 = _crop_box(frame.changed)
        crop_h, crop_w = y1 - y0, x1 - x0
        model_h, model_w = _model_size(crop_h, crop_w, cfg.resolution, multiple=8, grow=True)
        rgb = frame.rgb[y0:y1, x0:x1]
        mask = _grow(frame.changed)[y0:y1, x0:x1]
        kwargs: dict[str, Any] = {
            "prompt": cfg.prompt,
            "negative_prompt": cfg.negative_prompt or None,
            "image": Image.fromarray(_to_uint8(_resize(rgb, model_h, model_w))),
            "mask_image": Image.fromarray(_resize_mask(mask, model_h, model_w)),
            "height": model_h,
            "width": model_w,
            "strength": cfg.strength,
            "num_inference_steps": cfg.steps,
            "guidance_scale": cfg.guidance,
            "generator": self._generator(cfg.seed + frame.frame_number),
            "output_type": "np",
        }
        if self.pipeline_class == _SD_CONTROLNET_INPAINT:
            control = _inverse_depth(frame.depth[y0:y1, x0:x1])
            control = np.repeat(_resize(control, model_h, model_w)[..., None], 3, axis=2)
            kwargs["control_image"] = Image.fromarray(_to_uint8(control))
            kwargs["controlnet_conditioning_scale"] = cfg.controlnet_scale
        images = self._pipe(**kwargs).images
        repainted = _resize(np.asarray(images[0], dtype=np.float32), crop_h, crop_w)
        out = frame.rgb.copy()
        alpha = _feather(frame.changed)[y0:y1, x0:x1, None]
        out[y0:y1, x0:x1] = alpha * repainted + (1.0 - alpha) * rgb
        log.info(
            "frame %d: repainted a %d×%d crop at %d×%d in %.1f s",
            frame.frame_number, crop_w, crop_h, model_w, model_h, time.perf_counter() - started,
        )
        return keep_untouched(frame, out)

    # -- video pipelines ------------------------------------------------------------------------

    def _refine_video(self, frames: Sequence[RefineFrame]) -> list[np.ndarray]:
        from PIL import Image

        if not any(frame.changed.any() for frame in frames):
            log.debug("frames %d–%d: nothing changed, kept", frames[0].frame_number, frames[-1].frame_number)
            return [frame.rgb.copy() for frame in frames]
        cfg = self.config
        started = time.perf_counter()
        height, width = frames[0].height, frames[0].width
        if any((f.height, f.width) != (height, width) for f in frames):
            raise InputError(f"frames of one window must share one size, the first is {width}×{height}")
        pipe = self._pipe
        transformer = pipe.transformer if pipe.transformer is not None else pipe.transformer_2
        base = int(pipe.vae_scale_factor_spatial * transformer.config.patch_size[1])
        temporal = int(pipe.vae_scale_factor_temporal)
        model_h, model_w = _model_size(height, width, cfg.resolution, multiple=base, grow=False)
        count = len(frames)
        padded = ((count - 1 + temporal - 1) // temporal) * temporal + 1  # the next k·temporal + 1
        order = list(range(count)) + [count - 1] * (padded - count)
        video = [Image.fromarray(_to_uint8(_resize(frames[i].rgb, model_h, model_w))) for i in order]
        masks = [Image.fromarray(_resize_mask(_grow(frames[i].changed), model_h, model_w)) for i in order]
        result = pipe(
            prompt=cfg.prompt,
            negative_prompt=cfg.negative_prompt or None,
            video=video,
            mask=masks,
            conditioning_scale=cfg.controlnet_scale,
            height=model_h,
            width=model_w,
            num_frames=padded,
            num_inference_steps=cfg.steps,
            guidance_scale=cfg.guidance,
            generator=self._generator(cfg.seed + frames[0].frame_number),
            output_type="np",
        ).frames
        repainted = np.asarray(result[0], dtype=np.float32)[:count]
        out = []
        for frame, image in zip(frames, repainted):
            if not frame.changed.any():
                out.append(frame.rgb.copy())
                continue
            alpha = _feather(frame.changed)[..., None]
            blended = alpha * _resize(image, height, width) + (1.0 - alpha) * frame.rgb
            out.append(keep_untouched(frame, blended))
        log.info(
            "frames %d–%d: repainted at %d×%d (%d frames with padding) in %.1f s",
            frames[0].frame_number, frames[-1].frame_number, model_w, model_h, padded, time.perf_counter() - started,
        )
        return out

    def _generator(self, seed: int):
        return self._torch.Generator(self.device).manual_seed(int(seed))


# -- loading ------------------------------------------------------------------------------------


def _import_backend():
    """torch, after checking that diffusers, transformers and accelerate import."""
    try:
        # accelerate: diffusers can only load models that keep modules in float32 (Wan) through it
        import accelerate  # noqa: F401
        import diffusers  # noqa: F401
        import torch
        import transformers  # noqa: F401
    except ImportError as error:
        raise DependencyError(
            f"the diffusion refiner needs diffusers, transformers and accelerate ({error.name} is missing); "
            f"{_INSTALL_HINT}"
        ) from error
    return torch


def _pick_device(torch, device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("refiner device is cuda, but torch sees no CUDA device; pass --refiner.device cpu or auto")
    return device


def _model_index(config: DiffusionRefinerConfig) -> tuple[str, dict]:
    """Where from_pretrained should load from (a folder or a repo id) and its model_index.json."""
    model = config.model
    if model is None or not str(model).strip():
        raise InputError(
            "the diffusion refiner needs a model: pass --refiner-model with a diffusers pipeline folder "
            "(save_pretrained) or a Hugging Face repo id in your model cache"
        )
    model = str(model)
    folder = Path(model).expanduser()
    if folder.is_dir():
        index = folder / "model_index.json"
        if not index.is_file():
            raise InputError(
                f"{model} has no model_index.json, so it is not a diffusers pipeline folder; "
                "save one with the pipeline's save_pretrained(folder)"
            )
        return str(folder), _read_index(index, model)
    if folder.exists():
        raise InputError(f"the refiner model must be a diffusers pipeline folder or a repo id, got the file {model}")
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    try:
        index = hf_hub_download(model, "model_index.json", local_files_only=not config.allow_download)
    except (OSError, ValueError, EntryNotFoundError) as error:
        if config.allow_download:
            raise InputError(
                f"the refiner model {model!r} is not a folder, and Hugging Face could not provide it "
                f"({type(error).__name__}); check the path or repo id and your connection"
            ) from error
        raise InputError(
            f"the refiner model {model!r} is neither a folder nor a Hugging Face repo id in your model cache; "
            "check the path, download it first (hf download REPO), or allow downloading (--refiner.allow-download)"
        ) from error
    return model, _read_index(Path(index), model)


def _read_index(path: Path, model: str) -> dict:
    try:
        index = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read the model_index.json of {model}: {error}") from error
    if not isinstance(index, dict):
        raise InputError(f"the model_index.json of {model} must hold a JSON object, got {type(index).__name__}")
    return index


def _has_component(index: dict, name: str) -> bool:
    entry = index.get(name)
    return isinstance(entry, list) and len(entry) == 2 and all(part is not None for part in entry)


def _load_pipeline(torch, config: DiffusionRefinerConfig, device: str) -> tuple[str, Any]:
    import diffusers

    source, index = _model_index(config)
    class_name = index.get("_class_name")
    if class_name not in SUPPORTED_PIPELINES:
        raise InputError(
            f"the refiner model {config.model} is a {class_name or 'pipeline without _class_name'}; "
            f"the diffusion refiner supports {', '.join(SUPPORTED_PIPELINES)}"
        )
    kwargs: dict[str, Any] = {"local_files_only": not config.allow_download, "use_safetensors": True}
    if device == "cuda":
        half = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        # Wan's 3-D VAE is run in float32, as its authors do: it loses detail in half precision.
        kwargs["dtype"] = {"default": half, "vae": torch.float32} if class_name == _WAN_VACE else half
    else:
        kwargs["dtype"] = torch.float32
    if class_name != _WAN_VACE and not _has_component(index, "safety_checker"):
        kwargs.update(safety_checker=None, requires_safety_checker=False)
    if class_name == _SD_CONTROLNET_INPAINT and not _has_component(index, "controlnet"):
        raise InputError(f"the {class_name} in {config.model} has no controlnet; save it with its depth ControlNet")
    started = time.perf_counter()
    try:
        pipe = getattr(diffusers, class_name).from_pretrained(source, **kwargs)
    except (OSError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0].rstrip(".") if str(error).strip() else type(error).__name__
        raise InputError(
            f"cannot load the {class_name} from {config.model}: {first_line}; "
            "it must be complete, in safetensors, and (without allow_download) in the folder or cache"
        ) from error
    pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    log.debug("loaded %s in %.1f s", class_name, time.perf_counter() - started)
    return class_name, pipe


# -- image helpers (numpy / OpenCV) ---------------------------------------------------------------


def _crop_box(changed: np.ndarray) -> tuple[int, int, int, int]:
    """``(y0, y1, x0, x1)``: a square around the changed pixels plus context, clipped to the frame."""
    height, width = changed.shape
    rows = np.flatnonzero(changed.any(axis=1))
    cols = np.flatnonzero(changed.any(axis=0))
    top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    side = max(bottom - top, right - left)
    side += 2 * max(_MIN_CONTEXT_PX, round(_CONTEXT * side))
    crop_h, crop_w = min(side, height), min(side, width)
    y0 = int(np.clip(round((top + bottom - crop_h) / 2), 0, height - crop_h))
    x0 = int(np.clip(round((left + right - crop_w) / 2), 0, width - crop_w))
    return y0, y0 + crop_h, x0, x0 + crop_w


def _model_size(height: int, width: int, resolution: int, *, multiple: int, grow: bool) -> tuple[int, int]:
    """``(height, width)`` with the long side at ``resolution`` (never above it), both multiples of
    ``multiple``; without ``grow`` an image already smaller than that is only rounded down."""
    scale = resolution / max(height, width)
    if not grow:
        scale = min(scale, 1.0)
    model_h = max(multiple, int(height * scale + 1e-6) // multiple * multiple)
    model_w = max(multiple, int(width * scale + 1e-6) // multiple * multiple)
    return model_h, model_w


def _resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """float32 resize (area when shrinking, cubic when growing), clipped to [0, 1]."""
    import cv2

    if image.shape[:2] == (height, width):
        return image.astype(np.float32, copy=True)
    shrinking = height * width < image.shape[0] * image.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    out = cv2.resize(image.astype(np.float32), (width, height), interpolation=interpolation)
    return np.clip(out, 0.0, 1.0)


def _resize_mask(mask: np.ndarray, height: int, width: int) -> np.ndarray:
    """uint8 0/255 mask (white = repaint) at the model's size."""
    import cv2

    return cv2.resize(mask.astype(np.uint8) * 255, (width, height), interpolation=cv2.INTER_NEAREST)


def _grow(mask: np.ndarray) -> np.ndarray:
    import cv2

    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * _MASK_GROW_PX + 1, 2 * _MASK_GROW_PX + 1))
    return cv2.dilate(mask.astype(np.uint8), kernel) > 0


def _feather(changed: np.ndarray) -> np.ndarray:
    """H×W float32 blend weight of the repaint: 0 outside ``changed``, ramping to 1 inside it."""
    import cv2

    inside = cv2.distanceTransform(changed.astype(np.uint8), cv2.DIST_L2, 3)
    return np.clip(inside / _FEATHER_PX, 0.0, 1.0).astype(np.float32)


def _inverse_depth(depth: np.ndarray) -> np.ndarray:
    """H×W float32 in [0, 1]: inverse z-depth normalised over the valid pixels (near = 1, none = 0)."""
    valid = depth > 0
    out = np.zeros(depth.shape, np.float32)
    if not valid.any():
        return out
    inverse = 1.0 / depth[valid].astype(np.float64)
    low, high = inverse.min(), inverse.max()
    out[valid] = 1.0 if high - low < 1e-12 else (inverse - low) / (high - low)
    return out


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
