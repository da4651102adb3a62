"""The USD camera: intrinsics <-> film back, authoring a camera track, reading it back.

Camera axes. Our cameras are OpenCV (+X right, +Y down, +Z forward); USD cameras look
down -Z with +Y up. The flip ``diag(1, -1, -1, 1)`` (``_schema.CV_FROM_GL``) between the two
is applied here and in the rasterizer, nowhere else:
``world_from_usdcam = world_from_cam @ diag(1, -1, -1, 1)``. Writers of other formats that
want OpenGL camera axes call :func:`world_from_glcam`.

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
offset (image v grows down, NDC y grows up). ``tests/scenegraph/usd/test_usd.py`` proves it
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
from dataclasses import dataclass
from typing import Any

import numpy as np
from pxr import Gf, Sdf, Usd, UsdGeom, Vt

from ..types import CameraTrack, Intrinsics, SceneFileError
from ._convert import gf_from_transform, transform_from_gf
from ._schema import (
    ATTR_FRAME_NUMBERS,
    ATTR_FRAME_STATUS,
    ATTR_IMAGE_SIZE,
    ATTR_K,
    ATTR_RADIAL,
    CV_FROM_GL,
)

__all__ = [
    "FILM_BACK_WIDTH_MM",
    "author_camera",
    "read_frame_numbers",
    "read_intrinsics",
    "read_world_from_cam",
    "world_from_glcam",
]

log = logging.getLogger(__name__)

FILM_BACK_WIDTH_MM = 36.0
"""Width of the full-frame-equivalent film back the USD camera is given."""

_DEFAULT_CLIPPING_RANGE = (0.01, 1000.0)
_DEFAULT_WIDTH_PX = 1920
_K_AGREEMENT_RTOL = 1e-5

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
# Camera axes


def world_from_glcam(a_from_cam: np.ndarray) -> np.ndarray:
    """The same cameras in OpenGL/USD camera axes (+X right, +Y up, looking down -Z).

    Args:
        a_from_cam: 4×4 or N×4×4 float64 poses of OpenCV-axes cameras in any frame ``a``.

    Returns:
        ``a_from_cam @ diag(1, -1, -1, 1)``, the shape of ``a_from_cam``.
    """
    return a_from_cam @ CV_FROM_GL


def read_world_from_cam(camera: UsdGeom.Camera, times: list[Usd.TimeCode]) -> np.ndarray:
    """N×4×4 float64 ``world_from_cam`` (OpenCV axes) of a USD camera at ``times``, composed (edits applied)."""
    return np.stack([transform_from_gf(camera.ComputeLocalToWorldTransform(t)) @ CV_FROM_GL for t in times])


# ----------------------------------------------------------------------------------------
# Writing


def author_camera(stage: Usd.Stage, path: str, track: CameraTrack, meters_per_unit: float) -> UsdGeom.Camera:
    """Define the camera at ``path``: its time-sampled transform, film back and ``sceneforge:*`` attributes."""
    camera = UsdGeom.Camera.Define(stage, path)
    camera.CreateProjectionAttr(UsdGeom.Tokens.perspective)
    times = [Usd.TimeCode(float(n)) for n in track.frame_numbers]

    transform_op = camera.AddTransformOp()
    world_from_usdcam = world_from_glcam(track.world_from_cam)
    for time, matrix in zip(times, world_from_usdcam):
        transform_op.Set(gf_from_transform(matrix), time)

    prim = camera.GetPrim()
    attrs = {
        "focal": camera.CreateFocalLengthAttr(),
        "h_ap": camera.CreateHorizontalApertureAttr(),
        "v_ap": camera.CreateVerticalApertureAttr(),
        "h_off": camera.CreateHorizontalApertureOffsetAttr(),
        "v_off": camera.CreateVerticalApertureOffsetAttr(),
        "K": prim.CreateAttribute(ATTR_K, Sdf.ValueTypeNames.Matrix3d, custom=True),
        "radial": prim.CreateAttribute(ATTR_RADIAL, Sdf.ValueTypeNames.Double2, custom=True),
        "size": prim.CreateAttribute(ATTR_IMAGE_SIZE, Sdf.ValueTypeNames.Int2, custom=True),
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

    prim.CreateAttribute(ATTR_FRAME_NUMBERS, Sdf.ValueTypeNames.Int64Array, custom=True).Set(
        Vt.Int64Array([int(n) for n in track.frame_numbers])
    )
    prim.CreateAttribute(ATTR_FRAME_STATUS, Sdf.ValueTypeNames.IntArray, custom=True).Set(
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


# ----------------------------------------------------------------------------------------
# Reading


def read_frame_numbers(stage: Usd.Stage, camera: UsdGeom.Camera) -> np.ndarray:
    """N int64 source frame numbers of a camera: ``sceneforge:frameNumbers``, else its transform's
    time samples, else the stage's start..end time codes, else frame 0."""
    attr = camera.GetPrim().GetAttribute(ATTR_FRAME_NUMBERS)
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


def read_intrinsics(camera: UsdGeom.Camera, times: list[Usd.TimeCode], width: int | None) -> tuple[Intrinsics, ...]:
    """One :class:`Intrinsics` per time (equal ones shared); ``width`` is for a camera without ``sceneforge:imageSize``."""
    prim = camera.GetPrim()
    attrs = [
        camera.GetFocalLengthAttr(),
        camera.GetHorizontalApertureAttr(),
        camera.GetVerticalApertureAttr(),
        camera.GetHorizontalApertureOffsetAttr(),
        camera.GetVerticalApertureOffsetAttr(),
        prim.GetAttribute(ATTR_K),
        prim.GetAttribute(ATTR_RADIAL),
        prim.GetAttribute(ATTR_IMAGE_SIZE),
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
    size = _get(prim, ATTR_IMAGE_SIZE, time)
    if size is not None:
        image_width, image_height = int(size[0]), int(size[1])
    else:
        image_width = int(width) if width is not None else _DEFAULT_WIDTH_PX
        image_height = max(1, int(round(image_width * film.vertical_aperture / film.horizontal_aperture)))
    k = _k_from_film(film, image_width, image_height)
    k_exact = _get(prim, ATTR_K, time)
    if k_exact is not None:
        k_exact = np.array(k_exact, dtype=np.float64)
        if _k_agrees(k, k_exact, image_width, image_height):
            k = k_exact
        else:
            log.info("%s: camera attributes were edited at %s; K follows them, not sceneforge:K", prim.GetPath(), time)
    radial = _get(prim, ATTR_RADIAL, time)
    radial = np.zeros(2) if radial is None else np.array(radial, dtype=np.float64)
    return Intrinsics(K=k, width=image_width, height=image_height, radial=radial)


def _get(prim: Usd.Prim, name: str, time: Usd.TimeCode) -> Any:
    attr = prim.GetAttribute(name)
    return attr.Get(time) if attr.IsValid() else None
