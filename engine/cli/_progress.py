"""Progress bars for the command line: one tqdm bar per stage, on stderr."""

from __future__ import annotations

import sys

__all__ = ["ProgressBars"]


class ProgressBars:
    """A ``progress(stage, done, total)`` callback that shows one bar per stage.

    Bars are drawn only on a terminal (``enabled=None``) so logs stay clean.
    """

    def __init__(self, *, enabled: bool | None = None) -> None:
        self._enabled = sys.stderr.isatty() if enabled is None else enabled
        self._bar = None
        self._stage = ""

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self._enabled:
            return
        from tqdm import tqdm

        if stage != self._stage or self._bar is None:
            self.close()
            self._stage = stage
            self._bar = tqdm(total=total or None, desc=f"{stage:>16}", unit="", leave=True, dynamic_ncols=True, file=sys.stderr)
        if total and self._bar.total != total:
            self._bar.total = total
        self._bar.n = done
        self._bar.refresh()
        if total and done >= total:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            self._stage = ""
