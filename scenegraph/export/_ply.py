"""PLY export of the sparse points: binary little-endian, float32 x y z, uchar red green blue alpha.

The points are in the scene's world (scene units, +Y up), the same frame as the COLMAP and
nerfstudio exports, with the ``/World/Points`` prim's transform applied. The colours are
the solve's sRGB pixel colours. trimesh writes the file (the layout most point tools read:
MeshLab, CloudCompare, Open3D, nerfstudio).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from pxr import Usd

from ..files import atomic_write
from ..types import InputError, SparsePoints
from ._common import ExportFormat, open_scene, output_path, sparse_points_in_world

__all__ = ["PLY", "export_ply", "ply_bytes"]

log = logging.getLogger(__name__)


def export_ply(scene: str | Path | Usd.Stage, out: str | Path, *, overwrite: bool = False) -> Path:
    """Write the scene's sparse points (edits applied) with their colours as a binary PLY.

    Args:
        scene: a scene file or folder, or an open stage.
        out: the ``.ply`` file to write; its folder must exist.
        overwrite: replace an existing file.

    Returns:
        The path written.

    Raises:
        InputError: the scene has no sparse points, or ``out`` is not a usable file path.
        OutputExistsError: ``out`` exists without ``overwrite``.
        SceneFileError: the scene cannot be read.
    """
    path = output_path(out, overwrite=overwrite)
    stage = open_scene(scene)
    points = sparse_points_in_world(stage)
    if len(points) == 0:
        raise InputError(
            "expected sparse points at /World/Points to export, got none (absent, empty, hidden or deleted); "
            "export the meshes with --to glb instead"
        )
    atomic_write(path, ply_bytes(points))
    log.info("PLY: %d points in %s", len(points), path)
    return path


def ply_bytes(points: SparsePoints) -> bytes:
    """The binary PLY of ``points`` (float32 positions, uint8 RGBA colours with alpha 255)."""
    import trimesh

    rgba = np.concatenate([points.colors, np.full((len(points), 1), 255, dtype=np.uint8)], axis=1)
    cloud = trimesh.PointCloud(points.points_in_world, colors=rgba)
    return cloud.export(file_type="ply", encoding="binary")


PLY = ExportFormat("ply", export_ply, frozenset())
