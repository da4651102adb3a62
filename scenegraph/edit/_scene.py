"""The scene-editing API: open a SceneForge scene, edit it through handles, undo, diff, save.

::

    from sceneforge.scenegraph import Scene

    scene = Scene.open("shot/scene.usda")          # the scene file or its folder
    chair = scene.objects["chair"]
    chair.translate((0.4, 0.0, 0.0))
    chair.rotate(y_deg=30)
    scene.objects["lamp"].remove()
    scene.insert("teapot.glb", name="teapot", on="ground")
    scene.save()                                   # writes edits.usda only

Every edit goes to ``edits.usda``, the composed stage's edit target; ``reconstruction.usda``
and ``scene.usda`` are never written. Handles (:class:`ObjectHandle`, :class:`BackgroundHandle`,
:class:`LightHandle`, the camera's ``CameraHandle``) hold only a prim path: they read the
composed stage and write the edits layer, so nothing goes stale.

Undo. Every editing method runs inside :meth:`Scene._recording`, which keeps a copy of the
edits layer from before the edit; an exception inside restores it (a bad edit changes
nothing) and a successful edit becomes one step of :attr:`Scene.history`. Edits made
directly on :attr:`Scene.stage` are not recorded: :meth:`Scene.undo` restores the content of
a recorded step and so drops them.

Layers are shared within a process. USD keeps one ``Sdf.Layer`` per file, so two ``Scene``
objects opened on the same file in one process see each other's unsaved edits (as two
stages in usdview would); open a copy of the folder to compare versions side by side.
"""

from __future__ import annotations

import contextlib
import logging
import math
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pxr import Gf, Kind, Sdf, Tf, Usd, UsdGeom, UsdLux, UsdShade

from ..files import remove_stale_temporaries
from ..types import InputError, SceneFileError, TexturedMesh
from ..usd._schema import LAYER_DATA_KEY
from ..usd import (
    ATTR_FRAME_NUMBERS,
    BACKGROUND_PATH,
    DEFAULT_CAMERA_PATH,
    EDITS_FILE,
    LIGHTS_PATH,
    LOOKS_NAME,
    OBJECTS_PATH,
    RECONSTRUCTION_FILE,
    TEXTURE_FOLDER,
    WORLD_PATH,
    StageValidation,
    author_mesh,
    check_format_version,
    export_layer,
    open_stage,
    read_layer_from_disk,
    transform_from_gf,
    validate_stage,
)
from ._assets import (
    MESH_SUFFIXES,
    USD_SUFFIXES,
    asset_reference_path,
    load_mesh_parts,
    open_usd_asset,
    units_of,
    up_rotation,
)
from ._camera_handle import CameraHandle
from ._checks import check_color, check_matrix, check_name, check_number, check_vector
from ._diff import SceneEdit, diff_edits
from ._handle import NamedHandles
from ._light_handle import LightHandle, define_light
from ._merge import edits_lock, merge_layers
from ._surface_handles import BackgroundHandle, ObjectHandle

__all__ = ["Scene", "SceneEdit"]

log = logging.getLogger(__name__)

_FALLBACK_GROUND_DISTANCE_M = 2.0


# ----------------------------------------------------------------------------------------
# The scene


@dataclass(frozen=True, eq=False)
class _Step:
    """One undoable edit: the edits layer's content before and after it."""

    description: str
    before: Sdf.Layer
    after: Sdf.Layer


class Scene:
    """An open SceneForge scene: the composed stage, its edits layer, handles, undo and save.

    Make one with :meth:`Scene.open`. Lengths are scene units (``meters_per_unit`` metres
    each), the world is right-handed +Y up with the ground at y = 0, transforms are 4×4
    float64 ``world_from_local`` with column vectors, times are USD time codes (= source
    frame numbers).
    """

    def __init__(self, stage: Usd.Stage, edits: Sdf.Layer, reconstruction: Sdf.Layer | None) -> None:
        """Use :meth:`Scene.open`."""
        self._stage = stage
        self._edits = edits
        self._reconstruction = reconstruction
        self._undo: list[_Step] = []
        self._redo: list[_Step] = []
        self._depth = 0
        self._saved_text = edits.ExportToString()
        stage.SetEditTarget(Usd.EditTarget(edits))

    # opening and saving ----------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path) -> Scene:
        """Open a scene: its ``scene.usda``, or the folder that holds it.

        Raises:
            SceneFileError: the file is missing, not USD, unreadable, has no ``/World`` or no
                readable ``edits.usda`` sublayer, or was written by a newer SceneForge.
        """
        stage = open_stage(path)
        check_format_version(stage)
        layers = {Path(layer.realPath).name: layer for layer in stage.GetLayerStack(False) if layer.realPath}
        root = stage.GetRootLayer()
        edits = layers.get(EDITS_FILE)
        if edits is None or edits is root:
            folder = Path(root.realPath).parent if root.realPath else Path(str(path))
            state = "unreadable" if (folder / EDITS_FILE).is_file() else "missing"
            raise SceneFileError(
                f"expected a scene whose root layer sublayers ./{EDITS_FILE}, got {root.realPath or root.identifier!r} "
                f"with {EDITS_FILE} {state}; open the scene.usda that `sceneforge reconstruct` wrote, "
                f"or restore {EDITS_FILE} (an empty `#usda 1.0` file will do)"
            )
        if edits.dirty:
            log.warning("%s has unsaved edits from another Scene in this process; they are shared", edits.realPath)
        scene = cls(stage, edits, layers.get(RECONSTRUCTION_FILE))
        scene._mirror_units()
        return scene

    def save(self) -> Path:
        """Write the edits layer to ``edits.usda`` atomically (temporary file, then rename).
        Only that file is written — except after :meth:`set_meters_per_unit` (or its undo), when
        ``scene.usda``'s ``metersPerUnit`` follows the edits layer (a stage's units live in its
        root layer, where Blender and usdview read them). Returns the edits layer's path.

        Safe beside other writers (another process, the viewer, a second ``sceneforge edit``):
        the shot's edits lock is held while it reads what is on disk and writes; when another
        writer saved since this scene was opened or last saved, this scene's edits since then
        are merged onto theirs (:func:`merge_layers`; this scene's value wins where both changed
        the same thing) instead of overwriting them, and the undo history is cleared (undoing
        across the merge would drop the other writer's edits).

        Raises:
            SceneFileError: the file cannot be written.
        """
        target = Path(self._edits.realPath)
        with edits_lock(target.parent):
            remove_stale_temporaries(target.parent)
            theirs = read_layer_from_disk(target)
            if theirs is not None and theirs.ExportToString() != self._saved_text:
                base = Sdf.Layer.CreateAnonymous(".usda")
                base.ImportFromString(self._saved_text)
                merged = merge_layers(base, self._edits, theirs)
                self._edits.TransferContent(merged)
                self._undo.clear()
                self._redo.clear()
                log.warning("%s was saved by another writer meanwhile: merged this scene's edits onto it", target)
            export_layer(self._edits, target)
            self._saved_text = self._edits.ExportToString()
            root = self._stage.GetRootLayer()
            if self._mirror_units() or root.dirty:
                # the stage's units live in its root layer's metadata: scene.usda follows the edits
                export_layer(root, Path(root.realPath))
        log.debug("saved %s", target)
        return target

    @property
    def has_unsaved_edits(self) -> bool:
        """True when the edits layer differs from what was last opened or saved."""
        return self._edits.ExportToString() != self._saved_text

    # facts --------------------------------------------------------------------------------

    @property
    def stage(self) -> Usd.Stage:
        """The composed ``Usd.Stage`` (edit target: the edits layer)."""
        return self._stage

    @property
    def path(self) -> Path:
        """Path of the scene file (``scene.usda``)."""
        root = self._stage.GetRootLayer()
        return Path(root.realPath or root.identifier)

    @property
    def folder(self) -> Path:
        """The scene's folder (where ``edits.usda`` and ``textures/`` live)."""
        return Path(self._edits.realPath).parent

    @property
    def meters_per_unit(self) -> float:
        """Metres in one scene unit (the stage's ``metersPerUnit``)."""
        return float(UsdGeom.GetStageMetersPerUnit(self._stage))

    @property
    def units(self) -> dict[str, Any]:
        """How the scene's scale was set: ``{"meters_per_unit", "metric", "how"}`` — from the
        last :meth:`set_meters_per_unit` edit, else from the reconstruction."""
        edit = _units_edit(self._edits)
        if edit is not None:
            return edit
        source = self._reconstruction if self._reconstruction is not None else self._stage.GetRootLayer()
        data = _sceneforge_data(source)
        mpu = source.pseudoRoot.GetInfo(UsdGeom.Tokens.metersPerUnit) if source.pseudoRoot.HasInfo(UsdGeom.Tokens.metersPerUnit) else 1.0
        return {
            "meters_per_unit": float(mpu),
            "metric": bool(data.get("metricScale", False)),
            "how": str(dict(data.get("metadata", {})).get("scale", "")),
        }

    def set_meters_per_unit(self, meters_per_unit: float, *, how: str = "set by an edit", metric: bool = True) -> None:
        """Rescale the scene: one scene unit is now ``meters_per_unit`` metres.

        The geometry keeps its units (nothing in the reconstruction changes); the stage's
        ``metersPerUnit`` does, so a glTF asset in metres inserted afterwards lands at its true
        size, and Blender and usdview show true metres. The edit is recorded in ``edits.usda``
        (undoable, with ``how`` — shown by ``sceneforge info``) and mirrored into ``scene.usda``
        on :meth:`save`. ``sceneforge edit shot/ scale-scene`` measures the value from a known
        distance or camera height.

        Raises:
            InputError: a value that is not a positive finite number.
        """
        value = check_number(meters_per_unit, "meters_per_unit")
        if not value > 0:
            raise InputError(f"meters_per_unit must be positive, got {meters_per_unit!r}")
        with self._recording(f"scale the scene to {value:.4g} m per unit"):
            data = dict(self._edits.customLayerData)
            ours = dict(data.get(LAYER_DATA_KEY, {}))
            ours["units"] = {"metersPerUnit": value, "metric": bool(metric), "how": str(how)}
            data[LAYER_DATA_KEY] = ours
            self._edits.customLayerData = data
            self._edits.pseudoRoot.SetInfo(UsdGeom.Tokens.metersPerUnit, value)
        self._mirror_units()

    def _mirror_units(self) -> bool:
        """Carry the scene's units (:attr:`units`) into the root layer, in memory; True when
        the root layer changed (and must be saved)."""
        units = self.units
        root = self._stage.GetRootLayer()
        changed = False
        current = root.pseudoRoot.GetInfo(UsdGeom.Tokens.metersPerUnit) if root.pseudoRoot.HasInfo(UsdGeom.Tokens.metersPerUnit) else None
        if current is None or not math.isclose(float(current), units["meters_per_unit"], rel_tol=1e-12):
            root.pseudoRoot.SetInfo(UsdGeom.Tokens.metersPerUnit, units["meters_per_unit"])
            changed = True
        data = dict(root.customLayerData)
        ours = dict(data.get(LAYER_DATA_KEY, {}))
        metadata = dict(ours.get("metadata", {}))
        if bool(ours.get("metricScale", False)) != units["metric"] or metadata.get("scale", "") != units["how"]:
            ours["metricScale"] = units["metric"]
            metadata["scale"] = units["how"]
            ours["metadata"] = metadata
            data[LAYER_DATA_KEY] = ours
            root.customLayerData = data
            changed = True
        return changed

    @property
    def fps(self) -> float:
        """Frames per second (the stage's ``timeCodesPerSecond``)."""
        return float(self._stage.GetTimeCodesPerSecond())

    @property
    def frame_range(self) -> tuple[int, int]:
        """(first, last) source frame numbers: the stage's start and end time codes."""
        return int(round(self._stage.GetStartTimeCode())), int(round(self._stage.GetEndTimeCode()))

    @property
    def up_axis(self) -> str:
        """The stage's up axis, ``"Y"`` for SceneForge scenes (``"Z"`` for some foreign ones)."""
        return str(UsdGeom.GetStageUpAxis(self._stage))

    @property
    def up(self) -> np.ndarray:
        """The world up direction: 3 float64, ``(0, 1, 0)`` in a SceneForge scene."""
        out = np.zeros(3)
        out[self._up_index] = 1.0
        return out

    @property
    def _up_index(self) -> int:
        return 2 if self.up_axis == "Z" else 1

    def validate(self) -> StageValidation:
        """Run Pixar's validators on the composed stage (unsaved edits included)."""
        return validate_stage(self._stage)

    def __repr__(self) -> str:
        return f"Scene({str(self.path)!r}, objects={list(self.objects)}, edits={len(self._undo)})"

    # handles ---------------------------------------------------------------------------

    @property
    def objects(self) -> NamedHandles:
        """name → :class:`ObjectHandle` of every object under ``/World/Objects`` (inserted ones
        included, removed ones not), in stage order. A live view made on each access."""
        root = self._stage.GetPrimAtPath(OBJECTS_PATH)
        if not root.IsValid():
            return NamedHandles("object", {})
        handles = {p.GetName(): ObjectHandle(self, p.GetPath()) for p in root.GetChildren() if p.IsA(UsdGeom.Xformable)}
        removed = [p.GetName() for p in root.GetAllChildren() if not p.IsActive()]
        return NamedHandles("object", handles, removed=removed)

    @property
    def removed_objects(self) -> NamedHandles:
        """name → :class:`ObjectHandle` of the removed (deactivated) objects; ``.reset()`` brings one back."""
        root = self._stage.GetPrimAtPath(OBJECTS_PATH)
        if not root.IsValid():
            return NamedHandles("removed object", {})
        return NamedHandles(
            "removed object",
            {p.GetName(): ObjectHandle(self, p.GetPath()) for p in root.GetAllChildren() if not p.IsActive()},
        )

    @property
    def background(self) -> BackgroundHandle | None:
        """The background mesh ``/World/Background``, or None when the scene has none (or it was removed)."""
        prim = self._stage.GetPrimAtPath(BACKGROUND_PATH)
        return BackgroundHandle(self, BACKGROUND_PATH) if prim.IsValid() and prim.IsActive() else None

    @property
    def lights(self) -> NamedHandles:
        """name → :class:`LightHandle` of every UsdLux light under ``/World/Lights``."""
        root = self._stage.GetPrimAtPath(LIGHTS_PATH)
        if not root.IsValid():
            return NamedHandles("light", {})
        return NamedHandles(
            "light", {p.GetName(): LightHandle(self, p.GetPath()) for p in Usd.PrimRange(root) if p.HasAPI(UsdLux.LightAPI)}
        )

    @property
    def camera(self) -> CameraHandle:
        """The plate camera ``/World/Cameras/Plate`` as a ``CameraHandle``.

        Raises:
            InputError: the scene has no camera there.
        """
        if not self._stage.GetPrimAtPath(DEFAULT_CAMERA_PATH).IsA(UsdGeom.Camera):
            raise InputError(f"the scene has no camera at {DEFAULT_CAMERA_PATH}; see scene.cameras for the others")
        return CameraHandle(stage=self._stage, path=DEFAULT_CAMERA_PATH, recording=self._recording)

    @property
    def cameras(self) -> NamedHandles:
        """name → ``CameraHandle`` of every camera under ``/World`` (the plate is ``"Plate"``)."""
        world = self._stage.GetPrimAtPath(WORLD_PATH)
        handles: dict[str, Any] = {}
        if world.IsValid():
            for prim in Usd.PrimRange(world):
                if prim.IsA(UsdGeom.Camera):
                    key = prim.GetName() if prim.GetName() not in handles else str(prim.GetPath())
                    handles[key] = CameraHandle(stage=self._stage, path=str(prim.GetPath()), recording=self._recording)
        return NamedHandles("camera", handles)

    # undo / redo / diff ----------------------------------------------------------------

    @contextlib.contextmanager
    def _recording(self, description: str) -> Iterator[None]:
        """Run one edit as one undoable step: snapshot the edits layer, run the body, restore
        the snapshot on any exception (and re-raise). Nested uses join the outer step; a body
        that authors nothing adds no step."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        before = self._snapshot()
        changed = []
        listener = Tf.Notice.Register(
            Sdf.Notice.LayersDidChangeSentPerLayer, lambda notice, sender: changed.append(True), self._edits
        )
        self._depth = 1
        try:
            yield
        except BaseException:
            self._edits.TransferContent(before)
            raise
        finally:
            self._depth = 0
            listener.Revoke()
        if changed:
            self._undo.append(_Step(description, before, self._snapshot()))
            self._redo.clear()
            log.debug("edit: %s", description)

    def _snapshot(self) -> Sdf.Layer:
        # A layer copy, not text: arrays are shared copy-on-write, so a snapshot of an edits
        # layer holding large inserted meshes costs microseconds instead of a serialisation.
        copy = Sdf.Layer.CreateAnonymous("snapshot.usda")
        copy.TransferContent(self._edits)
        return copy

    @property
    def history(self) -> tuple[str, ...]:
        """Descriptions of the edits made through this object, oldest first (undone ones excluded)."""
        return tuple(step.description for step in self._undo)

    @property
    def redo_history(self) -> tuple[str, ...]:
        """Descriptions of the undone edits :meth:`redo` would bring back, next first."""
        return tuple(step.description for step in reversed(self._redo))

    def undo(self) -> str:
        """Undo the last edit; returns its description.

        Raises:
            InputError: there is nothing to undo.
        """
        if not self._undo:
            raise InputError("nothing to undo; scene.history is empty")
        step = self._undo.pop()
        self._edits.TransferContent(step.before)
        self._redo.append(step)
        self._mirror_units()
        return step.description

    def redo(self) -> str:
        """Redo the last undone edit; returns its description.

        Raises:
            InputError: there is nothing to redo (no undo since the last edit).
        """
        if not self._redo:
            raise InputError("nothing to redo; redo follows undo, and a new edit clears it")
        step = self._redo.pop()
        self._edits.TransferContent(step.after)
        self._undo.append(step)
        self._mirror_units()
        return step.description

    def diff(self) -> list[SceneEdit]:
        """Every opinion the edits layer holds, with the reconstruction's value it overrides.

        One entry per property and per prim metadata field (``active``, ``kind``,
        ``apiSchemas``, ...) of prims the reconstruction has, and one ``"added <type>"``
        entry per prim the edits add (whose contents are not listed). Stage order.
        """
        return diff_edits(self._edits, self._reconstruction, self._stage)

    # inserting ---------------------------------------------------------------------------

    def insert(
        self,
        path: str | Path,
        *,
        name: str,
        on: str | None = "ground",
        position: Sequence[float] | None = None,
        scale_to: float | None = None,
        units_m: float | None = None,
        up_axis: str | None = None,
    ) -> ObjectHandle:
        """Insert an asset as the object ``/World/Objects/<name>`` and return its handle.

        glTF/GLB, OBJ and PLY files are read with trimesh and written into the edits layer
        as meshes (textures and vertex colours kept; materials inside the object, textures in
        ``textures/``); USD files (.usd, .usda, .usdc, .usdz) are referenced (by a ``./``
        path when inside the scene folder, else by absolute path: copy the asset into the
        folder to keep the scene portable). Units and axes: see :mod:`._assets` (glTF is
        metres, +Y up; OBJ/PLY are assumed metres, +Y up; USD says its own, else metres).

        Args:
            path: the asset file.
            name: the object's name, a valid prim name not used by another object.
            on: ``"ground"`` to stand the asset on the ground plane (y = 0): its lowest point
                touches it, centred at ``position``; None to keep its own height (at
                ``position``, or where the asset's own coordinates put it).
            position: with ``on="ground"``, the ground point (x, z) — or (x, y, z), the y
                ignored — under the asset's centre; default: where the plate camera's
                first frame looks at the ground. With ``on=None``, the world point (x, y, z)
                for the bottom centre of the asset's bounding box.
            scale_to: scale the asset uniformly so that its bounding box's longest side is
                this many scene units.
            units_m: metres in one asset unit, overriding what the format says or assumes.
            up_axis: the asset's up axis, ``"Y"`` or ``"Z"``, overriding the format's.

        Raises:
            InputError: a bad argument, a taken name, or an asset that does not load (the
                message names the file and the reason). Nothing is changed then.
        """
        file = Path(path)
        check_name(name, "object")
        if on not in ("ground", None):
            raise InputError(f"on must be 'ground' or None, got {on!r}")
        target_point = self._parse_position(position, on)
        if scale_to is not None:
            scale_to = check_number(scale_to, "scale_to")
            if scale_to <= 0:
                raise InputError(f"scale_to must be a positive length in scene units, got {scale_to}")
        if units_m is not None:
            units_m = check_number(units_m, "units_m")
            if units_m <= 0:
                raise InputError(f"units_m must be positive (metres per asset unit), got {units_m}")
        if up_axis is not None and str(up_axis).upper() not in ("Y", "Z"):
            raise InputError(f"up_axis must be 'Y' or 'Z', got {up_axis!r}")
        suffix = file.suffix.lower()
        if suffix not in MESH_SUFFIXES + USD_SUFFIXES:
            raise InputError(
                f"cannot insert {file.name}: expected one of {', '.join(MESH_SUFFIXES + USD_SUFFIXES)}, got {suffix or 'no extension'}"
            )
        target = Sdf.Path(OBJECTS_PATH).AppendChild(name)
        if self._stage.GetPrimAtPath(target).IsValid():
            raise InputError(f"object name {name!r} is taken (by {target}); pick another name")

        # Load before recording: a file that does not load never touches the stage.
        if suffix in MESH_SUFFIXES:
            parts = load_mesh_parts(file, up_axis=(up_axis or "Y").upper())
            asset_units = units_m or units_of(file) or 1.0
        else:
            usd_asset = open_usd_asset(file)
            asset_units = units_m or usd_asset.meters_per_unit or 1.0
            usd_up = (up_axis or usd_asset.up_axis or "Y").upper()
        factor = asset_units / self.meters_per_unit

        with self._recording(f"insert {file.name} as {name}"):
            self._ensure_objects_root()
            if suffix in MESH_SUFFIXES:
                self._author_mesh_asset(target, parts, factor)
            else:
                self._author_usd_asset(target, file, usd_asset.prim_path, factor, usd_up)
            handle = ObjectHandle(self, target)
            bounds = handle.world_bounds()
            if bounds is None:
                raise InputError(f"cannot insert {file.name}: it has no geometry to place")
            size = float(np.max(bounds[1] - bounds[0]))
            scale = 1.0
            if scale_to is not None:
                if size <= 0:
                    raise InputError(f"cannot insert {file.name} with scale_to: its bounding box is flat")
                scale = scale_to / size
            up = self._up_index
            base = bounds.mean(axis=0)
            base[up] = bounds[0, up]
            if on == "ground":
                point = self._ground_point() if target_point is None else target_point
                point[up] = 0.0
            else:
                point = base if target_point is None else target_point
            placement = np.eye(4)
            placement[:3, :3] *= scale
            placement[:3, 3] = point - scale * base
            handle.set_world_from_local(placement @ handle.get_world_from_local())
        log.debug("inserted %s as %s (%.6g scene units per asset unit × %.6g)", file, target, factor, scale)
        return handle

    def _parse_position(self, position: Sequence[float] | None, on: str | None) -> np.ndarray | None:
        if position is None:
            return None
        if on == "ground" and np.size(position) == 2:
            x, z = check_vector(position, "position", size=2, hint="pass (x, z) on the ground or (x, y, z)")
            out = np.zeros(3)
            horizontal = [0, 2] if self._up_index == 1 else [0, 1]
            out[horizontal] = (x, z)
            return out
        return check_vector(position, "position", hint="pass (x, z) on the ground or (x, y, z)" if on else "pass (x, y, z)")

    def _ensure_objects_root(self) -> None:
        if not self._stage.GetPrimAtPath(OBJECTS_PATH).IsValid():
            objects = UsdGeom.Xform.Define(self._stage, OBJECTS_PATH)
            # /World is an assembly: a group keeps the objects (components) in the model hierarchy.
            Usd.ModelAPI(objects.GetPrim()).SetKind(Kind.Tokens.group)

    def _author_mesh_asset(self, target: Sdf.Path, parts: list, factor: float) -> None:
        """Author mesh parts under ``target`` in the edits layer, materials inside the object."""
        # Author into a scratch layer rooted at the object's name (author_mesh puts the looks
        # under the path's root prim, so they land inside the object), then copy the subtree.
        scratch = Sdf.Layer.CreateAnonymous(".usda")
        scratch_stage = Usd.Stage.Open(scratch)
        root = Sdf.Path("/" + target.name)
        xform = UsdGeom.Xform.Define(scratch_stage, root)
        Usd.ModelAPI(xform.GetPrim()).SetKind(Kind.Tokens.component)
        textures = self.folder / TEXTURE_FOLDER
        for part in parts:
            part_name = part.name if part.name != LOOKS_NAME else f"{LOOKS_NAME}_mesh"
            label = f"{target.name}_{part_name}"
            k = 1
            while (textures / f"{label}.png").exists():
                k += 1
                label = f"{target.name}_{part_name}_{k}"
            mesh = part.mesh
            scaled = TexturedMesh(
                vertices=mesh.vertices * factor,
                faces=mesh.faces,
                uv=mesh.uv,
                texture=mesh.texture,
                vertex_colors=mesh.vertex_colors,
                normals=mesh.normals,
            )
            author_mesh(scratch_stage, str(root.AppendChild(part_name)), scaled, folder=self.folder, name=label)
            texture = UsdShade.Shader(scratch_stage.GetPrimAtPath(root.AppendPath(f"{LOOKS_NAME}/{label}/Texture")))
            if texture:
                # glTF and OBJ uvs may tile (glTF's default sampler repeats).
                texture.CreateInput("wrapS", Sdf.ValueTypeNames.Token).Set("repeat")
                texture.CreateInput("wrapT", Sdf.ValueTypeNames.Token).Set("repeat")
        Sdf.CreatePrimInLayer(self._edits, target.GetParentPath())
        if not Sdf.CopySpec(scratch, root, self._edits, target):
            raise SceneFileError(f"expected to write {target} into the edits layer, got a USD copy failure")

    def _author_usd_asset(self, target: Sdf.Path, file: Path, prim_path: str, factor: float, up_axis: str) -> None:
        """Reference a USD asset at ``target`` and convert its units and up axis on the transform.
        An asset from outside the scene's folder is copied in first (as one ``assets/<name>.usdz``
        package with everything it references), so the scene stays whole and reads only its own
        files (see :mod:`sceneforge.scenegraph.usd._asset_policy`)."""
        file = self._copied_in(file, target.name)
        errors_before = len(self._stage.GetCompositionErrors())
        prim = self._stage.DefinePrim(target)
        prim.GetReferences().AddReference(Sdf.Reference(asset_reference_path(file, self.folder), Sdf.Path(prim_path)))
        errors = self._stage.GetCompositionErrors()
        if len(errors) > errors_before:
            raise InputError(f"cannot insert {file.name}: USD cannot compose it ({str(errors[-1]).strip().splitlines()[0]})")
        if not prim.IsA(UsdGeom.Xformable):
            raise InputError(
                f"cannot insert {file.name}: its prim {prim_path} is a {prim.GetTypeName() or 'typeless prim'}, "
                "not something that can be moved (an Xform or a mesh)"
            )
        Usd.ModelAPI(prim).SetKind(Kind.Tokens.component)
        conversion = np.eye(4)
        conversion[:3, :3] = factor * up_rotation(up_axis)
        handle = ObjectHandle(self, target)
        handle.set_world_from_local(conversion @ handle.get_world_from_local())

    def _copied_in(self, file: Path, name: str) -> Path:
        """``file`` if it lies in the scene's folder, else its copy in ``assets/`` (a USDZ package
        of it and its dependencies)."""
        from pxr import UsdUtils

        folder = self.folder.resolve()
        if file.resolve().is_relative_to(folder):
            return file
        assets = folder / "assets"
        assets.mkdir(exist_ok=True)
        packaged = assets / f"{name}.usdz"
        if file.suffix.lower() == ".usdz":
            shutil.copyfile(file, packaged)
        elif not UsdUtils.CreateNewUsdzPackage(Sdf.AssetPath(str(file.resolve())), str(packaged)):
            raise InputError(f"cannot insert {file.name}: USD could not package it (and its files) into the scene's folder")
        return packaged

    def _ground_point(self) -> np.ndarray:
        """Where the plate camera's first frame looks at the ground plane (its optical axis
        meets y = 0); in front of the camera at 2 m when the axis misses the ground nearby."""
        up = self._up_index
        prim = self._stage.GetPrimAtPath(DEFAULT_CAMERA_PATH)
        if not prim.IsA(UsdGeom.Camera):
            return np.zeros(3)
        frames = prim.GetAttribute(ATTR_FRAME_NUMBERS)
        numbers = frames.Get() if frames.IsValid() else None
        first = float(numbers[0]) if numbers else self._stage.GetStartTimeCode()
        camera = UsdGeom.Camera(prim)
        world_from_usdcam = transform_from_gf(camera.ComputeLocalToWorldTransform(Usd.TimeCode(first)))
        origin = world_from_usdcam[:3, 3]
        forward = -world_from_usdcam[:3, 2]  # USD cameras look down -Z
        forward = forward / max(np.linalg.norm(forward), 1e-12)
        far = camera.GetClippingRangeAttr().Get(Usd.TimeCode(first))
        far = float(far[1]) if far is not None else math.inf
        if abs(forward[up]) > 1e-9:
            distance = -origin[up] / forward[up]
            if 0 < distance <= far:
                point = origin + distance * forward
                point[up] = 0.0
                return point
        horizontal = forward.copy()
        horizontal[up] = 0.0
        norm = np.linalg.norm(horizontal)
        horizontal = horizontal / norm if norm > 1e-9 else np.zeros(3)
        point = origin + horizontal * (_FALLBACK_GROUND_DISTANCE_M / self.meters_per_unit)
        point[up] = 0.0
        return point

    # lights --------------------------------------------------------------------------------

    def add_light(
        self,
        name: str,
        kind: str = "distant",
        *,
        intensity: float = 1.0,
        color: Sequence[float] = (1.0, 1.0, 1.0),
        exposure: float = 0.0,
        world_from_local: np.ndarray | None = None,
    ) -> LightHandle:
        """Add a UsdLux light at ``/World/Lights/<name>`` and return its handle.

        Args:
            name: a valid prim name not used by another light.
            kind: ``"distant"`` (sun-like, shining along its local -Z), ``"sphere"`` or ``"dome"``.
            intensity: UsdLux ``inputs:intensity`` (≥ 0).
            color: linear RGB (3 numbers ≥ 0).
            exposure: ``inputs:exposure`` in stops.
            world_from_local: 4×4 placement (column vectors); identity when None.

        Raises:
            InputError: a bad argument or a taken name; nothing is changed then.
        """
        check_name(name, "light")
        if kind not in ("distant", "sphere", "dome"):
            raise InputError(f"kind must be 'distant', 'sphere' or 'dome', got {kind!r}")
        intensity = check_number(intensity, "intensity")
        if intensity < 0:
            raise InputError(f"intensity must be ≥ 0, got {intensity}")
        rgb = check_color(color, "color")
        exposure = check_number(exposure, "exposure")
        matrix = None if world_from_local is None else check_matrix(world_from_local, "world_from_local")
        path = Sdf.Path(LIGHTS_PATH).AppendChild(name)
        if self._stage.GetPrimAtPath(path).IsValid():
            raise InputError(f"light name {name!r} is taken (by {path}); pick another name")
        with self._recording(f"add {kind} light {name}"):
            prim = define_light(self, name, kind)
            light = UsdLux.LightAPI(prim)
            light.CreateIntensityAttr().Set(intensity)
            light.CreateColorAttr().Set(Gf.Vec3f(*rgb.tolist()))
            light.CreateExposureAttr().Set(exposure)
            handle = LightHandle(self, path)
            if matrix is not None:
                handle.set_world_from_local(matrix)
        return handle

    # internals for handles -------------------------------------------------------------------

    def _reconstruction_asset(self) -> str:
        """The reconstruction layer's path as the edits layer names it (for references)."""
        assert self._reconstruction is not None
        return asset_reference_path(Path(self._reconstruction.realPath), self.folder)


def _sceneforge_data(layer: Sdf.Layer) -> dict[str, Any]:
    return dict(layer.customLayerData.get(LAYER_DATA_KEY, {}))


def _units_edit(edits: Sdf.Layer) -> dict[str, Any] | None:
    """The units an edits layer sets (:meth:`Scene.set_meters_per_unit`), or None."""
    units = _sceneforge_data(edits).get("units")
    if not units:
        return None
    units = dict(units)
    return {"meters_per_unit": float(units["metersPerUnit"]), "metric": bool(units.get("metric", True)), "how": str(units.get("how", ""))}
