"""Textured meshes in the USD scene: author them (with a UsdPreviewSurface material and a PNG
texture beside the layer) and read every mesh of a stage back for rendering.

What :func:`author_mesh` writes for a textured mesh at ``/World/Background``::

    /World/Background                  Mesh: points, faceVertexCounts/Indices, normals (vertex),
                                       primvars:st (texCoord2f[], vertex), extent,
                                       subdivisionScheme none, orientation rightHanded;
                                       material:binding → /World/Looks/Background
    /World/Looks                       Scope
    /World/Looks/Background            its UsdPreviewSurface material (see _materials.py), reading
                                       the texture ./textures/Background.png (see _png.py)

Texture orientation. USD's ``st`` has (0, 0) at the bottom-left of the image, as our
:class:`TexturedMesh` ``uv`` does (v up, row 0 of the texture = the image's top = v 1), so
``uv`` is written as it is and the PNG rows in their order. A mesh without a texture gets its
``vertex_colors`` as ``primvars:displayColor`` (linear RGB, as the schema wants) and a
material that reads that primvar.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pxr import Sdf, Tf, Usd, UsdGeom, UsdShade, Vt

from ..types import DependencyError, InputError, SceneFileError, TexturedMesh
from ._asset_policy import checked_asset, scene_root
from ._convert import linear_to_srgb, srgb_to_linear, transform_from_gf
from ._materials import material_info, textured_material, vertex_colour_material
from ._png import png_size, read_image, write_png
from ._schema import LOOKS_NAME, TEXTURE_FOLDER
from ._stage import as_stage

__all__ = ["SceneMesh", "animated_mesh_paths", "author_mesh", "mesh_summary", "read_scene_meshes"]

log = logging.getLogger(__name__)

_GREY = 128


def author_mesh(
    stage: Usd.Stage,
    path: str,
    mesh: TexturedMesh,
    *,
    folder: str | Path,
    name: str | None = None,
    kind: str | None = None,
) -> UsdGeom.Mesh:
    """Define a ``UsdGeom.Mesh`` at ``path`` with ``mesh``, its material and its texture file.

    The mesh's coordinates are the prim's local frame (the caller's parent transforms place
    it). A texture is written as ``<folder>/textures/<name>.png`` (atomically, before this
    returns) and referenced as ``./textures/<name>.png``, relative to the layer being
    authored, which must be saved in ``folder``. The material goes to
    ``/<root>/Looks/<name>`` (``/World/Looks/<name>`` in a SceneForge scene) and is bound to
    the mesh with ``UsdShade.MaterialBindingAPI``.

    Args:
        stage: the stage to author into (its edit target).
        path: absolute prim path of the mesh, e.g. ``/World/Background``.
        mesh: the mesh; ``uv`` + ``texture`` give a textured material, ``vertex_colors``
            alone a ``displayColor`` primvar and a material reading it.
        folder: the folder the authored layer is (or will be) saved in.
        name: material and texture name; the prim's name when None.
        kind: model kind to set on the prim (e.g. ``"component"``), or None.

    Returns:
        The authored mesh schema.

    Raises:
        InputError: ``path`` is not an absolute prim path or ``mesh`` is not a TexturedMesh.
        SceneFileError: the texture cannot be written.
    """
    if not isinstance(mesh, TexturedMesh):
        raise InputError(f"mesh must be a TexturedMesh, got {type(mesh).__name__}")
    if not (isinstance(path, str) and Sdf.Path.IsValidPathString(path) and Sdf.Path(path).IsAbsolutePath() and Sdf.Path(path).IsPrimPath()):
        raise InputError(f"path must be an absolute prim path such as /World/Background, got {path!r}")
    prim_path = Sdf.Path(path)
    label = Tf.MakeValidIdentifier(name or prim_path.name)

    geom = UsdGeom.Mesh.Define(stage, prim_path)
    points = mesh.vertices.astype(np.float32)
    geom.CreatePointsAttr(Vt.Vec3fArray.FromNumpy(points))
    geom.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(mesh.num_faces, 3, dtype=np.int32)))
    geom.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(np.ascontiguousarray(mesh.faces.reshape(-1), dtype=np.int32)))
    geom.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    geom.CreateOrientationAttr(UsdGeom.Tokens.rightHanded)
    if mesh.num_vertices:
        extent = np.stack([points.min(axis=0), points.max(axis=0)])
    else:
        extent = np.zeros((2, 3), dtype=np.float32)
    geom.CreateExtentAttr(Vt.Vec3fArray.FromNumpy(extent))
    if mesh.normals is not None:
        geom.CreateNormalsAttr(Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(mesh.normals)))
        geom.SetNormalsInterpolation(UsdGeom.Tokens.vertex)
    primvars = UsdGeom.PrimvarsAPI(geom.GetPrim())
    if mesh.uv is not None:
        st = primvars.CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.vertex)
        st.Set(Vt.Vec2fArray.FromNumpy(np.ascontiguousarray(mesh.uv)))
    if mesh.vertex_colors is not None:
        linear = srgb_to_linear(mesh.vertex_colors.astype(np.float64) / 255.0).astype(np.float32)
        geom.CreateDisplayColorPrimvar(UsdGeom.Tokens.vertex).Set(Vt.Vec3fArray.FromNumpy(linear))
    if kind is not None:
        Usd.ModelAPI(geom.GetPrim()).SetKind(kind)

    root = prim_path.GetPrefixes()[0]
    looks = root.AppendChild(LOOKS_NAME)
    if not stage.GetPrimAtPath(looks).IsValid():
        UsdGeom.Scope.Define(stage, looks)
    material_path = looks.AppendChild(label)
    if mesh.texture is not None:
        relative = f"./{TEXTURE_FOLDER}/{label}.png"
        write_png(Path(folder) / TEXTURE_FOLDER / f"{label}.png", mesh.texture)
        material = textured_material(stage, material_path, relative)
    elif mesh.vertex_colors is not None:
        material = vertex_colour_material(stage, material_path)
    else:
        material = None
    if material is not None:
        binding = UsdShade.MaterialBindingAPI.Apply(geom.GetPrim())
        binding.Bind(material)
    return geom


# ----------------------------------------------------------------------------------------
# Reading


@dataclass(frozen=True, eq=False)
class SceneMesh:
    """One mesh of a composed stage, ready to draw.

    Attributes:
        prim_path: the mesh prim's path, e.g. ``/World/Background``.
        name: the prim's name.
        world_from_local: 4×4 float64 local-to-world transform at the time read (column
            vectors; may hold scale), in the stage's world (SceneForge: +Y up).
        mesh: triangles in the prim's local frame; ``uv`` and ``texture`` when the bound
            material has a readable UsdUVTexture on its diffuse colour, ``vertex_colors``
            from ``displayColor`` (or the material's constant colour, or grey) otherwise.
        texture_file: the resolved path of the texture that was loaded, or None.
    """

    prim_path: str
    name: str
    world_from_local: np.ndarray
    mesh: TexturedMesh
    texture_file: str | None = None


def read_scene_meshes(
    path_or_stage: str | Path | Usd.Stage, *, time: float | None = None, under: Sequence[str] | None = None
) -> list[SceneMesh]:
    """Every visible mesh of the composed stage (edits applied), triangulated, with its texture.

    Meshes that are invisible, have ``guide`` or ``proxy`` purpose, or have no faces are
    skipped; instance proxies are included. Polygons are fan-triangulated (holes dropped),
    left-handed meshes have their winding flipped, and face-varying or uniform primvars
    split vertices where their values differ, so every output attribute is per vertex.

    Args:
        path_or_stage: a scene file or folder, an open stage, or any USD file.
        time: the time code to read at; None for the earliest authored one.
        under: read only the meshes at or below these prim paths (None: the whole stage).

    Raises:
        SceneFileError: the stage cannot be opened, or a mesh's topology is broken.
    """
    stage = as_stage(path_or_stage, require_world=False)
    when = Usd.TimeCode.EarliestTime() if time is None else Usd.TimeCode(float(time))
    roots = [stage.GetPseudoRoot()] if under is None else [stage.GetPrimAtPath(p) for p in under]
    out = []
    for root in roots:
        if root.IsValid():
            out += _read_meshes_below(root, when)
    return out


def animated_mesh_paths(path_or_stage: str | Path | Usd.Stage) -> list[str]:
    """Prim paths of the meshes whose shape, holes, placement, visibility or texture changes over time
    (a moving object's layer, an animated edit): a renderer reads these again every frame.

    Raises:
        SceneFileError: the stage cannot be opened.
    """
    stage = as_stage(path_or_stage, require_world=False)
    out = []
    for prim in Usd.PrimRange(stage.GetPseudoRoot(), Usd.TraverseInstanceProxies(Usd.PrimDefaultPredicate)):
        if prim.IsA(UsdGeom.Mesh) and _changes_over_time(prim):
            out.append(str(prim.GetPath()))
    return out


def _changes_over_time(mesh: Usd.Prim) -> bool:
    geom = UsdGeom.Mesh(mesh)
    if any(attr.ValueMightBeTimeVarying() for attr in (geom.GetPointsAttr(), geom.GetFaceVertexIndicesAttr(), geom.GetHoleIndicesAttr())):
        return True
    prim = mesh
    while prim.IsValid() and not prim.IsPseudoRoot():
        if prim.IsA(UsdGeom.Imageable) and UsdGeom.Imageable(prim).GetVisibilityAttr().ValueMightBeTimeVarying():
            return True
        if prim.IsA(UsdGeom.Xformable) and UsdGeom.Xformable(prim).TransformMightBeTimeVarying():
            return True
        prim = prim.GetParent()
    material = UsdShade.MaterialBindingAPI(mesh).ComputeBoundMaterial()[0]
    if material:
        for shader in Usd.PrimRange(material.GetPrim()):
            attr = shader.GetAttribute("inputs:file")
            if attr and attr.ValueMightBeTimeVarying():
                return True
    return False


def _read_meshes_below(root: Usd.Prim, when: Usd.TimeCode) -> list[SceneMesh]:
    out = []
    iterator = iter(Usd.PrimRange(root, Usd.TraverseInstanceProxies(Usd.PrimDefaultPredicate)))
    for prim in iterator:
        if not prim.IsA(UsdGeom.Imageable):
            continue
        imageable = UsdGeom.Imageable(prim)
        if imageable.ComputeVisibility(when) == UsdGeom.Tokens.invisible or imageable.ComputePurpose() in (
            UsdGeom.Tokens.guide,
            UsdGeom.Tokens.proxy,
        ):
            iterator.PruneChildren()
            continue
        if not prim.IsA(UsdGeom.Mesh):
            continue
        iterator.PruneChildren()
        scene_mesh = _read_mesh(prim, when)
        if scene_mesh is not None:
            out.append(scene_mesh)
    return out


def _read_mesh(prim: Usd.Prim, when: Usd.TimeCode) -> SceneMesh | None:
    geom = UsdGeom.Mesh(prim)
    where = str(prim.GetPath())
    points = geom.GetPointsAttr().Get(when)
    counts = geom.GetFaceVertexCountsAttr().Get(when)
    indices = geom.GetFaceVertexIndicesAttr().Get(when)
    if points is None or counts is None or indices is None or len(counts) == 0:
        log.debug("%s: no faces, skipped", where)
        return None
    vertices = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    counts = np.asarray(counts, dtype=np.int64)
    indices = np.asarray(indices, dtype=np.int64)
    if counts.sum() != indices.size or np.any(counts < 0) or (indices.size and (indices.min() < 0 or indices.max() >= len(vertices))):
        raise SceneFileError(
            f"expected consistent mesh topology at {where}, got {counts.sum()} corners counted for "
            f"{indices.size} indices over {len(vertices)} points; re-export the mesh"
        )
    holes = geom.GetHoleIndicesAttr().Get(when)
    corners, tri_face = _fan_triangles(counts, set() if holes is None else {int(h) for h in holes})
    if geom.GetOrientationAttr().Get(when) == UsdGeom.Tokens.leftHanded:
        corners = corners[:, ::-1]
    if corners.shape[0] == 0:
        return None

    look = material_info(prim, when)
    primvars = UsdGeom.PrimvarsAPI(prim)
    channels: dict[str, tuple[np.ndarray, str]] = {}
    st_name = look.get("varname") or "st"
    st = primvars.GetPrimvar(st_name)
    if not (st and st.HasValue()):
        st = next((p for p in primvars.GetPrimvarsWithValues() if p.GetTypeName() == Sdf.ValueTypeNames.TexCoord2fArray), None)
    texture, texture_file = None, None
    if st is not None and look.get("file"):
        values = _primvar_values(st, when, 2, counts, len(vertices), where)
        if values is not None:
            checked_asset(look["file"], scene_root(prim.GetStage()), what="texture")  # untrusted scenes: refused, not skipped
            try:
                texture = read_image(look["file"])
                texture_file = look["file"]
                channels["uv"] = values
            except (SceneFileError, DependencyError) as exc:
                log.warning("%s: texture not loaded (%s)", where, exc)
    display = primvars.GetPrimvar("displayColor")
    if display and display.HasValue():
        values = _primvar_values(display, when, 3, counts, len(vertices), where)
        if values is not None:
            channels["color"] = values
    if "color" not in channels and texture is None:
        constant = look.get("color")
        rgb = srgb_to_linear(np.full(3, _GREY / 255.0)) if constant is None else np.asarray(constant, dtype=np.float64)
        channels["color"] = (rgb.reshape(1, 3), UsdGeom.Tokens.constant)
    normals_pv = primvars.GetPrimvar("normals")
    if normals_pv and normals_pv.HasValue():
        normal_values = _primvar_values(normals_pv, when, 3, counts, len(vertices), where)
    else:
        raw = geom.GetNormalsAttr().Get(when)
        normal_values = None
        if raw is not None and len(raw):
            normal_values = _checked(np.asarray(raw, dtype=np.float64).reshape(-1, 3), geom.GetNormalsInterpolation(), counts, len(vertices), where, "normals")
    if normal_values is not None:
        channels["normal"] = normal_values

    if all(interp in _PER_POINT for _, interp in channels.values()):
        # Every attribute is per point already (what author_mesh writes): no welding.
        vertex_of = np.arange(len(vertices))
        faces = indices[corners]
        per_vertex = {
            name: np.broadcast_to(values[0], (len(vertices), values.shape[1])) if interp == UsdGeom.Tokens.constant else values[: len(vertices)]
            for name, (values, interp) in channels.items()
        }
    else:
        spread = {name: _spread(values, interp, indices, corners, tri_face) for name, (values, interp) in channels.items()}
        vertex_of, faces, per_vertex = _weld(indices[corners], spread)
    normals = None
    if "normal" in per_vertex:
        n = per_vertex["normal"]
        length = np.linalg.norm(n, axis=1, keepdims=True)
        if np.all(length > 0):
            normals = (n / length).astype(np.float32)
    colors = None
    if "color" in per_vertex:
        colors = np.clip(np.rint(linear_to_srgb(per_vertex["color"]) * 255.0), 0, 255).astype(np.uint8)
    uv = np.ascontiguousarray(per_vertex["uv"], dtype=np.float32) if "uv" in per_vertex else None
    mesh = TexturedMesh(
        vertices=vertices[vertex_of],
        faces=faces.astype(np.int32),
        uv=uv,
        texture=texture if uv is not None else None,
        vertex_colors=colors,
        normals=normals,
    )
    world_from_local = transform_from_gf(geom.ComputeLocalToWorldTransform(when))
    return SceneMesh(
        prim_path=where, name=prim.GetName(), world_from_local=world_from_local, mesh=mesh, texture_file=texture_file
    )


_PER_POINT = (UsdGeom.Tokens.vertex, UsdGeom.Tokens.varying, UsdGeom.Tokens.constant)


def _fan_triangles(counts: np.ndarray, holes: set[int]) -> tuple[np.ndarray, np.ndarray]:
    """(T×3 int64 positions in faceVertexIndices, T int64 source face) of a fan triangulation."""
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    per_face = np.maximum(counts - 2, 0)
    if holes:
        per_face[np.fromiter(holes, dtype=np.int64, count=len(holes)).clip(0, len(counts) - 1)] = 0
    face = np.repeat(np.arange(len(counts)), per_face)
    k = np.arange(face.size) - np.repeat(np.cumsum(per_face) - per_face, per_face)
    base = offsets[face]
    return np.column_stack([base, base + k + 1, base + k + 2]), face


def _primvar_values(
    primvar: UsdGeom.Primvar, when: Usd.TimeCode, width: int, counts: np.ndarray, num_points: int, where: str
) -> tuple[np.ndarray, str] | None:
    """(N×width float64 flattened values, interpolation) of a primvar, or None if unusable."""
    values = primvar.ComputeFlattened(when)
    if values is None:
        return None
    flat = np.asarray(values, dtype=np.float64).reshape(-1, width)
    return _checked(flat, primvar.GetInterpolation(), counts, num_points, where, primvar.GetPrimvarName())


def _checked(
    values: np.ndarray, interpolation: str, counts: np.ndarray, num_points: int, where: str, name: str
) -> tuple[np.ndarray, str] | None:
    """``(values, interpolation)`` when there are enough values for the interpolation, else None."""
    expected = {
        UsdGeom.Tokens.constant: 1,
        UsdGeom.Tokens.uniform: len(counts),
        UsdGeom.Tokens.vertex: num_points,
        UsdGeom.Tokens.varying: num_points,
        UsdGeom.Tokens.faceVarying: int(counts.sum()),
    }.get(interpolation)
    if expected is None or len(values) < expected:
        log.warning("%s: primvar %s has %d values for %s interpolation; ignored", where, name, len(values), interpolation)
        return None
    return values, interpolation


def _spread(values: np.ndarray, interpolation: str, indices: np.ndarray, corners: np.ndarray, tri_face: np.ndarray) -> np.ndarray:
    """T×3×C values at each triangle corner."""
    if interpolation == UsdGeom.Tokens.constant:
        return np.broadcast_to(values[0], corners.shape + values.shape[1:])
    if interpolation == UsdGeom.Tokens.uniform:
        return np.broadcast_to(values[tri_face][:, None, :], corners.shape + values.shape[1:])
    if interpolation == UsdGeom.Tokens.faceVarying:
        return values[corners]
    return values[indices[corners]]


def _weld(corner_vertex: np.ndarray, channels: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Merge triangle corners that share a point and every channel's value.

    Returns (V' int64 source point of each vertex, T×3 faces, channel → V'×C values).
    """
    keys = [corner_vertex.reshape(-1, 1).astype(np.float64)]
    names = []
    for name, values in channels.items():
        names.append((name, values.shape[-1]))
        keys.append(np.asarray(values, dtype=np.float64).reshape(-1, values.shape[-1]))
    table = np.concatenate(keys, axis=1)
    unique, inverse = np.unique(table, axis=0, return_inverse=True)
    vertex_of = unique[:, 0].astype(np.int64)
    faces = inverse.reshape(-1, 3)
    per_vertex, column = {}, 1
    for name, width in names:
        per_vertex[name] = unique[:, column : column + width]
        column += width
    return vertex_of, faces, per_vertex


# ----------------------------------------------------------------------------------------
# Summary


def mesh_summary(stage: Usd.Stage, path: str) -> dict[str, Any] | None:
    """``{"prim", "faces", "vertices", "texture_size"}`` of the mesh at ``path`` without
    loading its texture (``texture_size`` is [width, height] or None); None when absent."""
    prim = stage.GetPrimAtPath(path)
    if not prim.IsValid() or not prim.IsA(UsdGeom.Mesh):
        return None
    geom = UsdGeom.Mesh(prim)
    counts = geom.GetFaceVertexCountsAttr().Get()
    points = geom.GetPointsAttr().Get()
    info = material_info(prim, Usd.TimeCode.EarliestTime())
    size = png_size(Path(info["file"])) if info.get("file") else None
    return {
        "prim": path,
        "faces": 0 if counts is None else len(counts),
        "vertices": 0 if points is None else len(points),
        "texture_size": None if size is None else list(size),
    }
