"""Contact shadows: what an inserted or moved object takes away from the light falling on the
surfaces around it, and what a removed object had taken away in the footage.

An object is approximated by a few spheres (its mesh's vertices clustered on a grid), which
makes both kinds of occlusion closed-form per receiving point and cheap enough to compute
for every background pixel near the object in every frame:

- ambient occlusion of a sphere of radius r at distance d, seen at angle θ from the
  receiver's normal: cos θ · (r/d)² (the sphere's projected solid angle over π);
- the dominant light's soft shadow: how far the ray from the receiver towards the light
  passes from the sphere's centre, against its radius, with a penumbra that widens with the
  distance along the ray (contact shadows are sharp where the object touches, soft away
  from it).

Spheres combine as independent occluders (1 - Π(1 - o)). A ray tracer against the mesh would
be exact; this is what keeps the compositor interactive on a CPU, and a contact shadow is a
soft, low-frequency thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sceneforge.scenegraph import check_array

__all__ = ["Occluder", "occlusion"]


@dataclass(frozen=True, eq=False)
class Occluder:
    """An object as spheres, in world coordinates.

    Attributes:
        centres_in_world: K×3 float64 sphere centres, scene units.
        radii: K float64 radii, scene units.
    """

    centres_in_world: np.ndarray
    radii: np.ndarray

    def __post_init__(self) -> None:
        centres = check_array(np.asarray(self.centres_in_world, np.float64), "centres_in_world", shape=(None, 3), finite=True)
        check_array(np.asarray(self.radii, np.float64), "radii", shape=(len(centres),), finite=True)
        object.__setattr__(self, "centres_in_world", centres)
        object.__setattr__(self, "radii", np.asarray(self.radii, np.float64))

    @classmethod
    def of_points(cls, points_in_world: np.ndarray, *, cells: int = 5) -> Occluder:
        """Spheres covering a point set (an object's vertices in world coordinates): the points
        are binned into cubes, ``cells`` along the longest side of their bounding box; each
        occupied cube becomes a sphere at its points' mean, a little larger than the cube's
        inscribed sphere or the points' spread (so neighbours overlap). Vertices are a surface
        (for a 2.5D layer, only its front), so a core sphere inscribed in the bounding box fills
        the inside."""
        points = check_array(np.asarray(points_in_world, np.float64), "points_in_world", shape=(None, 3), finite=True)
        if not len(points):
            return cls(np.zeros((0, 3)), np.zeros(0))
        low, high = points.min(axis=0), points.max(axis=0)
        side = max(float((high - low).max()) / max(int(cells), 1), 1e-9)
        keys = np.floor((points - low) / side).astype(np.int64)
        _, label = np.unique(keys, axis=0, return_inverse=True)
        label = label.ravel()
        count = np.bincount(label).astype(np.float64)
        centres = np.column_stack([np.bincount(label, weights=points[:, k]) for k in range(3)]) / count[:, None]
        spread = np.sqrt(np.bincount(label, weights=((points - centres[label]) ** 2).sum(axis=1)) / count)
        radii = 1.2 * np.maximum(spread, 0.5 * side)
        core = 0.45 * float((high - low).min())
        if core > 0:
            centres = np.vstack([centres, (low + high) / 2.0])
            radii = np.append(radii, core)
        return cls(centres, radii)

    def moved_from(self, other: Occluder) -> bool:
        """Whether this is not the same set of spheres as ``other`` (the object moved or changed)."""
        return self.radii.shape != other.radii.shape or not (
            np.allclose(self.centres_in_world, other.centres_in_world, atol=1e-6)
            and np.allclose(self.radii, other.radii, atol=1e-6)
        )


def occlusion(
    points_in_world: np.ndarray,
    normals_in_world: np.ndarray,
    occluders: Sequence[Occluder],
    *,
    towards_light: np.ndarray | None = None,
    penumbra: float = 0.08,
) -> tuple[np.ndarray, np.ndarray]:
    """How much of the ambient and of the dominant light the occluders take from each receiver.

    Args:
        points_in_world: N×3 receiving points (scene units).
        normals_in_world: N×3 unit normals at them.
        occluders: the objects casting.
        towards_light: unit world direction towards the dominant light, or None.
        penumbra: growth of the soft shadow's half-width per unit of distance along the ray
            (radians, roughly the light's angular radius).

    Returns:
        (ambient, direct): two N float64 arrays in [0, 1], 0 = unoccluded, 1 = fully; direct is
        0 everywhere without a dominant light.
    """
    p = np.asarray(points_in_world, np.float64).reshape(-1, 3)
    n = np.asarray(normals_in_world, np.float64).reshape(-1, 3)
    free_ambient = np.ones(len(p))
    free_direct = np.ones(len(p))
    for occluder in occluders:
        for centre, radius in zip(occluder.centres_in_world, occluder.radii):
            d = centre - p
            dist = np.maximum(np.linalg.norm(d, axis=1), 1e-9)
            cosine = np.clip((d * n).sum(axis=1) / dist, 0.0, 1.0)
            # (r/d)² is the sphere's share of the hemisphere's projected solid angle; inside it, all.
            ambient = cosine * np.minimum((radius / dist) ** 2, 1.0)
            free_ambient *= 1.0 - ambient
            if towards_light is not None:
                along = d @ towards_light
                miss = np.sqrt(np.maximum(dist**2 - along**2, 0.0))
                width = 0.15 * radius + penumbra * np.maximum(along, 0.0)
                shadow = 1.0 - _smoothstep(radius - width, radius + width, miss)
                free_direct *= 1.0 - np.where(along > 0.0, shadow, 0.0)
    return 1.0 - free_ambient, (1.0 - free_direct) if towards_light is not None else np.zeros(len(p))


def _smoothstep(low: np.ndarray | float, high: np.ndarray | float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - low) / np.maximum(np.asarray(high) - np.asarray(low), 1e-12), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)
