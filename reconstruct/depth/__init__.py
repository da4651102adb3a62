"""Dense depth: the depth-estimator protocol, PatchMatch multi-view stereo with a planar prior
(the default), plane-sweep multi-view stereo, the multi-view consistency filter, the alignment of relative (monocular) depth to the camera solve, and
nominal depth for shots without parallax."""

from ._align import align_metric_depth, align_relative_depth, depth_scale_to_points
from ._consistency import UNCONFIRMED_CONFIDENCE, checked_depths, confirmed_depths, filter_consistent
from ._estimator import DepthEstimator
from ._mono import MonoDepth, MonoDepthConfig
from ._nominal import NOMINAL_CONFIDENCE, nominal_depths
from ._patchmatch import PatchMatchConfig, PatchMatchStereo
from ._plane_sweep import PlaneSweepConfig, PlaneSweepStereo
from ._vggt import VGGTDepth, VGGTDepthConfig

__all__ = [
    "VGGTDepth",
    "VGGTDepthConfig",
    "DepthEstimator",
    "NOMINAL_CONFIDENCE",
    "UNCONFIRMED_CONFIDENCE",
    "MonoDepth",
    "MonoDepthConfig",
    "PatchMatchConfig",
    "PatchMatchStereo",
    "PlaneSweepConfig",
    "PlaneSweepStereo",
    "align_metric_depth",
    "align_relative_depth",
    "checked_depths",
    "confirmed_depths",
    "depth_scale_to_points",
    "filter_consistent",
    "nominal_depths",
]
