"""Blender imports our USD camera right: a 35 mm lens is 35 mm, on the clip's frame numbers,
and a camera edited through :class:`Scene` (zoom, orbit) imports with its edited path.

Blender's Python module (``bpy`` on PyPI) needs its own Python version, so this test
runs it in a separate interpreter named by ``SCENEFORGE_BLENDER_PYTHON`` (a Python with
``bpy`` installed) and skips when that is not set. Run it with
``pytest -m interop tests/scenegraph/usd/test_blender_interop.py``.
"""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest

from sceneforge.scenegraph import (
    CameraTrack,
    FrameStatus,
    Intrinsics,
    Scene,
    SparsePoints,
    make_transform,
    read_camera_track,
    write_scene,
)

pytestmark = pytest.mark.interop

_IMPORT_SCRIPT = """
import bpy, json, sys
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.wm.usd_import(filepath=sys.argv[-1])
cam = next(o for o in bpy.data.objects if o.type == "CAMERA")
scene = bpy.context.scene
out = {"lens": cam.data.lens, "sensor_width": cam.data.sensor_width, "frame_start": scene.frame_start,
       "frame_end": scene.frame_end, "fps": scene.render.fps / scene.render.fps_base, "locations": {}}
for f in (scene.frame_start, scene.frame_end):
    scene.frame_set(f)
    out["locations"][f] = list(cam.matrix_world.translation)
print("RESULT" + json.dumps(out))
"""


def test_blender_imports_focal_length_frames_and_motion(tmp_path):
    python = os.environ.get("SCENEFORGE_BLENDER_PYTHON")
    if not python:
        pytest.skip("set SCENEFORGE_BLENDER_PYTHON to a Python with Blender's bpy module")
    width, height = 1920, 1080
    k = Intrinsics.from_focal(focal_px=35.0 / 36.0 * width, width=width, height=height)
    n = 5
    poses = np.stack([make_transform(np.eye(3), [0.5 * i, 1.5, 4.0]) for i in range(n)])
    track = CameraTrack(
        intrinsics=(k,) * n, world_from_cam=poses, frame_numbers=np.arange(10, 10 + n), fps=25.0,
        status=np.full(n, FrameStatus.SOLVED, np.int8),
    )
    scene = write_scene(tmp_path, track)
    script = tmp_path / "import.py"
    script.write_text(_IMPORT_SCRIPT)
    done = subprocess.run([python, str(script), "--", str(scene)], capture_output=True, text=True, check=True)
    result = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("RESULT"))[6:])
    assert result["lens"] == pytest.approx(35.0, abs=1e-3)
    assert result["sensor_width"] == pytest.approx(36.0, abs=1e-3)
    assert (result["frame_start"], result["frame_end"]) == (10, 14)
    # Blender (4.2) keeps its scene's own frame rate on import; time codes map one to one onto frames
    assert result["fps"] > 0
    # Blender is Z-up: our +X move stays +X; the height (our +Y) becomes Blender's +Z
    first, last = (np.array(result["locations"][str(f)]) for f in (10, 14))
    np.testing.assert_allclose(last - first, [2.0, 0.0, 0.0], atol=1e-4)
    assert first[2] == pytest.approx(1.5, abs=1e-4)


# -- an edited camera ---------------------------------------------------------------------------

_EDITED_CAMERA_SCRIPT = """
import bpy, json, sys
bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.wm.usd_import(filepath=sys.argv[-1])
cam = next(o for o in bpy.data.objects if o.type == "CAMERA")
scene = bpy.context.scene
action = cam.data.animation_data.action if cam.data.animation_data else None
out = {"lens_animated": bool(action and any(fc.data_path == "lens" for fc in action.fcurves)),
       "sensor_width": cam.data.sensor_width, "frames": {}}
for f in range(scene.frame_start, scene.frame_end + 1):
    scene.frame_set(f)
    out["frames"][f] = {"lens": cam.data.lens, "matrix_world": [list(row) for row in cam.matrix_world]}
print("RESULT" + json.dumps(out))
"""

# Blender is Z-up; its USD importer turns a Y-up stage +90° about X: (x, y, z) -> (x, -z, y).
_ZUP_FROM_YUP = np.array([[1.0, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1]])
_USDCAM_FROM_CVCAM = np.diag([1.0, -1.0, -1.0, 1.0])  # Blender cameras, like USD's, look down -Z with +Y up
_WIDTH, _HEIGHT, _LENS_MM = 1920, 1080, 35.0
_FIRST, _NUM_FRAMES = 10, 6


@pytest.fixture(scope="module")
def edited_camera(tmp_path_factory):
    """A 35 mm camera, zoomed ×2 and orbited 20° through :class:`Scene`, saved, imported by Blender.

    Returns (what Blender read, the track :func:`read_camera_track` reads from the saved scene).
    """
    python = os.environ.get("SCENEFORGE_BLENDER_PYTHON")
    if not python:
        pytest.skip("set SCENEFORGE_BLENDER_PYTHON to a Python with Blender's bpy module")
    folder = tmp_path_factory.mktemp("edited_camera")
    k = Intrinsics.from_focal(focal_px=_LENS_MM / 36.0 * _WIDTH, width=_WIDTH, height=_HEIGHT)
    looking_down_minus_z = np.diag([1.0, -1.0, -1.0])  # OpenCV camera: +Z forward = world -Z, +Y down = world -Y
    poses = np.stack([make_transform(looking_down_minus_z, [0.2 * i, 1.5, 4.0]) for i in range(_NUM_FRAMES)])
    # Sparse points in front of the camera give the orbit its default pivot (what frame one looks at).
    rng = np.random.default_rng(0)
    points = rng.uniform([-1.0, 0.0, -1.0], [1.0, 1.0, 1.0], (200, 3))
    track = CameraTrack(
        intrinsics=(k,) * _NUM_FRAMES, world_from_cam=poses, frame_numbers=np.arange(_FIRST, _FIRST + _NUM_FRAMES),
        fps=25.0, status=np.full(_NUM_FRAMES, FrameStatus.SOLVED, np.int8),
        points=SparsePoints(points, np.full((200, 3), 128, np.uint8), np.zeros(200)),
    )
    path = write_scene(folder, track)
    scene = Scene.open(path)
    scene.camera.zoom(2.0)
    scene.camera.orbit(20)
    scene.save()
    script = folder / "import.py"
    script.write_text(_EDITED_CAMERA_SCRIPT)
    done = subprocess.run([python, str(script), "--", str(path)], capture_output=True, text=True, check=True)
    result = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("RESULT"))[6:])
    return result, read_camera_track(path)


def test_blender_imports_an_orbited_camera_path(edited_camera):
    result, track = edited_camera
    last = _FIRST + _NUM_FRAMES - 1
    assert sorted(int(f) for f in result["frames"]) == list(range(_FIRST, last + 1))
    # the orbit moved the last camera (else the comparison below proves nothing about the edit)
    unedited_last_centre = np.array([0.2 * (_NUM_FRAMES - 1), 1.5, 4.0])
    assert np.linalg.norm(track.world_from_cam[-1, :3, 3] - unedited_last_centre) > 0.5
    for index, frame in ((0, _FIRST), (-1, last)):
        in_blender = np.array(result["frames"][str(frame)]["matrix_world"])
        expected = _ZUP_FROM_YUP @ track.world_from_cam[index] @ _USDCAM_FROM_CVCAM
        np.testing.assert_allclose(in_blender[:3, 3], expected[:3, 3], atol=1e-4)  # the camera centre
        np.testing.assert_allclose(in_blender[:3, :3], expected[:3, :3], atol=1e-4)  # its orientation


def test_blender_lens_after_a_zoom(edited_camera):
    """Our zoom writes ``focalLength`` time samples (× 2 at the last frame). Blender 4.2's USD
    importer reads a camera's focal length once, at the first time sample, and ignores its
    animation: the lens imports as the first frame's (unzoomed) 35 mm at every frame.
    The scene itself is right (read_camera_track and usdview see the zoom); a newer Blender
    that imports the animated lens must give 2× the lens at the last frame."""
    result, track = edited_camera
    lens_mm = np.array([i.fx / i.width * 36.0 for i in track.intrinsics])  # our 36 mm film back
    assert lens_mm[0] == pytest.approx(_LENS_MM) and lens_mm[-1] == pytest.approx(2.0 * _LENS_MM)
    assert result["sensor_width"] == pytest.approx(36.0, abs=1e-3)
    imported = np.array([result["frames"][str(f)]["lens"] for f in track.frame_numbers])
    if result["lens_animated"]:
        np.testing.assert_allclose(imported, lens_mm, atol=1e-3)
        assert imported[-1] == pytest.approx(2.0 * imported[0], abs=1e-3)
    else:
        # Blender limitation (4.2): a time-varying focal length is imported as one static lens.
        np.testing.assert_allclose(imported, lens_mm[0], atol=1e-3)
