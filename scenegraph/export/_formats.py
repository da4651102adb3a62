"""The export registry and its one entry point, ``export_scene(scene, out, to=...)``.

Each format lives in its own module and declares its registry entry there (trimesh's layout:
one file per format plus one registry entry)::

    glb         _glb.py         binary glTF: every visible mesh, its texture, the plate camera
    colmap      _colmap.py      COLMAP text model: cameras.txt, images.txt, points3D.txt
    nerfstudio  _nerfstudio.py  nerfstudio transforms.json (+ sparse_pc.ply)
    chan        _chan.py        Nuke .chan camera: frame, translate, rotate (ZXY), vertical fov
    ply         _ply.py         the sparse points with their colours

Every exporter reads the composed stage, so edits in ``edits.usda`` (or unsaved edits on an
open stage) are what gets exported. Every output is written to a temporary name beside it
and renamed into place (a folder output too), so a crash never leaves half a file, and an
existing output is replaced only with ``overwrite=True`` (the CLI's ``--force``).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pxr import Usd

from ..types import InputError
from ..usd import DEFAULT_CAMERA_PATH
from ._chan import CHAN
from ._colmap import COLMAP
from ._common import ExportFormat
from ._glb import GLB
from ._nerfstudio import NERFSTUDIO
from ._ply import PLY

__all__ = ["EXPORT_FORMATS", "export_scene"]

_REGISTRY: dict[str, ExportFormat] = {entry.name: entry for entry in (GLB, COLMAP, NERFSTUDIO, CHAN, PLY)}

EXPORT_FORMATS: tuple[str, ...] = tuple(_REGISTRY)
"""Names :func:`export_scene` accepts for ``to``."""


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
    entry = _REGISTRY[name]
    given = {"time": time, "image_paths": image_paths}
    options: dict[str, Any] = {"overwrite": overwrite}
    for option, value in given.items():
        if value is None:
            continue
        if option not in entry.options:
            takers = [other.name for other in _REGISTRY.values() if option in other.options]
            raise InputError(f"{option} applies to {' and '.join(takers)} exports, not to {name}; leave it out")
        options[option] = value
    if "camera" in entry.options:
        options["camera"] = camera
    return entry.write(scene, out, **options)
