"""Orchestration: the pipeline as stage functions over the stage cache, the backend registry, the CLI.

- ``engine.pipeline``: the reconstruct job (stage functions over a resumable stage cache), render and export jobs;
- ``engine.registry``: every stage backend by name, config dataclass → backend, CLI options from the configs;
- ``engine.cache``: the run folder's stage cache and per-frame depth store;
- ``engine.cli``: the ``sceneforge`` command line, progress bars and summaries.
"""

from .pipeline import ReconstructConfig, ReconstructResult, reconstruct
from .registry import SOLVERS, Registry

__all__ = ["SOLVERS", "ReconstructConfig", "ReconstructResult", "Registry", "reconstruct"]
