"""The SceneForge USD layout, written down once: file names, prim paths, ``sceneforge:*``
attribute names, the format version and the camera-axis flip.

A SceneForge scene is a folder with three layers and its textures (DESIGN.md, "The USD scene")::

    scene.usda           root layer people open; subLayers = [./edits.usda, ./reconstruction.usda]
    edits.usda           every later edit (stronger, so it overrides the reconstruction)
    reconstruction.usda  the reconstruction, written once
    textures/            PNG textures, named by the layers as ./textures/<name>.png, and the light
                         probe's map ./textures/light_probe.hdr (Radiance RGBE)

and this content::

    /World                 Xform, defaultPrim, kind assembly
    /World/Cameras         Xform
    /World/Cameras/Plate   Camera; xformOp:transform time-sampled at the source frame numbers
    /World/Points          Points of the camera solve (omitted when there are none)
    /World/Background      the background mesh, when given (see _meshes.author_mesh)
    /World/Objects/<name>  one Xform per object, when given (see _objects.author_object_layer)
    /World/Lights/<name>   UsdLux lights an edit adds
    /World/Lights/LightProbe  the shot's light probe, a DomeLight (see _light_probe)
    /World/Looks/<name>    the meshes' UsdPreviewSurface materials

Every module that reads or writes a stage names these constants instead of spelling them.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ATTR_DEPTH_MAPS",
    "ATTR_FRAMES_VISIBLE",
    "ATTR_FRAME_NUMBERS",
    "ATTR_FRAME_RANGE",
    "ATTR_FRAME_STATUS",
    "ATTR_IMAGE_SIZE",
    "ATTR_INSTANCE_ID",
    "ATTR_INSTANCE_MAPS",
    "ATTR_K",
    "ATTR_MASK_QUALITY",
    "ATTR_PROBE_AMBIENT",
    "ATTR_PROBE_CENTRE",
    "ATTR_PROBE_ENCODING",
    "ATTR_PROBE_KEY_DIRECTION",
    "ATTR_PROBE_KEY_IRRADIANCE",
    "ATTR_PROBE_SEEN_RUNS",
    "ATTR_PROBE_SEEN_SHARE",
    "ATTR_PROBE_SH",
    "ATTR_RADIAL",
    "ATTR_SIZE",
    "ATTR_STATIC",
    "BACKGROUND_PATH",
    "CAMERAS_PATH",
    "CV_FROM_GL",
    "DEFAULT_CAMERA_PATH",
    "EDITS_FILE",
    "FORMAT_VERSION",
    "LAYER_DATA_KEY",
    "LIGHTS_PATH",
    "LIGHT_PROBE_PATH",
    "LIGHT_PROBE_TEXTURE",
    "LOOKS_NAME",
    "OBJECTS_PATH",
    "POINTS_PATH",
    "PRIMVAR_ERROR",
    "RECONSTRUCTION_FILE",
    "SCENE_FILE",
    "TEXTURE_FOLDER",
    "TRANSFORM_OP",
    "WORLD_PATH",
]

FORMAT_VERSION = 1
"""Version of the SceneForge USD layout, stored as ``customLayerData.sceneforge.formatVersion``."""

LAYER_DATA_KEY = "sceneforge"
"""Key of the SceneForge entry in a layer's ``customLayerData``."""

# ----------------------------------------------------------------------------------------
# Files

SCENE_FILE = "scene.usda"
EDITS_FILE = "edits.usda"
RECONSTRUCTION_FILE = "reconstruction.usda"
TEXTURE_FOLDER = "textures"
"""Folder beside the layer that holds the textures, as the asset paths name it."""
LIGHT_PROBE_TEXTURE = "light_probe.hdr"
"""The light probe's lat-long map (Radiance RGBE) in the texture folder."""

# ----------------------------------------------------------------------------------------
# Prims

WORLD_PATH = "/World"
CAMERAS_PATH = "/World/Cameras"
DEFAULT_CAMERA_PATH = "/World/Cameras/Plate"
POINTS_PATH = "/World/Points"
BACKGROUND_PATH = "/World/Background"
OBJECTS_PATH = "/World/Objects"
"""Prim path of the group that holds every object."""
LIGHTS_PATH = "/World/Lights"
LIGHT_PROBE_PATH = "/World/Lights/LightProbe"
"""The shot's light probe: a UsdLux DomeLight with the probe's map as its texture."""
LOOKS_NAME = "Looks"
"""Name of the Scope under the root prim (``/World/Looks``) that holds the materials."""

TRANSFORM_OP = "xformOp:transform"
"""The one matrix op SceneForge authors for a transform."""

# ----------------------------------------------------------------------------------------
# Custom attributes

# On the camera: the exact K and what UsdGeom.Camera cannot hold.
ATTR_K = "sceneforge:K"
ATTR_RADIAL = "sceneforge:radialDistortion"
ATTR_IMAGE_SIZE = "sceneforge:imageSize"
ATTR_FRAME_NUMBERS = "sceneforge:frameNumbers"
ATTR_FRAME_STATUS = "sceneforge:frameStatus"
ATTR_DEPTH_MAPS = "sceneforge:depthMaps"
ATTR_INSTANCE_MAPS = "sceneforge:instanceMaps"

# On /World/Points.
PRIMVAR_ERROR = "sceneforge:errorPx"

# On each object's Xform.
ATTR_INSTANCE_ID = "sceneforge:instanceId"
ATTR_STATIC = "sceneforge:static"
ATTR_MASK_QUALITY = "sceneforge:maskQuality"
ATTR_FRAMES_VISIBLE = "sceneforge:framesVisible"
ATTR_FRAME_RANGE = "sceneforge:frameRange"
ATTR_SIZE = "sceneforge:size"

# On the light probe's DomeLight (LIGHT_PROBE_PATH): what a renderer needs besides the map.
ATTR_PROBE_SH = "sceneforge:lightProbe:sh"
"""double3[9]: radiance SH coefficients (linear RGB, world axes; see types._light)."""
ATTR_PROBE_CENTRE = "sceneforge:lightProbe:centre"
"""point3d: the world point the map is seen from, scene units."""
ATTR_PROBE_KEY_DIRECTION = "sceneforge:lightProbe:keyDirection"
"""vector3d: unit world vector towards the dominant light; absent when there is none."""
ATTR_PROBE_KEY_IRRADIANCE = "sceneforge:lightProbe:keyIrradiance"
"""double3: the dominant light's irradiance on a surface facing it (linear RGB)."""
ATTR_PROBE_AMBIENT = "sceneforge:lightProbe:ambientRadiance"
"""double3: the map's mean radiance without the dominant light (linear RGB)."""
ATTR_PROBE_ENCODING = "sceneforge:lightProbe:encoding"
"""token: how the footage's 8-bit values were read as light, ``srgb`` or ``linear``."""
ATTR_PROBE_SEEN_SHARE = "sceneforge:lightProbe:seenShare"
"""double: share of the sphere's solid angle the footage saw."""
ATTR_PROBE_SEEN_RUNS = "sceneforge:lightProbe:seenRuns"
"""int[]: the seen mask as run boundaries [start, end, ...] of the flattened H×2H mask."""

# ----------------------------------------------------------------------------------------
# Camera axes

# OpenCV camera axes <-> USD/OpenGL camera axes; its own inverse. Applied only where USD
# cameras are written and read (_camera.py) and in the rasterizer (DESIGN.md, Conventions).
CV_FROM_GL = np.diag([1.0, -1.0, -1.0, 1.0])
