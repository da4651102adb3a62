"""COLMAP text model export: ``cameras.txt``, ``images.txt``, ``points3D.txt`` in one folder.

COLMAP's conventions are ours: camera axes OpenCV, poses stored as ``cam_from_world``
(quaternion ``QW QX QY QZ`` and translation), pixel (0, 0)'s centre at (0.5, 0.5), and the
RADIAL / OPENCV radial terms ``x_d = x (1 + k1 r² + k2 r⁴)`` of :class:`Intrinsics`. So
``K``, the distortion and the poses are written as they are, in full double precision.

The camera model follows the intrinsics: PINHOLE (fx, fy, cx, cy) without distortion;
RADIAL (f, cx, cy, k1, k2) with distortion and square pixels; OPENCV (fx, fy, cx, cy, k1,
k2, 0, 0) with distortion and non-square pixels. Frames that share intrinsics share one
camera (one camera for a fixed lens, one per frame for a zoom). Every frame is an image,
whatever its :class:`FrameStatus` (interpolated frames included), numbered 1..N in order.

Images have no 2D points (the POINTS2D line is empty) and the points have empty tracks: the
scene keeps the solve's geometry, not its feature matches. COLMAP and pycolmap read such a
model; tools that need observations (bundle adjustment) must re-triangulate.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pxr import Usd

from ..types import InputError, Intrinsics, invert_rigid, quat_wxyz_from_rotation
from ..usd import DEFAULT_CAMERA_PATH, read_camera_track
from ._common import (
    ExportFormat,
    check_no_skew,
    format_float,
    image_names,
    open_scene,
    output_path,
    sparse_points_in_world,
    write_folder_atomic,
)

__all__ = ["COLMAP", "export_colmap"]

log = logging.getLogger(__name__)

COLMAP_FILES = ("cameras.txt", "images.txt", "points3D.txt")

# What a COLMAP sparse model folder may hold; an existing folder holding only these may be
# replaced by a new export.
_MODEL_FILES = frozenset(
    {*COLMAP_FILES, "cameras.bin", "images.bin", "points3D.bin"}
    | {"rigs.txt", "rigs.bin", "frames.txt", "frames.bin", "project.ini"}
)
_SQUARE_PIXEL_RTOL = 1e-12


def export_colmap(
    scene: str | Path | Usd.Stage,
    out: str | Path,
    *,
    overwrite: bool = False,
    image_paths: Sequence[str | Path] | None = None,
    camera: str = DEFAULT_CAMERA_PATH,
) -> Path:
    """Write the scene's camera track and sparse points as a COLMAP text model folder.

    Args:
        scene: a scene file or folder, or an open stage (edits applied).
        out: the model folder to create (``cameras.txt``, ``images.txt``, ``points3D.txt``);
            its parent must exist. An existing empty folder is filled.
        overwrite: replace an existing model folder (one holding only COLMAP model files).
        image_paths: image names, one per frame, relative to COLMAP's image folder;
            None for ``frame_%06d.png`` from each frame's source frame number.
        camera: prim path of the camera.

    Returns:
        The model folder.

    Raises:
        InputError: bad ``out`` or ``image_paths``, or intrinsics with skew.
        OutputExistsError: the folder exists (and is not empty) without ``overwrite``.
        SceneFileError: the scene or its camera cannot be read.
    """
    path = output_path(out, overwrite=overwrite, folder=True)
    stage = open_scene(scene)
    track = read_camera_track(stage, camera=camera)
    names = image_names(track, image_paths)
    bad = next((n for n in names if any(c.isspace() for c in n)), None)
    if bad is not None:
        raise InputError(f"COLMAP image names cannot hold spaces, got {bad!r}; rename the images")
    points = sparse_points_in_world(stage)

    camera_ids: dict[Intrinsics, int] = {}
    for intrinsics in track.intrinsics:
        camera_ids.setdefault(intrinsics, len(camera_ids) + 1)
    camera_lines = [
        "# Camera list with one line of data per camera:",
        "#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]",
        f"# Number of cameras: {len(camera_ids)}",
    ]
    for intrinsics, camera_id in camera_ids.items():
        model, params = colmap_camera(intrinsics)
        camera_lines.append(
            f"{camera_id} {model} {intrinsics.width} {intrinsics.height} " + " ".join(format_float(p) for p in params)
        )

    image_lines = [
        "# Image list with two lines of data per image:",
        "#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME",
        "#   POINTS2D[] as (X, Y, POINT3D_ID)",
        f"# Number of images: {len(track)}, mean observations per image: 0",
    ]
    for index, (cam_from_world, intrinsics, name) in enumerate(zip(invert_rigid(track.world_from_cam), track.intrinsics, names)):
        quat = quat_wxyz_from_rotation(cam_from_world[:3, :3])
        numbers = " ".join(format_float(v) for v in (*quat, *cam_from_world[:3, 3]))
        image_lines.append(f"{index + 1} {numbers} {camera_ids[intrinsics]} {name}")
        image_lines.append("")  # no 2D points

    point_lines = [
        "# 3D point list with one line of data per point:",
        "#   POINT3D_ID, X, Y, Z, R, G, B, ERROR, TRACK[] as (IMAGE_ID, POINT2D_IDX)",
        f"# Number of points: {len(points)}, mean track length: 0",
    ]
    # COLMAP marks an unknown error with -1.
    errors = np.where(np.isfinite(points.error_px), points.error_px, -1.0)
    for index, (xyz, rgb, error) in enumerate(zip(points.points_in_world, points.colors, errors)):
        coords = " ".join(format_float(v) for v in xyz)
        point_lines.append(f"{index + 1} {coords} {rgb[0]} {rgb[1]} {rgb[2]} {format_float(error)}")

    files = {
        "cameras.txt": _text(camera_lines),
        "images.txt": _text(image_lines),
        "points3D.txt": _text(point_lines),
    }
    write_folder_atomic(path, files, overwrite=overwrite, replaceable=_MODEL_FILES)
    log.info("COLMAP model: %d cameras, %d images, %d points in %s", len(camera_ids), len(track), len(points), path)
    return path


def colmap_camera(intrinsics: Intrinsics) -> tuple[str, list[float]]:
    """(COLMAP model name, its parameters) describing ``intrinsics`` exactly.

    Raises:
        InputError: ``K`` has skew (no COLMAP model has one).
    """
    check_no_skew(intrinsics, "COLMAP")
    fx, fy, cx, cy = intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy
    k1, k2 = (float(k) for k in intrinsics.radial)
    if not intrinsics.has_distortion:
        return "PINHOLE", [fx, fy, cx, cy]
    if abs(fx - fy) <= _SQUARE_PIXEL_RTOL * fx:
        return "RADIAL", [fx, cx, cy, k1, k2]
    return "OPENCV", [fx, fy, cx, cy, k1, k2, 0.0, 0.0]


def _text(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


COLMAP = ExportFormat("colmap", export_colmap, frozenset({"image_paths", "camera"}))
