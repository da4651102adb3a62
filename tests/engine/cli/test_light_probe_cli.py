"""The light probe through the command line: reconstruct writes it, ``info`` describes it and
previews its map, ``edit list`` shows it among the lights."""

from __future__ import annotations

import json

import numpy as np

from sceneforge.engine.cli import main
from sceneforge.scenegraph import read_light_probe


def test_reconstruct_writes_the_probe_and_reports_it(demo_shot):
    probe = read_light_probe(demo_shot)
    assert probe is not None and probe.radiance.shape == (128, 256, 3) and probe.encoding == "srgb"
    assert probe.seen.any() and not probe.seen.all()
    assert (demo_shot / "textures" / "light_probe.hdr").is_file()
    report = json.loads((demo_shot / "report.json").read_text())["light_probe"]
    assert report["map_size"] == [256, 128] and 0 < report["seen_share"] < 1
    assert json.loads((demo_shot / "report.json").read_text())["config"]["footage_encoding"] == "srgb"


def test_info_prints_the_probe(demo_shot, capsys):
    assert main(["info", str(demo_shot)]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("Light:"))
    assert "256×128 map" in line and "of the sphere seen" in line
    assert ("azimuth" in line and "ambient:key" in line) or "none" in line
    assert main(["info", str(demo_shot), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)["light_probe"]
    assert data["prim"] == "/World/Lights/LightProbe" and data["map_size"] == [256, 128]


def test_info_preview_writes_the_map(demo_shot, tmp_path):
    from PIL import Image

    assert main(["-q", "info", str(demo_shot), "--preview", str(tmp_path / "prev")]) == 0
    image = np.asarray(Image.open(tmp_path / "prev" / "light_probe.png"))
    assert image.shape == (128, 256, 3) and image.dtype == np.uint8
    assert image.std() > 5  # a picture, not a flat colour


def test_edit_list_shows_the_probe_among_the_lights(edited_shot, capsys):
    assert main(["edit", str(edited_shot), "list"]) == 0
    out = capsys.readouterr().out
    assert "lights: LightProbe" in out
