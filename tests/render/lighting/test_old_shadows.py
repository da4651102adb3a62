"""A removed object's own contact shadow is lightened where the footage shows one, and only there."""

from __future__ import annotations

import numpy as np

from sceneforge.render.lighting import SceneLights, ShotLighting


def _floor(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A textured floor (linear values) and the occlusion an object at its centre would predict."""
    rng = np.random.default_rng(seed)
    h, w = 120, 160
    rows, cols = np.indices((h, w))
    distance = np.hypot(rows - 60, cols - 80) / 20.0
    predicted = np.clip(0.7 / np.maximum(distance, 1.0) ** 2, 0, 1)
    texture = np.clip(0.45 + 0.05 * rng.standard_normal((h, w, 1)), 0, 1) * np.ones(3)
    return texture.astype(np.float32), predicted.astype(np.float32)


def _lighting() -> ShotLighting:
    return ShotLighting(SceneLights(encoding="linear", ambient_radiance=np.ones(3) * 0.3), inserted=())


def test_a_shadow_all_round_the_footprint_is_found_and_lightened():
    floor, predicted = _floor()
    shadowed = floor * (1 - 0.6 * predicted)[..., None]
    region = predicted > 0.01
    out, strength = _lighting().lighten(shadowed, region, predicted)
    assert 0.45 < strength < 0.75
    inner = predicted > 0.3
    assert abs(np.median(out[inner]) - np.median(floor[inner])) < 0.03
    assert np.median(shadowed[inner]) < np.median(floor[inner]) - 0.1


def test_darker_material_on_one_side_is_not_a_shadow():
    floor, predicted = _floor(1)
    rug = floor.copy()
    rug[:, :80] *= 0.6  # the left half is a darker rug, running under the object
    region = predicted > 0.01
    out, strength = _lighting().lighten(rug, region, predicted)
    assert strength == 0.0
    np.testing.assert_array_equal(out, rug)
    # and a floor with no shadow at all is left alone
    out, strength = _lighting().lighten(floor, region, predicted)
    assert strength == 0.0
