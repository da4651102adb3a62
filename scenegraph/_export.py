"""Export a SceneForge scene to other tools' formats: one registry, one entry point.

``export_scene(scene, out, to=...)`` dispatches by format name to one function per format,
each in its own module (trimesh's layout: one file per format plus one registry entry)::

    glb         _export_glb.py         binary glTF: every visible mesh, its texture, the plate camera
    colmap      _export_colmap.py      COLMAP text model: cameras.txt, images.txt, points3D.txt
    nerfstudio  _export_nerfstudio.py  nerfstudio transforms.json (+ sparse_pc.ply)
    chan        _export_chan.py        Nuke .chan camera: frame, translate, rotate (ZXY), vertical fov
    ply         _export_ply.py         the sparse points with their colours

Every exporter reads the composed stage, so edits in ``edits.usda`` (or unsaved edits on an
open stage) are what gets exported. Every output is written to a temporary name beside it
and renamed into place (a folder output too), so a crash never leaves half a file, and an
existing output is replaced only with ``overwrite=True`` (the CLI's ``--force``).

This module holds the registry and the helpers the format modules share.
"""

from __future__ import annotations

import difflib
import logging
import math
import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pxr import Usd, UsdGeom

from ._camera import CameraTrack, Intrinsics, SparsePoints
from ._errors import InputError, OutputExistsError, SceneFileError
from ._transforms import rotation_about_axis
from ._usd import _POINTS_PATH, DEFAULT_CAMERA_PATH, _as_stage, _read_points

__all__ = ["EXPORT_FORMATS", "export_scene"]

log = logging.getLogger(__name__)

EXPORT_FORMATS: tuple[str, ...] = ("glb", "colmap", "nerfstudio", "chan", "ply")
"""Names :func:`export_scene` accepts for ``to``."""

DEFAULT_IMAGE_NAME = "frame_{:06d}.png"
"""Image file name of a frame, from its source frame number, when no ``image_paths`` are given."""

# Which of export_scene's options each format takes; passing another one is an error rather
# than silently ignored.
_OPTIONS: dict[str, frozenset[str]] = {
    "glb": frozenset({"time", "camera"}),
    "colmap": frozenset({"image_paths", "camera"}),
    "nerfstudio": frozenset({"image_paths", "camera"}),
    "chan": frozenset({"camera"}),
    "ply": frozenset(),
}


def _exporters() -> dict[str, Callable[..., Path]]:
    """The registry: format name -> export function."""
    # Imported here: the format modules import this module's helpers.
    from ._export_chan import export_chan
    from ._export_colmap import export_colmap
    from ._export_glb import export_glb
    from ._export_nerfstudio import export_nerfstudio
    from ._export_ply import export_ply

    return {
        "glb": export_glb,
        "colmap": export_colmap,
        "nerfstudio": export_nerfstudio,
        "chan": export_chan,
        "ply": export_ply,
    }


def export_scene(
    scene: str | Path | Usd.Stage,
    out: str | Path,
    *,
    to: str,
    time: float | None = None,
    overwrite: bool = False,
    image_paths: Sequence[str | Path] | None = None,
    camera: str = DEFAULT_CAMERA_PATH,
) -> Path:
    """Export a scene (edits applied) to another tool's format.

    Args:
        scene: a scene file (``shot/scene.usda``), a scene folder, or an open ``Usd.Stage``
            (its composed state is exported, unsaved edits included).
        out: the output: a ``.glb`` / ``.chan`` / ``.ply`` file, a folder for ``colmap``,
            a folder or a ``.json`` file for ``nerfstudio`` (see each ``export_<format>``).
        to: one of :data:`EXPORT_FORMATS` (case-insensitive).
        time: ``glb`` only: the source frame number (USD time code) to pose the meshes and
            the camera at; None for the first frame.
        overwrite: replace an existing output (the CLI's ``--force``).
        image_paths: ``colmap`` and ``nerfstudio`` only: one image path per frame, as the
            model should name them; None for ``frame_%06d.png`` by source frame number.
        camera: prim path of the camera to export (not used by ``ply``).

    Returns:
        The path written (the file, or the folder of a COLMAP model).

    Raises:
        InputError: an unknown format, an option the format does not take, or bad options.
        OutputExistsError: ``out`` exists and ``overwrite`` is False.
        SceneFileError: the scene cannot be read.
    """
    if not isinstance(to, str):
        raise InputError(f"to must be a format name ({', '.join(EXPORT_FORMATS)}), got {type(to).__name__}")
    name = to.strip().lower().lstrip(".")
    if name not in EXPORT_FORMATS:
        close = difflib.get_close_matches(name, EXPORT_FORMATS, n=1)
        hint = f"did you mean {close[0]!r}?" if close else "pick one of those"
        raise InputError(f"unknown export format {to!r}; expected one of {', '.join(EXPORT_FORMATS)}; {hint}")
    given = {"time": time, "image_paths": image_paths}
    options: dict[str, Any] = {"overwrite": overwrite}
    for option, value in given.items():
        if value is None:
            continue
        if option not in _OPTIONS[name]:
            takers = [f for f, accepted in _OPTIONS.items() if option in accepted]
            raise InputError(f"{option} applies to {' and '.join(takers)} exports, not to {name}; leave it out")
        options[option] = value
    if "camera" in _OPTIONS[name]:
        options["camera"] = camera
    return _exporters()[name](scene, out, **options)


# ----------------------------------------------------------------------------------------
# Shared helpers of the format modules


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
    return _as_stage(scene, require_world=False)


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


def _temporary_sibling(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def write_file_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    Raises:
        SceneFileError: the file cannot be written.
    """
    tmp = _temporary_sibling(path)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _unwritable(path, exc) from exc
    log.debug("wrote %s (%d bytes)", path, len(data))
    return path


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
    tmp = _temporary_sibling(path)
    try:
        tmp.mkdir()
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        if path.is_dir() and any(path.iterdir()):
            old = _temporary_sibling(path)
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
    prim = stage.GetPrimAtPath(_POINTS_PATH)
    if not prim.IsValid() or not prim.IsActive():
        return SparsePoints.empty()
    imageable = UsdGeom.Imageable(prim)
    if imageable.ComputeVisibility(Usd.TimeCode.Default()) == UsdGeom.Tokens.invisible:
        return SparsePoints.empty()
    return _read_points(stage)  # in the composed world: the prim's transform is applied


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
