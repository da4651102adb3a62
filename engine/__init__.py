"""Orchestration: the reconstruct pipeline and its stage cache, backend registry, CLI, progress."""

from ._pipeline import ReconstructConfig, ReconstructResult, reconstruct
from ._registry import SOLVERS, Registry

__all__ = ["SOLVERS", "ReconstructConfig", "ReconstructResult", "Registry", "reconstruct"]
