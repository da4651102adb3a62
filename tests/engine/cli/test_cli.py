"""The command line end to end on the bundled demo clip, plus its error handling."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from sceneforge.engine.cli import build_parser, main
from sceneforge.scenegraph import FrameStatus, Scene, read_camera_track, rotation_angle, similarity_from_points, validate_stage
from tests.conftest import DEMO_DIR


def test_demo_writes_the_scene_layers_and_report(demo_shot):
    for name in ("scene.usda", "reconstruction.usda", "edits.usda", "report.json"):
        assert (demo_shot / name).is_file(), name
    report = json.loads((demo_shot / "report.json").read_text())
    solve = report["camera_solve"]
    assert solve["num_frames"] == 72
    assert solve["num_solved"] + solve["num_localized"] + solve["num_interpolated"] == 72
    assert len(solve["per_frame_error_px"]) == 72
    assert solve["mean_error_px"] < 1.0
    assert set(report["stage_timings_secs"]) >= {"read_frames", "camera_solve", "write_usd"}


def test_demo_scene_passes_usd_validation(demo_shot):
    result = validate_stage(demo_shot / "scene.usda")
    assert result.errors == ()


def test_demo_cameras_match_ground_truth(demo_shot, truth):
    track = read_camera_track(demo_shot / "scene.usda")
    gt = np.array([f["world_from_cam"] for f in truth["frames"]])
    assert len(track) == 72
    np.testing.assert_array_equal(track.frame_numbers, np.arange(72))
    assert track.fps == pytest.approx(24.0)
    assert np.all(track.status != FrameStatus.INTERPOLATED)
    # camera centres after a similarity: well under 1% of the 1.5 m path
    sim = similarity_from_points(track.camera_centers(), gt[:, :3, 3])
    errors = np.linalg.norm(sim.apply_points(track.camera_centers()) - gt[:, :3, 3], axis=1)
    assert np.sqrt(np.mean(errors**2)) < 0.01
    # rotations relative to the first frame (independent of the alignment)
    est = track.world_from_cam[0, :3, :3].T @ track.world_from_cam[:, :3, :3]
    ref = gt[0, :3, :3].T @ gt[:, :3, :3]
    assert np.degrees(rotation_angle(np.swapaxes(ref, 1, 2) @ est)).max() < 0.3
    # the lens
    k_true = np.array(truth["K"]) * [[0.5], [0.5], [1.0]]  # the fixture runs at half size
    assert track.intrinsics[0].fx == pytest.approx(k_true[0, 0], rel=0.02)
    # world up: the scene's floor is level, so our +Y seen from camera 0 equals the truth's
    up_ours = track.world_from_cam[0, :3, :3].T @ [0, 1, 0]
    up_true = gt[0, :3, :3].T @ [0, 1, 0]
    assert np.degrees(np.arccos(np.clip(up_ours @ up_true, -1, 1))) < 2.0


def test_info_prints_the_summary(demo_shot, capsys):
    assert main(["info", str(demo_shot / "scene.usda"), "--validate"]) == 0
    out = capsys.readouterr().out
    assert "Frames:     72" in out
    assert "24 fps" in out
    assert "0 error(s)" in out
    assert main(["info", str(demo_shot), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["frames"] == 72 and data["num_points"] > 100


def test_existing_scene_is_not_overwritten(demo_shot, capsys):
    before = (demo_shot / "scene.usda").read_bytes()
    code = main(["reconstruct", str(DEMO_DIR / "room.mp4"), "-o", str(demo_shot), "--max-size", "320", "--texture-size", "512"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "--force" in err
    assert (demo_shot / "scene.usda").read_bytes() == before


def test_rerun_with_force_resumes_from_the_cache_and_keeps_the_edits(demo_shot, tmp_path, capsys):
    shot = tmp_path / "copy"
    shutil.copytree(demo_shot, shot)
    assert main(["edit", str(shot), "delete", "object_01"]) == 0
    edits = (shot / "edits.usda").read_text()
    # an edit on a prim that a new reconstruction may not have
    from pxr import Sdf

    layer = Sdf.Layer.FindOrOpen(str(shot / "edits.usda"))
    Sdf.CreatePrimInLayer(layer, "/World/Objects/object_99").SetInfo("active", False)
    layer.Save()
    text = (shot / "edits.usda").read_text()
    assert "object_99" in text
    capsys.readouterr()
    assert main(["reconstruct", str(DEMO_DIR / "room.mp4"), "-o", str(shot), "--force", "--max-size", "320", "--texture-size", "512"]) == 0
    printed = capsys.readouterr()
    assert "Resumed:       people, camera_solve, depth, objects, background" in printed.out
    a = read_camera_track(shot / "scene.usda")
    b = read_camera_track(demo_shot / "scene.usda")
    np.testing.assert_array_equal(a.world_from_cam, b.world_from_cam)
    # the edits survive, backed up, and the one on a prim that is gone is named
    assert (shot / "edits.usda.bak").read_text() == text
    assert "object_01" not in Scene.open(shot).objects and "object_01" in Scene.open(shot).removed_objects
    assert "kept" in printed.err and "edits.usda.bak" in printed.err and "/World/Objects/object_99" in printed.err
    assert "object_01" in edits  # the first edit was saved before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["reconstruct", "missing.mp4", "-o", "{tmp}/shot"], "input not found"),
        (["reconstruct", "{tmp}/notes.mp4", "-o", "{tmp}/shot"], "not a readable video"),
        (["reconstruct", str(DEMO_DIR / "room.mp4"), "-o", "{tmp}/shot", "--solver", "colmap-globl"], "did you mean 'colmap-global'"),
        (["reconstruct", str(DEMO_DIR / "room.mp4"), "-o", "{tmp}/shot", "--start", "80"], "0 frame(s)"),
        (["reconstruct", str(DEMO_DIR / "room.mp4"), "-o", "{tmp}/full"], "not empty"),
        (["reconstruct", str(DEMO_DIR / "room.mp4"), "-o", "{tmp}/shot", "--intrinsics", "{tmp}/notes.mp4"], "3×3 K"),
        (["info", "{tmp}/notes.mp4"], "notes.mp4"),
    ],
)
def test_bad_input_gets_one_line_and_nonzero_exit(tmp_path, capsys, argv, message):
    (tmp_path / "notes.mp4").write_text("not a video")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    code = main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
    assert not (tmp_path / "shot" / "scene.usda").exists()


def test_debug_shows_the_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "sceneforge.engine.cli", "--debug", "reconstruct", "missing.mp4", "-o", str(tmp_path / "s")],
        capture_output=True, text=True, check=False,
    )
    assert done.returncode != 0
    assert "Traceback" in done.stderr and "InputError" in done.stderr


def test_help_explains_every_option():
    parser = build_parser()
    sub = parser._subparsers._group_actions[0].choices  # noqa: SLF001 - the parser's own registry
    assert {"reconstruct", "render", "edit", "export", "info"} <= set(sub)
    pending = list(sub.items())
    while pending:  # nested commands too (edit OP, edit camera MOVE)
        name, command = pending.pop()
        assert command.description, name
        for action in command._actions:  # noqa: SLF001
            if action.dest != "help":
                assert action.help, f"{name} {action.dest} has no help"
            if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
                pending += [(f"{name} {k}", v) for k, v in action.choices.items()]


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "reconstruct" in capsys.readouterr().out


def test_known_intrinsics_file_and_mask_are_used(tmp_path, truth, capsys):
    k = np.array(truth["K"])
    k_file = tmp_path / "K.txt"
    np.savetxt(k_file, k)
    mask = np.zeros((360, 640), np.uint8)
    mask[:40, :] = 255  # ignore the top band
    from PIL import Image

    Image.fromarray(mask).save(tmp_path / "mask.png")
    shot = tmp_path / "shot"
    code = main([
        "-q", "reconstruct", str(DEMO_DIR / "room.mp4"), "-o", str(shot), "--end", "36", "--depth", "none",
        "--intrinsics", str(k_file), "--mask", str(tmp_path / "mask.png"),
    ])
    assert code == 0, capsys.readouterr().err
    track = read_camera_track(shot / "scene.usda")
    assert len(track) == 36
    np.testing.assert_allclose(track.intrinsics[0].K, k, atol=1e-9)
    assert json.loads((shot / "report.json").read_text())["config"]["mask"].endswith("mask.png")


def test_focal_is_given_in_source_pixels(tmp_path, truth):
    shot = tmp_path / "shot"
    focal = np.array(truth["K"])[0, 0]
    assert main(["-q", "reconstruct", str(DEMO_DIR / "room.mp4"), "-o", str(shot), "--end", "30", "--max-size", "320", "--focal", str(focal), "--depth", "none"]) == 0
    track = read_camera_track(shot / "scene.usda")
    assert (track.intrinsics[0].width, track.intrinsics[0].height) == (320, 180)
    assert track.intrinsics[0].fx == pytest.approx(focal / 2)


def test_demo_scene_has_depth_and_a_textured_background(demo_shot):
    from sceneforge.scenegraph import read_scene_meshes

    summary_code = main(["info", str(demo_shot), "--json"])
    assert summary_code == 0
    meshes = read_scene_meshes(demo_shot / "scene.usda")
    background = [m for m in meshes if m.name == "Background"]
    assert background and background[0].mesh.num_faces > 1000
    assert background[0].mesh.texture is not None
    assert len(list((demo_shot / "run" / "depth").glob("*.npz"))) == 72
    assert (demo_shot / "textures").is_dir()


def test_render_writes_the_plate_camera_video(demo_shot, tmp_path, capsys):
    import av

    out = tmp_path / "render.mp4"
    assert main(["render", str(demo_shot / "scene.usda"), "-o", str(out), "--start", "10", "--end", "20"]) == 0
    assert "Rendered 10 frames" in capsys.readouterr().out
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 10 and frames[0].shape == (180, 320, 3)
    assert main(["render", str(demo_shot), "-o", str(out), "--start", "10", "--end", "12"]) == 2  # exists, no --force
    pngs = tmp_path / "pngs"
    assert main(["render", str(demo_shot), "-o", str(pngs), "--start", "30", "--end", "32"]) == 0
    assert sorted(p.name for p in pngs.iterdir()) == ["frame_000030.png", "frame_000031.png"]


def test_render_matches_the_plate_where_it_has_geometry(demo_shot, tmp_path):
    from PIL import Image

    from sceneforge.reconstruct import read_frames

    pngs = tmp_path / "pngs"
    assert main(["-q", "render", str(demo_shot), "-o", str(pngs), "--start", "40", "--end", "41", "--mode", "cg", "--no-fill"]) == 0
    rendered = np.asarray(Image.open(pngs / "frame_000040.png")).astype(np.float64)
    plate = read_frames(DEMO_DIR / "room.mp4", start=40, end=42, max_size=320).images[0].astype(np.float64)
    covered = rendered.sum(axis=2) > 0
    assert covered.mean() > 0.5
    psnr = 10 * np.log10(255.0**2 / np.mean((rendered[covered] - plate[covered]) ** 2))
    assert psnr > 18.0
    filled_dir = tmp_path / "filled"
    assert main(["-q", "render", str(demo_shot), "-o", str(filled_dir), "--start", "40", "--end", "41", "--mode", "cg"]) == 0
    filled = np.asarray(Image.open(filled_dir / "frame_000040.png")).astype(np.float64)
    # Geometry is untouched (but for silhouette pixels the lens resampling blends with the void).
    assert np.mean(np.all(filled[covered] == rendered[covered], axis=-1)) > 0.98
    assert (filled[~covered].sum(axis=-1) > 0).all()  # the holes got a colour
    psnr_all = 10 * np.log10(255.0**2 / np.mean((filled - plate) ** 2))
    psnr_black = 10 * np.log10(255.0**2 / np.mean((rendered - plate) ** 2))
    assert psnr_all > psnr_black


def test_info_preview_writes_depth_images(demo_shot, tmp_path):
    assert main(["-q", "info", str(demo_shot), "--preview", str(tmp_path / "prev")]) == 0
    assert len([p for p in (tmp_path / "prev").glob("*.png") if p.stem.isdigit()]) == 72  # and light_probe.png


def test_frame_range_and_stride_run_the_whole_pipeline(tmp_path):
    from sceneforge.scenegraph import read_scene_meshes

    shot = tmp_path / "shot"
    code = main(["-q", "reconstruct", str(DEMO_DIR / "room.mp4"), "-o", str(shot), "--start", "10", "--stride", "2",
                 "--max-size", "320", "--texture-size", "512"])
    assert code == 0
    track = read_camera_track(shot / "scene.usda")
    np.testing.assert_array_equal(track.frame_numbers, np.arange(10, 72, 2))
    assert sorted(p.stem for p in (shot / "run" / "depth").glob("*.npz")) == [f"{n:06d}" for n in range(10, 72, 2)]
    assert read_scene_meshes(shot / "scene.usda")


def test_export_colmap_with_images_opens_in_pycolmap(demo_shot, tmp_path, capsys):
    import pycolmap
    from PIL import Image

    out = tmp_path / "project" / "sparse"
    assert main(["export", str(demo_shot), "--to", "colmap", "-o", str(out), "--images"]) == 0
    assert "72 images" in capsys.readouterr().out
    model = pycolmap.Reconstruction(str(out))
    track = read_camera_track(demo_shot / "scene.usda")
    assert model.num_images() == len(track) == 72
    names = sorted(image.name for image in model.images.values())
    assert names[0] == "frame_000000.png"
    for name in names[::20]:
        path = out / "images" / name  # inside -o
        assert Image.open(path).size == (320, 180)
    camera = next(iter(model.cameras.values()))
    assert camera.width == 320 and np.isclose(camera.focal_length_x, track.intrinsics[0].fx)
    # again without --force: refused before anything is written
    before = sorted(p.name for p in out.iterdir())
    assert main(["export", str(demo_shot), "--to", "colmap", "-o", str(out), "--images"]) == 2
    assert sorted(p.name for p in out.iterdir()) == before


def test_export_glb_and_bad_export_options(demo_shot, tmp_path, capsys):
    import trimesh

    out = tmp_path / "scene.glb"
    assert main(["export", str(demo_shot), "--to", "glb", "-o", str(out), "--time", "10"]) == 0
    loaded = trimesh.load(out)
    assert len(loaded.geometry) >= 1
    assert main(["export", str(demo_shot), "--to", "glb", "-o", str(out)]) == 2  # exists, no --force
    assert "--force" in capsys.readouterr().err
    assert main(["export", str(demo_shot), "--to", "ply", "-o", str(tmp_path / "p.ply"), "--images"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--images" in err
    assert not (tmp_path / "p.ply").exists()


def test_edit_commands_write_only_the_edits_layer(edited_shot, tmp_path, capsys):
    import trimesh

    from sceneforge.scenegraph import Scene

    reconstruction = (edited_shot / "reconstruction.usda").read_bytes()
    before = read_camera_track(edited_shot / "scene.usda")
    assert main(["edit", str(edited_shot), "move", "background", "--by=-0.5,0,0"]) == 0
    assert main(["edit", str(edited_shot), "camera", "orbit", "--deg", "10"]) == 0
    assert main(["edit", str(edited_shot), "camera", "zoom", "--factor", "2"]) == 0
    trimesh.creation.box(extents=(0.3, 0.3, 0.3)).export(tmp_path / "box.glb")
    assert main(["edit", str(edited_shot), "insert", str(tmp_path / "box.glb"), "--name", "crate"]) == 0
    capsys.readouterr()
    assert (edited_shot / "reconstruction.usda").read_bytes() == reconstruction
    scene = Scene.open(edited_shot)
    assert np.allclose(scene.background.world_from_local[:3, 3], [-0.5, 0.0, 0.0])
    box = scene.objects["crate"].world_bounds()
    # stands on the ground, 0.3 m wide in the scene's own units (metersPerUnit from the eye-level rule)
    assert scene.meters_per_unit != 1.0
    assert abs(box[0, 1]) < 1e-6 and np.allclose(box[1] - box[0], 0.3 / scene.meters_per_unit, atol=1e-6)
    after = read_camera_track(edited_shot / "scene.usda")
    assert np.isclose(after.intrinsics[-1].fx, 2 * before.intrinsics[-1].fx)
    assert np.allclose(after.world_from_cam[0], before.world_from_cam[0], atol=1e-9)
    assert not np.allclose(after.world_from_cam[-1], before.world_from_cam[-1], atol=1e-3)
    assert validate_stage(edited_shot / "scene.usda").ok
    assert main(["edit", str(edited_shot), "list"]) == 0
    listing = capsys.readouterr().out
    assert "crate" in listing and "/World/Background" in listing


def test_edit_list_replays_and_bad_edits_change_nothing(edited_shot, tmp_path, capsys):
    edits_file = edited_shot / "edits.usda"
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps([
        {"op": "move", "object": "background", "by": [0, 0.2, 0]},
        {"op": "camera", "move": "dolly", "distance": 0.3},
        {"op": "light", "name": "sun", "kind": "distant", "intensity": 2.0},
    ]))
    assert main(["edit", str(edited_shot), "--apply", str(plan)]) == 0
    replayed = edits_file.read_text()
    assert "sun" in replayed
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([
        {"op": "move", "object": "background", "by": [0, 1, 0]},
        {"op": "move", "object": "backgrund", "by": [0, 1, 0]},
    ]))
    capsys.readouterr()
    assert main(["edit", str(edited_shot), "--apply", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean 'background'" in err
    assert edits_file.read_text() == replayed  # the first, valid, edit was not kept either
    assert main(["edit", str(edited_shot), "rotate", "background", "--y-deg", "nan"]) == 2
    assert main(["edit", str(edited_shot), "insert", str(tmp_path / "missing.glb"), "--name", "x"]) == 2
    script = tmp_path / "edit.py"
    script.write_text("scene.background.translate((0.0, 0.0, 0.1))\n")
    assert main(["edit", str(edited_shot), "--apply", str(script)]) == 0
    assert edits_file.read_text() != replayed


def test_prompted_object_becomes_a_static_layer_where_the_crate_is(tmp_path, truth, capsys):
    from sceneforge.scenegraph import Scene, read_scene_meshes, scene_summary

    shot = tmp_path / "shot"
    # The crate's box on source frame 30 (640×360 source pixels); the run works at 320×180.
    assert main([
        "reconstruct", str(DEMO_DIR / "room.mp4"), "-o", str(shot), "--max-size", "320", "--start", "18", "--end", "42",
        "--no-background", "--object", "crate=box:410,192,502,294@30",
    ]) == 0
    assert "crate: static" in capsys.readouterr().out
    summary = scene_summary(shot / "scene.usda")
    assert [o["name"] for o in summary["objects"]] == ["crate"] and summary["instance_maps"] == 24
    assert len(list((shot / "run" / "instances").glob("*.png"))) == 24
    # Bring the crate's mesh into the true world with the camera similarity and compare boxes.
    track = read_camera_track(shot / "scene.usda")
    gt = np.array([f["world_from_cam"] for f in truth["frames"]])[18:42]
    sim = similarity_from_points(track.camera_centers(), gt[:, :3, 3])
    crate = next(m for m in read_scene_meshes(shot / "scene.usda") if m.prim_path.startswith("/World/Objects/crate"))
    local = crate.mesh.vertices
    world = local @ crate.world_from_local[:3, :3].T + crate.world_from_local[:3, 3]
    true_centre = np.array(next(o for o in truth["objects"] if o["name"] == "crate")["center_m"])
    centre = sim.apply_points(0.5 * (world.min(axis=0) + world.max(axis=0))[None])[0]
    assert np.linalg.norm(centre - true_centre) < 0.12  # the crate is 0.6 m; only its front is seen
    # It is one editable handle.
    scene = Scene.open(shot)
    assert scene.objects["crate"].world_bounds() is not None
    assert validate_stage(shot / "scene.usda").ok
    # A prompt on a frame outside the clip is one line.
    assert main([
        "reconstruct", str(DEMO_DIR / "room.mp4"), "-o", str(tmp_path / "b"), "--max-size", "320", "--end", "10",
        "--object", "crate=box:410,192,502,294@30",
    ]) == 2
    err = capsys.readouterr().err
    assert "not in the clip" in err and err.count("\n") == 1


def test_a_point_with_a_negative_first_value_is_taken_as_the_flags_value():
    from sceneforge.engine.cli._main import _negative_values_attached
    from sceneforge.engine.cli._parser import build_parser

    argv = _negative_values_attached(["edit", "shot", "insert", "chair.glb", "--at", "-1.5,2", "--name", "chair"])
    args = build_parser().parse_args(argv)
    assert tuple(args.at) == (-1.5, 2.0)
    # plain negative numbers and other values are left to argparse
    assert _negative_values_attached(["--x", "-3", "--y", "a,b"]) == ["--x", "-3", "--y", "a,b"]
