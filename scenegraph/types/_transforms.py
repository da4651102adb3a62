"""Rigid and similarity transforms as 4×4 float64 matrices with column vectors.

Names follow ``a_from_b``: ``p_a = a_from_b @ p_b``. Rotations are 3×3 with
``det = +1``; quaternions appear only at I/O, in ``wxyz`` order.
"""

from __future__ import annotations

import numpy as np

from ._check import check_array
from ._errors import InputError

__all__ = [
    "make_transform",
    "invert_rigid",
    "is_rigid",
    "check_rigid",
    "transform_points",
    "rotation_about_axis",
    "quat_wxyz_from_rotation",
    "rotation_from_quat_wxyz",
    "rotation_angle",
    "similarity_from_points",
    "Similarity",
]

_RIGID_TOL = 1e-6


def make_transform(rotation: np.ndarray, translation: np.ndarray) -> np.ndarray:
    """Build a 4×4 float64 transform from a 3×3 rotation and a 3-vector translation."""
    out = np.eye(4)
    out[:3, :3] = rotation
    out[:3, 3] = np.asarray(translation, dtype=np.float64).reshape(3)
    return out


def invert_rigid(a_from_b: np.ndarray) -> np.ndarray:
    """Return ``b_from_a`` for a rigid ``a_from_b`` (…×4×4), exactly, without a general inverse."""
    rotation = a_from_b[..., :3, :3]
    translation = a_from_b[..., :3, 3:]
    out = np.zeros_like(a_from_b, dtype=np.float64)
    rt = np.swapaxes(rotation, -1, -2)
    out[..., :3, :3] = rt
    out[..., :3, 3:] = -rt @ translation
    out[..., 3, 3] = 1.0
    return out


def is_rigid(a_from_b: np.ndarray, *, tol: float = _RIGID_TOL) -> bool:
    """True when every 4×4 in ``a_from_b`` (…×4×4) is finite with an orthonormal, det +1 rotation."""
    m = np.asarray(a_from_b, dtype=np.float64)
    if m.shape[-2:] != (4, 4) or not np.all(np.isfinite(m)):
        return False
    r = m[..., :3, :3]
    eye = np.broadcast_to(np.eye(3), r.shape)
    bottom_ok = np.allclose(m[..., 3, :], [0.0, 0.0, 0.0, 1.0], atol=tol)
    ortho_ok = np.allclose(np.swapaxes(r, -1, -2) @ r, eye, atol=tol)
    det_ok = np.allclose(np.linalg.det(r), 1.0, atol=tol)
    return bool(bottom_ok and ortho_ok and det_ok)


def check_rigid(a_from_b: object, name: str, *, batched: bool = False) -> np.ndarray:
    """Validate a rigid transform (4×4, or N×4×4 when ``batched``) and return it as float64."""
    shape = (None, 4, 4) if batched else (4, 4)
    arr = check_array(a_from_b, name, shape=shape, dtype=(np.float64, np.float32), finite=True)
    arr = arr.astype(np.float64, copy=False)
    if not is_rigid(arr):
        raise InputError(
            f"{name} must be rigid (orthonormal rotation with det +1, last row 0 0 0 1), "
            "got a matrix that is not; orthonormalise the rotation or check the convention"
        )
    return arr


def transform_points(a_from_b: np.ndarray, points_in_b: np.ndarray) -> np.ndarray:
    """Apply a 4×4 transform to N×3 points; returns N×3 float64 ``points_in_a``."""
    pts = np.asarray(points_in_b, dtype=np.float64)
    return pts @ a_from_b[:3, :3].T + a_from_b[:3, 3]


def rotation_about_axis(axis: np.ndarray, angle_rad: float) -> np.ndarray:
    """3×3 rotation by ``angle_rad`` (right-hand rule) about a unit-normalised ``axis``."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(angle_rad) * k + (1.0 - np.cos(angle_rad)) * (k @ k)


def rotation_angle(rotation: np.ndarray) -> float | np.ndarray:
    """Angle in radians of a 3×3 rotation (or of each in …×3×3)."""
    trace = np.trace(rotation, axis1=-2, axis2=-1)
    return np.arccos(np.clip((trace - 1.0) / 2.0, -1.0, 1.0))


def quat_wxyz_from_rotation(rotation: np.ndarray) -> np.ndarray:
    """Unit quaternion (w, x, y, z), w ≥ 0, of a 3×3 rotation."""
    r = np.asarray(rotation, dtype=np.float64)
    # Shepperd's method: pick the largest diagonal term for numerical stability.
    t = np.trace(r)
    if t > 0:
        s = np.sqrt(t + 1.0) * 2
        q = [0.25 * s, (r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s]
    elif r[0, 0] > r[1, 1] and r[0, 0] > r[2, 2]:
        s = np.sqrt(1.0 + r[0, 0] - r[1, 1] - r[2, 2]) * 2
        q = [(r[2, 1] - r[1, 2]) / s, 0.25 * s, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s]
    elif r[1, 1] > r[2, 2]:
        s = np.sqrt(1.0 + r[1, 1] - r[0, 0] - r[2, 2]) * 2
        q = [(r[0, 2] - r[2, 0]) / s, (r[0, 1] + r[1, 0]) / s, 0.25 * s, (r[1, 2] + r[2, 1]) / s]
    else:
        s = np.sqrt(1.0 + r[2, 2] - r[0, 0] - r[1, 1]) * 2
        q = [(r[1, 0] - r[0, 1]) / s, (r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, 0.25 * s]
    q = np.array(q)
    q /= np.linalg.norm(q)
    return q if q[0] >= 0 else -q


def rotation_from_quat_wxyz(quat_wxyz: np.ndarray) -> np.ndarray:
    """3×3 rotation of a (not necessarily unit) quaternion (w, x, y, z)."""
    w, x, y, z = np.asarray(quat_wxyz, dtype=np.float64) / np.linalg.norm(quat_wxyz)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


class Similarity:
    """A similarity ``b_from_a``: ``p_b = scale * rotation @ p_a + translation``.

    Attributes:
        scale: positive scalar.
        rotation: 3×3 float64, det +1.
        translation: 3 float64.
    """

    def __init__(self, scale: float, rotation: np.ndarray, translation: np.ndarray) -> None:
        self.scale = float(scale)
        self.rotation = np.asarray(rotation, dtype=np.float64)
        self.translation = np.asarray(translation, dtype=np.float64).reshape(3)

    def apply_points(self, points: np.ndarray) -> np.ndarray:
        """Map N×3 points from frame a into frame b."""
        return self.scale * np.asarray(points, dtype=np.float64) @ self.rotation.T + self.translation

    def apply_rigid(self, a_from_x: np.ndarray) -> np.ndarray:
        """Map rigid transforms (…×4×4) ``a_from_x`` to ``b_from_x`` (rotation composed, translation mapped)."""
        out = np.array(a_from_x, dtype=np.float64, copy=True)
        out[..., :3, :3] = self.rotation @ out[..., :3, :3]
        out[..., :3, 3] = self.apply_points(out[..., :3, 3].reshape(-1, 3)).reshape(out[..., :3, 3].shape)
        return out

    def matrix(self) -> np.ndarray:
        """The 4×4 matrix ``b_from_a`` (not rigid unless scale is 1)."""
        m = np.eye(4)
        m[:3, :3] = self.scale * self.rotation
        m[:3, 3] = self.translation
        return m


def similarity_from_points(points_in_a: np.ndarray, points_in_b: np.ndarray, *, with_scale: bool = True) -> Similarity:
    """Least-squares similarity ``b_from_a`` mapping N×3 ``points_in_a`` onto ``points_in_b`` (Umeyama 1991).

    Raises:
        InputError: fewer than 3 point pairs or mismatched shapes.
    """
    a = check_array(np.asarray(points_in_a, dtype=np.float64), "points_in_a", shape=(None, 3), finite=True)
    b = check_array(np.asarray(points_in_b, dtype=np.float64), "points_in_b", shape=(a.shape[0], 3), finite=True)
    if a.shape[0] < 3:
        raise InputError(f"a similarity needs at least 3 point pairs, got {a.shape[0]}")
    mean_a, mean_b = a.mean(0), b.mean(0)
    da, db = a - mean_a, b - mean_b
    cov = db.T @ da / a.shape[0]
    u, d, vt = np.linalg.svd(cov)
    s = np.eye(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        s[2, 2] = -1
    rotation = u @ s @ vt
    var_a = (da**2).sum() / a.shape[0]
    scale = float(np.trace(np.diag(d) @ s) / var_a) if with_scale and var_a > 0 else 1.0
    translation = mean_b - scale * rotation @ mean_a
    return Similarity(scale, rotation, translation)
