"""Writers: rendered frames out to H.264 video files or PNG sequences, atomically.

- :class:`VideoWriter` streams frames into a file or a sequence;
- :func:`write_video` writes an iterable of frames in one call.
"""

from ._video import DEFAULT_FRAME_PATTERN, VIDEO_SUFFIXES, VideoWriter, write_video

__all__ = ["DEFAULT_FRAME_PATTERN", "VIDEO_SUFFIXES", "VideoWriter", "write_video"]
