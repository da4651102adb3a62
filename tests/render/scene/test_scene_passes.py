"""The scene renderer: frame numbers, cameras and object ids per frame; moving objects played back."""

from __future__ import annotations

import numpy as np
import pytest

from sceneforge.render import RenderPasses
from sceneforge.render.scene import FramePasses, iter_scene_passes
from sceneforge.scenegraph import InputError, open_stage, read_camera_track
from tests.scenegraph.usd.test_objects import SEEN, shot  # noqa: F401 - the fixture: a crate and a moving ball


def test_frames_come_with_their_number_camera_and_stable_object_ids(shot):  # noqa: F811
    scene = shot / "scene.usda"
    track = read_camera_track(scene)
    numbers = track.frame_numbers[1:]
    frames = list(iter_scene_passes(scene, track, frame_numbers=numbers, passes=("object_id", "coverage")))
    assert [f.frame_number for f in frames] == numbers.tolist()
    assert all(isinstance(f, FramePasses) and isinstance(f.passes, RenderPasses) for f in frames)
    assert all(f.passes.passes == ("coverage", "object_id") for f in frames)
    for f in frames:
        i = track.index_of(f.frame_number)
        assert f.intrinsics == track.intrinsics[i]
        np.testing.assert_array_equal(f.world_from_cam, track.world_from_cam[i])
    paths = frames[0].object_paths
    assert all(f.object_paths == paths for f in frames)
    (ball,) = [i for i, path in paths.items() if "ball" in path]
    (crate,) = [i for i, path in paths.items() if "crate" in path]
    for f in frames:
        assert (f.passes.object_id == crate).any(), f.frame_number  # the static crate, uploaded once
        assert (f.passes.object_id == ball).any() == (f.frame_number in SEEN), f.frame_number


def test_bad_requests_fail_before_anything_is_rendered(shot):  # noqa: F811
    scene = shot / "scene.usda"
    track = read_camera_track(scene)
    with pytest.raises(InputError, match="unknown render pass"):
        iter_scene_passes(scene, track, passes=("albedo",))
    with pytest.raises(InputError):
        iter_scene_passes(scene, track, frame_numbers=[int(track.frame_numbers[-1]) + 1])
    with pytest.raises(InputError, match="no frame"):
        iter_scene_passes(scene, track, frame_numbers=[])


def test_an_open_stage_renders_like_its_file(shot):  # noqa: F811
    scene = shot / "scene.usda"
    track = read_camera_track(scene)
    number = [int(SEEN[0])]
    (from_file,) = iter_scene_passes(scene, track, frame_numbers=number, passes=("rgb",))
    (from_stage,) = iter_scene_passes(open_stage(scene), track, frame_numbers=number, passes=("rgb",))
    np.testing.assert_array_equal(from_file.passes.rgb, from_stage.passes.rgb)
