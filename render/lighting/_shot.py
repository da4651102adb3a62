"""A shot's lighting as the compositor uses it: which objects are lit by the scene's lights
(inserted assets; reconstructed objects keep the shading the footage captured), and the
objects that cast a new contact shadow or whose old one should go."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sceneforge.scenegraph import Intrinsics, check_array, transform_points

from ._lights import SceneLights, decode, encode, luminance
from ._shadows import Occluder, occlusion

__all__ = ["LightingConfig", "ShotLighting"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LightingConfig:
    """How inserted assets are lit and how contact shadows are drawn."""

    shade_inserted: bool = True
    """Light inserted assets by the light probe and the scene's lights (off: their own colours)."""
    shadows: bool = True
    """Inserted and moved objects cast a contact shadow on the surfaces around them."""
    remove_shadows: bool = True
    """Brighten the darker ring a removed or moved object's own shadow left in the footage."""
    shadow_strength: float = 1.0
    """Scale of the drawn shadows (1 = as the sphere model predicts)."""
    penumbra: float = 0.08
    """Softness of the dominant light's shadow: its half-width grows by this much per unit of
    distance from the object (radians)."""
    ambient_only_strength: float = 0.7
    """Scale of the ambient occlusion where the shot shows no dominant light."""
    reach: float = 3.0
    """Surfaces farther than this many object radii from an object receive no shadow from it."""
    stride_px: int = 2
    """Shadows are computed every this many pixels (at 640 px wide) and interpolated."""


class _Occluders:
    """Each object's spheres, per frame: static objects read once, moving ones every frame."""

    def __init__(self, stage, paths: Iterable[str]) -> None:
        from sceneforge.scenegraph import animated_mesh_paths

        self._stage = stage
        self._paths = sorted(paths)
        animated = animated_mesh_paths(stage)
        self._moving = {p for p in self._paths if any(a == p or a.startswith(p + "/") for a in animated)}
        self._static: dict[str, Occluder | None] = {}

    def at(self, frame_number: int) -> dict[str, Occluder]:
        out = {}
        for path in self._paths:
            if path in self._moving:
                occluder = self._read(path, frame_number)
            else:
                if path not in self._static:
                    self._static[path] = self._read(path, frame_number)
                occluder = self._static[path]
            if occluder is not None:
                out[path] = occluder
        return out

    def _read(self, path: str, frame_number: int) -> Occluder | None:
        from sceneforge.scenegraph import read_scene_meshes

        meshes = read_scene_meshes(self._stage, time=float(frame_number), under=[path])
        points = [transform_points(m.world_from_local, m.mesh.vertices) for m in meshes if len(m.mesh.vertices)]
        if not points:
            return None
        return Occluder.of_points(np.concatenate(points))


class ShotLighting:
    """The lights, lit objects and shadow casters of one shot.

    Args:
        lights: the scene's lights.
        inserted: prim paths (``/World/Objects/<name>``) of the objects the lights shade.
        edited_stage: the composed scene (edits included), or None for no shadows.
        original_stage: the reconstruction alone, or None.
        changed: prim paths of the objects an edit touched.
        config: the settings.
    """

    def __init__(
        self, lights: SceneLights, inserted: Iterable[str], *, edited_stage=None, original_stage=None,
        changed: Iterable[str] = (), config: LightingConfig = LightingConfig(),
    ) -> None:
        self.lights = lights
        self.inserted = frozenset(inserted)
        self.config = config
        changed = sorted(changed)
        self._now = _Occluders(edited_stage, changed) if edited_stage is not None and changed else None
        self._before = _Occluders(original_stage, changed) if original_stage is not None and changed else None
        self._key = lights.key()

    @classmethod
    def of_scene(cls, scene: str | os.PathLike[str], changed: Iterable[str], config: LightingConfig = LightingConfig()) -> ShotLighting:
        """The lighting of the shot holding ``scene``; ``changed`` are the edited objects' paths."""
        from sceneforge.scenegraph.usd import ATTR_INSTANCE_ID, OBJECTS_PATH, RECONSTRUCTION_FILE, open_stage

        edited = open_stage(scene)
        original = open_stage(Path(scene).parent / RECONSTRUCTION_FILE)
        lights = SceneLights.of_stage(edited)
        objects = edited.GetPrimAtPath(OBJECTS_PATH)
        # Reconstructed objects (and their duplicates, which reference them) carry the instance
        # id of their tracked masks; an inserted asset has none.
        inserted = [
            str(p.GetPath()) for p in (objects.GetChildren() if objects.IsValid() else [])
            if p.IsActive() and not p.HasAttribute(ATTR_INSTANCE_ID)
        ]
        return cls(lights, inserted, edited_stage=edited, original_stage=original, changed=changed, config=config)

    # -- shading ---------------------------------------------------------------------

    @property
    def shades(self) -> bool:
        return self.config.shade_inserted and not self.lights.empty

    def shade(self, albedo: np.ndarray, normals_in_cam: np.ndarray, depth: np.ndarray, rows: np.ndarray, cols: np.ndarray,
              intrinsics: Intrinsics, world_from_cam: np.ndarray) -> np.ndarray:
        """N×3 display colours of inserted-asset pixels (``rows``, ``cols``) whose texture colour
        is ``albedo`` (N×3) and camera-frame normals ``normals_in_cam`` (N×3)."""
        normals = normals_in_cam @ world_from_cam[:3, :3].T
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-9)
        points = _points(intrinsics, world_from_cam, rows, cols, depth[rows, cols])
        return self.lights.shade(albedo, normals, points)

    # -- shadows ---------------------------------------------------------------------

    def casters(self, frame_number: int) -> tuple[list[Occluder], list[Occluder]]:
        """(new, old): spheres of the edited objects where they are now (those that moved,
        or are new) and where they were in the footage (those that moved or are gone)."""
        now = self._now.at(frame_number) if self._now is not None else {}
        before = self._before.at(frame_number) if self._before is not None else {}
        new = [o for p, o in now.items() if p not in before or o.moved_from(before[p])]
        old = [o for p, o in before.items() if p not in now or now[p].moved_from(o)]
        return (new if self.config.shadows else []), (old if self.config.remove_shadows else [])

    def occlusion_map(
        self, occluders: list[Occluder], receivers: np.ndarray, depth: np.ndarray, normals_in_cam: np.ndarray,
        intrinsics: Intrinsics, world_from_cam: np.ndarray,
    ) -> np.ndarray:
        """H×W float32 in [0, 1]: the share of the light at each ``receivers`` pixel the
        occluders take away (0 elsewhere): their ambient occlusion weighted by the ambient's
        share of the pixel's light, plus the dominant light's shadow by its share."""
        import cv2

        h, w = receivers.shape
        check_array(depth, "depth", shape=(h, w))
        out = np.zeros((h, w), np.float32)
        if not occluders or not receivers.any():
            return out
        stride = max(1, int(round(self.config.stride_px * w / 640.0)))
        grid = np.zeros_like(receivers)
        grid[stride // 2::stride, stride // 2::stride] = True
        rows, cols = np.nonzero(receivers & grid & (depth > 0))
        if not len(rows):
            return out
        points = _points(intrinsics, world_from_cam, rows, cols, depth[rows, cols])
        centres = np.concatenate([o.centres_in_world for o in occluders])
        radii = np.concatenate([o.radii for o in occluders])
        extent = float(np.max(np.linalg.norm(centres - centres.mean(axis=0), axis=1) + radii))
        # Shadows fade out towards `reach` object radii (no hard edge where the search stops).
        distance = np.linalg.norm(points - centres.mean(axis=0), axis=1) / max(extent, 1e-9)
        near = distance <= self.config.reach
        rows, cols, points = rows[near], cols[near], points[near]
        fade = np.clip((self.config.reach - distance[near]) / (0.4 * self.config.reach), 0.0, 1.0)
        if not len(rows):
            return out
        normals = normals_in_cam[rows, cols].astype(np.float64) @ world_from_cam[:3, :3].T
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-9)
        towards = self._key[0] if self._key is not None else None
        ambient, direct = occlusion(points, normals, occluders, towards_light=towards, penumbra=self.config.penumbra)
        if towards is None:
            taken = self.config.ambient_only_strength * ambient
        else:
            key_share = self._key_share(normals, towards)
            taken = (1.0 - key_share) * ambient + key_share * direct
        small = np.zeros((h, w), np.float32)
        small[rows, cols] = np.clip(taken * fade * self.config.shadow_strength, 0.0, 1.0)
        # Spread the sparse samples over the pixels between them (a box over the stride, normalised).
        weight = np.zeros((h, w), np.float32)
        weight[rows, cols] = 1.0
        size = (2 * stride + 1, 2 * stride + 1)
        spread = cv2.blur(small, size) / np.maximum(cv2.blur(weight, size), 1e-6)
        return np.where(receivers, np.clip(spread, 0.0, 1.0), 0.0).astype(np.float32)

    def _key_share(self, normals: np.ndarray, towards: np.ndarray) -> np.ndarray:
        """The dominant light's share of each surface's luminance irradiance."""
        total = luminance(self.lights.irradiance(normals))
        key = np.maximum(normals @ towards, 0.0) * float(self._key[1]) if self._key is not None else 0.0
        return np.clip(key / np.maximum(total, 1e-9), 0.0, 1.0)

    def darken(self, rgb: np.ndarray, taken: np.ndarray) -> np.ndarray:
        """``rgb`` (H×W×3 display values) with ``taken`` (H×W) of its light removed, in linear light."""
        encoding = self.lights.encoding
        return encode(decode(rgb, encoding) * (1.0 - taken[..., None]), encoding)

    def lighten(
        self, rgb: np.ndarray, region: np.ndarray, predicted: np.ndarray, *, measure: np.ndarray | None = None
    ) -> tuple[np.ndarray, float]:
        """Undo an old contact shadow: ``predicted`` (H×W) is the share of light the removed
        object took by the sphere model; how much it really took is measured on ``rgb`` over
        ``measure`` (default ``region``: the supporting surface around it; the footage's own
        pixels there, not fills) and lightened over ``region``. The pixels are binned by predicted
        occlusion; a shadow is found only when the median luminance falls steadily from the
        outermost bin to the innermost, the innermost is at least 15 % darker, and at least
        three of the four quarters around the object are 10 % darker each (a texture or a
        change of material beside the object darkens one side, a contact shadow all round).
        Returns the lightened image and the strength found (0 = no shadow found: ``rgb``
        unchanged)."""
        encoding = self.lights.encoding
        linear = decode(rgb, encoding)
        luma = luminance(linear)
        measure = region if measure is None else measure
        ratios, share = _shadow_profile(luma, measure, predicted)
        if ratios is None:
            return rgb, 0.0
        # A contact shadow darkens the surface all round the object; texture or a change of
        # material next to it darkens one side. Each quarter around the object must agree.
        rows, cols = np.nonzero(measure & (predicted > 0.01))
        weights = predicted[rows, cols]
        centre_r, centre_c = np.average(rows, weights=weights), np.average(cols, weights=weights)
        angle = np.arctan2(*np.indices(predicted.shape) - np.array([centre_r, centre_c])[:, None, None])
        quarters = [measure & (np.abs(np.angle(np.exp(1j * (angle - a)))) < np.pi / 4) for a in (0, np.pi / 2, np.pi, -np.pi / 2)]
        darker = sum(1 for q in quarters if (r := _shadow_profile(luma, q, predicted)[0]) is not None and r[-1] <= 0.9)
        log.debug("old contact shadow: luminance by predicted occlusion %s, darker in %d of 4 quarters",
                  np.round(ratios, 3).tolist(), darker)
        if ratios[-1] > 0.85 or darker < 3:
            return rgb, 0.0
        strength = float(np.clip((1.0 - ratios[-1]) / max(share, 1e-6), 0.0, 1.0))
        gain = 1.0 / np.maximum(1.0 - strength * predicted, 0.5)
        lit = np.where(region[..., None], linear * gain[..., None], linear)
        return encode(lit, encoding), strength
    def supporting(self, normals_in_cam: np.ndarray, world_from_cam: np.ndarray, *, within_deg: float = 30.0) -> np.ndarray:
        """H×W bool: surfaces facing up (world +Y) within ``within_deg`` — floors and table
        tops, where an object's contact shadow falls."""
        up = world_from_cam[:3, :3].T @ np.array([0.0, 1.0, 0.0])  # world +Y in camera axes
        return (normals_in_cam @ up) >= np.cos(np.radians(within_deg))


def _shadow_profile(luma: np.ndarray, where: np.ndarray, predicted: np.ndarray) -> tuple[np.ndarray | None, float]:
    """Median luminance in bins of predicted occlusion relative to the outermost bin, and the
    innermost bin's mean prediction; (None, 0) when a bin is nearly empty or the luminance
    does not fall steadily towards the object."""
    edges = (0.01, 0.05, 0.15, 0.3, 1.01)
    medians, share = [], 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        ring = where & (predicted >= low) & (predicted < high)
        if ring.sum() < 12:
            return None, 0.0
        medians.append(float(np.median(luma[ring])))
        share = float(np.mean(predicted[ring]))
    ratios = np.array(medians) / max(medians[0], 1e-6)
    return (ratios, share) if np.all(np.diff(ratios) <= 0.03) else (None, 0.0)


def _points(intrinsics: Intrinsics, world_from_cam: np.ndarray, rows: np.ndarray, cols: np.ndarray, depth: np.ndarray) -> np.ndarray:
    in_cam = intrinsics.unproject(np.column_stack([cols + 0.5, rows + 0.5]), np.asarray(depth, np.float64))
    return transform_points(world_from_cam, in_cam)
