"""Where frames go: the output formats, and how a path (with an optional format) names a target.

A target is either one video file (``mp4``: H.264; ``prores``: ProRes 4444 in ``.mov``) or an
image sequence (``png``, ``exr``): a folder plus a ``%0Nd`` file-name pattern whose number is
the frame's source frame number.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sceneforge.scenegraph import InputError

__all__ = [
    "DEFAULT_FRAME_PATTERN",
    "VIDEO_SUFFIXES",
    "WRITER_FORMATS",
    "Target",
    "WriterFormat",
    "existing_frames",
    "parse_target",
]

WriterFormat = Literal["mp4", "png", "exr", "prores"]

WRITER_FORMATS: tuple[WriterFormat, ...] = ("mp4", "png", "exr", "prores")
"""Output formats: ``mp4`` (H.264 video file, also in .mov/.m4v/.mkv), ``png`` and ``exr``
(image sequences), ``prores`` (ProRes 4444 ``.mov``)."""
VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv")
"""File suffixes written as video."""
DEFAULT_FRAME_PATTERN = "frame_%06d.png"
"""Name of each frame when the output path of a PNG sequence is a folder (``frame_%06d.exr`` for EXR)."""

_SEQUENCE_SUFFIXES: dict[str, WriterFormat] = {".png": "png", ".exr": "exr"}
_PATTERN = re.compile(r"%0(\d+)d")


@dataclass(frozen=True)
class Target:
    """A parsed output target.

    Attributes:
        format: one of :data:`WRITER_FORMATS`.
        path: the video file, or the folder of a sequence.
        pattern: the ``%0Nd`` file-name pattern of a sequence; ``""`` for a video.
    """

    format: WriterFormat
    path: Path
    pattern: str

    @property
    def is_sequence(self) -> bool:
        """True for an image sequence (png, exr), False for one video file."""
        return bool(self.pattern)


def parse_target(text: str, format: str | None) -> Target:
    """Read the target from a path and an optional format (``None``: chosen from the path).

    Raises:
        InputError: an unknown format, a malformed pattern, or a path that does not fit the format.
    """
    if format is not None and format not in WRITER_FORMATS:
        raise InputError(f"format must be one of {', '.join(WRITER_FORMATS)} (or None to choose from the path), got {format!r}")
    if not text:
        raise InputError("the output path is empty; pass a file such as edit.mp4 or a folder")
    path = Path(text)
    patterns = _PATTERN.findall(path.name)
    if "%" in str(path.parent):
        raise InputError(f"a frame-number pattern may appear only in the file name, got {text}")
    if patterns or "%" in path.name:
        if len(patterns) != 1 or path.name.count("%") != 1:
            raise InputError(f"an image-sequence path needs exactly one %0Nd pattern in its name (frame_%06d.png), got {text}")
        found = _SEQUENCE_SUFFIXES.get(path.suffix.lower())
        if found is None:
            raise InputError(
                f"image sequences are written as PNG or EXR, got suffix {path.suffix!r} in {text}; use .png or .exr"
            )
        if format not in (None, found):
            raise InputError(f"format {format!r} does not fit the {found.upper()} pattern {text}; "
                             f"pass a .{found} pattern with format={found!r}, or a video file name")
        return Target(found, path.parent, path.name)
    suffix = path.suffix.lower()
    if path.is_dir() or text.endswith(("/", os.sep)) or not suffix:
        if format in ("mp4", "prores"):
            example = path / ("edit.mov" if format == "prores" else "edit.mp4")
            raise InputError(f"format {format!r} writes one file, got the folder {text}; pass a file name such as {example}")
        chosen: WriterFormat = format or "png"  # type: ignore[assignment]
        return Target(chosen, path, f"frame_%06d.{chosen}")
    if suffix in VIDEO_SUFFIXES:
        if format in (None, "mp4"):
            return Target("mp4", path, "")
        if format == "prores":
            if suffix != ".mov":
                raise InputError(f"ProRes is written to .mov files, got {text}; use {path.with_suffix('.mov')}")
            return Target("prores", path, "")
        raise InputError(f"format {format!r} writes an image sequence, got the video file {text}; "
                         f"pass a folder or a pattern such as frame_%06d.{format}")
    if suffix in _SEQUENCE_SUFFIXES:
        raise InputError(f"{text} names one image; for a sequence pass a folder or a pattern such as frame_%06d{suffix}")
    raise InputError(f"cannot write video to {text}: unknown suffix {path.suffix!r}; use one of {', '.join(VIDEO_SUFFIXES)}, "
                     "a folder, or a frame_%06d.png / frame_%06d.exr pattern")


def existing_frames(folder: Path, pattern: str) -> dict[int, Path]:
    """The files in ``folder`` named exactly ``pattern % n``, by frame number ``n`` (empty if no folder)."""
    if not folder.is_dir():
        return {}
    head, digits, tail = _PATTERN.split(pattern, maxsplit=1)
    regex = re.compile(re.escape(head) + rf"(\d{{{int(digits)},}})" + re.escape(tail))
    found = {}
    for path in folder.iterdir():
        match = regex.fullmatch(path.name)
        # "frame_0000012.png" is not how %06d writes 12, so it is someone else's file.
        if match and pattern % int(match.group(1)) == path.name:
            found[int(match.group(1))] = path
    return dict(sorted(found.items()))
