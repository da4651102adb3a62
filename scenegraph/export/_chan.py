"""Nuke ``.chan`` camera export.

A chan file is plain text, one line per frame, whitespace-separated columns (Nuke's Camera
"import chan file"; the same layout Boujou, 3DEqualizer and Blender's chan add-on use)::

    frame  tx  ty  tz  rx  ry  rz  vfov

- ``frame``: the source frame number (the USD time code), so the camera lines up with the
  plate read at its own frame numbers.
- ``tx ty tz``: the camera's position in scene units, in a +Y-up right-handed world (ours;
  a +Z-up stage is turned to +Y up).
- ``rx ry rz``: Euler angles in degrees of the camera's orientation for Nuke's default
  rotation order ``ZXY`` (rotate about Z first, then X, then Y, i.e.
  ``R = Ry(ry) @ Rx(rx) @ Rz(rz)`` with column vectors), of a Nuke camera: +X right, +Y up,
  looking down -Z (our OpenCV camera in OpenGL axes, ``world_from_glcam``). ``ry`` and ``rz`` are
  unwrapped from frame to frame so the curves have no 360° jumps.
- ``vfov``: the vertical field of view in degrees, ``2 atan(height / (2 fy))``.

What the format cannot hold: Nuke turns ``vfov`` into a focal length with the Camera's
*vertical* aperture but frames the image by its *horizontal* aperture, so for the plate
to line up set the Camera's apertures in the image's proportions before importing:
``haperture / vaperture = (width / fx) / (height / fy)`` (e.g. vaperture 18.672 mm,
haperture 33.195 mm for 1920×1080 square pixels). The principal point (Nuke's
``win_translate``), skew and lens distortion are not in a chan file; the exact values stay
in the USD camera (``sceneforge:K``, ``sceneforge:radialDistortion``).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
from pxr import Usd

from ..files import atomic_write
from ..usd import DEFAULT_CAMERA_PATH, read_camera_track, world_from_glcam
from ._common import ExportFormat, format_float, open_scene, output_path, y_up_from_world

__all__ = ["CHAN", "export_chan", "nuke_zxy_degrees"]

log = logging.getLogger(__name__)

# Below this |cos(rx)| the camera looks straight up or down and ry, rz share one degree of
# freedom (gimbal lock): rz is set to 0.
_GIMBAL_COS = 1e-9


def export_chan(
    scene: str | Path | Usd.Stage,
    out: str | Path,
    *,
    overwrite: bool = False,
    camera: str = DEFAULT_CAMERA_PATH,
) -> Path:
    """Write the scene's camera (edits applied) as a Nuke ``.chan`` file (columns in the module doc).

    Args:
        scene: a scene file or folder, or an open stage.
        out: the ``.chan`` file to write; its folder must exist.
        overwrite: replace an existing file.
        camera: prim path of the camera.

    Returns:
        The path written.

    Raises:
        InputError: ``out`` is not a usable file path.
        OutputExistsError: ``out`` exists without ``overwrite``.
        SceneFileError: the scene or its camera cannot be read.
    """
    path = output_path(out, overwrite=overwrite)
    stage = open_scene(scene)
    track = read_camera_track(stage, camera=camera)
    world_from_nukecam = world_from_glcam(y_up_from_world(stage) @ track.world_from_cam)
    angles = np.stack([nuke_zxy_degrees(m[:3, :3]) for m in world_from_nukecam])
    angles[:, 1:] = np.degrees(np.unwrap(np.radians(angles[:, 1:]), axis=0))

    lines = []
    for number, matrix, (rx, ry, rz), intrinsics in zip(track.frame_numbers, world_from_nukecam, angles, track.intrinsics):
        vfov = math.degrees(2.0 * math.atan2(intrinsics.height / 2.0, intrinsics.fy))
        values = (*matrix[:3, 3], rx, ry, rz, vfov)
        lines.append(f"{int(number)} " + " ".join(format_float(v) for v in values))

    atomic_write(path, ("\n".join(lines) + "\n").encode("ascii"))
    first = track.intrinsics[0]
    off_centre = max(abs(i.cx - i.width / 2.0) + abs(i.cy - i.height / 2.0) for i in track.intrinsics)
    if off_centre > 0.5:
        log.warning(
            "%s: the principal point is %.1f px off centre, which a chan file cannot hold; "
            "set the Nuke camera's win_translate to match the plate",
            path.name,
            off_centre,
        )
    if any(i.has_distortion for i in track.intrinsics):
        log.warning("%s: lens distortion is not in a chan file; undistort the plate to match", path.name)
    log.info(
        "chan: %d frames in %s; set the Nuke Camera's haperture/vaperture to %.6f before importing",
        len(track),
        path,
        (first.width / first.fx) / (first.height / first.fy),
    )
    return path


def nuke_zxy_degrees(rotation: np.ndarray) -> np.ndarray:
    """(rx, ry, rz) in degrees with ``rotation = Ry(ry) @ Rx(rx) @ Rz(rz)`` (Nuke's ``ZXY`` order).

    Args:
        rotation: 3×3 rotation matrix (column vectors).
    """
    r = np.asarray(rotation, dtype=np.float64)
    rx = math.asin(min(1.0, max(-1.0, -r[1, 2])))
    if abs(math.cos(rx)) > _GIMBAL_COS:
        ry = math.atan2(r[0, 2], r[2, 2])
        rz = math.atan2(r[1, 0], r[1, 1])
    else:
        ry = math.atan2(-r[2, 0], r[0, 0])
        rz = 0.0
    return np.degrees([rx, ry, rz])


CHAN = ExportFormat("chan", export_chan, frozenset({"camera"}))
