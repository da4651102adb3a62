"""Resuming a png or exr sequence: finished frames survive an interruption and are listed."""

from __future__ import annotations

import numpy as np
import pytest

from sceneforge.render.writers import VideoWriter
from sceneforge.scenegraph import InputError

pytest.importorskip("OpenEXR")


def image(value: int) -> np.ndarray:
    return np.full((8, 10, 3), value, np.uint8)


def names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize("suffix", ["png", "exr"])
def test_an_interrupted_sequence_resumes_where_it_stopped(tmp_path, suffix):
    folder = tmp_path / "seq"
    pattern = folder / f"frame_%04d.{suffix}"
    folder.mkdir()
    with pytest.raises(KeyboardInterrupt):
        with VideoWriter(pattern, fps=24, start_number=100, resume=True) as writer:
            assert writer.existing_frame_numbers() == set()
            for value in (10, 20):
                writer.write(image(value))
                # Each frame is in the target as soon as it is written, under its final name.
                assert (folder / f"frame_{writer.start_number + writer.frames_written - 1:04d}.{suffix}").exists()
            raise KeyboardInterrupt
    assert names(folder) == [f"frame_0100.{suffix}", f"frame_0101.{suffix}"]
    kept = (folder / f"frame_0100.{suffix}").read_bytes()

    (folder / "notes.txt").write_text("not a frame")
    (folder / f"frame_00102.{suffix}").write_bytes(b"")  # not how %04d writes 102: someone else's file
    with VideoWriter(pattern, fps=24, start_number=100, resume=True) as writer:
        done = writer.existing_frame_numbers()
        assert done == {100, 101}
        for number in range(100, 104):
            if number not in done:
                writer.write(image(number), frame_number=number)
    assert names(folder) == sorted([f"frame_{n:04d}.{suffix}" for n in range(100, 104)]
                                   + ["notes.txt", f"frame_00102.{suffix}"])
    assert (folder / f"frame_0100.{suffix}").read_bytes() == kept
    assert not [p for p in tmp_path.rglob(".*")]


def test_resume_with_every_frame_done_writes_nothing(tmp_path):
    with VideoWriter(tmp_path / "seq", fps=24, resume=True) as writer:
        writer.write(image(1))
    with VideoWriter(tmp_path / "seq", fps=24, resume=True) as writer:
        assert writer.existing_frame_numbers() == {0}
    assert names(tmp_path / "seq") == ["frame_000000.png"]
    with pytest.raises(InputError, match="no frames"):
        with VideoWriter(tmp_path / "empty", fps=24, resume=True):
            pass
    assert names(tmp_path) == ["seq"]


def test_existing_frames_are_listed_only_when_kept(tmp_path):
    with VideoWriter(tmp_path / "seq", fps=24) as writer:
        writer.write(image(1))
    writer = VideoWriter(tmp_path / "seq", fps=24, overwrite=True)
    assert writer.existing_frame_numbers() == set()  # overwrite replaces them: none may be skipped
    writer.abort()
    assert names(tmp_path / "seq") == ["frame_000000.png"]


@pytest.mark.parametrize(("name", "overwrite", "message"), [("a.mp4", False, "cannot be resumed"), ("seq", True, "only one")])
def test_resume_is_refused_where_it_cannot_work(tmp_path, name, overwrite, message):
    with pytest.raises(InputError, match=message):
        VideoWriter(tmp_path / name, fps=24, resume=True, overwrite=overwrite)
    assert list(tmp_path.iterdir()) == []
