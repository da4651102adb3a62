"""The jobs: reconstruct (clip → scene, as stage functions over the stage cache), batch (many shots on an
executor), render and export."""

from ._batch import BATCH_FILE, BatchResult, ShotOutcome, ShotSpec, run_batch, shot_name
from ._config import GROUPS, RUN_FOLDER, ObjectSummary, ReconstructConfig, ReconstructResult
from ._export import ExportConfig, ExportResult, export_job
from ._inputs import load_ignore_masks, load_intrinsics_file, prepare_output
from ._objects import ObjectsOutcome, masks_digest, prompts_for_clip
from ._plate import read_plate
from ._reconstruct import reconstruct
from ._render import RenderConfig, RenderResult
from ._render_job import render_scene
from ._scale import scale_of_scene

__all__ = [
    "BATCH_FILE",
    "BatchResult",
    "ShotOutcome",
    "ShotSpec",
    "run_batch",
    "shot_name",
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
