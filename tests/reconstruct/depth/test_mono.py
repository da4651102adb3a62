"""Monocular depth through transformers (Depth Anything, Depth Pro, Prompt Depth Anything):
tiny random models of the real architectures, saved with save_pretrained and loaded by path;
preprocessing against the processors; alignment to sparse points and to MVS depth on scenes
with exact depth made here (a stub network that predicts the truth checks the units)."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("transformers")

from sceneforge.reconstruct.depth import (  # noqa: E402
    NOMINAL_CONFIDENCE,
    MonoDepthConfig,
    PlaneSweepConfig,
    align_metric_depth,
    align_relative_depth,
)
from sceneforge.reconstruct.depth._mono import (  # noqa: E402
    depth_anything_input_size,
    preprocess_depth_anything,
    preprocess_depth_pro,
    sparse_prompt_depth,
)
from sceneforge.scenegraph import (  # noqa: E402
    CameraTrack,
    DependencyError,
    DepthMap,
    Frames,
    FrameStatus,
    InputError,
    Intrinsics,
    RelativeDepth,
    SolveError,
    SparsePoints,
    make_transform,
    rotation_about_axis,
)
from tests.conftest import textured_image  # noqa: E402
from tests.reconstruct._synthetic import pan_clip  # noqa: E402
from tests.reconstruct._tiny_depth_models import FAMILIES, TINY_RESOLUTION, save_tiny_depth_model  # noqa: E402
from tests.reconstruct.depth.test_depth import plane_scene, relative_scene  # noqa: E402
from tests.reconstruct.depth.test_patchmatch import WALL_Z, flat_wall_scene  # noqa: E402


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """family (or "depth-anything-metric") → folder of a tiny saved model."""
    root = tmp_path_factory.mktemp("tiny_depth")
    out = {family: save_tiny_depth_model(root / family, family) for family in FAMILIES}
    out["depth-anything-metric"] = save_tiny_depth_model(root / "da_metric", "depth-anything", metric=True)
    return out


def build(models, family, **options):
    folder = models[family]
    family = family.replace("-metric", "")
    return MonoDepthConfig(**{"family": family, "model": str(folder), "resolution": TINY_RESOLUTION[family], **options}).build()


def bare_track(intrinsics: Intrinsics, poses: np.ndarray, points: np.ndarray | None = None) -> CameraTrack:
    pts = np.zeros((0, 3)) if points is None else points
    n = len(poses)
    return CameraTrack(
        intrinsics=(intrinsics,) * n, world_from_cam=np.asarray(poses, np.float64), frame_numbers=np.arange(10, 10 + n),
        fps=24.0, status=np.full(n, FrameStatus.SOLVED, np.int8),
        points=SparsePoints(pts, np.zeros((len(pts), 3), np.uint8), np.zeros(len(pts))),
    )


class StubNetwork:
    """Stands in for the network: predicts ``target`` (H×W, the frame's grid) at the input's size."""

    def __init__(self, target: np.ndarray) -> None:
        self.target = target
        self.calls: list[dict] = []

    def __call__(self, pixel_values, **kwargs):
        import torch
        import torch.nn.functional as F

        self.calls.append({"pixel_values": tuple(pixel_values.shape), **{k: tuple(v.shape) for k, v in kwargs.items()}})
        target = torch.from_numpy(self.target.astype(np.float32))[None, None]
        out = F.interpolate(target, size=tuple(pixel_values.shape[-2:]), mode="bilinear", align_corners=False)
        return SimpleNamespace(predicted_depth=out[:, 0].expand(pixel_values.shape[0], -1, -1))


# -- configuration and loading ---------------------------------------------------------------


def test_config_is_registered_per_family_and_needs_no_parallax():
    from sceneforge.engine.registry import DEPTH

    for name in FAMILIES:
        assert MonoDepthConfig(family=name).needs_parallax is False
        if name not in DEPTH.names():
            pytest.skip(f"the registry does not list {name} here")
        config = DEPTH.config(name, model="somewhere")
        assert isinstance(config, MonoDepthConfig) and config.family == name
        assert config.needs_parallax is False


@pytest.mark.parametrize(
    "changes",
    [dict(family="midas"), dict(resolution=500), dict(mvs="colmap"), dict(batch_size=-1), dict(min_points=1),
     dict(fill_confidence=1.0), dict(device="tpu"), dict(precision="fp8"), dict(nominal_distance=0.0)],
)
def test_config_rejects_bad_values(changes):
    with pytest.raises(InputError):
        MonoDepthConfig(model="x", **changes)


def test_no_weights_is_one_line_naming_the_option():
    with pytest.raises(InputError, match="--depth.model") as error:
        MonoDepthConfig(family="depth-pro").build()
    assert "\n" not in str(error.value)


def test_missing_transformers_is_a_dependency_error(monkeypatch, models):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(DependencyError, match="transformers"):
        build(models, "depth-anything")


def test_weights_of_another_family_are_refused(models):
    with pytest.raises(InputError, match="depth_pro model.*depth_anything") as error:
        MonoDepthConfig(family="depth-pro", model=str(models["depth-anything"])).build()
    assert "\n" not in str(error.value)


def test_a_folder_without_a_model_is_refused(tmp_path):
    with pytest.raises(InputError, match="config.json"):
        MonoDepthConfig(model=str(tmp_path)).build()


# -- preprocessing ---------------------------------------------------------------------------


@pytest.mark.parametrize("height,width", [(90, 120), (600, 900), (518, 700)])
@pytest.mark.parametrize("processor", ["DPTImageProcessorPil", "PromptDepthAnythingImageProcessorPil"])
def test_depth_anything_preprocessing_matches_the_processor(processor, height, width):
    import transformers

    cls = getattr(transformers, processor)
    proc = cls(do_resize=True, size={"height": 518, "width": 518}, keep_aspect_ratio=True, ensure_multiple_of=14,
               resample=3, do_rescale=True, rescale_factor=1 / 255, do_normalize=True,
               image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225], do_pad=False)
    image = textured_image(height, width, seed=3)
    expected = proc(images=image, return_tensors="np")["pixel_values"]
    ours = preprocess_depth_anything(image[None], 518)
    assert ours.shape == expected.shape and ours.dtype == np.float32
    assert ours.shape[2] % 14 == 0 and ours.shape[3] % 14 == 0
    np.testing.assert_allclose(ours, expected, atol=1e-5)


def test_depth_anything_input_size_follows_the_documented_rule():
    # larger both ways: the short side at the resolution, the long side at the nearest multiple of 14
    assert depth_anything_input_size(1080, 1920, 518) == (518, 924)
    # smaller: the processor scales as little as possible (the long side to 518 here)
    assert depth_anything_input_size(240, 320, 518) == (392, 518)


def test_depth_pro_preprocessing_follows_its_processor():
    # DepthProImageProcessor needs torchvision: check the documented steps (rescale 1/255, mean
    # 0.5, std 0.5, then a bilinear resize without antialiasing to resolution²) independently
    image = np.zeros((1, 3, 4, 3), np.uint8)
    image[0, :, :, 0] = [[0, 51, 102, 255]] * 3
    image[0, :, :, 1] = 255
    out = preprocess_depth_pro(image, 8).numpy()
    assert out.shape == (1, 3, 8, 8) and out.dtype == np.float32
    np.testing.assert_allclose(out[0, 1], 1.0, atol=1e-6)  # 255 → 1
    np.testing.assert_allclose(out[0, 2], -1.0, atol=1e-6)  # 0 → −1
    # half-pixel bilinear along x, clamped at the border: output x at (j + 0.5) · 4/8 − 0.5 in input pixels
    src = (np.array([0, 51, 102, 255]) / 255 - 0.5) / 0.5
    x = np.clip((np.arange(8) + 0.5) * 0.5 - 0.5, 0, 3)
    expected = np.interp(x, np.arange(4), src)
    np.testing.assert_allclose(out[0, 0, 0], expected, atol=1e-6)


def test_prompt_from_sparse_points_is_dense_and_keeps_the_nearest_point():
    rng = np.random.default_rng(0)
    u, v = rng.uniform(0, 120, 300), rng.uniform(0, 90, 300)
    z = 2.0 + 0.01 * u + 0.02 * v  # linear in the pixel: interpolated exactly inside the hull
    prompt = sparse_prompt_depth(u, v, z, height=90, width=120, size_px=256)
    assert prompt.shape == (90, 120) and prompt.dtype == np.float32 and np.all(prompt > 0)
    v, u = np.mgrid[0:90, 0:120] + 0.5
    inside = (u > 15) & (u < 105) & (v > 15) & (v < 75)
    np.testing.assert_allclose(prompt[inside], (2.0 + 0.01 * u + 0.02 * v)[inside], rtol=1e-4)
    # two points in one cell: the nearer one (the farther is hidden behind it in this view)
    small = sparse_prompt_depth(np.array([5.0, 5.1, 60.0, 10.0]), np.array([5.0, 5.2, 50.0, 80.0]),
                                np.array([3.0, 1.0, 2.0, 2.0]), height=90, width=120, size_px=24)
    assert small.shape == (18, 24) and small.max() <= 2.0 + 1e-6 and small.min() == pytest.approx(1.0, abs=0.05)


# -- alignment -------------------------------------------------------------------------------


def test_inverse_depth_alignment_recovers_the_exact_depth():
    # relative_scene gives z; a disparity-like map with 1/z = 0.4 · d + 0.05
    relative, intrinsics, world_from_cam, points, z, _ = relative_scene(1.0, 0.0)
    d = ((1.0 / z - 0.05) / 0.4).astype(np.float32)
    inverse = RelativeDepth(value=d, valid=np.ones(d.shape, bool), frame_number=5, inverse=True)
    depth, scale, shift = align_relative_depth(inverse, intrinsics=intrinsics, world_from_cam=world_from_cam, points_in_world=points)
    assert scale == pytest.approx(0.4, rel=1e-5) and shift == pytest.approx(0.05, abs=1e-6)
    np.testing.assert_allclose(depth.depth, z, rtol=1e-5)
    assert np.all(depth.confidence == 1.0) and depth.frame_number == 5
    # inverse depth read as depth (or the reverse) is refused with the hint
    with pytest.raises(SolveError, match="inverse"):
        align_relative_depth(RelativeDepth(value=d, valid=inverse.valid, frame_number=5), intrinsics=intrinsics,
                             world_from_cam=world_from_cam, points_in_world=points)
    # max_depth drops the far pixels
    capped, _, _ = align_relative_depth(inverse, intrinsics=intrinsics, world_from_cam=world_from_cam, points_in_world=points,
                                        max_depth=float(np.median(z)))
    assert np.all(capped.depth <= np.median(z) + 1e-5) and 0.3 < capped.coverage < 0.7


def test_metric_scale_fit_is_exact_and_robust_to_occluded_points():
    _, intrinsics, world_from_cam, _, z, in_cam = relative_scene(1.0, 0.0)
    rng = np.random.default_rng(4)
    hidden = rng.random(len(in_cam)) < 0.3  # points behind the surface in this view: 1.3–2× farther
    in_cam = in_cam * np.where(hidden, rng.uniform(1.3, 2.0, len(in_cam)), 1.0)[:, None]
    points = in_cam @ world_from_cam[:3, :3].T + world_from_cam[:3, 3]
    metres = DepthMap(depth=(z / 2.5).astype(np.float32), confidence=np.ones(z.shape, np.float32), frame_number=5)
    scaled, scale = align_metric_depth(metres, intrinsics=intrinsics, world_from_cam=world_from_cam, points_in_world=points)
    assert scale == pytest.approx(2.5, rel=1e-5)
    np.testing.assert_allclose(scaled.depth, z, rtol=1e-5)
    assert scaled.confidence.max() == pytest.approx(1 - hidden.mean(), abs=0.02)
    with pytest.raises(InputError, match="at least"):
        align_metric_depth(metres, intrinsics=intrinsics, world_from_cam=world_from_cam, points_in_world=points[:3])


# -- the estimator ---------------------------------------------------------------------------


@pytest.mark.parametrize("family", [*FAMILIES, "depth-anything-metric"])
def test_tiny_models_give_depth_on_the_frame_grid(models, family):
    frames, track, _ = plane_scene(width=120, height=90)
    estimator = build(models, family)
    got = list(estimator.estimate(frames, track, indices=[2, 0]))
    assert [i for i, _ in got] == [2, 0]
    for index, depth in got:
        assert depth.frame_number == frames.frame_numbers[index]
        assert depth.depth.shape == (90, 120) and depth.depth.dtype == np.float32 and depth.confidence.dtype == np.float32
        assert np.all(np.isfinite(depth.depth)) and np.all(depth.depth >= 0) and depth.coverage > 0.5
        assert np.all((depth.confidence >= 0) & (depth.confidence <= 1)) and np.all(depth.confidence[depth.depth == 0] == 0)


def test_batches_give_the_same_depth_as_single_frames(models):
    frames, track, _ = plane_scene(width=120, height=90)
    one = dict(build(models, "depth-anything-metric", batch_size=1).estimate(frames, track, indices=[0, 1, 2]))
    three = dict(build(models, "depth-anything-metric", batch_size=3).estimate(frames, track, indices=[0, 1, 2]))
    for i in one:
        np.testing.assert_allclose(one[i].depth, three[i].depth, rtol=1e-4, atol=1e-5)


def tilted_scene(n_away: int = 1):
    """One camera over a smooth surface with exact points (relative_scene), plus ``n_away``
    cameras at the same place looking the other way (they see none of the points)."""
    _, intrinsics, world_from_cam, points, z, _ = relative_scene(1.0, 0.0)
    away = world_from_cam.copy()
    away[:3, :3] = world_from_cam[:3, :3] @ rotation_about_axis(np.array([0, 1.0, 0]), np.pi)
    poses = np.stack([world_from_cam] + [away] * n_away)
    images = np.stack([textured_image(48, 64, seed=i) for i in range(len(poses))])
    frames = Frames(images=images, fps=24.0, frame_numbers=np.arange(10, 10 + len(poses)))
    return frames, bare_track(intrinsics, poses, points), z


def test_relative_inverse_depth_is_aligned_to_the_points_and_borrowed_by_frames_without_them(models):
    frames, track, z = tilted_scene()
    estimator = build(models, "depth-anything", resolution=56)
    estimator.model = StubNetwork((1.0 / z - 0.05) / 0.4)  # the network's disparity: affine in 1/z
    (_, own), (_, borrowed) = list(estimator.estimate(frames, track))
    assert own.frame_number == 10 and borrowed.frame_number == 11
    # resampling to the network's grid and back costs a little: measured median 0.2 %, max 3 % at the border
    rel = np.abs(own.depth - z) / z
    assert np.median(rel) < 0.01 and own.coverage > 0.99
    # frame 11 sees no points: the fit of frame 0 (the stub predicts the same map there)
    np.testing.assert_allclose(borrowed.depth, own.depth, rtol=1e-6)
    assert borrowed.confidence.max() <= 0.5 * own.confidence.max() + 1e-6


def test_a_single_image_without_points_gets_nominal_or_metric_depth(models):
    intrinsics = Intrinsics.from_focal(focal_px=80.0, width=96, height=72)
    frames = Frames(images=textured_image(72, 96, seed=1)[None], fps=24.0, frame_numbers=np.array([10]))
    track = bare_track(intrinsics, np.eye(4)[None])
    (_, relative), = build(models, "depth-anything", nominal_distance=6.0).estimate(frames, track)
    assert relative.frame_number == 10 and relative.coverage > 0.5
    assert np.median(relative.depth[relative.depth > 0]) == pytest.approx(6.0, rel=0.05)
    assert relative.confidence.max() <= NOMINAL_CONFIDENCE + 1e-6
    # Depth Pro keeps metres: z = f / (W · canonical inverse depth), with the frame's own focal length
    estimator = build(models, "depth-pro")
    estimator.model = StubNetwork(np.full((72, 96), 0.25))
    (_, metric), = estimator.estimate(frames, track)
    np.testing.assert_allclose(metric.depth, 80.0 / (96 * 0.25), rtol=1e-5)
    (_, prompted), = build(models, "prompt-depth-anything").estimate(frames, track)  # no prompt: nominal
    assert prompted.coverage > 0.5


def test_a_pan_without_parallax_gets_depth(models):
    frames, k, rotations = pan_clip(n=3, width=96, height=72, focal_px=80.0)
    poses = np.stack([make_transform(r.T, np.zeros(3)) for r in rotations])
    track = bare_track(Intrinsics(K=k, width=96, height=72), poses)
    frames = Frames(images=frames.images, fps=24.0, frame_numbers=track.frame_numbers)
    got = list(build(models, "depth-anything", mvs="plane-sweep").estimate(frames, track))
    assert len(got) == 3 and all(d.coverage > 0.5 for _, d in got)


def test_mvs_fill_keeps_mvs_depth_and_fills_only_its_holes(models):
    frames, track, _, flat = flat_wall_scene(width=160, height=120)
    (_, mvs), = PlaneSweepConfig(device="cpu").build().estimate(frames, track, indices=[0])
    assert (mvs.depth[flat] > 0).mean() < 0.5  # the textureless middle: MVS has no depth there
    estimator = build(models, "depth-anything-metric", mvs="plane-sweep", fill_confidence=0.25)
    estimator.model = StubNetwork(np.full((120, 160), 0.8))  # metric, a wrong scale: 0.8 m for a wall at 2
    (_, depth), = estimator.estimate(frames, track, indices=[0])
    np.testing.assert_array_equal(depth.depth[mvs.valid], mvs.depth[mvs.valid])
    np.testing.assert_array_equal(depth.confidence[mvs.valid], mvs.confidence[mvs.valid])
    holes = ~mvs.valid
    assert np.all(depth.depth[holes] > 0)  # every hole filled ...
    np.testing.assert_allclose(depth.depth[holes], WALL_Z, rtol=0.01)  # ... at the MVS depth's scale
    assert depth.confidence[holes].max() <= 0.25


def test_prompt_depth_anything_is_prompted_with_the_sparse_depth(models):
    frames, track, _ = plane_scene(width=120, height=90)
    estimator = build(models, "prompt-depth-anything")
    stub = StubNetwork(np.full((90, 120), 2.0))  # a prompted network answers in the prompt's units
    estimator.model = stub
    (_, depth), = estimator.estimate(frames, track, indices=[1])
    assert stub.calls[0]["prompt_depth"] == (1, 1, 90, 120)  # a frame smaller than the prompt size: its own grid
    np.testing.assert_allclose(depth.depth, 2.0, rtol=1e-5)
