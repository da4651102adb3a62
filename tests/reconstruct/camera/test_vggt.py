"""The VGGT camera solver and depth backend, against a STAND-IN for the official ``vggt`` package.

The stand-in (``_vggt_standin.py``) is not VGGT: it is a tiny package the test writes into
``tmp_path`` that honours VGGT's documented output contract (``pose_enc`` with a scalar-last
quaternion and fields of view, ``depth``, ``depth_conf``, ``world_points`` …, the first frame of
each call at the origin, an arbitrary scale per call) and answers as an oracle with the exact
geometry of a synthetic clip stored in its checkpoint, optionally with noise. A check of the
real network (even randomly initialised at its real shapes) is not possible here: the official
package is not installable from a registry and no weights exist locally; the stand-in is the test.
"""

from __future__ import annotations

import sys
import tracemalloc

import numpy as np
import pytest

from sceneforge.scenegraph import (
    CameraTrack,
    DependencyError,
    Frames,
    FrameStatus,
    InputError,
    Intrinsics,
    SparsePoints,
    quat_wxyz_from_rotation,
    rotation_about_axis,
    similarity_from_points,
)
from tests.reconstruct.camera._vggt_standin import render_scene, standin_state, write_standin_package

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from sceneforge.reconstruct.camera import VGGTSolver, VGGTSolverConfig  # noqa: E402
from sceneforge.reconstruct.camera._vggt import (  # noqa: E402
    NetworkGrid,
    decode_pose_encoding,
    plan_chunks,
    quat_xyzw_to_rotation,
    rotation_to_quat_xyzw,
)
from sceneforge.reconstruct.depth import VGGTDepth, VGGTDepthConfig  # noqa: E402

N, W, H = 14, 160, 120
RES = 168  # network width for the tests (a multiple of 14): 168×126


class _NotATensor:
    """Something a weights-only loader must refuse to unpickle."""


@pytest.fixture(scope="module")
def scene() -> dict:
    return render_scene(n=N, width=W, height=H)


@pytest.fixture
def standin(tmp_path, monkeypatch, scene):
    """Put the stand-in ``vggt`` package on sys.path; returns ``save(name, **noise) -> path``."""
    from safetensors.torch import save_file

    write_standin_package(tmp_path / "site", num_frames=N, height=H, width=W)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for name in [m for m in sys.modules if m == "vggt" or m.startswith("vggt.")]:
        monkeypatch.delitem(sys.modules, name)

    def save(name: str = "clean.safetensors", **noise) -> str:
        path = tmp_path / name
        save_file(standin_state(scene, **noise), str(path))
        return str(path)

    yield save
    for name in [m for m in sys.modules if m == "vggt" or m.startswith("vggt.")]:
        sys.modules.pop(name, None)


def _frames(scene) -> Frames:
    return Frames(images=scene["images"], fps=24.0, frame_numbers=np.arange(100, 100 + N))


def _centre_error(track: CameraTrack, scene) -> float:
    """Largest camera-centre error after the best similarity, as a share of the path's length."""
    truth = scene["world_from_cam"][:, :3, 3]
    sim = similarity_from_points(track.camera_centers(), truth)
    path = float(np.linalg.norm(truth[-1] - truth[0]))
    return float(np.max(np.linalg.norm(sim.apply_points(track.camera_centers()) - truth, axis=1)) / path)


def _solve(model: str, scene, **options) -> CameraTrack:
    options = {"resolution": RES, "device": "cpu", **options}
    return VGGTSolverConfig(model=model, **options).build().solve(_frames(scene))


# -- conventions --------------------------------------------------------------------------


def test_quaternion_is_scalar_last_on_known_rotations():
    s = np.sqrt(0.5)
    # 90° about +z: x -> y
    np.testing.assert_allclose(quat_xyzw_to_rotation([0, 0, s, s]), [[0, -1, 0], [1, 0, 0], [0, 0, 1]], atol=1e-12)
    # 180° about +x
    np.testing.assert_allclose(quat_xyzw_to_rotation([1, 0, 0, 0]), np.diag([1.0, -1, -1]), atol=1e-12)
    np.testing.assert_allclose(quat_xyzw_to_rotation([0, 0, 0, 2.0]), np.eye(3), atol=1e-12)
    rng = np.random.default_rng(0)
    for _ in range(20):
        axis = rng.normal(size=3)
        r = rotation_about_axis(axis / np.linalg.norm(axis), float(rng.uniform(-3.1, 3.1)))
        q = rotation_to_quat_xyzw(r)
        wxyz = quat_wxyz_from_rotation(r)
        wxyz = wxyz if wxyz[0] >= 0 else -wxyz
        np.testing.assert_allclose(q, [*wxyz[1:], wxyz[0]], atol=1e-9)
        np.testing.assert_allclose(quat_xyzw_to_rotation(q), r, atol=1e-9)


def test_pose_encoding_decodes_to_opencv_camera_and_centred_k():
    r = rotation_about_axis(np.array([0, 1.0, 0]), 0.3)
    enc = np.array([[1.0, 2.0, 3.0, *rotation_to_quat_xyzw(r), 2 * np.arctan(63 / 100.0), 2 * np.arctan(84 / 120.0)]])
    cam_from_world, k = decode_pose_encoding(enc, height=126, width=168)
    np.testing.assert_allclose(cam_from_world[0, :3, :3], r, atol=1e-12)
    np.testing.assert_allclose(cam_from_world[0, :3, 3], [1, 2, 3])
    np.testing.assert_allclose(k[0], [[120, 0, 84], [0, 100, 63], [0, 0, 1]], atol=1e-9)


def test_network_grid_maps_k_and_pixels_back_exactly():
    grid = NetworkGrid.plan(1920, 1080, 518)
    assert (grid.net_width, grid.net_height) == (518, 294) and grid.net_height % 14 == 0
    portrait = NetworkGrid.plan(720, 1280, 518)  # taller than wide: centre-cropped like VGGT's 'crop'
    assert portrait.net_height == 518 and portrait.top > 0
    for g in (grid, portrait):
        k = np.array([[900.0, 0, g.width / 2 + 3], [0, 905.0, g.height / 2 - 2], [0, 0, 1]])
        np.testing.assert_allclose(g.k_to_frame(g.k_to_network(k)), k, atol=1e-9)
        px = np.array([[10.5, 20.25], [g.width / 2, g.height / 2]])
        np.testing.assert_allclose(g.from_network(g.to_network(px)), px, atol=1e-9)
    with pytest.raises(InputError, match="multiple of 14"):
        NetworkGrid.plan(640, 480, 500)
    assert [len(c) for c in plan_chunks(14, 6, 3)] == [6, 6, 6, 6] and plan_chunks(14, 6, 3)[-1][-1] == 13


def test_configs_build_their_backends_and_check_options():
    assert isinstance(VGGTSolverConfig(model="m.safetensors").build(), VGGTSolver)
    assert isinstance(VGGTDepthConfig(model="m.safetensors").build(), VGGTDepth)
    with pytest.raises(InputError, match="overlap"):
        VGGTSolverConfig(chunk_size=8, overlap=8)
    with pytest.raises(InputError, match="device"):
        VGGTSolverConfig(device="tpu")
    with pytest.raises(InputError, match="multiple of 14"):
        VGGTDepthConfig(resolution=512)


# -- the solver ---------------------------------------------------------------------------


def test_chunked_solve_stitches_to_ground_truth_at_flat_memory(standin, scene):
    model = standin()
    from vggt.models import vggt as standin_module

    tracemalloc.start()
    whole = _solve(model, scene, chunk_size=N, bundle_adjust=False)
    _, peak_whole = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    calls_whole = list(standin_module.CALLS)
    tracemalloc.start()
    chunked = _solve(model, scene, chunk_size=6, overlap=3, bundle_adjust=False)
    _, peak_chunked = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    calls_chunked = standin_module.CALLS[len(calls_whole):]

    assert calls_whole == [N] and max(calls_chunked) <= 6 and len(calls_chunked) == 4
    # every chunk comes at its own arbitrary scale; stitched, the path is the truth's
    assert _centre_error(whole, scene) < 1e-5
    assert _centre_error(chunked, scene) < 1e-4
    np.testing.assert_allclose(chunked.intrinsics[0].K, scene["K"], atol=1e-3)
    assert peak_chunked < peak_whole
    assert isinstance(chunked, CameraTrack) and np.all(chunked.status == FrameStatus.SOLVED)
    assert chunked.report.backend == "vggt" and chunked.report.num_solved == N
    np.testing.assert_array_equal(chunked.frame_numbers, np.arange(100, 100 + N))
    assert len(chunked.points) > 50 and chunked.points.colors.dtype == np.uint8
    # +Y up after align_world: the cameras' up (-Y in OpenCV) points along world +Y
    assert np.mean(-chunked.world_from_cam[:, 1, 1]) > 0.9


def test_bundle_adjustment_reaches_subpixel_error_on_a_noisy_standin(standin, scene):
    model = standin("noisy.safetensors", rot_noise=0.01, trans_noise=0.03, focal_noise=0.02, depth_noise=0.01)
    raw = _solve(model, scene, chunk_size=6, overlap=3, bundle_adjust=False)
    adjusted = _solve(model, scene, chunk_size=6, overlap=3)
    assert raw.report.mean_error_px > 1.0
    assert adjusted.report.mean_error_px < 1.0
    assert adjusted.report.mean_error_px < 0.5 * raw.report.mean_error_px
    assert _centre_error(adjusted, scene) < _centre_error(raw, scene)
    assert any("bundle adjustment" in m for m in adjusted.report.messages)


def test_known_intrinsics_are_kept_exactly(standin, scene):
    model = standin("noisy.safetensors", rot_noise=0.01, trans_noise=0.03, focal_noise=0.05)
    known = Intrinsics(K=scene["K"].copy(), width=W, height=H)
    track = _solve(model, scene, chunk_size=7, overlap=3, intrinsics=known)
    assert all(i == known for i in track.intrinsics)
    assert "fixed_intrinsics" in track.report.flags
    focal = _solve(model, scene, chunk_size=7, overlap=3, focal_px=131.5)
    assert all(i.fx == 131.5 and i.fy == 131.5 and (i.cx, i.cy) == (W / 2, H / 2) for i in focal.intrinsics)
    with pytest.raises(InputError, match="known intrinsics"):
        _solve(model, scene, intrinsics=known.scaled(0.5))


def test_one_camera_for_the_clip_or_one_per_frame(standin, scene):
    model = standin("noisy.safetensors", rot_noise=0.005, trans_noise=0.01, focal_noise=0.03)
    shared = _solve(model, scene, chunk_size=N, bundle_adjust=False)
    assert shared.single_camera
    per_frame = _solve(model, scene, chunk_size=N, bundle_adjust=False, camera_per_frame=True)
    assert not per_frame.single_camera
    assert len({i.fx for i in per_frame.intrinsics}) > N // 2


def test_ignore_masks_keep_points_off_masked_pixels(standin, scene):
    model = standin()

    def on_box(track: CameraTrack) -> int:
        sim = similarity_from_points(track.camera_centers(), scene["world_from_cam"][:, :3, 3])
        p = sim.apply_points(track.points.points_in_world)
        inside = (p[:, 0] > -0.33) & (p[:, 0] < 0.53) & (p[:, 1] > 0.07) & (p[:, 1] < 0.95) & (p[:, 2] > 2.47) & (p[:, 2] < 3.13)
        return int(inside.sum())

    assert on_box(_solve(model, scene, chunk_size=N, bundle_adjust=False)) > 10
    masked = _solve(model, scene, chunk_size=N, bundle_adjust=False, ignore_masks=scene["box"])
    assert on_box(masked) == 0 and len(masked.points) > 30
    with pytest.raises(InputError, match="ignore masks"):
        _solve(model, scene, ignore_masks=np.zeros((H, W), np.uint8))


# -- loading ------------------------------------------------------------------------------


def test_missing_package_is_one_line_saying_how_to_install(monkeypatch, scene):
    monkeypatch.setitem(sys.modules, "vggt", None)  # import vggt raises ImportError
    monkeypatch.delitem(sys.modules, "vggt.models", raising=False)
    monkeypatch.delitem(sys.modules, "vggt.models.vggt", raising=False)
    with pytest.raises(DependencyError) as info:
        _solve("whatever.safetensors", scene)
    message = str(info.value)
    assert "\n" not in message
    assert "github.com/facebookresearch/vggt" in message and "facebook/VGGT-1B" in message and "pip install" in message


def test_missing_or_unsafe_checkpoint_is_refused(standin, scene, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        _solve(str(tmp_path / "absent.safetensors"), scene)
    with pytest.raises(InputError, match="needs model weights"):
        _solve(None, scene)
    with pytest.raises(InputError, match="neither a folder nor a repo id"):
        _solve("someone/not-cached-vggt", scene)
    unsafe = tmp_path / "unsafe.pt"
    torch.save({"images": _NotATensor()}, unsafe)
    with pytest.raises(InputError, match="weights_only"):
        _solve(str(unsafe), scene)
    wrong = tmp_path / "wrong.pt"
    torch.save({"other": torch.zeros(2)}, wrong)
    with pytest.raises(InputError, match="not a VGGT checkpoint"):
        _solve(str(wrong), scene)


def test_torch_checkpoint_and_pretrained_folder_load(standin, scene, tmp_path):
    from safetensors.torch import save_file

    state = standin_state(scene)
    pt = tmp_path / "model.pt"
    torch.save(state, pt)
    folder = tmp_path / "VGGT-1B"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    save_file(state, str(folder / "model.safetensors"))
    for model in (str(pt), str(folder)):
        assert _centre_error(_solve(model, scene, chunk_size=N, bundle_adjust=False), scene) < 1e-5
    (folder / "model.safetensors").unlink()
    with pytest.raises(InputError, match="model.safetensors"):
        _solve(str(folder), scene)


# -- depth --------------------------------------------------------------------------------


def test_vggt_depth_is_on_the_frame_grid_and_scaled_to_the_track(standin, scene):
    model = standin()
    frames = _frames(scene)
    # the track in its own units (2.5× the scene's); points from the true depth
    scale = 2.5
    poses = scene["world_from_cam"].copy()
    poses[:, :3, 3] *= scale
    k = Intrinsics(K=scene["K"], width=W, height=H)
    rng = np.random.default_rng(0)
    pts = []
    for i in range(0, N, 3):
        rows, cols = rng.integers(0, H, 60), rng.integers(0, W, 60)
        d = scene["depth"][i, rows, cols]
        ok = d > 0
        in_cam = k.unproject(np.stack([cols[ok] + 0.5, rows[ok] + 0.5], 1), d[ok])
        pts.append((in_cam @ scene["world_from_cam"][i, :3, :3].T + scene["world_from_cam"][i, :3, 3]) * scale)
    pts = np.concatenate(pts)
    track = CameraTrack(
        intrinsics=(k,) * N, world_from_cam=poses, frame_numbers=frames.frame_numbers, fps=24.0,
        status=np.zeros(N, np.int8), points=SparsePoints(pts, np.zeros((len(pts), 3), np.uint8), np.zeros(len(pts))),
    )
    with pytest.raises(InputError, match="does not exist"):  # at the call, not at the first frame
        VGGTDepthConfig(model=model + ".absent.safetensors").build().estimate(frames, track)
    estimator = VGGTDepthConfig(model=model, resolution=RES, chunk_size=5, device="cpu").build()
    with pytest.raises(InputError, match="indices"):
        estimator.estimate(frames, track, indices=[0, N])
    wanted = [13, 2, 7, 0, 5, 9]
    out = list(estimator.estimate(frames, track, indices=wanted))
    assert [i for i, _ in out] == wanted
    for i, depth in out:
        assert depth.depth.shape == (H, W) and depth.frame_number == 100 + i
        truth = scene["depth"][i] * scale
        both = (depth.depth > 0) & (truth > 0)
        assert both.mean() > 0.8
        assert abs(float(np.median(depth.depth[both] / truth[both])) - 1.0) < 0.01
        assert np.all(depth.confidence[depth.depth == 0] == 0)
        assert 0.9 < float(depth.confidence[both].mean()) <= 1.0


def test_solver_then_depth_agree_with_the_truth_up_to_the_tracks_scale(standin, scene):
    model = standin("noisy.safetensors", rot_noise=0.005, trans_noise=0.02, focal_noise=0.01, depth_noise=0.01)
    stages: list[tuple[str, int, int]] = []
    frames = _frames(scene)
    track = VGGTSolverConfig(model=model, resolution=RES, device="cpu", chunk_size=6, overlap=3).build().solve(
        frames, progress=lambda stage, done, total: stages.append((stage, done, total))
    )
    assert ("vggt chunks", 4, 4) in stages and ("bundle adjustment", 1, 1) in stages
    to_truth = similarity_from_points(track.camera_centers(), scene["world_from_cam"][:, :3, 3])
    for i, depth in VGGTDepthConfig(model=model, resolution=RES, chunk_size=6, device="cpu").build().estimate(
        frames, track, indices=[1, 8, 12]
    ):
        truth = scene["depth"][i]
        both = (depth.depth > 0) & (truth > 0)
        assert abs(float(np.median(depth.depth[both] * to_truth.scale / truth[both])) - 1.0) < 0.03
