"""What ``sceneforge models`` reports: every backend of every stage, whether it can run on this
machine, and where its weights are expected."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from ._backends import REFINERS, STAGES
from ._registry import Registry

__all__ = ["BackendStatus", "backend_statuses", "compute_device"]


@dataclass(frozen=True)
class BackendStatus:
    """One backend as ``sceneforge models`` lists it."""

    stage: str
    """The stage in words ("depth estimator")."""
    key: str
    """The stage's command-line key (``depth``: ``--depth NAME``, ``--depth.OPTION``)."""
    name: str
    """The backend's name."""
    description: str
    """One line on what it does."""
    missing: tuple[str, ...]
    """Optional modules it needs that are not installed (empty: none missing)."""
    weights: str | None
    """Where its model weights are expected (None: it needs none)."""

    @property
    def runs_here(self) -> bool:
        """Every module it imports is installed (weights, when it needs them, are the user's to give)."""
        return not self.missing

    def to_dict(self) -> dict[str, object]:
        return {
            "stage": self.stage, "key": self.key, "name": self.name, "description": self.description,
            "runs_here": self.runs_here, "missing": list(self.missing), "weights": self.weights,
        }


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def backend_statuses(registries: tuple[Registry, ...] = (*STAGES, REFINERS)) -> list[BackendStatus]:
    """Every backend of ``registries`` (default: all of them), in pipeline order, checked for its
    optional modules (found without importing them)."""
    rows = []
    for registry in registries:
        for name, description in registry.describe().items():
            needs, weights = registry.requirements(name)
            missing = tuple(m for m in needs if not _installed(m))
            rows.append(BackendStatus(registry.stage, registry.key, name, description, missing, weights))
    return rows


def compute_device() -> str:
    """The device neural backends pick with ``device auto``, in words."""
    import torch

    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        half = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return f"CUDA ({name}); neural backends run in {half}"
    return "CPU (no CUDA device); neural backends run in fp32, slowly"
