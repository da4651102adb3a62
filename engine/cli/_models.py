"""``sceneforge models``: every backend, whether it can run here, and where its weights are expected."""

from __future__ import annotations

import argparse
import json
import os
import textwrap
from typing import Any

from ..pipeline import ReconstructConfig, RenderConfig
from ..registry import backend_statuses, compute_device

__all__ = ["add_models_parser", "cmd_models"]


def add_models_parser(sub: Any) -> None:
    models = sub.add_parser(
        "models", help="list every backend, whether it can run here and where its weights go",
        description="List every backend of every stage (camera solver, depth, segmentation, tracking, "
                    "proposals, refiner): what it does, whether its Python dependencies are installed on "
                    "this machine, and where its model weights are expected. SceneForge never downloads "
                    "weights unless you ask (an allow-download option); backends without weights need nothing.",
    )
    models.add_argument("--json", action="store_true", help="print machine-readable JSON")


def _defaults() -> dict[str, str]:
    """Stage key → the default backend's name."""
    reconstruct = ReconstructConfig.__dataclass_fields__
    return {
        key: reconstruct[key].default
        for key in ("solver", "depth", "fusion", "texture", "segmenter", "tracker", "proposer")
    } | {"refiner": RenderConfig.__dataclass_fields__["refiner"].default}


def _hf_cache() -> str:
    try:
        from huggingface_hub import constants
    except ImportError:
        return "(huggingface_hub is not installed)"
    return str(constants.HF_HUB_CACHE)


def cmd_models(args: argparse.Namespace) -> int:
    rows = backend_statuses()
    defaults = _defaults()
    device = compute_device()
    if args.json:
        print(json.dumps({
            "device": device, "huggingface_cache": _hf_cache(),
            "backends": [row.to_dict() | {"default": defaults.get(row.key) == row.name} for row in rows],
        }, indent=2))
        return 0
    print(f"device: {device}")
    print(f"Hugging Face model cache: {_hf_cache()} (repo ids are looked up there, offline)")
    width = max(len(f"--{row.key} {row.name}") for row in rows) + 2
    wrap = max(40, min(100, os.get_terminal_size(0).columns if os.isatty(0) else 100) - width - 2)
    stage = None
    for row in rows:
        if row.stage != stage:
            stage = row.stage
            print(f"\n{stage}:")
        flag = f"--{row.key} {row.name}"
        # the default's description says so itself, with the reason
        description = row.description.removesuffix(" (default)")
        default = " (default)" if defaults.get(row.key) == row.name else ""
        if row.missing:
            state = f"cannot run here: {', '.join(row.missing)} not installed"
        elif row.weights is None or row.weights.startswith("bundled"):
            state = "runs here"
        else:
            state = "runs here with your weights"
        lines = [f"{state}{default}. {description}"]
        if row.weights:
            lines.append(f"weights: {row.weights}")
        for i, line in enumerate(lines):
            for j, part in enumerate(textwrap.wrap(line, wrap)):
                lead = flag if i == 0 and j == 0 else ""
                print(f"  {lead:<{width}}{part}")
    return 0
