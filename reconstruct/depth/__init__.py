"""Dense depth: the depth-estimator protocol, plane-sweep multi-view stereo, the multi-view
consistency filter, and the alignment of relative (monocular) depth to the camera solve."""

from ._align import align_relative_depth, depth_scale_to_points
from ._consistency import filter_consistent
from ._estimator import DepthEstimator
from ._plane_sweep import PlaneSweepConfig, PlaneSweepStereo

__all__ = [
    "DepthEstimator",
    "PlaneSweepConfig",
    "PlaneSweepStereo",
    "align_relative_depth",
    "depth_scale_to_points",
    "filter_consistent",
]
