"""The light of a shot: a light probe seen from one point, and the spherical-harmonics maths
that lights a diffuse surface with it.

Spherical harmonics are the real, orthonormal ones up to order 2 (9 per colour channel), in
the order and with the constants of Ramamoorthi & Hanrahan, "An Efficient Representation for
Irradiance Environment Maps" (2001), over unit directions (x, y, z) in world axes:
``Y00, Y1-1 (y), Y10 (z), Y11 (x), Y2-2 (xy), Y2-1 (yz), Y20 (3z² - 1), Y21 (xz), Y22 (x² - y²)``.

Equirectangular maps are +Y up: row 0 looks straight up, the last row straight down; column
0 starts at azimuth -π and azimuth grows to the right, where a direction's azimuth is
``atan2(x, -z)`` (the map's centre column looks along -Z, its quarter column along -X).
UsdLux's DomeLight reads the OpenEXR lat-long layout instead, whose centre column faces the
light's +Z and quarter column its +X: ours turned half a turn about +Y, which the probe's dome
light carries as its transform (``scenegraph/usd/_light_probe.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ._check import check_array
from ._errors import InputError

__all__ = [
    "LightProbe",
    "equirect_directions",
    "equirect_pixels",
    "equirect_solid_angles",
    "sh_basis",
    "sh_irradiance",
    "sh_project",
]

# Clamped-cosine convolution per band (Ramamoorthi & Hanrahan): irradiance = A_l * radiance coefficient.
_COSINE_BANDS = np.array([np.pi] + [2.0 * np.pi / 3.0] * 3 + [np.pi / 4.0] * 5)


def sh_basis(directions: np.ndarray) -> np.ndarray:
    """N×3 unit directions → N×9 float64 values of the 9 real SH basis functions (see module)."""
    d = np.asarray(directions, dtype=np.float64).reshape(-1, 3)
    x, y, z = d[:, 0], d[:, 1], d[:, 2]
    return np.column_stack([
        np.full_like(x, 0.282095),
        0.488603 * y,
        0.488603 * z,
        0.488603 * x,
        1.092548 * x * y,
        1.092548 * y * z,
        0.315392 * (3.0 * z * z - 1.0),
        1.092548 * x * z,
        0.546274 * (x * x - y * y),
    ])


def sh_project(directions: np.ndarray, values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Project samples of a function on the sphere onto the 9 SH basis functions.

    Args:
        directions: N×3 unit directions.
        values: N×C samples (C channels).
        weights: N solid angles (steradians) the samples stand for; they should sum to 4π.

    Returns:
        9×C float64 coefficients.
    """
    basis = sh_basis(directions)
    values = np.asarray(values, dtype=np.float64).reshape(len(basis), -1)
    return basis.T @ (values * np.asarray(weights, dtype=np.float64)[:, None])


def sh_irradiance(sh: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Irradiance on surfaces with ``normals`` (N×3 unit, world axes) from radiance SH ``sh``
    (9×C). A Lambertian surface of albedo ρ shows ρ·E/π. Returns N×C float64, clamped at 0."""
    sh = np.asarray(sh, dtype=np.float64)
    return np.maximum(sh_basis(normals) @ (sh * _COSINE_BANDS[:, None]), 0.0)


def equirect_directions(height: int) -> np.ndarray:
    """height×2·height×3 float64 unit world direction at each texel centre of a lat-long map."""
    width = 2 * height
    polar = (np.arange(height) + 0.5) / height * np.pi
    azimuth = (np.arange(width) + 0.5) / width * 2.0 * np.pi - np.pi
    polar, azimuth = np.meshgrid(polar, azimuth, indexing="ij")
    sin_polar = np.sin(polar)
    return np.stack([sin_polar * np.sin(azimuth), np.cos(polar), -sin_polar * np.cos(azimuth)], axis=-1)


def equirect_pixels(directions: np.ndarray, height: int) -> tuple[np.ndarray, np.ndarray]:
    """N×3 directions (need not be unit) → (rows, cols) int64 texel of a lat-long map of ``height``."""
    d = np.asarray(directions, dtype=np.float64).reshape(-1, 3)
    d = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
    polar = np.arccos(np.clip(d[:, 1], -1.0, 1.0))
    azimuth = np.arctan2(d[:, 0], -d[:, 2])
    rows = np.clip((polar / np.pi * height).astype(np.int64), 0, height - 1)
    cols = np.clip(((azimuth + np.pi) / (2.0 * np.pi) * 2 * height).astype(np.int64), 0, 2 * height - 1)
    return rows, cols


def equirect_solid_angles(height: int) -> np.ndarray:
    """height×2·height float64 solid angle (sr) of each texel of a lat-long map (sums to 4π)."""
    edges = np.linspace(0.0, np.pi, height + 1)
    band = (np.cos(edges[:-1]) - np.cos(edges[1:])) * (2.0 * np.pi / (2 * height))
    return np.repeat(band[:, None], 2 * height, axis=1)


@dataclass(frozen=True, eq=False)
class LightProbe:
    """The light around one point of a shot, as the footage saw it.

    Attributes:
        radiance: H×2H×3 float32 lat-long map (see the module) of linear radiance in the
            footage's own units: a white Lambertian surface lit by a uniform map of value L
            shows L. Directions no frame saw are filled; the dominant light, where found
            from the shading of the scene, is painted in as a small bright disc.
        seen: H×2H bool, texels the footage saw.
        sh: 9×3 float64 SH coefficients of ``radiance`` (what diffuse lighting uses).
        centre_in_world: (3,) float64 point the map is seen from, scene units.
        key_direction: (3,) float64 unit world vector towards the dominant light, or None
            when the shading showed no directional light.
        key_irradiance: (3,) float64 linear irradiance (per channel) the dominant light gives a
            surface facing it (0 without one).
        ambient_radiance: (3,) float64 linear radiance of the map without the dominant light,
            averaged over the sphere.
        encoding: how the footage's 8-bit values relate to light: ``"srgb"`` (decoded with the
            sRGB curve, as cameras and players do) or ``"linear"`` (proportional to light).
    """

    radiance: np.ndarray
    seen: np.ndarray
    sh: np.ndarray
    centre_in_world: np.ndarray
    key_direction: np.ndarray | None = None
    key_irradiance: np.ndarray = field(default_factory=lambda: np.zeros(3))
    ambient_radiance: np.ndarray = field(default_factory=lambda: np.zeros(3))
    encoding: Literal["srgb", "linear"] = "srgb"

    def __post_init__(self) -> None:
        radiance = check_array(self.radiance, "radiance", shape=(None, None, 3), dtype=np.float32, finite=True)
        h, w = radiance.shape[:2]
        if w != 2 * h or radiance.shape[2] != 3:
            raise InputError(f"radiance must be H×2H×3 (lat-long RGB), got {radiance.shape}")
        if radiance.min() < 0:
            raise InputError("radiance must be ≥ 0")
        check_array(self.seen, "seen", shape=(h, w), dtype=bool)
        object.__setattr__(self, "sh", check_array(np.asarray(self.sh, np.float64), "sh", shape=(9, 3), finite=True))
        object.__setattr__(self, "centre_in_world", check_array(np.asarray(self.centre_in_world, np.float64), "centre_in_world", shape=(3,), finite=True))
        if self.key_direction is not None:
            key = check_array(np.asarray(self.key_direction, np.float64), "key_direction", shape=(3,), finite=True)
            norm = float(np.linalg.norm(key))
            if norm < 1e-9:
                raise InputError("key_direction must be a non-zero vector (or None)")
            object.__setattr__(self, "key_direction", key / norm)
        object.__setattr__(self, "key_irradiance", check_array(np.asarray(self.key_irradiance, np.float64), "key_irradiance", shape=(3,), finite=True))
        object.__setattr__(self, "ambient_radiance", check_array(np.asarray(self.ambient_radiance, np.float64), "ambient_radiance", shape=(3,), finite=True))
        if self.encoding not in ("srgb", "linear"):
            raise InputError(f"encoding must be 'srgb' or 'linear', got {self.encoding!r}")

    @property
    def height(self) -> int:
        return int(self.radiance.shape[0])

    def irradiance(self, normals_in_world: np.ndarray) -> np.ndarray:
        """N×3 linear irradiance on surfaces with these world normals (from ``sh``)."""
        return sh_irradiance(self.sh, normals_in_world)

    @property
    def ambient_to_key(self) -> float:
        """Irradiance of the ambient light on any surface (π·ambient radiance) over the dominant
        light's at normal incidence, on luminance; inf without a dominant light."""
        weights = np.array([0.2126, 0.7152, 0.0722])
        key = float(self.key_irradiance @ weights)
        ambient = float(np.pi * self.ambient_radiance @ weights)
        return float("inf") if key <= 0 else ambient / key
