"""The classical refiner: harmonises inserted assets with the plate, smooths fills over time,
and never touches a pixel outside the changed region."""

from __future__ import annotations

import numpy as np
import pytest

from sceneforge.engine.registry import REFINERS
from sceneforge.render.refine import ClassicalRefinerConfig, RefineFrame, Refiner, keep_untouched
from sceneforge.scenegraph import InputError, Intrinsics

H, W = 120, 160


def _frame(rgb: np.ndarray, changed: np.ndarray, *, inserted: np.ndarray | None = None, number: int = 0,
           x: float = 0.0, depth: float = 5.0) -> RefineFrame:
    pose = np.eye(4)
    pose[0, 3] = x
    return RefineFrame(
        frame_number=number, rgb=rgb.astype(np.float32), changed=changed,
        inserted=(np.zeros((H, W), np.float32) if inserted is None else inserted.astype(np.float32)),
        invented=np.zeros((H, W), bool), depth=np.full((H, W), depth, np.float32),
        plate=np.zeros((H, W, 3), np.uint8), intrinsics=Intrinsics.from_focal(focal_px=140.0, width=W, height=H),
        world_from_cam=pose,
    )


def _noisy_plate(sigma: float, seed: int = 1) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.uniform(0.3, 0.6, (H, W, 3)).astype(np.float32), (0, 0), 3.0)
    return np.clip(base + rng.normal(0, sigma, (H, W, 3)), 0, 1).astype(np.float32)


def _with_square(image: np.ndarray, colour=(0.9, 0.2, 0.2)) -> tuple[np.ndarray, np.ndarray]:
    mask = np.zeros((H, W), bool)
    mask[40:80, 60:100] = True
    out = image.copy()
    out[mask] = colour
    return out, mask


def test_every_refiner_is_registered_and_meets_the_protocol():
    assert {"classical", "diffusion", "none"} <= set(REFINERS.names())
    for name in ("classical", "none"):
        assert isinstance(REFINERS.build(name), Refiner)
    with pytest.raises(InputError, match="colour"):
        ClassicalRefinerConfig(colour=1.5)


def test_pixels_outside_the_changed_region_are_never_modified():
    plate = _noisy_plate(0.03)
    rgb, mask = _with_square(plate)
    refiner = REFINERS.build("classical")
    frame = _frame(rgb, mask, inserted=mask)
    out = keep_untouched(frame, refiner.refine([frame])[0])
    np.testing.assert_array_equal(out[~mask], rgb[~mask])
    assert np.abs(out[mask] - rgb[mask]).max() > 0.01


def test_an_inserted_asset_gets_the_grain_of_the_plate():
    for sigma in (0.01, 0.04):
        rgb, mask = _with_square(_noisy_plate(sigma))
        config = ClassicalRefinerConfig(colour=0.0, blur=False)
        out = REFINERS.build("classical", colour=0.0, blur=False).refine([_frame(rgb, mask, inserted=mask)])[0]
        inner = np.zeros_like(mask)
        inner[45:75, 65:95] = True
        residual = out[inner] - out[inner].mean(axis=0)
        assert residual.std() == pytest.approx(sigma, rel=0.35), sigma
        assert config.grain


def test_a_sharp_asset_is_blurred_like_a_soft_plate_and_not_a_sharp_one():
    import cv2

    rng = np.random.default_rng(3)
    detail = (rng.uniform(0, 1, (H, W, 3)) > 0.5).astype(np.float32)
    checker = np.kron((np.indices((H // 4, W // 4)).sum(axis=0) % 2), np.ones((4, 4)))[..., None].repeat(3, 2).astype(np.float32)
    for plate_sigma in (0.0, 2.0):
        plate = cv2.GaussianBlur(detail, (0, 0), plate_sigma) if plate_sigma else detail
        mask = np.zeros((H, W), bool)
        mask[40:80, 60:100] = True
        rgb = np.where(mask[..., None], checker, plate).astype(np.float32)
        out = REFINERS.build("classical", colour=0.0, grain=False).refine([_frame(rgb, mask, inserted=mask)])[0]
        change = np.abs(out[45:75, 65:95] - rgb[45:75, 65:95]).mean()
        if plate_sigma:
            assert change > 0.1
        else:
            assert change < 0.02


def test_the_asset_takes_part_of_the_plates_colour_cast():
    plate = np.full((H, W, 3), (0.55, 0.45, 0.25), np.float32)  # a warm room
    rgb, mask = _with_square(plate, colour=(0.6, 0.6, 0.6))  # a grey asset
    out = REFINERS.build("classical", blur=False, grain=False).refine([_frame(rgb, mask, inserted=mask)])[0]
    r, g, b = out[mask].mean(axis=0)
    assert r > g > b  # warmer than it was
    assert r - b < 0.55 - 0.25  # but not the plate's colour


def test_filled_regions_are_smoothed_over_time_but_disocclusions_are_not():
    rng = np.random.default_rng(5)
    base = np.full((H, W, 3), 0.5, np.float32)
    mask = np.zeros((H, W), bool)
    mask[40:80, 60:100] = True
    refiner = REFINERS.build("classical", temporal=0.5)
    first = base + np.where(mask[..., None], rng.normal(0, 0.02, (H, W, 3)), 0).astype(np.float32)
    second = base + np.where(mask[..., None], rng.normal(0, 0.02, (H, W, 3)), 0).astype(np.float32)
    out1 = refiner.refine([_frame(first, mask, number=0)])[0]
    out2 = refiner.refine([_frame(second, mask, number=1)])[0]
    flicker_before = np.abs(second[mask] - first[mask]).mean()
    flicker_after = np.abs(out2[mask] - out1[mask]).mean()
    assert flicker_after < 0.6 * flicker_before
    # a colour that disagrees with the previous frame (something new appeared) is left as it is
    third = second.copy()
    third[mask] = 0.9
    out3 = refiner.refine([_frame(third, mask, number=2)])[0]
    np.testing.assert_allclose(out3[mask], 0.9, atol=1e-6)


def test_smoothing_follows_the_camera_through_the_depth():
    # a pattern on a plane at depth 5 seen by a camera moving right: reprojection must line it up
    intrinsics = Intrinsics.from_focal(focal_px=140.0, width=W, height=H)
    shift_px = 4
    dx = shift_px * 5.0 / intrinsics.fx
    rng = np.random.default_rng(2)
    wide = rng.uniform(0.2, 0.8, (H, W + 20, 3)).astype(np.float32)
    mask = np.zeros((H, W), bool)
    mask[30:90, 40:120] = True
    first, second = wide[:, 8:8 + W], wide[:, 8 + shift_px:8 + shift_px + W]
    refiner = REFINERS.build("classical", temporal=0.5, temporal_tolerance=0.05)
    refiner.refine([_frame(first, mask, number=0)])
    out = refiner.refine([_frame(second, mask, number=1, x=dx)])[0]
    # lined up, the previous frame agrees everywhere and changes nothing
    np.testing.assert_allclose(out[35:85, 45:115], second[35:85, 45:115], atol=0.02)
