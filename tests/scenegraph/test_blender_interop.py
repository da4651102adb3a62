"""Blender imports our USD camera right: a 35 mm lens is 35 mm, on the clip's frame numbers.

Blender's Python module (``bpy`` on PyPI) needs its own Python version, so this test
runs it in a separate interpreter named by ``SCENEFORGE_BLENDER_PYTHON`` (a Python with
``bpy`` installed) and skips when that is not set. Run it with
``pytest -m interop tests/scenegraph/test_blender_interop.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from sceneforge.scenegraph import CameraTrack, FrameStatus, Intrinsics, make_transform, write_scene

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
