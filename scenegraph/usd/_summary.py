"""What ``sceneforge info`` prints about a scene: one summary dict of plain Python values."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from pxr import Usd, UsdGeom

from ..types import FrameStatus
from ._asset_policy import checked_asset, scene_root
from ._camera import FILM_BACK_WIDTH_MM
from ._light_probe import light_probe_summary
from ._meshes import mesh_summary
from ._objects import read_object_layers
from ._read import read_camera_track
from ._schema import ATTR_DEPTH_MAPS, ATTR_INSTANCE_MAPS, BACKGROUND_PATH, DEFAULT_CAMERA_PATH, EDITS_FILE
from ._stage import as_stage, layer_data

__all__ = ["scene_summary", "frame_asset_paths"]


def scene_summary(path: str | Path | Usd.Stage, *, camera: str = DEFAULT_CAMERA_PATH) -> dict[str, Any]:
    """What ``sceneforge info`` prints: one flat-ish dict of plain Python values.

    Keys: ``path``, ``format_version``, ``tool_version``, ``source``, ``camera``,
    ``frames``, ``first_frame``, ``last_frame``, ``fps``, ``duration_secs`` (source frames
    ``first..last`` at ``fps``), ``width``, ``height``, ``single_camera``,
    ``focal_length_px`` (fx of the first frame), ``focal_length_35mm`` (mm on a 36 mm wide
    film back), ``hfov_deg``, ``frame_status`` (counts by :class:`FrameStatus` name),
    ``num_points``, ``solve`` (the stored solve report, or {}), ``metadata`` (the caller's
    entries), ``layers`` (file names of the layer stack, strongest first),
    ``missing_layers``, ``has_edits``, ``meters_per_unit``, ``up_axis``, ``metric_scale``,
    ``background`` (``{"prim", "faces", "vertices", "texture_size"}`` of ``/World/Background``,
    ``texture_size`` [width, height] or None; None without a background mesh),
    ``depth_maps`` (number of per-frame depth files the camera references, 0 for none),
    ``missing_depth_maps`` (how many of those do not resolve to a file), ``instance_maps`` and
    ``missing_instance_maps`` (the same for the per-frame instance maps) and ``objects`` (one
    dict per object under ``/World/Objects``: ``name``, ``prim``, ``instance_id``, ``static``,
    ``frames_visible``, ``first_frame``, ``last_frame``, ``size`` (3 floats, scene units) and
    ``mask_quality``; see :func:`read_object_layers`) and ``light_probe`` (see
    :func:`light_probe_summary`; None without a probe).

    Raises:
        SceneFileError: as :func:`read_camera_track`.
    """
    stage = as_stage(path, require_world=True)
    track = read_camera_track(stage, camera=camera)
    data = layer_data(stage)
    first = track.intrinsics[0]
    root = stage.GetRootLayer()

    layers = [Path(layer.realPath).name if layer.realPath else layer.identifier for layer in stage.GetLayerStack(False)]
    root_dir = Path(root.realPath).parent if root.realPath else Path.cwd()
    missing = [p for p in root.subLayerPaths if not (root_dir / p).is_file()]
    edits_layer = next(
        (layer for layer in stage.GetLayerStack(False) if Path(layer.realPath or "").name == EDITS_FILE), None
    )
    has_edits = bool(edits_layer is not None and len(edits_layer.rootPrims) > 0)

    counts = np.bincount(track.status.astype(np.int64), minlength=len(FrameStatus))
    first_frame, last_frame = int(track.frame_numbers[0]), int(track.frame_numbers[-1])
    depth_attr = stage.GetPrimAtPath(camera).GetAttribute(ATTR_DEPTH_MAPS)
    depth_maps = list(depth_attr.Get() or []) if depth_attr.IsValid() else []
    instance_attr = stage.GetPrimAtPath(camera).GetAttribute(ATTR_INSTANCE_MAPS)
    instance_maps = list(instance_attr.Get() or []) if instance_attr.IsValid() else []
    return {
        "path": root.realPath or root.identifier,
        "format_version": data.get("formatVersion"),
        "tool_version": data.get("toolVersion"),
        "source": data.get("source", ""),
        "camera": camera,
        "frames": len(track),
        "first_frame": first_frame,
        "last_frame": last_frame,
        "fps": track.fps,
        "duration_secs": (last_frame - first_frame + 1) / track.fps,
        "width": first.width,
        "height": first.height,
        "single_camera": track.single_camera,
        "focal_length_px": first.fx,
        "focal_length_35mm": first.fx / first.width * FILM_BACK_WIDTH_MM,
        "hfov_deg": math.degrees(first.horizontal_fov_rad()),
        "frame_status": {status.name.lower(): int(counts[status]) for status in FrameStatus},
        "num_points": len(track.points),
        "solve": track.report.to_dict() if track.report is not None else {},
        "metadata": data.get("metadata", {}),
        "layers": layers,
        "missing_layers": missing,
        "has_edits": has_edits,
        "meters_per_unit": float(UsdGeom.GetStageMetersPerUnit(stage)),
        "up_axis": str(UsdGeom.GetStageUpAxis(stage)),
        "metric_scale": bool(data.get("metricScale", False)),
        "background": mesh_summary(stage, BACKGROUND_PATH),
        "depth_maps": len(depth_maps),
        "missing_depth_maps": sum(1 for asset in depth_maps if not asset.resolvedPath),
        "instance_maps": len(instance_maps),
        "missing_instance_maps": sum(1 for asset in instance_maps if not asset.resolvedPath),
        "objects": read_object_layers(stage),
        "light_probe": light_probe_summary(stage),
    }


def frame_asset_paths(path_or_stage: str | Path | Usd.Stage, attribute: str, *, camera: str = DEFAULT_CAMERA_PATH) -> list[Path | None]:
    """The per-frame files a camera references (``sceneforge:depthMaps``, ``sceneforge:instanceMaps``),
    resolved; None for a file that does not resolve. Empty when the camera has none.

    Raises:
        SceneFileError: the stage cannot be opened, or a file lies outside the scene's folder, is
            not a regular file or is too large (see :mod:`._asset_policy`).
    """
    stage = as_stage(path_or_stage, require_world=False)
    attr = stage.GetPrimAtPath(camera).GetAttribute(attribute)
    assets = list(attr.Get() or []) if attr.IsValid() else []
    root = scene_root(stage)
    return [checked_asset(asset.resolvedPath, root, what="per-frame file") if asset.resolvedPath else None for asset in assets]
