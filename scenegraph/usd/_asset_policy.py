"""Which files a scene may make SceneForge read: its own, and nothing else unless the user says so.

A scene is a text file anyone can write, and its asset paths (textures, depth and instance
maps) are followed when it is rendered, exported or inspected. Unchecked, an ``edits.usda``
could render and embed in an exported GLB any image on the machine (``@../secret.png@``, an
absolute path) or read ``/dev/zero`` until memory runs out. So an asset is read only when it
resolves — symbolic links followed — inside the folder of the scene's root layer (the shot
folder, which holds what ``insert`` copied in), is a regular file, and is at most
:data:`MAX_ASSET_BYTES`. A user who trusts a scene lifts the folder rule with
:func:`outside_assets_allowed` (``--allow-outside-assets`` on the command line); the other two
rules always hold.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from pathlib import Path

from pxr import Sdf, Usd

from ..types import SceneFileError

__all__ = ["MAX_ASSET_BYTES", "checked_asset", "outside_assets_allowed", "scene_asset_problems", "scene_root"]

MAX_ASSET_BYTES = 1 << 30
"""The largest asset file a scene may make SceneForge read (1 GiB)."""

_outside_allowed: contextvars.ContextVar[bool] = contextvars.ContextVar("sceneforge_outside_assets", default=False)


@contextlib.contextmanager
def outside_assets_allowed(allowed: bool = True) -> Iterator[None]:
    """While the block runs, assets outside a scene's folder may be read (``allowed``)."""
    token = _outside_allowed.set(bool(allowed))
    try:
        yield
    finally:
        _outside_allowed.reset(token)


def scene_root(stage: Usd.Stage) -> Path | None:
    """The folder a stage's assets must lie in: its root layer's folder (None for a stage that
    lives only in memory: then no folder rule applies)."""
    real = stage.GetRootLayer().realPath
    return Path(real).resolve().parent if real else None


def checked_asset(path: str | Path, root: Path | None, *, what: str = "asset") -> Path:
    """``path`` resolved, once it passes the rules of the module docstring.

    Raises:
        SceneFileError: it lies outside ``root`` (unless allowed), is not a regular file, or is
            larger than :data:`MAX_ASSET_BYTES` — one line saying which and why.
    """
    # A file inside a USDZ package (``pkg.usdz[textures/a.png]``, what ``insert`` copies in): the
    # rules apply to the package file, USD's resolver reads the member from it.
    text = str(path)
    real = Path(text[: text.index("[")] if text.endswith("]") and "[" in text else text).resolve()
    if root is not None and not _outside_allowed.get() and not real.is_relative_to(root):
        raise SceneFileError(
            f"the scene's {what} {str(path)!r} lies outside its folder {str(root)!r}; SceneForge reads only files "
            "inside a scene's folder (pass --allow-outside-assets if you trust this scene)"
        )
    if not real.is_file():
        raise SceneFileError(f"the scene's {what} {str(path)!r} is not a regular file; only files can be assets")
    size = real.stat().st_size
    if size > MAX_ASSET_BYTES:
        raise SceneFileError(
            f"the scene's {what} {str(path)!r} is {size / 2**30:.1f} GiB, over the {MAX_ASSET_BYTES / 2**30:.0f} GiB limit"
        )
    return real


def scene_asset_problems(stage: Usd.Stage) -> list[str]:
    """One line per asset path in the composed stage that :func:`checked_asset` refuses
    (assets that do not resolve at all are USD's validators' to report)."""
    root = scene_root(stage)
    problems = []
    for prim in stage.TraverseAll():
        for attribute in prim.GetAttributes():
            type_name = attribute.GetTypeName()
            if type_name not in (Sdf.ValueTypeNames.Asset, Sdf.ValueTypeNames.AssetArray):
                continue
            values = [attribute.Get()] + [attribute.Get(t) for t in attribute.GetTimeSamples()]
            for value in values:
                for asset in (value if type_name == Sdf.ValueTypeNames.AssetArray and value is not None else [value]):
                    if asset is None or not asset.resolvedPath:
                        continue
                    try:
                        checked_asset(asset.resolvedPath, root)
                    except SceneFileError as exc:
                        problems.append(f"{attribute.GetPath()}: {exc}")
    return sorted(set(problems))
