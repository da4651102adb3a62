"""``sceneforge models``: every backend listed with whether it can run here and where its weights go."""

from __future__ import annotations

import json

from sceneforge.engine.cli import main
from sceneforge.engine.registry import REFINERS, STAGES, backend_statuses


def test_models_lists_every_backend_of_every_stage(capsys):
    assert main(["models", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    listed = {(row["key"], row["name"]) for row in listing["backends"]}
    for registry in (*STAGES, REFINERS):
        for name in registry.names():
            assert (registry.key, name) in listed
    defaults = {row["key"]: row["name"] for row in listing["backends"] if row["default"]}
    assert defaults["solver"] == "colmap-global" and defaults["depth"] == "patchmatch"
    assert defaults["proposer"] == "auto" and defaults["refiner"] == "classical"
    assert listing["device"]


def test_backends_without_weights_say_so_and_neural_ones_say_where(capsys):
    rows = {(row.key, row.name): row for row in backend_statuses()}
    assert rows[("depth", "patchmatch")].weights is None and rows[("depth", "patchmatch")].runs_here
    for key, name in (("depth", "depth-anything"), ("segmenter", "sam2"), ("solver", "vggt"), ("refiner", "diffusion")):
        assert rows[(key, name)].weights, (key, name)
    assert "--depth.model" in rows[("depth", "depth-anything")].weights


def test_a_backend_whose_package_is_missing_cannot_run_here():
    # the official vggt package is not on PyPI and not installed by the project
    rows = {(row.key, row.name): row for row in backend_statuses()}
    assert rows[("solver", "vggt")].missing == ("vggt",)
    assert not rows[("solver", "vggt")].runs_here


def test_models_prints_a_readable_table(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("device: ")
    assert "--depth depth-anything" in out and "cannot run here: vggt not installed" in out
    assert "(default)" in out
