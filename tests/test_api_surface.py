"""The public API of each package: a change here is a deliberate decision, not an accident."""

from __future__ import annotations

import subprocess
import sys

import sceneforge.engine
import sceneforge.reconstruct
import sceneforge.render
import sceneforge.scenegraph

EXPECTED = {
    "sceneforge.scenegraph": {
        "CameraTrack", "DepthMap", "DepthMaps", "FrameMasks", "RelativeDepth", "atomic_path", "atomic_write", "TexturedMesh", "DependencyError", "FrameStatus", "Frames", "InputError", "Intrinsics", "OutputExistsError",
        "SceneFileError", "SceneForgeError", "ShapeError", "Similarity", "SolveError", "SolveReport", "SparsePoints",
        "StageValidation", "check_array", "check_rigid", "invert_rigid", "is_rigid", "make_transform", "open_stage",
        "quat_wxyz_from_rotation", "read_camera_track", "rotation_about_axis", "rotation_angle",
        "rotation_from_quat_wxyz", "scene_summary", "similarity_from_points", "transform_points", "validate_stage",
        "write_scene", "SceneMesh", "author_mesh", "read_scene_meshes",
        "EXPORT_FORMATS", "export_scene", "export_glb", "export_colmap", "export_nerfstudio", "export_chan", "export_ply",
        "CameraHandle", "BackgroundHandle", "LightHandle", "ObjectHandle", "Scene", "SceneEdit",
        "CAMERA_MOVES", "EDIT_OPS", "apply_edits", "read_edit_list",
        "ObjectLayer", "author_object_layer", "read_object_layers", "animated_mesh_paths",
        "LightProbe", "read_light_probe", "write_light_probe",
    },
    "sceneforge.reconstruct": {
        "IMAGE_SUFFIXES", "THREADS_ENV", "VIDEO_SUFFIXES", "available_memory", "CameraSolveConfig", "CameraSolver", "ColmapSolver", "ColmapSolverConfig",
        "FrameMotion", "ProgressFn", "align_world", "DepthEstimator", "PlaneSweepConfig", "PlaneSweepStereo", "PatchMatchConfig", "PatchMatchStereo", "checked_depths", "confirmed_depths",
        "align_relative_depth", "depth_scale_to_points", "filter_consistent", "nominal_depths", "analyse_motion", "estimate_up", "interpolate_poses", "read_frames",
        "select_keyframes", "BackgroundFuser", "TSDFFuser", "TSDFFusionConfig", "TextureBakeConfig", "TextureBaker",
        "ViewTextureBaker", "frame_surface", "LightProbeConfig", "build_light_probe",
        "FlowTracker", "FlowTrackerConfig", "GraphCutSegmenter", "GraphCutSegmenterConfig", "MaskTracker",
        "ObjectPrompt", "PromptableSegmenter", "SegmentResult", "TrackedMasks", "parse_object_prompt",
        "segment_prompt", "track_object",
        "classify_static", "instance_maps", "lift_object", "lift_objects", "ProposalConfig", "propose_objects",
    },
    "sceneforge.engine": {"SOLVERS", "ReconstructConfig", "ReconstructResult", "Registry", "reconstruct"},
    "sceneforge.render": {"PASS_NAMES", "Rasterizer", "RenderPasses", "VideoWriter", "fill_holes", "write_video"},
}


def test_public_names_are_exactly_the_expected_ones():
    for module in (sceneforge.scenegraph, sceneforge.reconstruct, sceneforge.engine, sceneforge.render):
        assert set(module.__all__) == EXPECTED[module.__name__], module.__name__
        for name in module.__all__:
            assert getattr(module, name).__doc__ or not callable(getattr(module, name)), f"{module.__name__}.{name}"


def test_scenegraph_imports_no_heavy_stack():
    code = (
        "import sys, sceneforge.scenegraph;"
        "heavy = {'torch', 'pycolmap', 'open3d', 'pyrender', 'cv2', 'av'} & set(sys.modules);"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_package_import_is_light():
    code = (
        "import sys, sceneforge.engine, sceneforge.reconstruct, sceneforge.render;"
        "heavy = {'torch', 'pycolmap', 'open3d', 'pyrender'} & set(sys.modules);"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
