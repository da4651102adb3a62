"""Reading a clip (a video file or a folder of images) into :class:`Frames`."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from sceneforge.scenegraph import Frames, InputError

from .._progress import ProgressFn

__all__ = ["read_frames", "VIDEO_SUFFIXES", "IMAGE_SUFFIXES"]

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".m4v", ".avi")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
DEFAULT_IMAGE_FPS = 24.0


def _natural_key(path: Path) -> list[object]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", path.name)]


def _target_size(width: int, height: int, max_size: int | None) -> tuple[int, int, float]:
    long_side = max(width, height)
    if not max_size or long_side <= max_size:
        return width, height, 1.0
    scale = max_size / long_side
    return max(1, round(width * scale)), max(1, round(height * scale)), scale


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    if image.shape[1] == width and image.shape[0] == height:
        return image
    import cv2

    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def _check_range(start: int, end: int | None, stride: int) -> None:
    if start < 0:
        raise InputError(f"--start must be ≥ 0, got {start}")
    if end is not None and end <= start:
        raise InputError(f"--end must be greater than --start ({start}), got {end}")
    if stride < 1:
        raise InputError(f"--stride must be ≥ 1, got {stride}")


def read_frames(
    path: str | Path,
    *,
    start: int = 0,
    end: int | None = None,
    stride: int = 1,
    max_size: int | None = 960,
    fps: float | None = None,
    pattern: str | None = None,
    hold: int = 1,
    progress: ProgressFn | None = None,
) -> Frames:
    """Decode a clip into RGB frames.

    Args:
        path: a video file (MP4, MOV, MKV, WebM, …), a folder of images (sorted by name,
            numbers in names compared as numbers), or one image (a still: one frame).
        start: first source frame number to keep (inclusive).
        end: source frame number to stop at (exclusive); ``None`` for the end of the clip.
        stride: keep every ``stride``-th frame from ``start``.
        max_size: resize so that the long side is at most this many pixels (``None``: keep).
        fps: frames per second; defaults to the video's rate, or 24 for an image folder.
        pattern: for a folder, a glob that picks the frames (e.g. ``"*.color.jpg"``).
        hold: for one image, how many frames it lasts (the same picture, frame numbers
            0..hold-1), so that a camera move has frames to happen over; ignored otherwise.
        progress: optional ``progress(stage, done, total)`` callback.

    Returns:
        :class:`Frames` with N×H×W×3 uint8 images and their source frame numbers.

    Raises:
        InputError: a missing path, a file that is not a video, an unreadable stream,
            fewer than two frames from a clip, or images of different sizes in a folder.
    """
    _check_range(start, end, stride)
    p = Path(path)
    if not p.exists():
        raise InputError(f"input not found: {p}; pass a video file or a folder of images")
    if fps is not None and not (np.isfinite(fps) and fps > 0):
        raise InputError(f"--fps must be positive, got {fps}")
    if p.is_dir():
        frames = _read_folder(p, pattern=pattern, start=start, end=end, stride=stride, max_size=max_size, fps=fps, progress=progress)
    elif p.suffix.lower() in IMAGE_SUFFIXES:
        # a still photo: a static camera; a monocular depth backend gives it 2.5D depth
        if isinstance(hold, bool) or not isinstance(hold, (int, np.integer)) or hold < 1:
            raise InputError(f"a still is held for a whole number of frames ≥ 1, got {hold!r}")
        still = _read_images([p], p, start=0, end=None, stride=1, max_size=max_size, fps=fps, progress=progress)
        if hold == 1:
            return still
        return Frames(
            images=np.repeat(still.images, int(hold), axis=0), fps=still.fps,
            frame_numbers=np.arange(int(hold), dtype=np.int64), source=still.source, scale=still.scale,
        )
    else:
        frames = _read_video(p, start=start, end=end, stride=stride, max_size=max_size, fps=fps, progress=progress)
    if len(frames) < 2:
        raise InputError(
            f"{p} gave {len(frames)} frame(s) in the chosen range; a camera solve needs at least 2 "
            "(check --start/--end/--stride)"
        )
    return frames


def _read_folder(
    folder: Path,
    *,
    pattern: str | None,
    start: int,
    end: int | None,
    stride: int,
    max_size: int | None,
    fps: float | None,
    progress: ProgressFn | None,
) -> Frames:
    candidates = folder.glob(pattern) if pattern else folder.iterdir()
    files = sorted((f for f in candidates if f.suffix.lower() in IMAGE_SUFFIXES and f.is_file()), key=_natural_key)
    if not files:
        what = f"no images matching {pattern!r}" if pattern else f"no images ({', '.join(IMAGE_SUFFIXES)})"
        raise InputError(f"{folder} holds {what}; pass a video or an image folder")
    return _read_images(files, folder, start=start, end=end, stride=stride, max_size=max_size, fps=fps, progress=progress)


def _read_images(
    files: list[Path],
    folder: Path,
    *,
    start: int,
    end: int | None,
    stride: int,
    max_size: int | None,
    fps: float | None,
    progress: ProgressFn | None,
) -> Frames:
    """The ``files`` (in order) as frames; ``folder`` is the source named in messages and in ``Frames.source``."""
    from PIL import Image

    numbers = list(range(len(files)))[start:end:stride]
    images: list[np.ndarray] = []
    size: tuple[int, int] | None = None
    target = (0, 0, 1.0)
    for done, index in enumerate(numbers):
        file = files[index]
        try:
            with Image.open(file) as im:
                rgb = np.asarray(im.convert("RGB"))
        except Exception as exc:  # PIL raises many types for broken files
            raise InputError(f"cannot read image {file}: {exc}; remove or replace it") from exc
        if size is None:
            size = (rgb.shape[1], rgb.shape[0])
            target = _target_size(*size, max_size)
        elif (rgb.shape[1], rgb.shape[0]) != size:
            raise InputError(
                f"images in {folder} must all have one size, got {size[0]}×{size[1]} for {files[numbers[0]].name} "
                f"and {rgb.shape[1]}×{rgb.shape[0]} for {file.name}; resize them to one size first"
            )
        images.append(_resize(rgb, target[0], target[1]))
        if progress:
            progress("read frames", done + 1, len(numbers))
    stack = np.stack(images) if images else np.zeros((0, 1, 1, 3), np.uint8)
    return Frames(
        images=stack,
        fps=fps or DEFAULT_IMAGE_FPS,
        frame_numbers=np.asarray(numbers, dtype=np.int64),
        source=str(folder),
        scale=target[2],
    )


def _read_video(
    file: Path,
    *,
    start: int,
    end: int | None,
    stride: int,
    max_size: int | None,
    fps: float | None,
    progress: ProgressFn | None,
) -> Frames:
    import av

    try:
        container = av.open(str(file))
    except (av.error.InvalidDataError, av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise InputError(f"{file} is not a readable video ({exc.__class__.__name__}); pass an MP4/MOV/MKV/WebM file") from exc
    with container:
        if not container.streams.video:
            raise InputError(f"{file} has no video stream; pass a video file or an image folder")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or stream.guessed_rate or 0) or None
        total = int(stream.frames or 0)
        if end is not None:
            total = min(total, end) if total else end
        want_total = len(range(start, total, stride)) if total else 0
        target: tuple[int, int, float] | None = None
        images: list[np.ndarray] = []
        numbers: list[int] = []
        try:
            for index, frame in enumerate(container.decode(stream)):
                if end is not None and index >= end:
                    break
                if index < start or (index - start) % stride:
                    continue
                if target is None:
                    target = _target_size(frame.width, frame.height, max_size)
                if target[2] != 1.0:
                    # Let FFmpeg's area filter do the resize during colour conversion: faster than numpy.
                    frame = frame.reformat(width=target[0], height=target[1], interpolation="AREA")
                images.append(frame.to_ndarray(format="rgb24"))
                numbers.append(index)
                if progress:
                    progress("read frames", len(images), want_total)
        except av.error.FFmpegError as exc:
            if not images:
                raise InputError(f"cannot decode {file}: {exc}; the stream is damaged or unsupported") from exc
            log.warning("decoding %s stopped at frame %d (%s); keeping the %d frames read", file, index, exc, len(images))
    stack = np.stack(images) if images else np.zeros((0, 1, 1, 3), np.uint8)
    return Frames(
        images=stack,
        fps=fps or rate or DEFAULT_IMAGE_FPS,
        frame_numbers=np.asarray(numbers, dtype=np.int64),
        source=str(file),
        scale=target[2] if target else 1.0,
    )
