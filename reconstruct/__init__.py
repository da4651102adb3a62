"""Video in, geometry out, one sub-package per stage: ``frames`` (reading a clip), ``camera``
(the camera solve), ``depth`` (dense depth), ``surface`` (fusion, texturing, per-frame
surfaces) and ``objects`` (prompts, segmentation, tracking, proposals, lifting).

Stage data crossing these stages is keyed by source frame number (see
:class:`~sceneforge.scenegraph.DepthMaps`).
"""

from ._progress import ProgressFn
from .camera import (
    CameraSolveConfig,
    CameraSolver,
    ColmapSolver,
    ColmapSolverConfig,
    FrameMotion,
    align_world,
    analyse_motion,
    estimate_up,
    interpolate_poses,
    select_keyframes,
)
from .depth import (
    DepthEstimator,
    PlaneSweepConfig,
    PlaneSweepStereo,
    align_relative_depth,
    depth_scale_to_points,
    filter_consistent,
    nominal_depths,
)
from .frames import IMAGE_SUFFIXES, VIDEO_SUFFIXES, read_frames
from .objects import (
    FlowTracker,
    FlowTrackerConfig,
    GraphCutSegmenter,
    GraphCutSegmenterConfig,
    MaskTracker,
    ObjectPrompt,
    PromptableSegmenter,
    ProposalConfig,
    SegmentResult,
    TrackedMasks,
    classify_static,
    instance_maps,
    lift_object,
    lift_objects,
    parse_object_prompt,
    propose_objects,
    segment_prompt,
    track_object,
)
from .surface import (
    BackgroundFuser,
    TextureBakeConfig,
    TextureBaker,
    TSDFFuser,
    TSDFFusionConfig,
    ViewTextureBaker,
    frame_surface,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "VIDEO_SUFFIXES",
    "CameraSolveConfig",
    "CameraSolver",
    "ColmapSolver",
    "ColmapSolverConfig",
    "FrameMotion",
    "ProgressFn",
    "align_world",
    "analyse_motion",
    "estimate_up",
    "interpolate_poses",
    "read_frames",
    "select_keyframes",
    "DepthEstimator",
    "PlaneSweepConfig",
    "PlaneSweepStereo",
    "align_relative_depth",
    "depth_scale_to_points",
    "filter_consistent",
    "nominal_depths",
    "BackgroundFuser",
    "TSDFFuser",
    "TSDFFusionConfig",
    "TextureBakeConfig",
    "TextureBaker",
    "ViewTextureBaker",
    "frame_surface",
    "FlowTracker",
    "FlowTrackerConfig",
    "GraphCutSegmenter",
    "GraphCutSegmenterConfig",
    "MaskTracker",
    "ObjectPrompt",
    "PromptableSegmenter",
    "SegmentResult",
    "TrackedMasks",
    "parse_object_prompt",
    "segment_prompt",
    "track_object",
    "classify_static",
    "instance_maps",
    "lift_object",
    "lift_objects",
    "ProposalConfig",
    "propose_objects",
]
