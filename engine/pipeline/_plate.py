"""The plate: a scene's own footage, decoded again at the scene's image size, frame for frame."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from sceneforge.reconstruct import ProgressFn, read_frames
from sceneforge.scenegraph import CameraTrack, Frames, InputError, read_object_layers, scene_summary
from sceneforge.scenegraph.usd import ATTR_INSTANCE_MAPS, RECONSTRUCTION_FILE, frame_asset_paths

__all__ = ["read_plate", "read_instance_maps"]


def read_plate(scene: Path, track: CameraTrack, *, progress: ProgressFn | None = None, purpose: str = "this") -> Frames:
    """The frames of the clip ``scene`` was reconstructed from, one per frame of ``track``, at
    the track's image size.

    Raises:
        InputError: the source clip is gone, decodes to another size, or lacks a frame of the
            track (``purpose`` names what needed it, for the message).
    """
    source = scene_summary(scene).get("source") or ""
    if not source:
        raise InputError(f"{purpose} needs the clip the scene came from, and this scene does not name one; render with --mode cg")
    if not Path(source).exists():
        raise InputError(
            f"{purpose} needs the clip the scene came from, {source!r}, which does not exist; "
            "put the clip back where it was, or render with --mode cg"
        )
    first = track.intrinsics[0]
    # An image folder is read with the glob the reconstruction used (7-Scenes keeps depth
    # PNGs beside the colour JPEGs): frame numbers count the frames that glob picks.
    pattern = _reconstruct_option(scene, "pattern")
    # a still photo is held for the shot's frames (reconstruct --still-frames)
    hold = int(_reconstruct_option(scene, "still_frames") or 1)
    frames = read_frames(source, max_size=max(first.width, first.height), pattern=pattern, hold=hold, progress=progress)
    if (frames.width, frames.height) != (first.width, first.height):
        raise InputError(
            f"the source clip {source} decodes to {frames.width}×{frames.height}, the scene's camera is "
            f"{first.width}×{first.height}; {purpose} needs the clip the scene was made from"
        )
    position = {int(n): i for i, n in enumerate(frames.frame_numbers)}
    missing = [int(n) for n in track.frame_numbers if int(n) not in position]
    if missing:
        raise InputError(f"the source clip {source} has no frame {missing[0]} of the scene; {purpose} needs every frame")
    keep = np.array([position[int(n)] for n in track.frame_numbers])
    return Frames(
        images=frames.images[keep], fps=track.fps, frame_numbers=track.frame_numbers.copy(), source=frames.source,
        scale=frames.scale,
    )


def _reconstruct_option(scene: Path, name: str) -> Any:
    """An option the shot was reconstructed with, from its report (None when unknown)."""
    report = Path(scene).parent / "report.json"
    try:
        return json.loads(report.read_text()).get("config", {}).get(name)
    except (OSError, ValueError, AttributeError):
        return None


def read_instance_maps(scene: Path, plate: Frames, *, camera: str) -> tuple[np.ndarray | None, dict[int, str]]:
    """The shot's per-frame instance maps at the plate's size (N×H×W uint16, 0 = background) and
    instance id → object prim path; ``(None, {})`` when the scene has none or one is missing."""
    import cv2

    paths = frame_asset_paths(scene, ATTR_INSTANCE_MAPS, camera=camera)
    if len(paths) != len(plate) or any(p is None or not p.exists() for p in paths):
        return None, {}
    maps = np.zeros((len(plate), plate.height, plate.width), np.uint16)
    for i, path in enumerate(paths):
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None or image.ndim != 2:
            return None, {}
        maps[i] = cv2.resize(image, (plate.width, plate.height), interpolation=cv2.INTER_NEAREST)
    # The reconstruction's layers: an object the edit deleted is inactive in the composed scene.
    layers = read_object_layers(scene.parent / RECONSTRUCTION_FILE)
    objects = {int(layer["instance_id"]): layer["prim"] for layer in layers if layer["instance_id"]}
    return maps, objects
