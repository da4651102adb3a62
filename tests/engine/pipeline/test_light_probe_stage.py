"""The light probe stage: built from the frames, cameras and depth, moving objects left out,
cached in the run folder, and written into the scene; its command-line options."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from sceneforge.engine.cache import DepthStore, StageCache
from sceneforge.engine.cli import build_parser
from sceneforge.engine.pipeline import ReconstructConfig
from sceneforge.engine.pipeline._objects import ObjectsOutcome
from sceneforge.engine.pipeline._stages import Geometry, Run, light_probe_stage
from sceneforge.engine.registry import config_kwargs_from_args
from sceneforge.scenegraph import DepthMaps, LightProbe
from tests.reconstruct.surface.test_light_probe import LIGHT, room_shot


def _run(tmp_path: Path, **options) -> Run:
    config = ReconstructConfig(input=tmp_path / "clip.mp4", output=tmp_path / "shot", **options)
    return Run(config=config, cache=StageCache(tmp_path / "shot" / "run" / "cache"))


def test_stage_builds_caches_and_resumes(tmp_path):
    frames, track, depths = room_shot(encoding="linear", num_views=4)
    geometry = Geometry(store=DepthStore(tmp_path / "depth", "depth-key"), depths=depths, objects=ObjectsOutcome.none())
    run = _run(tmp_path, footage_encoding="linear")
    probe = light_probe_stage(run, frames, track, geometry)
    assert isinstance(probe, LightProbe) and probe.encoding == "linear"
    assert probe.key_direction is not None and probe.key_direction @ LIGHT > np.cos(np.radians(5))
    assert "light_probe" in run.timings and "light_probe" not in run.resumed
    again = light_probe_stage(run, frames, track, geometry)
    assert run.resumed == ["light_probe"]
    np.testing.assert_array_equal(again.radiance, probe.radiance)
    np.testing.assert_array_equal(again.key_direction, probe.key_direction)
    # Another encoding is another result.
    srgb = _run(tmp_path, footage_encoding="srgb")
    assert light_probe_stage(srgb, frames, track, geometry).encoding == "srgb" and not srgb.resumed


def test_a_shot_without_parallax_is_seen_from_the_camera(tmp_path):
    frames, track, depths = room_shot(num_views=2)
    geometry = Geometry(store=DepthStore(tmp_path / "depth", "k"), depths=depths, objects=ObjectsOutcome.none())
    probe = light_probe_stage(_run(tmp_path), frames, track, geometry, nominal=True)
    np.testing.assert_allclose(probe.centre_in_world, np.median(track.world_from_cam[:, :3, 3], axis=0))


def test_no_usable_depth_gives_no_probe_and_says_why(tmp_path):
    frames, track, depths = room_shot(num_views=2)
    empty = DepthMaps(type(d)(depth=np.zeros_like(d.depth), confidence=np.zeros_like(d.confidence), frame_number=d.frame_number)
                      for d in depths.values())
    geometry = Geometry(store=DepthStore(tmp_path / "depth", "k"), depths=empty, objects=ObjectsOutcome.none())
    # Our own handler: the command line's logging setup (other tests) may stop propagation to pytest's.
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("sceneforge.engine.pipeline._stages")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.WARNING)  # whatever -q set on "sceneforge" before
    try:
        assert light_probe_stage(_run(tmp_path), frames, track, geometry) is None
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    assert any("no light probe" in r.getMessage() for r in records)


def test_cache_round_trips_a_probe_without_a_key(tmp_path):
    frames, track, depths = room_shot(num_views=2)
    probe = LightProbe(
        radiance=np.ones((4, 8, 3), np.float32), seen=np.eye(4, 8, dtype=bool), sh=np.ones((9, 3)),
        centre_in_world=np.array([1.0, 2.0, 3.0]), ambient_radiance=np.full(3, 0.5), encoding="linear",
    )
    cache = StageCache(tmp_path)
    cache.save_light_probe("light_probe", "k", probe)
    assert cache.load_light_probe("light_probe", "other") is None
    back = cache.load_light_probe("light_probe", "k")
    assert back.key_direction is None and back.encoding == "linear"
    np.testing.assert_array_equal(back.seen, probe.seen)
    np.testing.assert_array_equal(back.ambient_radiance, probe.ambient_radiance)


def test_options_on_the_command_line():
    parser = build_parser()
    args = parser.parse_args(["reconstruct", "clip.mp4", "-o", "shot"])
    config = ReconstructConfig(**config_kwargs_from_args(ReconstructConfig, args))
    assert config.light_probe is True and config.footage_encoding == "srgb"
    args = parser.parse_args(["reconstruct", "clip.mp4", "-o", "shot", "--no-light-probe", "--footage-encoding", "linear"])
    config = ReconstructConfig(**config_kwargs_from_args(ReconstructConfig, args))
    assert config.light_probe is False and config.footage_encoding == "linear"
    help_text = parser._subparsers._group_actions[0].choices["reconstruct"].format_help()  # noqa: SLF001
    assert "--no-light-probe" in help_text and "lighting" in help_text
