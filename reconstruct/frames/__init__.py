"""Reading a clip — a video file or a folder of images — into :class:`~sceneforge.scenegraph.Frames`."""

from ._read import IMAGE_SUFFIXES, VIDEO_SUFFIXES, read_frames

__all__ = ["IMAGE_SUFFIXES", "VIDEO_SUFFIXES", "read_frames"]
