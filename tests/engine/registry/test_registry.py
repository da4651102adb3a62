"""Every stage backend chosen by name; command-line options generated from the config dataclasses."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Literal

import pytest

from sceneforge.engine.cli import build_parser
from sceneforge.engine.cli._parser import backend_options_from_args
from sceneforge.engine.pipeline import ReconstructConfig
from sceneforge.engine.registry import (
    DEPTH,
    STAGES,
    Registry,
    add_config_arguments,
    config_kwargs_from_args,
    field_docs,
    option,
    parse_value,
)
from sceneforge.scenegraph import InputError


@dataclasses.dataclass(frozen=True)
class _ToyConfig:
    """A toy backend's options."""

    size: int = 8
    """Side length in pixels."""
    mode: Literal["fast", "good"] = "fast"
    """Speed or quality."""
    scale: float | None = None
    """Optional scale."""
    span: tuple[float, float] = (1.0, 2.0)
    """Near and far."""
    enabled: bool = option(True, flag="--no-toy", negate=True)
    """Use the toy."""

    def build(self) -> tuple[int, str]:
        return (self.size, self.mode)


def test_every_stage_has_a_registry_whose_entries_build():
    assert [r.key for r in STAGES] == ["solver", "depth", "fusion", "texture", "segmenter", "tracker", "proposer"]
    for registry in STAGES:
        for name in registry.names():
            config = registry.config(name)
            assert callable(config.build), f"{registry.stage} {name}"
            assert registry.describe()[name]


def test_entry_defaults_tell_entries_of_one_class_apart():
    from sceneforge.engine.registry import SOLVERS, TEXTURE

    assert SOLVERS.config("colmap-incremental").mapper == "incremental"
    assert SOLVERS.config("colmap-global").mapper == "global"
    assert TEXTURE.config("xatlas").charts == "xatlas"
    assert "mapper" not in {o.name for o in SOLVERS.options()}
    assert "lens" not in {o.name for o in SOLVERS.options()}  # the pipeline's, not the backend's


def test_unknown_backend_or_option_is_one_clear_error():
    with pytest.raises(InputError, match="did you mean 'plane-sweep'"):
        DEPTH.config("plane-swep")
    with pytest.raises(InputError, match="has no option 'num_plane'.*num_planes"):
        DEPTH.config("plane-sweep", num_plane=3)


def test_registry_takes_a_config_class_or_a_lazy_name():
    registry = Registry("toy stage", key="toy")
    registry.register("a", _ToyConfig, "toy a")
    registry.register("b", f"{__name__}:_ToyConfig", "toy b", mode="good")
    assert registry.build("a", size=3) == (3, "fast")
    assert registry.build("b") == (8, "good")
    options = {o.name: o for o in registry.options()}
    assert set(options) == {"size", "mode", "scale", "span", "enabled"}
    assert options["mode"].defaults == {"a": "fast"}  # fixed by b's entry, so an option of a only
    assert options["size"].defaults == {"a": 8, "b": 8}
    assert options["size"].help == "Side length in pixels."


def test_field_docstrings_become_help_and_types_become_parsers():
    assert field_docs(_ToyConfig)["span"] == "Near and far."
    assert parse_value(tuple[float, float], "0.5,3") == (0.5, 3.0)
    assert parse_value(float | None, "none") is None
    with pytest.raises(argparse.ArgumentTypeError, match="one of fast, good"):
        parse_value(Literal["fast", "good"], "slow")
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, _ToyConfig)
    args = parser.parse_args(["--size", "5", "--mode", "good", "--span", "1,4", "--no-toy"])
    assert config_kwargs_from_args(_ToyConfig, args) == {"size": 5, "mode": "good", "scale": None, "span": (1.0, 4.0), "enabled": False}
    assert "(default 8)" in parser.format_help()


def test_reconstruct_options_are_generated_from_the_config():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["reconstruct"]
    dests = {a.dest for a in sub._actions}
    fields = {f.name for f in dataclasses.fields(ReconstructConfig) if not f.metadata["cli"].hidden}
    assert fields <= dests
    flags = {s for a in sub._actions for s in a.option_strings}
    # the established spellings stay
    assert {"--focal", "--intrinsics", "--no-background", "--object", "--no-objects", "--keep-moving-in-solve", "-o"} <= flags
    # every backend's own options, as --STAGE.OPTION
    assert {"--depth.num-planes", "--solver.max-features", "--fusion.voxel-px", "--texture.max-views"} <= flags


def test_cli_and_python_choose_backends_the_same_way(tmp_path):
    args = build_parser().parse_args([
        "reconstruct", "clip.mp4", "-o", str(tmp_path / "shot"), "--max-size", "0", "--object", "a=box:1,2,3,4@0",
        "--depth.num-planes", "96", "--depth.depth-range", "0.5,8", "--tracker", "flow", "--no-background",
    ])
    config = ReconstructConfig(**config_kwargs_from_args(ReconstructConfig, args), backend_options=backend_options_from_args(args))
    assert config == ReconstructConfig(
        input=Path("clip.mp4"), output=tmp_path / "shot", max_size=None, objects=("a=box:1,2,3,4@0",),
        background=False, tracker="flow", backend_options={"depth": {"num_planes": 96, "depth_range": (0.5, 8.0)}},
    )
    depth = DEPTH.config(config.depth, **config.options_of("depth"))
    assert depth.num_planes == 96 and depth.depth_range == (0.5, 8.0)


def test_cli_defaults_are_the_config_defaults():
    args = build_parser().parse_args(["reconstruct", "clip.mp4", "-o", "shot"])
    config = ReconstructConfig(**config_kwargs_from_args(ReconstructConfig, args), backend_options=backend_options_from_args(args))
    assert config == ReconstructConfig(input=Path("clip.mp4"), output=Path("shot"))
