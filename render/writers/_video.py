"""Writing frames out: H.264 video files through PyAV, or PNG image sequences.

Where the frames go is read from the path:

- ``edit.mp4`` (also ``.mov``, ``.m4v``, ``.mkv``): one video file, H.264 ``yuv420p`` by
  default, BT.709 colours tagged in the stream;
- ``shot/frame_%06d.png``: a PNG sequence named by the ``%0Nd`` pattern;
- ``shot/`` (an existing folder, a trailing slash, or a path with no suffix): a PNG
  sequence ``frame_%06d.png`` in that folder.

Writes are atomic: a video is encoded under a temporary name beside the target and
renamed when complete (scenegraph's ``atomic_path``); a sequence is written into a
temporary folder beside the target and its files moved in when complete. A failed or
interrupted write leaves the target as it was.

4:2:0 video needs even sizes: an odd width or height is padded by one pixel on the right
or bottom, repeating the last column or row (``odd_size="pad"``, the default), or that
column or row is dropped (``odd_size="crop"``). PNG sequences keep the exact size.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import numpy as np

from sceneforge.scenegraph import InputError, OutputExistsError, atomic_path, check_array
from sceneforge.scenegraph.files import temporary_sibling

__all__ = ["VIDEO_SUFFIXES", "DEFAULT_FRAME_PATTERN", "VideoWriter", "write_video"]

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv")
"""File suffixes written as video."""
DEFAULT_FRAME_PATTERN = "frame_%06d.png"
"""Name of each frame when the output path is a folder."""

_PATTERN = re.compile(r"%0(\d+)d")
_CRF_CODECS = {"libx264", "libx265", "libvpx-vp9", "libaom-av1", "libsvtav1"}
_EXR_SUFFIXES = (".exr",)

OddSize = Literal["pad", "crop"]


class _Discarded(Exception):
    """Ends an unfinished video's ``atomic_path`` block as a failure, so nothing is renamed."""


class VideoWriter:
    """Stream frames into a video file or a PNG sequence, atomically.

    Use as a context manager; the output appears only when the ``with`` block ends
    without an exception (or :meth:`close` is called). On an exception, or
    :meth:`abort`, nothing is left behind::

        with VideoWriter("edit.mp4", fps=24) as writer:
            for frame in frames:
                writer.write(frame)

    Args:
        path: the target (see the module docstring for how it is read).
        fps: frames per second (> 0); stored as an exact rational (``30000/1001`` for 29.97).
        codec: FFmpeg encoder for video files.
        crf: constant rate factor for x264/x265/VP9/AV1 (lower = better; 18 ≈ visually lossless).
        overwrite: replace an existing file, or existing frames of the sequence.
        odd_size: what a video does with an odd width or height: ``pad`` or ``crop``.
        start_number: the number of the first frame of a PNG sequence.

    Raises:
        InputError: an unsupported suffix, a malformed pattern, a bad fps/crf, a missing parent folder.
        OutputExistsError: the target exists and ``overwrite`` is False.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fps: float,
        codec: str = "libx264",
        crf: int = 18,
        overwrite: bool = False,
        odd_size: OddSize = "pad",
        start_number: int = 0,
    ) -> None:
        try:
            fps_ok = bool(np.isfinite(float(fps)) and float(fps) > 0)
        except (TypeError, ValueError):
            fps_ok = False
        if not fps_ok:
            raise InputError(f"fps must be a positive number, got {fps!r}")
        if isinstance(crf, bool) or not isinstance(crf, (int, np.integer)) or not 0 <= crf <= 63:
            raise InputError(f"crf must be an integer in [0, 63] (18 ≈ visually lossless), got {crf!r}")
        if odd_size not in ("pad", "crop"):
            raise InputError(f"odd_size must be 'pad' or 'crop', got {odd_size!r}")
        if isinstance(start_number, bool) or int(start_number) != start_number or start_number < 0:
            raise InputError(f"start_number must be a non-negative integer, got {start_number!r}")
        self.fps = fps if isinstance(fps, Fraction) else Fraction(float(fps)).limit_denominator(1001)
        self.codec = codec
        self.crf = int(crf)
        self.overwrite = bool(overwrite)
        self.odd_size: OddSize = odd_size
        self.start_number = int(start_number)
        self.frames_written = 0
        self._size: tuple[int, int] | None = None  # (height, width) of the frames given
        self._container: Any = None
        self._stream: Any = None
        self._closed = False
        self.kind, self.path, self._pattern = _parse_target(os.fspath(path))
        self._check_target()
        self._commit: AbstractContextManager[Path] | None = None
        if self.kind == "video":
            # The temporary file keeps the real suffix, so that FFmpeg picks the container from it.
            self._commit = atomic_path(self.path)
            self._tmp = self._commit.__enter__()
        else:
            # A sequence is many files merged into a folder that may hold others, so it is
            # staged in a folder of its own and its files renamed in one by one at the end.
            folder = self.path.absolute()
            self._tmp = temporary_sibling(folder)
            self._tmp.mkdir()

    # -- targets ----------------------------------------------------------------------

    def _check_target(self) -> None:
        parent = self.path.parent
        if not parent.is_dir():
            raise InputError(f"folder {parent} does not exist; create it first")
        if self.kind == "video":
            if self.path.is_dir():
                raise InputError(f"{self.path} is a folder; pass a file name such as {self.path / 'edit.mp4'}")
            if self.path.exists() and not self.overwrite:
                raise OutputExistsError(f"{self.path} already exists; pass overwrite=True (--force) to replace it")
            return
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"{self.path} is a file; an image sequence needs a folder")
        existing = self._existing_frames()
        if existing and not self.overwrite:
            raise OutputExistsError(
                f"{self.path} already holds {len(existing)} frame(s) named like {self._pattern} "
                f"(e.g. {existing[0].name}); pass overwrite=True (--force) to replace them"
            )

    def _existing_frames(self) -> list[Path]:
        if not self.path.is_dir():
            return []
        regex = _pattern_regex(self._pattern)
        return sorted(p for p in self.path.iterdir() if regex.fullmatch(p.name))

    # -- writing ----------------------------------------------------------------------

    def write(self, frame: np.ndarray) -> None:
        """Append one H×W×3 uint8 RGB frame (every frame the size of the first)."""
        if self._closed:
            raise InputError("this VideoWriter is closed; open a new one")
        image = check_array(frame, "frame", shape=(None, None, 3), dtype=np.uint8, hint="pass H×W×3 uint8 RGB frames")
        if self._size is None:
            if image.shape[0] < 2 or image.shape[1] < 2:
                raise InputError(f"frames must be at least 2×2 pixels, got {image.shape[1]}×{image.shape[0]}")
            self._size = (image.shape[0], image.shape[1])
        elif image.shape[:2] != self._size:
            raise InputError(
                f"every frame must be {self._size[1]}×{self._size[0]} like the first, got "
                f"{image.shape[1]}×{image.shape[0]} at frame {self.frames_written}"
            )
        try:
            if self.kind == "video":
                self._write_video_frame(image)
            else:
                self._write_png(image)
        except BaseException:
            self.abort()
            raise
        self.frames_written += 1

    def _write_png(self, image: np.ndarray) -> None:
        import cv2

        name = self._pattern % (self.start_number + self.frames_written)
        if not cv2.imwrite(str(self._tmp / name), np.ascontiguousarray(image[:, :, ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 3]):
            raise InputError(f"could not write {self._tmp / name}; check the disk and permissions")

    def _open_video(self, height: int, width: int) -> None:
        import av

        # MP4/MOV with the index up front, so that a browser or a review tool can start playing at once.
        options = {"movflags": "+faststart"} if self.path.suffix.lower() in (".mp4", ".mov", ".m4v") else {}
        self._container = av.open(str(self._tmp), mode="w", options=options)
        try:
            stream = self._container.add_stream(self.codec, rate=self.fps)
        except ValueError as error:
            raise InputError(f"FFmpeg has no encoder {self.codec!r} ({error}); use libx264") from error
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(self.crf)} if self.codec in _CRF_CODECS else {}
        # Tag what the pixels are, so that players decode the colours we encoded: BT.709
        # matrix, primaries and transfer, limited range (FFmpeg's value 1 for each).
        context = stream.codec_context
        for attribute in ("colorspace", "color_range", "color_primaries", "color_trc"):
            setattr(context, attribute, 1)
        self._stream = stream

    def _write_video_frame(self, image: np.ndarray) -> None:
        import av
        from av.video.reformatter import ColorRange, Colorspace

        image = _even_size(image, self.odd_size)
        if self._container is None:
            self._open_video(image.shape[0], image.shape[1])
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame = frame.reformat(format="yuv420p", dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG)
        frame.pts = self.frames_written
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    # -- ending -----------------------------------------------------------------------

    def close(self) -> Path:
        """Finish the file (or sequence) and move it into place; returns the target path.

        Raises:
            InputError: no frame was written (nothing is created).
        """
        if self._closed:
            return self.path
        if self.frames_written == 0:
            self.abort()
            raise InputError(f"no frames were written to {self.path}; nothing was created")
        try:
            if self.kind == "video":
                for packet in self._stream.encode():
                    self._container.mux(packet)
                self._container.close()
                self._container = None
                commit, self._commit = self._commit, None
                commit.__exit__(None, None, None)  # renames the finished file onto the target
            else:
                self._commit_sequence()
        except BaseException:
            self.abort()
            raise
        self._closed = True
        log.debug("wrote %d frames to %s", self.frames_written, self.path)
        return self.path

    def _commit_sequence(self) -> None:
        self.path.mkdir(exist_ok=True)
        if self.overwrite:
            for stale in self._existing_frames():
                stale.unlink()
        for staged in sorted(self._tmp.iterdir()):
            os.replace(staged, self.path / staged.name)
        self._tmp.rmdir()

    def abort(self) -> None:
        """Stop without creating the output; temporary files are removed."""
        if self._closed:
            return
        self._closed = True
        if self._container is not None:
            try:
                self._container.close()
            except Exception as error:  # cleaning up after a failure must not hide it
                log.debug("closing the unfinished container failed: %s", error)
            self._container = None
        if self._commit is not None:
            commit, self._commit = self._commit, None
            # Leaving the atomic_path block with an exception removes its temporary file.
            commit.__exit__(_Discarded, _Discarded(), None)
        elif self._tmp.is_dir():
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_video(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    *,
    fps: float,
    codec: str = "libx264",
    crf: int = 18,
    overwrite: bool = False,
    odd_size: OddSize = "pad",
    start_number: int = 0,
    progress: Callable[[str, int, int], None] | None = None,
) -> Path:
    """Write H×W×3 uint8 RGB frames to a video file or a PNG sequence, atomically.

    Args:
        path: ``*.mp4`` / ``.mov`` / ``.m4v`` / ``.mkv`` for video; a folder, or a path with a
            ``%0Nd`` pattern such as ``out/frame_%06d.png``, for a PNG sequence.
        frames: the frames, all the same size (any iterable; consumed once).
        fps: frames per second.
        codec: FFmpeg video encoder (H.264 through ``libx264`` by default, ``yuv420p``).
        crf: constant rate factor (18 ≈ visually lossless).
        overwrite: replace an existing target.
        odd_size: ``pad`` (repeat the last row/column) or ``crop`` odd sizes for video.
        start_number: number of the first frame of a PNG sequence.
        progress: optional ``progress(stage, done, total)`` callback (``total`` 0 when unknown).

    Returns:
        The path written.

    Raises:
        InputError: a bad path, suffix, frame or parameter, or no frames.
        OutputExistsError: the target exists and ``overwrite`` is False.
    """
    total = len(frames) if hasattr(frames, "__len__") else 0
    with VideoWriter(
        path, fps=fps, codec=codec, crf=crf, overwrite=overwrite, odd_size=odd_size, start_number=start_number
    ) as writer:
        for frame in frames:
            writer.write(frame)
            if progress is not None:
                progress("write video", writer.frames_written, total)
    return writer.path


# ----------------------------------------------------------------------------------------


def _parse_target(text: str) -> tuple[str, Path, str]:
    """(kind, path, frame pattern): kind ``video`` (path = file) or ``sequence`` (path = folder)."""
    if not text:
        raise InputError("the output path is empty; pass a file such as edit.mp4 or a folder")
    path = Path(text)
    patterns = _PATTERN.findall(path.name)
    if "%" in str(path.parent):
        raise InputError(f"a frame-number pattern may appear only in the file name, got {text}")
    if patterns or "%" in path.name:
        if len(patterns) != 1 or path.name.count("%") != 1:
            raise InputError(f"an image-sequence path needs exactly one %0Nd pattern in its name (frame_%06d.png), got {text}")
        suffix = path.suffix.lower()
        if suffix in _EXR_SUFFIXES:
            raise InputError(f"EXR sequences are not supported yet, got {text}; use .png")
        if suffix != ".png":
            raise InputError(f"image sequences are written as PNG, got suffix {path.suffix!r} in {text}; use .png")
        return "sequence", path.parent, path.name
    suffix = path.suffix.lower()
    if path.is_dir() or text.endswith(("/", os.sep)) or not suffix:
        return "sequence", path, DEFAULT_FRAME_PATTERN
    if suffix in VIDEO_SUFFIXES:
        return "video", path, ""
    if suffix in _EXR_SUFFIXES or suffix == ".png":
        raise InputError(f"{text} names one image; for a sequence pass a folder or a pattern such as frame_%06d{suffix}")
    raise InputError(f"cannot write video to {text}: unknown suffix {path.suffix!r}; use one of {', '.join(VIDEO_SUFFIXES)}, "
                     "a folder, or a frame_%06d.png pattern")


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    head, digits, tail = _PATTERN.split(pattern, maxsplit=1)
    return re.compile(re.escape(head) + rf"\d{{{int(digits)},}}" + re.escape(tail))


def _even_size(image: np.ndarray, odd_size: OddSize) -> np.ndarray:
    h, w = image.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return image
    if odd_size == "crop":
        return image[: h - h % 2, : w - w % 2]
    return np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
