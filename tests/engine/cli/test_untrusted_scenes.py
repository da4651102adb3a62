"""Scenes are untrusted input: a texture or per-frame file a scene names outside its own folder,
or one that is not a regular file, is refused with one line by render, export and edit, and
reported by ``info --validate``; ``--allow-outside-assets`` lifts the folder rule only."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from sceneforge.engine.cli import main
from sceneforge.scenegraph.usd import write_png
from tests.scenegraph.edit.test_scene import make_scene


def _point_texture_at(shot: Path, target: str) -> None:
    """What a crafted edits.usda does: the chair's texture file set to ``target``."""
    text = (
        '#usda 1.0\n\nover "World"\n{\n    over "Looks"\n    {\n        over "chair"\n        {\n'
        '            over "Texture"\n            {\n                asset inputs:file = @' + target + '@\n'
        "            }\n        }\n    }\n}\n"
    )
    (shot / "edits.usda").write_text(text)


@pytest.fixture()
def shot(tmp_path: Path) -> Path:
    folder = tmp_path / "shot"
    folder.mkdir()
    make_scene(folder)
    secret = tmp_path / "secret"
    secret.mkdir()
    write_png(secret / "secret.png", np.full((8, 8, 3), 200, np.uint8))
    return folder


def _hash(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("target", ["../secret/secret.png", "{abs}", "/dev/zero", "{link}"])
def test_an_asset_outside_the_scene_or_not_a_file_is_refused(shot, tmp_path, capsys, target):
    link = shot / "textures" / "innocent.png"
    os.symlink(tmp_path / "secret" / "secret.png", link)  # inside by name, outside in fact
    target = target.format(abs=(tmp_path / "secret" / "secret.png").as_posix(), link="./textures/innocent.png")
    _point_texture_at(shot, target)
    before = _hash(shot)
    out = tmp_path / "out"
    out.mkdir()
    for argv in (["render", str(shot), "-o", str(out / "cg.mp4"), "--mode", "cg"],
                 ["export", str(shot), "--to", "glb", "-o", str(out / "scene.glb")]):
        capsys.readouterr()
        assert main(argv) != 0, argv
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and ("outside its folder" in err or "not a regular file" in err), err
    assert not (out / "scene.glb").exists()
    assert main(["info", str(shot), "--validate"]) != 0
    assert "chair/Texture" in capsys.readouterr().out
    assert _hash(shot) == before  # nothing written into the shot


def test_allowing_outside_assets_reads_them_but_never_a_device(shot, tmp_path, capsys):
    _point_texture_at(shot, (tmp_path / "secret" / "secret.png").as_posix())
    out = tmp_path / "out"
    assert main(["export", str(shot), "--to", "glb", "-o", str(out / "scene.glb"), "--allow-outside-assets"]) == 0
    assert (out / "scene.glb").is_file()
    _point_texture_at(shot, "/dev/zero")
    capsys.readouterr()
    assert main(["--allow-outside-assets", "export", str(shot), "--to", "glb", "-o", str(out / "zero.glb")]) != 0
    assert "not a regular file" in capsys.readouterr().err


def test_an_asset_copied_into_the_shot_is_fine(shot, tmp_path):
    shutil.copyfile(tmp_path / "secret" / "secret.png", shot / "textures" / "mine.png")
    _point_texture_at(shot, "./textures/mine.png")
    assert main(["export", str(shot), "--to", "glb", "-o", str(tmp_path / "out" / "scene.glb")]) == 0


def test_a_dry_run_does_not_run_a_script(shot, tmp_path, capsys):
    marker = tmp_path / "ran.txt"
    script = tmp_path / "script.py"
    script.write_text(f"open({str(marker)!r}, 'w').write('side effect')\n")
    assert main(["edit", str(shot), "--apply", str(script), "--dry-run"]) == 2
    assert "--dry-run cannot preview" in capsys.readouterr().err
    assert not marker.exists()
