"""Cameras for the frames a solve could not pose: interpolated from their posed neighbours."""

from __future__ import annotations

import numpy as np

from sceneforge.scenegraph import SolveError

__all__ = ["interpolate_poses"]


def interpolate_poses(world_from_cam: np.ndarray, posed: np.ndarray) -> np.ndarray:
    """Fill the frames not in ``posed`` (sorted indices) by interpolating their neighbours.

    Rotations are interpolated on the sphere (slerp), camera centres linearly; frames
    before the first or after the last posed frame copy the nearest pose.
    """
    from scipy.spatial.transform import Rotation, Slerp

    n = world_from_cam.shape[0]
    out = world_from_cam.copy()
    if len(posed) == 0:
        raise SolveError("no frame has a camera to interpolate from")
    missing = np.setdiff1d(np.arange(n), posed)
    if len(missing) == 0:
        return out
    if len(posed) == 1:
        out[missing] = world_from_cam[posed[0]]
        return out
    rotations = Rotation.from_matrix(world_from_cam[posed, :3, :3])
    slerp = Slerp(posed.astype(float), rotations)
    inside = missing[(missing > posed[0]) & (missing < posed[-1])]
    if len(inside):
        out[inside, :3, :3] = slerp(inside.astype(float)).as_matrix()
        for axis in range(3):
            out[inside, axis, 3] = np.interp(inside, posed, world_from_cam[posed, axis, 3])
        out[inside, 3] = [0, 0, 0, 1]
    out[missing[missing < posed[0]]] = world_from_cam[posed[0]]
    out[missing[missing > posed[-1]]] = world_from_cam[posed[-1]]
    return out
