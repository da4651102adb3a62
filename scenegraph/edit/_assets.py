"""External assets for :meth:`Scene.insert`: triangle meshes through trimesh, USD files by reference.

Units and axes, per format (what the formats say, else what most tools write):

==========  ==========================================  ================================
format      length unit                                 up axis
==========  ==========================================  ================================
glTF / GLB  metres (the glTF spec)                      +Y (the glTF spec)
OBJ / PLY   unknown: assumed metres                     unknown: assumed +Y
USD         the asset's ``metersPerUnit`` when          the asset's ``upAxis`` when
            authored, else assumed metres (not USD's    authored, else +Y
            centimetre fallback: few assets mean it)
==========  ==========================================  ================================

``Scene.insert(..., units_m=, up_axis=)`` override both for any format.

Mesh assets are read whole (every node of a glTF scene graph with its transform applied)
into :class:`TexturedMesh` parts that keep their base-colour texture (multiplied by the
glTF ``baseColorFactor``) or, without one, their vertex colours or flat material colour.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pxr import Tf, Usd, UsdGeom

from ..types import InputError, TexturedMesh
from ..usd import tf_reason

__all__ = ["MESH_SUFFIXES", "USD_SUFFIXES", "AssetPart", "UsdAsset", "asset_reference_path", "load_mesh_parts", "open_usd_asset", "units_of", "up_rotation"]

log = logging.getLogger(__name__)

MESH_SUFFIXES = (".glb", ".gltf", ".obj", ".ply")
USD_SUFFIXES = (".usd", ".usda", ".usdc", ".usdz")

# (x, y, z) of a +Z-up asset → (x, z, -y) in a +Y-up world.
_Y_UP_FROM_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


@dataclass(frozen=True, eq=False)
class AssetPart:
    """One mesh of an asset.

    Attributes:
        name: a valid USD prim name, unique within the asset.
        mesh: the part in the asset's coordinates (asset units), rotated to +Y up.
    """

    name: str
    mesh: TexturedMesh


@dataclass(frozen=True)
class UsdAsset:
    """What :meth:`Scene.insert` needs to know about a USD asset before referencing it.

    Attributes:
        prim_path: the prim to reference (the default prim, else the first root prim).
        meters_per_unit: the asset's authored ``metersPerUnit``, or None.
        up_axis: the asset's authored ``upAxis`` (``"Y"`` or ``"Z"``), or None.
    """

    prim_path: str
    meters_per_unit: float | None
    up_axis: str | None


def units_of(path: Path) -> float | None:
    """Metres per asset unit that the format itself fixes (glTF: 1), else None."""
    return 1.0 if path.suffix.lower() in (".glb", ".gltf") else None


def up_rotation(up_axis: str) -> np.ndarray:
    """3×3 rotation taking an asset whose up is ``up_axis`` ("Y" or "Z") to +Y up."""
    return np.eye(3) if up_axis.upper() == "Y" else _Y_UP_FROM_Z_UP.copy()


def load_mesh_parts(path: str | Path, *, up_axis: str = "Y") -> list[AssetPart]:
    """Read a glTF/GLB, OBJ or PLY file into textured mesh parts (asset units, +Y up).

    Args:
        path: the file.
        up_axis: the asset's up axis, ``"Y"`` or ``"Z"`` (rotated to +Y).

    Raises:
        InputError: the file is missing, cannot be read, or holds no triangles; the
            message names the file and the reason.
    """
    file = Path(path)
    if not file.is_file():
        raise InputError(f"cannot insert {str(file)!r}: no such file")
    try:
        import trimesh
    except ImportError as exc:  # a declared dependency, but say so plainly when it is missing
        raise InputError(f"cannot insert {file.name}: reading meshes needs trimesh; pip install trimesh") from exc
    try:
        # process=False keeps the file's vertices as they are: merging would break uv seams.
        scene = trimesh.load(str(file), force="scene", process=False)
        parts = _parts_of(scene, file)
    except InputError:
        raise
    except Exception as exc:  # trimesh raises anything from its parsers, internal errors included
        log.debug("trimesh failed on %s: %r", file, exc)
        raise InputError(
            f"cannot insert {file.name}: it is not a readable {file.suffix.lstrip('.').upper()} file "
            f"(the mesh reader failed with {type(exc).__name__}); check it in another tool"
        ) from exc
    if not parts:
        raise InputError(f"cannot insert {file.name}: it holds no triangle meshes")
    rotation = up_rotation(up_axis)
    if not np.array_equal(rotation, np.eye(3)):
        parts = [AssetPart(p.name, _rotated(p.mesh, rotation)) for p in parts]
    return parts


def _parts_of(scene, file: Path) -> list[AssetPart]:
    import trimesh

    parts: list[AssetPart] = []
    used: set[str] = set()
    for node in scene.graph.nodes_geometry:
        transform, geometry_name = scene.graph[node]
        geometry = scene.geometry.get(geometry_name)
        if not isinstance(geometry, trimesh.Trimesh) or len(geometry.faces) == 0:
            continue
        mesh = geometry.copy()
        mesh.apply_transform(np.asarray(transform, dtype=np.float64))
        if not np.all(np.isfinite(mesh.vertices)):
            raise InputError(f"cannot insert {file.name}: mesh {geometry_name!r} has non-finite vertices")
        name = Tf.MakeValidIdentifier(str(node) if node else str(geometry_name))
        base, k = name, 1
        while name in used:
            k += 1
            name = f"{base}_{k}"
        used.add(name)
        parts.append(AssetPart(name, _textured_mesh(mesh)))
    return parts


def _textured_mesh(mesh) -> TexturedMesh:
    """A trimesh.Trimesh as a TexturedMesh, keeping its texture or colours."""
    vertices = np.ascontiguousarray(mesh.vertices, dtype=np.float64)
    faces = np.ascontiguousarray(mesh.faces, dtype=np.int32)
    n = len(vertices)
    normals = np.asarray(mesh.vertex_normals, dtype=np.float32)
    normals = np.ascontiguousarray(np.where(np.isfinite(normals), normals, 0.0), dtype=np.float32)
    uv = texture = colors = None
    visual = mesh.visual
    kind = getattr(visual, "kind", None)
    if kind == "texture":
        material = getattr(visual, "material", None)
        image, factor = _base_color(material)
        raw_uv = getattr(visual, "uv", None)
        if image is not None and raw_uv is not None and len(raw_uv) == n and np.all(np.isfinite(raw_uv)):
            uv = np.ascontiguousarray(raw_uv, dtype=np.float32)
            texture = image
            if factor is not None and np.any(factor[:3] < 255):
                # glTF: the base colour is texture × factor; bake it, USD has one diffuse input.
                scaled = texture.astype(np.float32) * (factor[:3].astype(np.float32) / 255.0)
                texture = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
        else:
            flat = factor if factor is not None else _main_color(material)
            if flat is not None:
                colors = np.tile(np.asarray(flat[:3], dtype=np.uint8), (n, 1))
    elif kind in ("vertex", "face"):
        colors = np.ascontiguousarray(np.asarray(visual.vertex_colors)[:, :3], dtype=np.uint8)
    return TexturedMesh(vertices=vertices, faces=faces, uv=uv, texture=texture, vertex_colors=colors, normals=normals)


def _base_color(material) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(H×W×3 uint8 base-colour image or None, RGBA uint8 factor or None) of a trimesh material."""
    if material is None:
        return None, None
    image = getattr(material, "baseColorTexture", None)
    factor = getattr(material, "baseColorFactor", None)
    if image is None:
        image = getattr(material, "image", None)
    array = None
    if image is not None:
        try:
            array = np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))
        except Exception as exc:  # a broken embedded image: keep the geometry, say why
            log.warning("texture not read (%s); using the flat colour", exc)
    return array, None if factor is None else np.asarray(factor, dtype=np.uint8).reshape(-1)


def _main_color(material) -> np.ndarray | None:
    color = getattr(material, "main_color", None)
    return None if color is None else np.asarray(color, dtype=np.uint8).reshape(-1)


def _rotated(mesh: TexturedMesh, rotation: np.ndarray) -> TexturedMesh:
    normals = None if mesh.normals is None else (mesh.normals.astype(np.float64) @ rotation.T).astype(np.float32)
    return TexturedMesh(
        vertices=mesh.vertices @ rotation.T,
        faces=mesh.faces,
        uv=mesh.uv,
        texture=mesh.texture,
        vertex_colors=mesh.vertex_colors,
        normals=normals,
    )


def open_usd_asset(path: str | Path) -> UsdAsset:
    """Check that a USD asset opens and has a prim to reference.

    Raises:
        InputError: the file is missing, cannot be opened, or has no root prim.
    """
    file = Path(path)
    if not file.is_file():
        raise InputError(f"cannot insert {str(file)!r}: no such file")
    try:
        stage = Usd.Stage.Open(str(file), Usd.Stage.LoadAll)
    except Tf.ErrorException as exc:
        raise InputError(f"cannot insert {file.name}: USD cannot open it ({tf_reason(exc)})") from exc
    if stage is None:
        raise InputError(f"cannot insert {file.name}: USD cannot open it")
    prim = stage.GetDefaultPrim()
    if not prim:
        roots = [p for p in stage.GetPseudoRoot().GetChildren() if p.IsDefined()]
        if not roots:
            raise InputError(f"cannot insert {file.name}: it has no prims to reference")
        prim = roots[0]
    meters = float(UsdGeom.GetStageMetersPerUnit(stage)) if UsdGeom.StageHasAuthoredMetersPerUnit(stage) else None
    root = stage.GetRootLayer()
    up = str(UsdGeom.GetStageUpAxis(stage)) if root.pseudoRoot.HasInfo(UsdGeom.Tokens.upAxis) else None
    return UsdAsset(prim_path=str(prim.GetPath()), meters_per_unit=meters, up_axis=up)


def asset_reference_path(file: Path, layer_folder: Path) -> str:
    """How a layer in ``layer_folder`` names ``file``: ``./relative`` inside the folder, else absolute."""
    file = file.resolve()
    try:
        return "./" + file.relative_to(layer_folder.resolve()).as_posix()
    except ValueError:
        return file.as_posix()
