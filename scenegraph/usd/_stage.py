"""Opening a SceneForge stage, exporting a layer atomically, and the layer metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pxr import Sdf, Tf, Usd

from ..files import atomic_path
from ..types import SceneFileError
from ._convert import from_usd_value
from ._schema import EDITS_FILE, FORMAT_VERSION, LAYER_DATA_KEY, SCENE_FILE, WORLD_PATH

__all__ = ["as_stage", "export_layer", "layer_data", "open_stage", "tf_reason"]


def open_stage(path: str | Path, *, require_world: bool = True) -> Usd.Stage:
    """Open a USD stage (the composed scene, with edits applied).

    Args:
        path: a USD file, or a scene folder holding ``scene.usda``.
        require_world: also require the ``/World`` prim of a SceneForge scene.

    Raises:
        SceneFileError: the file is missing, not a USD file, unreadable, or has no ``/World``.
    """
    file = Path(path)
    if file.is_dir():
        file = file / SCENE_FILE
    if not file.is_file():
        raise SceneFileError(
            f"expected a USD scene file or a folder with {SCENE_FILE}, got {str(path)!r} which does not exist; "
            "check the path or run `sceneforge reconstruct` first"
        )
    if Sdf.FileFormat.FindByExtension(file.suffix.lstrip(".")) is None:
        raise SceneFileError(
            f"expected a USD file (.usda, .usdc, .usd, .usdz), got {str(file)!r}; pass the scene's {SCENE_FILE}"
        )
    _check_sublayers(file)
    try:
        stage = Usd.Stage.Open(str(file))
    except Tf.ErrorException as exc:
        raise SceneFileError(
            f"expected a readable USD file, got {str(file)!r} which USD cannot open ({tf_reason(exc)}); "
            "check that the file is a complete USD layer"
        ) from exc
    if stage is None:
        raise SceneFileError(f"expected a readable USD file, got {str(file)!r} which USD cannot open")
    if require_world and not stage.GetPrimAtPath(WORLD_PATH).IsValid():
        raise SceneFileError(
            f"expected a SceneForge scene with a {WORLD_PATH} prim, got {str(file)!r} without one; "
            f"open the {SCENE_FILE} that `sceneforge reconstruct` wrote"
        )
    return stage


def tf_reason(exc: Exception) -> str:
    """The first pxr error's quoted reason, on one line."""
    text = str(exc).strip()
    for line in text.splitlines():
        line = line.strip()
        if " : " in line:
            return line.split(" : ", 1)[1].strip().strip("'")
    return text.splitlines()[0] if text else type(exc).__name__


def as_stage(path_or_stage: str | Path | Usd.Stage, *, require_world: bool) -> Usd.Stage:
    """``path_or_stage`` itself when it is an open stage, else :func:`open_stage` of it."""
    if isinstance(path_or_stage, Usd.Stage):
        return path_or_stage
    return open_stage(path_or_stage, require_world=require_world)


def export_layer(layer: Sdf.Layer, path: Path) -> None:
    """Export ``layer`` to ``path`` atomically (a temporary file in the same folder, then a rename).

    Raises:
        SceneFileError: USD cannot export the layer there, or the rename fails.
    """
    # Sdf picks the file format from the extension, which the temporary name keeps; USD creates
    # the file itself, with the permissions the user's umask gives.
    with atomic_path(path) as tmp:
        try:
            exported = layer.Export(str(tmp))
        except Tf.ErrorException as exc:
            raise SceneFileError(
                f"expected to write {str(path)!r}, got a USD export error ({tf_reason(exc)}); "
                "check that the folder is writable"
            ) from exc
        if not exported:
            raise SceneFileError(
                f"expected to write {str(path)!r}, got a USD export failure; check that the folder is writable"
            )
    # A stage opened earlier in this process keeps the old layer in Sdf's registry; reload it
    # so later opens see what is on disk now.
    cached = Sdf.Layer.Find(str(path))
    if cached is not None:
        cached.Reload(True)


def read_layer_from_disk(path: Path) -> Sdf.Layer | None:
    """The layer in the file at ``path`` as it is on disk now — not USD's cached copy of it,
    which another writer's save does not update — or None when there is no file.

    Raises:
        SceneFileError: the file is not a readable USD text layer.
    """
    if not path.is_file():
        return None
    layer = Sdf.Layer.CreateAnonymous(".usda")
    try:
        layer.ImportFromString(path.read_text(encoding="utf-8"))
    except (Tf.ErrorException, UnicodeDecodeError, OSError) as exc:
        raise SceneFileError(f"expected {str(path)!r} to be a readable USD layer, got {exc.__class__.__name__}; restore it") from exc
    return layer


def _check_sublayers(file: Path) -> None:
    """Every layer ``file`` sublayers exists and is a complete USD layer (USD itself would only
    warn and compose the scene without it, which then looks empty)."""
    try:
        root = Sdf.Layer.FindOrOpen(str(file))
    except Tf.ErrorException:
        return  # the root layer's own error is reported by the caller's open
    if root is None:
        return
    for sub in root.subLayerPaths:
        path = Path(sub) if Path(sub).is_absolute() else (file.parent / sub)
        remedy = (
            "restore it (an empty `#usda 1.0` file will do: no edits)" if path.name == EDITS_FILE
            else "restore it (or re-run `sceneforge reconstruct`)"
        )
        if not path.is_file():
            raise SceneFileError(f"{file.name} sublayers {sub}, which is missing; {remedy}")
        try:
            layer = Sdf.Layer.FindOrOpen(str(path))
        except Tf.ErrorException as exc:
            raise SceneFileError(f"{file.name} sublayers {sub}, which USD cannot read ({tf_reason(exc)}); {remedy}") from exc
        if layer is None:
            raise SceneFileError(f"{file.name} sublayers {sub}, which USD cannot read; restore it")


def check_format_version(stage: Usd.Stage) -> None:
    """Refuse a scene written by a newer SceneForge (its ``formatVersion`` is above ours): it may
    mean things this version would misread.

    Raises:
        SceneFileError: the scene's format version is newer than this SceneForge's.
    """
    data = layer_data(stage)
    stored = data.get("formatVersion")
    if isinstance(stored, (int, float)) and not isinstance(stored, bool) and stored > FORMAT_VERSION:
        tool = data.get("toolVersion")
        by = f" (written by SceneForge {tool})" if tool else ""
        raise SceneFileError(
            f"expected a scene of format version {FORMAT_VERSION} or older, got version {stored}{by}; "
            "upgrade SceneForge (pip install -U sceneforge) to open it"
        )


def layer_data(stage: Usd.Stage) -> dict[str, Any]:
    """``customLayerData.sceneforge`` of the root layer (or, failing that, of any layer in its stack)."""
    for layer in stage.GetLayerStack(includeSessionLayers=False):
        data = layer.customLayerData.get(LAYER_DATA_KEY)
        if data:
            return from_usd_value(data)
    return {}
