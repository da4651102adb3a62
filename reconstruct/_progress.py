"""The progress callback every long-running stage of the reconstruction accepts."""

from __future__ import annotations

from typing import Protocol

__all__ = ["ProgressFn"]


class ProgressFn(Protocol):
    """``progress(stage, done, total)``: called as long work advances (``total`` 0 when unknown).

    The library reports progress through this callback and never prints; the command
    line turns it into progress bars.
    """

    def __call__(self, stage: str, done: int, total: int) -> None: ...
