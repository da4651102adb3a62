"""How many metres a scene unit is: from what the user knows, or assumed from the camera height.

Structure from motion solves a shot up to scale, so its units are arbitrary (the demo room
comes out about 7× too large). The scale is set on the stage as ``metersPerUnit`` — the
geometry keeps its units, and USD readers (Blender, usdview, SceneForge's own ``insert`` of a
glTF in metres) convert with it:

- ``camera-height=H``: the camera was held ``H`` metres above the ground plane the solve found
  (the median camera height over the shot);
- ``distance=F:x1,y1,x2,y2=D``: two pixels of source frame ``F`` (source-video pixels) whose 3D
  points — read from that frame's depth — lie ``D`` metres apart;
- ``auto`` (default): where a ground plane is found, the camera is assumed to be at eye level
  (1.6 m) and the scene says "scale assumed"; otherwise the units stay arbitrary and it says so;
- ``none``: arbitrary units.
"""

from __future__ import annotations

import re
from pathlib import Path
from dataclasses import dataclass

import numpy as np

from sceneforge.reconstruct.camera import ground_height
from sceneforge.scenegraph import CameraTrack, DepthMaps, Frames, InputError, SceneFileError

__all__ = ["EYE_LEVEL_M", "ScaleChoice", "parse_scale", "scale_of_scene", "scene_scale"]

EYE_LEVEL_M = 1.6
"""The camera height assumed by ``auto`` (a handheld or tripod shot at eye level), metres."""

_DISTANCE = re.compile(r"^distance=(\d+):([-\d.]+),([-\d.]+),([-\d.]+),([-\d.]+)=([\d.]+)$")
_HEIGHT = re.compile(r"^camera-height=([\d.]+)$")


@dataclass(frozen=True)
class ScaleChoice:
    """A parsed ``--scale-from``."""

    method: str  # auto | none | camera-height | distance
    metres: float | None = None
    frame: int | None = None
    pixels: tuple[float, float, float, float] | None = None


def parse_scale(text: str) -> ScaleChoice:
    """``--scale-from`` text → :class:`ScaleChoice`.

    Raises:
        InputError: malformed text, or a length that is not positive.
    """
    text = text.strip()
    if text in ("auto", "none"):
        return ScaleChoice(text)
    if match := _HEIGHT.match(text):
        metres = float(match.group(1))
        if metres <= 0:
            raise InputError(f"--scale-from camera-height must be positive metres, got {metres}")
        return ScaleChoice("camera-height", metres=metres)
    if match := _DISTANCE.match(text):
        metres = float(match.group(6))
        if metres <= 0:
            raise InputError(f"--scale-from distance must be positive metres, got {metres}")
        pixels = tuple(float(v) for v in match.group(2, 3, 4, 5))
        return ScaleChoice("distance", metres=metres, frame=int(match.group(1)), pixels=pixels)  # type: ignore[arg-type]
    raise InputError(
        f"--scale-from must be auto, none, camera-height=METRES or distance=FRAME:x1,y1,x2,y2=METRES, got {text!r}"
    )


def scene_scale(choice: ScaleChoice, frames: Frames | None, track: CameraTrack, depths: DepthMaps | None) -> tuple[float, bool, str]:
    """(metres per scene unit, whether that is known, how it was set — one line for the report).

    Raises:
        InputError: ``camera-height`` without a ground plane; ``distance`` on a frame not in the
            clip, outside the frame, or where the depth has no value.
    """
    if choice.method == "none":
        return 1.0, False, "arbitrary units (--scale-from none)"
    if choice.method == "distance":
        if frames is None:
            raise InputError("--scale-from distance needs the frames")
        return _from_distance(choice, frames, track, depths)
    ground = ground_height(track.points.points_in_world) if len(track.points) else None
    if ground is None:
        if choice.method == "camera-height":
            raise InputError(
                "--scale-from camera-height needs a ground plane, and the solve found none; "
                "use --scale-from distance=FRAME:x1,y1,x2,y2=METRES"
            )
        return 1.0, False, "arbitrary units: no ground plane to assume a camera height from"
    height = float(np.median(track.world_from_cam[:, 1, 3]) - ground)
    if height <= 0:
        return 1.0, False, "arbitrary units: the cameras are not above the ground plane found"
    metres = choice.metres if choice.method == "camera-height" else EYE_LEVEL_M
    how = (
        f"camera {metres:g} m above the ground (--scale-from camera-height)" if choice.method == "camera-height"
        else f"scale assumed: the camera at eye level ({EYE_LEVEL_M:g} m above the ground plane)"
    )
    return metres / height, choice.method == "camera-height", how


def _from_distance(choice: ScaleChoice, frames: Frames, track: CameraTrack, depths: DepthMaps | None) -> tuple[float, bool, str]:
    if choice.frame not in [int(n) for n in frames.frame_numbers]:
        raise InputError(f"--scale-from distance names frame {choice.frame}, which is not in the clip")
    if depths is None or choice.frame not in depths:
        raise InputError(f"--scale-from distance needs the depth of frame {choice.frame}; drop --depth none")
    return _distance_scale(choice, track, depths[choice.frame].depth, frames.scale)


def _distance_scale(choice: ScaleChoice, track: CameraTrack, depth: np.ndarray, source_scale: float) -> tuple[float, bool, str]:
    """Metres per unit from two source-video pixels of frame ``choice.frame`` lifted on ``depth``
    (``source_scale``: working-frame pixels per source pixel)."""
    index = [int(n) for n in track.frame_numbers].index(choice.frame)
    intrinsics = track.intrinsics[index]
    sx, sy = depth.shape[1] / intrinsics.width, depth.shape[0] / intrinsics.height
    points = []
    for x, y in (choice.pixels[:2], choice.pixels[2:]):
        u, v = x * source_scale, y * source_scale  # source pixels → working frame pixels
        col, row = int(u * sx), int(v * sy)
        if not (0 <= col < depth.shape[1] and 0 <= row < depth.shape[0]):
            raise InputError(f"--scale-from distance: pixel {x:g},{y:g} lies outside the source video")
        window = depth[max(0, row - 2): row + 3, max(0, col - 2): col + 3]
        valid = window[window > 0]
        if len(valid) == 0:
            raise InputError(f"--scale-from distance: no depth at pixel {x:g},{y:g} of frame {choice.frame}; pick a textured point")
        cam = intrinsics.unproject(np.array([[u, v]]), np.array([float(np.median(valid))]))[0]
        points.append(track.world_from_cam[index][:3, :3] @ cam + track.world_from_cam[index][:3, 3])
    units = float(np.linalg.norm(points[0] - points[1]))
    if units <= 0:
        raise InputError("--scale-from distance: the two pixels are the same 3D point")
    return choice.metres / units, True, f"{choice.metres:g} m between two points of frame {choice.frame} (--scale-from distance)"


def scale_of_scene(scene_path: str | Path, rule: str) -> tuple[float, bool, str]:
    """(metres per unit, metric, how) for an existing scene, measured on its reconstruction
    (the camera path and depth as solved, whatever the edits did to them).

    ``rule``: ``camera-height=M``, ``distance=F:x1,y1,x2,y2=M`` (as ``--scale-from``) or
    ``meters-per-unit=X``. Used by ``sceneforge edit shot/ scale-scene``.

    Raises:
        InputError: a malformed rule, or one the scene cannot measure (no ground plane, no
            depth at the pixels, a frame not in the shot).
        SceneFileError: the scene or its reconstruction layer cannot be read.
    """
    from pxr import Usd

    from sceneforge.scenegraph import read_camera_track
    from sceneforge.scenegraph.usd import ATTR_DEPTH_MAPS, DEFAULT_CAMERA_PATH, RECONSTRUCTION_FILE, layer_data, open_stage

    text = rule.strip()
    if text.startswith("meters-per-unit="):
        try:
            value = float(text.split("=", 1)[1])
        except ValueError:
            value = float("nan")
        if not (np.isfinite(value) and value > 0):
            raise InputError(f"meters-per-unit must be a positive number, got {text.split('=', 1)[1]!r}")
        return value, True, f"{value:g} m per unit, set by hand (scale-scene)"
    try:
        choice = parse_scale(text)
    except InputError:
        raise InputError(
            f"scale-scene takes --distance F:x1,y1,x2,y2=M, --camera-height M or --meters-per-unit X, got {rule!r}"
        ) from None
    if choice.method not in ("camera-height", "distance"):
        raise InputError(f"scale-scene measures camera-height=M, distance=F:x1,y1,x2,y2=M or meters-per-unit=X, got {rule!r}")
    root = open_stage(scene_path)
    folder = Path(root.GetRootLayer().realPath).parent
    if not (folder / RECONSTRUCTION_FILE).is_file():
        raise SceneFileError(f"expected {folder / RECONSTRUCTION_FILE} to measure the scale on; rescale with meters-per-unit=X instead")
    stage = Usd.Stage.Open(str(folder / RECONSTRUCTION_FILE))
    track = read_camera_track(stage)
    if choice.method == "camera-height":
        metres, metric, how = scene_scale(choice, None, track, None)
        return metres, metric, how.replace("--scale-from camera-height", "scale-scene --camera-height")
    if choice.frame not in [int(n) for n in track.frame_numbers]:
        raise InputError(f"scale-scene --distance names frame {choice.frame}, which is not in the shot")
    assets = stage.GetPrimAtPath(DEFAULT_CAMERA_PATH).GetAttribute(ATTR_DEPTH_MAPS)
    paths = list(assets.Get()) if assets and assets.HasValue() else []
    index = [int(n) for n in track.frame_numbers].index(choice.frame)
    resolved = paths[index].resolvedPath if index < len(paths) else ""
    if not resolved:
        raise InputError(f"scale-scene --distance needs the depth of frame {choice.frame}, and the scene references none")
    with np.load(resolved) as data:
        depth = data["depth"].astype(np.float32)
    source_scale = float(dict(layer_data(root).get("metadata", {})).get("sourceScale", 1.0))
    metres, metric, how = _distance_scale(choice, track, depth, source_scale)
    return metres, metric, how.replace("--scale-from distance", "scale-scene --distance")

