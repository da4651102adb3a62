"""The run folder's stage cache: each finished stage's result, keyed by what produced it.

A re-run with the same input and options reuses a stage instead of computing it again;
an interrupted run resumes from the last finished stage. Every file is written
atomically (``scenegraph.atomic_write``), so a crash never
leaves a half-written result behind.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from sceneforge.reconstruct import TrackedMasks
from sceneforge.scenegraph import (
    CameraTrack,
    Intrinsics,
    LightProbe,
    SolveReport,
    SparsePoints,
    TexturedMesh,
    atomic_path,
    atomic_write,
)

__all__ = ["CACHE_FORMAT", "StageCache", "save_npz", "track_to_arrays", "track_from_arrays", "stage_key"]

CACHE_FORMAT = 1
_MESH_FIELDS = ("vertices", "faces", "uv", "texture", "vertex_colors", "normals")


def save_npz(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """Write ``arrays`` as a compressed ``.npz`` file, atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    return path


def stage_key(**parts: Any) -> str:
    """A stable hash of everything that determines a stage's result."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def track_to_arrays(track: CameraTrack) -> dict[str, np.ndarray]:
    """A camera track as plain arrays (for ``np.savez``)."""
    return {
        "K": np.stack([i.K for i in track.intrinsics]),
        "size": np.array([[i.width, i.height] for i in track.intrinsics], dtype=np.int64),
        "radial": np.stack([i.radial for i in track.intrinsics]),
        "world_from_cam": track.world_from_cam,
        "frame_numbers": track.frame_numbers,
        "fps": np.array(track.fps),
        "status": track.status,
        "points_in_world": track.points.points_in_world,
        "point_colors": track.points.colors,
        "point_error_px": track.points.error_px,
    }


def track_from_arrays(arrays: Any, report: SolveReport | None) -> CameraTrack:
    """Inverse of :func:`track_to_arrays`; frames with equal intrinsics share one object."""
    shared: dict[tuple, Intrinsics] = {}
    intrinsics = []
    for k, size, radial in zip(arrays["K"], arrays["size"], arrays["radial"]):
        key = (k.tobytes(), tuple(size), radial.tobytes())
        if key not in shared:
            shared[key] = Intrinsics(K=np.array(k), width=int(size[0]), height=int(size[1]), radial=np.array(radial))
        intrinsics.append(shared[key])
    return CameraTrack(
        intrinsics=tuple(intrinsics),
        world_from_cam=np.array(arrays["world_from_cam"]),
        frame_numbers=np.array(arrays["frame_numbers"]),
        fps=float(arrays["fps"]),
        status=np.array(arrays["status"]),
        points=SparsePoints(
            np.array(arrays["points_in_world"]), np.array(arrays["point_colors"]), np.array(arrays["point_error_px"])
        ),
        report=report,
    )


class StageCache:
    """Stage results under ``<run folder>/cache/``: ``<stage>.npz`` plus ``<stage>.json`` (key, report)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _paths(self, stage: str) -> tuple[Path, Path]:
        return self.folder / f"{stage}.npz", self.folder / f"{stage}.json"

    def _load(self, stage: str, key: str, build: Any) -> Any:
        """``build(info, arrays)`` of the cached ``stage`` if it was made with ``key``, else None."""
        npz, meta = self._paths(stage)
        if not (npz.exists() and meta.exists()):
            return None
        try:
            info = json.loads(meta.read_text())
            if info.get("key") != key or info.get("format") != CACHE_FORMAT:
                return None
            with np.load(npz) as arrays:
                return build(info, arrays)
        except (OSError, ValueError, KeyError):
            return None  # a damaged cache entry is simply recomputed

    def _save(self, stage: str, key: str, arrays: dict[str, np.ndarray], **extra: Any) -> None:
        npz, meta = self._paths(stage)
        save_npz(npz, arrays)
        atomic_write(meta, json.dumps({"format": CACHE_FORMAT, "key": key, **extra}, indent=1))

    def load_track(self, stage: str, key: str) -> CameraTrack | None:
        """The cached track of ``stage`` if it was made with ``key``, else None."""

        def build(info: dict, arrays: Any) -> CameraTrack:
            report = SolveReport.from_dict(info["report"]) if info.get("report") else None
            return track_from_arrays(arrays, report)

        return self._load(stage, key, build)

    def save_track(self, stage: str, key: str, track: CameraTrack) -> None:
        self._save(stage, key, track_to_arrays(track), report=track.report.to_dict() if track.report else None)

    def load_mesh(self, stage: str, key: str) -> TexturedMesh | None:
        """The cached :class:`~sceneforge.scenegraph.TexturedMesh` of ``stage`` made with ``key``, else None."""

        def build(info: dict, arrays: Any) -> TexturedMesh:
            return TexturedMesh(**{name: np.array(arrays[name]) if name in arrays else None for name in _MESH_FIELDS})

        return self._load(stage, key, build)

    def save_mesh(self, stage: str, key: str, mesh: TexturedMesh) -> None:
        self._save(stage, key, {name: getattr(mesh, name) for name in _MESH_FIELDS if getattr(mesh, name) is not None})

    def load_masks(self, stage: str, key: str) -> TrackedMasks | None:
        """The cached :class:`~sceneforge.reconstruct.TrackedMasks` of ``stage`` made with ``key``, else None."""

        def build(info: dict, arrays: Any) -> TrackedMasks:
            shape = tuple(int(v) for v in arrays["shape"])
            masks = np.unpackbits(arrays["packed"], count=int(np.prod(shape))).reshape(shape).astype(bool)
            return TrackedMasks(
                name=info["name"], masks=masks, quality=np.array(arrays["quality"]), prompt_frame=int(info["prompt_frame"]),
                frame_numbers=np.array(arrays["frame_numbers"]), motion=tuple(info["motion"]),
            )

        return self._load(stage, key, build)

    def save_masks(self, stage: str, key: str, tracked: TrackedMasks) -> None:
        arrays = {
            "packed": np.packbits(tracked.masks.reshape(-1)), "shape": np.array(tracked.masks.shape, dtype=np.int64),
            "quality": tracked.quality, "frame_numbers": tracked.frame_numbers,
        }
        self._save(stage, key, arrays, name=tracked.name, prompt_frame=tracked.prompt_frame, motion=list(tracked.motion))

    def load_light_probe(self, stage: str, key: str) -> LightProbe | None:
        """The cached :class:`~sceneforge.scenegraph.LightProbe` of ``stage`` made with ``key``, else None."""

        def build(info: dict, arrays: Any) -> LightProbe:
            return LightProbe(
                radiance=np.array(arrays["radiance"]), seen=np.array(arrays["seen"]), sh=np.array(arrays["sh"]),
                centre_in_world=np.array(arrays["centre_in_world"]),
                key_direction=np.array(arrays["key_direction"]) if "key_direction" in arrays else None,
                key_irradiance=np.array(arrays["key_irradiance"]), ambient_radiance=np.array(arrays["ambient_radiance"]),
                encoding=info["encoding"],
            )

        return self._load(stage, key, build)

    def save_light_probe(self, stage: str, key: str, probe: LightProbe) -> None:
        arrays = {
            "radiance": probe.radiance, "seen": probe.seen, "sh": probe.sh, "centre_in_world": probe.centre_in_world,
            "key_irradiance": probe.key_irradiance, "ambient_radiance": probe.ambient_radiance,
        }
        if probe.key_direction is not None:
            arrays["key_direction"] = probe.key_direction
        self._save(stage, key, arrays, encoding=probe.encoding)

    def clear(self) -> None:
        """Forget every cached stage, the per-frame stores in sub-folders (raw depth) included."""
        import shutil

        if self.folder.exists():
            for f in self.folder.iterdir():
                if f.is_dir() and not f.is_symlink():
                    shutil.rmtree(f)
                else:
                    f.unlink()
