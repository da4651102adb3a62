"""The OpenGL projection of our cameras, and the one OpenCV ↔ OpenGL camera-axis flip.

Our cameras are OpenCV (+X right, +Y down, +Z forward) and ``K`` puts the centre of
pixel (row i, col j) at ``(j + 0.5, i + 0.5)``. OpenGL cameras look down -Z with +Y up:
``world_from_glcam = world_from_cam @ diag(1, -1, -1, 1)``. That flip exists in exactly
two places, here and in scenegraph's USD reader/writer (DESIGN.md, Conventions). The
projection built from K (:func:`clip_from_cam`) maps ``u = fx x/z + s y/z + cx`` to
window x and ``v`` to window y, so that GL's framebuffer row 0 holds image row 0 and every
fragment is evaluated at our pixel centres: no MSAA, no flip on read-back.
"""

from __future__ import annotations

import numpy as np

from sceneforge.scenegraph import InputError, Intrinsics

__all__ = ["clip_from_cam"]

# OpenCV camera axes <-> OpenGL camera axes; its own inverse. Used only here and in
# scenegraph's USD reader/writer (DESIGN.md, Conventions).
_GLCAM_FROM_CAM = np.diag([1.0, -1.0, -1.0, 1.0])
# GL's window y grows upwards; flipping clip y makes framebuffer row 0 image row 0 (top).
_FLIP_WINDOW_Y = np.diag([1.0, -1.0, 1.0, 1.0])


def clip_from_cam(intrinsics: Intrinsics, *, near: float, far: float) -> np.ndarray:
    """The 4×4 float64 OpenGL projection of a pinhole camera, from OpenCV camera coordinates.

    Maps a camera-frame point (OpenCV axes) to clip coordinates whose window position is
    exactly ``Intrinsics.project`` (skew included, distortion ignored): window x = ``u``,
    window y = ``v`` (so framebuffer row ``i`` is image row ``i``, pixel centres at
    ``+0.5``); window depth is 0 at ``z = near`` and 1 at ``z = far``.

    Args:
        intrinsics: the camera; ``width`` and ``height`` set the viewport.
        near: near clipping distance along +Z, scene units, > 0.
        far: far clipping distance along +Z, scene units, > ``near``.
    """
    if not (0.0 < near < far and np.isfinite(far)):
        raise InputError(f"clipping range must satisfy 0 < near < far < inf, got near={near}, far={far}")
    k, w, h = intrinsics.K, float(intrinsics.width), float(intrinsics.height)
    fx, s, cx, fy, cy = k[0, 0], k[0, 1], k[0, 2], k[1, 1], k[1, 2]
    # OpenGL's projection of an intrinsics camera (y up, looking down -Z): ndc = 2 * pixel / size - 1
    # with the pixel measured from the bottom-left corner.
    clip_from_glcam = np.array(
        [
            [2.0 * fx / w, -2.0 * s / w, 1.0 - 2.0 * cx / w, 0.0],
            [0.0, 2.0 * fy / h, 2.0 * cy / h - 1.0, 0.0],
            [0.0, 0.0, (far + near) / (near - far), 2.0 * far * near / (near - far)],
            [0.0, 0.0, -1.0, 0.0],
        ]
    )
    return _FLIP_WINDOW_Y @ clip_from_glcam @ _GLCAM_FROM_CAM

