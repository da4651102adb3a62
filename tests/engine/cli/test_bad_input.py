"""Bad input, across the five commands: each gets a non-zero exit code and one line on stderr,
and leaves the user's files byte for byte as they were (the shot hashed before and after)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from sceneforge.engine.cli import main
from sceneforge.scenegraph.usd import write_png
from tests.conftest import DEMO_DIR
from tests.scenegraph.edit.test_scene import make_future_scene, make_scene

CLIP = str(DEMO_DIR / "room.mp4")

CASES = [
    # reconstruct
    ("reconstruct-missing", ["reconstruct", "{tmp}/missing.mp4", "-o", "{tmp}/new"], "input not found"),
    ("reconstruct-not-video", ["reconstruct", "{tmp}/notes.mp4", "-o", "{tmp}/new"], "not a readable video"),
    ("reconstruct-solver-typo", ["reconstruct", CLIP, "-o", "{tmp}/new", "--solver", "colmap-globl"], "did you mean"),
    ("reconstruct-depth-backend", ["reconstruct", CLIP, "-o", "{tmp}/new", "--depth", "midas"], "unknown depth"),
    ("reconstruct-start", ["reconstruct", CLIP, "-o", "{tmp}/new", "--start", "80"], "0 frame(s)"),
    ("reconstruct-box-outside", ["reconstruct", CLIP, "-o", "{tmp}/new", "--object", "a=box:700,10,800,90@0"], "source video"),
    ("reconstruct-point-outside", ["reconstruct", CLIP, "-o", "{tmp}/new", "--object", "a=points:10,500,+@0"], "source video"),
    ("reconstruct-prompt-syntax", ["reconstruct", CLIP, "-o", "{tmp}/new", "--object", "a=box:1,2@0"], "a"),
    ("reconstruct-prompt-frame", ["reconstruct", CLIP, "-o", "{tmp}/new", "--object", "a=box:1,2,30,40@500"], "not in the clip"),
    ("reconstruct-prompt-twice", ["reconstruct", CLIP, "-o", "{tmp}/new", "--object", "a=box:1,2,30,40@0",
                                  "--object", "a=box:5,5,40,40@0"], "two --object"),
    ("reconstruct-prompt-name", ["reconstruct", CLIP, "-o", "{tmp}/new", "--object", "1a=box:1,2,30,40@0"], "name"),
    ("reconstruct-mask-shape", ["reconstruct", CLIP, "-o", "{tmp}/new", "--mask", "{tmp}/square.png"], "not the shape"),
    ("reconstruct-mask-missing", ["reconstruct", CLIP, "-o", "{tmp}/new", "--mask", "{tmp}/nomask.png"], "mask not found"),
    ("reconstruct-object-mask-shape", ["reconstruct", CLIP, "-o", "{tmp}/new", "--object", "a=mask:{tmp}/white.png@0"],
     "not the"),
    ("reconstruct-intrinsics", ["reconstruct", CLIP, "-o", "{tmp}/new", "--intrinsics", "{tmp}/notes.mp4"], "3×3 K"),
    ("reconstruct-focal", ["reconstruct", CLIP, "-o", "{tmp}/new", "--focal", "-5"], "focal"),
    ("reconstruct-output-file", ["reconstruct", CLIP, "-o", "{tmp}/notes.mp4"], "not a folder"),
    ("reconstruct-output-scene", ["reconstruct", CLIP, "-o", "{shot}"], "--force"),
    ("reconstruct-output-unwritable", ["reconstruct", CLIP, "-o", "/dev/null/shot"], "Not a directory"),
    ("reconstruct-object-no-depth", ["reconstruct", CLIP, "-o", "{tmp}/new", "--depth", "none", "--object",
                                     "a=box:1,2,30,40@0"], "needs depth"),
    ("reconstruct-unknown-option", ["reconstruct", CLIP, "-o", "{tmp}/new", "--depth.planes-of-doom", "3"], "unrecognized"),
    ("reconstruct-no-output", ["reconstruct", CLIP], "-o"),
    ("reconstruct-scale-rule", ["reconstruct", CLIP, "-o", "{tmp}/new", "--scale-from", "metric"], "--scale-from"),
    # render
    ("render-missing", ["render", "{tmp}/nowhere", "-o", "{tmp}/r.mp4"], "does not exist"),
    ("render-not-usd", ["render", "{tmp}/square.png", "-o", "{tmp}/r.mp4"], "USD"),
    ("render-exists", ["render", "{shot}", "-o", "{tmp}/exists.mp4", "--mode", "cg"], "--force"),
    ("render-range", ["render", "{shot}", "-o", "{tmp}/r.mp4", "--start", "5", "--end", "2"], "range"),
    ("render-no-clip", ["render", "{shot}", "-o", "{tmp}/r.mp4"], "--mode cg"),
    ("render-newer-scene", ["render", "{future}", "-o", "{tmp}/r.mp4", "--mode", "cg"], "upgrade SceneForge"),
    ("edit-newer-scene", ["edit", "{future}", "move", "chair", "--by", "1,0,0"], "upgrade SceneForge"),
    ("render-outside-texture", ["render", "{crafted}", "-o", "{tmp}/r.mp4", "--mode", "cg"], "outside its folder"),
    # edit
    ("edit-nothing", ["edit", "{shot}"], "give one edit"),
    ("edit-unknown-object", ["edit", "{shot}", "move", "nothing", "--by", "1,0,0"], "no object"),
    ("edit-missing-asset", ["edit", "{shot}", "insert", "{tmp}/none.glb", "--name", "x"], "no such file"),
    ("edit-list-op", ["edit", "{shot}", "--apply", "{tmp}/bad_op.json"], "expected one of"),
    ("edit-list-json", ["edit", "{shot}", "--apply", "{tmp}/bad.json"], "not readable JSON"),
    ("edit-list-missing", ["edit", "{shot}", "--apply", "{tmp}/none.json"], ""),
    ("edit-both", ["edit", "{shot}", "--apply", "{tmp}/bad.json", "move", "chair", "--by", "1,0,0"], "either one edit"),
    ("edit-bad-vector", ["edit", "{shot}", "move", "chair", "--by", "1,0"], "--by"),
    ("edit-dry-run-script", ["edit", "{shot}", "--apply", "{tmp}/script.py", "--dry-run"], "cannot preview"),
    ("edit-missing-scene", ["edit", "{tmp}/nowhere", "move", "chair", "--by", "1,0,0"], "does not exist"),
    # export
    ("export-missing", ["export", "{tmp}/nowhere", "--to", "glb", "-o", "{tmp}/o.glb"], "does not exist"),
    ("export-exists", ["export", "{shot}", "--to", "glb", "-o", "{tmp}/exists.glb"], "--force"),
    ("export-format", ["export", "{shot}", "--to", "fbx", "-o", "{tmp}/o.fbx"], "--to"),
    ("export-device-texture", ["--allow-outside-assets", "export", "{crafted_zero}", "--to", "glb", "-o", "{tmp}/o.glb"],
     "not a regular file"),
    # info
    ("info-missing", ["info", "{tmp}/nowhere"], "does not exist"),
    ("info-not-usd", ["info", "{tmp}/square.png"], "USD"),
    ("info-broken", ["info", "{tmp}/broken"], ""),
    ("info-missing-reconstruction", ["info", "{no_reconstruction}"], "reconstruction.usda, which is missing"),
    ("info-truncated-reconstruction", ["info", "{truncated}"], "which USD cannot read"),
    ("edit-broken-gltf", ["edit", "{shot}", "insert", "{tmp}/bad.gltf", "--name", "g"], "not a readable GLTF"),
    ("reconstruct-singular-k", ["reconstruct", CLIP, "-o", "{tmp}/new", "--intrinsics", "{tmp}/singular.txt"], "upper triangular"),
    ("reconstruct-nan-k", ["reconstruct", CLIP, "-o", "{tmp}/new", "--intrinsics", "{tmp}/nan.txt"], "2 non-finite"),
]


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha1(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".edits.lock"
    }


def _crafted(tmp: Path, name: str, target: str) -> Path:
    folder = tmp / name
    folder.mkdir()
    make_scene(folder)
    (folder / "edits.usda").write_text(
        '#usda 1.0\n\nover "World"\n{\n    over "Looks"\n    {\n        over "chair"\n        {\n'
        '            over "Texture"\n            {\n                asset inputs:file = @' + target + '@\n'
        "            }\n        }\n    }\n}\n"
    )
    return folder


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("bad")
    shot = tmp / "shot"
    shot.mkdir()
    make_scene(shot)
    (tmp / "notes.mp4").write_text("not a video")
    write_png(tmp / "square.png", np.zeros((100, 100, 3), np.uint8))
    write_png(tmp / "white.png", np.full((100, 100, 3), 255, np.uint8))
    write_png(tmp / "secret.png", np.full((8, 8, 3), 200, np.uint8))
    (tmp / "bad.json").write_text("{not json")
    (tmp / "bad_op.json").write_text(json.dumps([{"op": "fly"}]))
    (tmp / "script.py").write_text(f"open({str(tmp / 'ran.txt')!r}, 'w')\n")
    (tmp / "exists.mp4").write_bytes(b"mine")
    (tmp / "exists.glb").write_bytes(b"mine")
    broken = tmp / "broken"
    broken.mkdir()
    (broken / "scene.usda").write_text("#usda 1.0\n(\n  this is not usd\n")
    (tmp / "bad.gltf").write_text('{"asset": {"version": "2.0"}, "meshes": [{"primitives": [{"attributes": {"POSITION": 99}}]}]}')
    (tmp / "singular.txt").write_text("1 0 0 0 0 0 0 0 1")
    (tmp / "nan.txt").write_text("nan 0 320 0 nan 180 0 0 1")
    no_reconstruction, truncated = tmp / "no_reconstruction", tmp / "truncated"
    for folder in (no_reconstruction, truncated):
        folder.mkdir()
        make_scene(folder)
    (no_reconstruction / "reconstruction.usda").unlink()
    (truncated / "reconstruction.usda").write_text((truncated / "reconstruction.usda").read_text()[:300])
    future = make_future_scene(tmp / "future")
    return {"tmp": tmp, "shot": shot, "crafted": _crafted(tmp, "crafted", (tmp / "secret.png").as_posix()),
            "crafted_zero": _crafted(tmp, "crafted_zero", "/dev/zero"), "future": future,
            "no_reconstruction": no_reconstruction, "truncated": truncated}


@pytest.mark.parametrize(("name", "argv", "fragment"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_one_line_and_changes_nothing(world, capsys, name, argv, fragment):
    tmp = world["tmp"]
    before = _digest(tmp)
    args = [a.format(**{k: str(v) for k, v in world.items()}) for a in argv]
    code = main(args)
    err = capsys.readouterr().err.strip()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code != 0, f"{name}: exit code 0"
    assert len(lines) == 1, f"{name}: {err}"
    assert lines[0].startswith("error: "), f"{name}: {err}"
    assert fragment in lines[0], f"{name}: {lines[0]}"
    assert "internal error" not in err
    after = _digest(tmp)
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert not changed, f"{name} changed {sorted(changed)}"
    assert not (tmp / "ran.txt").exists()


def test_the_table_is_wide():
    assert len(CASES) >= 40
    assert {c[1][0] if not c[1][0].startswith("--") else c[1][1] for c in CASES} == {"reconstruct", "render", "edit", "export", "info"}
