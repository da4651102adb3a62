"""Handles on the objects and the background: prims whose meshes have a UsdPreviewSurface look.

Materials. Changing an object's :attr:`~SurfaceHandle.base_color` or
:attr:`~SurfaceHandle.texture` authors an override material that belongs to the object
(``<object>/Looks/EditLook``; ``/World/Looks/<name>EditLook`` for a bare mesh such as the
background) and binds it to the object's meshes in the edits layer. The reconstruction's
material is never written to: it may be shared, and a reset must bring it back as it was.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pxr import Gf, Sdf, Tf, Usd, UsdGeom, UsdShade

from ..types import DependencyError, InputError, SceneFileError
from ..usd import LOOKS_NAME, TEXTURE_FOLDER, material_info, read_image, uv_texture_shader, write_png
from ._checks import check_name, check_vector, format_vector
from ._handle import PrimHandle
from ._layers import remove_prim_spec

__all__ = ["BackgroundHandle", "ObjectHandle", "SurfaceHandle"]

_EDIT_LOOK = "EditLook"
_TEXTURE_SUFFIXES = (".png", ".jpg", ".jpeg")


class SurfaceHandle(PrimHandle):
    """A handle whose meshes have a UsdPreviewSurface look (objects, background)."""

    def _meshes(self) -> list[Usd.Prim]:
        prim = self._live_prim()
        look_root = self._look_path().GetParentPath()
        return [p for p in Usd.PrimRange(prim) if p.IsA(UsdGeom.Mesh) and not p.GetPath().HasPrefix(look_root)]

    def _look_path(self) -> Sdf.Path:
        if self._scene.stage.GetPrimAtPath(self._path).IsA(UsdGeom.Gprim):
            # Prims under a gprim are not drawn by everyone: keep the look beside the others.
            return self._path.GetPrefixes()[0].AppendChild(LOOKS_NAME).AppendChild(f"{self.name}{_EDIT_LOOK}")
        return self._path.AppendChild(LOOKS_NAME).AppendChild(_EDIT_LOOK)

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
        color = check_vector(rgb, "base_color", hint="pass linear RGB in 0..1")
        if np.any(color < 0):
            raise InputError(f"base_color must be non-negative linear RGB, got {format_vector(color)}")
        with self._recording(f"color {self.name} {format_vector(color)}"):
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
        meshes = self._meshes()
        if not meshes:
            return None
        file = material_info(meshes[0], Usd.TimeCode.EarliestTime()).get("file")
        return Path(file) if file else None

    @texture.setter
    def texture(self, path: str | os.PathLike[str]) -> None:
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


class ObjectHandle(SurfaceHandle):
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


class BackgroundHandle(SurfaceHandle):
    """The static background mesh, ``/World/Background``; the same edits as an object's
    (transform, visibility, colour, texture, remove, reset)."""

    _what = "background"
