"""Writing a SceneForge scene: the three layers, the plate camera, the sparse points, the
background and the objects (the layout is in ``_schema``)."""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pxr import Kind, Sdf, Usd, UsdGeom, Vt

from ..types import CameraTrack, InputError, LightProbe, SceneFileError, SparsePoints, TexturedMesh
from ._camera import author_camera
from ._convert import srgb_to_linear, to_usd_value
from ._light_probe import write_light_probe
from ._meshes import author_mesh
from ._objects import ObjectLayer, author_object_layer, check_object_layers
from ._schema import (
    ATTR_DEPTH_MAPS,
    ATTR_INSTANCE_MAPS,
    BACKGROUND_PATH,
    CAMERAS_PATH,
    DEFAULT_CAMERA_PATH,
    EDITS_FILE,
    FORMAT_VERSION,
    LAYER_DATA_KEY,
    POINTS_PATH,
    PRIMVAR_ERROR,
    RECONSTRUCTION_FILE,
    SCENE_FILE,
    WORLD_PATH,
)
from ._stage import export_layer, read_layer_from_disk

__all__ = ["orphaned_edits", "write_scene"]

log = logging.getLogger(__name__)


def write_scene(
    folder: str | Path,
    track: CameraTrack,
    *,
    meters_per_unit: float = 1.0,
    metric_scale: bool = False,
    source: str = "",
    metadata: Mapping[str, Any] | None = None,
    background: TexturedMesh | None = None,
    depth_paths: Sequence[str] | None = None,
    objects: Sequence[ObjectLayer] = (),
    instance_paths: Sequence[str] | None = None,
    light_probe: LightProbe | None = None,
    keep_edits: bool = True,
) -> Path:
    """Write a camera track as a SceneForge scene: ``reconstruction.usda``, ``edits.usda``, ``scene.usda``.

    Each layer is exported to a temporary file in ``folder`` and moved into place with
    ``os.replace``; reconstruction and edits first, ``scene.usda`` last, so a crash never
    leaves a root layer pointing at half-written content. Other files in ``folder`` are kept;
    the three layers are replaced.

    Args:
        folder: an existing folder.
        track: N frames of OpenCV cameras (``world_from_cam`` in scene units) and sparse points.
        meters_per_unit: the stage's ``metersPerUnit`` (metres in one scene unit).
        metric_scale: whether the scene units really are known to be ``meters_per_unit`` metres
            (False for an up-to-scale solve).
        source: the clip the scene came from, recorded in the layer metadata.
        metadata: extra entries for ``customLayerData.sceneforge.metadata`` (numbers, strings,
            lists, nested dicts), e.g. solve summary numbers.
        background: the static background in world coordinates, written as the mesh
            ``/World/Background`` (kind component) with its material under ``/World/Looks`` and
            its texture as ``textures/Background.png`` (see :func:`author_mesh`), before the layers.
        depth_paths: one depth file per frame, relative to ``folder`` (e.g. ``depth/0001.npz``),
            stored on the plate camera as the ``sceneforge:depthMaps`` asset array. The files
            should exist before the scene is validated (USD checks that assets resolve).
        objects: the shot's objects, each authored as ``/World/Objects/<name>`` (see
            :func:`author_object_layer`; per-frame textures of moving objects go to
            ``textures/<name>/``), after the background.
        instance_paths: one instance-map file per frame, relative to ``folder`` (e.g.
            ``instances/0001.npz``), stored on the plate camera as the
            ``sceneforge:instanceMaps`` asset array, as ``depth_paths`` are.
        light_probe: the shot's light probe, written as the dome light
            ``/World/Lights/LightProbe`` with its map as ``textures/light_probe.hdr`` (see
            :func:`write_light_probe`).
        keep_edits: when ``folder`` already holds an ``edits.usda`` with edits (a shot being
            reconstructed again), keep them in the new scene — the old file is first copied to
            ``edits.usda.bak`` — instead of starting from empty edits. Use
            :func:`orphaned_edits` to list those that refer to prims the new reconstruction
            no longer has.

    Returns:
        The path of ``scene.usda``.

    Raises:
        InputError: ``folder`` is not a folder, ``meters_per_unit`` is not positive, or
            ``background`` / ``depth_paths`` / ``objects`` / ``instance_paths`` / ``light_probe``
            are not what is described above.
    """
    out = Path(folder)
    if not out.is_dir():
        raise InputError(f"folder must be an existing folder, got {str(folder)!r}; create it first")
    if not (math.isfinite(meters_per_unit) and meters_per_unit > 0):
        raise InputError(f"meters_per_unit must be a positive number, got {meters_per_unit}")
    if not isinstance(track, CameraTrack):
        raise InputError(f"track must be a CameraTrack, got {type(track).__name__}")
    if background is not None and not isinstance(background, TexturedMesh):
        raise InputError(f"background must be a TexturedMesh, got {type(background).__name__}")
    if light_probe is not None and not isinstance(light_probe, LightProbe):
        raise InputError(f"light_probe must be a LightProbe, got {type(light_probe).__name__}")
    depth_assets = _check_depth_paths(depth_paths, len(track))
    instance_assets = _check_depth_paths(instance_paths, len(track), name="instance_paths", example="instances/0001.npz")
    object_layers = check_object_layers(objects, track.frame_numbers)

    layer_data = {
        LAYER_DATA_KEY: to_usd_value(
            {
                "formatVersion": FORMAT_VERSION,
                "toolVersion": _tool_version(),
                "source": str(source),
                "metricScale": bool(metric_scale),
                "metadata": dict(metadata or {}),
                **({"solveReport": track.report.to_dict()} if track.report is not None else {}),
            },
            LAYER_DATA_KEY,
        )
    }

    reconstruction = _reconstruction_layer(
        track, meters_per_unit, out, background, depth_assets, objects=object_layers, instance_assets=instance_assets,
        light_probe=light_probe,
    )
    reconstruction.customLayerData = layer_data
    edits = Sdf.Layer.CreateAnonymous(".usda")
    previous = _previous_edits(out / EDITS_FILE) if keep_edits else None
    if previous is not None:
        shutil.copyfile(out / EDITS_FILE, out / f"{EDITS_FILE}.bak")
        edits.TransferContent(previous)
        log.info("kept the edits of %s (the old file is %s.bak)", out / EDITS_FILE, EDITS_FILE)
    scene = Sdf.Layer.CreateAnonymous(".usda")
    scene.subLayerPaths.append(f"./{EDITS_FILE}")
    scene.subLayerPaths.append(f"./{RECONSTRUCTION_FILE}")
    scene.customLayerData = layer_data
    for layer in (reconstruction, edits, scene):
        _stamp_stage_metadata(layer, track, meters_per_unit)
    reconstruction.comment = f"SceneForge reconstruction; written once, edits go to {EDITS_FILE}"
    edits.comment = f"SceneForge edits; stronger than {RECONSTRUCTION_FILE}"

    for layer, name in ((reconstruction, RECONSTRUCTION_FILE), (edits, EDITS_FILE), (scene, SCENE_FILE)):
        export_layer(layer, out / name)
    log.debug("wrote %d frames and %d points to %s", len(track), len(track.points), out)
    return out / SCENE_FILE


def _previous_edits(path: Path) -> Sdf.Layer | None:
    """The edits layer in ``path`` when it holds any edit (a prim spec), else None (also when
    it is missing or unreadable: then there is nothing to keep)."""
    try:
        layer = read_layer_from_disk(path)
    except SceneFileError as exc:
        log.warning("%s; the new scene starts with no edits", exc)
        return None
    return layer if layer is not None and layer.rootPrims else None


def orphaned_edits(path: str | Path) -> list[str]:
    """Prim paths the scene's ``edits.usda`` has opinions on (``over``) that nothing defines any
    more — edits kept across a new reconstruction whose prims it no longer has."""
    stage = Usd.Stage.Open(str(Path(path) / SCENE_FILE if Path(path).is_dir() else path))
    edits = next((layer for layer in stage.GetLayerStack(False) if Path(layer.realPath).name == EDITS_FILE), None)
    if edits is None:
        return []
    out = []

    def visit(spec_path: Sdf.Path) -> None:
        if not spec_path.IsPrimPath():
            return
        spec = edits.GetPrimAtPath(spec_path)
        prim = stage.GetPrimAtPath(spec_path)
        if spec and spec.specifier == Sdf.SpecifierOver and prim and not prim.IsDefined():
            parent = spec_path.GetParentPath()
            if not any(parent.HasPrefix(Sdf.Path(o)) for o in out):
                out.append(str(spec_path))

    edits.Traverse(Sdf.Path.absoluteRootPath, visit)
    return sorted(out)


def _tool_version() -> str:
    try:
        from importlib.metadata import version

        return version("sceneforge")
    except Exception:  # not installed (e.g. run from a source tree)
        return "0+unknown"


def _stamp_stage_metadata(layer: Sdf.Layer, track: CameraTrack, meters_per_unit: float) -> None:
    """The stage metadata every SceneForge layer carries."""
    layer.defaultPrim = WORLD_PATH.lstrip("/")
    layer.pseudoRoot.SetInfo(UsdGeom.Tokens.upAxis, UsdGeom.Tokens.y)
    layer.pseudoRoot.SetInfo(UsdGeom.Tokens.metersPerUnit, float(meters_per_unit))
    layer.timeCodesPerSecond = track.fps
    layer.framesPerSecond = track.fps
    layer.startTimeCode = float(track.frame_numbers[0])
    layer.endTimeCode = float(track.frame_numbers[-1])


def _check_depth_paths(
    depth_paths: Sequence[str] | None, num_frames: int, *, name: str = "depth_paths", example: str = "depth/0001.npz"
) -> list[str] | None:
    """Per-frame files (depth or instance maps, ``name``) as ``./``-relative asset paths,
    checked: one relative path per frame."""
    if depth_paths is None:
        return None
    if isinstance(depth_paths, (str, Path)):
        raise InputError(f"{name} must be a sequence of paths, one per frame, got a single path")
    paths = [str(p) for p in depth_paths]
    if len(paths) != num_frames:
        raise InputError(f"{name} must have one path per frame ({num_frames}), got {len(paths)}")
    bad = [p for p in paths if not p or Path(p).is_absolute() or "\\" in p]
    if bad:
        raise InputError(
            f"{name} must be relative to the scene folder with / separators, got {bad[0]!r}; "
            f"pass e.g. {example}"
        )
    return [p if p.startswith(("./", "../")) else f"./{p}" for p in paths]


def _reconstruction_layer(
    track: CameraTrack,
    meters_per_unit: float,
    folder: Path,
    background: TexturedMesh | None = None,
    depth_assets: list[str] | None = None,
    *,
    objects: Sequence[ObjectLayer] = (),
    instance_assets: list[str] | None = None,
    light_probe: LightProbe | None = None,
) -> Sdf.Layer:
    """An anonymous layer with /World, the plate camera, the sparse points, the background, the
    objects and the light probe."""
    # Created first and returned, so the layer outlives the stage used to author it.
    layer = Sdf.Layer.CreateAnonymous(".usda")
    stage = Usd.Stage.Open(layer)
    world = UsdGeom.Xform.Define(stage, WORLD_PATH)
    # /World is the root of the model hierarchy; objects will be components under a group.
    Usd.ModelAPI(world.GetPrim()).SetKind(Kind.Tokens.assembly)
    stage.SetDefaultPrim(world.GetPrim())
    UsdGeom.Xform.Define(stage, CAMERAS_PATH)  # an Xform, so an edit can move every camera at once
    camera = author_camera(stage, DEFAULT_CAMERA_PATH, track, meters_per_unit)
    if depth_assets is not None:
        camera.GetPrim().CreateAttribute(ATTR_DEPTH_MAPS, Sdf.ValueTypeNames.AssetArray, custom=True).Set(
            Sdf.AssetPathArray(depth_assets)
        )
    if instance_assets is not None:
        camera.GetPrim().CreateAttribute(ATTR_INSTANCE_MAPS, Sdf.ValueTypeNames.AssetArray, custom=True).Set(
            Sdf.AssetPathArray(instance_assets)
        )
    if len(track.points) > 0:
        _author_points(stage, POINTS_PATH, track.points)
    if background is not None:
        author_mesh(stage, BACKGROUND_PATH, background, folder=folder, name="Background", kind=Kind.Tokens.component)
    if objects:
        for object_layer in objects:
            author_object_layer(stage, object_layer, folder=folder, clip_frame_numbers=track.frame_numbers)
    if light_probe is not None:
        write_light_probe(stage, light_probe, folder)
    return layer


def _author_points(stage: Usd.Stage, path: str, sparse: SparsePoints) -> UsdGeom.Points:
    points = UsdGeom.Points.Define(stage, path)
    positions = sparse.points_in_world
    points.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(positions.astype(np.float32)))

    # Width: 1% of the scene's extent, measured between percentiles so stray points don't count.
    p1, p99 = np.percentile(positions, [1, 99], axis=0)
    scene_extent = float(np.linalg.norm(p99 - p1))
    width = 0.01 * scene_extent if scene_extent > 0 else 0.01
    points.CreateWidthsAttr(Vt.FloatArray([width]))
    points.SetWidthsInterpolation(UsdGeom.Tokens.constant)

    # displayColor is linear RGB; the solve's colours are sRGB-encoded pixels.
    linear = srgb_to_linear(sparse.colors.astype(np.float64) / 255.0).astype(np.float32)
    points.CreateDisplayColorPrimvar(UsdGeom.Tokens.vertex).Set(Vt.Vec3fArray.FromNumpy(linear))

    primvars = UsdGeom.PrimvarsAPI(points.GetPrim())
    error = primvars.CreatePrimvar(PRIMVAR_ERROR, Sdf.ValueTypeNames.FloatArray, UsdGeom.Tokens.vertex)
    error.Set(Vt.FloatArray.FromNumpy(sparse.error_px.astype(np.float32)))

    # UsdGeomPoints.ComputeExtent wants one width per point; with one constant width the
    # extent is the positions' box grown by half the width (what the schema asks for).
    stored = positions.astype(np.float32).astype(np.float64)
    half = 0.5 * float(np.float32(width))
    lo = np.nextafter((stored.min(axis=0) - half).astype(np.float32), np.float32(-np.inf))
    hi = np.nextafter((stored.max(axis=0) + half).astype(np.float32), np.float32(np.inf))
    points.CreateExtentAttr(Vt.Vec3fArray.FromNumpy(np.stack([lo, hi])))
    return points
