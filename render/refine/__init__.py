"""Refiners: the last step of a render, polishing only what an edit changed.

One protocol (:class:`Refiner`, fed :class:`RefineFrame` s in shot order), backends chosen by
name (``sceneforge render --refiner NAME``):

- ``classical`` (:class:`ClassicalRefinerConfig`, the default): harmonisation of inserted
  assets with the plate around them and temporal smoothing of filled regions; no weights;
- ``diffusion`` (:class:`DiffusionRefinerConfig`): a diffusers pipeline (Stable Diffusion
  inpainting with a depth ControlNet, or Wan VACE for video) the user has weights for,
  repainting edited and invented regions only; ``diffusers`` is imported when it is built;
- ``none``: the composite as it is.

Whatever a refiner returns, :func:`keep_untouched` keeps every pixel outside the frame's
``changed`` mask exactly as composited.
"""

from ._classical import ClassicalRefiner, ClassicalRefinerConfig, harmonise
from ._diffusion import DiffusionRefiner, DiffusionRefinerConfig
from ._none import NoRefiner, NoRefinerConfig
from ._protocol import RefineFrame, Refiner, keep_untouched

__all__ = [
    "ClassicalRefiner",
    "ClassicalRefinerConfig",
    "DiffusionRefiner",
    "DiffusionRefinerConfig",
    "NoRefiner",
    "NoRefinerConfig",
    "RefineFrame",
    "Refiner",
    "harmonise",
    "keep_untouched",
]
