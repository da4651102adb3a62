"""What every refiner takes and gives: composited frames in, the same frames polished where an
edit changed them out. The render job guarantees the rest: whatever a refiner returns, only
the pixels a frame marks ``changed`` are taken from it, so untouched plate pixels never change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from sceneforge.scenegraph import InputError, Intrinsics, check_array, check_rigid

__all__ = ["RefineFrame", "Refiner", "keep_untouched"]


@dataclass(frozen=True, eq=False)
class RefineFrame:
    """One composited frame as a refiner sees it.

    Attributes:
        frame_number: the source frame number.
        rgb: H×W×3 float32 sRGB-encoded composite in [0, 1].
        changed: H×W bool, the pixels an edit changed (revealed, invented, drawn objects, shadows):
            the only ones a refiner may change.
        inserted: H×W float32 in [0, 1], coverage of inserted assets (drawn CG that must be made
            to look like the plate around it); 0 elsewhere.
        invented: H×W bool, pixels no frame of the footage saw (inpainted).
        depth: H×W float32 z-depth of the edited scene in scene units (0 = no geometry).
        plate: H×W×3 uint8, the footage of this frame (for a camera the footage never had: the
            nearest frame's), what the refined regions should look like.
        intrinsics: the camera of this frame.
        world_from_cam: 4×4 float64 camera pose, OpenCV axes.
        drawn: H×W bool, pixels drawn from the scene's meshes (moved, duplicated or inserted
            objects), or None when unknown.
        filled: H×W bool, revealed background filled from other frames or invented, or None
            when unknown (then: ``changed`` less ``drawn``); the rest of ``changed`` is the plate
            relit (a shadow cast or lightened).
    """

    frame_number: int
    rgb: np.ndarray
    changed: np.ndarray
    inserted: np.ndarray
    invented: np.ndarray
    depth: np.ndarray
    plate: np.ndarray
    intrinsics: Intrinsics
    world_from_cam: np.ndarray
    drawn: np.ndarray | None = None
    filled: np.ndarray | None = None

    def __post_init__(self) -> None:
        rgb = check_array(self.rgb, "rgb", shape=(None, None, 3), dtype=np.float32)
        h, w = rgb.shape[:2]
        check_array(self.changed, "changed", shape=(h, w), dtype=bool)
        check_array(self.inserted, "inserted", shape=(h, w), dtype=np.float32)
        check_array(self.invented, "invented", shape=(h, w), dtype=bool)
        check_array(self.depth, "depth", shape=(h, w), dtype=np.float32)
        check_array(self.plate, "plate", shape=(h, w, 3), dtype=np.uint8)
        for name in ("drawn", "filled"):
            if getattr(self, name) is not None:
                check_array(getattr(self, name), name, shape=(h, w), dtype=bool)
        if (self.intrinsics.width, self.intrinsics.height) != (w, h):
            raise InputError(f"intrinsics must be {w}×{h} like rgb, got {self.intrinsics.width}×{self.intrinsics.height}")
        object.__setattr__(self, "world_from_cam", check_rigid(self.world_from_cam, "world_from_cam"))

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])


@runtime_checkable
class Refiner(Protocol):
    """A refiner backend (built by its config's ``build()``).

    ``window`` frames are handed over at once, in shot order (the last call may get fewer);
    ``refine`` returns one H×W×3 float32 sRGB image in [0, 1] per frame given. A refiner may
    keep state between calls (the previous output, for temporal smoothing); ``close``
    releases what it holds (models, GPU memory)."""

    name: str
    window: int

    def refine(self, frames: Sequence[RefineFrame]) -> list[np.ndarray]:
        ...

    def close(self) -> None:
        ...


def keep_untouched(frame: RefineFrame, refined: np.ndarray) -> np.ndarray:
    """``refined`` where ``frame.changed``, the composite itself everywhere else (float32).

    Raises:
        ShapeError: ``refined`` is not H×W×3 like the frame.
    """
    check_array(refined, "refined frame", shape=(frame.height, frame.width, 3))
    out = np.where(frame.changed[..., None], np.clip(refined, 0.0, 1.0), frame.rgb)
    return out.astype(np.float32)
