"""Per-frame depth maps of a run, one compressed file per source frame, resumable frame by frame."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from sceneforge.scenegraph import DepthMap, DepthMaps, SceneFileError, atomic_write

from ._stage_cache import CACHE_FORMAT, save_npz

__all__ = ["DepthStore"]


class DepthStore:
    """Per-frame depth maps in a folder, one compressed ``<frame:06d>.npz`` each.

    A ``key.json`` beside them names what made them; a store opened with another key
    starts empty (its files are removed), so stale depth never mixes with new.
    """

    def __init__(self, folder: Path, key: str) -> None:
        self.folder = Path(folder)
        self.key = key
        key_file = self.folder / "key.json"
        if self.folder.exists():
            try:
                stored = json.loads(key_file.read_text()).get("key")
            except (OSError, ValueError):
                stored = None
            if stored != key:
                for f in self.folder.glob("*.npz"):
                    f.unlink()
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write(key_file, json.dumps({"format": CACHE_FORMAT, "key": key}))

    @classmethod
    def attach(cls, folder: Path, key: str) -> DepthStore:
        """The store another process opened with ``key`` (a worker writing some of its frames),
        without resetting it; raises when the folder was reset for another key meanwhile."""
        store = cls.__new__(cls)
        store.folder, store.key = Path(folder), key
        try:
            stored = json.loads((store.folder / "key.json").read_text()).get("key")
        except (OSError, ValueError):
            stored = None
        if stored != key:
            raise SceneFileError(f"{store.folder} now holds depth made another way; run the job again")
        return store

    def path(self, frame_number: int) -> Path:
        return self.folder / f"{int(frame_number):06d}.npz"

    def has(self, frame_number: int) -> bool:
        return self.path(frame_number).exists()

    def save(self, depth: DepthMap) -> Path:
        """Store a :class:`~sceneforge.scenegraph.DepthMap` (depth float32, confidence float16)."""
        path = self.path(depth.frame_number)
        save_npz(path, {"depth": depth.depth, "confidence": depth.confidence.astype(np.float16)})
        return path

    def load(self, frame_number: int) -> DepthMap:
        """The depth map of source frame ``frame_number``."""
        with np.load(self.path(frame_number)) as data:
            return DepthMap(
                depth=data["depth"].astype(np.float32),
                confidence=data["confidence"].astype(np.float32),
                frame_number=int(frame_number),
            )

    def load_all(self, frame_numbers: Iterable[int]) -> DepthMaps:
        """The depth maps of ``frame_numbers``, keyed by source frame number."""
        return DepthMaps(self.load(n) for n in frame_numbers)
