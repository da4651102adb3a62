"""The export job: a scene (edits included) to GLB, COLMAP, nerfstudio, Nuke .chan or PLY,
optionally with the shot's frames as the images those formats reference."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sceneforge.reconstruct import ProgressFn
from sceneforge.scenegraph import EXPORT_FORMATS, InputError, OutputExistsError, atomic_path, export_scene, read_camera_track
from sceneforge.scenegraph.export import DEFAULT_IMAGE_NAME
from sceneforge.scenegraph.usd import DEFAULT_CAMERA_PATH

from ..registry import option
from ._plate import read_plate

__all__ = ["ExportConfig", "ExportResult", "export_job"]

log = logging.getLogger(__name__)

_IMAGE_FORMATS = ("colmap", "nerfstudio")


@dataclass(frozen=True)
class ExportConfig:
    """Everything ``sceneforge export`` takes."""

    scene: Path = option(flag="scene")
    """A scene.usda (or the shot folder holding it)."""
    output: Path = option(short="-o", required=True)
    """The file to write (glb, chan, ply, nerfstudio's transforms.json), or a folder for colmap."""
    to: str = option(required=True, choices=tuple(EXPORT_FORMATS))
    """The format to write."""
    time: float | None = None
    """glb: the source frame whose camera pose is written (default: the first)."""
    camera: str = DEFAULT_CAMERA_PATH
    """The USD camera to export."""
    images: bool = False
    """colmap/nerfstudio: also decode the scene's source clip and write its frames as PNGs into an
    'images' folder inside the export's folder (beside a transforms.json given as a file), named
    as the export references them."""
    force: bool = False
    """Overwrite an existing output."""


@dataclass(frozen=True)
class ExportResult:
    """What an export job wrote."""

    output: Path
    to: str
    images: Path | None
    num_images: int


def export_job(config: ExportConfig, *, progress: ProgressFn | None = None) -> ExportResult:
    """Export a scene; see :class:`ExportConfig`.

    Raises:
        SceneFileError: the scene cannot be read.
        InputError: an unknown format, an option the format does not take, images asked for a
            format that references none, or a source clip that cannot be read.
        OutputExistsError: the output exists and ``force`` is off.
    """
    scene = config.scene / "scene.usda" if config.scene.is_dir() else config.scene
    if config.images and config.to not in _IMAGE_FORMATS:
        raise InputError(f"--images works with {' and '.join(_IMAGE_FORMATS)} exports, got --to {config.to}; drop --images")
    options: dict[str, Any] = {"camera": config.camera} if config.to != "ply" else {}
    if config.time is not None:
        options["time"] = config.time
    # The frames are decoded before anything is written, so a missing clip leaves no half export.
    frames = None
    if config.images:
        plate = read_plate(scene, read_camera_track(scene, camera=config.camera), progress=progress, purpose="--images")
        frames = (plate.images, plate.frame_numbers)
    # Inside the output (OUT/images; beside a transforms.json given as a file), named as the
    # export references them. Existing images are found before anything is written, so a
    # refused export leaves nothing half done.
    folder = _images_folder(config)
    if frames is not None and not config.force:
        clash = next((folder / DEFAULT_IMAGE_NAME.format(int(n)) for n in frames[1]
                      if (folder / DEFAULT_IMAGE_NAME.format(int(n))).exists()), None)
        if clash is not None:
            raise OutputExistsError(f"{clash} already exists; pass --force to replace the images")
    config.output.parent.mkdir(parents=True, exist_ok=True)
    out = export_scene(scene, config.output, to=config.to, overwrite=config.force, **options)
    if frames is None:
        return ExportResult(output=out, to=config.to, images=None, num_images=0)
    written = _write_images(frames, folder, config.force, progress)
    return ExportResult(output=out, to=config.to, images=folder, num_images=written)


def _images_folder(config: ExportConfig) -> Path:
    """Where ``--images`` go: inside a folder output (a COLMAP model, a nerfstudio folder), beside
    a file output (a nerfstudio ``transforms.json``)."""
    return config.output.parent / "images" if config.output.suffix.lower() == ".json" else config.output / "images"


def _write_images(
    frames: tuple[np.ndarray, np.ndarray], folder: Path, force: bool, progress: ProgressFn | None
) -> int:
    from PIL import Image

    images, numbers = frames
    folder.mkdir(parents=True, exist_ok=True)
    for done, (image, number) in enumerate(zip(images, numbers)):
        path = folder / DEFAULT_IMAGE_NAME.format(int(number))
        if path.exists() and not force:
            raise OutputExistsError(f"{path} already exists; pass --force to replace it")
        with atomic_path(path) as tmp:
            Image.fromarray(image).save(tmp, format="PNG")
        if progress:
            progress("images", done + 1, len(images))
    return len(images)
