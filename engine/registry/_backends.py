"""The registry of every stage backend: one table per pipeline stage.

A new backend joins by registering its config dataclass here; the command line and
``ReconstructConfig`` pick it up by name, with its options generated from its fields.
"""

from __future__ import annotations

from ._registry import Registry

__all__ = ["SOLVERS", "DEPTH", "FUSION", "TEXTURE", "SEGMENTER", "TRACKER", "PROPOSER", "STAGES", "REFINERS"]

_R = "sceneforge.reconstruct"

# Known intrinsics, the lens model and ignore masks are the pipeline's (ReconstructConfig), for any solver.
SOLVERS = Registry(
    "camera solver", key="solver",
    reserved=("intrinsics", "focal_px", "refine_principal_point", "lens", "camera_per_frame", "ignore_masks"),
)
SOLVERS.register("colmap-global", f"{_R}:ColmapSolverConfig",
                 "COLMAP keyframes with the global mapper, every other frame localized (default)", mapper="global")
SOLVERS.register("colmap-incremental", f"{_R}:ColmapSolverConfig",
                 "COLMAP keyframes with the incremental mapper, every other frame localized", mapper="incremental")

DEPTH = Registry("depth estimator", key="depth")
DEPTH.register("patchmatch", f"{_R}:PatchMatchConfig",
               "PatchMatch multi-view stereo with a planar prior and completion by planes, CPU or GPU, "
               "no weights (default)")
DEPTH.register("plane-sweep", f"{_R}:PlaneSweepConfig",
               "multi-view plane-sweep stereo from the solved cameras, CPU or GPU, no weights (faster, "
               "sparser on weak texture)")

# The triangle budget and the texture come from ReconstructConfig and the texture stage.
FUSION = Registry("background fuser", key="fusion", reserved=("max_faces", "texture"))
FUSION.register("tsdf", f"{_R}:TSDFFusionConfig",
                "TSDF fusion of the depth maps (Open3D), meshed, simplified and textured (default)")

TEXTURE = Registry("texture baker", key="texture", reserved=("texture_size",))
TEXTURE.register("views", f"{_R}:TextureBakeConfig",
                 "one chart per best view, cross-faded along the seams (default)", charts="views")
TEXTURE.register("xatlas", f"{_R}:TextureBakeConfig",
                 "an xatlas atlas, each face textured from its best view", charts="xatlas")

SEGMENTER = Registry("segmenter", key="segmenter")
SEGMENTER.register("graph-cut", f"{_R}:GraphCutSegmenterConfig",
                   "GrabCut on colour refined by motion and depth cues, no weights (default)")

TRACKER = Registry("mask tracker", key="tracker")
TRACKER.register("flow", f"{_R}:FlowTrackerConfig",
                 "masks carried by optical flow or reprojection, refined by a graph cut, no weights (default)")

PROPOSER = Registry("object proposer", key="proposer")
PROPOSER.register("geometry", f"{_R}:ProposalConfig",
                  "objects found as compact clusters standing out of the fused geometry (default)")

STAGES: tuple[Registry, ...] = (SOLVERS, DEPTH, FUSION, TEXTURE, SEGMENTER, TRACKER, PROPOSER)
"""Every stage registry, in pipeline order."""

# The render job's last step; the model comes from RenderConfig.refiner_model (--refiner-model).
REFINERS = Registry("refiner", key="refiner", reserved=("model",))
REFINERS.register("classical", "sceneforge.render.refine:ClassicalRefinerConfig",
                  "harmonises inserted assets with the plate (colour, blur, grain) and smooths filled regions "
                  "over time, no weights (default)")
REFINERS.register("diffusion", "sceneforge.render.refine:DiffusionRefinerConfig",
                  "a diffusers pipeline you have weights for (--refiner-model: SD inpainting with a depth "
                  "ControlNet, or Wan VACE) repaints edited and invented regions; GPU when there is one")
REFINERS.register("none", "sceneforge.render.refine:NoRefinerConfig", "the composite as it is")
