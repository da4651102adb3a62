"""The light a shot's inserted assets are lit by: the scene's light probe (built from the
footage) and the lights a user added (``Scene.add_light``), as diffuse irradiance.

Units are the footage's own, in linear light: a white Lambertian surface under irradiance E
shows E/π, so 1.0 is display white. The user's lights follow from that:

- a distant light of intensity I (and exposure x, colour c) gives a surface facing it the
  irradiance π·I·2^x·c: facing it, a white surface shows I·2^x·c;
- a sphere light is a sphere of radius r and radiance I·2^x·c: irradiance π·L·r²/d² at
  distance d, times the cosine;
- a dome light without a probe's map is a uniform sky of radiance I·2^x·c (irradiance π·L).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from sceneforge.scenegraph import InputError, LightProbe, check_array

if TYPE_CHECKING:
    from pxr import Usd

__all__ = ["PointLight", "SceneLights", "decode", "encode", "luminance"]

log = logging.getLogger(__name__)

_LUMA = np.array([0.2126, 0.7152, 0.0722])


def decode(rgb: np.ndarray, encoding: Literal["srgb", "linear"]) -> np.ndarray:
    """Display values in [0, 1] → linear light (the sRGB EOTF, or unchanged for ``linear``); float32."""
    from sceneforge.scenegraph.usd import srgb_to_linear

    rgb = np.asarray(rgb, dtype=np.float32)
    return rgb if encoding == "linear" else srgb_to_linear(rgb).astype(np.float32)


def encode(linear: np.ndarray, encoding: Literal["srgb", "linear"]) -> np.ndarray:
    """Linear light → display values in [0, 1] (the inverse of :func:`decode`, clipped); float32."""
    from sceneforge.scenegraph.usd import linear_to_srgb

    linear = np.clip(np.asarray(linear, dtype=np.float32), 0.0, 1.0)
    return linear if encoding == "linear" else linear_to_srgb(linear).astype(np.float32)


@dataclass(frozen=True)
class PointLight:
    """A sphere light: centre (world, scene units), radius and linear radiance (3,)."""

    centre_in_world: np.ndarray
    radius: float
    radiance: np.ndarray


@dataclass(frozen=True, eq=False)
class SceneLights:
    """Every light an inserted asset is lit by.

    Attributes:
        probe: the shot's light probe, or None.
        directional: K×3 unit world directions *towards* each distant light, and
        directional_irradiance: K×3 linear irradiance each gives a surface facing it.
        ambient_radiance: (3,) uniform radiance of dome lights without a map.
        points: sphere lights.
        encoding: how the footage's values relate to light (the probe's; ``srgb`` without one).
    """

    probe: LightProbe | None = None
    directional: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    directional_irradiance: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    ambient_radiance: np.ndarray = field(default_factory=lambda: np.zeros(3))
    points: tuple[PointLight, ...] = ()
    encoding: Literal["srgb", "linear"] = "srgb"

    def __post_init__(self) -> None:
        directional = check_array(np.asarray(self.directional, np.float64).reshape(-1, 3), "directional", shape=(None, 3))
        norms = np.linalg.norm(directional, axis=1, keepdims=True)
        if (norms < 1e-9).any():
            raise InputError("each distant light needs a non-zero direction")
        object.__setattr__(self, "directional", directional / norms)
        object.__setattr__(
            self, "directional_irradiance",
            check_array(np.asarray(self.directional_irradiance, np.float64).reshape(-1, 3), "directional_irradiance", shape=(len(directional), 3)),
        )
        object.__setattr__(self, "ambient_radiance", np.asarray(self.ambient_radiance, np.float64).reshape(3))
        if self.probe is not None:
            object.__setattr__(self, "encoding", self.probe.encoding)

    @property
    def empty(self) -> bool:
        """No light at all: assets are drawn with their own colours, unlit."""
        return (
            self.probe is None and not len(self.directional) and not self.points
            and not np.any(self.ambient_radiance > 0)
        )

    @classmethod
    def of_stage(cls, stage: str | Usd.Stage) -> SceneLights:
        """The light probe and user lights of a composed stage (edits included)."""
        from pxr import Gf, Usd, UsdGeom, UsdLux

        from sceneforge.scenegraph.usd import LIGHTS_PATH, open_stage, read_light_probe

        stage = open_stage(stage) if not isinstance(stage, Usd.Stage) else stage
        probe = read_light_probe(stage)
        directions, irradiances, points = [], [], []
        ambient = np.zeros(3)
        root = stage.GetPrimAtPath(LIGHTS_PATH)
        cache = UsdGeom.XformCache(Usd.TimeCode.EarliestTime())
        for prim in (Usd.PrimRange(root) if root.IsValid() else []):
            if not prim.IsActive() or not prim.HasAPI(UsdLux.LightAPI) or (probe is not None and _is_probe(prim)):
                continue
            imageable = UsdGeom.Imageable(prim)
            if imageable and imageable.ComputeVisibility() == UsdGeom.Tokens.invisible:
                continue
            light = UsdLux.LightAPI(prim)
            radiance = (
                float(light.GetIntensityAttr().Get() or 0.0)
                * 2.0 ** float(light.GetExposureAttr().Get() or 0.0)
                * np.array(light.GetColorAttr().Get() or Gf.Vec3f(1, 1, 1), np.float64)
            )
            world_from_local = np.array(cache.GetLocalToWorldTransform(prim), np.float64).T
            if prim.IsA(UsdLux.DistantLight):
                towards = world_from_local[:3, :3] @ np.array([0.0, 0.0, 1.0])  # it shines along its local -Z
                if np.linalg.norm(towards) > 1e-9:
                    directions.append(towards)
                    irradiances.append(np.pi * radiance)
            elif prim.IsA(UsdLux.SphereLight):
                radius = float(UsdLux.SphereLight(prim).GetRadiusAttr().Get() or 0.5)
                scale = float(np.cbrt(abs(np.linalg.det(world_from_local[:3, :3]))))
                points.append(PointLight(world_from_local[:3, 3].copy(), radius * scale, radiance))
            elif prim.IsA(UsdLux.DomeLight):
                ambient = ambient + radiance
            else:
                log.info("%s: %s lights are not used to light inserted assets", prim.GetPath(), prim.GetTypeName())
        return cls(
            probe=probe, directional=np.array(directions).reshape(-1, 3), directional_irradiance=np.array(irradiances).reshape(-1, 3),
            ambient_radiance=ambient, points=tuple(points),
        )

    def irradiance(self, normals_in_world: np.ndarray, points_in_world: np.ndarray | None = None) -> np.ndarray:
        """N×3 linear irradiance on surfaces with these unit world normals (at these world
        points, which only sphere lights need)."""
        n = np.asarray(normals_in_world, np.float64).reshape(-1, 3)
        out = np.zeros((len(n), 3))
        if self.probe is not None:
            out += self.probe.irradiance(n)
        out += np.pi * self.ambient_radiance
        for towards, e in zip(self.directional, self.directional_irradiance):
            out += np.maximum(n @ towards, 0.0)[:, None] * e
        if self.points and points_in_world is not None:
            p = np.asarray(points_in_world, np.float64).reshape(-1, 3)
            for light in self.points:
                to_light = light.centre_in_world - p
                d2 = np.maximum((to_light**2).sum(axis=1), light.radius**2)
                cosine = np.maximum((n * to_light).sum(axis=1) / np.sqrt(d2), 0.0)
                out += (np.pi * light.radius**2 * cosine / d2)[:, None] * light.radiance
        return out

    def shade(self, albedo: np.ndarray, normals_in_world: np.ndarray, points_in_world: np.ndarray | None = None) -> np.ndarray:
        """N×3 display values of Lambertian surfaces: ``albedo`` (N×3 display values, as textures
        store them) lit by these lights, in the footage's encoding."""
        linear = decode(albedo, self.encoding)
        return encode(linear * self.irradiance(normals_in_world, points_in_world) / np.pi, self.encoding)

    def key(self) -> tuple[np.ndarray, float] | None:
        """The dominant light, for shadows: (unit world direction towards it, the luminance of
        the irradiance it gives a surface facing it), or None when the light is ambient only."""
        candidates = []
        if self.probe is not None and self.probe.key_direction is not None:
            candidates.append((self.probe.key_direction, float(self.probe.key_irradiance @ _LUMA)))
        candidates += [(towards, float(e @ _LUMA)) for towards, e in zip(self.directional, self.directional_irradiance)]
        candidates = [c for c in candidates if c[1] > 0]
        return max(candidates, key=lambda c: c[1]) if candidates else None


def _is_probe(prim) -> bool:
    """The light probe's dome (a DomeLight carrying the probe's SH), lit by :attr:`SceneLights.probe`."""
    return any(name.startswith("sceneforge:") for name in prim.GetPropertyNames())


def luminance(rgb: np.ndarray) -> np.ndarray:
    """…×3 → … luminance (Rec. 709 weights)."""
    return np.asarray(rgb) @ _LUMA
