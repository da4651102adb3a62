"""Authoring into the edits layer: one matrix op per edited transform, and dropping a prim's
opinions (with the empty ``over`` specs left above it).

How an edited transform is stored. The reconstruction's own xformOps are kept as they are;
the edits layer gets one ``xformOp:transform`` holding the prim's whole composed local
matrix and an ``xformOpOrder`` that names only that op (plus ``!resetXformStack!`` when the
prim had it). A stronger layer's opinion wins over every weaker one, default value or time
samples, so the edited matrix is what USD, :func:`read_scene_meshes`, Blender and usdview
read; dropping the prim's opinions from the edits layer brings the reconstruction's ops
back untouched.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from pxr import Sdf, Usd, UsdGeom

from ..usd import TRANSFORM_OP, gf_from_transform

__all__ = ["author_transform", "remove_prim_spec"]


def author_transform(prim: Usd.Prim, static: np.ndarray | None, sampled: Mapping[float, np.ndarray] | None = None) -> None:
    """Author the prim's local matrix into the stage's edit target as one ``xformOp:transform``.

    Args:
        prim: an Xformable prim.
        static: the local matrix (4×4 column vectors) for a static prim, or None.
        sampled: local matrices by time code for an animated prim (``static`` is then ignored);
            the first also becomes the default value, so default-time readers agree.
    """
    xformable = UsdGeom.Xformable(prim)
    reset = xformable.GetResetXformStack()
    attr = prim.GetAttribute(TRANSFORM_OP)
    if not attr or attr.GetTypeName() != Sdf.ValueTypeNames.Matrix4d:
        attr = prim.CreateAttribute(TRANSFORM_OP, Sdf.ValueTypeNames.Matrix4d, False)
    attr.Clear()  # this layer's earlier default and samples only; weaker layers stay as they are
    if sampled:
        times = sorted(sampled)
        for t in times:
            attr.Set(gf_from_transform(sampled[t]), Usd.TimeCode(t))
        attr.Set(gf_from_transform(sampled[times[0]]))
    else:
        assert static is not None
        attr.Set(gf_from_transform(static))
    xformable.SetXformOpOrder([UsdGeom.XformOp(attr)], reset)


# ----------------------------------------------------------------------------------------
# Layer spec helpers


def remove_prim_spec(layer: Sdf.Layer, path: Sdf.Path | str) -> bool:
    """Drop the prim spec at ``path`` (and everything under it) from ``layer``, then every
    ancestor left as an empty ``over``. Returns whether there was a spec."""
    spec = layer.GetPrimAtPath(Sdf.Path(path))
    if spec is None:
        return False
    parent = spec.nameParent
    if parent is None or parent.path == Sdf.Path.absoluteRootPath:
        del layer.rootPrims[spec.name]
        return True
    del parent.nameChildren[spec.name]
    _prune_empty_overs(layer, parent.path)
    return True


def _prune_empty_overs(layer: Sdf.Layer, path: Sdf.Path) -> None:
    while path != Sdf.Path.absoluteRootPath:
        spec = layer.GetPrimAtPath(path)
        if spec is None:
            return
        empty = (
            spec.specifier == Sdf.SpecifierOver
            and not spec.properties
            and not spec.nameChildren
            and set(spec.ListInfoKeys()) <= {"specifier"}
        )
        if not empty:
            return
        parent_path = path.GetParentPath()
        if parent_path == Sdf.Path.absoluteRootPath:
            del layer.rootPrims[spec.name]
        else:
            del layer.GetPrimAtPath(parent_path).nameChildren[spec.name]
        path = parent_path
