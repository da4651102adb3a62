"""The run folder's stage cache: results come back as saved, under the key that made them only."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sceneforge.engine.cache import DepthStore, StageCache, stage_key
from sceneforge.reconstruct import TrackedMasks
from sceneforge.scenegraph import CameraTrack, DepthMap, DepthMaps, Intrinsics, SolveReport, SparsePoints, TexturedMesh


def _track(n: int = 4) -> CameraTrack:
    poses = np.repeat(np.eye(4)[None], n, axis=0)
    poses[:, 0, 3] = np.arange(n) * 0.1
    k = Intrinsics.from_focal(focal_px=100.0, width=64, height=48)
    points = SparsePoints(np.random.default_rng(0).random((5, 3)), np.full((5, 3), 128, np.uint8), np.full(5, 0.5))
    report = SolveReport(
        backend="test", num_frames=n, num_solved=n, num_localized=0, num_interpolated=0, mean_error_px=0.4, max_error_px=0.6
    )
    return CameraTrack(
        intrinsics=(k,) * n, world_from_cam=poses, frame_numbers=np.arange(10, 10 + 2 * n, 2), fps=24.0,
        status=np.zeros(n, np.int8), points=points, report=report,
    )


def test_stage_key_is_stable_and_tells_inputs_apart():
    assert stage_key(a=1, b=[1, 2]) == stage_key(b=[1, 2], a=1)
    assert stage_key(a=1) != stage_key(a=2)
    assert len(stage_key(a=1)) == 16


def test_track_round_trips_under_its_key_only(tmp_path):
    cache = StageCache(tmp_path)
    track = _track()
    assert cache.load_track("camera_solve", "k1") is None
    cache.save_track("camera_solve", "k1", track)
    back = cache.load_track("camera_solve", "k1")
    np.testing.assert_array_equal(back.world_from_cam, track.world_from_cam)
    np.testing.assert_array_equal(back.frame_numbers, track.frame_numbers)
    assert back.intrinsics[0] == track.intrinsics[0] and back.intrinsics[0] is back.intrinsics[-1]
    assert back.report.backend == "test" and len(back.points) == 5
    assert cache.load_track("camera_solve", "other key") is None


def test_a_damaged_entry_is_recomputed_not_raised(tmp_path):
    cache = StageCache(tmp_path)
    cache.save_track("camera_solve", "k", _track())
    (tmp_path / "camera_solve.npz").write_bytes(b"not a zip file")
    assert cache.load_track("camera_solve", "k") is None
    (tmp_path / "camera_solve.json").write_text("{")
    assert cache.load_track("camera_solve", "k") is None


def test_an_entry_of_another_format_is_ignored(tmp_path):
    cache = StageCache(tmp_path)
    cache.save_track("camera_solve", "k", _track())
    meta = tmp_path / "camera_solve.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "format": 999}))
    assert cache.load_track("camera_solve", "k") is None


def test_mesh_and_masks_round_trip(tmp_path):
    cache = StageCache(tmp_path)
    mesh = TexturedMesh(
        vertices=np.random.default_rng(1).random((4, 3)), faces=np.array([[0, 1, 2], [0, 2, 3]], dtype=np.int32),
        vertex_colors=np.full((4, 3), 128, np.uint8),
    )
    cache.save_mesh("background", "m", mesh)
    back = cache.load_mesh("background", "m")
    np.testing.assert_array_equal(back.faces, mesh.faces)
    np.testing.assert_allclose(back.vertices, mesh.vertices)
    assert back.uv is None and back.texture is None

    masks = np.zeros((3, 8, 10), bool)
    masks[:, 2:5, 3:7] = True
    tracked = TrackedMasks(
        name="cup", masks=masks, quality=np.array([1.0, 0.8, 0.7], np.float32), prompt_frame=0,
        frame_numbers=np.array([0, 1, 2]), motion=("prompt", "flow", "flow"),
    )
    cache.save_masks("object_cup", "t", tracked)
    got = cache.load_masks("object_cup", "t")
    np.testing.assert_array_equal(got.masks, masks)
    assert got.name == "cup" and got.motion == tracked.motion


def test_clear_removes_every_entry(tmp_path):
    cache = StageCache(tmp_path)
    cache.save_track("camera_solve", "k", _track())
    raw = DepthStore(tmp_path / "depth_raw", "k")  # per-frame raw depth lives in a sub-folder (--fresh clears it too)
    raw.save(_depth(3))
    cache.clear()
    assert cache.load_track("camera_solve", "k") is None
    assert not any(tmp_path.iterdir())


def test_no_temporary_file_is_left_behind(tmp_path):
    cache = StageCache(tmp_path)
    cache.save_track("camera_solve", "k", _track())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["camera_solve.json", "camera_solve.npz"]


def _depth(number: int, value: float = 2.0) -> DepthMap:
    depth = np.full((6, 8), value, np.float32)
    return DepthMap(depth=depth, confidence=np.full((6, 8), 0.5, np.float32), frame_number=number)


def test_depth_store_keeps_frames_under_its_key(tmp_path):
    store = DepthStore(tmp_path / "depth", "a")
    store.save(_depth(12, 3.0))
    assert store.has(12) and not store.has(13)
    assert store.path(12).name == "000012.npz"
    back = store.load(12)
    assert back.frame_number == 12 and float(back.depth[0, 0]) == 3.0
    # confidence is stored at half precision
    assert back.confidence.dtype == np.float32 and abs(float(back.confidence[0, 0]) - 0.5) < 1e-3
    assert DepthStore(tmp_path / "depth", "a").has(12)  # same key: resumed
    assert not DepthStore(tmp_path / "depth", "b").has(12)  # another key: stale frames removed


def test_depth_store_loads_depth_maps_keyed_by_frame_number(tmp_path):
    store = DepthStore(tmp_path / "depth", "a")
    for n in (4, 6, 8):
        store.save(_depth(n, float(n)))
    depths = store.load_all([8, 4, 6])
    assert isinstance(depths, DepthMaps)
    assert list(depths) == [4, 6, 8] and float(depths[6].depth[0, 0]) == 6.0
    with pytest.raises(FileNotFoundError):
        store.load(5)
