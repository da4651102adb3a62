"""The keyframe reconstruction of a COLMAP solve, in the clip's frame indexing.

COLMAP's reconstruction objects die with the temporary folder the solve runs in; what the
rest of the solve needs of them (poses, cameras, the observations of map points and the
points themselves) is copied into a :class:`KeyframeMap` here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sceneforge.scenegraph import Intrinsics, SolveError, SparsePoints

__all__ = ["KeyframeMap", "Observations", "intrinsics_from_colmap", "map_from_reconstructions", "reprojection_error"]


@dataclass(frozen=True)
class Observations:
    """A keyframe's observations of map points."""

    pixels: np.ndarray  # N×2
    points_in_world: np.ndarray  # N×3
    error_px: np.ndarray  # N reprojection errors
    point_index: np.ndarray  # N indices into the map's points


@dataclass
class KeyframeMap:
    """The keyframe reconstruction in the frames' indexing."""

    cam_from_world: dict[int, np.ndarray] = field(default_factory=dict)  # frame index -> 3×4
    cameras: dict[int, object] = field(default_factory=dict)  # frame index -> pycolmap.Camera
    observations: dict[int, Observations] = field(default_factory=dict)
    points: SparsePoints = field(default_factory=SparsePoints.empty)
    num_components: int = 0


def intrinsics_from_colmap(camera: object) -> Intrinsics:
    model = camera.model_name
    p = np.asarray(camera.params, dtype=np.float64)
    radial = np.zeros(2)
    if model == "SIMPLE_PINHOLE":
        fx = fy = p[0]
        cx, cy = p[1], p[2]
    elif model == "PINHOLE":
        fx, fy, cx, cy = p[:4]
    elif model == "SIMPLE_RADIAL":
        fx = fy = p[0]
        cx, cy = p[1], p[2]
        radial[0] = p[3]
    elif model == "RADIAL":
        fx = fy = p[0]
        cx, cy = p[1], p[2]
        radial[:] = p[3:5]
    else:  # pragma: no cover - we only ask COLMAP for the models above
        raise SolveError(f"unexpected COLMAP camera model {model}")
    k = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    return Intrinsics(K=k, width=int(camera.width), height=int(camera.height), radial=radial)


def map_from_reconstructions(recs: dict) -> KeyframeMap:
    import pycolmap

    smap = KeyframeMap(num_components=len(recs))
    if not recs:
        return smap
    # The part of the clip that matters most is the one spanning most frames (not the one
    # with most keyframes: a fast move makes more keyframes per second than a slow one).
    def span(rec: object) -> tuple[int, int]:
        indices = [int(Path(im.name).stem) for im in rec.images.values() if im.has_pose]
        return (max(indices) - min(indices) if indices else -1, len(indices))

    rec = max(recs.values(), key=span)
    point_ids = list(rec.points3D.keys())
    index_of = {pid: j for j, pid in enumerate(point_ids)}
    xyz = np.array([rec.points3D[pid].xyz for pid in point_ids], dtype=np.float64).reshape(-1, 3)
    colors = np.array([rec.points3D[pid].color for pid in point_ids], dtype=np.uint8).reshape(-1, 3)
    errors = np.array([rec.points3D[pid].error for pid in point_ids], dtype=np.float64)
    smap.points = SparsePoints(xyz, colors, errors)
    copies: dict[int, object] = {}
    for image in rec.images.values():
        if not image.has_pose:
            continue
        frame = int(Path(image.name).stem)
        pose = image.cam_from_world().matrix()
        obs = [(p.xy, index_of[p.point3D_id]) for p in image.points2D if p.has_point3D()]
        pixels = np.array([o[0] for o in obs], dtype=np.float64).reshape(-1, 2)
        pts = xyz[[o[1] for o in obs]] if obs else np.zeros((0, 3))
        smap.cam_from_world[frame] = pose
        camera = copies.setdefault(image.camera_id, pycolmap.Camera(image.camera.todict()))
        smap.cameras[frame] = camera  # a copy: the reconstruction's own dies with it
        smap.observations[frame] = Observations(
            pixels, pts, reprojection_error(camera, pose, pixels, pts), np.array([o[1] for o in obs], dtype=np.int64)
        )
    return smap


def reprojection_error(camera: object, cam_from_world: np.ndarray, pixels: np.ndarray, points_in_world: np.ndarray) -> np.ndarray:
    if len(pixels) == 0:
        return np.zeros(0)
    points_in_cam = points_in_world @ cam_from_world[:3, :3].T + cam_from_world[:3, 3]
    projected = np.asarray(camera.img_from_cam(points_in_cam), dtype=np.float64)
    return np.linalg.norm(projected - pixels, axis=1)
