"""What every neural backend of the reconstruction shares: finding the user's weights, loading
them safely, choosing the device and precision, sizing batches to the memory there is, and
turning an out-of-memory failure into one clear line.

The rules (DESIGN.md): weights come from a local path or the user's Hugging Face cache and
are fetched only when the user allows it (``allow_download``); ``trust_remote_code`` is never
set; safetensors are preferred and torch checkpoints are read with ``weights_only=True``.
Heavy imports (torch's CUDA state, transformers, huggingface_hub) happen inside these
functions, never at import time.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sceneforge.scenegraph import DependencyError, InputError, SceneForgeError

__all__ = [
    "NEURAL_HINT",
    "Device",
    "Precision",
    "OutOfMemory",
    "require",
    "check_choice",
    "pick_device",
    "pick_dtype",
    "resolve_model",
    "load_pretrained",
    "load_state_dict",
    "batch_size",
    "available_memory",
    "memory_guard",
]

log = logging.getLogger(__name__)

NEURAL_HINT = "pip install 'sceneforge[neural]'"
"""How a user gets the optional stack the transformers backends need."""

Device = Literal["auto", "cpu", "cuda"]
Precision = Literal["auto", "fp32", "fp16", "bf16"]

DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")


class OutOfMemory(SceneForgeError):
    """A model or batch did not fit in the device's memory."""

    exit_code = 5


def require(*modules: str, what: str, hint: str = NEURAL_HINT) -> None:
    """Import each of ``modules`` or raise one :class:`DependencyError` naming the missing one."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise DependencyError(f"{what} needs {name} ({error.name or name} is missing); {hint}") from error


def check_choice(value: str, allowed: Sequence[str], what: str) -> None:
    """One line when an option is not one of ``allowed``."""
    if value not in allowed:
        raise InputError(f"{what} must be one of {', '.join(allowed)}, got {value!r}")


def pick_device(device: str) -> str:
    """``cuda`` when asked for or (``auto``) when torch sees a CUDA device, else ``cpu``."""
    import torch

    check_choice(device, DEVICES, "device")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("device is cuda, but torch sees no CUDA device; pass device cpu or auto")
    return device


def pick_dtype(device: str, precision: str = "auto") -> Any:
    """The torch dtype to run in: ``auto`` is bf16 on a CUDA device that supports it, fp16 on
    other CUDA devices and fp32 on the CPU (half precision there is slow and loses accuracy)."""
    import torch

    check_choice(precision, PRECISIONS, "precision")
    if precision == "auto":
        if device != "cuda":
            return torch.float32
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]


@dataclass(frozen=True)
class ModelSource:
    """Where weights load from: a local folder, or a repo id resolved in the Hugging Face cache."""

    location: str
    """What ``from_pretrained`` takes (a folder path or a repo id)."""
    local: bool
    """True for a folder on disk."""


def resolve_model(
    model: str | os.PathLike[str] | None,
    *,
    what: str,
    flag: str,
    allow_download: bool = False,
    marker: str = "config.json",
    example: str | None = None,
) -> ModelSource:
    """Find a model's weights: a local folder holding ``marker``, or a Hugging Face repo id
    already in the user's cache (downloaded only with ``allow_download``).

    Args:
        model: the folder or repo id the user gave.
        what: the backend in words, for messages ("the depth-anything depth backend").
        flag: the option that names the model (``--depth.model``).
        allow_download: let a repo id missing from the cache be fetched.
        marker: the file a model folder must hold.
        example: a repo id to suggest in messages.

    Raises:
        InputError: no model given, a folder without ``marker``, or a repo id that is not in
            the cache (one line saying how to get it).
    """
    suggestion = f", e.g. {example}" if example else ""
    if model is None or not str(model).strip():
        raise InputError(
            f"{what} needs model weights: pass {flag} with a folder saved by save_pretrained or a "
            f"Hugging Face repo id in your model cache{suggestion} (see `sceneforge models`)"
        )
    text = str(model)
    folder = Path(text).expanduser()
    if folder.is_dir():
        if not (folder / marker).is_file():
            raise InputError(f"{text} has no {marker}, so it is not a model folder for {what}; save one with save_pretrained")
        return ModelSource(str(folder), True)
    if folder.exists() or text.startswith((".", "/", "~")) or text.count("/") > 1:
        raise InputError(f"{what}: {text} is not a model folder; pass a folder saved by save_pretrained or a repo id")
    from huggingface_hub import hf_hub_download

    try:
        hf_hub_download(text, marker, local_files_only=not allow_download)
    except Exception as error:  # huggingface_hub raises several unrelated types for "not available"
        if allow_download:
            raise InputError(
                f"{what}: {text!r} is not a folder, and Hugging Face could not provide it ({type(error).__name__}); "
                "check the repo id and your connection"
            ) from error
        raise InputError(
            f"{what}: {text!r} is neither a folder nor a repo id in your Hugging Face cache; download it first "
            f"(hf download {text}) or let {flag.split('.')[0]}.allow-download true fetch it"
        ) from error
    return ModelSource(text, False)


def load_pretrained(cls: Any, source: ModelSource, *, device: str, dtype: Any, allow_download: bool = False, what: str) -> Any:
    """``cls.from_pretrained`` under the project's rules, moved to ``device``, in eval mode.

    safetensors are taken when the folder has them (transformers prefers them); a torch
    ``.bin`` is read by transformers with ``weights_only=True``; remote code is never run.

    Raises:
        InputError: the weights do not load into ``cls`` (one line with the first line of the cause).
        OutOfMemory: the model does not fit on ``device``.
    """
    from transformers.utils import logging as hf_logging

    kwargs: dict[str, Any] = {"trust_remote_code": False, "dtype": dtype}
    if not allow_download:
        kwargs["local_files_only"] = True
    hf_logging.disable_progress_bar()  # the CLI draws its own bars; the library never prints
    with memory_guard(what, device):
        try:
            model = cls.from_pretrained(source.location, **kwargs)
        except (OSError, ValueError, KeyError, TypeError) as error:
            first = str(error).strip().splitlines()[0].rstrip(".") if str(error).strip() else type(error).__name__
            raise InputError(f"{what}: cannot load {cls.__name__} from {source.location}: {first}") from error
        model = model.to(device)
    model.eval()
    return model


def load_state_dict(path: str | os.PathLike[str], *, what: str) -> dict[str, Any]:
    """A checkpoint's tensors: safetensors directly, a torch file only with ``weights_only=True``
    (no pickled code runs); a checkpoint that wraps them in ``{"model": ...}`` is unwrapped."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"{what}: checkpoint {path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(path)))
    import torch

    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as error:  # unpickling refuses anything but tensors and plain containers
        raise InputError(
            f"{what}: {path} does not load as a plain weights file ({type(error).__name__}); "
            "only safetensors or torch checkpoints of tensors are read (weights_only)"
        ) from error
    if isinstance(state, dict) and isinstance(state.get("model"), dict):
        state = state["model"]
    if not isinstance(state, dict):
        raise InputError(f"{what}: {path} holds a {type(state).__name__}, not a state dict of tensors")
    return state


def available_memory(device: str) -> int:
    """Bytes free for new work on ``device``: CUDA's free memory, or the system's available RAM."""
    if device == "cuda":
        import torch

        free, _total = torch.cuda.mem_get_info()
        return int(free)
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 << 30


def batch_size(bytes_per_item: float, device: str, *, limit: int, share: float = 0.5) -> int:
    """How many items to run at once: as many as fit in ``share`` of the free memory, 1..``limit``."""
    if bytes_per_item <= 0:
        return max(1, limit)
    fits = int(share * available_memory(device) // bytes_per_item)
    return max(1, min(limit, fits))


@contextlib.contextmanager
def memory_guard(what: str, device: str) -> Iterator[None]:
    """Turn torch's out-of-memory errors inside the block into :class:`OutOfMemory` with advice."""
    import torch

    try:
        yield
    except torch.OutOfMemoryError as error:
        if device == "cuda":
            torch.cuda.empty_cache()
        raise OutOfMemory(
            f"{what} ran out of {'GPU' if device == 'cuda' else 'system'} memory; lower its resolution or "
            "chunk/batch size, use half precision (precision fp16/bf16), or run on a larger device"
        ) from error
    except RuntimeError as error:
        if "out of memory" not in str(error).lower():
            raise
        raise OutOfMemory(
            f"{what} ran out of memory; lower its resolution or chunk/batch size, or run on a larger device"
        ) from error
