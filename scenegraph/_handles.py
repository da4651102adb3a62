"""Handles on the objects, the background and the lights of an open :class:`~._scene.Scene`.

A handle is a prim path and the scene it lives in, nothing more: every property reads the
composed stage and every setter writes straight into the scene's edits layer (the stage's
edit target), so there is no second copy of state to go stale (viser's scene handles work
the same way). Every editing method runs inside ``scene._recording(...)``: a bad edit raises a
typed one-line error and leaves the edits layer exactly as it was.

How an edited transform is stored. The reconstruction's own xformOps are kept as they are;
the edits layer gets one ``xformOp:transform`` holding the prim's whole composed local
matrix and an ``xformOpOrder`` that names only that op (plus ``!resetXformStack!`` when the
prim had it). A stronger layer's opinion wins over every weaker one, default value or time
samples, so the edited matrix is what USD, :func:`read_scene_meshes`, Blender and usdview
read; dropping the prim's opinions from the edits layer (:meth:`reset`) brings the
reconstruction's ops back untouched. An animated prim (time-sampled transform) keeps one
sample per authored time: relative edits (:meth:`translate`, :meth:`rotate`,
:meth:`scale`) move every sample, :meth:`set_world_from_local` with ``time=`` keys one.

Materials. Changing an object's :attr:`base_color` or :attr:`texture` authors an override
material that belongs to the object (``<object>/Looks/EditLook``; ``/World/Looks/<name>EditLook``
for a bare mesh such as the background) and binds it to the object's meshes in the edits
layer. The reconstruction's material is never written to: it may be shared, and a reset
must bring it back as it was.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pxr import Gf, Sdf, Tf, Usd, UsdGeom, UsdLux, UsdShade

from ._errors import DependencyError, InputError, SceneFileError
from ._transforms import rotation_about_axis
from ._usd import _gf_from_transform, _transform_from_gf

if TYPE_CHECKING:
    from ._scene import Scene

__all__ = ["ObjectHandle", "BackgroundHandle", "LightHandle"]

log = logging.getLogger(__name__)

OBJECTS_PATH = Sdf.Path("/World/Objects")
LIGHTS_PATH = Sdf.Path("/World/Lights")
BACKGROUND_PATH = Sdf.Path("/World/Background")

_TRANSFORM_OP = "xformOp:transform"
_EDIT_LOOK = "EditLook"
_SINGULAR_COND = 1e12
_AFFINE_TOL = 1e-9
_TEXTURE_SUFFIXES = (".png", ".jpg", ".jpeg")


class UnknownNameError(InputError, KeyError):
    """No prim of that kind by that name (an :class:`InputError` that is also a ``KeyError``)."""

    def __str__(self) -> str:
        # KeyError would print the repr of its argument, quotes and all.
        return str(self.args[0]) if self.args else ""


# ----------------------------------------------------------------------------------------
# Small checks and conversions


def _vector(value: object, name: str, *, size: int = 3, hint: str = "") -> np.ndarray:
    """``value`` as a finite float64 vector of ``size`` numbers, or InputError."""
    suffix = f"; {hint}" if hint else ""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be {size} numbers, got {value!r}{suffix}") from None
    if arr.shape != (size,):
        raise InputError(f"{name} must be {size} numbers, got shape {arr.shape}{suffix}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} must be finite, got {tuple(arr.tolist())}{suffix}")
    return arr


def _number(value: object, name: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise InputError(f"{name} must be finite, got {number}")
    return number


def _check_matrix(value: object, name: str) -> np.ndarray:
    """A finite, affine, invertible 4×4 (column vectors) as float64, or InputError."""
    try:
        m = np.array(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a 4×4 matrix, got {type(value).__name__}") from None
    if m.shape != (4, 4):
        raise InputError(f"{name} must be a 4×4 matrix, got shape {m.shape}; pass a world_from_local transform")
    if not np.all(np.isfinite(m)):
        raise InputError(f"{name} must be finite, got {int(np.count_nonzero(~np.isfinite(m)))} non-finite value(s)")
    if not np.allclose(m[3], [0.0, 0.0, 0.0, 1.0], atol=_AFFINE_TOL):
        raise InputError(f"{name} must have last row 0 0 0 1, got {m[3].tolist()}; column vectors, p_world = M @ p_local")
    if np.linalg.cond(m[:3, :3]) > _SINGULAR_COND:
        raise InputError(f"{name} must be invertible, got a singular 3×3 part (a zero scale?); use remove() to hide an object")
    return m


def _time_code(time: float | None) -> Usd.TimeCode:
    """None → the earliest authored time (a static prim's only value), else that time code."""
    if time is None:
        return Usd.TimeCode.EarliestTime()
    return Usd.TimeCode(_number(time, "time"))


def _fmt(values: Sequence[float] | np.ndarray) -> str:
    return "(" + ", ".join(f"{float(v):.6g}" for v in values) + ")"


def _translation(offset: np.ndarray) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = offset
    return m


def _about(pivot: np.ndarray, linear: np.ndarray) -> np.ndarray:
    """4×4 applying the 3×3 ``linear`` about the point ``pivot``."""
    m = np.eye(4)
    m[:3, :3] = linear
    return _translation(pivot) @ m @ _translation(-pivot)


def check_name(name: object, what: str) -> str:
    """``name`` if it is a valid USD prim name, else InputError with a valid suggestion."""
    if not isinstance(name, str) or not name:
        raise InputError(f"{what} name must be a non-empty string, got {name!r}")
    if not Tf.IsValidIdentifier(name):
        raise InputError(
            f"{what} name must be a valid USD prim name (letters, digits, _; not starting with a digit), "
            f"got {name!r}; try {Tf.MakeValidIdentifier(name)!r}"
        )
    return name


def unknown_name(what: str, name: object, known: Sequence[str], *, hint: str = "") -> UnknownNameError:
    """The error for a name that is not there, with the closest known name suggested."""
    close = difflib.get_close_matches(str(name), list(known), n=1)
    if close:
        message = f"no {what} named {name!r}; did you mean {close[0]!r}?"
    elif known:
        message = f"no {what} named {name!r}; the scene has {', '.join(sorted(known))}"
    else:
        message = f"no {what} named {name!r}; the scene has none"
    return UnknownNameError(message + (f" ({hint})" if hint else ""))


# ----------------------------------------------------------------------------------------
# Transforms in the edits layer


def _parent_world(xformable: UsdGeom.Xformable, time: Usd.TimeCode) -> np.ndarray:
    if xformable.GetResetXformStack():
        return np.eye(4)
    return _transform_from_gf(xformable.ComputeParentToWorldTransform(time))


def _local_times(xformable: UsdGeom.Xformable) -> list[float]:
    """Time codes of the composed local transform's samples (empty for a static prim)."""
    return [float(t) for t in xformable.GetTimeSamples()]


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
    attr = prim.GetAttribute(_TRANSFORM_OP)
    if not attr or attr.GetTypeName() != Sdf.ValueTypeNames.Matrix4d:
        attr = prim.CreateAttribute(_TRANSFORM_OP, Sdf.ValueTypeNames.Matrix4d, False)
    attr.Clear()  # this layer's earlier default and samples only; weaker layers stay as they are
    if sampled:
        times = sorted(sampled)
        for t in times:
            attr.Set(_gf_from_transform(sampled[t]), Usd.TimeCode(t))
        attr.Set(_gf_from_transform(sampled[times[0]]))
    else:
        assert static is not None
        attr.Set(_gf_from_transform(static))
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


# ----------------------------------------------------------------------------------------
# Handles


class _Handle:
    """A prim of the scene, by path; properties read and write the composed stage."""

    _what = "prim"

    def __init__(self, scene: Scene, path: str | Sdf.Path) -> None:
        self._scene = scene
        self._path = Sdf.Path(str(path))

    # identity ---------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The prim's name, e.g. ``"chair"``."""
        return self._path.name

    @property
    def prim_path(self) -> str:
        """The prim's path, e.g. ``"/World/Objects/chair"``."""
        return str(self._path)

    @property
    def prim(self) -> Usd.Prim:
        """The composed ``Usd.Prim`` (for reading; author through the handle so edits are recorded)."""
        return self._live_prim()

    @property
    def removed(self) -> bool:
        """True when the prim is deactivated (removed) or gone; :meth:`reset` or ``scene.undo()`` brings it back."""
        prim = self._scene.stage.GetPrimAtPath(self._path)
        return not (prim.IsValid() and prim.IsActive())

    def __repr__(self) -> str:
        state = " (removed)" if self.removed else ""
        return f"{type(self).__name__}({self.prim_path!r}){state}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Handle):
            return NotImplemented
        return type(self) is type(other) and self._scene is other._scene and self._path == other._path

    def __hash__(self) -> int:
        return hash((id(self._scene), self._path))

    def _live_prim(self) -> Usd.Prim:
        prim = self._scene.stage.GetPrimAtPath(self._path)
        if not prim.IsValid():
            raise InputError(f"{self._what} {self.name!r} is no longer in the scene ({self.prim_path}); it was reset or undone")
        if not prim.IsActive():
            raise InputError(
                f"{self._what} {self.name!r} was removed; call reset() on this handle or scene.undo() to bring it back"
            )
        return prim

    def _recording(self, description: str):
        return self._scene._recording(description)

    def _owned_paths(self) -> list[Sdf.Path]:
        """Paths whose edits-layer opinions belong to this handle (dropped by :meth:`reset`)."""
        return [self._path]

    # transform --------------------------------------------------------------------------

    @property
    def world_from_local(self) -> np.ndarray:
        """4×4 float64 ``world_from_local`` (column vectors; may hold scale) at the earliest
        authored time; setting it makes the prim static at that matrix. Scene units, +Y up."""
        return self.get_world_from_local()

    @world_from_local.setter
    def world_from_local(self, matrix: np.ndarray) -> None:
        self.set_world_from_local(matrix)

    def get_world_from_local(self, time: float | None = None) -> np.ndarray:
        """4×4 float64 ``world_from_local`` at ``time`` (a USD time code = source frame number;
        None for the earliest authored one)."""
        prim = self._live_prim()
        return _transform_from_gf(UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(_time_code(time)))

    def set_world_from_local(self, matrix: np.ndarray, *, time: float | None = None) -> None:
        """Place the prim: ``matrix`` is its new 4×4 ``world_from_local`` (column vectors).

        With ``time=None`` the prim becomes static at ``matrix`` (any animation is replaced).
        With a time code the matrix is keyed at that time and the prim's other keys are kept;
        the first key on a static prim makes it hold that matrix at every time until more
        keys are set (USD holds the end keys and interpolates between keys).

        Raises:
            InputError: ``matrix`` is not a finite, invertible 4×4 with last row 0 0 0 1, or
                the prim was removed. Nothing is changed then.
        """
        m = _check_matrix(matrix, "world_from_local")
        when = None if time is None else _number(time, "time")
        label = "" if when is None else f" at frame {when:g}"
        with self._recording(f"place {self.name}{label}"):
            prim = self._live_prim()
            xformable = UsdGeom.Xformable(prim)
            if when is None:
                local = np.linalg.inv(_parent_world(xformable, Usd.TimeCode.EarliestTime())) @ m
                author_transform(prim, local)
                return
            sampled = {t: _transform_from_gf(xformable.GetLocalTransformation(Usd.TimeCode(t))) for t in _local_times(xformable)}
            sampled[when] = np.linalg.inv(_parent_world(xformable, Usd.TimeCode(when))) @ m
            author_transform(prim, None, sampled)

    def _apply_world_delta(self, delta_at: Callable[[Usd.TimeCode, np.ndarray], np.ndarray], description: str) -> None:
        """``world_from_local ← delta_at(t, world_from_local) @ world_from_local`` at every key."""
        with self._recording(description):
            prim = self._live_prim()
            xformable = UsdGeom.Xformable(prim)
            times = _local_times(xformable)
            codes = [Usd.TimeCode(t) for t in times] or [Usd.TimeCode.EarliestTime()]
            locals_, moved = [], False
            for code in codes:
                world = _transform_from_gf(xformable.ComputeLocalToWorldTransform(code))
                delta = delta_at(code, world)
                moved = moved or not np.array_equal(delta, np.eye(4))
                new_world = _check_matrix(delta @ world, "the edited world_from_local")
                locals_.append(np.linalg.inv(_parent_world(xformable, code)) @ new_world)
            if not moved:
                return  # a zero move: author nothing, record no step
            if times:
                author_transform(prim, None, dict(zip(times, locals_)))
            else:
                author_transform(prim, locals_[0])

    @property
    def position(self) -> np.ndarray:
        """World position (3 float64, scene units) of the prim's local origin at the earliest time;
        setting it translates the prim (every key of an animated prim by the same amount)."""
        return self.get_world_from_local()[:3, 3].copy()

    @position.setter
    def position(self, xyz: Sequence[float]) -> None:
        target = _vector(xyz, "position")
        self.translate(target - self.position)

    def translate(self, delta_xyz: Sequence[float]) -> None:
        """Move the prim by ``delta_xyz`` (3 numbers, world axes, scene units)."""
        delta = _vector(delta_xyz, "delta_xyz", hint="pass (dx, dy, dz) in scene units")
        self._apply_world_delta(lambda _t, _w: _translation(delta), f"move {self.name} by {_fmt(delta)}")

    def rotate(
        self,
        x_deg: float = 0.0,
        y_deg: float = 0.0,
        z_deg: float = 0.0,
        *,
        about: str | Sequence[float] = "center",
    ) -> None:
        """Rotate the prim about the world X, then Y, then Z axis (degrees, right-hand rule).

        Args:
            x_deg, y_deg, z_deg: angles in degrees about the world axes, applied in that order.
            about: ``"center"`` (the centre of the world bounding box, at each key of an
                animated prim; the origin for a prim without geometry), ``"origin"`` (the
                prim's local origin) or a world point (3 numbers).
        """
        angles = np.radians([_number(x_deg, "x_deg"), _number(y_deg, "y_deg"), _number(z_deg, "z_deg")])
        rotation = (
            rotation_about_axis(np.array([0.0, 0.0, 1.0]), angles[2])
            @ rotation_about_axis(np.array([0.0, 1.0, 0.0]), angles[1])
            @ rotation_about_axis(np.array([1.0, 0.0, 0.0]), angles[0])
        )
        pivot = self._pivot_fn(about)
        degrees = np.degrees(angles)
        self._apply_world_delta(
            lambda t, w: _about(pivot(t, w), rotation), f"rotate {self.name} by {_fmt(degrees)} deg about {self._about_text(about)}"
        )

    def scale(self, factor: float | Sequence[float], *, about: str | Sequence[float] = "center") -> None:
        """Scale the prim by ``factor`` (one number, or 3 along the prim's own local axes).

        Args:
            factor: positive scale factor(s).
            about: the fixed point, as for :meth:`rotate`.
        """
        if np.ndim(factor) == 0:
            factors = np.full(3, _number(factor, "factor"))
        else:
            factors = _vector(factor, "factor")
        if not np.all(factors > 0):
            raise InputError(f"factor must be positive, got {_fmt(factors)}; remove() hides an object")
        pivot = self._pivot_fn(about)

        def delta(t: Usd.TimeCode, world: np.ndarray) -> np.ndarray:
            # Along the prim's own axes: world_from_local @ S @ local_from_world, about the pivot.
            linear = world[:3, :3] @ np.diag(factors) @ np.linalg.inv(world[:3, :3])
            return _about(pivot(t, world), linear)

        text = f"{factors[0]:.6g}" if np.all(factors == factors[0]) else _fmt(factors)
        self._apply_world_delta(delta, f"scale {self.name} by {text} about {self._about_text(about)}")

    @staticmethod
    def _about_text(about: str | Sequence[float]) -> str:
        return about if isinstance(about, str) else _fmt(np.asarray(about, dtype=np.float64))

    def _pivot_fn(self, about: str | Sequence[float]) -> Callable[[Usd.TimeCode, np.ndarray], np.ndarray]:
        if isinstance(about, str):
            if about == "origin":
                return lambda _t, world: world[:3, 3].copy()
            if about == "center":
                prim = self._live_prim()

                def centre(t: Usd.TimeCode, world: np.ndarray) -> np.ndarray:
                    bounds = _world_bounds(prim, t)
                    return world[:3, 3].copy() if bounds is None else bounds.mean(axis=0)

                return centre
            raise InputError(f"about must be 'center', 'origin' or a point (x, y, z), got {about!r}")
        point = _vector(about, "about", hint="pass 'center', 'origin' or a world point (x, y, z)")
        return lambda _t, _w: point

    def world_bounds(self, time: float | None = None) -> np.ndarray | None:
        """2×3 float64 world axis-aligned bounding box (min row, max row) of the prim's geometry
        at ``time`` (None: the earliest), in scene units; None when it has no geometry."""
        return _world_bounds(self._live_prim(), _time_code(time))

    @property
    def time_samples(self) -> tuple[float, ...]:
        """Time codes at which the prim's local transform is keyed; empty for a static prim."""
        return tuple(_local_times(UsdGeom.Xformable(self._live_prim())))

    # visibility, removal, reset -----------------------------------------------------------

    @property
    def visible(self) -> bool:
        """Whether the prim is drawn (its computed visibility, parents included); setting it
        authors the prim's own visibility."""
        prim = self._live_prim()
        return UsdGeom.Imageable(prim).ComputeVisibility(Usd.TimeCode.EarliestTime()) != UsdGeom.Tokens.invisible

    @visible.setter
    def visible(self, value: bool) -> None:
        if not isinstance(value, (bool, np.bool_)):
            raise InputError(f"visible must be True or False, got {value!r}")
        with self._recording(f"{'show' if value else 'hide'} {self.name}"):
            attr = UsdGeom.Imageable(self._live_prim()).CreateVisibilityAttr()
            attr.Clear()
            attr.Set(UsdGeom.Tokens.inherited if value else UsdGeom.Tokens.invisible)

    def remove(self) -> None:
        """Remove the prim from the scene by deactivating it in the edits layer (nothing is
        destroyed: :meth:`reset` or ``scene.undo()`` brings it back)."""
        with self._recording(f"remove {self.name}"):
            self._live_prim().SetActive(False)

    def reset(self) -> None:
        """Drop every opinion this prim (and everything under it) has in the edits layer.

        A prim from the reconstruction goes back to what the reconstruction says (a removed
        one comes back); a prim that exists only in the edits (inserted, duplicated, renamed,
        an added light) has nothing to go back to and leaves the scene (``scene.undo()``
        brings it back).
        """
        with self._recording(f"reset {self.name}"):
            edits = self._scene._edits
            for path in self._owned_paths():
                remove_prim_spec(edits, path)


def _world_bounds(prim: Usd.Prim, time: Usd.TimeCode) -> np.ndarray | None:
    cache = UsdGeom.BBoxCache(time, [UsdGeom.Tokens.default_, UsdGeom.Tokens.render], useExtentsHint=True)
    box = cache.ComputeWorldBound(prim).ComputeAlignedRange()
    if box.IsEmpty():
        return None
    return np.array([list(box.GetMin()), list(box.GetMax())], dtype=np.float64)


class _SurfaceHandle(_Handle):
    """A handle whose meshes have a UsdPreviewSurface look (objects, background)."""

    def _meshes(self) -> list[Usd.Prim]:
        prim = self._live_prim()
        look_root = self._look_path().GetParentPath()
        return [p for p in Usd.PrimRange(prim) if p.IsA(UsdGeom.Mesh) and not p.GetPath().HasPrefix(look_root)]

    def _look_path(self) -> Sdf.Path:
        if self._scene.stage.GetPrimAtPath(self._path).IsA(UsdGeom.Gprim):
            # Prims under a gprim are not drawn by everyone: keep the look beside the others.
            return self._path.GetPrefixes()[0].AppendChild("Looks").AppendChild(f"{self.name}{_EDIT_LOOK}")
        return self._path.AppendChild("Looks").AppendChild(_EDIT_LOOK)

    def _owned_paths(self) -> list[Sdf.Path]:
        look = self._look_path()
        return [self._path] if look.HasPrefix(self._path) else [self._path, look]

    @property
    def base_color(self) -> np.ndarray | None:
        """Linear RGB (3 float64 in 0..1, as UsdPreviewSurface's diffuseColor) of the first mesh's
        material, or None when its colour comes from a texture or a primvar.

        Setting it gives every mesh of the prim a matte override material of that colour
        and blocks the meshes' ``displayColor`` (in the edits layer; the reconstruction's
        material and colours are not touched)."""
        meshes = self._meshes()
        if not meshes:
            return None
        diffuse = _diffuse_input(meshes[0])
        if diffuse is None or diffuse.HasConnectedSource():
            return None
        value = diffuse.Get()
        return None if value is None else np.array(list(value), dtype=np.float64)

    @base_color.setter
    def base_color(self, rgb: Sequence[float]) -> None:
        color = _vector(rgb, "base_color", hint="pass linear RGB in 0..1")
        if np.any(color < 0):
            raise InputError(f"base_color must be non-negative linear RGB, got {_fmt(color)}")
        with self._recording(f"color {self.name} {_fmt(color)}"):
            meshes = self._require_meshes()
            surface = self._edit_look(meshes)
            look = self._look_path()
            for child in ("Texture", "STReader"):
                remove_prim_spec(self._scene._edits, look.AppendChild(child))
            diffuse = surface.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f)
            diffuse.GetAttr().ClearConnections()
            diffuse.Set(Gf.Vec3f(*color.tolist()))
            for mesh in meshes:
                # Readers that prefer displayColor to the material (ours, some viewers) would
                # keep the old vertex colours: block the primvar here (reset unblocks it).
                display = UsdGeom.PrimvarsAPI(mesh).GetPrimvar("displayColor")
                if display and display.HasValue():
                    display.GetAttr().Block()
                    if display.GetIndicesAttr().HasValue():
                        display.GetIndicesAttr().Block()

    @property
    def texture(self) -> Path | None:
        """Resolved path of the first mesh's diffuse texture, or None.

        Setting it to a PNG or JPEG file writes the image as a PNG into the scene's
        ``textures/`` folder (named by its content, so nothing is overwritten) and gives every mesh an override material
        reading it through the mesh's texture coordinates.

        Raises (on set):
            InputError: the file is missing or unreadable, or a mesh has no texture coordinates.
        """
        from ._usd_mesh import _material_info

        meshes = self._meshes()
        if not meshes:
            return None
        file = _material_info(meshes[0], Usd.TimeCode.EarliestTime()).get("file")
        return Path(file) if file else None

    @texture.setter
    def texture(self, path: str | os.PathLike[str]) -> None:
        from ._usd_mesh import read_image, uv_texture_shader

        file = Path(path)
        if file.suffix.lower() not in _TEXTURE_SUFFIXES or not file.is_file():
            raise InputError(f"texture must be an existing PNG or JPEG file, got {str(path)!r}")
        try:
            image = read_image(file)
        except (SceneFileError, DependencyError) as exc:
            raise InputError(f"texture {file.name} cannot be read ({exc})") from exc
        with self._recording(f"texture {self.name} with {file.name}"):
            meshes = self._require_meshes()
            st_names = [_st_primvar(mesh) for mesh in meshes]
            missing = [str(m.GetPath()) for m, st in zip(meshes, st_names) if st is None]
            if missing:
                raise InputError(
                    f"{self._what} {self.name!r} cannot take a texture: {missing[0]} has no texture coordinates (st)"
                )
            asset = self._copy_texture(file, image)
            surface = self._edit_look(meshes)
            look = self._look_path()
            stage = self._scene.stage
            shader = uv_texture_shader(stage, look, asset, st_name=st_names[0], wrap="repeat")
            diffuse = surface.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f)
            diffuse.GetAttr().Clear()
            diffuse.ConnectToSource(shader.ConnectableAPI(), "rgb")

    def _require_meshes(self) -> list[Usd.Prim]:
        meshes = self._meshes()
        if not meshes:
            raise InputError(f"{self._what} {self.name!r} has no meshes to colour")
        return meshes

    def _copy_texture(self, file: Path, image: np.ndarray) -> str:
        """Write ``image`` as ``<scene>/textures/<name>_<content hash>.png``; its asset path from the edits layer."""
        from ._usd_mesh import TEXTURE_FOLDER, write_png

        digest = hashlib.sha1(np.ascontiguousarray(image).tobytes() + str(image.shape).encode()).hexdigest()[:10]
        target_name = f"{Tf.MakeValidIdentifier(f'{self.name}_{file.stem}')}_{digest}.png"
        target = self._scene.folder / TEXTURE_FOLDER / target_name
        if not target.is_file():
            write_png(target, image)
        return f"./{TEXTURE_FOLDER}/{target_name}"

    def _edit_look(self, meshes: list[Usd.Prim]) -> UsdShade.Shader:
        """The override material's surface shader, created when absent and bound to ``meshes``."""
        stage = self._scene.stage
        look = self._look_path()
        existing = UsdShade.Material(stage.GetPrimAtPath(look))
        if existing:
            surface = UsdShade.Shader(stage.GetPrimAtPath(look.AppendChild("PreviewSurface")))
        else:
            template = _surface_shader(meshes[0])
            if not stage.GetPrimAtPath(look.GetParentPath()).IsValid():
                UsdGeom.Scope.Define(stage, look.GetParentPath())
            existing = UsdShade.Material.Define(stage, look)
            surface = UsdShade.Shader.Define(stage, look.AppendChild("PreviewSurface"))
            surface.CreateIdAttr("UsdPreviewSurface")
            # Keep the look's constants (roughness, metallic, ...) so only the colour changes.
            for name, type_name, fallback in (
                ("roughness", Sdf.ValueTypeNames.Float, 1.0),
                ("metallic", Sdf.ValueTypeNames.Float, 0.0),
                ("useSpecularWorkflow", Sdf.ValueTypeNames.Int, 0),
                ("opacity", Sdf.ValueTypeNames.Float, None),
            ):
                value = fallback
                source = template.GetInput(name) if template else None
                if source and not source.HasConnectedSource() and source.Get() is not None:
                    value = source.Get()
                if value is not None:
                    surface.CreateInput(name, type_name).Set(value)
            existing.CreateSurfaceOutput().ConnectToSource(surface.ConnectableAPI(), "surface")
        for mesh in meshes:
            UsdShade.MaterialBindingAPI.Apply(mesh).Bind(existing)
        return surface


def _surface_shader(mesh: Usd.Prim) -> UsdShade.Shader | None:
    material, _ = UsdShade.MaterialBindingAPI(mesh).ComputeBoundMaterial()
    if not material:
        return None
    shader = material.ComputeSurfaceSource()[0]
    return shader if shader else None


def _diffuse_input(mesh: Usd.Prim) -> UsdShade.Input | None:
    shader = _surface_shader(mesh)
    if shader is None:
        return None
    diffuse = shader.GetInput("diffuseColor")
    return diffuse if diffuse else None


def _st_primvar(mesh: Usd.Prim) -> str | None:
    primvars = UsdGeom.PrimvarsAPI(mesh)
    st = primvars.GetPrimvar("st")
    if st and st.HasValue():
        return "st"
    for primvar in primvars.GetPrimvarsWithValues():
        if primvar.GetTypeName() in (Sdf.ValueTypeNames.TexCoord2fArray, Sdf.ValueTypeNames.Float2Array):
            return primvar.GetPrimvarName()
    return None


class ObjectHandle(_SurfaceHandle):
    """One object of the scene, ``/World/Objects/<name>``: an Xform holding its mesh(es).

    Properties (:attr:`world_from_local`, :attr:`position`, :attr:`visible`,
    :attr:`base_color`, :attr:`texture`) read the composed stage and write the edits layer;
    every method is one undoable step of ``scene.history``.
    """

    _what = "object"

    def duplicate(self, new_name: str) -> ObjectHandle:
        """Copy the object to ``/World/Objects/<new_name>``, at the same place, and return it.

        The copy is a new prim in the edits layer that references the original's
        reconstruction content (``@./reconstruction.usda@</World/Objects/<name>>``) and carries
        a copy of the original's current edits, so later edits of either do not touch the
        other. Relationships that point outside the object (its material binding) are
        authored on the copy, since USD does not carry them through a reference.

        Raises:
            InputError: ``new_name`` is not a valid prim name or is taken.
        """
        check_name(new_name, "object")
        with self._recording(f"duplicate {self.name} as {new_name}"):
            self._live_prim()
            return self._copy_to(new_name)

    def rename(self, new_name: str) -> ObjectHandle:
        """Give the object a new name and return its new handle (this one then reads as removed).

        USD cannot rename a prim across layers without touching the reconstruction, so a
        reconstructed object is duplicated under the new name (see :meth:`duplicate`) and the
        old prim deactivated; an object that lives only in the edits (inserted, duplicated)
        is moved within the edits layer.

        Raises:
            InputError: ``new_name`` is not a valid prim name or is taken.
        """
        check_name(new_name, "object")
        with self._recording(f"rename {self.name} to {new_name}"):
            prim = self._live_prim()
            handle = self._copy_to(new_name)
            recon = self._scene._reconstruction
            if recon is not None and recon.GetPrimAtPath(self._path) is not None:
                prim.SetActive(False)
            else:
                for path in self._owned_paths():
                    remove_prim_spec(self._scene._edits, path)
            return handle

    def _copy_to(self, new_name: str) -> ObjectHandle:
        scene = self._scene
        stage, edits = scene.stage, scene._edits
        source = self._path
        target = source.GetParentPath().AppendChild(new_name)
        if stage.GetPrimAtPath(target).IsValid():
            raise InputError(f"object name {new_name!r} is taken (by {target}); pick another name")
        original = stage.GetPrimAtPath(source)
        Sdf.CreatePrimInLayer(edits, target.GetParentPath())
        if edits.GetPrimAtPath(source) is not None:
            if not Sdf.CopySpec(edits, source, edits, target):
                raise SceneFileError(f"expected to copy {source} in the edits layer, got a USD copy failure")
        else:
            Sdf.CreatePrimInLayer(edits, target)
        spec = edits.GetPrimAtPath(target)
        spec.specifier = Sdf.SpecifierDef
        copy = stage.GetPrimAtPath(target)
        recon = scene._reconstruction
        if recon is not None and recon.GetPrimAtPath(source) is not None:
            copy.GetReferences().AddReference(
                Sdf.Reference(scene._reconstruction_asset(), source), Usd.ListPositionFrontOfPrependList
            )
        elif edits.GetPrimAtPath(source) is None:
            # Neither in the reconstruction nor in the edits: some other layer holds it.
            copy.GetReferences().AddInternalReference(source)
        _carry_outside_targets(original, copy)
        return ObjectHandle(scene, target)


def _carry_outside_targets(original: Usd.Prim, copy: Usd.Prim) -> None:
    """Author on ``copy`` the relationship targets and connections of ``original`` that point
    outside it (a reference drops those), with paths inside it moved onto the copy."""
    source, target = original.GetPath(), copy.GetPath()

    def moved(paths: list[Sdf.Path]) -> list[Sdf.Path] | None:
        if all(p.HasPrefix(source) for p in paths):
            return None
        return [p.ReplacePrefix(source, target) if p.HasPrefix(source) else p for p in paths]

    stage = copy.GetStage()
    for prim in Usd.PrimRange(original):
        here = stage.GetPrimAtPath(prim.GetPath().ReplacePrefix(source, target))
        if not here.IsValid():
            continue
        for rel in prim.GetRelationships():
            targets = moved(list(rel.GetTargets()))
            if targets is not None:
                mirror = here.GetRelationship(rel.GetName()) or here.CreateRelationship(rel.GetName(), rel.IsCustom())
                mirror.SetTargets(targets)
        for attr in prim.GetAttributes():
            if not attr.HasAuthoredConnections():
                continue
            sources = moved(list(attr.GetConnections()))
            if sources is not None:
                mirror = here.GetAttribute(attr.GetName())
                if not mirror:
                    mirror = here.CreateAttribute(attr.GetName(), attr.GetTypeName(), attr.IsCustom())
                mirror.SetConnections(sources)


class BackgroundHandle(_SurfaceHandle):
    """The static background mesh, ``/World/Background``; the same edits as an object's
    (transform, visibility, colour, texture, remove, reset)."""

    _what = "background"


_LIGHT_TYPES: dict[str, type] = {
    "distant": UsdLux.DistantLight,
    "sphere": UsdLux.SphereLight,
    "dome": UsdLux.DomeLight,
}


class LightHandle(_Handle):
    """A UsdLux light under ``/World/Lights``: intensity, colour, exposure and the transform
    edits every handle has (a distant light shines along its local -Z)."""

    _what = "light"

    @property
    def kind(self) -> str:
        """The light's type, e.g. ``"distant"``, ``"sphere"``, ``"dome"`` (USD type name without ``Light``, lower case)."""
        type_name = self._live_prim().GetTypeName()
        return type_name[: -len("Light")].lower() if type_name.endswith("Light") else type_name.lower()

    def _light(self) -> UsdLux.LightAPI:
        return UsdLux.LightAPI(self._live_prim())

    @property
    def intensity(self) -> float:
        """``inputs:intensity`` (linear, unitless as in UsdLux); setting it must give a value ≥ 0."""
        return float(self._light().GetIntensityAttr().Get())

    @intensity.setter
    def intensity(self, value: float) -> None:
        number = _number(value, "intensity")
        if number < 0:
            raise InputError(f"intensity must be ≥ 0, got {number}")
        with self._recording(f"set {self.name} intensity {number:.6g}"):
            self._light().CreateIntensityAttr().Set(number)

    @property
    def exposure(self) -> float:
        """``inputs:exposure`` in stops (the light is scaled by 2^exposure)."""
        return float(self._light().GetExposureAttr().Get())

    @exposure.setter
    def exposure(self, value: float) -> None:
        number = _number(value, "exposure")
        with self._recording(f"set {self.name} exposure {number:.6g}"):
            self._light().CreateExposureAttr().Set(number)

    @property
    def color(self) -> np.ndarray:
        """``inputs:color``: linear RGB, 3 float64 ≥ 0."""
        return np.array(list(self._light().GetColorAttr().Get()), dtype=np.float64)

    @color.setter
    def color(self, rgb: Sequence[float]) -> None:
        color = check_color(rgb, "color")
        with self._recording(f"set {self.name} color {_fmt(color)}"):
            self._light().CreateColorAttr().Set(Gf.Vec3f(*color.tolist()))


def check_color(rgb: object, name: str) -> np.ndarray:
    color = _vector(rgb, name, hint="pass linear RGB, e.g. (1, 1, 1)")
    if np.any(color < 0):
        raise InputError(f"{name} must be non-negative linear RGB, got {_fmt(color)}")
    return color


def define_light(scene: Scene, name: str, kind: str) -> Usd.Prim:
    """Define a light prim of ``kind`` at ``/World/Lights/<name>`` at the stage's edit target."""
    stage = scene.stage
    if not stage.GetPrimAtPath(LIGHTS_PATH).IsValid():
        UsdGeom.Xform.Define(stage, LIGHTS_PATH)
    return _LIGHT_TYPES[kind].Define(stage, LIGHTS_PATH.AppendChild(name)).GetPrim()


class NamedHandles(Mapping[str, Any]):
    """A read-only, ordered name → handle mapping, made when asked for (a live view of the
    stage at that moment); an unknown name raises an :class:`InputError` (also a ``KeyError``)
    that suggests the closest name."""

    def __init__(self, what: str, handles: dict[str, Any], *, removed: Sequence[str] = ()) -> None:
        self._what = what
        self._handles = handles
        self._removed = tuple(removed)

    def __getitem__(self, name: str) -> Any:
        try:
            return self._handles[name]
        except (KeyError, TypeError):
            pass
        if name in self._removed:
            raise UnknownNameError(
                f"{self._what} {name!r} was removed; scene.undo() or scene.removed_objects[{name!r}].reset() brings it back"
            )
        raise unknown_name(self._what, name, list(self._handles))

    def __iter__(self) -> Iterator[str]:
        return iter(self._handles)

    def __len__(self) -> int:
        return len(self._handles)

    def __repr__(self) -> str:
        return f"{{{', '.join(f'{k!r}: {v!r}' for k, v in self._handles.items())}}}"
