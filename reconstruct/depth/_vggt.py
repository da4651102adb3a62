"""Feed-forward depth with VGGT, scaled to the camera solve.

The network runs on chunks of the requested frames (its depth of one call shares one scale);
each map is taken back from the network's grid to the frame's pixels (the crop and resize
undone), each chunk's depth is scaled to the track by the median over its frames of
:func:`depth_scale_to_points` (the ratio of the sparse points' z-depth to the map's), and the
confidence is VGGT's ``depth_conf`` mapped to [0, 1) (``1 − 1/conf``), 0 with no depth
below ``conf_threshold``. See :mod:`sceneforge.reconstruct.camera._vggt` for the contract.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from sceneforge.scenegraph import CameraTrack, DepthMap, Frames, InputError

from .._progress import ProgressFn
from ..camera._vggt import NetworkGrid, VGGTNetwork, VGGTNetworkOptions
from ._align import depth_scale_to_points

__all__ = ["VGGTDepthConfig", "VGGTDepth"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VGGTDepthConfig(VGGTNetworkOptions):
    """VGGT feed-forward depth in chunks, scaled to the camera solve's sparse points."""

    _model_flag: ClassVar[str] = "--depth.model"

    def __post_init__(self) -> None:
        self._check_network_options()

    def build(self) -> VGGTDepth:
        """The backend this configuration describes."""
        return VGGTDepth(self)



class VGGTDepth:
    """The VGGT depth estimator (a :class:`DepthEstimator`; see the module docstring)."""

    name = "vggt"

    def __init__(self, config: VGGTDepthConfig) -> None:
        self.config = config
        self._network: VGGTNetwork | None = None

    def estimate(
        self,
        frames: Frames,
        track: CameraTrack,
        *,
        indices: Sequence[int] | None = None,
        progress: ProgressFn | None = None,
    ) -> Iterator[tuple[int, DepthMap]]:
        """Depth of the requested frames, chunk by chunk, each yielded as ``(index, DepthMap)``
        on the frame's pixel grid in the track's units (see :class:`DepthEstimator`).

        Raises:
            InputError: frames and track that do not belong together, bad indices, no or an
                unreadable checkpoint (all raised at the call, before any frame is computed).
            DependencyError: the vggt package is missing (at the call).
            OutOfMemory: a chunk does not fit; lower ``chunk_size`` or ``resolution``.
        """
        if not isinstance(frames, Frames) or not isinstance(track, CameraTrack):
            raise InputError("estimate takes Frames and a CameraTrack")
        n = len(frames)
        if len(track) != n or not np.array_equal(track.frame_numbers, frames.frame_numbers):
            raise InputError(
                f"the track has {len(track)} frames and the clip {n}, or other frame numbers; pass the track solved on these frames"
            )
        if track.intrinsics[0].width != frames.width or track.intrinsics[0].height != frames.height:
            raise InputError(
                f"the track's intrinsics are for {track.intrinsics[0].width}×{track.intrinsics[0].height} images but the "
                f"frames are {frames.width}×{frames.height}"
            )
        order = list(range(n)) if indices is None else [int(i) for i in indices]
        bad = [i for i in order if not 0 <= i < n]
        if bad:
            raise InputError(f"indices must be frame positions 0..{n - 1}, got {bad[0]}")
        cfg = self.config
        if self._network is None:  # loaded at the call, so a missing package or checkpoint says so at once
            self._network = VGGTNetwork(
                model=cfg.model, allow_download=cfg.allow_download, device=cfg.device, precision=cfg.precision,
                flag="--depth.model",
            )
        return self._run(frames, track, order, progress)

    def _run(self, frames: Frames, track: CameraTrack, order: list[int], progress: ProgressFn | None) -> Iterator[tuple[int, DepthMap]]:
        cfg = self.config
        assert self._network is not None
        grid = NetworkGrid.plan(frames.width, frames.height, cfg.resolution)
        chunks = [order[k : k + cfg.chunk_size] for k in range(0, len(order), cfg.chunk_size)]
        done = 0
        for chunk in chunks:
            pred = self._network.predict(grid.images(frames.images[chunk]))
            maps = []
            for j, i in enumerate(chunk):
                raw = np.where(pred.confidence[j] >= cfg.conf_threshold, pred.depth[j], 0.0).astype(np.float32)
                depth = grid.map_to_frame(raw)
                conf = grid.map_to_frame(np.where(raw > 0, np.maximum(pred.confidence[j], 1e-6), 0.0).astype(np.float32))
                maps.append((i, depth, np.where(depth > 0, np.clip(conf, 0.0, 1.0), 0.0).astype(np.float32)))
            scale = self._chunk_scale(maps, frames, track, pred)
            for i, depth, conf in maps:
                out = DepthMap(depth=(depth * scale).astype(np.float32), confidence=conf, frame_number=int(frames.frame_numbers[i]))
                done += 1
                if progress:
                    progress("vggt depth", done, len(order))
                yield i, out

    @staticmethod
    def _chunk_scale(maps: list, frames: Frames, track: CameraTrack, pred) -> float:
        """The chunk's network units to the track's: the median over its frames of the sparse
        points' z-depth over the map's; with no points, the ratio of camera baselines; else 1."""
        ratios = []
        if len(track.points):
            for i, depth, conf in maps:
                ratio = depth_scale_to_points(
                    DepthMap(depth=depth, confidence=conf, frame_number=int(frames.frame_numbers[i])),
                    intrinsics=track.intrinsics[i], world_from_cam=track.world_from_cam[i],
                    points_in_world=track.points.points_in_world,
                )
                if np.isfinite(ratio) and ratio > 0:
                    ratios.append(ratio)
        if ratios:
            return float(np.median(ratios))
        idx = [i for i, _, _ in maps]
        if len(idx) >= 2:
            from sceneforge.scenegraph import invert_rigid

            net = invert_rigid(pred.cam_from_world)[:, :3, 3]
            ours = track.world_from_cam[idx, :3, 3]
            a = np.linalg.norm(net[1:] - net[0], axis=1)
            b = np.linalg.norm(ours[1:] - ours[0], axis=1)
            ok = a > 1e-9
            if ok.any() and np.median(b[ok]) > 0:
                log.warning("no sparse points to scale VGGT depth by; scaled by the camera baselines instead")
                return float(np.median(b[ok] / a[ok]))
        log.warning("no sparse points or camera baseline to scale VGGT depth by; its own scale is kept")
        return 1.0
