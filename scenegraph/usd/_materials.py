"""UsdPreviewSurface materials of the meshes: author a textured or vertex-coloured look, and
read what a bound look says about a mesh's diffuse colour.

The look of a textured mesh (``author_mesh`` binds it)::

    /World/Looks/Background            Material; outputs:surface ← PreviewSurface
    /World/Looks/Background/PreviewSurface   UsdPreviewSurface: diffuseColor ← Texture.rgb,
                                       roughness 1, metallic 0, useSpecularWorkflow 0
    /World/Looks/Background/Texture    UsdUVTexture: file @./textures/Background.png@ (sRGB),
                                       st ← STReader.result, wrap clamp
    /World/Looks/Background/STReader   UsdPrimvarReader_float2: varname "st"
"""

from __future__ import annotations

import logging
from typing import Any

from pxr import Sdf, Usd, UsdShade

__all__ = ["material_info", "textured_material", "uv_texture_shader", "vertex_colour_material"]

log = logging.getLogger(__name__)


def _preview_surface(stage: Usd.Stage, material_path: Sdf.Path) -> tuple[UsdShade.Material, UsdShade.Shader]:
    material = UsdShade.Material.Define(stage, material_path)
    surface = UsdShade.Shader.Define(stage, material_path.AppendChild("PreviewSurface"))
    surface.CreateIdAttr("UsdPreviewSurface")
    # A matte, non-metallic surface: the texture already holds the lit colour of the footage.
    surface.CreateInput("roughness", Sdf.ValueTypeNames.Float).Set(1.0)
    surface.CreateInput("metallic", Sdf.ValueTypeNames.Float).Set(0.0)
    surface.CreateInput("useSpecularWorkflow", Sdf.ValueTypeNames.Int).Set(0)
    material.CreateSurfaceOutput().ConnectToSource(surface.ConnectableAPI(), "surface")
    return material, surface


def textured_material(stage: Usd.Stage, material_path: Sdf.Path, texture_asset: str) -> UsdShade.Material:
    """A matte UsdPreviewSurface material at ``material_path`` whose diffuse colour reads ``texture_asset``."""
    material, surface = _preview_surface(stage, material_path)
    texture = uv_texture_shader(stage, material_path, texture_asset)
    surface.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).ConnectToSource(texture.ConnectableAPI(), "rgb")
    return material


def uv_texture_shader(
    stage: Usd.Stage, material_path: Sdf.Path, texture_asset: str, *, st_name: str = "st", wrap: str = "clamp"
) -> UsdShade.Shader:
    """A ``UsdUVTexture`` (sRGB) under ``material_path`` reading ``texture_asset`` at the
    ``st_name`` primvar (through a ``UsdPrimvarReader_float2``); connect its ``rgb`` output."""
    reader = UsdShade.Shader.Define(stage, material_path.AppendChild("STReader"))
    reader.CreateIdAttr("UsdPrimvarReader_float2")
    reader.CreateInput("varname", Sdf.ValueTypeNames.String).Set(st_name)
    reader.CreateOutput("result", Sdf.ValueTypeNames.Float2)
    texture = UsdShade.Shader.Define(stage, material_path.AppendChild("Texture"))
    texture.CreateIdAttr("UsdUVTexture")
    texture.CreateInput("file", Sdf.ValueTypeNames.Asset).Set(Sdf.AssetPath(texture_asset))
    texture.CreateInput("st", Sdf.ValueTypeNames.Float2).ConnectToSource(reader.ConnectableAPI(), "result")
    texture.CreateInput("sourceColorSpace", Sdf.ValueTypeNames.Token).Set("sRGB")
    texture.CreateInput("wrapS", Sdf.ValueTypeNames.Token).Set(wrap)
    texture.CreateInput("wrapT", Sdf.ValueTypeNames.Token).Set(wrap)
    texture.CreateOutput("rgb", Sdf.ValueTypeNames.Float3)
    return texture


def vertex_colour_material(stage: Usd.Stage, material_path: Sdf.Path) -> UsdShade.Material:
    """A matte UsdPreviewSurface material at ``material_path`` whose diffuse colour reads ``displayColor``."""
    material, surface = _preview_surface(stage, material_path)
    reader = UsdShade.Shader.Define(stage, material_path.AppendChild("ColorReader"))
    reader.CreateIdAttr("UsdPrimvarReader_float3")
    reader.CreateInput("varname", Sdf.ValueTypeNames.String).Set("displayColor")
    reader.CreateOutput("result", Sdf.ValueTypeNames.Float3)
    surface.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f).ConnectToSource(reader.ConnectableAPI(), "result")
    return material


def material_info(prim: Usd.Prim, when: Usd.TimeCode) -> dict[str, Any]:
    """What the bound material says about the diffuse colour: ``file`` (resolved texture path)
    and ``varname`` (its st primvar), or ``color`` (a constant linear RGB)."""
    material, _ = UsdShade.MaterialBindingAPI(prim).ComputeBoundMaterial()
    if not material:
        return {}
    shader = material.ComputeSurfaceSource()[0]
    if not shader:
        return {}
    diffuse = shader.GetInput("diffuseColor")
    if not diffuse:
        return {}
    source = diffuse.GetConnectedSources()[0] if diffuse.HasConnectedSource() else []
    if not source:
        value = diffuse.Get(when)
        return {} if value is None else {"color": list(value)}
    texture = UsdShade.Shader(source[0].source.GetPrim())
    if texture.GetIdAttr().Get() != "UsdUVTexture":
        return {}
    info: dict[str, Any] = {}
    file_input = texture.GetInput("file")
    asset = file_input.Get(when) if file_input else None
    if asset is not None:
        resolved = asset.resolvedPath or ""
        if not resolved and asset.path:
            log.warning("%s: texture %s not found", prim.GetPath(), asset.path)
        info["file"] = resolved or None
    st_input = texture.GetInput("st")
    if st_input and st_input.HasConnectedSource():
        reader = UsdShade.Shader(st_input.GetConnectedSources()[0][0].source.GetPrim())
        varname = reader.GetInput("varname")
        if varname and varname.Get(when):
            info["varname"] = str(varname.Get(when))
    return info
