"""Hole filling: covered pixels untouched, holes filled from their surroundings."""

from __future__ import annotations

import numpy as np
import pytest

from sceneforge.render import fill_holes
from sceneforge.scenegraph import InputError, ShapeError


def test_covered_pixels_are_unchanged_and_holes_take_the_surrounding_colour():
    rng = np.random.default_rng(0)
    rgb = rng.random((60, 80, 3)).astype(np.float32)
    covered = np.ones((60, 80), dtype=bool)
    covered[20:40, 30:50] = False
    rgb[~covered] = 0.0
    out = fill_holes(rgb, covered)
    assert np.array_equal(out[covered], rgb[covered])
    hole = out[~covered]
    assert np.all(hole > 0.3) and np.all(hole < 0.7)  # the surroundings average 0.5


def test_a_smooth_image_is_restored_closely():
    cols = np.linspace(0.0, 1.0, 96, dtype=np.float32)
    rgb = np.repeat(np.stack([cols, 1 - cols, np.full_like(cols, 0.5)], axis=-1)[None], 64, axis=0)
    covered = np.ones((64, 96), dtype=bool)
    covered[10:50, 40:50] = False
    out = fill_holes(np.where(covered[..., None], rgb, 0.0), covered)
    assert np.abs(out - rgb)[~covered].max() < 0.1


def test_edges_of_the_frame_and_nothing_covered():
    rgb = np.zeros((30, 40, 3), dtype=np.float32)
    covered = np.zeros((30, 40), dtype=bool)
    assert np.array_equal(fill_holes(rgb, covered), rgb)
    covered[:, :10] = True
    rgb[:, :10] = 0.8
    out = fill_holes(rgb, covered)
    assert np.allclose(out, 0.8)


def test_bad_inputs():
    with pytest.raises(ShapeError):
        fill_holes(np.zeros((10, 10, 3), np.float32), np.zeros((9, 10), bool))
    with pytest.raises(InputError, match="float"):
        fill_holes(np.zeros((10, 10, 3), np.uint8), np.eye(10, dtype=bool))
