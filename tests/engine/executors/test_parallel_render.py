"""A render in frame ranges on the local executor: the output's rules (refused without --force,
--resume renders only what is missing) hold as for a render in one process."""

from __future__ import annotations

import numpy as np
import pytest

from sceneforge.engine.executors import make_executor
from sceneforge.engine.pipeline import RenderConfig, render_scene
from sceneforge.scenegraph import InputError, OutputExistsError


def _frames(folder):
    import cv2

    return {p.name: cv2.imread(str(p)) for p in sorted(folder.glob("*.png"))}


def test_ranges_resume_and_refuse_like_one_process(local_batch, tmp_path):
    shot = local_batch[0] / "second"
    out = tmp_path / "cg"
    config = RenderConfig(scene=shot, output=out, mode="cg", format="png")
    executor = make_executor("local", workers=2)
    first = render_scene(config, executor=executor)
    assert first.num_frames == 18 and first.pixels_by_source["rendered"] > 0
    frames = _frames(out)
    assert list(frames) == [f"frame_{n:06d}.png" for n in range(36, 72, 2)]  # numbered by source frame

    with pytest.raises(OutputExistsError, match="pass overwrite=True"):
        render_scene(config, executor=executor)
    with pytest.raises(InputError, match="only one"):
        render_scene(RenderConfig(scene=shot, output=out, mode="cg", format="png", resume=True, force=True), executor=executor)

    for name in list(frames)[5:8]:
        (out / name).unlink()
    resumed = render_scene(RenderConfig(scene=shot, output=out, mode="cg", format="png", resume=True), executor=executor)
    assert resumed.num_frames == 3
    again = _frames(out)
    assert list(again) == list(frames)
    for name in frames:
        np.testing.assert_array_equal(again[name], frames[name])

    (out / "frame_000999.png").write_bytes(b"an old frame")
    render_scene(RenderConfig(scene=shot, output=out, mode="cg", format="png", force=True, start=40, end=50), executor=executor)
    assert list(_frames(out)) == [f"frame_{n:06d}.png" for n in range(40, 50, 2)]  # --force replaced the sequence
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_executor_options_need_an_executor(local_batch, tmp_path):
    with pytest.raises(InputError, match="--address and --workers are for --executor"):
        render_scene(RenderConfig(scene=local_batch[0] / "first", output=tmp_path / "a.mp4", workers=2))
