"""The decoded frames of a shot."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._check import check_array, index_of_frame
from ._errors import InputError

__all__ = ["Frames"]


@dataclass(frozen=True, eq=False)
class Frames:
    """Decoded RGB frames of a clip.

    Attributes:
        images: N×H×W×3 uint8 RGB.
        fps: frames per second of the source (after ``stride``: the source fps; time
            codes are the source frame numbers, so playback timing is kept).
        frame_numbers: N int64 source frame numbers, strictly increasing.
        source: the file or folder the frames came from.
        scale: the resize factor applied to the source images (1.0 when none).
    """

    images: np.ndarray
    fps: float
    frame_numbers: np.ndarray
    source: str = ""
    scale: float = 1.0

    def __post_init__(self) -> None:
        imgs = check_array(self.images, "images", shape=(None, None, None, 3), dtype=np.uint8, hint="pass RGB frames")
        n = imgs.shape[0]
        numbers = check_array(self.frame_numbers, "frame_numbers", shape=(n,), dtype=(np.int64, np.int32))
        if n > 1 and not np.all(np.diff(numbers) > 0):
            raise InputError("frame_numbers must be strictly increasing")
        if not np.isfinite(self.fps) or self.fps <= 0:
            raise InputError(f"fps must be positive, got {self.fps}")
        object.__setattr__(self, "frame_numbers", numbers.astype(np.int64))

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def index_of(self, frame_number: int) -> int:
        """The frame index (position in ``images``) of source frame ``frame_number``.

        Raises:
            InputError: the clip has no such frame.
        """
        return index_of_frame(self.frame_numbers, frame_number)

    @property
    def width(self) -> int:
        return int(self.images.shape[2])

    @property
    def height(self) -> int:
        return int(self.images.shape[1])
