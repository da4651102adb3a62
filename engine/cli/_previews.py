"""Coloured previews of a shot's depth maps, for a person to look at."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sceneforge.scenegraph import SceneFileError

__all__ = ["write_depth_previews", "colorize_depth"]


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
