"""The run folder's stage cache: finished stages kept, keyed by what made them, so a re-run resumes."""

from ._depth_store import DepthStore
from ._stage_cache import CACHE_FORMAT, StageCache, save_npz, stage_key, track_from_arrays, track_to_arrays

__all__ = ["CACHE_FORMAT", "DepthStore", "StageCache", "save_npz", "stage_key", "track_from_arrays", "track_to_arrays"]
