"""Reading a SceneForge scene back: the camera track, the sparse points, the solve report."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from pxr import Usd, UsdGeom

from ..types import CameraTrack, FrameStatus, InputError, SceneFileError, SolveReport, SparsePoints
from ._camera import read_frame_numbers, read_intrinsics, read_world_from_cam
from ._convert import linear_to_srgb, transform_from_gf
from ._schema import ATTR_FRAME_STATUS, DEFAULT_CAMERA_PATH, POINTS_PATH, PRIMVAR_ERROR
from ._stage import as_stage, layer_data

__all__ = ["read_camera_track", "read_points"]

log = logging.getLogger(__name__)


def read_camera_track(
    path: str | Path | Usd.Stage,
    *,
    camera: str = DEFAULT_CAMERA_PATH,
    width: int | None = None,
) -> CameraTrack:
    """Read a camera track from the composed stage (edits applied).

    Per frame: ``world_from_cam`` from the camera's local-to-world transform at the frame's
    time code (exact doubles, converted to OpenCV axes), K from the standard camera
    attributes, or the exact ``sceneforge:K`` while those still agree with it to float32
    precision (relative 1e-5). Frame numbers, status and image size come from the
    ``sceneforge:*`` attributes; fps from the stage's ``timeCodesPerSecond``; sparse points
    from ``/World/Points``; the solve report from the layer metadata.

    A camera another tool wrote (no ``sceneforge:*`` attributes) still reads: its frames are
    the transform's time samples (else the stage's start..end time codes, else frame 0),
    every frame counts as SOLVED, and the image is ``width`` pixels wide (1920 when None)
    with the height of the apertures' aspect.

    Args:
        path: a scene file or folder, or an open stage.
        camera: prim path of the camera.
        width: image width in pixels for a camera without ``sceneforge:imageSize``
            (ignored when the camera has one).

    Raises:
        SceneFileError: unreadable scene, no camera at ``camera``, or a camera transform that
            is not rigid.
    """
    stage = as_stage(path, require_world=False)
    prim = stage.GetPrimAtPath(camera)
    if not prim.IsValid() or not prim.IsA(UsdGeom.Camera):
        raise SceneFileError(
            f"expected a Camera prim at {camera}, got {'a ' + prim.GetTypeName() if prim.IsValid() else 'nothing'} "
            f"in {stage.GetRootLayer().identifier}; pass the camera's prim path (--camera, or camera= from Python)"
        )
    usd_camera = UsdGeom.Camera(prim)
    frame_numbers = read_frame_numbers(stage, usd_camera)
    times = [Usd.TimeCode(float(n)) for n in frame_numbers]

    world_from_cam = read_world_from_cam(usd_camera, times)
    intrinsics = read_intrinsics(usd_camera, times, width)

    status_attr = prim.GetAttribute(ATTR_FRAME_STATUS)
    status_value = status_attr.Get() if status_attr.IsValid() else None
    if status_value is not None and len(status_value) == len(frame_numbers):
        status = np.asarray(status_value, dtype=np.int8)
    else:
        status = np.full(len(frame_numbers), int(FrameStatus.SOLVED), dtype=np.int8)

    try:
        return CameraTrack(
            intrinsics=intrinsics,
            world_from_cam=world_from_cam,
            frame_numbers=frame_numbers,
            fps=stage.GetTimeCodesPerSecond(),
            status=status,
            points=read_points(stage),
            report=_read_report(stage),
        )
    except InputError as exc:
        raise SceneFileError(
            f"expected a valid camera track at {camera}, got one that is not ({exc}); "
            "remove non-rigid edits (scale, shear) from the camera"
        ) from exc


def read_points(stage: Usd.Stage) -> SparsePoints:
    """The sparse points of ``/World/Points`` in the composed world (empty when there are none)."""
    points = UsdGeom.Points(stage.GetPrimAtPath(POINTS_PATH))
    if not points:
        return SparsePoints.empty()
    positions = points.GetPointsAttr().Get()
    if positions is None or len(positions) == 0:
        return SparsePoints.empty()
    xyz = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    # An edit may move the points (or /World): read them in the composed world.
    world_from_points = transform_from_gf(points.ComputeLocalToWorldTransform(Usd.TimeCode.EarliestTime()))
    if not np.allclose(world_from_points, np.eye(4)):
        xyz = xyz @ world_from_points[:3, :3].T + world_from_points[:3, 3]
    n = len(xyz)

    colors = np.full((n, 3), 128, dtype=np.uint8)
    display = points.GetDisplayColorPrimvar()
    if display and display.HasValue():
        values = np.asarray(display.ComputeFlattened(), dtype=np.float64).reshape(-1, 3)
        if len(values) == n:
            colors = np.round(linear_to_srgb(values) * 255.0).astype(np.uint8)
        elif len(values) == 1:
            colors[:] = np.round(linear_to_srgb(values[0]) * 255.0).astype(np.uint8)

    error_px = np.full(n, np.nan)
    error = UsdGeom.PrimvarsAPI(points.GetPrim()).GetPrimvar(PRIMVAR_ERROR)
    if error and error.HasValue():
        values = np.asarray(error.ComputeFlattened(), dtype=np.float64).reshape(-1)
        if len(values) == n:
            error_px = values
    return SparsePoints(points_in_world=xyz, colors=colors, error_px=error_px)


def _read_report(stage: Usd.Stage) -> SolveReport | None:
    data = layer_data(stage).get("solveReport")
    if not data:
        return None
    try:
        return SolveReport.from_dict(data)
    except (TypeError, ValueError) as exc:
        log.warning("ignoring an unreadable solve report in %s: %s", stage.GetRootLayer().identifier, exc)
        return None
