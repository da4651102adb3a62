"""Tiny, randomly initialised monocular depth models of the real architectures (Depth Anything,
Depth Pro, Prompt Depth Anything), saved with ``save_pretrained`` so that tests load them by
path exactly as a user's downloaded weights are loaded.

They predict nothing meaningful; they exercise the loading, preprocessing, shapes, units and
alignment of the transformers depth backends in a fraction of a second per frame on a CPU.

Usage::

    folder = save_tiny_depth_model(tmp_path / "da", "depth-anything")
    MonoDepthConfig(family="depth-anything", model=str(folder), resolution=TINY_RESOLUTION["depth-anything"])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["FAMILIES", "TINY_RESOLUTION", "tiny_depth_config", "save_tiny_depth_model"]

FAMILIES = ("depth-anything", "depth-pro", "prompt-depth-anything")
"""The monocular depth families of :class:`~sceneforge.reconstruct.depth.MonoDepthConfig`."""

TINY_RESOLUTION = {"depth-anything": 56, "depth-pro": 64, "prompt-depth-anything": 56}
"""A model input size each tiny model runs at quickly (Depth Pro's is its native one:
patch size 16 / smallest image ratio 0.25)."""


def _dinov2(**changes: Any) -> dict[str, Any]:
    # a wider initialisation than the default 0.02, so that the random output varies over the image
    tiny = dict(model_type="dinov2", hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64,
                patch_size=14, image_size=56, initializer_range=0.2)
    return {**tiny, **changes}


def tiny_depth_config(family: str, *, metric: bool = False) -> Any:
    """The transformers config of a tiny model of ``family`` (one of :data:`FAMILIES`).

    ``metric`` makes a Depth Anything model a metric one (``depth_estimation_type="metric"``,
    ``max_depth=20``, as the indoor metric checkpoints).
    """
    import transformers

    if family in ("depth-anything", "prompt-depth-anything"):
        cls = transformers.DepthAnythingConfig if family == "depth-anything" else transformers.PromptDepthAnythingConfig
        extra = dict(depth_estimation_type="metric", max_depth=20) if metric else {}
        return cls(
            backbone_config=_dinov2(out_features=["stage1", "stage2", "stage3", "stage4"], reshape_hidden_states=False),
            reassemble_hidden_size=32, neck_hidden_sizes=[8, 16, 32, 64], fusion_hidden_size=16, head_hidden_size=8,
            patch_size=14, initializer_range=0.2, **extra,
        )
    if family == "depth-pro":
        dino = _dinov2(hidden_size=16, num_hidden_layers=2, intermediate_size=32, patch_size=4, image_size=16,
                       initializer_range=0.02)
        return transformers.DepthProConfig(
            patch_size=16, fusion_hidden_size=16, intermediate_hook_ids=[1, 0], intermediate_feature_dims=[8, 8],
            scaled_images_ratios=[0.25, 0.5, 1.0], scaled_images_overlap_ratios=[0.0, 0.5, 0.25],
            scaled_images_feature_dims=[8, 8, 8], image_model_config=dict(dino), patch_model_config=dict(dino),
            fov_model_config=dict(dino), use_fov_model=False, num_fov_head_layers=1,
        )
    raise ValueError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")


def save_tiny_depth_model(folder: str | Path, family: str, *, metric: bool = False, seed: int = 0) -> Path:
    """Build a tiny random model of ``family`` and ``save_pretrained`` it (safetensors) into ``folder``.

    The last layer is damped and given a positive bias, so that the output is positive and
    varies mildly over the image (a freshly initialised ReLU head otherwise predicts zeros on
    much of it, or values over many orders of magnitude).

    Returns:
        ``folder`` as a Path (it holds ``config.json`` and ``model.safetensors``).
    """
    import torch
    import transformers

    config = tiny_depth_config(family, metric=metric)
    torch.manual_seed(seed)
    cls = {
        "depth-anything": transformers.DepthAnythingForDepthEstimation,
        "depth-pro": transformers.DepthProForDepthEstimation,
        "prompt-depth-anything": transformers.PromptDepthAnythingForDepthEstimation,
    }[family]
    model = cls(config).eval()
    with torch.no_grad():
        last = model.head.layers[-2] if family == "depth-pro" else model.head.conv3
        last.weight.mul_(0.01)
        last.bias.fill_(1.0)
    folder = Path(folder)
    model.save_pretrained(folder)
    return folder
