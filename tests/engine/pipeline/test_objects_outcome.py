"""The objects stage's outcome: its checks, and an object that lifting could not place."""

from __future__ import annotations

import numpy as np
import pytest

from sceneforge.engine.pipeline import ObjectsOutcome
from sceneforge.reconstruct import TrackedMasks
from sceneforge.scenegraph import Frames, InputError


def _tracked(name: str) -> TrackedMasks:
    masks = np.zeros((3, 4, 5), bool)
    masks[:, 1:3, 1:3] = True
    return TrackedMasks(
        name=name, masks=masks, quality=np.ones(3, np.float32), prompt_frame=0, frame_numbers=np.array([4, 5, 6]),
    )


def test_an_object_lifting_dropped_keeps_its_instance_maps():
    instances = np.zeros((3, 4, 5), np.int32)
    instances[:, 1:3, 1:3] = 1
    outcome = ObjectsOutcome(
        tracked=(_tracked("mug"),), layers=(), instance_paths=("a", "b", "c"), instances=instances, moving=None
    )
    frames = Frames(images=np.zeros((3, 4, 5, 3), np.uint8), fps=24.0, frame_numbers=np.array([4, 5, 6]))
    excluded = outcome.excluded(frames)
    assert excluded.frame_numbers == (4, 5, 6) and excluded[5].sum() == 4


def test_outcome_checks_its_parts():
    instances = np.zeros((3, 4, 5), np.int32)
    with pytest.raises(InputError, match="instance ids"):
        ObjectsOutcome(tracked=(), layers=(), instance_paths=None, instances=instances + 1, moving=None)
    with pytest.raises(InputError, match="one instance map path per frame"):
        ObjectsOutcome(tracked=(_tracked("a"),), layers=(), instance_paths=("x",), instances=instances, moving=None)
    assert ObjectsOutcome.none().excluded(
        Frames(images=np.zeros((1, 2, 2, 3), np.uint8), fps=24.0, frame_numbers=np.array([0]))
    ) == {}
