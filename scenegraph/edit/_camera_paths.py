"""Pure math of camera paths: easing, rotation exp/log, keyframe interpolation of rigid poses.

Everything here is numpy on ``world_from_cam`` 4×4 float64 matrices (column vectors);
nothing touches USD. Times are plain numbers (the handle passes source frame numbers).

We write the rotation spline ourselves: ``scenegraph`` may import only numpy, pxr and
trimesh, and none of them has a C1 rotation spline for non-uniform key times (Gf has
slerp only; scipy's ``RotationSpline`` is off limits here).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..types import quat_wxyz_from_rotation

__all__ = ["EASES", "INTERPOLATIONS", "ease_weights", "rotation_exp", "rotation_log", "interpolate_path"]

EASES = ("linear", "smooth")
"""Easing curves of a move: ``linear`` (constant rate) and ``smooth`` (smoothstep: starts and ends at rest)."""

INTERPOLATIONS = ("smooth", "linear")
"""Keyframe interpolations: ``smooth`` (C1 cubic Hermite / rotation spline) and ``linear`` (lerp / slerp)."""

_SMALL_ANGLE_RAD = 1e-6


def ease_weights(
    times: np.ndarray, start: float, end: float, ease: Literal["linear", "smooth"] = "linear"
) -> np.ndarray:
    """Progress of a move at each time: 0 up to ``start``, 1 from ``end`` on, eased in between.

    Args:
        times: N float times (frame numbers).
        start: time at which the move begins (weight 0).
        end: time at which it is complete (weight 1); ``end == start`` gives a step to 1 at ``start``.
        ease: ``"linear"`` or ``"smooth"`` (``3s² - 2s³``, zero rate at both ends).

    Returns:
        N float64 weights in [0, 1].
    """
    t = np.asarray(times, dtype=np.float64)
    if end > start:
        s = np.clip((t - start) / (end - start), 0.0, 1.0)
    else:
        s = (t >= start).astype(np.float64)
    if ease == "smooth":
        s = s * s * (3.0 - 2.0 * s)
    return s


def _skew(v: np.ndarray) -> np.ndarray:
    """…×3×3 cross-product matrices of …×3 vectors."""
    v = np.asarray(v, dtype=np.float64)
    out = np.zeros(v.shape[:-1] + (3, 3))
    out[..., 0, 1], out[..., 0, 2] = -v[..., 2], v[..., 1]
    out[..., 1, 0], out[..., 1, 2] = v[..., 2], -v[..., 0]
    out[..., 2, 0], out[..., 2, 1] = -v[..., 1], v[..., 0]
    return out


def rotation_exp(rotation_vector: np.ndarray) -> np.ndarray:
    """3×3 rotations (…×3×3) of rotation vectors (…×3: unit axis × angle in radians), by Rodrigues."""
    phi = np.asarray(rotation_vector, dtype=np.float64)
    theta = np.linalg.norm(phi, axis=-1)[..., None, None]
    k = _skew(phi)
    small = theta < _SMALL_ANGLE_RAD
    safe = np.where(small, 1.0, theta)
    # Taylor terms below the threshold keep the small-angle limit exact to double precision.
    a = np.where(small, 1.0 - theta**2 / 6.0, np.sin(safe) / safe)
    b = np.where(small, 0.5 - theta**2 / 24.0, (1.0 - np.cos(safe)) / safe**2)
    return np.eye(3) + a * k + b * (k @ k)


def rotation_log(rotation: np.ndarray) -> np.ndarray:
    """Rotation vector (3, radians, angle in [0, π]) of a 3×3 rotation; stable near 0 and π."""
    q = quat_wxyz_from_rotation(rotation)  # w >= 0, so the angle is at most π
    sin_half = float(np.linalg.norm(q[1:]))
    if sin_half < 1e-12:
        return np.zeros(3)
    angle = 2.0 * np.arctan2(sin_half, q[0])
    return q[1:] / sin_half * angle


def _right_jacobian_inv(phi: np.ndarray) -> np.ndarray:
    """Inverse of SO(3)'s right Jacobian at ``phi``: maps a body angular velocity to ``d phi / dt``.

    With ``R(t) = exp(phi(t))``, ``Rᵀ dR/dt = [J_r(phi) dphi/dt]×``; the spline needs the
    inverse to hit a prescribed angular velocity at a segment's end.
    """
    theta = float(np.linalg.norm(phi))
    k = _skew(phi)
    if theta < 1e-4:
        c = 1.0 / 12.0 + theta**2 / 720.0
    else:
        c = 1.0 / theta**2 - (1.0 + np.cos(theta)) / (2.0 * theta * np.sin(theta))
    return np.eye(3) + 0.5 * k + c * (k @ k)


def _tangents(values: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Rates at the keys (K×D) from the segment rates ``values`` ((K-1)×D, per unit time).

    Interior keys take the derivative of the parabola through the key and its two
    neighbours (non-uniform Catmull-Rom); the first and last key take zero, so a path
    starts and ends at rest and stays C1 into the held poses outside the keys.
    """
    k = len(times)
    out = np.zeros((k, values.shape[1]))
    if k > 2:
        dt = np.diff(times)
        before, after = dt[:-1, None], dt[1:, None]
        out[1:-1] = (after * values[:-1] + before * values[1:]) / (before + after)
    return out


def _hermite_basis(s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    s2, s3 = s * s, s * s * s
    return 2 * s3 - 3 * s2 + 1, s3 - 2 * s2 + s, -2 * s3 + 3 * s2, s3 - s2


def interpolate_path(
    key_times: np.ndarray,
    key_world_from_cam: np.ndarray,
    times: np.ndarray,
    *,
    interpolation: Literal["smooth", "linear"] = "smooth",
) -> np.ndarray:
    """Rigid poses at ``times`` interpolated through keyframes.

    Camera centres and orientations are interpolated separately.

    - ``linear``: centres piecewise linear, orientations along the geodesic (slerp).
    - ``smooth``: centres by cubic Hermite, orientations by a cubic Hermite in each segment's
      tangent space (``R = R_i exp(h(s))``, the end rate mapped through the inverse right
      Jacobian), with the same non-uniform Catmull-Rom rates for both. The path passes
      through every key and is C1 in time (position and angular velocity continuous at the
      keys); it starts and ends at rest at the first and last key.

    Times before the first key hold the first key's pose, after the last key the last's.

    Args:
        key_times: K strictly increasing float times.
        key_world_from_cam: K×4×4 float64 rigid ``world_from_cam``.
        times: N float times to evaluate.
        interpolation: ``"smooth"`` or ``"linear"``.

    Returns:
        N×4×4 float64 rigid ``world_from_cam``.
    """
    kt = np.asarray(key_times, dtype=np.float64)
    keys = np.asarray(key_world_from_cam, dtype=np.float64)
    t = np.asarray(times, dtype=np.float64)
    n = len(t)
    out = np.broadcast_to(np.eye(4), (n, 4, 4)).copy()
    if len(kt) == 1:
        out[:] = keys[0]
        return out

    rotations, centres = keys[:, :3, :3], keys[:, :3, 3]
    dt = np.diff(kt)
    rel_log = np.stack([rotation_log(rotations[i].T @ rotations[i + 1]) for i in range(len(kt) - 1)])
    smooth = interpolation == "smooth"
    if smooth:
        omega = _tangents(rel_log / dt[:, None], kt)  # body angular velocity at each key, rad per time unit
        velocity = _tangents(np.diff(centres, axis=0) / dt[:, None], kt)

    segment = np.clip(np.searchsorted(kt, t, side="right") - 1, 0, len(kt) - 2)
    s = np.clip((t - kt[segment]) / dt[segment], 0.0, 1.0)[:, None]
    if smooth:
        h00, h10, h01, h11 = _hermite_basis(s)
        d = dt[segment][:, None]
        end_rate = np.stack([_right_jacobian_inv(rel_log[i]) @ omega[i + 1] for i in range(len(kt) - 1)])
        phi = h10 * d * omega[segment] + h01 * rel_log[segment] + h11 * d * end_rate[segment]
        centre = h00 * centres[segment] + h10 * d * velocity[segment]
        centre = centre + h01 * centres[segment + 1] + h11 * d * velocity[segment + 1]
    else:
        phi = s * rel_log[segment]
        centre = (1.0 - s) * centres[segment] + s * centres[segment + 1]
    out[:, :3, :3] = rotations[segment] @ rotation_exp(phi)
    out[:, :3, 3] = centre
    # Exactly the keys at the key times (the spline reaches them only to rounding).
    at_key = np.searchsorted(kt, t)
    hit = (at_key < len(kt)) & (kt[np.minimum(at_key, len(kt) - 1)] == t)
    out[hit] = keys[at_key[hit]]
    out[t < kt[0]] = keys[0]
    out[t > kt[-1]] = keys[-1]
    return out
