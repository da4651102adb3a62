"""Writing frames out: H.264 or ProRes video files through PyAV, PNG or EXR image sequences.

Where the frames go is read from the path, and from ``format`` when given (one of
:data:`WRITER_FORMATS`):

- ``edit.mp4`` (also ``.mov``, ``.m4v``, ``.mkv``): one video file, H.264 ``yuv420p`` by
  default, BT.709 colours tagged in the stream (``format="mp4"``);
- ``edit.mov`` with ``format="prores"``: ProRes 4444 (``prores_ks``, ``yuv444p10le``), BT.709;
- ``shot/frame_%06d.png``: a PNG sequence named by the ``%0Nd`` pattern;
- ``shot/frame_%06d.exr``: an EXR sequence, half-float linear RGB plus named extra channels
  (depth, object ids, masks; see ``_exr.py`` for how each dtype is stored);
- ``shot/`` (an existing folder, a trailing slash, or a path with no suffix): a sequence
  ``frame_%06d.png`` in that folder, or ``frame_%06d.exr`` with ``format="exr"``.

A sequence's files are numbered by source frame number: ``start_number`` for the first,
then one more per frame, or the ``frame_number`` given to :meth:`VideoWriter.write`.

Writes are atomic: a video is encoded under a temporary name beside the target and
renamed when complete (scenegraph's ``atomic_path``); a sequence is written into a
temporary folder beside the target and its files moved in when complete. A failed or
interrupted write leaves the target as it was. A sequence opened with ``resume=True``
instead writes each frame straight into the target folder (each file atomically), so that
an interrupted render keeps every finished frame and the next run skips them.

4:2:0 video needs even sizes: an odd width or height is padded by one pixel on the right
or bottom, repeating the last column or row (``odd_size="pad"``, the default), or that
column or row is dropped (``odd_size="crop"``). Sequences and ProRes keep the exact size.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import numpy as np

from sceneforge.scenegraph import InputError, OutputExistsError, atomic_path, check_array
from sceneforge.scenegraph.files import remove_stale_temporaries, temporary_sibling

from ._encode import OddSize, VideoEncoder
from ._exr import import_openexr, pack_channels, srgb_to_linear, write_exr
from ._targets import DEFAULT_FRAME_PATTERN, VIDEO_SUFFIXES, WRITER_FORMATS, Target, WriterFormat, existing_frames, parse_target

__all__ = ["DEFAULT_FRAME_PATTERN", "VIDEO_SUFFIXES", "WRITER_FORMATS", "VideoWriter", "check_target", "write_video"]

log = logging.getLogger(__name__)


class _Discarded(Exception):
    """Ends an unfinished video's ``atomic_path`` block as a failure, so nothing is renamed."""


class VideoWriter:
    """Stream frames into a video file or an image sequence, atomically.

    Use as a context manager; the output appears only when the ``with`` block ends
    without an exception (or :meth:`close` is called). On an exception, or
    :meth:`abort`, nothing is left behind::

        with VideoWriter("edit.mp4", fps=24) as writer:
            for frame in frames:
                writer.write(frame)

    Resuming a sequence (png, exr) after an interruption: frames already in the target
    folder are kept, and each new frame is renamed into the folder as soon as it is written::

        with VideoWriter("shot/frame_%06d.exr", fps=24, resume=True) as writer:
            done = writer.existing_frame_numbers()
            for number, frame in zip(frame_numbers, frames):
                if number not in done:
                    writer.write(render(frame), frame_number=number, channels={"depth": depth})

    Args:
        path: the target (see the module docstring for how it is read).
        fps: frames per second (> 0); stored as an exact rational (``30000/1001`` for 29.97).
        codec: FFmpeg encoder for ``mp4`` video files.
        crf: constant rate factor for x264/x265/VP9/AV1 (lower = better; 18 ≈ visually lossless).
        overwrite: replace an existing file, or the existing frames of the sequence.
        odd_size: what H.264 video does with an odd width or height: ``pad`` or ``crop``.
        start_number: the source frame number of the first frame (the next ones count up).
        format: ``mp4``, ``png``, ``exr`` or ``prores`` (:data:`WRITER_FORMATS`); ``None``
            chooses from the path (video suffix → mp4, ``.exr`` pattern → exr, else png).
            ``.mov`` is H.264 unless ``format="prores"``.
        resume: sequences only: keep the frames already in the target folder (listed by
            :meth:`existing_frame_numbers`) and write each new frame straight into the folder,
            atomically; :meth:`abort` then keeps the frames finished so far. Writing a frame
            number that exists replaces that file; frames this run does not write are left alone.

    Raises:
        InputError: an unsupported suffix or format, a malformed pattern, a bad fps/crf, a
            missing parent folder, ``resume`` with a video or with ``overwrite``.
        OutputExistsError: the target exists and neither ``overwrite`` nor ``resume`` is set.
        DependencyError: ``exr`` without the OpenEXR package.
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
        format: WriterFormat | None = None,
        resume: bool = False,
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
        _check_frame_number(start_number, "start_number")
        self.fps = fps if isinstance(fps, Fraction) else Fraction(float(fps)).limit_denominator(1001)
        self.codec = codec
        self.crf = int(crf)
        self.overwrite = bool(overwrite)
        self.resume = bool(resume)
        self.odd_size: OddSize = odd_size
        self.start_number = int(start_number)
        self.frames_written = 0
        self._size: tuple[int, int] | None = None  # (height, width) of the frames given
        self._layout: dict[str, np.dtype] | None = None  # extra EXR channels of the first frame
        self._numbers: set[int] = set()  # frame numbers written by this writer
        self._next_number = self.start_number
        self._closed = False
        target = parse_target(os.fspath(path), format)
        self.format: WriterFormat = target.format
        self.kind = "sequence" if target.is_sequence else "video"
        self.path, self._pattern = target.path, target.pattern
        if self.format == "exr":
            import_openexr()  # fail now, not after the first frame was rendered
        self._existing: dict[int, Path] = {}
        self._check_target()
        self._commit: AbstractContextManager[Path] | None = None
        self._encoder: VideoEncoder | None = None
        self._tmp: Path | None = None
        remove_stale_temporaries(self.path.absolute().parent)
        if self.kind == "video":
            # The temporary file keeps the real suffix, so that FFmpeg picks the container from it.
            self._commit = atomic_path(self.path)
            self._tmp = self._commit.__enter__()
            self._encoder = VideoEncoder(
                self._tmp, format=self.format, fps=self.fps, codec=codec, crf=self.crf, odd_size=odd_size  # type: ignore[arg-type]
            )
        elif not self.resume:
            # A sequence is many files merged into a folder that may hold others, so it is
            # staged in a folder of its own and its files renamed in one by one at the end.
            self._tmp = temporary_sibling(self.path.absolute())
            self._tmp.mkdir()

    # -- targets ----------------------------------------------------------------------

    def _check_target(self) -> None:
        target = Target(format=self.format, path=self.path, pattern=self._pattern)
        self._existing = check_target(target, overwrite=self.overwrite, resume=self.resume)

    def existing_frame_numbers(self) -> set[int]:
        """The source frame numbers whose files this writer keeps from before (``resume`` only).

        They are the files in the target folder named exactly by the pattern when the writer
        was opened. Without ``resume`` the set is empty: nothing from before is kept (with
        ``overwrite`` the old frames are replaced at :meth:`close`); a video is always empty.
        """
        return set(self._existing) if self.resume else set()

    # -- writing ----------------------------------------------------------------------

    def write(
        self, frame: np.ndarray, *, channels: Mapping[str, np.ndarray] | None = None, frame_number: int | None = None
    ) -> None:
        """Append one frame (every frame the size of the first).

        Args:
            frame: H×W×3 RGB, uint8, or float32 sRGB-encoded in 0..1 (finite; EXR keeps values
                outside 0..1, the 8- and 10-bit formats clip them).
            channels: ``exr`` only: extra H×W channels by name, e.g. ``depth`` (float32 →
                FLOAT), ``object_id`` (int32 → UINT), ``coverage`` (bool → HALF); every frame
                must carry the same names and dtypes. Other formats refuse them.
            frame_number: the source frame number (default: one after the previous frame,
                ``start_number`` for the first). A sequence names the file by it; a video's
                frames are consecutive, so there it must be that default.

        Raises:
            ShapeError: a frame or channel of the wrong shape or dtype.
            InputError: channels for a format that cannot store them, non-finite values, a
                frame number written twice, or a writer already closed.
        """
        if self._closed:
            raise InputError("this VideoWriter is closed; open a new one")
        image = check_array(
            frame, "frame", shape=(None, None, 3), dtype=(np.uint8, np.float32), hint="pass H×W×3 RGB frames (uint8, or float32 in 0..1)"
        )
        if image.dtype == np.float32 and not np.isfinite(image).all():
            raise InputError("frame must be finite, got NaN or infinity; pass float32 sRGB values in 0..1")
        if channels and self.format != "exr":
            raise InputError(
                f"{self.format} cannot store extra channels (got {', '.join(map(str, channels))}); "
                "write an exr sequence or leave channels out"
            )
        number = self._take_frame_number(frame_number)
        if self._size is None:
            if image.shape[0] < 2 or image.shape[1] < 2:
                raise InputError(f"frames must be at least 2×2 pixels, got {image.shape[1]}×{image.shape[0]}")
            self._size = (image.shape[0], image.shape[1])
        elif image.shape[:2] != self._size:
            raise InputError(
                f"every frame must be {self._size[1]}×{self._size[0]} like the first, got "
                f"{image.shape[1]}×{image.shape[0]} at frame {self.frames_written}"
            )
        packed = self._pack(channels or {}) if self.format == "exr" else {}
        try:
            if self._encoder is not None:
                # ProRes holds ten bits: float frames go in as 16-bit RGB rather than 8-bit.
                deep = self.format == "prores" and image.dtype == np.float32
                self._encoder.encode(_as_uint16(image) if deep else _as_uint8(image), pts=self.frames_written)
            else:
                self._write_sequence_frame(image, packed, number)
        except BaseException:
            self.abort()
            raise
        self._numbers.add(number)
        self._next_number = number + 1
        self.frames_written += 1

    def _take_frame_number(self, frame_number: int | None) -> int:
        if frame_number is None:
            return self._next_number
        _check_frame_number(frame_number, "frame_number")
        number = int(frame_number)
        if self.kind == "video" and number != self._next_number:
            raise InputError(
                f"a video's frames are consecutive: expected frame_number {self._next_number}, got {number}; "
                "write a png or exr sequence to skip frames"
            )
        if number in self._numbers:
            raise InputError(f"frame {number} was already written to {self.path}; each frame number is written once")
        return number

    def _pack(self, channels: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        assert self._size is not None  # set by write() before packing
        packed = pack_channels(channels, height=self._size[0], width=self._size[1])
        layout = {name: values.dtype for name, values in packed.items()}
        if self._layout is None:
            self._layout = layout
        elif layout != self._layout:
            raise InputError(
                f"every EXR frame must carry the channels of the first ({_layout_text(self._layout)}), "
                f"got {_layout_text(layout)} at frame {self.frames_written}"
            )
        return packed

    def _write_sequence_frame(self, image: np.ndarray, packed: dict[str, np.ndarray], number: int) -> None:
        name = self._pattern % number
        if not self.resume:
            assert self._tmp is not None  # the staging folder of a sequence without resume
            self._encode_image(self._tmp / name, image, packed)
            return
        self.path.mkdir(exist_ok=True)
        with atomic_path(self.path / name) as tmp:
            self._encode_image(tmp, image, packed)

    def _encode_image(self, path: Path, image: np.ndarray, packed: dict[str, np.ndarray]) -> None:
        if self.format == "exr":
            encoded = image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image
            write_exr(path, srgb_to_linear(encoded), packed, fps=self.fps)
            return
        import cv2

        bgr = np.ascontiguousarray(_as_uint8(image)[:, :, ::-1])
        if not cv2.imwrite(str(path), bgr, [cv2.IMWRITE_PNG_COMPRESSION, 3]):
            raise InputError(f"could not write {path}; check the disk and permissions")

    # -- ending -----------------------------------------------------------------------

    def close(self) -> Path:
        """Finish the file (or sequence) and move it into place; returns the target path.

        Raises:
            InputError: no frame was written (nothing is created); with ``resume`` only when
                the folder held no frames either.
        """
        if self._closed:
            return self.path
        if self.frames_written == 0 and not (self.resume and self._existing):
            self.abort()
            raise InputError(f"no frames were written to {self.path}; nothing was created")
        try:
            if self._encoder is not None:
                self._encoder.finish()
                commit, self._commit = self._commit, None
                assert commit is not None  # entered in __init__ for every video
                commit.__exit__(None, None, None)  # renames the finished file onto the target
            elif not self.resume:
                self._commit_sequence()
        except BaseException:
            self.abort()
            raise
        self._closed = True
        log.debug("wrote %d frames to %s", self.frames_written, self.path)
        return self.path

    def _commit_sequence(self) -> None:
        assert self._tmp is not None  # the staging folder of a sequence without resume
        self.path.mkdir(exist_ok=True)
        if self.overwrite:
            for stale in existing_frames(self.path, self._pattern).values():
                stale.unlink()
        for staged in sorted(self._tmp.iterdir()):
            os.replace(staged, self.path / staged.name)
        self._tmp.rmdir()

    def abort(self) -> None:
        """Stop without creating the output; temporary files are removed.

        With ``resume``, the frames already renamed into the folder stay (each is complete).
        """
        if self._closed:
            return
        self._closed = True
        if self._encoder is not None:
            self._encoder.discard()
        if self._commit is not None:
            commit, self._commit = self._commit, None
            # Leaving the atomic_path block with an exception removes its temporary file.
            commit.__exit__(_Discarded, _Discarded(), None)
        elif self._tmp is not None and self._tmp.is_dir():
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


def check_target(target: Target, *, overwrite: bool, resume: bool) -> dict[int, Path]:
    """Check that ``target`` may be written (what :class:`VideoWriter` checks when opened);
    returns the sequence's existing frames by number (empty for a video).

    Raises:
        InputError: a missing parent folder, ``resume`` with a video or with ``overwrite``, a
            video path that is a folder, a sequence path that is a file.
        OutputExistsError: the target exists and neither ``overwrite`` nor ``resume`` is set.
    """
    parent = target.path.parent
    if not parent.is_dir():
        raise InputError(f"folder {parent} does not exist; create it first")
    if not target.is_sequence:
        if resume:
            raise InputError(f"a {target.format} video cannot be resumed frame by frame; write a png or exr sequence")
        if target.path.is_dir():
            raise InputError(f"{target.path} is a folder; pass a file name such as {target.path / 'edit.mp4'}")
        if target.path.exists() and not overwrite:
            raise OutputExistsError(f"{target.path} already exists; pass overwrite=True (--force) to replace it")
        return {}
    if resume and overwrite:
        raise InputError("resume keeps the existing frames and overwrite replaces them; pass only one")
    if target.path.exists() and not target.path.is_dir():
        raise InputError(f"{target.path} is a file; an image sequence needs a folder")
    existing = existing_frames(target.path, target.pattern)
    if existing and not (overwrite or resume):
        first = next(iter(existing.values()))
        raise OutputExistsError(
            f"{target.path} already holds {len(existing)} frame(s) named like {target.pattern} "
            f"(e.g. {first.name}); pass overwrite=True (--force) to replace them or resume=True to keep them"
        )
    return existing


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
    format: WriterFormat | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> Path:
    """Write H×W×3 RGB frames (uint8, or float32 sRGB in 0..1) to a video file or a sequence, atomically.

    Args:
        path: ``*.mp4`` / ``.mov`` / ``.m4v`` / ``.mkv`` for video; a folder, or a path with a
            ``%0Nd`` pattern such as ``out/frame_%06d.png`` or ``.exr``, for a sequence.
        frames: the frames, all the same size (any iterable; consumed once).
        fps: frames per second.
        codec: FFmpeg video encoder for ``mp4`` (H.264 through ``libx264`` by default, ``yuv420p``).
        crf: constant rate factor (18 ≈ visually lossless).
        overwrite: replace an existing target.
        odd_size: ``pad`` (repeat the last row/column) or ``crop`` odd sizes for H.264 video.
        start_number: source frame number of the first frame of a sequence.
        format: ``mp4``, ``png``, ``exr`` or ``prores``; ``None`` chooses from the path.
        progress: optional ``progress(stage, done, total)`` callback (``total`` 0 when unknown).

    Returns:
        The path written.

    Raises:
        InputError: a bad path, suffix, format, frame or parameter, or no frames.
        OutputExistsError: the target exists and ``overwrite`` is False.
    """
    total = len(frames) if hasattr(frames, "__len__") else 0
    with VideoWriter(
        path, fps=fps, codec=codec, crf=crf, overwrite=overwrite, odd_size=odd_size, start_number=start_number, format=format
    ) as writer:
        for frame in frames:
            writer.write(frame)
            if progress is not None:
                progress("write video", writer.frames_written, total)
    return writer.path


# ----------------------------------------------------------------------------------------


def _check_frame_number(value: object, name: str) -> None:
    try:
        ok = not isinstance(value, bool) and int(value) == value and value >= 0  # type: ignore[call-overload, operator]
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise InputError(f"{name} must be a non-negative integer, got {value!r}")


def _as_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def _as_uint16(image: np.ndarray) -> np.ndarray:
    return np.round(np.clip(image, 0.0, 1.0) * 65535.0).astype(np.uint16)


def _layout_text(layout: dict[str, np.dtype]) -> str:
    return ", ".join(f"{name} {dtype}" for name, dtype in layout.items()) or "none"
