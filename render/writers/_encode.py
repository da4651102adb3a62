"""One video stream into one file through PyAV's bundled FFmpeg: H.264 or ProRes 4444.

- ``mp4``: the chosen encoder (``libx264`` by default) in ``yuv420p``; 4:2:0 needs even sizes,
  so an odd width or height is padded (repeating the last column or row) or cropped.
- ``prores``: ``prores_ks`` with profile 4444 in ``yuv444p10le`` (no alpha plane: the frames
  are RGB); any size. 16-bit RGB input keeps the ten bits ProRes can hold.

Both are tagged BT.709 (matrix, primaries, transfer; limited range), the colours the
frames are converted with, and both keep the frame rate as an exact fraction.

Known problem: with PyAV 18's bundled FFmpeg, ``prores_ks`` sometimes garbles a run of 8
pixels (one row, mid grey) when the width is not a multiple of 16 (seen at 65, 66 and 72
wide; never at 64, 80 or 1920 over repeated encodes); the file differs from one encode of
the same frames to the next. A warning is logged for such widths.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sceneforge.scenegraph import InputError

__all__ = ["OddSize", "VideoEncoder"]

log = logging.getLogger(__name__)

OddSize = Literal["pad", "crop"]

_CRF_CODECS = {"libx264", "libx265", "libvpx-vp9", "libaom-av1", "libsvtav1"}


class VideoEncoder:
    """Encode RGB frames into the file ``path`` (opened at the first frame).

    Args:
        path: the file FFmpeg writes; its suffix picks the container.
        format: ``mp4`` (H.264 or ``codec``) or ``prores`` (ProRes 4444).
        fps: the exact frame rate.
        codec: FFmpeg encoder for ``mp4``.
        crf: constant rate factor for ``mp4`` with a CRF encoder.
        odd_size: ``pad`` or ``crop`` odd sizes for 4:2:0 (``mp4`` only).
    """

    def __init__(
        self, path: Path, *, format: Literal["mp4", "prores"], fps: Fraction, codec: str, crf: int, odd_size: OddSize
    ) -> None:
        self.path = path
        self.format = format
        self.fps = fps
        self.codec = codec if format == "mp4" else "prores_ks"
        self.pix_fmt = "yuv420p" if format == "mp4" else "yuv444p10le"
        self.crf = crf
        self.odd_size = odd_size
        self._container: Any = None
        self._stream: Any = None

    def encode(self, image: np.ndarray, pts: int) -> None:
        """Encode one H×W×3 RGB frame: uint8, or uint16 (full 16-bit range) for ProRes."""
        import av
        from av.video.reformatter import ColorRange, Colorspace

        if self.format == "mp4":
            image = _even_size(image, self.odd_size)
        if self._container is None:
            self._open(image.shape[0], image.shape[1])
        rgb = "rgb48le" if image.dtype == np.uint16 else "rgb24"
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=rgb)
        frame = frame.reformat(format=self.pix_fmt, dst_colorspace=Colorspace.ITU709, dst_color_range=ColorRange.MPEG)
        frame.pts = pts
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def finish(self) -> None:
        """Flush the encoder and close the file."""
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        self._container = None

    def discard(self) -> None:
        """Close an unfinished file (the caller removes it)."""
        if self._container is None:
            return
        try:
            self._container.close()
        except Exception as error:  # cleaning up after a failure must not hide it
            log.debug("closing the unfinished container failed: %s", error)
        self._container = None

    def _open(self, height: int, width: int) -> None:
        import av

        # MP4/MOV with the index up front, so that a browser or a review tool can start playing at once.
        options = {"movflags": "+faststart"} if self.path.suffix.lower() in (".mp4", ".mov", ".m4v") else {}
        self._container = av.open(str(self.path), mode="w", options=options)
        try:
            stream = self._container.add_stream(self.codec, rate=self.fps)
        except ValueError as error:
            raise InputError(f"FFmpeg has no encoder {self.codec!r} ({error}); use libx264") from error
        if self.format == "prores" and width % 16:
            log.warning("ProRes at width %d (not a multiple of 16): FFmpeg's prores_ks may garble a few pixels; "
                        "check the result, or pad or crop to %d", width, width + 16 - width % 16)
        stream.width, stream.height = width, height
        stream.pix_fmt = self.pix_fmt
        if self.format == "prores":
            # "apl0" is the vendor Apple's own tools write; some players check it.
            stream.options = {"profile": "4444", "vendor": "apl0"}
        else:
            stream.options = {"crf": str(self.crf)} if self.codec in _CRF_CODECS else {}
        # Tag what the pixels are, so that players decode the colours we encoded: BT.709
        # matrix, primaries and transfer, limited range (FFmpeg's value 1 for each).
        context = stream.codec_context
        for attribute in ("colorspace", "color_range", "color_primaries", "color_trc"):
            setattr(context, attribute, 1)
        self._stream = stream


def _even_size(image: np.ndarray, odd_size: OddSize) -> np.ndarray:
    h, w = image.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return image
    if odd_size == "crop":
        return image[: h - h % 2, : w - w % 2]
    return np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
