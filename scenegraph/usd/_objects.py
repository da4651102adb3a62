"""Object layers: one tracked object of the shot, lifted into its own mesh, in the USD scene.

A static object is one fused, textured mesh in its own local frame; the anchor transform on
its Xform places it, so moving it is one transform edit. A moving object is a time-varying
2.5D layer: one topology whose points are time-sampled at the source frame numbers, with a
texture per frame. What :func:`author_object_layer` writes for an object ``crate``::

    /World/Objects                       Xform, kind group
    /World/Objects/crate                 Xform, kind component; xformOp:transform = world_from_local
                                         (not time-sampled); custom attributes
                                         sceneforge:instanceId (int), sceneforge:static (bool),
                                         sceneforge:maskQuality (float), sceneforge:framesVisible (int),
                                         sceneforge:frameRange (int2: first, last source frame),
                                         sceneforge:size (double3, scene units, local axes)
    /World/Objects/crate/crate_mesh      Mesh in the local frame (author_mesh; Blender names the
                                         imported object after this prim)
    /World/Looks/crate_mesh              its UsdPreviewSurface material, texture
                                         ./textures/crate_mesh.png

and for a moving object ``ball`` the mesh ``/World/Objects/ball/ball_mesh`` additionally has
``points`` and ``extent`` (and, where the object's outline changes, ``holeIndices``: the
faces off that frame's mask) time-sampled at the source frame numbers of its track, ``visibility``
time-sampled (``inherited`` on the frames it is seen, ``invisible`` on the clip's other frames),
and the ``inputs:file`` of ``/World/Looks/ball_mesh/Texture`` time-sampled to
``./textures/ball/frame_%06d.png`` (one PNG per source frame; its default value is the first
frame's, for readers that ignore time). Visibility lives on the mesh, not the Xform, so an edit
that shows or hides the object (on the Xform) composes with the track's own visibility.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pxr import Gf, Kind, Sdf, Tf, Usd, UsdGeom, UsdShade, Vt

from ..types import InputError, TexturedMesh, check_array, check_rigid
from ._convert import gf_from_transform
from ._materials import textured_material
from ._meshes import author_mesh
from ._png import write_png
from ._schema import (
    ATTR_FRAME_RANGE,
    ATTR_FRAMES_VISIBLE,
    ATTR_INSTANCE_ID,
    ATTR_MASK_QUALITY,
    ATTR_SIZE,
    ATTR_STATIC,
    LOOKS_NAME,
    OBJECTS_PATH,
    TEXTURE_FOLDER,
)
from ._stage import as_stage

__all__ = ["ObjectLayer", "author_object_layer", "check_object_layers", "read_object_layers"]

log = logging.getLogger(__name__)

_STATS_KEYS = ("frames_visible", "first_frame", "last_frame", "mask_quality_mean", "size")


@dataclass(frozen=True, eq=False)
class ObjectLayer:
    """One object of the shot, lifted into a mesh in its own local frame.

    Attributes:
        name: a valid USD identifier (letters, digits, ``_``; not starting with a digit), the
            prim name under ``/World/Objects``.
        instance_id: ≥ 1, the object's value in the per-frame instance maps (0 = background).
        static: True for a static object (one mesh, placed by the anchor), False for a moving one.
        world_from_local: 4×4 float64 rigid anchor (column vectors). For a static object the
            local frame sits at the bottom centre of its world bounding box, axes parallel to the
            world's (+Y up), so moving the object is one edit of this transform.
        mesh: the mesh in **local** coordinates (scene units). Static: the fused textured mesh.
            Moving: the shared topology (``faces``, ``uv``) with the vertices of the first
            frame in ``frame_numbers`` (``vertices_per_frame[0]``); its ``texture`` is that
            frame's texture when ``textures_per_frame`` is given.
        frame_numbers: moving objects: T int64 source frame numbers (strictly increasing) on
            which the object is seen and has a surface; None for a static object.
        vertices_per_frame: moving objects: T×V×3 float32 local vertices per frame, one
            topology (``V = mesh.num_vertices``); None for a static object.
        textures_per_frame: moving objects: T×h×w×3 uint8 RGB texture per frame (row 0 = top,
            v = 1; mapped by ``mesh.uv``), or None.
        hidden_faces_per_frame: moving objects: T×F bool, the faces not drawn on each frame
            (authored as time-sampled ``holeIndices``), so that one topology takes each
            frame's outline of the object; or None (every face drawn on every frame).
        stats: ``frames_visible`` (int), ``first_frame`` / ``last_frame`` (source frame numbers
            of the first and last frame the object is seen on, or None), ``mask_quality_mean``
            (float in 0..1 or None), ``size`` (3 floats: extent of the local bounding box in scene
            units along local x, y, z). Missing entries are filled from the mesh and frames;
            other entries are kept.
    """

    name: str
    instance_id: int
    static: bool
    world_from_local: np.ndarray
    mesh: TexturedMesh
    frame_numbers: np.ndarray | None = None
    vertices_per_frame: np.ndarray | None = None
    textures_per_frame: np.ndarray | None = None
    hidden_faces_per_frame: np.ndarray | None = None
    stats: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not Tf.IsValidIdentifier(self.name):
            raise InputError(
                f"name must be a valid USD identifier (letters, digits, _; no leading digit), got {self.name!r}; "
                "pass e.g. 'crate' or 'object_01'"
            )
        if isinstance(self.instance_id, (bool, np.bool_)) or int(self.instance_id) != self.instance_id or self.instance_id < 1:
            raise InputError(f"instance_id must be an integer ≥ 1 (0 is the background), got {self.instance_id!r}")
        if not isinstance(self.static, (bool, np.bool_)):
            raise InputError(f"static must be True or False, got {self.static!r}")
        anchor = check_rigid(self.world_from_local, "world_from_local")
        if not isinstance(self.mesh, TexturedMesh):
            raise InputError(f"mesh must be a TexturedMesh, got {type(self.mesh).__name__}")
        if self.mesh.num_faces == 0:
            raise InputError(f"object {self.name!r} must have a mesh with faces, got none")
        object.__setattr__(self, "instance_id", int(self.instance_id))
        object.__setattr__(self, "static", bool(self.static))
        object.__setattr__(self, "world_from_local", np.asarray(anchor, dtype=np.float64))
        if self.static:
            if any(v is not None for v in (self.frame_numbers, self.vertices_per_frame, self.textures_per_frame,
                                            self.hidden_faces_per_frame)):
                raise InputError(
                    f"static object {self.name!r} must not have frame_numbers, vertices_per_frame, textures_per_frame "
                    "or hidden_faces_per_frame; "
                    "pass static=False for a moving object"
                )
        else:
            self._check_moving()
        object.__setattr__(self, "stats", self._normalised_stats())

    def _check_moving(self) -> None:
        if self.frame_numbers is None or self.vertices_per_frame is None:
            raise InputError(f"moving object {self.name!r} needs frame_numbers and vertices_per_frame, got None")
        numbers = check_array(self.frame_numbers, "frame_numbers", shape=(None,), dtype=(np.int64, np.int32))
        count = numbers.shape[0]
        if count == 0 or (count > 1 and not np.all(np.diff(numbers) > 0)):
            raise InputError(f"frame_numbers must be ≥ 1 strictly increasing source frame numbers, got {numbers[:5]}")
        check_array(
            self.vertices_per_frame, "vertices_per_frame", shape=(count, self.mesh.num_vertices, 3), dtype=np.float32,
            finite=True, hint="one frame of local vertices per frame number, on the mesh's topology",
        )
        if self.textures_per_frame is not None:
            check_array(self.textures_per_frame, "textures_per_frame", shape=(count, None, None, 3), dtype=np.uint8)
            if self.mesh.uv is None:
                raise InputError(f"moving object {self.name!r} has textures_per_frame but its mesh has no uv; pass uv")
        if self.hidden_faces_per_frame is not None:
            hidden = check_array(self.hidden_faces_per_frame, "hidden_faces_per_frame", shape=(count, self.mesh.num_faces), dtype=bool)
            if hidden.all(axis=1).any():
                raise InputError(f"moving object {self.name!r} hides every face on some frame; leave that frame out instead")
        object.__setattr__(self, "frame_numbers", numbers.astype(np.int64))

    def _normalised_stats(self) -> dict[str, Any]:
        if not isinstance(self.stats, Mapping):
            raise InputError(f"stats must be a mapping, got {type(self.stats).__name__}")
        out = dict(self.stats)
        if self.static:
            bounds = self.mesh.bounds()
            size = bounds[1] - bounds[0]
            frames_visible, first, last = 0, None, None
        else:
            low, high = self.vertices_per_frame.min(axis=1), self.vertices_per_frame.max(axis=1)
            size = np.median(high - low, axis=0)
            frames_visible, first, last = len(self.frame_numbers), int(self.frame_numbers[0]), int(self.frame_numbers[-1])
        out.setdefault("frames_visible", frames_visible)
        out.setdefault("first_frame", first)
        out.setdefault("last_frame", last)
        out.setdefault("mask_quality_mean", None)
        out.setdefault("size", [float(s) for s in size])
        if int(out["frames_visible"]) != out["frames_visible"] or out["frames_visible"] < 0:
            raise InputError(f"stats['frames_visible'] must be a count ≥ 0, got {out['frames_visible']!r}")
        out["frames_visible"] = int(out["frames_visible"])
        for key in ("first_frame", "last_frame"):
            if out[key] is not None:
                out[key] = int(out[key])
        quality = out["mask_quality_mean"]
        if quality is not None:
            quality = float(quality)
            out["mask_quality_mean"] = None if math.isnan(quality) else quality
        size = np.asarray(out["size"], dtype=np.float64).reshape(-1)
        if size.shape != (3,) or not np.all(np.isfinite(size)) or np.any(size < 0):
            raise InputError(f"stats['size'] must be 3 finite lengths ≥ 0 (scene units), got {out['size']!r}")
        out["size"] = [float(s) for s in size]
        return out

    @property
    def mesh_name(self) -> str:
        """The mesh prim's name under the object's Xform, ``<name>_mesh``."""
        return f"{self.name}_mesh"


# ----------------------------------------------------------------------------------------
# Writing


def check_object_layers(objects: Sequence[ObjectLayer], frame_numbers: np.ndarray) -> list[ObjectLayer]:
    """``objects`` as a list, checked: ObjectLayers with distinct names and instance ids, the
    moving ones seen only on frames of the clip (``frame_numbers``).

    Raises:
        InputError: anything else.
    """
    if isinstance(objects, ObjectLayer) or not isinstance(objects, Sequence):
        raise InputError(f"objects must be a sequence of ObjectLayer, got {type(objects).__name__}")
    out = list(objects)
    names, ids = set(), set()
    clip = set(int(n) for n in frame_numbers)
    for layer in out:
        if not isinstance(layer, ObjectLayer):
            raise InputError(f"objects must be ObjectLayer values, got a {type(layer).__name__}")
        if layer.name in names:
            raise InputError(f"object names must be unique, got {layer.name!r} twice; rename one")
        if layer.instance_id in ids:
            raise InputError(f"object instance ids must be unique, got {layer.instance_id} twice")
        names.add(layer.name)
        ids.add(layer.instance_id)
        if not layer.static:
            outside = [int(n) for n in layer.frame_numbers if int(n) not in clip]
            if outside:
                raise InputError(
                    f"object {layer.name!r} is seen on frame {outside[0]}, which is not a frame of the camera track; "
                    "lift it from the same frames the track was solved on"
                )
    return out


def author_object_layer(
    stage: Usd.Stage,
    layer: ObjectLayer,
    *,
    folder: str | Path,
    clip_frame_numbers: Sequence[int] | np.ndarray | None = None,
) -> UsdGeom.Xform:
    """Author ``layer`` as ``/World/Objects/<name>`` (see the module docstring for the layout).

    Textures are written under ``<folder>/textures/`` (atomically, before this returns) and
    referenced relative to the layer being authored, which must be saved in ``folder``.

    Args:
        stage: the stage to author into (its edit target), with a ``/World`` prim.
        layer: the object.
        folder: the folder the authored layer is (or will be) saved in.
        clip_frame_numbers: the clip's source frame numbers; a moving object is made invisible
            on those it is not seen on. None: every whole frame number between the object's
            first and last frame that it is not seen on, and the frames just outside them.

    Returns:
        The object's Xform.

    Raises:
        InputError: ``layer`` is not an ObjectLayer.
        SceneFileError: a texture cannot be written.
    """
    if not isinstance(layer, ObjectLayer):
        raise InputError(f"layer must be an ObjectLayer, got {type(layer).__name__}")
    group = stage.GetPrimAtPath(OBJECTS_PATH)
    if not group.IsValid():
        group = UsdGeom.Xform.Define(stage, OBJECTS_PATH).GetPrim()
        # /World is an assembly: a group keeps the objects (components) in the model hierarchy.
        Usd.ModelAPI(group).SetKind(Kind.Tokens.group)
    path = Sdf.Path(OBJECTS_PATH).AppendChild(layer.name)
    xform = UsdGeom.Xform.Define(stage, path)
    prim = xform.GetPrim()
    Usd.ModelAPI(prim).SetKind(Kind.Tokens.component)
    xform.AddTransformOp().Set(gf_from_transform(layer.world_from_local))
    _author_stats(prim, layer)

    mesh_path = str(path.AppendChild(layer.mesh_name))
    if layer.static:
        author_mesh(stage, mesh_path, layer.mesh, folder=folder)
        return xform

    first = layer.vertices_per_frame[0].astype(np.float64)
    textured = layer.textures_per_frame is not None
    base = TexturedMesh(
        vertices=first,
        faces=layer.mesh.faces,
        uv=layer.mesh.uv,
        # Per-frame textures get their own time-sampled material below.
        texture=None if textured else layer.mesh.texture,
        vertex_colors=layer.mesh.vertex_colors,
        # Normals would have to be time-sampled too; renderers use facet normals instead.
        normals=None,
    )
    geom = author_mesh(stage, mesh_path, base, folder=folder)
    _author_motion(geom, layer)
    _author_visibility(geom, layer, clip_frame_numbers)
    if textured:
        _author_texture_sequence(stage, geom, layer, Path(folder))
    return xform


def _author_stats(prim: Usd.Prim, layer: ObjectLayer) -> None:
    stats = layer.stats
    prim.CreateAttribute(ATTR_INSTANCE_ID, Sdf.ValueTypeNames.Int, custom=True).Set(layer.instance_id)
    prim.CreateAttribute(ATTR_STATIC, Sdf.ValueTypeNames.Bool, custom=True).Set(layer.static)
    prim.CreateAttribute(ATTR_FRAMES_VISIBLE, Sdf.ValueTypeNames.Int, custom=True).Set(int(stats["frames_visible"]))
    if stats["mask_quality_mean"] is not None:
        prim.CreateAttribute(ATTR_MASK_QUALITY, Sdf.ValueTypeNames.Float, custom=True).Set(float(stats["mask_quality_mean"]))
    if stats["first_frame"] is not None and stats["last_frame"] is not None:
        prim.CreateAttribute(ATTR_FRAME_RANGE, Sdf.ValueTypeNames.Int2, custom=True).Set(
            Gf.Vec2i(int(stats["first_frame"]), int(stats["last_frame"]))
        )
    prim.CreateAttribute(ATTR_SIZE, Sdf.ValueTypeNames.Double3, custom=True).Set(Gf.Vec3d(*stats["size"]))


def _author_motion(geom: UsdGeom.Mesh, layer: ObjectLayer) -> None:
    points = geom.GetPointsAttr()
    extent = geom.GetExtentAttr()
    holes = geom.CreateHoleIndicesAttr() if layer.hidden_faces_per_frame is not None else None
    for k, (number, vertices) in enumerate(zip(layer.frame_numbers, layer.vertices_per_frame)):
        time = Usd.TimeCode(float(number))
        if holes is not None:
            hidden = layer.hidden_faces_per_frame[k]
            holes.Set(Vt.IntArray.FromNumpy(np.flatnonzero(hidden).astype(np.int32)), time)
            vertices_shown = vertices[np.unique(layer.mesh.faces[~hidden])]
        else:
            vertices_shown = vertices
        points.Set(Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(vertices)), time)
        extent.Set(Vt.Vec3fArray.FromNumpy(np.stack([vertices_shown.min(axis=0), vertices_shown.max(axis=0)])), time)


def _author_visibility(geom: UsdGeom.Mesh, layer: ObjectLayer, clip_frame_numbers: Sequence[int] | np.ndarray | None) -> None:
    seen = {int(n) for n in layer.frame_numbers}
    first, last = int(layer.frame_numbers[0]), int(layer.frame_numbers[-1])
    if clip_frame_numbers is None:
        others = set(range(first - 1, last + 2))
    else:
        others = {int(n) for n in np.asarray(clip_frame_numbers).reshape(-1)}
    attr = geom.CreateVisibilityAttr()
    # Tokens are held between samples (never interpolated): a frame's value lasts until the next.
    for number in sorted(seen | others):
        attr.Set(UsdGeom.Tokens.inherited if number in seen else UsdGeom.Tokens.invisible, Usd.TimeCode(float(number)))


def _author_texture_sequence(stage: Usd.Stage, geom: UsdGeom.Mesh, layer: ObjectLayer, folder: Path) -> None:
    assets = []
    for number, texture in zip(layer.frame_numbers, layer.textures_per_frame):
        relative = f"{TEXTURE_FOLDER}/{layer.name}/frame_{int(number):06d}.png"
        write_png(folder / relative, np.ascontiguousarray(texture))
        assets.append(f"./{relative}")
    root = geom.GetPath().GetPrefixes()[0]
    material_path = root.AppendChild(LOOKS_NAME).AppendChild(layer.mesh_name)
    material = textured_material(stage, material_path, assets[0])
    file_input = UsdShade.Shader(stage.GetPrimAtPath(material_path.AppendChild("Texture"))).GetInput("file")
    for number, asset in zip(layer.frame_numbers, assets):
        file_input.Set(Sdf.AssetPath(asset), Usd.TimeCode(float(number)))
    UsdShade.MaterialBindingAPI.Apply(geom.GetPrim()).Bind(material)


# ----------------------------------------------------------------------------------------
# Reading


def read_object_layers(path_or_stage: str | Path | Usd.Stage) -> list[dict[str, Any]]:
    """A summary of every object under ``/World/Objects`` of the composed stage (edits applied;
    removed objects left out), in stage order.

    Each entry: ``name``, ``prim`` (path), ``instance_id`` (int or None), ``static`` (bool, or
    None for an object SceneForge did not reconstruct, e.g. an inserted asset), ``frames_visible``
    (int or None), ``first_frame`` / ``last_frame`` (source frame numbers or None), ``size``
    (3 floats, scene units: the reconstructed local bounding box's extent, or the world-aligned
    bounding box's for objects without one) and ``mask_quality`` (mean mask quality, or None).

    Raises:
        SceneFileError: the stage cannot be opened.
    """
    stage = as_stage(path_or_stage, require_world=False)
    group = stage.GetPrimAtPath(OBJECTS_PATH)
    if not group.IsValid():
        return []
    out = []
    for prim in group.GetChildren():
        if not prim.IsA(UsdGeom.Xformable):
            continue
        frame_range = _value(prim, ATTR_FRAME_RANGE)
        size = _value(prim, ATTR_SIZE)
        if size is None:
            size = _world_size(prim)
        static = _value(prim, ATTR_STATIC)
        instance_id = _value(prim, ATTR_INSTANCE_ID)
        frames_visible = _value(prim, ATTR_FRAMES_VISIBLE)
        quality = _value(prim, ATTR_MASK_QUALITY)
        out.append(
            {
                "name": prim.GetName(),
                "prim": str(prim.GetPath()),
                "instance_id": None if instance_id is None else int(instance_id),
                "static": None if static is None else bool(static),
                "frames_visible": None if frames_visible is None else int(frames_visible),
                "first_frame": None if frame_range is None else int(frame_range[0]),
                "last_frame": None if frame_range is None else int(frame_range[1]),
                "size": None if size is None else [float(s) for s in size],
                "mask_quality": None if quality is None else float(quality),
            }
        )
    return out


def _value(prim: Usd.Prim, name: str) -> Any:
    attr = prim.GetAttribute(name)
    return attr.Get() if attr.IsValid() and attr.HasValue() else None


def _world_size(prim: Usd.Prim) -> list[float] | None:
    cache = UsdGeom.BBoxCache(Usd.TimeCode.EarliestTime(), [UsdGeom.Tokens.default_, UsdGeom.Tokens.render], useExtentsHint=True)
    box = cache.ComputeWorldBound(prim).ComputeAlignedRange()
    if box.IsEmpty():
        return None
    return [float(v) for v in box.GetSize()]
