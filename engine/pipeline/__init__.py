"""The jobs: reconstruct (clip → scene, as stage functions over the stage cache), render and export."""

from ._config import GROUPS, RUN_FOLDER, ObjectSummary, ReconstructConfig, ReconstructResult
from ._export import ExportConfig, ExportResult, export_job
from ._inputs import load_ignore_masks, load_intrinsics_file, prepare_output
from ._objects import ObjectsOutcome, masks_digest, prompts_for_clip
from ._plate import read_plate
from ._reconstruct import reconstruct
from ._render import RenderConfig, RenderResult, render_scene
from ._scale import scale_of_scene

__all__ = [
    "scale_of_scene",
    "ExportConfig",
    "ExportResult",
    "GROUPS",
    "RUN_FOLDER",
    "ObjectSummary",
    "ObjectsOutcome",
    "ReconstructConfig",
    "ReconstructResult",
    "export_job",
    "load_ignore_masks",
    "load_intrinsics_file",
    "masks_digest",
    "prepare_output",
    "prompts_for_clip",
    "read_plate",
    "reconstruct",
    "RenderConfig",
    "RenderResult",
    "render_scene",
]
