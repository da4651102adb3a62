"""What the export format modules share: the registry entry type, opening the scene,
checking the output path, writing a folder atomically, image names and small conversions."""

from __future__ import annotations

import logging
import math
import os
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pxr import Usd, UsdGeom

from ..files import remove_stale_temporaries, temporary_sibling
from ..types import CameraTrack, InputError, Intrinsics, OutputExistsError, SceneFileError, SparsePoints, rotation_about_axis
from ..usd import POINTS_PATH, as_stage, read_points

__all__ = [
    "DEFAULT_IMAGE_NAME",
    "ExportFormat",
    "check_no_skew",
    "format_float",
    "image_names",
    "open_scene",
    "output_path",
    "sparse_points_in_world",
    "write_folder_atomic",
    "y_up_from_world",
]

log = logging.getLogger(__name__)

DEFAULT_IMAGE_NAME = "frame_{:06d}.png"
"""Image file name of a frame, from its source frame number, when no ``image_paths`` are given."""


@dataclass(frozen=True)
class ExportFormat:
    """One format's registry entry, declared by its module.

    Attributes:
        name: the format name ``export_scene(..., to=name)`` takes.
        write: ``write(scene, out, *, overwrite, **options) -> Path``.
        options: which of ``export_scene``'s options (``time``, ``image_paths``, ``camera``)
            the format takes; passing another one is an error rather than silently ignored.
    """

    name: str
    write: Callable[..., Path]
    options: frozenset[str]


def open_scene(scene: str | Path | Usd.Stage) -> Usd.Stage:
    """The composed stage of a scene file, folder, or open stage.

    Raises:
        InputError: ``scene`` is none of those.
        SceneFileError: the file cannot be opened.
    """
    if isinstance(scene, Usd.Stage):
        return scene
    if not isinstance(scene, (str, Path)):
        raise InputError(f"scene must be a scene file, a scene folder or a Usd.Stage, got {type(scene).__name__}")
    return as_stage(scene, require_world=False)


def output_path(out: str | Path, *, overwrite: bool, folder: bool = False) -> Path:
    """Check an output path: its parent folder exists, and it is absent unless ``overwrite``.

    An empty existing folder counts as absent for a folder output (nothing to lose).

    Raises:
        InputError: ``out`` is not a path, its folder is missing, or it is the wrong kind.
        OutputExistsError: ``out`` exists and ``overwrite`` is False.
    """
    if not isinstance(out, (str, Path)) or not str(out):
        raise InputError(f"out must be a file or folder path, got {out!r}")
    path = Path(out)
    if not path.parent.is_dir():
        raise InputError(f"the folder of {str(path)!r} does not exist; create {str(path.parent)!r} first")
    if folder:
        if path.exists() and not path.is_dir():
            raise InputError(f"out must be a folder for this format, got the file {str(path)!r}; pass a folder path")
        if path.is_dir() and any(path.iterdir()) and not overwrite:
            raise _exists(path)
    else:
        if path.is_dir():
            raise InputError(f"out must be a file path for this format, got the folder {str(path)!r}; name a file in it")
        if path.exists() and not overwrite:
            raise _exists(path)
    return path


def _exists(path: Path) -> OutputExistsError:
    return OutputExistsError(f"{str(path)!r} already exists; pass --force (overwrite=True) to replace it")


def _unwritable(path: Path, exc: OSError) -> SceneFileError:
    return SceneFileError(
        f"expected to write {str(path)!r}, got {exc.strerror or exc}; check that the folder is writable"
    )


def write_folder_atomic(path: Path, files: Mapping[str, bytes], *, overwrite: bool, replaceable: Iterable[str]) -> Path:
    """Write a folder of files as a whole: build it under a temporary name, then rename it.

    An existing non-empty folder is replaced only with ``overwrite`` and only when every file
    in it is one of ``replaceable`` (a previous export of the same kind): the old folder is
    moved aside, the new one renamed in, the old one deleted, so other files of the user's
    are never deleted.

    Raises:
        OutputExistsError: the folder exists and may not be replaced.
        SceneFileError: the folder cannot be written.
    """
    if path.is_dir() and any(path.iterdir()):
        if not overwrite:
            raise _exists(path)
        allowed = set(replaceable)
        foreign = sorted(p.name for p in path.iterdir() if p.name not in allowed)
        if foreign:
            raise OutputExistsError(
                f"{str(path)!r} holds files this export did not write ({', '.join(foreign[:3])}); "
                "export into a new or empty folder"
            )
    remove_stale_temporaries(path.parent)
    tmp = temporary_sibling(path)
    try:
        tmp.mkdir()
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        if path.is_dir() and any(path.iterdir()):
            old = temporary_sibling(path)
            os.rename(path, old)
            try:
                os.rename(tmp, path)
            except OSError:
                os.rename(old, path)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            # rename() onto an empty folder replaces it on POSIX; elsewhere remove it first.
            if path.is_dir() and os.name != "posix":
                path.rmdir()
            os.rename(tmp, path)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise _unwritable(path, exc) from exc
    log.debug("wrote %s (%s)", path, ", ".join(files))
    return path


def image_names(track: CameraTrack, image_paths: Sequence[str | Path] | None) -> list[str]:
    """One image name per frame: ``image_paths`` as given, else ``frame_%06d.png`` by frame number.

    Raises:
        InputError: ``image_paths`` is a single path, has the wrong length, or repeats a name.
    """
    if image_paths is None:
        return [DEFAULT_IMAGE_NAME.format(int(n)) for n in track.frame_numbers]
    if isinstance(image_paths, (str, Path)) or not isinstance(image_paths, Sequence):
        raise InputError("image_paths must be a sequence of paths, one per frame, got a single value")
    names = [Path(p).as_posix() if isinstance(p, Path) else str(p) for p in image_paths]
    if len(names) != len(track):
        raise InputError(f"image_paths must have one path per frame ({len(track)}), got {len(names)}")
    if any(not n or any(c in n for c in "\n\r") for n in names):
        raise InputError("image_paths must be non-empty paths on one line each; fix the list")
    if len(set(names)) != len(names):
        repeated = next(n for n in names if names.count(n) > 1)
        raise InputError(f"image_paths must name each frame's image once, got {repeated!r} twice; fix the list")
    return names


def check_no_skew(intrinsics: Intrinsics, fmt: str) -> None:
    """Raise :class:`InputError` when ``K`` has a skew term, which ``fmt`` cannot store."""
    skew = float(intrinsics.K[0, 1])
    if abs(skew) > 1e-9 * intrinsics.fx:
        raise InputError(
            f"{fmt} cameras have no skew, got K with skew {skew:g} px; re-solve the camera without skew"
        )


def sparse_points_in_world(stage: Usd.Stage) -> SparsePoints:
    """The sparse points of ``/World/Points`` with the prim's own transform applied (edits included).

    Empty when the prim is absent, deactivated or invisible.
    """
    prim = stage.GetPrimAtPath(POINTS_PATH)
    if not prim.IsValid() or not prim.IsActive():
        return SparsePoints.empty()
    imageable = UsdGeom.Imageable(prim)
    if imageable.ComputeVisibility(Usd.TimeCode.Default()) == UsdGeom.Tokens.invisible:
        return SparsePoints.empty()
    return read_points(stage)  # in the composed world: the prim's transform is applied


def y_up_from_world(stage: Usd.Stage) -> np.ndarray:
    """4×4 rotation taking the stage's world to a +Y-up world (identity for a +Y-up stage)."""
    if UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.z:
        # -90° about X takes +Z up to +Y up (x, y, z) -> (x, z, -y).
        out = np.eye(4)
        out[:3, :3] = rotation_about_axis(np.array([1.0, 0.0, 0.0]), -math.pi / 2.0)
        return np.round(out, 15)
    return np.eye(4)


def format_float(value: float) -> str:
    """Shortest text that reads back to the same double (Python's repr), for text formats."""
    return repr(float(value))
