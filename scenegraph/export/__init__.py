"""Export a scene to other tools' formats: one module per format (glTF/GLB, COLMAP,
nerfstudio, Nuke .chan, PLY), one registry, one entry point (:func:`export_scene`)."""

from ._chan import export_chan
from ._colmap import export_colmap
from ._common import DEFAULT_IMAGE_NAME
from ._formats import EXPORT_FORMATS, export_scene
from ._glb import export_glb
from ._nerfstudio import export_nerfstudio
from ._ply import export_ply

__all__ = [
    "DEFAULT_IMAGE_NAME",
    "EXPORT_FORMATS",
    "export_chan",
    "export_colmap",
    "export_glb",
    "export_nerfstudio",
    "export_ply",
    "export_scene",
]
