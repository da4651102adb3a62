"""Video in, geometry out: frame reading, camera solving (and, later, depth, objects, layers)."""

from ._camera_solve import CameraSolveConfig, CameraSolver, ColmapSolver, ColmapSolverConfig, interpolate_poses
from ._frames import IMAGE_SUFFIXES, VIDEO_SUFFIXES, ProgressFn, read_frames
from ._motion import FrameMotion, analyse_motion, select_keyframes
from ._world import align_world, estimate_up

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
]

from ._depth import DepthEstimator, PlaneSweepConfig, PlaneSweepStereo, filter_consistent
from ._depth_align import align_relative_depth, depth_scale_to_points

__all__ += [
    "DepthEstimator",
    "PlaneSweepConfig",
    "PlaneSweepStereo",
    "align_relative_depth",
    "depth_scale_to_points",
    "filter_consistent",
]

from ._fusion import BackgroundFuser, TSDFFuser, TSDFFusionConfig
from ._surface import frame_surface
from ._texture import TextureBakeConfig, TextureBaker, ViewTextureBaker

__all__ += [
    "BackgroundFuser",
    "TSDFFuser",
    "TSDFFusionConfig",
    "TextureBakeConfig",
    "TextureBaker",
    "ViewTextureBaker",
    "frame_surface",
]

from ._segment import (
    GraphCutSegmenter,
    GraphCutSegmenterConfig,
    ObjectPrompt,
    PromptableSegmenter,
    SegmentResult,
    parse_object_prompt,
    segment_prompt,
)
from ._track import FlowTracker, FlowTrackerConfig, MaskTracker, TrackedMasks, track_object

__all__ += [
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
]

from ._lift import classify_static, instance_maps, lift_object, lift_objects

__all__ += ["classify_static", "instance_maps", "lift_object", "lift_objects"]

from ._proposals import ProposalConfig, propose_objects

__all__ += ["ProposalConfig", "propose_objects"]
