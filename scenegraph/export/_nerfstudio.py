"""nerfstudio export: ``transforms.json`` (and the sparse points as ``sparse_pc.ply``).

nerfstudio's data format (docs.nerf.studio, "Data conventions"; its nerfstudio dataparser):

- ``transform_matrix``: the 4×4 camera-to-world matrix with OpenGL camera axes (+X right,
  +Y up, looking down -Z), i.e. our ``world_from_cam`` in OpenGL axes (``world_from_glcam``). The
  world is ours, unchanged (scene units, +Y up); nerfstudio orients and rescales the poses
  itself when it loads them, so no ``applied_transform`` is written.
- intrinsics in pixels, ``fl_x``, ``fl_y``, ``cx``, ``cy``, ``w``, ``h``, with pixel
  centres at +0.5 as ours; ``camera_model`` ``OPENCV`` with ``k1``, ``k2``, ``p1``, ``p2``
  (our radial terms are OpenCV's k1, k2; p1 = p2 = 0). Shared intrinsics are written once
  at the top level, per-frame intrinsics (a zoom) in every frame.
- ``file_path`` of each frame relative to the folder of ``transforms.json``.
- ``ply_file_path``: sparse points in the same world as the poses, which nerfstudio's
  gaussian splatting uses to initialise; written when the scene has points.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pxr import Usd

from ..files import atomic_write
from ..types import InputError, Intrinsics
from ..usd import DEFAULT_CAMERA_PATH, read_camera_track, world_from_glcam
from ._common import ExportFormat, check_no_skew, image_names, open_scene, output_path, sparse_points_in_world
from ._ply import ply_bytes

__all__ = ["NERFSTUDIO", "export_nerfstudio"]

log = logging.getLogger(__name__)

TRANSFORMS_FILE = "transforms.json"
POINTS_FILE = "sparse_pc.ply"
DEFAULT_IMAGE_FOLDER = "images"


def export_nerfstudio(
    scene: str | Path | Usd.Stage,
    out: str | Path,
    *,
    overwrite: bool = False,
    image_paths: Sequence[str | Path] | None = None,
    camera: str = DEFAULT_CAMERA_PATH,
) -> Path:
    """Write the scene's cameras as a nerfstudio ``transforms.json`` (plus ``sparse_pc.ply``).

    Args:
        scene: a scene file or folder, or an open stage (edits applied).
        out: a ``.json`` file path, or a folder (created if missing, its parent must exist)
            that receives ``transforms.json``. ``sparse_pc.ply`` goes beside the JSON.
        overwrite: replace an existing ``transforms.json`` / ``sparse_pc.ply``.
        image_paths: one image path per frame, relative to the JSON's folder (or absolute);
            None for ``images/frame_%06d.png`` from each frame's source frame number.
        camera: prim path of the camera.

    Returns:
        The path of the JSON file.

    Raises:
        InputError: bad ``out`` or ``image_paths``, or intrinsics with skew.
        OutputExistsError: the JSON (or the PLY beside it) exists without ``overwrite``.
        SceneFileError: the scene or its camera cannot be read.
    """
    if not isinstance(out, (str, Path)) or not str(out):
        raise InputError(f"out must be a .json file or a folder path, got {out!r}")
    target = Path(out)
    if target.suffix.lower() != ".json":
        output_path(target, overwrite=True, folder=True)  # the folder may exist and hold images
        target = target / TRANSFORMS_FILE
        folder_missing = not target.parent.exists()
    else:
        folder_missing = False
    if not folder_missing:
        output_path(target, overwrite=overwrite)

    stage = open_scene(scene)
    track = read_camera_track(stage, camera=camera)
    points = sparse_points_in_world(stage)
    ply_path = target.parent / POINTS_FILE
    if len(points) and ply_path.exists() and not overwrite:
        output_path(ply_path, overwrite=False)  # raises OutputExistsError
    if image_paths is None:
        names = [f"{DEFAULT_IMAGE_FOLDER}/{n}" for n in image_names(track, None)]
    else:
        names = image_names(track, image_paths)

    for intrinsics in track.intrinsics:
        check_no_skew(intrinsics, "nerfstudio")
    meta: dict[str, Any] = {"camera_model": "OPENCV"}
    shared = track.single_camera
    if shared:
        meta.update(_intrinsics_fields(track.intrinsics[0]))
    frames = []
    for name, matrix, intrinsics in zip(names, world_from_glcam(track.world_from_cam), track.intrinsics):
        frame: dict[str, Any] = {"file_path": name, "transform_matrix": matrix.tolist()}
        if not shared:
            frame.update(_intrinsics_fields(intrinsics))
        frames.append(frame)
    meta["frames"] = frames
    if len(points):
        meta["ply_file_path"] = POINTS_FILE

    if folder_missing:
        target.parent.mkdir()
    if len(points):
        # The PLY first: the JSON that refers to it appears last.
        atomic_write(ply_path, ply_bytes(points))
    atomic_write(target, (json.dumps(meta, indent=2) + "\n").encode("utf-8"))
    log.info("nerfstudio transforms: %d frames%s in %s", len(track), f", {len(points)} points" if len(points) else "", target)
    return target


def _intrinsics_fields(intrinsics: Intrinsics) -> dict[str, Any]:
    k1, k2 = (float(k) for k in intrinsics.radial)
    return {
        "w": intrinsics.width,
        "h": intrinsics.height,
        "fl_x": intrinsics.fx,
        "fl_y": intrinsics.fy,
        "cx": intrinsics.cx,
        "cy": intrinsics.cy,
        "k1": k1,
        "k2": k2,
        "p1": 0.0,
        "p2": 0.0,
    }


NERFSTUDIO = ExportFormat("nerfstudio", export_nerfstudio, frozenset({"image_paths", "camera"}))
