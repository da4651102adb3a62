"""USD I/O of a shot: write the three-layer scene, read the camera track back, summarise, validate.

A SceneForge scene is a folder with three layers (DESIGN.md, "The USD scene")::

    scene.usda           root layer people open; subLayers = [./edits.usda, ./reconstruction.usda]
    edits.usda           every later edit (stronger, so it overrides the reconstruction)
    reconstruction.usda  the reconstruction, written once

and this content::

    /World                 Xform, defaultPrim, kind assembly
    /World/Cameras         Xform
    /World/Cameras/Plate   Camera; xformOp:transform time-sampled at the source frame numbers
    /World/Points          Points of the camera solve (omitted when there are none)
    /World/Background      the background mesh, when given (see _usd_mesh.author_mesh)
    /World/Objects/<name>  one Xform per object, when given (see _objects.author_object_layer)

Camera axes. Our cameras are OpenCV (+X right, +Y down, +Z forward); USD cameras look
down -Z with +Y up. The flip ``diag(1, -1, -1, 1)`` between the two is applied here and
in the rasterizer, nowhere else: ``world_from_usdcam = world_from_cam @ diag(1, -1, -1, 1)``.

Camera units. The USD spec puts focal length and apertures in tenths of a scene unit,
i.e. in ``0.1 * metersPerUnit`` metres. The film back is a 36 mm wide full-frame
equivalent, so with ``t = 0.1 * metersPerUnit`` (metres per tenth of a scene unit)::

    horizontalAperture       = 0.036 / t                      (= 0.36 / metersPerUnit)
    focalLength              = fx / width * horizontalAperture
    verticalAperture         = focalLength * height / fy
    horizontalApertureOffset = horizontalAperture * (0.5 - cx / width)
    verticalApertureOffset   = verticalAperture * (cy / height - 0.5)

The offsets follow from Gf.Camera's frustum (window = (±aperture / 2 + offset) /
focalLength at unit distance, NDC y up) and the pixel-centre convention
``u = (ndc_x + 1) / 2 * width``, ``v = (1 - ndc_y) / 2 * height``: a principal point right
of centre gives a negative horizontal offset, one below centre a positive vertical
offset (image v grows down, NDC y grows up). ``tests/scenegraph/test_usd.py`` proves it
by projecting through ``UsdGeom.Camera.GetCamera(t).frustum``.

Blender's USD importer (``source/blender/io/usd/intern/usd_reader_camera.cc``) converts
with ``tenth_unit_to_millimeters = 100 * stage_meters_per_unit``::

    lens_mm     = focalLength * 100 * metersPerUnit
    sensor_x_mm = horizontalAperture * 100 * metersPerUnit
    shift_x     = horizontalApertureOffset * 100 * metersPerUnit / max(sensor_x_mm, sensor_y_mm)

so a 35 mm lens on our 36 mm film back imports as 35 mm on a 36 mm sensor whatever the
stage's metersPerUnit.

UsdGeom.Camera has no skew and no lens distortion; those live only in the custom
attributes below. The camera attributes are 32-bit floats, so the exact K is kept beside them as
``sceneforge:K`` (matrix3d) together with ``sceneforge:radialDistortion`` (double2),
``sceneforge:imageSize`` (int2), ``sceneforge:frameNumbers`` (int64[]) and
``sceneforge:frameStatus`` (int[]). The reader trusts ``sceneforge:K`` only while the
standard attributes still agree with it (an edit of the focal length wins).
"""

from __future__ import annotations

import logging
import math
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pxr import Gf, Kind, Sdf, Tf, Usd, UsdGeom, Vt

from ._camera import CameraTrack, FrameStatus, Intrinsics, SolveReport, SparsePoints
from ._errors import InputError, SceneFileError
from ._mesh import TexturedMesh

if TYPE_CHECKING:
    from ._objects import ObjectLayer

__all__ = [
    "DEFAULT_CAMERA_PATH",
    "SCENE_FILE",
    "EDITS_FILE",
    "RECONSTRUCTION_FILE",
    "StageValidation",
    "open_stage",
    "write_scene",
    "read_camera_track",
    "scene_summary",
    "validate_stage",
]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
"""Version of the SceneForge USD layout, stored as ``customLayerData.sceneforge.formatVersion``."""

SCENE_FILE = "scene.usda"
EDITS_FILE = "edits.usda"
RECONSTRUCTION_FILE = "reconstruction.usda"
DEFAULT_CAMERA_PATH = "/World/Cameras/Plate"

FILM_BACK_WIDTH_MM = 36.0
"""Width of the full-frame-equivalent film back the USD camera is given."""

_WORLD_PATH = "/World"
_POINTS_PATH = "/World/Points"
_BACKGROUND_PATH = "/World/Background"
_LAYER_DATA_KEY = "sceneforge"
_DEFAULT_CLIPPING_RANGE = (0.01, 1000.0)
_DEFAULT_WIDTH_PX = 1920
_K_AGREEMENT_RTOL = 1e-5

# OpenCV camera axes <-> USD/OpenGL camera axes; its own inverse. Used only in this module
# and in the rasterizer (DESIGN.md, Conventions).
_CV_FROM_GL = np.diag([1.0, -1.0, -1.0, 1.0])

_ATTR_K = "sceneforge:K"
_ATTR_RADIAL = "sceneforge:radialDistortion"
_ATTR_IMAGE_SIZE = "sceneforge:imageSize"
_ATTR_FRAME_NUMBERS = "sceneforge:frameNumbers"
_ATTR_FRAME_STATUS = "sceneforge:frameStatus"
_ATTR_DEPTH_MAPS = "sceneforge:depthMaps"
_ATTR_INSTANCE_MAPS = "sceneforge:instanceMaps"
_PRIMVAR_ERROR = "sceneforge:errorPx"


# ----------------------------------------------------------------------------------------
# Camera model: intrinsics <-> USD film back


@dataclass(frozen=True)
class _FilmBack:
    """The five USD camera numbers of one :class:`Intrinsics`, in tenths of a scene unit."""

    focal_length: float
    horizontal_aperture: float
    vertical_aperture: float
    horizontal_offset: float
    vertical_offset: float


def _tenth_unit_m(meters_per_unit: float) -> float:
    """Metres in one tenth of a scene unit (the USD camera's length unit)."""
    return 0.1 * meters_per_unit


def _film_from_intrinsics(intrinsics: Intrinsics, meters_per_unit: float) -> _FilmBack:
    """USD film back of ``intrinsics`` on a 36 mm wide film back (formulas in the module doc)."""
    width, height = intrinsics.width, intrinsics.height
    h_aperture = FILM_BACK_WIDTH_MM * 1e-3 / _tenth_unit_m(meters_per_unit)
    focal = intrinsics.fx / width * h_aperture
    v_aperture = focal * height / intrinsics.fy
    return _FilmBack(
        focal_length=focal,
        horizontal_aperture=h_aperture,
        vertical_aperture=v_aperture,
        horizontal_offset=h_aperture * (0.5 - intrinsics.cx / width),
        vertical_offset=v_aperture * (intrinsics.cy / height - 0.5),
    )


def _k_from_film(film: _FilmBack, width: int, height: int) -> np.ndarray:
    """3×3 K in pixels of a USD film back imaged on ``width``×``height`` pixels (no skew)."""
    fx = film.focal_length / film.horizontal_aperture * width
    fy = film.focal_length / film.vertical_aperture * height
    cx = width * (0.5 - film.horizontal_offset / film.horizontal_aperture)
    cy = height * (0.5 + film.vertical_offset / film.vertical_aperture)
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def _k_agrees(k_film: np.ndarray, k_exact: np.ndarray, width: int, height: int) -> bool:
    """True when the float32 film back still describes ``k_exact`` (relative 1e-5)."""
    rtol = _K_AGREEMENT_RTOL
    return bool(
        abs(k_film[0, 0] - k_exact[0, 0]) <= rtol * abs(k_exact[0, 0])
        and abs(k_film[1, 1] - k_exact[1, 1]) <= rtol * abs(k_exact[1, 1])
        and abs(k_film[0, 2] - k_exact[0, 2]) <= rtol * max(abs(k_exact[0, 2]), width)
        and abs(k_film[1, 2] - k_exact[1, 2]) <= rtol * max(abs(k_exact[1, 2]), height)
    )


# ----------------------------------------------------------------------------------------
# Small conversions


def _gf_from_transform(a_from_b: np.ndarray) -> Gf.Matrix4d:
    # Gf matrices use row vectors (p' = p M): pass the transpose of our column-vector matrix.
    return Gf.Matrix4d(np.asarray(a_from_b, dtype=np.float64).T.tolist())


def _transform_from_gf(matrix: Gf.Matrix4d) -> np.ndarray:
    return np.array(matrix, dtype=np.float64).T


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1.0 / 2.4) - 0.055)


def _to_usd_value(value: Any, key: str) -> Any:
    """A Python/numpy value as something a USD dictionary can hold, or ``None`` to skip it."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, (str, Path)):
        return str(value)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            converted = _to_usd_value(v, f"{key}.{k}")
            if converted is not None:
                out[str(k)] = converted
        return out
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(np.asarray(value).reshape(-1)) if isinstance(value, np.ndarray) else list(value)
        if all(isinstance(v, str) for v in items):
            return Vt.StringArray([str(v) for v in items])
        if all(isinstance(v, (bool, np.bool_)) for v in items):
            return Vt.BoolArray([bool(v) for v in items])
        if all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in items):
            return Vt.Int64Array([int(v) for v in items])
        if all(v is None or isinstance(v, (int, float, np.integer, np.floating)) for v in items):
            return Vt.DoubleArray([math.nan if v is None else float(v) for v in items])
    log.debug("metadata entry %s of type %s stored as text", key, type(value).__name__)
    return str(value)


def _from_usd_value(value: Any) -> Any:
    """Plain Python (dict, list, scalars) of a value read from a USD dictionary."""
    if isinstance(value, Mapping):
        return {str(k): _from_usd_value(v) for k, v in value.items()}
    if isinstance(value, (str, bool, int, float)):
        return value
    try:
        return [_from_usd_value(v) for v in value]
    except TypeError:
        return value


# ----------------------------------------------------------------------------------------
# Opening


def open_stage(path: str | Path, *, require_world: bool = True) -> Usd.Stage:
    """Open a USD stage (the composed scene, with edits applied).

    Args:
        path: a USD file, or a scene folder holding ``scene.usda``.
        require_world: also require the ``/World`` prim of a SceneForge scene.

    Raises:
        SceneFileError: the file is missing, not a USD file, unreadable, or has no ``/World``.
    """
    file = Path(path)
    if file.is_dir():
        file = file / SCENE_FILE
    if not file.is_file():
        raise SceneFileError(
            f"expected a USD scene file or a folder with {SCENE_FILE}, got {str(path)!r} which does not exist; "
            "check the path or run `sceneforge reconstruct` first"
        )
    if Sdf.FileFormat.FindByExtension(file.suffix.lstrip(".")) is None:
        raise SceneFileError(
            f"expected a USD file (.usda, .usdc, .usd, .usdz), got {str(file)!r}; pass the scene's {SCENE_FILE}"
        )
    try:
        stage = Usd.Stage.Open(str(file))
    except Tf.ErrorException as exc:
        raise SceneFileError(
            f"expected a readable USD file, got {str(file)!r} which USD cannot open ({_tf_reason(exc)}); "
            "check that the file is a complete USD layer"
        ) from exc
    if stage is None:
        raise SceneFileError(f"expected a readable USD file, got {str(file)!r} which USD cannot open")
    if require_world and not stage.GetPrimAtPath(_WORLD_PATH).IsValid():
        raise SceneFileError(
            f"expected a SceneForge scene with a {_WORLD_PATH} prim, got {str(file)!r} without one; "
            f"open the {SCENE_FILE} that `sceneforge reconstruct` wrote"
        )
    return stage


def _tf_reason(exc: Exception) -> str:
    """The first pxr error's quoted reason, on one line."""
    text = str(exc).strip()
    for line in text.splitlines():
        line = line.strip()
        if " : " in line:
            return line.split(" : ", 1)[1].strip().strip("'")
    return text.splitlines()[0] if text else type(exc).__name__


def _as_stage(path_or_stage: str | Path | Usd.Stage, *, require_world: bool) -> Usd.Stage:
    if isinstance(path_or_stage, Usd.Stage):
        return path_or_stage
    return open_stage(path_or_stage, require_world=require_world)


# ----------------------------------------------------------------------------------------
# Writing


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

    Returns:
        The path of ``scene.usda``.

    Raises:
        InputError: ``folder`` is not a folder, ``meters_per_unit`` is not positive, or
            ``background`` / ``depth_paths`` / ``objects`` / ``instance_paths`` are not what is
            described above.
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
    depth_assets = _check_depth_paths(depth_paths, len(track))
    instance_assets = _check_depth_paths(instance_paths, len(track), name="instance_paths", example="instances/0001.npz")
    from ._objects import check_object_layers  # _objects builds on this module's helpers

    object_layers = check_object_layers(objects, track.frame_numbers)

    layer_data = {
        _LAYER_DATA_KEY: _to_usd_value(
            {
                "formatVersion": FORMAT_VERSION,
                "toolVersion": _tool_version(),
                "source": str(source),
                "metricScale": bool(metric_scale),
                "metadata": dict(metadata or {}),
                **({"solveReport": track.report.to_dict()} if track.report is not None else {}),
            },
            _LAYER_DATA_KEY,
        )
    }

    reconstruction = _reconstruction_layer(
        track, meters_per_unit, out, background, depth_assets, objects=object_layers, instance_assets=instance_assets
    )
    reconstruction.customLayerData = layer_data
    edits = Sdf.Layer.CreateAnonymous(".usda")
    scene = Sdf.Layer.CreateAnonymous(".usda")
    scene.subLayerPaths.append(f"./{EDITS_FILE}")
    scene.subLayerPaths.append(f"./{RECONSTRUCTION_FILE}")
    scene.customLayerData = layer_data
    for layer in (reconstruction, edits, scene):
        _stamp_stage_metadata(layer, track, meters_per_unit)
    reconstruction.comment = "SceneForge reconstruction; written once, edits go to edits.usda"
    edits.comment = "SceneForge edits; stronger than reconstruction.usda"

    for layer, name in ((reconstruction, RECONSTRUCTION_FILE), (edits, EDITS_FILE), (scene, SCENE_FILE)):
        _export_atomic(layer, out / name)
    log.debug("wrote %d frames and %d points to %s", len(track), len(track.points), out)
    return out / SCENE_FILE


def _tool_version() -> str:
    try:
        from importlib.metadata import version

        return version("sceneforge")
    except Exception:  # not installed (e.g. run from a source tree)
        return "0+unknown"


def _stamp_stage_metadata(layer: Sdf.Layer, track: CameraTrack, meters_per_unit: float) -> None:
    """The stage metadata every SceneForge layer carries."""
    layer.defaultPrim = _WORLD_PATH.lstrip("/")
    layer.pseudoRoot.SetInfo(UsdGeom.Tokens.upAxis, UsdGeom.Tokens.y)
    layer.pseudoRoot.SetInfo(UsdGeom.Tokens.metersPerUnit, float(meters_per_unit))
    layer.timeCodesPerSecond = track.fps
    layer.framesPerSecond = track.fps
    layer.startTimeCode = float(track.frame_numbers[0])
    layer.endTimeCode = float(track.frame_numbers[-1])


def _export_atomic(layer: Sdf.Layer, path: Path) -> None:
    """Export ``layer`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    # Sdf picks the file format from the extension, so the temporary name keeps it; USD creates
    # the file itself, with the permissions the user's umask gives.
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{secrets.token_hex(4)}.tmp{path.suffix}")
    try:
        try:
            exported = layer.Export(str(tmp))
        except Tf.ErrorException as exc:
            raise SceneFileError(
                f"expected to write {str(path)!r}, got a USD export error ({_tf_reason(exc)}); "
                "check that the folder is writable"
            ) from exc
        if not exported:
            raise SceneFileError(
                f"expected to write {str(path)!r}, got a USD export failure; check that the folder is writable"
            )
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    # A stage opened earlier in this process keeps the old layer in Sdf's registry; reload it
    # so later opens see what is on disk now.
    cached = Sdf.Layer.Find(str(path))
    if cached is not None:
        cached.Reload(True)


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
) -> Sdf.Layer:
    """An anonymous layer with /World, the plate camera, the sparse points, the background and the objects."""
    # Created first and returned, so the layer outlives the stage used to author it.
    layer = Sdf.Layer.CreateAnonymous(".usda")
    stage = Usd.Stage.Open(layer)
    world = UsdGeom.Xform.Define(stage, _WORLD_PATH)
    # /World is the root of the model hierarchy; objects will be components under a group.
    Usd.ModelAPI(world.GetPrim()).SetKind(Kind.Tokens.assembly)
    stage.SetDefaultPrim(world.GetPrim())
    UsdGeom.Xform.Define(stage, "/World/Cameras")  # an Xform, so an edit can move every camera at once
    camera = _author_camera(stage, DEFAULT_CAMERA_PATH, track, meters_per_unit)
    if depth_assets is not None:
        camera.GetPrim().CreateAttribute(_ATTR_DEPTH_MAPS, Sdf.ValueTypeNames.AssetArray, custom=True).Set(
            Sdf.AssetPathArray(depth_assets)
        )
    if instance_assets is not None:
        camera.GetPrim().CreateAttribute(_ATTR_INSTANCE_MAPS, Sdf.ValueTypeNames.AssetArray, custom=True).Set(
            Sdf.AssetPathArray(instance_assets)
        )
    if len(track.points) > 0:
        _author_points(stage, _POINTS_PATH, track.points)
    if background is not None:
        from ._usd_mesh import author_mesh  # _usd_mesh builds on this module's helpers

        author_mesh(stage, _BACKGROUND_PATH, background, folder=folder, name="Background", kind=Kind.Tokens.component)
    if objects:
        from ._objects import author_object_layer  # _objects builds on this module's helpers

        for object_layer in objects:
            author_object_layer(stage, object_layer, folder=folder, clip_frame_numbers=track.frame_numbers)
    return layer


def _author_camera(stage: Usd.Stage, path: str, track: CameraTrack, meters_per_unit: float) -> UsdGeom.Camera:
    camera = UsdGeom.Camera.Define(stage, path)
    camera.CreateProjectionAttr(UsdGeom.Tokens.perspective)
    times = [Usd.TimeCode(float(n)) for n in track.frame_numbers]

    transform_op = camera.AddTransformOp()
    world_from_usdcam = track.world_from_cam @ _CV_FROM_GL
    for time, matrix in zip(times, world_from_usdcam):
        transform_op.Set(_gf_from_transform(matrix), time)

    prim = camera.GetPrim()
    attrs = {
        "focal": camera.CreateFocalLengthAttr(),
        "h_ap": camera.CreateHorizontalApertureAttr(),
        "v_ap": camera.CreateVerticalApertureAttr(),
        "h_off": camera.CreateHorizontalApertureOffsetAttr(),
        "v_off": camera.CreateVerticalApertureOffsetAttr(),
        "K": prim.CreateAttribute(_ATTR_K, Sdf.ValueTypeNames.Matrix3d, custom=True),
        "radial": prim.CreateAttribute(_ATTR_RADIAL, Sdf.ValueTypeNames.Double2, custom=True),
        "size": prim.CreateAttribute(_ATTR_IMAGE_SIZE, Sdf.ValueTypeNames.Int2, custom=True),
    }

    def author(intrinsics: Intrinsics, time: Usd.TimeCode) -> None:
        film = _film_from_intrinsics(intrinsics, meters_per_unit)
        attrs["focal"].Set(film.focal_length, time)
        attrs["h_ap"].Set(film.horizontal_aperture, time)
        attrs["v_ap"].Set(film.vertical_aperture, time)
        attrs["h_off"].Set(film.horizontal_offset, time)
        attrs["v_off"].Set(film.vertical_offset, time)
        # Matrix3d is row-major like ours; K is not a transform of points, so no transpose.
        attrs["K"].Set(Gf.Matrix3d(intrinsics.K.tolist()), time)
        attrs["radial"].Set(Gf.Vec2d(*intrinsics.radial.tolist()), time)
        attrs["size"].Set(Gf.Vec2i(intrinsics.width, intrinsics.height), time)

    if track.single_camera:
        author(track.intrinsics[0], Usd.TimeCode.Default())
    else:
        for time, intrinsics in zip(times, track.intrinsics):
            author(intrinsics, time)

    prim.CreateAttribute(_ATTR_FRAME_NUMBERS, Sdf.ValueTypeNames.Int64Array, custom=True).Set(
        Vt.Int64Array([int(n) for n in track.frame_numbers])
    )
    prim.CreateAttribute(_ATTR_FRAME_STATUS, Sdf.ValueTypeNames.IntArray, custom=True).Set(
        Vt.IntArray([int(s) for s in track.status])
    )
    camera.CreateClippingRangeAttr(Gf.Vec2f(*_clipping_range(track)))
    return camera


def _clipping_range(track: CameraTrack, *, max_frames: int = 64, max_points: int = 20000) -> tuple[float, float]:
    """(near, far) in scene units from the sparse points' z-depths in a subset of the cameras.

    0.5 × the 1st percentile and 2 × the 99th percentile of the positive depths, or
    (0.01, 1000) without points in front of any camera.
    """
    points = track.points.points_in_world
    if len(points) == 0:
        return _DEFAULT_CLIPPING_RANGE
    frames = np.unique(np.linspace(0, len(track) - 1, min(len(track), max_frames)).round().astype(int))
    if len(points) > max_points:
        points = points[np.random.default_rng(0).choice(len(points), max_points, replace=False)]
    cam_from_world = track.cam_from_world()[frames]
    depths = np.einsum("fj,nj->fn", cam_from_world[:, 2, :3], points) + cam_from_world[:, 2, 3:4]
    depths = depths[depths > 0]
    if depths.size == 0:
        return _DEFAULT_CLIPPING_RANGE
    near = 0.5 * float(np.percentile(depths, 1))
    far = 2.0 * float(np.percentile(depths, 99))
    return max(near, far * 1e-6), max(far, near * 2.0)


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
    linear = _srgb_to_linear(sparse.colors.astype(np.float64) / 255.0).astype(np.float32)
    points.CreateDisplayColorPrimvar(UsdGeom.Tokens.vertex).Set(Vt.Vec3fArray.FromNumpy(linear))

    primvars = UsdGeom.PrimvarsAPI(points.GetPrim())
    error = primvars.CreatePrimvar(_PRIMVAR_ERROR, Sdf.ValueTypeNames.FloatArray, UsdGeom.Tokens.vertex)
    error.Set(Vt.FloatArray.FromNumpy(sparse.error_px.astype(np.float32)))

    # UsdGeomPoints.ComputeExtent wants one width per point; with one constant width the
    # extent is the positions' box grown by half the width (what the schema asks for).
    stored = positions.astype(np.float32).astype(np.float64)
    half = 0.5 * float(np.float32(width))
    lo = np.nextafter((stored.min(axis=0) - half).astype(np.float32), np.float32(-np.inf))
    hi = np.nextafter((stored.max(axis=0) + half).astype(np.float32), np.float32(np.inf))
    points.CreateExtentAttr(Vt.Vec3fArray.FromNumpy(np.stack([lo, hi])))
    return points


# ----------------------------------------------------------------------------------------
# Reading


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
    stage = _as_stage(path, require_world=False)
    prim = stage.GetPrimAtPath(camera)
    if not prim.IsValid() or not prim.IsA(UsdGeom.Camera):
        raise SceneFileError(
            f"expected a Camera prim at {camera}, got {'a ' + prim.GetTypeName() if prim.IsValid() else 'nothing'} "
            f"in {stage.GetRootLayer().identifier}; pass camera= with the camera's prim path"
        )
    usd_camera = UsdGeom.Camera(prim)
    frame_numbers = _read_frame_numbers(stage, usd_camera)
    times = [Usd.TimeCode(float(n)) for n in frame_numbers]

    world_from_cam = np.stack(
        [_transform_from_gf(usd_camera.ComputeLocalToWorldTransform(t)) @ _CV_FROM_GL for t in times]
    )
    intrinsics = _read_intrinsics(usd_camera, times, width)

    status_attr = prim.GetAttribute(_ATTR_FRAME_STATUS)
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
            points=_read_points(stage),
            report=_read_report(stage),
        )
    except InputError as exc:
        raise SceneFileError(
            f"expected a valid camera track at {camera}, got one that is not ({exc}); "
            "remove non-rigid edits (scale, shear) from the camera"
        ) from exc


def _read_frame_numbers(stage: Usd.Stage, camera: UsdGeom.Camera) -> np.ndarray:
    attr = camera.GetPrim().GetAttribute(_ATTR_FRAME_NUMBERS)
    value = attr.Get() if attr.IsValid() else None
    if value is not None and len(value) > 0:
        return np.asarray(value, dtype=np.int64)
    samples = camera.GetTimeSamples()
    if samples:
        return np.unique(np.round(np.asarray(samples)).astype(np.int64))
    if stage.HasAuthoredTimeCodeRange():
        start, end = math.ceil(stage.GetStartTimeCode()), math.floor(stage.GetEndTimeCode())
        if end >= start:
            return np.arange(start, end + 1, dtype=np.int64)
    return np.zeros(1, dtype=np.int64)


def _read_intrinsics(camera: UsdGeom.Camera, times: list[Usd.TimeCode], width: int | None) -> tuple[Intrinsics, ...]:
    prim = camera.GetPrim()
    attrs = [
        camera.GetFocalLengthAttr(),
        camera.GetHorizontalApertureAttr(),
        camera.GetVerticalApertureAttr(),
        camera.GetHorizontalApertureOffsetAttr(),
        camera.GetVerticalApertureOffsetAttr(),
        prim.GetAttribute(_ATTR_K),
        prim.GetAttribute(_ATTR_RADIAL),
        prim.GetAttribute(_ATTR_IMAGE_SIZE),
    ]
    varying = any(a.IsValid() and a.ValueMightBeTimeVarying() for a in attrs)
    cache: dict[Intrinsics, Intrinsics] = {}
    out = []
    for time in times if varying else times[:1]:
        intrinsics = _intrinsics_at(camera, time, width)
        out.append(cache.setdefault(intrinsics, intrinsics))
    return tuple(out) if varying else tuple(out * len(times))


def _intrinsics_at(camera: UsdGeom.Camera, time: Usd.TimeCode, width: int | None) -> Intrinsics:
    prim = camera.GetPrim()
    film = _FilmBack(
        focal_length=float(camera.GetFocalLengthAttr().Get(time)),
        horizontal_aperture=float(camera.GetHorizontalApertureAttr().Get(time)),
        vertical_aperture=float(camera.GetVerticalApertureAttr().Get(time)),
        horizontal_offset=float(camera.GetHorizontalApertureOffsetAttr().Get(time)),
        vertical_offset=float(camera.GetVerticalApertureOffsetAttr().Get(time)),
    )
    if min(film.focal_length, film.horizontal_aperture, film.vertical_aperture) <= 0:
        raise SceneFileError(
            f"expected a positive focal length and apertures on {prim.GetPath()}, got "
            f"{film.focal_length}, {film.horizontal_aperture}, {film.vertical_aperture}; fix the camera"
        )
    size = _get(prim, _ATTR_IMAGE_SIZE, time)
    if size is not None:
        image_width, image_height = int(size[0]), int(size[1])
    else:
        image_width = int(width) if width is not None else _DEFAULT_WIDTH_PX
        image_height = max(1, int(round(image_width * film.vertical_aperture / film.horizontal_aperture)))
    k = _k_from_film(film, image_width, image_height)
    k_exact = _get(prim, _ATTR_K, time)
    if k_exact is not None:
        k_exact = np.array(k_exact, dtype=np.float64)
        if _k_agrees(k, k_exact, image_width, image_height):
            k = k_exact
        else:
            log.info("%s: camera attributes were edited at %s; K follows them, not sceneforge:K", prim.GetPath(), time)
    radial = _get(prim, _ATTR_RADIAL, time)
    radial = np.zeros(2) if radial is None else np.array(radial, dtype=np.float64)
    return Intrinsics(K=k, width=image_width, height=image_height, radial=radial)


def _get(prim: Usd.Prim, name: str, time: Usd.TimeCode) -> Any:
    attr = prim.GetAttribute(name)
    return attr.Get(time) if attr.IsValid() else None


def _read_points(stage: Usd.Stage) -> SparsePoints:
    points = UsdGeom.Points(stage.GetPrimAtPath(_POINTS_PATH))
    if not points:
        return SparsePoints.empty()
    positions = points.GetPointsAttr().Get()
    if positions is None or len(positions) == 0:
        return SparsePoints.empty()
    xyz = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    # An edit may move the points (or /World): read them in the composed world.
    world_from_points = _transform_from_gf(points.ComputeLocalToWorldTransform(Usd.TimeCode.EarliestTime()))
    if not np.allclose(world_from_points, np.eye(4)):
        xyz = xyz @ world_from_points[:3, :3].T + world_from_points[:3, 3]
    n = len(xyz)

    colors = np.full((n, 3), 128, dtype=np.uint8)
    display = points.GetDisplayColorPrimvar()
    if display and display.HasValue():
        values = np.asarray(display.ComputeFlattened(), dtype=np.float64).reshape(-1, 3)
        if len(values) == n:
            colors = np.round(_linear_to_srgb(values) * 255.0).astype(np.uint8)
        elif len(values) == 1:
            colors[:] = np.round(_linear_to_srgb(values[0]) * 255.0).astype(np.uint8)

    error_px = np.full(n, np.nan)
    error = UsdGeom.PrimvarsAPI(points.GetPrim()).GetPrimvar(_PRIMVAR_ERROR)
    if error and error.HasValue():
        values = np.asarray(error.ComputeFlattened(), dtype=np.float64).reshape(-1)
        if len(values) == n:
            error_px = values
    return SparsePoints(points_in_world=xyz, colors=colors, error_px=error_px)


def _layer_data(stage: Usd.Stage) -> dict[str, Any]:
    """``customLayerData.sceneforge`` of the root layer (or, failing that, of any layer in its stack)."""
    for layer in stage.GetLayerStack(includeSessionLayers=False):
        data = layer.customLayerData.get(_LAYER_DATA_KEY)
        if data:
            return _from_usd_value(data)
    return {}


def _read_report(stage: Usd.Stage) -> SolveReport | None:
    data = _layer_data(stage).get("solveReport")
    if not data:
        return None
    try:
        return SolveReport.from_dict(data)
    except (TypeError, ValueError) as exc:
        log.warning("ignoring an unreadable solve report in %s: %s", stage.GetRootLayer().identifier, exc)
        return None


# ----------------------------------------------------------------------------------------
# Summary


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
    ``mask_quality``; see :func:`read_object_layers`).

    Raises:
        SceneFileError: as :func:`read_camera_track`.
    """
    stage = _as_stage(path, require_world=True)
    track = read_camera_track(stage, camera=camera)
    data = _layer_data(stage)
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
    from ._usd_mesh import mesh_summary  # _usd_mesh builds on this module's helpers

    depth_attr = stage.GetPrimAtPath(camera).GetAttribute(_ATTR_DEPTH_MAPS)
    depth_maps = list(depth_attr.Get() or []) if depth_attr.IsValid() else []
    instance_attr = stage.GetPrimAtPath(camera).GetAttribute(_ATTR_INSTANCE_MAPS)
    instance_maps = list(instance_attr.Get() or []) if instance_attr.IsValid() else []
    from ._objects import read_object_layers  # _objects builds on this module's helpers
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
        "background": mesh_summary(stage, _BACKGROUND_PATH),
        "depth_maps": len(depth_maps),
        "missing_depth_maps": sum(1 for asset in depth_maps if not asset.resolvedPath),
        "instance_maps": len(instance_maps),
        "missing_instance_maps": sum(1 for asset in instance_maps if not asset.resolvedPath),
        "objects": read_object_layers(stage),
    }


# ----------------------------------------------------------------------------------------
# Validation


@dataclass(frozen=True)
class StageValidation:
    """What Pixar's validators (``pxr.UsdValidation``) said about a stage.

    Attributes:
        errors: one line per error, ``"<validator>.<error>: <message>"``.
        warnings: one line per warning, same form.
        skipped: validators that could not run here (a plugin missing or failing), with why.
        validators_run: number of validators that ran.
    """

    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    skipped: tuple[str, ...]
    validators_run: int

    @property
    def ok(self) -> bool:
        """True when no validator reported an error."""
        return not self.errors


def validate_stage(path: str | Path | Usd.Stage) -> StageValidation:
    """Run every registered ``pxr.UsdValidation`` validator on the composed stage.

    Validators whose plugins are absent or fail to load or run are listed in
    :attr:`StageValidation.skipped` instead of failing the whole validation.

    Raises:
        SceneFileError: the stage cannot be opened (as :func:`open_stage`, without
            requiring ``/World``: a missing defaultPrim is the validators' to report).
    """
    from pxr import UsdValidation

    stage = _as_stage(path, require_world=False)
    registry = UsdValidation.ValidationRegistry()
    validators, skipped = [], []
    for metadata in registry.GetAllValidatorMetadata():
        if metadata.isSuite:
            continue
        try:
            validator = registry.GetOrLoadValidatorByName(metadata.name)
        except Tf.ErrorException as exc:
            skipped.append(f"{metadata.name}: {_tf_reason(exc)}")
            continue
        if validator is None:
            skipped.append(f"{metadata.name}: could not be loaded")
            continue
        validators.append(validator)

    try:
        results = list(UsdValidation.ValidationContext(validators).Validate(stage))
        run = len(validators)
    except Tf.ErrorException:
        # One validator broke the batch: run them one at a time to keep the others' results.
        results, run = [], 0
        for validator in validators:
            try:
                results.extend(UsdValidation.ValidationContext([validator]).Validate(stage))
                run += 1
            except Tf.ErrorException as exc:
                skipped.append(f"{validator.GetMetadata().name}: {_tf_reason(exc)}")

    errors, warnings = [], []
    for result in results:
        if result.HasNoError():
            continue
        line = f"{result.GetIdentifier()}: {result.GetMessage()}"
        kind = result.GetType()
        if kind == UsdValidation.ValidationErrorType.Error:
            errors.append(line)
        elif kind == UsdValidation.ValidationErrorType.Warn:
            warnings.append(line)
    for line in skipped:
        log.debug("validator skipped: %s", line)
    return StageValidation(tuple(errors), tuple(warnings), tuple(skipped), run)
