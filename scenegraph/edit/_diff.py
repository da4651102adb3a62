"""What the edits layer holds, entry by entry: :class:`SceneEdit` and the diff of the edits
layer against the reconstruction it overrides (``Scene.diff``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pxr import Gf, Sdf, Usd

from ..usd import transform_from_gf

__all__ = ["SceneEdit", "diff_edits"]

_MAX_SUMMARY_ITEMS = 8
_MAX_SUMMARY_SAMPLES = 4


@dataclass(frozen=True)
class SceneEdit:
    """One opinion the edits layer holds, as :meth:`Scene.diff` lists them.

    Attributes:
        path: the prim path, e.g. ``"/World/Objects/chair"``.
        property: the property or prim metadata name (``"xformOp:transform"``, ``"active"``,
            ``"material:binding"``), or None for a prim the edits add.
        before: the reconstruction layer's value (None when it has none).
        after: the edits layer's value; for an added prim, ``"added <type>"``.

    Values are plain Python: numbers, strings, tuples; a 4×4 matrix as nested tuples in
    SceneForge's column-vector convention (``p' = M @ p``, translation in the last column);
    time samples as ``((time, value), ...)``; long arrays as a ``"<N values>"`` summary.
    ``str()`` gives one line: ``/World/Objects/lamp.active: True -> False``.
    """

    path: str
    property: str | None
    before: Any
    after: Any

    def __str__(self) -> str:
        if self.property is None:
            return f"{self.path}: {self.after}"
        return f"{self.path}.{self.property}: {_short(self.before)} -> {_short(self.after)}"


def _plain(value: Any) -> Any:
    """A USD value as small, hashable plain Python (see :class:`SceneEdit`)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Gf.Matrix4d):
        return tuple(tuple(float(x) for x in row) for row in transform_from_gf(value))
    if isinstance(value, (Sdf.AssetPath,)):
        return value.path
    if isinstance(value, Sdf.Path):
        return str(value)
    module = type(value).__module__
    if module.endswith("Gf") and hasattr(value, "__len__"):
        try:
            return tuple(_plain(v) for v in value)
        except TypeError:
            return str(value)
    if module.endswith("Vt") and hasattr(value, "__len__"):
        if len(value) > _MAX_SUMMARY_ITEMS:
            return f"<{len(value)} values>"
        return tuple(_plain(v) for v in value)
    if "ListOp" in type(value).__name__:
        return _list_op_items(value)
    if isinstance(value, (list, tuple)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _plain(v)) for k, v in value.items()))
    return str(value)


def _list_op_items(list_op: Any) -> tuple[Any, ...]:
    items = list(list_op.explicitItems) if list_op.isExplicit else [*list_op.prependedItems, *list_op.appendedItems]
    deleted = [f"-{_plain(item)}" for item in list_op.deletedItems]
    return tuple(_plain(item) for item in items) + tuple(deleted)


def _has_items(list_op: Any) -> bool:
    return bool(list_op.isExplicit or list_op.GetAddedOrExplicitItems() or list(list_op.deletedItems))


def _short(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_short(v) for v in value) + ")"
    return repr(value) if isinstance(value, str) else str(value)


def _attribute_value(layer: Sdf.Layer, spec: Sdf.AttributeSpec | None) -> Any:
    if spec is None:
        return None
    samples = layer.ListTimeSamplesForPath(spec.path)
    if samples:
        if len(samples) > _MAX_SUMMARY_SAMPLES:
            return f"<{len(samples)} time samples>"
        return tuple((float(t), _plain(layer.QueryTimeSample(spec.path, t))) for t in samples)
    if spec.HasDefaultValue():
        return _plain(spec.default)
    if _has_items(spec.connectionPathList):
        return _list_op_items(spec.connectionPathList)
    return None


def _relationship_value(spec: Sdf.RelationshipSpec | None) -> Any:
    if spec is None or not _has_items(spec.targetPathList):
        return None
    return _list_op_items(spec.targetPathList)


def diff_edits(edits: Sdf.Layer, reconstruction: Sdf.Layer | None, stage: Usd.Stage) -> list[SceneEdit]:
    """Every opinion ``edits`` holds, with the ``reconstruction`` value it overrides (see ``Scene.diff``)."""
    out: list[SceneEdit] = []
    for spec in edits.rootPrims:
        _diff_prim(spec, edits, reconstruction, stage, out)
    return out


def _diff_prim(
    spec: Sdf.PrimSpec, edits: Sdf.Layer, recon: Sdf.Layer | None, stage: Usd.Stage, out: list[SceneEdit]
) -> None:
    path = spec.path
    old = recon.GetPrimAtPath(path) if recon is not None else None
    if old is None and spec.specifier != Sdf.SpecifierOver:
        out.append(SceneEdit(str(path), None, None, f"added {spec.typeName or stage.GetPrimAtPath(path).GetTypeName() or 'prim'}"))
        return
    for key in spec.ListInfoKeys():
        if key in ("specifier", "typeName"):
            continue
        before = _plain(old.GetInfo(key)) if old is not None and old.HasInfo(key) else None
        out.append(SceneEdit(str(path), key, before, _plain(spec.GetInfo(key))))
    for prop in spec.properties:
        old_prop = recon.GetPropertyAtPath(prop.path) if recon is not None else None
        if isinstance(prop, Sdf.AttributeSpec):
            before = _attribute_value(recon, old_prop) if isinstance(old_prop, Sdf.AttributeSpec) else None
            after = _attribute_value(edits, prop)
        else:
            before = _relationship_value(old_prop) if isinstance(old_prop, Sdf.RelationshipSpec) else None
            after = _relationship_value(prop)
        out.append(SceneEdit(str(path), prop.name, before, after))
    for child in spec.nameChildren:
        _diff_prim(child, edits, recon, stage, out)
