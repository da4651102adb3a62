"""PatchMatch stereo with a planar prior and completion by planes (the default depth backend),
and the depth stage's multi-view check, on scenes with exact depth made here."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sceneforge.reconstruct import PatchMatchConfig, PlaneSweepConfig, checked_depths, confirmed_depths, filter_consistent
from sceneforge.reconstruct.depth import UNCONFIRMED_CONFIDENCE
from sceneforge.scenegraph import DepthMap, DepthMaps, Frames, InputError, Intrinsics, make_transform
from tests.conftest import textured_image
from tests.reconstruct.depth.test_depth import DEMO_REF, demo_scene, depth_errors, make_track  # noqa: F401 - fixture

WALL_Z = 2.0
TEXEL_M = 0.0045
F = 220.0


def flat_wall_scene(*, width: int = 320, height: int = 240, flat_share: float = 0.5):
    """A wall at z = 2 seen straight on from five cameras shifted sideways; its texture is a
    uniform grey in a central rectangle (``flat_share`` of each side of the reference view):
    no stereo can match there, only the plane the textured surround lies on can say."""
    import cv2

    texture = textured_image(600, 800, seed=11)
    x0, y0 = -400 * TEXEL_M, -300 * TEXEL_M
    k = np.array([[F, 0, width / 2], [0, F, height / 2], [0, 0, 1]])
    intrinsics = Intrinsics(K=k, width=width, height=height)
    # the flat rectangle in wall coordinates: what the reference's central flat_share sees
    half_w, half_h = flat_share * width / 2 / F * WALL_Z, flat_share * height / 2 / F * WALL_Z
    cols = slice(int((-half_w - x0) / TEXEL_M), int((half_w - x0) / TEXEL_M))
    rows = slice(int((-half_h - y0) / TEXEL_M), int((half_h - y0) / TEXEL_M))
    texture[rows, cols] = 128
    offsets = [(0.0, 0.0), (-0.2, 0.03), (0.2, -0.03), (-0.1, -0.06), (0.1, 0.06)]
    v, u = np.mgrid[0:height, 0:width].astype(np.float64) + 0.5
    rays = intrinsics.unproject(np.stack([u.ravel(), v.ravel()], 1), np.ones(u.size))
    images, poses = [], []
    for tx, ty in offsets:
        on_wall = rays * WALL_Z + np.array([tx, ty, 0.0])
        map_x = ((on_wall[:, 0] - x0) / TEXEL_M - 0.5).reshape(height, width).astype(np.float32)
        map_y = ((on_wall[:, 1] - y0) / TEXEL_M - 0.5).reshape(height, width).astype(np.float32)
        images.append(cv2.remap(texture, map_x, map_y, cv2.INTER_LINEAR))
        poses.append(make_transform(np.eye(3), [tx, ty, 0.0]))
    frames = Frames(images=np.stack(images), fps=24.0, frame_numbers=np.arange(len(offsets), dtype=np.int64))
    truth = np.full((height, width), WALL_Z, np.float32)
    flat = np.zeros((height, width), bool)
    fh, fw = int(flat_share * height / 2), int(flat_share * width / 2)
    flat[height // 2 - fh + 3 : height // 2 + fh - 3, width // 2 - fw + 3 : width // 2 + fw - 3] = True
    return frames, make_track(intrinsics, np.stack(poses), [truth] * len(offsets), per_frame=200), truth, flat


@pytest.fixture(scope="module")
def wall():
    return flat_wall_scene()


def test_demo_room_depth_is_dense_and_exact(demo_scene):  # noqa: F811 - the fixture imported above
    frames, track, truth = demo_scene
    (index, depth), = PatchMatchConfig().build().estimate(frames, track, indices=[DEMO_REF])
    assert index == DEMO_REF and depth.depth.shape == truth[DEMO_REF].shape and depth.depth.dtype == np.float32
    assert np.all((depth.confidence >= 0) & (depth.confidence <= 1)) and np.all(depth.confidence[depth.depth == 0] == 0)
    abs_rel, median_rel, delta, completeness = depth_errors(depth.depth, truth[DEMO_REF])
    # measured at 320×180: AbsRel 0.016 (the mean is the few pixels at depth edges), median 0.0044,
    # δ 0.986, completeness 0.9999 (the plane sweep: 0.012, 0.0046, 0.993, 0.998)
    assert abs_rel < 0.025 and median_rel < 0.006 and delta > 0.98 and completeness > 0.99


def test_textureless_region_takes_the_depth_of_the_plane_around_it(wall):
    frames, track, truth, flat = wall
    (_, sweep), = PlaneSweepConfig().build().estimate(frames, track, indices=[0])
    (_, patch), = PatchMatchConfig().build().estimate(frames, track, indices=[0])
    # the sweep cannot match a uniform grey: most of the flat rectangle has no depth
    assert (sweep.depth[flat] > 0).mean() < 0.5
    # PatchMatch fills it from the textured wall around it, at the wall's depth
    filled = flat & (patch.depth > 0)
    assert filled.sum() / flat.sum() > 0.9
    rel = np.abs(patch.depth[filled] - WALL_Z) / WALL_Z
    assert np.median(rel) < 0.01 and np.mean(rel < 0.03) > 0.95
    # and says so: what rests on a plane carries the plane confidence, below matched texture
    plane_conf = PatchMatchConfig().plane_confidence
    textured = ~flat & (patch.depth > 0)
    assert np.median(patch.confidence[filled]) <= plane_conf + 1e-6
    assert np.median(patch.confidence[textured]) > plane_conf


def test_without_prior_and_completion_the_flat_region_stays_open(wall):
    frames, track, _, flat = wall
    config = PatchMatchConfig(prior=False, complete_planes=False)
    (_, depth), = config.build().estimate(frames, track, indices=[0])
    assert (depth.depth[flat] > 0).mean() < 0.5


def test_a_region_the_sources_contradict_is_not_filled():
    # the flat rectangle is painted black in one half of the wall and white in the other view's
    # position: the plane is not confirmed photometrically, so it is not filled there
    frames, track, _, flat = flat_wall_scene()
    images = frames.images.copy()
    for j in range(1, len(images)):
        images[j][flat] = 255 - images[j][flat] // 4  # the sources see something else there
    changed = dataclasses.replace(frames, images=images)
    (_, depth), = PatchMatchConfig().build().estimate(changed, track, indices=[0])
    assert (depth.depth[flat] > 0).mean() < 0.2


def test_runs_are_reproducible(wall):
    frames, track, _, _ = wall
    a = dict(PatchMatchConfig().build().estimate(frames, track, indices=[0]))[0]
    b = dict(PatchMatchConfig().build().estimate(frames, track, indices=[0]))[0]
    np.testing.assert_array_equal(a.depth, b.depth)
    c = dict(PatchMatchConfig(seed=5).build().estimate(frames, track, indices=[0]))[0]
    assert not np.array_equal(a.depth, c.depth)


@pytest.mark.parametrize(
    "changes",
    [{"iterations": -1}, {"far_px": 1}, {"prior_max_cost": 1.5}, {"plane_confidence": 0}, {"prior_sigma": 0},
     {"prior_max_ratio": 1.0}, {"max_planes": -1}, {"patchmatch_size_px": 8}, {"best_k": 9}],
)
def test_config_rejects_bad_values(changes):
    with pytest.raises(InputError):
        PatchMatchConfig(**changes)


# -- the depth stage's multi-view check ------------------------------------------------------------


def test_checked_depths_drop_only_what_the_views_contradict(wall):
    frames, track, _, _ = wall
    h, w = frames.height, frames.width
    maps = []
    for i in range(len(frames)):
        depth = np.full((h, w), WALL_Z, np.float32)
        if i == 0:
            depth[10:40, 10:60] = WALL_Z * 0.7  # contradicted by every neighbour
            depth[60:90, 10:60] = WALL_Z * 1.03  # off by 3 %: not confirmed, not contradicted
        maps.append(DepthMap(depth=depth, confidence=np.full((h, w), 0.8, np.float32), frame_number=i))
    maps = DepthMaps(maps)
    strict = filter_consistent(maps, track)[0]
    checked_all = checked_depths(maps, track)
    checked = checked_all[0]
    assert np.all(strict.depth[60:90, 10:60] == 0) and np.all(strict.depth[10:40, 10:60] == 0)
    assert np.all(checked.depth[10:40, 10:60] == 0)
    assert np.all(checked.depth[60:90, 10:60] > 0)
    np.testing.assert_allclose(checked.confidence[60:90, 10:60], 0.8 * UNCONFIRMED_CONFIDENCE, atol=1e-6)  # lowered
    inner = np.zeros((h, w), bool)
    inner[100:160, 80:200] = True
    assert np.all(checked.depth[inner] == WALL_Z) and np.all(checked.confidence[inner] > 0.5)
    # objects take only what two views confirmed
    confirmed = confirmed_depths(checked_all)[0]
    assert np.all(confirmed.depth[60:90, 10:60] == 0) and np.all(confirmed.depth[inner] == WALL_Z)


def test_loose_check_must_be_looser(wall):
    frames, track, _, _ = wall
    maps = DepthMaps([DepthMap(depth=np.full((frames.height, frames.width), 2.0, np.float32),
                               confidence=np.ones((frames.height, frames.width), np.float32), frame_number=i) for i in range(len(frames))])
    with pytest.raises(InputError):
        filter_consistent(maps, track, loose_rel_depth_error=0.005)
