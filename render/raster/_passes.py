"""Render passes (AOVs): what the rasterizer hands to compositing, hole filling and writers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from sceneforge.scenegraph import InputError, ShapeError
from sceneforge.scenegraph import check_array

__all__ = ["PASS_NAMES", "PassName", "RenderPasses", "check_pass_names"]

PassName = Literal["rgb", "depth", "coverage", "normals", "object_id"]
"""Name of one render pass."""

PASS_NAMES: tuple[PassName, ...] = ("rgb", "depth", "coverage", "normals", "object_id")
"""Every pass the rasterizer can produce, in :class:`RenderPasses` field order."""


def check_pass_names(passes: Iterable[str]) -> tuple[PassName, ...]:
    """Validate requested pass names; returns them de-duplicated in :data:`PASS_NAMES` order.

    Raises:
        InputError: an unknown name, a bare string instead of a sequence, or no pass at all.
    """
    if isinstance(passes, str):
        raise InputError(f"passes must be a sequence of names, got the string {passes!r}; pass ({passes!r},)")
    wanted = set(passes)
    unknown = sorted(str(p) for p in wanted - set(PASS_NAMES))
    if unknown:
        raise InputError(f"unknown render pass(es) {', '.join(unknown)}; expected some of {', '.join(PASS_NAMES)}")
    if not wanted:
        raise InputError(f"ask for at least one render pass, got none; expected some of {', '.join(PASS_NAMES)}")
    return tuple(p for p in PASS_NAMES if p in wanted)


@dataclass(frozen=True, eq=False)
class RenderPasses:
    """One rendered frame, pass by pass; passes that were not asked for are ``None``.

    Every pass is H×W in the camera's image (row 0 at the top, pixel (row i, col j)
    centred at ``(j + 0.5, i + 0.5)``), sampled at pixel centres except ``rgb``, whose
    texture lookups are filtered.

    Attributes:
        rgb: H×W×3 float32 in [0, 1]: the unlit texture (or vertex) colours as stored, i.e.
            sRGB-encoded values, not linear light; 0 where there is no geometry.
        depth: H×W float32 z-depth in scene units along the camera's +Z (not ray length);
            0 where there is no geometry.
        coverage: H×W bool, True where a mesh covers the pixel centre.
        normals: H×W×3 float32 unit surface normals in the camera frame (OpenCV axes:
            +X right, +Y down, +Z forward), facing the camera; zeros where there is no geometry.
        object_id: H×W int32 id of the visible mesh (``Rasterizer.add_mesh(object_id=...)``);
            0 for none (and for meshes added with id 0).
    """

    rgb: np.ndarray | None = None
    depth: np.ndarray | None = None
    coverage: np.ndarray | None = None
    normals: np.ndarray | None = None
    object_id: np.ndarray | None = None

    def __post_init__(self) -> None:
        present = self.passes
        if not present:
            raise InputError(f"RenderPasses needs at least one pass, got none; set some of {', '.join(PASS_NAMES)}")
        first = getattr(self, present[0])
        if not isinstance(first, np.ndarray) or first.ndim < 2:
            raise ShapeError(
                f"{present[0]} must be an H×W(×C) numpy array, got {type(first).__name__}",
                expected="H×W array",
                actual=type(first).__name__,
            )
        h, w = first.shape[:2]
        if self.rgb is not None:
            rgb = check_array(self.rgb, "rgb", shape=(h, w, 3), dtype=np.float32, hint="pass float32 RGB in [0, 1]")
            if rgb.size and (not np.isfinite(rgb.min()) or rgb.min() < 0.0 or rgb.max() > 1.0):
                raise InputError(f"rgb must be finite and in [0, 1], got values in [{rgb.min()}, {rgb.max()}]")
        if self.depth is not None:
            depth = check_array(self.depth, "depth", shape=(h, w), dtype=np.float32)
            if depth.size and (not np.isfinite(depth.max()) or depth.min() < 0.0):
                raise InputError("depth must be finite and ≥ 0 (0 = no geometry)")
        if self.coverage is not None:
            check_array(self.coverage, "coverage", shape=(h, w), dtype=bool)
        if self.normals is not None:
            normals = check_array(self.normals, "normals", shape=(h, w, 3), dtype=np.float32)
            if normals.size and not np.isfinite(normals.max() - normals.min()):
                raise InputError("normals must be finite (zeros where there is no geometry)")
        if self.object_id is not None:
            check_array(self.object_id, "object_id", shape=(h, w), dtype=np.int32, hint="0 = no object")

    @property
    def passes(self) -> tuple[PassName, ...]:
        """Names of the passes present, in :data:`PASS_NAMES` order."""
        return tuple(name for name in PASS_NAMES if getattr(self, name) is not None)

    @property
    def height(self) -> int:
        """Image height in pixels."""
        return int(getattr(self, self.passes[0]).shape[0])

    @property
    def width(self) -> int:
        """Image width in pixels."""
        return int(getattr(self, self.passes[0]).shape[1])
