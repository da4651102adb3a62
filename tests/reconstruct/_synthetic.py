"""Synthetic clips with exact camera ground truth, made by the tests themselves."""

from __future__ import annotations

import numpy as np

from sceneforge.scenegraph import Frames, rotation_about_axis
from tests.conftest import textured_image


def _warp_clip(base, k_base, k, width, height, cam_from_ref_list):
    """Frames seeing ``base`` (an image through ``k_base``) through 3×3 maps ref -> frame in camera coordinates."""
    import cv2

    # both sides use pixel centres at +0.5: shift to OpenCV's index grid
    to_index = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1.0]])
    images = []
    for m in cam_from_ref_list:
        h = to_index @ k @ m @ np.linalg.inv(k_base) @ np.linalg.inv(to_index)
        images.append(cv2.warpPerspective(base, h, (width, height), flags=cv2.INTER_LINEAR))
    return np.stack(images)


def pan_clip(*, n: int = 24, width: int = 320, height: int = 240, focal_px: float = 280.0, max_yaw_deg: float = 12.0, seed: int = 3):
    """A camera turning about its centre (a tripod pan) in front of a textured panorama.

    Returns (frames, K, cam_from_ref rotations N×3×3): frame i is the reference view
    turned by a yaw and a slight tilt.
    """
    base_w, base_h = 3 * width, 2 * height
    base = textured_image(base_h, base_w, seed=seed)
    k = np.array([[focal_px, 0, width / 2], [0, focal_px, height / 2], [0, 0, 1.0]])
    k_base = np.array([[focal_px, 0, base_w / 2], [0, focal_px, base_h / 2], [0, 0, 1.0]])
    rotations = []
    for i in range(n):
        t = i / (n - 1)
        yaw = np.radians(max_yaw_deg * (2 * t - 1))
        tilt = np.radians(2.0 * np.sin(2 * np.pi * t))
        rotations.append(rotation_about_axis(np.array([1.0, 0, 0]), tilt) @ rotation_about_axis(np.array([0, 1.0, 0]), yaw))
    images = _warp_clip(base, k_base, k, width, height, rotations)
    frames = Frames(images=images, fps=24.0, frame_numbers=np.arange(n))
    return frames, k, np.stack(rotations)


def plane_dolly_clip(*, n: int = 30, width: int = 320, height: int = 240, focal_px: float = 280.0, seed: int = 4) -> Frames:
    """A camera sliding sideways (and turning a little) in front of a textured wall: a planar
    scene with real parallax-free translation, which must not be mistaken for a pan."""
    base_w, base_h = 3 * width, 2 * height
    base = textured_image(base_h, base_w, seed=seed)
    k = np.array([[focal_px, 0, width / 2], [0, focal_px, height / 2], [0, 0, 1.0]])
    k_base = np.array([[focal_px, 0, base_w / 2], [0, focal_px, base_h / 2], [0, 0, 1.0]])
    normal, distance = np.array([0, 0, 1.0]), 2.0  # the wall z = 2 in the reference camera
    maps = []
    for i in range(n):
        t = i / (n - 1)
        rotation = rotation_about_axis(np.array([0, 1.0, 0]), np.radians(6.0 * (t - 0.5)))
        translation = np.array([1.2 * (t - 0.5), 0.1 * np.sin(np.pi * t), 0.3 * t])
        maps.append(rotation + np.outer(-rotation @ translation, normal) / distance)
    return Frames(images=_warp_clip(base, k_base, k, width, height, maps), fps=24.0, frame_numbers=np.arange(n))


def flat_clip(*, n: int = 10, width: int = 160, height: int = 120) -> Frames:
    """A clip with no texture at all: a smooth grey gradient."""
    ramp = np.linspace(90, 110, width)[None, :, None] * np.ones((height, 1, 3))
    return Frames(images=np.repeat(ramp.astype(np.uint8)[None], n, axis=0), fps=24.0, frame_numbers=np.arange(n))


def still_clip(*, n: int = 10, width: int = 200, height: int = 150) -> Frames:
    """A camera that does not move: the same textured image every frame."""
    image = textured_image(height, width, seed=5)
    return Frames(images=np.repeat(image[None], n, axis=0), fps=24.0, frame_numbers=np.arange(n))
