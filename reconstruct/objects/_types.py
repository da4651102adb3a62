"""Typed results of the objects stage: one object's masks through the clip."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sceneforge.scenegraph import InputError, check_array

__all__ = ["MOTIONS", "TrackedMasks"]

MOTIONS = ("prompt", "flow", "geometry", "held", "refound", "lost")
"""How a frame's mask was obtained: the prompt itself; carried by optical flow or by the
depth and camera track (static object), then refined; ``held``: the refinement was not
trusted and the carried mask was kept; ``refound``: the object was lost and found again by
its colours; ``lost``: the object left the frame (empty mask)."""


@dataclass(frozen=True, eq=False)
class TrackedMasks:
    """One object's mask on every frame of a clip.

    Attributes:
        name: the object's name.
        masks: N×H×W bool, True on the object, at the frames' size.
        quality: N float32 in [0, 1], the tracker's confidence in each frame's mask (1 on the
            prompt frame; 0 where lost). Not calibrated across backends.
        prompt_frame: index of the frame the prompt was given on.
        frame_numbers: N int64 source frame numbers of the frames.
        motion: N strings, how each frame's mask was obtained (one of :data:`MOTIONS`).
    """

    name: str
    masks: np.ndarray
    quality: np.ndarray
    prompt_frame: int
    frame_numbers: np.ndarray
    motion: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        masks = check_array(self.masks, "masks", shape=(None, None, None), dtype=bool)
        n = masks.shape[0]
        check_array(self.quality, "quality", shape=(n,), dtype=np.float32)
        numbers = check_array(self.frame_numbers, "frame_numbers", shape=(n,), dtype=(np.int64, np.int32))
        if not 0 <= int(self.prompt_frame) < max(n, 1):
            raise InputError(f"prompt_frame must index one of the {n} frames, got {self.prompt_frame}")
        motion = tuple(self.motion) or ("flow",) * n
        if len(motion) != n or any(m not in MOTIONS for m in motion):
            raise InputError(f"motion must be {n} values from {MOTIONS}, got {motion[:5]}…")
        object.__setattr__(self, "prompt_frame", int(self.prompt_frame))
        object.__setattr__(self, "frame_numbers", numbers.astype(np.int64))
        object.__setattr__(self, "motion", motion)

    def __len__(self) -> int:
        return int(self.masks.shape[0])

    @property
    def area_px(self) -> np.ndarray:
        """N int64: pixels on the object in each frame."""
        return self.masks.reshape(len(self), -1).sum(axis=1)
