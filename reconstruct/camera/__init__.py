"""Solving the camera: COLMAP on keyframes, motion analysis and keyframe choice, world alignment,
interpolation of the frames a solve could not pose; VGGT feed-forward cameras in stitched chunks, bundle-adjusted."""

from ._colmap import ColmapSolver, ColmapSolverConfig
from ._interpolate import interpolate_poses
from ._motion import FrameMotion, analyse_motion, select_keyframes
from ._solver import CameraSolveConfig, CameraSolver
from ._vggt import VGGTSolver, VGGTSolverConfig
from ._world import align_world, estimate_up, ground_height

__all__ = [
    "CameraSolveConfig",
    "CameraSolver",
    "ColmapSolver",
    "ColmapSolverConfig",
    "FrameMotion",
    "VGGTSolver",
    "VGGTSolverConfig",
    "align_world",
    "analyse_motion",
    "estimate_up",
    "ground_height",
    "interpolate_poses",
    "select_keyframes",
]
