"""Automatic object proposals on the demo room's exact geometry: the objects are found, their
masks match the exact instance maps, names are stable, planes alone give no object."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from sceneforge.reconstruct import ProposalConfig, TrackedMasks, propose_objects
from sceneforge.scenegraph import DepthMap, DepthMaps, InputError

from tests.reconstruct.surface.test_surface import demo_views

TABLE, CRATE, BALL, COLUMN = 1, 2, 3, 4


@pytest.fixture(scope="module")
def room(demo_module):
    """Twelve exact views spread over the demo path at 320×180."""
    return demo_views(demo_module, 12)


@pytest.fixture(scope="module")
def proposals(room):
    frames, track, depths, _ = room
    return propose_objects(frames, track, depths)


def iou(masks: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-frame IoU of N×H×W bool masks (1 where both are empty)."""
    inter = (masks & truth).sum(axis=(1, 2))
    union = (masks | truth).sum(axis=(1, 2))
    return np.where(union > 0, inter / np.maximum(union, 1), 1.0)


def best_match(proposals: list[TrackedMasks], truth: np.ndarray) -> tuple[TrackedMasks, np.ndarray]:
    """The proposal with the highest mean IoU against ``truth`` (N×H×W bool), and its per-frame IoU."""
    scored = [(float(iou(p.masks, truth).mean()), i) for i, p in enumerate(proposals)]
    _, i = max(scored)
    return proposals[i], iou(proposals[i].masks, truth)


def room_only_depth(track, index: int, demo) -> np.ndarray:
    """Exact z-depth of the empty demo room (the walls, floor and ceiling only) in one view."""
    intr = track.intrinsics[index]
    rows, cols = np.mgrid[0 : intr.height, 0 : intr.width]
    rays = intr.unproject(np.column_stack([cols.ravel() + 0.5, rows.ravel() + 0.5]), np.ones(rows.size))
    pose = track.world_from_cam[index]
    directions, origin = rays @ pose[:3, :3].T, pose[:3, 3]
    low, high = np.asarray(demo.ROOM_MIN), np.asarray(demo.ROOM_MAX)
    with np.errstate(divide="ignore"):
        exits = np.where(directions > 0, (high - origin) / directions, (low - origin) / directions)
    # rays have z = 1 in the camera, so the distance along them is the z-depth
    return exits.min(axis=1).reshape(intr.height, intr.width).astype(np.float32)


def with_floating_sphere(depths, track, centre, radius) -> DepthMaps:
    """The depth maps with a sphere hanging in mid-air drawn in (nearest surface wins)."""
    out = []
    for number, depth_map in depths.items():
        index = track.index_of(number)
        intr = track.intrinsics[index]
        rows, cols = np.mgrid[0 : intr.height, 0 : intr.width]
        rays = intr.unproject(np.column_stack([cols.ravel() + 0.5, rows.ravel() + 0.5]), np.ones(rows.size))
        pose = track.world_from_cam[index]
        d, o = rays @ pose[:3, :3].T, pose[:3, 3] - np.asarray(centre)
        a, b, c = np.einsum("ij,ij->i", d, d), 2 * d @ o, o @ o - radius**2
        disc = b * b - 4 * a * c
        t = np.where(disc > 0, (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a), np.inf).reshape(intr.height, intr.width)
        depth = np.where((t > 0) & (t < depth_map.depth), t, depth_map.depth).astype(np.float32)
        out.append(DepthMap(depth=depth, confidence=depth_map.confidence, frame_number=depth_map.frame_number))
    return DepthMaps(out)


# ------------------------------------------------------------------ feature


def test_every_object_is_found_with_accurate_masks(proposals, room):
    *_, instances = room
    names = set()
    for true_id in (TABLE, CRATE, BALL, COLUMN):
        match, scores = best_match(proposals, instances == true_id)
        assert np.mean(scores >= 0.7) >= 0.9, (true_id, scores.round(2))
        assert np.median(scores) > 0.85
        names.add(match.name)
    assert len(names) == 4


def test_the_ball_resting_on_the_table_is_split_from_it(room):
    # The ball touches the table top, so their voxels form one cluster; what rests on a
    # cluster's top surface is split off, unless that is turned off.
    frames, track, depths, instances = room
    merged = propose_objects(frames, track, depths, config=ProposalConfig(split_stacked=False))
    assert len(merged) == 3
    table, scores = best_match(merged, (instances == TABLE) | (instances == BALL))
    ball, _ = best_match(merged, instances == BALL)
    assert ball.name == table.name and np.median(scores) > 0.9


def test_only_the_objects_are_proposed(proposals, room):
    *_, instances = room
    assert len(proposals) == 4  # table, crate, ball, column; walls and floor are background
    for p in proposals:
        on_room = (p.masks & (instances == 0)).sum() / max(1, p.masks.sum())
        assert on_room < 0.1, p.name


def test_results_are_named_in_order_and_typed(proposals, room):
    frames, *_ = room
    assert [p.name for p in proposals] == [f"object_{k:02d}" for k in range(1, len(proposals) + 1)]
    for p in proposals:
        assert p.masks.shape == (len(frames), frames.height, frames.width) and p.masks.dtype == bool
        assert p.quality.dtype == np.float32 and np.all((p.quality >= 0) & (p.quality <= 1))
        assert np.array_equal(p.frame_numbers, frames.frame_numbers)
        assert set(p.motion) <= {"geometry", "lost"}
        assert all((m == "lost") == (a == 0) for m, a in zip(p.motion, p.area_px))
        seen_best = p.quality * p.area_px  # the prompt frame is where the object is seen best
        assert p.masks[p.prompt_frame].any() and seen_best[p.prompt_frame] == seen_best.max()
    # largest first: the table is the biggest thing in the room
    areas = [p.area_px.sum() for p in proposals]
    assert areas[0] == max(areas)


def test_names_are_stable_across_runs(proposals, room):
    frames, track, depths, _ = room
    again = propose_objects(frames, track, depths)
    assert [p.name for p in again] == [p.name for p in proposals]
    for a, b in zip(again, proposals):
        assert np.array_equal(a.masks, b.masks)
        assert np.array_equal(a.quality, b.quality)


def test_frames_without_depth_borrow_their_neighbours(room):
    frames, track, depths, instances = room
    every_other = DepthMaps(d for i, d in enumerate(depths.values()) if i % 2 == 0)
    found = propose_objects(frames, track, every_other)
    crate, scores = best_match(found, instances == CRATE)
    odd = np.arange(1, len(frames), 2)
    assert np.all(scores[odd] > 0.7), scores.round(2)
    assert np.all(crate.quality[odd] <= 0.5)  # borrowed depth halves the quality


def test_a_room_of_planes_has_no_objects(room, demo_module):
    frames, track, depths, _ = room
    empty = {
        n: DepthMap(depth=room_only_depth(track, track.index_of(n), demo_module), confidence=d.confidence, frame_number=d.frame_number)
        for n, d in depths.items()
    }
    assert propose_objects(frames, track, empty) == []


def test_a_floating_blob_is_not_an_object(room):
    frames, track, depths, instances = room
    blob = with_floating_sphere(depths, track, centre=(0.6, 1.7, -2.0), radius=0.18)
    found = propose_objects(frames, track, blob)
    assert len(found) == 4  # the sphere touches no plane and rests on no object
    _, scores = best_match(found, instances == CRATE)
    assert np.median(scores) > 0.9


def test_a_bump_on_a_wall_is_not_an_object(room):
    frames, track, depths, _ = room
    # a sphere sunk into the far wall (z = -4) so that a cap 12 cm deep stands out of it
    bump = with_floating_sphere(depths, track, centre=(0.5, 1.6, -4.23), radius=0.35)
    assert len(propose_objects(frames, track, bump)) == 4
    lenient = ProposalConfig(min_wall_protrusion_voxels=1.0)
    assert len(propose_objects(frames, track, bump, config=lenient)) == 5  # 2.5 voxels: the rule is what drops it


def test_max_objects_keeps_the_largest(room, proposals):
    frames, track, depths, _ = room
    (only,) = propose_objects(frames, track, depths, config=ProposalConfig(max_objects=1))
    # the same object; its masks differ only where the others' pixels are no longer taken
    assert only.name == "object_01" and np.median(iou(only.masks, proposals[0].masks)) > 0.95


def test_progress_reports_both_stages(room):
    frames, track, depths, _ = room
    calls = []
    propose_objects(frames, track, depths, config=ProposalConfig(num_views=4), progress=lambda *a: calls.append(a))
    assert calls[-1] == ("object masks", len(frames), len(frames))
    assert ("proposals", 4, 4) in calls


# ------------------------------------------------------------------ exceptions


@pytest.mark.parametrize(
    "options",
    [{"max_objects": 0}, {"num_views": 65}, {"voxel_size": -1.0}, {"min_size_fraction": 0.5, "max_size_fraction": 0.4},
     {"min_confidence": 2.0}, {"flat_ratio": 0.0}],
)
def test_bad_config_is_refused(options):
    with pytest.raises(InputError):
        ProposalConfig(**options)


def test_mismatched_inputs_are_refused(room):
    frames, track, depths, _ = room
    with pytest.raises(InputError):
        propose_objects(frames.images, track, depths)
    with pytest.raises(InputError):
        propose_objects(frames, track, {})
    with pytest.raises(InputError, match="frame number"):
        propose_objects(frames, track, {int(track.frame_numbers[0]): depths[track.frame_numbers[1]]})
    with pytest.raises(InputError):
        propose_objects(frames, track, {10_000: depths[track.frame_numbers[0]]})
    short = dataclasses.replace(frames, images=frames.images[:3], frame_numbers=frames.frame_numbers[:3])
    with pytest.raises(InputError):
        propose_objects(short, track, depths)
