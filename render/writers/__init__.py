"""Writers: rendered frames out to video files (H.264, ProRes 4444) or image sequences (PNG, EXR), atomically.

- :class:`VideoWriter` streams frames into a file or a sequence (``format`` one of
  :data:`WRITER_FORMATS`; EXR frames carry extra named channels such as depth and object ids;
  sequences can resume after an interruption);
- :func:`write_video` writes an iterable of frames in one call.
"""

from ._targets import DEFAULT_FRAME_PATTERN, VIDEO_SUFFIXES, WRITER_FORMATS, Target, WriterFormat, existing_frames, parse_target
from ._video import VideoWriter, check_target, write_video

__all__ = [
    "DEFAULT_FRAME_PATTERN", "VIDEO_SUFFIXES", "WRITER_FORMATS", "Target", "VideoWriter", "WriterFormat", "check_target",
    "existing_frames", "parse_target", "write_video",
]
