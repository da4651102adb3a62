"""Backends chosen by name: one registry per stage, each entry a config factory."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import Any

from sceneforge.scenegraph import InputError

__all__ = ["Registry", "SOLVERS", "DEPTH"]


class Registry:
    """Names to config factories for one stage; ``build(name, **options)`` makes the backend."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self._factories: dict[str, tuple[Callable[..., Any], str]] = {}

    def register(self, name: str, factory: Callable[..., Any], description: str) -> None:
        """Add a backend: ``factory(**options)`` returns a config with a ``build()`` method."""
        self._factories[name] = (factory, description)

    def names(self) -> list[str]:
        return sorted(self._factories)

    def describe(self) -> dict[str, str]:
        return {name: self._factories[name][1] for name in self.names()}

    def config(self, name: str, **options: Any) -> Any:
        """The config of backend ``name`` with ``options`` applied."""
        if name not in self._factories:
            close = difflib.get_close_matches(name, self.names(), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"choose one of {', '.join(self.names())}"
            raise InputError(f"unknown {self.stage} backend {name!r}; {hint}")
        return self._factories[name][0](**options)

    def build(self, name: str, **options: Any) -> Any:
        return self.config(name, **options).build()


def _colmap(mapper: str) -> Callable[..., Any]:
    def factory(**options: Any) -> Any:
        from sceneforge.reconstruct import ColmapSolverConfig

        return ColmapSolverConfig(mapper=mapper, **options)

    return factory


SOLVERS = Registry("camera solver")
SOLVERS.register("colmap-global", _colmap("global"), "COLMAP keyframes with the global mapper, every other frame localized (default)")
SOLVERS.register("colmap-incremental", _colmap("incremental"), "COLMAP keyframes with the incremental mapper, every other frame localized")


def _plane_sweep(**options: Any) -> Any:
    from sceneforge.reconstruct import PlaneSweepConfig

    return PlaneSweepConfig(**options)


DEPTH = Registry("depth estimator")
DEPTH.register("plane-sweep", _plane_sweep, "multi-view plane-sweep stereo from the solved cameras, CPU or GPU, no weights (default)")
