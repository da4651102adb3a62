"""The base of the scene-editing API's handles, and the name → handle mapping the scene hands out.

A handle is a prim path and the scene it lives in, nothing more: every property reads the
composed stage and every setter writes straight into the scene's edits layer (the stage's
edit target), so there is no second copy of state to go stale (viser's scene handles work
the same way). Every editing method runs inside ``scene._recording(...)``: a bad edit raises a
typed one-line error and leaves the edits layer exactly as it was.

Transforms are stored as ``_layers.author_transform`` describes. An animated prim
(time-sampled transform) keeps one sample per authored time: relative edits
(:meth:`~PrimHandle.translate`, :meth:`~PrimHandle.rotate`, :meth:`~PrimHandle.scale`) move
every sample, :meth:`~PrimHandle.set_world_from_local` with ``time=`` keys one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from pxr import Sdf, Usd, UsdGeom

from ..types import InputError, check_rigid, rotation_about_axis
from ..usd import transform_from_gf
from ._checks import UnknownNameError, check_matrix, check_number, check_vector, format_vector, unknown_name
from ._layers import author_transform, remove_prim_spec

__all__ = ["EditableScene", "NamedHandles", "PrimHandle"]


class EditableScene(Protocol):
    """What a handle needs of the scene it edits (``Scene`` is the one implementation)."""

    _edits: Sdf.Layer
    _reconstruction: Sdf.Layer | None

    @property
    def stage(self) -> Usd.Stage: ...

    @property
    def folder(self) -> Path: ...

    def _recording(self, description: str) -> AbstractContextManager[None]: ...

    def _reconstruction_asset(self) -> str: ...


def _time_code(time: float | None) -> Usd.TimeCode:
    """None → the earliest authored time (a static prim's only value), else that time code."""
    if time is None:
        return Usd.TimeCode.EarliestTime()
    return Usd.TimeCode(check_number(time, "time"))


def _translation(offset: np.ndarray) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = offset
    return m


def _about(pivot: np.ndarray, linear: np.ndarray) -> np.ndarray:
    """4×4 applying the 3×3 ``linear`` about the point ``pivot``."""
    m = np.eye(4)
    m[:3, :3] = linear
    return _translation(pivot) @ m @ _translation(-pivot)


def _parent_world(xformable: UsdGeom.Xformable, time: Usd.TimeCode) -> np.ndarray:
    if xformable.GetResetXformStack():
        return np.eye(4)
    return transform_from_gf(xformable.ComputeParentToWorldTransform(time))


def _local_times(xformable: UsdGeom.Xformable) -> list[float]:
    """Time codes of the composed local transform's samples (empty for a static prim)."""
    return [float(t) for t in xformable.GetTimeSamples()]


class PrimHandle:
    """A prim of the scene, by path; properties read and write the composed stage."""

    _what = "prim"

    def __init__(self, scene: EditableScene, path: str | Sdf.Path) -> None:
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
        if not isinstance(other, PrimHandle):
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
        return transform_from_gf(UsdGeom.Xformable(prim).ComputeLocalToWorldTransform(_time_code(time)))

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
        m = check_matrix(matrix, "world_from_local")
        when = None if time is None else check_number(time, "time")
        label = "" if when is None else f" at frame {when:g}"
        with self._recording(f"place {self.name}{label}"):
            prim = self._live_prim()
            xformable = UsdGeom.Xformable(prim)
            if when is None:
                local = np.linalg.inv(_parent_world(xformable, Usd.TimeCode.EarliestTime())) @ m
                author_transform(prim, local)
                return
            sampled = {t: transform_from_gf(xformable.GetLocalTransformation(Usd.TimeCode(t))) for t in _local_times(xformable)}
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
                world = transform_from_gf(xformable.ComputeLocalToWorldTransform(code))
                delta = delta_at(code, world)
                moved = moved or not np.array_equal(delta, np.eye(4))
                new_world = check_matrix(delta @ world, "the edited world_from_local")
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
        target = check_vector(xyz, "position")
        self.translate(target - self.position)

    def translate(self, delta_xyz: Sequence[float]) -> None:
        """Move the prim by ``delta_xyz`` (3 numbers, world axes, scene units)."""
        delta = check_vector(delta_xyz, "delta_xyz", hint="pass (dx, dy, dz) in scene units")
        self._apply_world_delta(lambda _t, _w: _translation(delta), f"move {self.name} by {format_vector(delta)}")

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
        angles = np.radians([check_number(x_deg, "x_deg"), check_number(y_deg, "y_deg"), check_number(z_deg, "z_deg")])
        rotation = (
            rotation_about_axis(np.array([0.0, 0.0, 1.0]), angles[2])
            @ rotation_about_axis(np.array([0.0, 1.0, 0.0]), angles[1])
            @ rotation_about_axis(np.array([1.0, 0.0, 0.0]), angles[0])
        )
        pivot = self._pivot_fn(about)
        degrees = np.degrees(angles)
        self._apply_world_delta(
            lambda t, w: _about(pivot(t, w), rotation), f"rotate {self.name} by {format_vector(degrees)} deg about {self._about_text(about)}"
        )

    def transform(self, world_from_world: np.ndarray, *, description: str | None = None) -> None:
        """Apply one rigid change of world pose, rotation and translation together, at every
        key of an animated prim, as one edit (one undo step): ``world_from_local ←
        world_from_world @ world_from_local``. What a gizmo drag in the viewer does.

        Args:
            world_from_world: 4×4 float64 rigid transform in world axes (scene units).
            description: the edit's line in the history (default: "transform NAME").

        Raises:
            InputError: not a finite rigid 4×4.
        """
        delta = check_rigid(world_from_world, "world_from_world")
        self._apply_world_delta(lambda _t, _w: delta, description or f"transform {self.name}")

    def scale(self, factor: float | Sequence[float], *, about: str | Sequence[float] = "center") -> None:
        """Scale the prim by ``factor`` (one number, or 3 along the prim's own local axes).

        Args:
            factor: positive scale factor(s).
            about: the fixed point, as for :meth:`rotate`.
        """
        if np.ndim(factor) == 0:
            factors = np.full(3, check_number(factor, "factor"))
        else:
            factors = check_vector(factor, "factor")
        if not np.all(factors > 0):
            raise InputError(f"factor must be positive, got {format_vector(factors)}; remove() hides an object")
        pivot = self._pivot_fn(about)

        def delta(t: Usd.TimeCode, world: np.ndarray) -> np.ndarray:
            # Along the prim's own axes: world_from_local @ S @ local_from_world, about the pivot.
            linear = world[:3, :3] @ np.diag(factors) @ np.linalg.inv(world[:3, :3])
            return _about(pivot(t, world), linear)

        text = f"{factors[0]:.6g}" if np.all(factors == factors[0]) else format_vector(factors)
        self._apply_world_delta(delta, f"scale {self.name} by {text} about {self._about_text(about)}")

    @staticmethod
    def _about_text(about: str | Sequence[float]) -> str:
        return about if isinstance(about, str) else format_vector(np.asarray(about, dtype=np.float64))

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
        point = check_vector(about, "about", hint="pass 'center', 'origin' or a world point (x, y, z)")
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
