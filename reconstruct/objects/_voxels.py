"""The voxel grid the object proposals work in: occupied cells with the sampled frames that saw
them, connected components, and the background planes' cells."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Plane", "VoxelGrid", "Voxels", "components", "popcount", "voxelize"]


@dataclass(frozen=True)
class VoxelGrid:
    """A dense voxel grid over the scene: ``origin`` (3,), ``voxel`` edge, ``shape`` (3 ints)."""

    origin: np.ndarray
    voxel: float
    shape: tuple[int, int, int]

    def cells(self, points: np.ndarray) -> np.ndarray:
        """Flat cell index of each N×3 world point; -1 outside the grid."""
        ijk = np.floor((points - self.origin) / self.voxel).astype(np.int64)
        inside = np.all((ijk >= 0) & (ijk < np.asarray(self.shape)), axis=1)
        flat = np.full(len(points), -1, np.int64)
        flat[inside] = np.ravel_multi_index(tuple(ijk[inside].T), self.shape)
        return flat

    def volume(self, flat: np.ndarray, values: np.ndarray | int = 1, dtype=np.int32) -> np.ndarray:
        """A dense volume with ``values`` at the cells ``flat`` and 0 elsewhere."""
        out = np.zeros(int(np.prod(self.shape)), dtype)
        out[flat] = values
        return out.reshape(self.shape)


@dataclass(frozen=True)
class Voxels:
    """The occupied cells of the point cloud: flat index, centroid of its points and the
    sampled frames that saw it (bit ``k`` of ``views`` = the ``k``-th sampled frame)."""

    flat: np.ndarray
    centroid: np.ndarray
    views: np.ndarray


@dataclass(frozen=True)
class Plane:
    """A background plane: ``normal`` (unit, 3) and ``offset`` with ``normal · x = offset``,
    and the flat grid cells of its inliers."""

    normal: np.ndarray
    offset: float
    cells: np.ndarray


def voxelize(grid: VoxelGrid, points: np.ndarray, view_of: np.ndarray) -> Voxels:
    cells = grid.cells(points)
    inside = cells >= 0
    cells, points, view_of = cells[inside], points[inside], view_of[inside]
    sort = np.argsort(cells, kind="stable")
    cells, points, view_of = cells[sort], points[sort], view_of[sort]
    flat, start, count = np.unique(cells, return_index=True, return_counts=True)
    centroid = np.add.reduceat(points, start, axis=0) / count[:, None]
    views = np.bitwise_or.reduceat(np.left_shift(np.uint64(1), view_of.astype(np.uint64)), start)
    return Voxels(flat=flat, centroid=centroid, views=views)


def popcount(bits: np.ndarray) -> np.ndarray:
    """Set bits of each uint64."""
    as_bytes = bits.astype(np.uint64).view(np.uint8).reshape(len(bits), 8)
    return np.unpackbits(as_bytes, axis=1).sum(axis=1)


def components(grid: VoxelGrid, flat: np.ndarray, gap: int) -> np.ndarray:
    """Connected-component label (1-based) of each of the cells ``flat`` (26-connected,
    gaps of up to ``gap`` voxels closed first)."""
    from scipy import ndimage

    occupied = grid.volume(flat, 1, np.uint8).astype(bool)
    if gap > 0:
        occupied = ndimage.binary_dilation(occupied, np.ones((3, 3, 3), bool), iterations=gap)
    labels, _ = ndimage.label(occupied, np.ones((3, 3, 3), bool))
    return labels.reshape(-1)[flat]
