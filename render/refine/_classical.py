"""The classical refiner (the default): no weights, a few milliseconds a frame.

- **Temporal smoothing** of filled regions (revealed background, inventions; never the plate
  itself, relit or not): each pixel is
  blended with the previous refined frame seen through the scene's depth (reprojected, so
  the camera's motion is followed), where the two agree in colour — the fill stops
  shimmering from frame to frame, and a disocclusion (colours that disagree) is left alone.
- **Harmonisation** of inserted assets with the plate around them: a partial transfer of
  the surroundings' colour statistics (mean and spread in CIELAB: exposure, white balance,
  contrast), the plate's blur (the edges' blur around the asset and on it, measured by the
  re-blur gradient ratio, and the difference made up with a Gaussian) and the plate's grain (Gaussian noise making up
  the difference of the two noise levels, new every frame like film grain).

Only pixels a frame marks ``changed`` are ever modified.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sceneforge.scenegraph import InputError

from ._protocol import RefineFrame, keep_untouched

__all__ = ["ClassicalRefiner", "ClassicalRefinerConfig", "edge_blur", "harmonise"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClassicalRefinerConfig:
    """Harmonisation of inserted assets and temporal smoothing of filled regions."""

    temporal: float = 0.5
    """Weight of the previous refined frame (reprojected) in filled regions; 0 turns smoothing off."""
    temporal_tolerance: float = 0.08
    """Largest colour difference (0–1) at which the previous frame still blends in."""
    colour: float = 0.3
    """Share of the plate's colour statistics around an inserted asset that is transferred to it
    (0 keeps the asset's colours; 1 gives it the surroundings' mean and spread)."""
    blur: bool = True
    """Blur inserted assets as much as the plate around them is blurred."""
    grain: bool = True
    """Add the plate's grain to inserted assets."""
    ring_px: float = 16.0
    """Width (at 640 px wide) of the ring of plate around an asset its statistics are measured on."""
    seed: int = 0
    """Seed of the grain (per frame: seed + frame number), for reproducible renders."""

    def __post_init__(self) -> None:
        for name in ("temporal", "colour"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InputError(f"{name} must be in [0, 1], got {value}")
        if self.temporal_tolerance < 0 or self.ring_px <= 0:
            raise InputError("temporal_tolerance must be ≥ 0 and ring_px > 0")

    def build(self) -> ClassicalRefiner:
        return ClassicalRefiner(self)


class ClassicalRefiner:
    """See the module docstring; keeps the previous frame between calls."""

    name = "classical"
    window = 1

    def __init__(self, config: ClassicalRefinerConfig = ClassicalRefinerConfig()) -> None:
        self.config = config
        self._previous: tuple[RefineFrame, np.ndarray] | None = None

    def refine(self, frames: Sequence[RefineFrame]) -> list[np.ndarray]:
        return [self._one(frame) for frame in frames]

    def close(self) -> None:
        self._previous = None

    def _one(self, frame: RefineFrame) -> np.ndarray:
        out = frame.rgb.copy()
        if frame.changed.any():
            if frame.filled is not None:
                filled = frame.filled
            else:
                filled = frame.changed & ~(frame.drawn if frame.drawn is not None else frame.inserted > 0)
            if self.config.temporal > 0 and self._previous is not None:
                self._smooth(frame, out, filled)
        # The next frame blends with this one before grain (grain must not be averaged away).
        self._previous = (frame, out.copy())
        if (frame.inserted > 0).any():
            out = harmonise(out, frame.inserted, self.config, seed=self.config.seed + frame.frame_number)
        return keep_untouched(frame, out)

    def _smooth(self, frame: RefineFrame, out: np.ndarray, region: np.ndarray) -> None:
        import cv2

        before, before_rgb = self._previous
        rows, cols = np.nonzero(region & (frame.depth > 0))
        if not len(rows):
            return
        in_cam = frame.intrinsics.unproject(np.column_stack([cols + 0.5, rows + 0.5]), frame.depth[rows, cols].astype(np.float64))
        in_world = in_cam @ frame.world_from_cam[:3, :3].T + frame.world_from_cam[:3, 3]
        cam_from_world = np.linalg.inv(before.world_from_cam)
        in_before = in_world @ cam_from_world[:3, :3].T + cam_from_world[:3, 3]
        ahead = in_before[:, 2] > 1e-9
        xy = np.full((len(rows), 2), -10.0)
        xy[ahead] = before.intrinsics.project(in_before[ahead])
        map_x = np.full(region.shape, -10.0, np.float32)
        map_y = np.full(region.shape, -10.0, np.float32)
        map_x[rows, cols] = xy[:, 0] - 0.5
        map_y[rows, cols] = xy[:, 1] - 0.5
        warped = cv2.remap(before_rgb, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(-1, -1, -1))
        sample = warped[rows, cols]
        current = out[rows, cols]
        agree = (sample.min(axis=1) >= 0) & (np.abs(sample - current).max(axis=1) <= self.config.temporal_tolerance)
        w = self.config.temporal
        out[rows[agree], cols[agree]] = (1 - w) * current[agree] + w * sample[agree]


def harmonise(rgb: np.ndarray, coverage: np.ndarray, config: ClassicalRefinerConfig, *, seed: int = 0) -> np.ndarray:
    """``rgb`` (H×W×3 float32 display values) with the asset where ``coverage`` (H×W float32
    in [0, 1]) made to match the ring of plate around it (see the module docstring)."""
    import cv2

    inside = coverage > 0.5
    h, w = coverage.shape
    ring_px = max(2, int(round(config.ring_px * w / 640.0)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring_px + 1, 2 * ring_px + 1))
    ring = cv2.dilate((coverage > 0).astype(np.uint8), kernel).astype(bool) & ~(coverage > 0)
    if inside.sum() < 16 or ring.sum() < 16:
        return rgb
    rows, cols = np.nonzero(inside | ring)
    margin = 2 * ring_px
    r0, r1 = max(0, rows.min() - margin), min(h, rows.max() + margin + 1)
    c0, c1 = max(0, cols.min() - margin), min(w, cols.max() + margin + 1)
    crop = np.ascontiguousarray(rgb[r0:r1, c0:c1])
    a_in, a_ring, alpha = inside[r0:r1, c0:c1], ring[r0:r1, c0:c1], coverage[r0:r1, c0:c1]
    result = crop.copy()
    if config.colour > 0:
        lab = cv2.cvtColor(crop, cv2.COLOR_RGB2Lab)
        mean_a, std_a = lab[a_in].mean(axis=0), lab[a_in].std(axis=0) + 1e-3
        mean_r, std_r = lab[a_ring].mean(axis=0), lab[a_ring].std(axis=0) + 1e-3
        s = config.colour
        # The spread is the plate's contrast only in part (the rest is texture: a wooden floor
        # spreads more than a plain asset), so it moves the asset's contrast by 15 % at most.
        scale = np.clip(1.0 + s * (std_r / std_a - 1.0), 0.85, 1.15)
        moved = (lab - mean_a) * scale + mean_a + s * (mean_r - mean_a)
        moved[..., 0] = np.clip(moved[..., 0], 0.0, 100.0)
        result = np.where(a_in[..., None], np.clip(cv2.cvtColor(moved.astype(np.float32), cv2.COLOR_Lab2RGB), 0, 1), result)
    if config.blur:
        plate_blur = edge_blur(crop, a_ring)
        # the asset's own blur, measured on its outline and texture (rendering anti-aliases a little)
        asset_blur = edge_blur(result, cv2.dilate(a_in.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool))
        asset_blur = asset_blur if np.isfinite(asset_blur) else 0.5
        sigma = float(np.sqrt(max(plate_blur**2 - asset_blur**2, 0.0))) if np.isfinite(plate_blur) else 0.0
        if sigma > 0.2:
            blurred = cv2.GaussianBlur(result, (0, 0), sigma)
            # the asset's own edge softens into the plate: blurred colours over the grown outline
            result = np.where((alpha > 0)[..., None], blurred, result)
    if config.grain:
        plate_noise = _noise_level(crop, a_ring)
        asset_noise = _noise_level(result, a_in)
        extra = np.sqrt(np.maximum(plate_noise**2 - asset_noise**2, 0.0))
        if extra.max() > 1e-4:
            rng = np.random.default_rng(seed)
            common = rng.standard_normal(result.shape[:2])[..., None]
            own = rng.standard_normal(result.shape)
            grain = (0.8 * common + 0.6 * own) * extra
            result = np.where(a_in[..., None], np.clip(result + grain.astype(np.float32), 0, 1), result)
    out = rgb.copy()
    blend = alpha[..., None] if not config.blur else np.maximum(alpha, a_in.astype(np.float32))[..., None]
    out[r0:r1, c0:c1] = blend * result + (1 - blend) * crop
    return out.astype(np.float32)


def edge_blur(image: np.ndarray, mask: np.ndarray, *, reblur: float = 1.0) -> float:
    """Gaussian blur (sigma, px) of the edges in ``image`` (H×W×3 float) on ``mask``, by the
    re-blur ratio of Zhuo & Sim, "Defocus map estimation from a single image" (2011): a step
    edge blurred by sigma has a gradient peak ``R = sqrt(sigma² + s²) / sigma`` times higher
    than after a further blur ``s``, so ``sigma = s / sqrt(R² - 1)``. The median over the
    edge pixels (Canny) on ``mask``; NaN when there are too few edges."""
    import cv2

    grey = image.mean(axis=2).astype(np.float32)
    as_uint8 = np.clip(np.round(grey * 255), 0, 255).astype(np.uint8)
    edges = cv2.Canny(as_uint8, 30, 90).astype(bool) & mask
    if edges.sum() < 12:
        return float("nan")
    def magnitude(values: np.ndarray) -> np.ndarray:
        return np.hypot(cv2.Sobel(values, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(values, cv2.CV_32F, 0, 1, ksize=3))

    ratio = magnitude(grey)[edges] / np.maximum(magnitude(cv2.GaussianBlur(grey, (0, 0), reblur))[edges], 1e-6)
    ratio = ratio[ratio > 1.01]
    if len(ratio) < 12:
        return float("nan")
    return float(np.median(np.clip(reblur / np.sqrt(ratio**2 - 1.0), 0.0, 5.0)))


def _noise_level(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-channel noise sigma on ``mask``: the robust spread (MAD) of the residual after a
    3×3 median filter — fine texture counts a little, edges hardly at all."""
    import cv2

    if mask.sum() < 8:
        return np.zeros(3)
    as_uint8 = np.clip(np.round(image * 255), 0, 255).astype(np.uint8)
    residual = image - cv2.medianBlur(as_uint8, 3).astype(np.float32) / 255.0
    values = residual[mask]
    return 1.4826 * np.median(np.abs(values - np.median(values, axis=0)), axis=0)
