"""The registry of every stage backend: one table per pipeline stage.

A new backend joins by registering its config dataclass here; the command line and
``ReconstructConfig`` pick it up by name, with its options generated from its fields.
"""

from __future__ import annotations

from ._registry import Registry

__all__ = ["SOLVERS", "DEPTH", "FUSION", "TEXTURE", "SEGMENTER", "TRACKER", "PROPOSER", "STAGES", "REFINERS"]

_R = "sceneforge.reconstruct"
_VGGT_WEIGHTS = ("--solver.model / --depth.model: a VGGT checkpoint (.safetensors or .pt) or a folder or cached "
                 "Hugging Face repo (facebook/VGGT-1B); needs the vggt package (pip install from its repository)")
_HF = "a folder saved by save_pretrained, or a Hugging Face repo id in your cache"

# Known intrinsics, the lens model and ignore masks are the pipeline's (ReconstructConfig), for any solver.
SOLVERS = Registry(
    "camera solver", key="solver",
    reserved=("intrinsics", "focal_px", "refine_principal_point", "lens", "camera_per_frame", "ignore_masks"),
)
SOLVERS.register("colmap-global", f"{_R}:ColmapSolverConfig",
                 "COLMAP keyframes with the global mapper, every other frame localized (default)", mapper="global")
SOLVERS.register("colmap-incremental", f"{_R}:ColmapSolverConfig",
                 "COLMAP keyframes with the incremental mapper, every other frame localized", mapper="incremental")
SOLVERS.register("vggt", f"{_R}.camera:VGGTSolverConfig",
                 "VGGT feed-forward cameras and points in overlapping chunks, stitched and bundle-adjusted with "
                 "COLMAP; GPU when there is one", needs=("vggt",), weights=_VGGT_WEIGHTS)
DEPTH = Registry("depth estimator", key="depth")
DEPTH.register("patchmatch", f"{_R}:PatchMatchConfig",
               "PatchMatch multi-view stereo with a planar prior and completion by planes, CPU or GPU, "
               "no weights (default)")
DEPTH.register("plane-sweep", f"{_R}:PlaneSweepConfig",
               "multi-view plane-sweep stereo from the solved cameras, CPU or GPU, no weights (faster, "
               "sparser on weak texture)")
DEPTH.register("vggt", f"{_R}.depth:VGGTDepthConfig",
               "VGGT feed-forward depth in overlapping chunks, scaled to the camera solve's points",
               needs=("vggt",), weights=_VGGT_WEIGHTS)
DEPTH.register("depth-anything", f"{_R}.depth:MonoDepthConfig",
               "monocular depth (Depth Anything V2, transformers) aligned to the solve's points; fills what "
               "multi-view stereo misses with --depth.mvs", family="depth-anything",
               needs=("transformers",), weights=f"--depth.model: {_HF} (depth-anything/Depth-Anything-V2-Small-hf)")
DEPTH.register("depth-pro", f"{_R}.depth:MonoDepthConfig",
               "metric monocular depth (Apple Depth Pro, transformers) scaled to the solve's points",
               family="depth-pro", needs=("transformers",), weights=f"--depth.model: {_HF} (apple/DepthPro-hf)")
DEPTH.register("prompt-depth-anything", f"{_R}.depth:MonoDepthConfig",
               "Prompt Depth Anything (transformers), prompted with the solve's own sparse depth",
               family="prompt-depth-anything", needs=("transformers",),
               weights=f"--depth.model: {_HF} (depth-anything/prompt-depth-anything-vits-hf)")
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
SEGMENTER.register("sam2", f"{_R}.objects:Sam2SegmenterConfig",
                   "SAM 2 (transformers): boxes, clicks and masks segmented and tracked through the clip",
                   needs=("transformers",), weights=f"--segmenter.model: {_HF} (facebook/sam2.1-hiera-tiny)")
SEGMENTER.register("sam3", f"{_R}.objects:Sam3SegmenterConfig",
                   "SAM 3 (transformers): objects named in words (NAME=text:...) found and tracked through the clip",
                   needs=("transformers",), weights=f"--segmenter.model: {_HF} (facebook/sam3)")
TRACKER = Registry("mask tracker", key="tracker")
TRACKER.register("auto", f"{_R}:FlowTrackerConfig",
                 "the segmenter's own video propagation when it has one (sam2, sam3), else flow (default)")
TRACKER.register("flow", f"{_R}:FlowTrackerConfig",
                 "masks carried by optical flow or reprojection, refined by a graph cut, no weights")
TRACKER.register("sam2", f"{_R}.objects:Sam2SegmenterConfig",
                 "SAM 2 video propagation (transformers) of the prompt frame's mask",
                 needs=("transformers",), weights=f"--tracker.model: {_HF} (facebook/sam2.1-hiera-tiny)")
PROPOSER = Registry("object proposer", key="proposer")
PROPOSER.register("auto", f"{_R}.objects:PeopleProposerConfig",
                  "people found by the bundled MediaPipe selfie-segmentation model, and every other object from "
                  "the geometry (default)", with_geometry=True, needs=("ai_edge_litert",),
                  weights="bundled: MediaPipe selfie segmentation (Apache-2.0), sceneforge/models")
PROPOSER.register("geometry", f"{_R}:ProposalConfig",
                  "objects found as compact clusters standing out of the fused geometry")
PROPOSER.register("people", f"{_R}.objects:PeopleProposerConfig",
                  "people only, found by the bundled MediaPipe selfie-segmentation model", with_geometry=False,
                  needs=("ai_edge_litert",), weights="bundled: MediaPipe selfie segmentation (Apache-2.0), sceneforge/models")

STAGES: tuple[Registry, ...] = (SOLVERS, DEPTH, FUSION, TEXTURE, SEGMENTER, TRACKER, PROPOSER)
"""Every stage registry, in pipeline order."""

# The render job's last step; the model comes from RenderConfig.refiner_model (--refiner-model).
REFINERS = Registry("refiner", key="refiner", reserved=("model",))
REFINERS.register("classical", "sceneforge.render.refine:ClassicalRefinerConfig",
                  "harmonises inserted assets with the plate (colour, blur, grain) and smooths filled regions "
                  "over time, no weights (default)")
REFINERS.register("diffusion", "sceneforge.render.refine:DiffusionRefinerConfig",
                  "a diffusers pipeline you have weights for (--refiner-model: SD inpainting with a depth "
                  "ControlNet, or Wan VACE) repaints edited and invented regions; GPU when there is one",
                  needs=("diffusers", "transformers", "accelerate"),
                  weights="--refiner-model: a diffusers pipeline folder or a Hugging Face repo id in your cache")
REFINERS.register("none", "sceneforge.render.refine:NoRefinerConfig", "the composite as it is")
