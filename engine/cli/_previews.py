"""Previews of a shot for a person to look at: coloured depth maps and the light probe."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sceneforge.scenegraph import LightProbe, SceneFileError

__all__ = ["write_depth_previews", "colorize_depth", "light_probe_image", "write_light_probe_preview"]

LIGHT_PROBE_PREVIEW = "light_probe.png"
"""File name of the light probe's preview in the preview folder."""


def colorize_depth(depth: np.ndarray, *, near: float | None = None, far: float | None = None) -> np.ndarray:
    """H×W z-depth -> H×W×3 uint8 RGB (turbo colour map on inverse depth; black = no depth)."""
    import cv2

    valid = depth > 0
    out = np.zeros((*depth.shape, 3), np.uint8)
    if not valid.any():
        return out
    inverse = np.zeros_like(depth, dtype=np.float64)
    inverse[valid] = 1.0 / depth[valid]
    lo = 1.0 / far if far else float(np.percentile(inverse[valid], 2))
    hi = 1.0 / near if near else float(np.percentile(inverse[valid], 98))
    scaled = np.clip((inverse - lo) / max(hi - lo, 1e-12), 0, 1)
    bgr = cv2.applyColorMap((scaled * 255).astype(np.uint8), cv2.COLORMAP_TURBO)
    out[valid] = bgr[valid][:, ::-1]
    return out


def write_depth_previews(scene: Path, folder: Path) -> list[Path]:
    """Write ``<frame>.png`` previews of every depth map the scene references; returns the files."""
    from PIL import Image

    from sceneforge.scenegraph import open_stage

    stage = open_stage(scene)
    camera = stage.GetPrimAtPath("/World/Cameras/Plate")
    attr = camera.GetAttribute("sceneforge:depthMaps") if camera else None
    paths = attr.Get() if attr and attr.HasValue() else None
    if not paths:
        raise SceneFileError(f"{scene} references no depth maps; reconstruct with depth (the default) first")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    base = Path(stage.GetRootLayer().realPath).parent
    for asset in paths:
        source = base / (asset.path if hasattr(asset, "path") else str(asset))
        with np.load(source) as data:
            image = colorize_depth(data["depth"])
        target = folder / f"{source.stem}.png"
        Image.fromarray(image).save(target)
        written.append(target)
    return written


def light_probe_image(probe: LightProbe) -> np.ndarray:
    """The probe's lat-long map as H×2H×3 uint8 sRGB for a person to look at: exposed so the
    brightest seen surfaces (95th percentile of luminance) are light grey, soft-clipped above
    (the key light's disc stays white), sRGB-encoded; a thin grey line marks the border between
    what the footage saw and what was filled in."""
    radiance = probe.radiance.astype(np.float64)
    luminance = radiance @ np.array([0.2126, 0.7152, 0.0722])
    reference = luminance[probe.seen] if probe.seen.any() else luminance.ravel()
    exposure = 0.8 / max(float(np.percentile(reference, 95)), 1e-12)
    mapped = 1.0 - np.exp(-exposure * radiance)  # soft clip: nothing is cut off hard
    encoded = np.where(mapped <= 0.0031308, 12.92 * mapped, 1.055 * np.power(mapped, 1.0 / 2.4) - 0.055)
    image = np.clip(np.rint(encoded * 255.0), 0, 255).astype(np.uint8)
    seen = probe.seen
    border = np.zeros_like(seen)
    border[:, 1:] |= seen[:, 1:] != seen[:, :-1]
    border[:, 0] |= seen[:, 0] != seen[:, -1]  # the map wraps around in azimuth
    border[1:, :] |= seen[1:, :] != seen[:-1, :]
    image[border & ~seen] = 128
    return image


def write_light_probe_preview(probe: LightProbe, folder: Path) -> Path:
    """Write ``folder/light_probe.png`` (see :func:`light_probe_image`); returns the file."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / LIGHT_PROBE_PREVIEW
    Image.fromarray(light_probe_image(probe)).save(target)
    return target
