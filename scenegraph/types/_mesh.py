"""Triangle meshes with a texture, as the scene graph stores them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._check import check_array
from ._errors import InputError

__all__ = ["TexturedMesh"]


@dataclass(frozen=True, eq=False)
class TexturedMesh:
    """A triangle mesh in its own local frame, textured or vertex-coloured.

    Attributes:
        vertices: V×3 float64 positions (local frame, scene units).
        faces: F×3 int32 vertex indices, counter-clockwise seen from the front.
        uv: V×2 float32 texture coordinates (u right, v up, OpenGL/USD convention) or None.
        texture: T_h×T_w×3 uint8 RGB texture image (row 0 is the top, v = 1) or None.
        vertex_colors: V×3 uint8 RGB, used when there is no texture, or None.
        normals: V×3 float32 unit vertex normals or None.
    """

    vertices: np.ndarray
    faces: np.ndarray
    uv: np.ndarray | None = None
    texture: np.ndarray | None = None
    vertex_colors: np.ndarray | None = None
    normals: np.ndarray | None = None

    def __post_init__(self) -> None:
        v = check_array(self.vertices, "vertices", shape=(None, 3), dtype=np.float64, finite=True)
        f = check_array(self.faces, "faces", shape=(None, 3), dtype=np.int32)
        n = v.shape[0]
        if f.size and (f.min() < 0 or f.max() >= n):
            raise InputError(f"faces must index the {n} vertices, got indices {f.min()}..{f.max()}")
        if self.uv is not None:
            check_array(self.uv, "uv", shape=(n, 2), dtype=np.float32, finite=True)
        if self.texture is not None:
            check_array(self.texture, "texture", shape=(None, None, 3), dtype=np.uint8)
            if self.uv is None:
                raise InputError("a texture needs uv coordinates; pass uv with the texture")
        if self.vertex_colors is not None:
            check_array(self.vertex_colors, "vertex_colors", shape=(n, 3), dtype=np.uint8)
        if self.normals is not None:
            check_array(self.normals, "normals", shape=(n, 3), dtype=np.float32, finite=True)

    @property
    def num_vertices(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def num_faces(self) -> int:
        return int(self.faces.shape[0])

    def bounds(self) -> np.ndarray:
        """2×3 float64: min and max corner of the vertices."""
        if self.num_vertices == 0:
            return np.zeros((2, 3))
        return np.stack([self.vertices.min(axis=0), self.vertices.max(axis=0)])
