"""The shot's light probe in USD: a ``UsdLux.DomeLight`` whose texture is the probe's map (so
Blender, usdview or Omniverse light the scene with it) plus the numbers a renderer needs
(spherical harmonics, the key light) as ``sceneforge:lightProbe:*`` attributes.

Layout::

    /World/Lights/LightProbe          DomeLight, intensity 1, inputs:texture:format = latlong,
                                      inputs:texture:file = ./textures/light_probe.hdr,
                                      xformOp:transform = a half turn about +Y (see below)
      sceneforge:lightProbe:sh              double3[9]  radiance SH (linear RGB, world axes)
      sceneforge:lightProbe:centre          point3d     where the map is seen from
      sceneforge:lightProbe:keyDirection    vector3d    towards the key light (absent: none)
      sceneforge:lightProbe:keyIrradiance   double3
      sceneforge:lightProbe:ambientRadiance double3
      sceneforge:lightProbe:encoding        token       srgb | linear
      sceneforge:lightProbe:seenShare       double      share of the sphere the footage saw
      sceneforge:lightProbe:seenRuns        int[]       the seen mask, run-length coded

**Orientation.** UsdLux's DomeLight schema (``pxr/usdLux/schema.usda``, class ``DomeLight``:
"the dome's default orientation is such that its top pole is aligned with the world's +Y axis.
This adheres to the OpenEXR specification for latlong environment maps") puts longitude +π at
the image's left edge and −π at its right, longitude 0 along the light's +Z and longitude π/2
along its +X: the texture's centre column faces the light's +Z, its quarter column +X. Our
lat-long maps (:mod:`sceneforge.scenegraph.types._light`) face −Z at the centre column and −X
at the quarter column: the same map turned half a turn about +Y. So the dome carries that half
turn as its transform (``world_from_light = R_y(180°)``); Blender's USD importer applies the
dome's transform to the world texture's mapping.

**The texture** is Radiance RGBE (``.hdr``), written and read here with numpy: flat
(uncompressed) scanlines, ``-Y H +X W`` (top row first); the reader also takes the
run-length-encoded scanlines other tools write.

**The seen mask** is stored as run-length boundaries of the flattened H×2H mask (row-major):
``[start, end, start, end, ...]`` of the runs of seen texels.

**Edits.** :func:`read_light_probe` returns the light as the composed scene has it: an edit of
the dome's intensity, exposure or colour scales the probe's radiance, SH, key and ambient; an
edit of its rotation turns the map, SH and key direction with it, and moving it moves the centre.
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

import numpy as np
from pxr import Gf, Sdf, Usd, UsdGeom, UsdLux, Vt

from ..files import atomic_write
from ..types import (
    InputError,
    LightProbe,
    SceneFileError,
    check_array,
    equirect_directions,
    equirect_pixels,
    equirect_solid_angles,
    sh_project,
)
from ._asset_policy import checked_asset, scene_root
from ._convert import gf_from_transform, transform_from_gf
from ._schema import (
    ATTR_PROBE_AMBIENT,
    ATTR_PROBE_CENTRE,
    ATTR_PROBE_ENCODING,
    ATTR_PROBE_KEY_DIRECTION,
    ATTR_PROBE_KEY_IRRADIANCE,
    ATTR_PROBE_SEEN_RUNS,
    ATTR_PROBE_SEEN_SHARE,
    ATTR_PROBE_SH,
    LIGHT_PROBE_PATH,
    LIGHT_PROBE_TEXTURE,
    LIGHTS_PATH,
    TEXTURE_FOLDER,
)
from ._stage import as_stage

__all__ = ["hdr_size", "light_probe_summary", "read_hdr", "read_light_probe", "write_hdr", "write_light_probe"]

log = logging.getLogger(__name__)

WORLD_FROM_DOME = np.diag([-1.0, 1.0, -1.0, 1.0])
"""The dome's transform: half a turn about +Y, from UsdLux's lat-long layout to ours (module doc)."""

_LUMA = np.array([0.2126, 0.7152, 0.0722])


# ----------------------------------------------------------------------------------------
# Radiance RGBE


def _encode_rgbe(image: np.ndarray) -> np.ndarray:
    """H×W×4 uint8 RGBE of H×W×3 non-negative floats (Ward's shared exponent, mantissas truncated)."""
    rgb = np.asarray(image, dtype=np.float64)
    peak = rgb.max(axis=-1)
    mantissa, exponent = np.frexp(peak)  # peak = mantissa · 2^exponent, mantissa in [0.5, 1)
    scale = np.where(peak > 1e-32, mantissa * 256.0 / np.where(peak > 1e-32, peak, 1.0), 0.0)
    out = np.zeros((*rgb.shape[:2], 4), dtype=np.uint8)
    out[..., :3] = np.clip(rgb * scale[..., None], 0, 255).astype(np.uint8)
    out[..., 3] = np.where(peak > 1e-32, np.clip(exponent + 128, 0, 255), 0).astype(np.uint8)
    return out


def _decode_rgbe(rgbe: np.ndarray) -> np.ndarray:
    """H×W×3 float32 of H×W×4 uint8 RGBE (value = mantissa · 2^(e − 136); e = 0 is black)."""
    exponent = rgbe[..., 3].astype(np.int32)
    factor = np.where(exponent > 0, np.ldexp(1.0, exponent - 136), 0.0)
    return (rgbe[..., :3].astype(np.float64) * factor[..., None]).astype(np.float32)


def write_hdr(path: str | Path, image: np.ndarray) -> Path:
    """Write an H×W×3 float image of linear, non-negative values as a Radiance ``.hdr`` (RGBE,
    flat scanlines, top row first), atomically; returns the path.

    Raises:
        ShapeError: ``image`` is not H×W×3.
        InputError: it holds negative or non-finite values.
        SceneFileError: the file cannot be written.
    """
    image = check_array(image, "image", shape=(None, None, 3), finite=True)
    if image.size and float(image.min()) < 0:
        raise InputError("an HDR image must hold non-negative radiance, got negative values")
    height, width = image.shape[:2]
    header = f"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\nSOFTWARE=SceneForge\n\n-Y {height} +X {width}\n".encode("ascii")
    return atomic_write(path, header + _encode_rgbe(image).tobytes())


_SIZE_LINE = re.compile(rb"^([-+])Y (\d+) ([-+])X (\d+)$")


def _parse_header(data: bytes, path: Path) -> tuple[int, int, int]:
    """(height, width, offset of the pixel data) of a Radiance file, top-down rows only."""
    if not (data.startswith(b"#?RADIANCE") or data.startswith(b"#?RGBE")):
        raise SceneFileError(f"expected a Radiance .hdr file at {str(path)!r}, got no '#?RADIANCE' signature")
    end = data.find(b"\n\n")
    if end < 0:
        raise SceneFileError(f"expected a Radiance header ending in a blank line in {str(path)!r}, got none")
    for line in data[:end].split(b"\n"):
        if line.startswith(b"FORMAT=") and line.strip() != b"FORMAT=32-bit_rle_rgbe":
            raise SceneFileError(f"expected RGBE pixels in {str(path)!r}, got {line.decode('ascii', 'replace')}")
    size_end = data.find(b"\n", end + 2)
    match = _SIZE_LINE.match(data[end + 2 : size_end].strip())
    if match is None or match.group(1) != b"-" or match.group(3) != b"+":
        raise SceneFileError(f"expected a '-Y H +X W' (top-down) Radiance file in {str(path)!r}")
    return int(match.group(2)), int(match.group(4)), size_end + 1


def hdr_size(path: str | Path) -> tuple[int, int] | None:
    """(width, height) from a Radiance file's header, or None when it is not a readable one."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(4096)
        height, width, _ = _parse_header(head, Path(path))
    except (OSError, SceneFileError):
        return None
    return width, height


def read_hdr(path: str | Path) -> np.ndarray:
    """A Radiance ``.hdr`` (RGBE; flat or run-length-encoded scanlines; top-down) as H×W×3
    float32 linear RGB.

    Raises:
        SceneFileError: the file is missing, not a Radiance RGBE file, or truncated.
    """
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise SceneFileError(f"expected a Radiance .hdr file at {str(file)!r}, got {exc.strerror or exc}") from exc
    height, width, offset = _parse_header(data, file)
    pixels = np.frombuffer(data, dtype=np.uint8, offset=offset)
    out = np.empty((height, width, 4), dtype=np.uint8)
    pos = 0
    for row in range(height):
        head = pixels[pos : pos + 4]
        if 8 <= width < 32768 and len(head) == 4 and head[0] == 2 and head[1] == 2 and not head[2] & 0x80:
            if (int(head[2]) << 8 | int(head[3])) != width:
                raise SceneFileError(f"expected scanlines of {width} pixels in {str(file)!r}, got a bad run-length header")
            pos += 4
            for channel in range(4):
                filled = 0
                while filled < width:
                    if pos >= len(pixels):
                        raise SceneFileError(f"expected {height} scanlines in {str(file)!r}, got a truncated file")
                    count = int(pixels[pos])
                    if count > 128:
                        count -= 128
                        out[row, filled : filled + count, channel] = pixels[pos + 1]
                        pos += 2
                    else:
                        out[row, filled : filled + count, channel] = pixels[pos + 1 : pos + 1 + count]
                        pos += 1 + count
                    filled += count
                if filled != width:
                    raise SceneFileError(f"expected scanlines of {width} pixels in {str(file)!r}, got an overlong run")
        else:
            line = pixels[pos : pos + 4 * width]
            if line.size != 4 * width:
                raise SceneFileError(f"expected {height} scanlines in {str(file)!r}, got a truncated file")
            out[row] = line.reshape(width, 4)
            pos += 4 * width
    return _decode_rgbe(out)


# ----------------------------------------------------------------------------------------
# The seen mask


def _seen_runs(seen: np.ndarray) -> np.ndarray:
    """Run boundaries ``[start, end, ...]`` of the True runs of the flattened mask."""
    flat = np.concatenate([[False], seen.reshape(-1), [False]]).astype(np.int8)
    return np.flatnonzero(np.diff(flat)).astype(np.int32)


def _seen_from_runs(runs: np.ndarray, height: int) -> np.ndarray:
    size = 2 * height * height
    runs = np.asarray(runs, dtype=np.int64).reshape(-1)
    if runs.size % 2 or (runs.size and (runs.min() < 0 or runs.max() > size or np.any(np.diff(runs) < 0))):
        raise SceneFileError(f"expected {ATTR_PROBE_SEEN_RUNS} to be increasing run boundaries within {size}, got {runs.size} values")
    change = np.zeros(size + 1, dtype=np.int64)
    np.add.at(change, runs[0::2], 1)
    np.add.at(change, runs[1::2], -1)
    return (np.cumsum(change)[:size] > 0).reshape(height, 2 * height)


# ----------------------------------------------------------------------------------------
# Writing and reading


def write_light_probe(stage: Usd.Stage, probe: LightProbe, folder: str | Path) -> UsdLux.DomeLight:
    """Author ``probe`` on ``stage`` (at its edit target) as the dome light
    ``/World/Lights/LightProbe`` (see the module doc), writing its map to
    ``folder/textures/light_probe.hdr`` first.

    Args:
        stage: the stage being authored; ``folder`` is the folder of the layer that will hold
            the light, since the texture's asset path (``./textures/light_probe.hdr``) is
            relative to it.
        probe: the light probe, world axes.
        folder: the scene folder.

    Returns:
        The dome light.

    Raises:
        InputError: ``probe`` is not a LightProbe.
        SceneFileError: the texture cannot be written.
    """
    if not isinstance(probe, LightProbe):
        raise InputError(f"probe must be a LightProbe, got {type(probe).__name__}")
    write_hdr(Path(folder) / TEXTURE_FOLDER / LIGHT_PROBE_TEXTURE, probe.radiance)
    if not stage.GetPrimAtPath(LIGHTS_PATH).IsValid():
        UsdGeom.Xform.Define(stage, LIGHTS_PATH)
    dome = UsdLux.DomeLight.Define(stage, LIGHT_PROBE_PATH)
    dome.CreateTextureFileAttr().Set(Sdf.AssetPath(f"./{TEXTURE_FOLDER}/{LIGHT_PROBE_TEXTURE}"))
    dome.CreateTextureFormatAttr().Set(UsdLux.Tokens.latlong)
    dome.CreateIntensityAttr().Set(1.0)
    UsdGeom.Xformable(dome).MakeMatrixXform().Set(gf_from_transform(WORLD_FROM_DOME))
    prim = dome.GetPrim()
    prim.SetDocumentation(
        "The shot's light as the footage saw it, seen from sceneforge:lightProbe:centre (SceneForge light probe)"
    )

    def attribute(name: str, type_name: Sdf.ValueTypeName, value: object) -> None:
        prim.CreateAttribute(name, type_name, custom=True).Set(value)

    attribute(ATTR_PROBE_SH, Sdf.ValueTypeNames.Double3Array, Vt.Vec3dArray.FromNumpy(np.ascontiguousarray(probe.sh)))
    attribute(ATTR_PROBE_CENTRE, Sdf.ValueTypeNames.Point3d, Gf.Vec3d(*probe.centre_in_world.tolist()))
    if probe.key_direction is not None:
        attribute(ATTR_PROBE_KEY_DIRECTION, Sdf.ValueTypeNames.Vector3d, Gf.Vec3d(*probe.key_direction.tolist()))
    attribute(ATTR_PROBE_KEY_IRRADIANCE, Sdf.ValueTypeNames.Double3, Gf.Vec3d(*probe.key_irradiance.tolist()))
    attribute(ATTR_PROBE_AMBIENT, Sdf.ValueTypeNames.Double3, Gf.Vec3d(*probe.ambient_radiance.tolist()))
    attribute(ATTR_PROBE_ENCODING, Sdf.ValueTypeNames.Token, probe.encoding)
    attribute(ATTR_PROBE_SEEN_SHARE, Sdf.ValueTypeNames.Double, seen_share(probe.seen))
    attribute(ATTR_PROBE_SEEN_RUNS, Sdf.ValueTypeNames.IntArray, Vt.IntArray.FromNumpy(_seen_runs(probe.seen)))
    log.debug("light probe authored at %s (%d×%d map)", LIGHT_PROBE_PATH, 2 * probe.height, probe.height)
    return dome


def seen_share(seen: np.ndarray) -> float:
    """Share of the sphere's solid angle the H×2H ``seen`` mask covers."""
    solid = equirect_solid_angles(seen.shape[0])
    return float((solid * seen).sum() / (4.0 * math.pi))


def _probe_prim(stage: Usd.Stage) -> Usd.Prim | None:
    prim = stage.GetPrimAtPath(LIGHT_PROBE_PATH)
    if not prim.IsValid() or not prim.IsActive() or not prim.IsA(UsdLux.DomeLight):
        return None
    if not prim.GetAttribute(ATTR_PROBE_SH).HasValue():
        return None  # a dome light someone added by hand, not a SceneForge probe
    return prim


def _get(prim: Usd.Prim, name: str, *, required: bool = True) -> object:
    attr = prim.GetAttribute(name)
    value = attr.Get() if attr.IsValid() else None
    if value is None and required:
        raise SceneFileError(f"expected {prim.GetPath()} to hold {name}, got nothing; reconstruct the shot again")
    return value


def _light_scale(prim: Usd.Prim) -> np.ndarray:
    """Per channel: what the dome's intensity, exposure and colour multiply the written map by."""
    light = UsdLux.LightAPI(prim)
    intensity = float(light.GetIntensityAttr().Get())
    exposure = float(light.GetExposureAttr().Get())
    colour = np.array(list(light.GetColorAttr().Get()), dtype=np.float64)
    return intensity * 2.0**exposure * colour


def read_light_probe(stage_or_path: str | Path | Usd.Stage) -> LightProbe | None:
    """The shot's light probe as the composed scene has it (see the module doc, "Edits"), or
    None when the scene has none (or it was removed).

    The map is read from the dome's ``.hdr`` texture (which must lie inside the scene's folder,
    as every asset SceneForge reads), the seen mask from its run-length attribute.

    Raises:
        SceneFileError: the scene cannot be opened, or its probe is incomplete (a missing or
            unreadable texture, missing attributes).
    """
    stage = as_stage(stage_or_path, require_world=False)
    prim = _probe_prim(stage)
    if prim is None:
        return None
    dome = UsdLux.DomeLight(prim)
    asset = dome.GetTextureFileAttr().Get()
    if asset is None or not asset.resolvedPath:
        raise SceneFileError(
            f"expected the light probe's texture {asset.path if asset is not None else '(none)'} next to the scene, "
            "got nothing there; reconstruct the shot again"
        )
    radiance = read_hdr(checked_asset(asset.resolvedPath, scene_root(stage), what="light probe texture"))
    height = radiance.shape[0]
    if radiance.shape[1] != 2 * height:
        raise SceneFileError(f"expected the light probe's map to be 2H×H, got {radiance.shape[1]}×{height}")
    sh = np.array(_get(prim, ATTR_PROBE_SH), dtype=np.float64)
    if sh.shape != (9, 3):
        raise SceneFileError(f"expected 9 RGB SH coefficients in {ATTR_PROBE_SH}, got {sh.shape}")
    key = _get(prim, ATTR_PROBE_KEY_DIRECTION, required=False)
    encoding = str(_get(prim, ATTR_PROBE_ENCODING))
    try:
        probe = LightProbe(
            radiance=radiance,
            seen=_seen_from_runs(np.array(_get(prim, ATTR_PROBE_SEEN_RUNS)), height),
            sh=sh,
            centre_in_world=np.array(_get(prim, ATTR_PROBE_CENTRE), dtype=np.float64),
            key_direction=None if key is None else np.array(key, dtype=np.float64),
            key_irradiance=np.array(_get(prim, ATTR_PROBE_KEY_IRRADIANCE), dtype=np.float64),
            ambient_radiance=np.array(_get(prim, ATTR_PROBE_AMBIENT), dtype=np.float64),
            encoding=encoding,  # type: ignore[arg-type]
        )
    except InputError as exc:
        raise SceneFileError(f"expected a valid light probe at {prim.GetPath()}, got {exc}") from exc
    return _as_composed(probe, prim)


def _as_composed(probe: LightProbe, prim: Usd.Prim) -> LightProbe:
    """``probe`` scaled by the dome's intensity, exposure and colour, turned by any rotation its
    transform has beyond the one it was written with, and its centre moved with the dome."""
    scale = _light_scale(prim)
    world_from_dome = transform_from_gf(UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(Usd.TimeCode.EarliestTime()))
    rotation = world_from_dome[:3, :3]
    rotation = rotation / np.cbrt(max(abs(float(np.linalg.det(rotation))), 1e-300))
    turn = rotation @ WORLD_FROM_DOME[:3, :3].T  # world_from_world: the edit's rotation
    moved = world_from_dome @ np.linalg.inv(WORLD_FROM_DOME)  # and its whole move, for the centre
    radiance, seen, sh = probe.radiance, probe.seen, probe.sh
    key = probe.key_direction
    centre = moved[:3, :3] @ probe.centre_in_world + moved[:3, 3]
    if not np.allclose(turn, np.eye(3), atol=1e-9):
        directions = equirect_directions(probe.height)
        # Each texel shows what the unedited map shows in the direction the edit turned onto it.
        rows, cols = equirect_pixels(directions.reshape(-1, 3) @ turn, probe.height)  # turnᵀ · d, row-wise
        radiance = radiance[rows, cols].reshape(radiance.shape)
        seen = seen[rows, cols].reshape(seen.shape)
        sh = sh_project(directions.reshape(-1, 3), radiance.reshape(-1, 3), equirect_solid_angles(probe.height).reshape(-1))
        key = None if key is None else turn @ key
    if np.allclose(scale, 1.0) and radiance is probe.radiance and np.allclose(centre, probe.centre_in_world, atol=0.0):
        return probe
    return LightProbe(
        radiance=(radiance * scale.astype(np.float32)).astype(np.float32),
        seen=seen,
        sh=sh * scale,
        centre_in_world=centre,
        key_direction=key,
        key_irradiance=probe.key_irradiance * scale,
        ambient_radiance=probe.ambient_radiance * scale,
        encoding=probe.encoding,
    )


def light_probe_summary(stage_or_path: str | Path | Usd.Stage) -> dict[str, object] | None:
    """What ``sceneforge info`` says about the probe, from its attributes and the texture's
    header (the map itself is not read): ``prim``, ``map_size`` [width, height] (None when the
    texture is missing), ``seen_share``, ``encoding``, ``key_direction`` (3 floats or None),
    ``key_azimuth_deg`` (from −Z towards +X, the lat-long map's column; None without a key),
    ``key_elevation_deg`` (above the horizon), ``ambient_radiance``, ``key_irradiance`` and
    ``ambient_to_key`` (π·ambient over the key's irradiance on luminance; None without a key).
    None when the scene has no probe. Written values; edits of the dome are not applied.
    """
    stage = as_stage(stage_or_path, require_world=False)
    prim = _probe_prim(stage)
    if prim is None:
        return None
    asset = UsdLux.DomeLight(prim).GetTextureFileAttr().Get()
    size = hdr_size(asset.resolvedPath) if asset is not None and asset.resolvedPath else None
    key = prim.GetAttribute(ATTR_PROBE_KEY_DIRECTION).Get() if prim.GetAttribute(ATTR_PROBE_KEY_DIRECTION).IsValid() else None
    ambient = np.array(_get(prim, ATTR_PROBE_AMBIENT, required=False) or (0.0, 0.0, 0.0), dtype=np.float64)
    irradiance = np.array(_get(prim, ATTR_PROBE_KEY_IRRADIANCE, required=False) or (0.0, 0.0, 0.0), dtype=np.float64)
    direction = None
    azimuth = elevation = ratio = None
    if key is not None:
        direction = np.array(key, dtype=np.float64)
        direction /= max(float(np.linalg.norm(direction)), 1e-12)
        azimuth = math.degrees(math.atan2(direction[0], -direction[2]))
        elevation = math.degrees(math.asin(float(np.clip(direction[1], -1.0, 1.0))))
        key_luminance = float(irradiance @ _LUMA)
        ratio = float(math.pi * ambient @ _LUMA) / key_luminance if key_luminance > 0 else None
    return {
        "prim": LIGHT_PROBE_PATH,
        "map_size": list(size) if size is not None else None,
        "seen_share": _get(prim, ATTR_PROBE_SEEN_SHARE, required=False),
        "encoding": _get(prim, ATTR_PROBE_ENCODING, required=False),
        "key_direction": None if direction is None else direction.tolist(),
        "key_azimuth_deg": azimuth,
        "key_elevation_deg": elevation,
        "ambient_radiance": ambient.tolist(),
        "key_irradiance": irradiance.tolist(),
        "ambient_to_key": ratio,
    }
