"""The refiner that changes nothing (``--refiner none``): the composite as it is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._protocol import RefineFrame

__all__ = ["NoRefiner", "NoRefinerConfig"]


@dataclass(frozen=True)
class NoRefinerConfig:
    """No refinement: the composite is written as it is."""

    def build(self) -> NoRefiner:
        return NoRefiner()


class NoRefiner:
    name = "none"
    window = 1

    def refine(self, frames: Sequence[RefineFrame]) -> list[np.ndarray]:
        return [frame.rgb for frame in frames]

    def close(self) -> None:
        pass
