"""``sceneforge batch``: shots from the command line and from lists, each into its own folder,
resumable per shot, with a summary table and batch.json."""

from __future__ import annotations

import json
import shutil

import pytest

from sceneforge.engine.cli import main
from sceneforge.engine.cli._batch import read_shots
from sceneforge.engine.cli._parser import build_parser
from sceneforge.engine.executors import make_executor
from sceneforge.engine.pipeline import ShotSpec, run_batch
from sceneforge.scenegraph import InputError
from tests.conftest import DEMO_DIR
from tests.engine.conftest import SHORT_SHOT_OPTIONS

CLIP = DEMO_DIR / "room.mp4"


def _shots(*argv: str):
    return read_shots(build_parser().parse_args(["batch", *argv]))


def test_a_batch_reconstructs_every_shot_and_sums_them_up(local_batch):
    out, printed = local_batch
    header = printed.splitlines()[0].split()
    assert header[:3] == ["shot", "status", "frames"]
    assert "Batch: 2 reconstructed, 0 kept, 0 failed" in printed
    record = json.loads((out / "batch.json").read_text())
    assert record["executor"] == "local"
    assert [s["name"] for s in record["shots"]] == ["first", "second"]
    for shot in record["shots"]:
        assert shot["status"] == "done" and shot["error"] is None
        assert shot["frames"] == 18 and shot["registered"] == 18
        assert 0 < shot["solve_error_px"] < 1.0
        assert shot["depth_coverage"] > 0.5
        assert shot["seconds"] > 0
        assert (out / shot["name"] / "scene.usda").exists()
        report = json.loads((out / shot["name"] / "report.json").read_text())
        assert report["frames"]["first"] == (0 if shot["name"] == "first" else 36)


def test_a_second_run_keeps_finished_shots_and_refuses_changed_ones(local_batch, shot_list, tmp_path, capsys):
    out = tmp_path / "out"
    shutil.copytree(local_batch[0], out)
    assert main(["batch", str(shot_list), "-o", str(out), *SHORT_SHOT_OPTIONS]) == 0
    printed = capsys.readouterr().out
    assert "0 reconstructed, 2 kept, 0 failed" in printed
    assert [s["status"] for s in json.loads((out / "batch.json").read_text())["shots"]] == ["kept", "kept"]

    changed = [*SHORT_SHOT_OPTIONS, "--texture-size", "64"]
    assert main(["batch", str(shot_list), "-o", str(out), *changed]) == 1
    captured = capsys.readouterr()
    assert "holds a scene made with other options; pass --force" in captured.out
    assert "2 of 2 shots failed" in captured.err

    # --force: the shots run again, each resuming what the new texture size leaves valid
    assert main(["batch", str(shot_list), "-o", str(out), *changed, "--force", "--workers", "1"]) == 0
    shots = json.loads((out / "batch.json").read_text())["shots"]
    assert [s["status"] for s in shots] == ["done", "done"]
    for shot in shots:
        assert {"camera_solve", "depth", "objects"} <= set(shot["resumed"])


def test_shot_lists_give_each_shot_its_own_options(tmp_path):
    (tmp_path / "clips").mkdir()
    shutil.copy(CLIP, tmp_path / "clips" / "room.mp4")
    (tmp_path / "K.txt").write_text("200 0 80 0 200 45 0 0 1\n")
    csv_list = tmp_path / "season.csv"
    csv_list.write_text(
        "input,name,focal,object,no-background,end\n"
        "clips/room.mp4,a,210,,yes,30\n"
        'clips/room.mp4,b,,"lamp=box:10,10,40,60@0;ball=point:50,50@0",,\n'
    )
    txt_list = tmp_path / "more.txt"
    txt_list.write_text("clips/room.mp4 --name c --intrinsics K.txt  # a comment\n\n")
    shots = _shots(str(csv_list), str(txt_list), str(CLIP), "-o", str(tmp_path / "out"), "--max-size", "320")
    by_name = {shot.name: shot.config for shot in shots}
    assert list(by_name) == ["a", "b", "c", "room"]
    assert all(config.max_size == 320 for config in by_name.values())  # the batch's options reach every shot
    assert by_name["a"].focal_px == 210 and not by_name["a"].background and by_name["a"].end == 30
    assert by_name["b"].objects == ("lamp=box:10,10,40,60@0", "ball=point:50,50@0") and by_name["b"].background
    assert by_name["c"].intrinsics_file == tmp_path / "K.txt"
    assert by_name["a"].input == tmp_path / "clips" / "room.mp4"
    assert by_name["room"].output == tmp_path / "out" / "room"


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        ("input,colour\nroom.mp4,red\n", ".csv", r"column 'colour' is not an option"),
        ("clip,name\nroom.mp4,a\n", ".csv", r"'input' column"),
        ("input,no-background\nroom.mp4,maybe\n", ".csv", r"is a switch"),
        ("missing.mp4\n", ".txt", r"shots.txt:1: .*missing.mp4 not found"),
        ("room.mp4 --name\n", ".txt", r"--name needs a value"),
    ],
)
def test_malformed_lists_fail_before_any_work(tmp_path, content, suffix, message):
    shutil.copy(CLIP, tmp_path / "room.mp4")
    path = tmp_path / f"shots{suffix}"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        _shots(str(path), "-o", str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_two_shots_with_one_name_are_refused(tmp_path):
    shots = [ShotSpec("room", config) for config in (s.config for s in _shots(str(CLIP), "-o", str(tmp_path)) * 2)]
    with pytest.raises(InputError, match="two shots are named 'room'"):
        run_batch(shots, tmp_path / "out", executor=make_executor("local", workers=1))


def test_bad_batch_input_is_one_line(tmp_path, capsys):
    assert main(["batch", str(tmp_path / "nothing.mp4"), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "not found" in err
    assert main(["batch", str(CLIP), "-o", str(tmp_path / "out"), "--address", "auto"]) == 2
    assert "--address is for --executor ray" in capsys.readouterr().err
    with pytest.raises(InputError, match="plain folder name"):
        ShotSpec("a/b", _shots(str(CLIP), "-o", str(tmp_path))[0].config)


def test_batch_help_lists_its_own_and_reconstruct_s_options(capsys):
    assert main(["batch", "--help"]) == 0
    text = capsys.readouterr().out
    for flag in ("--executor", "--address", "--workers", "--shot-memory-gb", "--force", "--max-size", "--depth.num-planes"):
        assert flag in text
