"""Hole filling: give every pixel the geometry did not cover a plausible colour.

A rendered view of an edited scene has holes where no frame of the shot saw anything —
behind a moved object, past the edge of the background, beyond the fused depth. Until a
refiner invents detail there, a push-pull (pyramid) fill spreads the surrounding colours
smoothly into them: covered pixels are averaged down a pyramid by their coverage, and each
level fills its uncovered part from the level below it. Covered pixels are left exactly as
they were. OpenCV's inpainting is local (it walks in from the border a few pixels at a
time) and costs seconds on large holes; push-pull costs a few milliseconds and never
leaves a hole, which is why it is written here.
"""

from __future__ import annotations

import numpy as np

from sceneforge.scenegraph import InputError, check_array

__all__ = ["fill_holes"]


def fill_holes(rgb: np.ndarray, coverage: np.ndarray) -> np.ndarray:
    """Fill the pixels ``coverage`` leaves out from the covered ones around them.

    Args:
        rgb: H×W×C float32 colours (any range; the rasterizer's are 0..1).
        coverage: H×W bool, True where ``rgb`` holds rendered geometry.

    Returns:
        H×W×C float32: ``rgb`` where covered, the push-pull fill elsewhere. An image with no
        covered pixel comes back unchanged.

    Raises:
        ShapeError: the shapes do not agree.
    """
    import cv2

    image = check_array(rgb, "rgb", shape=(None, None, None))
    h, w = image.shape[:2]
    covered = check_array(coverage, "coverage", shape=(h, w), dtype=bool)
    if not covered.any() or covered.all():
        return np.asarray(image, dtype=np.float32).copy()
    if not np.issubdtype(image.dtype, np.floating):
        raise InputError(f"rgb must be float colours (the rasterizer's 0..1), got {image.dtype}; convert uint8 with / 255")
    weight = covered.astype(np.float32)
    levels = [(np.asarray(image, dtype=np.float32) * weight[..., None], weight)]
    while min(levels[-1][1].shape) > 1:
        premult, weight = levels[-1]
        size = (max(1, (weight.shape[1] + 1) // 2), max(1, (weight.shape[0] + 1) // 2))
        premult = cv2.resize(premult, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0], -1)
        levels.append((premult, cv2.resize(weight, size, interpolation=cv2.INTER_AREA)))
    premult, weight = levels[-1]
    colour = premult / np.maximum(weight, 1e-12)[..., None]
    for premult, weight in reversed(levels[:-1]):
        up = cv2.resize(colour, (weight.shape[1], weight.shape[0]), interpolation=cv2.INTER_LINEAR)
        up = up.reshape(weight.shape[0], weight.shape[1], -1)
        own = premult / np.maximum(weight, 1e-12)[..., None]
        # A level trusts its own average as far as it was covered; at full resolution that is
        # 1 on covered pixels, so they come back unchanged.
        alpha = np.clip(weight, 0.0, 1.0)[..., None]
        colour = alpha * own + (1.0 - alpha) * up
    out = colour.reshape(image.shape).astype(np.float32)
    out[covered] = image[covered]
    return out
