"""Tracking one object's mask through every frame of a clip, forwards and backwards.

Given the object's mask on its prompt frame, a :class:`MaskTracker` returns its mask on
every frame. The default backend (:class:`FlowTracker`) needs no weights. Frame by frame,
moving away from the prompt frame in both directions, it

1. carries the last mask into the next frame: by backward warping with dense optical flow
   (OpenCV DIS; the flow from the new frame to the last one, so every pixel of the new frame
   looks up where it came from; where the flow fails its forward–backward check near the
   object, the object's affine motion fitted to its consistent flow stands in) — or, where
   the clip's depth and camera track are given and the object is static, with the motion
   that the depth and the two cameras imply (reprojection), which does not drift on
   textureless surfaces;
2. refines the carried mask by a graph cut whose unary combines the warped mask as a prior
   (log-odds growing with the signed distance to its boundary) with colour histograms: the
   object's learnt on the prompt frame and slowly updated, the background's from a ring
   around the object in the new frame; the boundary term is contrast sensitive, so edges
   snap to image edges;
3. guards against drift: a cut whose area jumps away from the warped mask's is not trusted
   (the warped mask is kept), and each frame gets a quality from the flow's
   forward–backward consistency and the agreement between the cut and the warp.

4. finds the object again when it is lost (it left the frame, or a fast motion or an
   occluder broke the flow), its frame's quality collapses or the mask's colours stop
   matching the object's (it drifted onto something else): the window of the frame whose
   colours match the object's (learnt on the prompt frame) best takes the last good mask's
   shape, cut again; accepted only when the match is nearly as good as on the prompt frame
   (``motion`` ``refound``), else the object stays lost.

The s-t minimum cut is scipy's max-flow (see ``min_cut_grid``).

Everything runs on frames downscaled to ``max_size_px`` (speed) and masks are upsampled
to the frames' size.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from sceneforge.scenegraph import CameraTrack, DepthMap, DepthMaps, Frames, InputError, check_array, invert_rigid

from .._checks import depths_by_index
from .._progress import ProgressFn
from ._graph_cut import min_cut_grid
from ._prompt import ObjectPrompt
from ._segment import GraphCutSegmenter, PromptableSegmenter, fit_mask
from ._types import TrackedMasks

__all__ = ["MaskTracker", "FlowTrackerConfig", "FlowTracker", "track_object"]

log = logging.getLogger(__name__)

class MaskTracker(Protocol):
    """A mask-tracking backend: one object's mask on one frame in, its mask on every frame out."""

    def track(
        self,
        frames: Frames,
        prompt_mask: np.ndarray,
        prompt_frame: int,
        *,
        name: str = "object",
        depths: DepthMaps | Mapping[int, DepthMap] | Iterable[DepthMap] | None = None,
        track: CameraTrack | None = None,
        progress: ProgressFn | None = None,
    ) -> TrackedMasks:
        """Track ``prompt_mask`` forwards and backwards from ``prompt_frame`` through every frame.

        Args:
            frames: N×H×W×3 uint8 RGB frames.
            prompt_mask: H×W bool, the object on ``prompt_frame`` (kept as is on that frame).
            prompt_frame: index into ``frames``.
            name: the object's name, carried into the result.
            depths: optional z-depth keyed by source frame number (:class:`DepthMaps`, a mapping
                whose keys are the maps' frame numbers, or DepthMap objects; frames may be
                missing), at the frames' size, in the units of ``track``.
            track: the clip's camera track (needed with ``depths``).
            progress: optional ``progress(stage, done, total)`` callback.

        Raises:
            InputError, ShapeError: inputs that do not fit together.
        """
        ...


@dataclass(frozen=True)
class FlowTrackerConfig:
    """Mask tracking by optical flow (or reprojection) and a graph-cut refinement; no weights."""

    max_size_px: int = 480
    """Long side of the working resolution (flow and cut run there; masks are upsampled)."""
    flow: Literal["dis", "farneback"] = "dis"
    """Dense optical flow: OpenCV's DIS (fast, robust to large motion) or Farnebäck."""
    dis_preset: Literal["ultrafast", "fast", "medium"] = "medium"
    """DIS speed/quality preset."""
    prior_sigma_px: float = 3.0
    """Working pixels per nat of the shape prior: a pixel d pixels inside (outside) the warped
    mask starts with log-odds +d/σ (−d/σ) of being on the object."""
    prior_reach_px: float = 20.0
    """The shape prior's log-odds stop growing this far (working pixels) from the warped boundary."""
    colour_weight: float = 0.5
    """Weight of the colour log-likelihood ratio (object vs local background histograms)."""
    colour_bins: int = 16
    """Histogram bins per RGB channel."""
    colour_adapt: float = 0.3
    """Share of the object's colour histogram taken from the last frame (the rest from the prompt frame)."""
    smoothness: float = 4.0
    """Weight of the contrast-sensitive boundary term, nats per unit edge."""
    margin_px: int = 25
    """Working pixels around the warped mask that the cut may claim; also the width of the
    ring the background colours are learnt from."""
    max_area_change: float = 0.5
    """A cut whose area differs from the warped mask's by more than this share (either way) is
    not trusted; the warped mask is kept for that frame."""
    fb_tolerance_px: float = 1.0
    """Forward–backward flow disagreement (working pixels) below which a pixel's flow counts as consistent."""
    affine_fill: bool = True
    """Where the flow fails its forward–backward check near the object, carry the mask with the
    object's affine motion (fitted to its consistent flow) instead."""
    use_geometry: bool = True
    """With depths and a camera track, carry a static object's mask by reprojection instead of flow."""
    static_tolerance_px: float = 1.0
    """The object counts as static in a frame when the median difference between the optical flow
    and the flow its depth and cameras imply, over the object, is below this (working pixels)."""
    refind: bool = True
    """When the object is lost (it left the frame, or a fast motion or an occluder broke the
    flow), its frame's quality falls below ``refind_below``, or the mask's colours no longer
    match the object's (``refind_min_score``), look for it again in the whole frame by its
    colours learnt on the prompt frame (see :meth:`FlowTracker._refind`)."""
    refind_below: float = 0.15
    """Quality under which a frame's mask is not trusted and the object is looked for again."""
    refind_min_score: float = 0.6
    """A place found again must match the object's colours at least this share as well as the
    prompt frame's own mask does (else the object stays lost: better none than another thing)."""

    def __post_init__(self) -> None:
        if self.max_size_px < 32:
            raise InputError(f"max_size_px must be ≥ 32, got {self.max_size_px}")
        if self.flow not in ("dis", "farneback"):
            raise InputError(f"flow must be 'dis' or 'farneback', got {self.flow!r}")
        if self.dis_preset not in ("ultrafast", "fast", "medium"):
            raise InputError(f"dis_preset must be 'ultrafast', 'fast' or 'medium', got {self.dis_preset!r}")
        for name in ("prior_sigma_px", "prior_reach_px", "fb_tolerance_px", "static_tolerance_px", "max_area_change"):
            if not getattr(self, name) > 0:
                raise InputError(f"{name} must be positive, got {getattr(self, name)}")
        for name in ("colour_weight", "smoothness"):
            if not getattr(self, name) >= 0:
                raise InputError(f"{name} must be ≥ 0, got {getattr(self, name)}")
        if not 0 <= self.refind_below <= 1 or not 0 < self.refind_min_score <= 1:
            raise InputError(f"refind_below must be in [0, 1] and refind_min_score in (0, 1], got {self.refind_below}, {self.refind_min_score}")
        if not 0 <= self.colour_adapt <= 1:
            raise InputError(f"colour_adapt must be in [0, 1], got {self.colour_adapt}")
        if not 2 <= self.colour_bins <= 64 or self.margin_px < 2:
            raise InputError(f"colour_bins must be in [2, 64] and margin_px ≥ 2, got {self.colour_bins}, {self.margin_px}")

    def build(self) -> FlowTracker:
        """The backend this configuration describes."""
        return FlowTracker(self)


class FlowTracker:
    """The default :class:`MaskTracker` (see :class:`FlowTrackerConfig` and the module docstring)."""

    def __init__(self, config: FlowTrackerConfig | None = None) -> None:
        self.config = config or FlowTrackerConfig()

    def track(
        self,
        frames: Frames,
        prompt_mask: np.ndarray,
        prompt_frame: int,
        *,
        name: str = "object",
        depths: DepthMaps | Mapping[int, DepthMap] | Iterable[DepthMap] | None = None,
        track: CameraTrack | None = None,
        progress: ProgressFn | None = None,
    ) -> TrackedMasks:
        """See :meth:`MaskTracker.track`."""
        if not isinstance(frames, Frames):
            raise InputError(f"frames must be Frames, got {type(frames).__name__}; read them with read_frames")
        n, height, width = len(frames), frames.height, frames.width
        if isinstance(prompt_frame, bool) or not isinstance(prompt_frame, (int, np.integer)) or not 0 <= prompt_frame < n:
            raise InputError(f"prompt_frame must be a frame index in [0, {n}), got {prompt_frame!r}")
        prompt_frame = int(prompt_frame)
        prompt_mask = check_array(prompt_mask, "prompt_mask", shape=(height, width), dtype=bool, hint="pass the object's mask on the prompt frame at the frames' size")
        if not prompt_mask.any():
            raise InputError("prompt_mask is empty; mark the object's pixels True")
        depth_of = _depth_lookup(depths, frames)
        if depth_of is not None and track is None:
            raise InputError("depths need the camera track they belong to; pass track= as well")
        if track is not None:
            _check_track(track, frames)
        geometry = self.config.use_geometry and depth_of is not None and track is not None
        work = _Working(frames, self.config)
        masks = np.zeros((n, height, width), bool)
        quality = np.zeros(n, np.float32)
        motion = ["lost"] * n
        masks[prompt_frame] = prompt_mask
        quality[prompt_frame] = 1.0
        motion[prompt_frame] = "prompt"
        done = 1
        if progress:
            progress("track", done, n)
        start = work.downscale_mask(prompt_mask)
        object_hist = work.histogram(prompt_frame, start)
        prompt_score = float(work.colour_score(prompt_frame, object_hist)[start].mean())
        for step in (1, -1):
            last, last_mask, hist, good = prompt_frame, start, object_hist, start
            for index in range(prompt_frame + step, n if step > 0 else -1, step):
                last_mask, kind, q = self._step(work, last, index, last_mask, hist,
                                                depth_of if geometry else None, track if geometry else None)
                if self.config.refind and self._doubtful(work, index, last_mask, q, object_hist, prompt_score):
                    found = self._refind(work, index, object_hist, good, prompt_score)
                    if found is not None:
                        last_mask, kind, q = found, "refound", self.config.refind_below
                if last_mask.any() and q >= self.config.refind_below:
                    good = last_mask
                if last_mask.any() and self.config.colour_adapt > 0:
                    recent = work.histogram(index, last_mask)
                    hist = (1 - self.config.colour_adapt) * object_hist + self.config.colour_adapt * recent
                masks[index] = work.upscale_mask(last_mask) if last_mask.any() else False
                quality[index], motion[index] = q, kind
                last = index
                done += 1
                if progress:
                    progress("track", done, n)
        return TrackedMasks(name=name, masks=masks, quality=quality, prompt_frame=prompt_frame,
                            frame_numbers=frames.frame_numbers, motion=tuple(motion))

    def _step(self, work, last, index, last_mask, hist, depth_of, track):
        """Carry ``last_mask`` (working size) from frame ``last`` to ``index`` and refine it."""
        cfg = self.config
        if not last_mask.any():
            return last_mask, "lost", 0.0
        back = work.flow(index, last)  # index → last: where each pixel of `index` was in `last`
        fwd = work.flow(last, index)
        kind = "flow"
        carry = back
        if depth_of is not None:
            geo = work.geometry_flow(index, last, depth_of, track)
            if geo is not None:
                warped_by_flow = work.warp(last_mask, back)
                region = warped_by_flow & np.isfinite(geo[..., 0])
                if region.sum() >= 16:
                    diff = np.linalg.norm(geo[region] - back[region], axis=1)
                    if float(np.median(diff)) < cfg.static_tolerance_px:
                        carry = np.where(np.isfinite(geo), geo, back).astype(np.float32)
                        kind = "geometry"
        consistent = work.consistency(back, fwd) < cfg.fb_tolerance_px
        if kind == "flow" and cfg.affine_fill:
            carry = work.affine_fill(last_mask, back, consistent)
        warped = work.warp(last_mask, carry)
        if not warped.any():
            return warped, "lost", 0.0
        fb_share = float(consistent[warped].mean())
        refined = self._refine(work, index, warped, hist)
        area_w, area_r = int(warped.sum()), int(refined.sum())
        agreement = float((refined & warped).sum() / max(1, (refined | warped).sum()))
        if not (1.0 / (1.0 + cfg.max_area_change) <= area_r / area_w <= 1.0 + cfg.max_area_change):
            log.debug("frame %d: cut area %d vs warped %d, keeping the warped mask", index, area_r, area_w)
            return warped, "held", 0.5 * fb_share
        return refined, kind, fb_share * agreement

    def _refine(self, work, index, warped, hist):
        """The graph cut of frame ``index`` around ``warped`` (the shape prior), with colours."""
        import cv2

        cfg = self.config
        inside = cv2.distanceTransform(warped.astype(np.uint8), cv2.DIST_L2, 3)
        outside = cv2.distanceTransform((~warped).astype(np.uint8), cv2.DIST_L2, 3)
        signed = inside - outside
        ys, xs = np.nonzero(warped)
        m = cfg.margin_px
        y0, y1 = max(0, ys.min() - m), min(work.height, ys.max() + m + 1)
        x0, x1 = max(0, xs.min() - m), min(work.width, xs.max() + m + 1)
        sd = signed[y0:y1, x0:x1]
        logodds = np.clip(sd, -cfg.prior_reach_px, cfg.prior_reach_px) / cfg.prior_sigma_px
        if cfg.colour_weight > 0:
            ring = (sd < -2.0) & (sd > -m)
            background = work.histogram(index, ring, window=(y0, y1, x0, x1))
            codes = work.code(index)[y0:y1, x0:x1]
            llr = np.log(hist[codes]) - np.log(background[codes])
            logodds = logodds + cfg.colour_weight * np.clip(llr, -5.0, 5.0)
        cut = min_cut_grid(logodds, work.image(index)[y0:y1, x0:x1], smoothness=cfg.smoothness)
        refined = np.zeros_like(warped)
        refined[y0:y1, x0:x1] = cut
        return refined

    def _doubtful(self, work, index, mask, quality, hist, prompt_score):
        """Whether frame ``index``'s mask may have lost the object: empty, of low quality, or with
        colours unlike the object's (it drifted onto something else)."""
        if not mask.any() or quality < self.config.refind_below:
            return True
        return float(work.colour_score(index, hist)[mask].mean()) < self.config.refind_min_score * prompt_score

    def _refind(self, work, index, hist, reference, prompt_score):
        """The object looked for again in the whole of frame ``index``: where its last good mask's
        shape (``reference``) covers colours most like the prompt frame's (the per-pixel
        log-likelihood ratio of the object's histogram against the frame's own, averaged under
        the shape), the shape is placed and cut again. Returned when
        the place matches at least ``refind_min_score`` of the prompt mask's own score and the
        cut keeps a plausible size; else None (the object stays lost)."""
        import cv2

        cfg = self.config
        if prompt_score <= 0.5 or not reference.any():
            return None  # the object's colours do not stand out from its frame: nothing to go by
        score = work.colour_score(index, hist)
        ys, xs = np.nonzero(reference)
        crop = reference[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1].astype(np.float32)
        # the mean score under the reference's shape centred on each pixel (a correlation)
        mean = cv2.filter2D(score.astype(np.float32), -1, crop / crop.sum(), borderType=cv2.BORDER_CONSTANT)
        cy, cx = np.unravel_index(int(np.argmax(mean)), mean.shape)
        if mean[cy, cx] < cfg.refind_min_score * prompt_score:
            return None
        centre_y, centre_x = ys.min() + (crop.shape[0] - 1) // 2, xs.min() + (crop.shape[1] - 1) // 2
        shift = np.float32([[1, 0, cx - centre_x], [0, 1, cy - centre_y]])
        placed = cv2.warpAffine(reference.astype(np.uint8), shift, (work.width, work.height), flags=cv2.INTER_NEAREST) > 0
        if not placed.any():
            return None
        refined = self._refine(work, index, placed, hist)
        area = int(refined.sum())
        if not (1.0 / (1.0 + cfg.max_area_change) <= area / max(1, int(reference.sum())) <= 1.0 + cfg.max_area_change):
            return None
        if float(score[refined].mean()) < cfg.refind_min_score * prompt_score:
            return None
        log.debug("frame %d: object found again at (%d, %d)", index, cx, cy)
        return refined


class _Working:
    """The clip at working resolution: the few recent frames' images, grey images and colour codes, and flow."""

    def __init__(self, frames: Frames, config: FlowTrackerConfig) -> None:
        import cv2

        self.config = config
        self.full_height, self.full_width = frames.height, frames.width
        scale = min(1.0, config.max_size_px / max(frames.width, frames.height))
        self.width = max(8, round(frames.width * scale))
        self.height = max(8, round(frames.height * scale))
        self.frames = frames
        self._images: dict[int, np.ndarray] = {}
        self._gray: dict[int, np.ndarray] = {}
        self._codes: dict[int, np.ndarray] = {}
        grid_x, grid_y = np.meshgrid(np.arange(self.width, dtype=np.float32), np.arange(self.height, dtype=np.float32))
        self.grid = (grid_x, grid_y)
        self._dis = None
        if config.flow == "dis":
            preset = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                      "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}[config.dis_preset]
            self._dis = cv2.DISOpticalFlow_create(preset)

    def image(self, i: int) -> np.ndarray:
        """Frame ``i`` at working size, H×W×3 uint8."""
        import cv2

        if i not in self._images:
            image = self.frames.images[i]
            if (self.width, self.height) != (self.full_width, self.full_height):
                image = cv2.resize(image, (self.width, self.height), interpolation=cv2.INTER_AREA)
            self._images[i] = image
            if len(self._images) > 4:  # the walk only looks one frame back
                self._images.pop(next(iter(self._images)))
        return self._images[i]

    def gray(self, i: int) -> np.ndarray:
        import cv2

        if i not in self._gray:
            self._gray[i] = cv2.cvtColor(self.image(i), cv2.COLOR_RGB2GRAY)
            if len(self._gray) > 4:
                self._gray.pop(next(iter(self._gray)))
        return self._gray[i]

    def code(self, i: int) -> np.ndarray:
        """Frame ``i``'s quantised colours (H×W int32 histogram bin indices)."""
        if i not in self._codes:
            bins = self.config.colour_bins
            q = (self.image(i).astype(np.int32) * bins) >> 8
            self._codes[i] = (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]
            if len(self._codes) > 4:
                self._codes.pop(next(iter(self._codes)))
        return self._codes[i]

    def histogram(self, i: int, where: np.ndarray, *, window: tuple[int, int, int, int] | None = None) -> np.ndarray:
        """Normalised colour histogram (bins³ float64, add-one smoothed) of frame ``i``'s pixels in ``where``."""
        codes = self.code(i)
        if window is not None:
            y0, y1, x0, x1 = window
            codes = codes[y0:y1, x0:x1]
        counts = np.bincount(codes[where], minlength=self.config.colour_bins**3).astype(np.float64) + 1.0
        return counts / counts.sum()

    def colour_score(self, i: int, hist: np.ndarray) -> np.ndarray:
        """H×W float: how much more likely each pixel's colour is under ``hist`` (the object's)
        than under frame ``i``'s own histogram (log ratio, clipped to ±5)."""
        codes = self.code(i)
        frame = np.bincount(codes.ravel(), minlength=self.config.colour_bins**3).astype(np.float64) + 1.0
        frame /= frame.sum()
        return np.clip(np.log(hist[codes]) - np.log(frame[codes]), -5.0, 5.0)

    def flow(self, a: int, b: int) -> np.ndarray:
        """H×W×2 float32 flow from frame ``a`` to ``b`` at working size: pixel x of ``a`` sits at x + flow in ``b``."""
        import cv2

        if self._dis is not None:
            return self._dis.calc(self.gray(a), self.gray(b), None)
        return cv2.calcOpticalFlowFarneback(self.gray(a), self.gray(b), None, 0.5, 4, 15, 3, 5, 1.1, 0)

    def warp(self, mask: np.ndarray, flow: np.ndarray) -> np.ndarray:
        """Backward-warp a working-size bool mask: out(x) = mask(x + flow(x))."""
        import cv2

        gx, gy = self.grid
        warped = cv2.remap(mask.astype(np.float32), gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return warped > 0.5

    def affine_fill(self, mask: np.ndarray, back: np.ndarray, consistent: np.ndarray) -> np.ndarray:
        """``back`` with its inconsistent pixels near the object replaced by the object's affine motion.

        The affine map is fitted (RANSAC) to the consistent flow of the pixels that land on
        ``mask``; flow on textureless parts of an object is often smeared into its background's,
        and the object's overall motion is the better guess there.
        """
        import cv2

        landed = self.warp(mask, back)
        use = landed & consistent
        rows, cols = np.nonzero(use)
        if len(rows) < 30:
            return back
        if len(rows) > 2000:
            pick = np.random.default_rng(0).choice(len(rows), 2000, replace=False)
            rows, cols = rows[pick], cols[pick]
        src = np.stack([cols, rows], axis=1).astype(np.float32)
        affine, inliers = cv2.estimateAffine2D(src, src + back[rows, cols], ransacReprojThreshold=1.0)
        if affine is None or inliers.mean() < 0.3:
            return back
        gx, gy = self.grid
        fill = np.stack([affine[0, 0] * gx + affine[0, 1] * gy + affine[0, 2] - gx,
                         affine[1, 0] * gx + affine[1, 1] * gy + affine[1, 2] - gy], axis=-1).astype(np.float32)
        near = cv2.dilate(landed.astype(np.uint8), np.ones((2 * self.config.margin_px + 1,) * 2, np.uint8)) > 0
        return np.where((near & ~consistent)[..., None], fill, back)

    def consistency(self, back: np.ndarray, fwd: np.ndarray) -> np.ndarray:
        """H×W forward–backward disagreement in working pixels (``back``: new → last, ``fwd``: last → new)."""
        import cv2

        gx, gy = self.grid
        there = cv2.remap(fwd, gx + back[..., 0], gy + back[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return np.linalg.norm(back + there, axis=2)

    def geometry_flow(self, a: int, b: int, depth_of, track: CameraTrack) -> np.ndarray | None:
        """H×W×2 float32 flow from frame ``a`` to ``b`` implied by ``a``'s depth and both cameras
        (NaN where ``a`` has no depth or the point falls behind ``b``), or None without depth."""
        import cv2

        depth_map = depth_of(a)
        if depth_map is None:
            return None
        depth = depth_map.depth
        if depth.shape != (self.height, self.width):
            depth = cv2.resize(depth, (self.width, self.height), interpolation=cv2.INTER_NEAREST)
        sx, sy = self.width / self.full_width, self.height / self.full_height
        gx, gy = self.grid
        valid = depth > 0
        if not valid.any():
            return None
        # working pixel centres in full-resolution pixel coordinates (centre of pixel (i, j) at (j + .5, i + .5))
        uv = np.stack([(gx[valid] + 0.5) / sx, (gy[valid] + 0.5) / sy], axis=1)
        in_a = track.intrinsics[a].unproject(uv, depth[valid])
        b_from_a = invert_rigid(track.world_from_cam[b]) @ track.world_from_cam[a]
        in_b = in_a @ b_from_a[:3, :3].T + b_from_a[:3, 3]
        uv_b = track.intrinsics[b].project(in_b)
        flow = np.full((self.height, self.width, 2), np.nan, np.float32)
        flow[valid, 0] = uv_b[:, 0] * sx - 0.5 - gx[valid]
        flow[valid, 1] = uv_b[:, 1] * sy - 0.5 - gy[valid]
        return flow

    def downscale_mask(self, mask: np.ndarray) -> np.ndarray:
        import cv2

        if mask.shape == (self.height, self.width):
            return mask.copy()
        small = cv2.resize(mask.astype(np.float32), (self.width, self.height), interpolation=cv2.INTER_AREA) >= 0.5
        if not small.any():  # a sliver thinner than a working pixel: keep it
            small = cv2.resize(mask.astype(np.uint8), (self.width, self.height), interpolation=cv2.INTER_NEAREST) > 0
        return small

    def upscale_mask(self, mask: np.ndarray) -> np.ndarray:
        import cv2

        if mask.shape == (self.full_height, self.full_width):
            return mask
        return cv2.resize(mask.astype(np.float32), (self.full_width, self.full_height), interpolation=cv2.INTER_LINEAR) > 0.5


def _depth_lookup(depths, frames: Frames):
    """A function frame index → DepthMap or None, after checking ``depths``; None without depths."""
    if depths is None:
        return None
    return depths_by_index(depths, frames, exact_size=True).get


def _check_track(track: CameraTrack, frames: Frames) -> None:
    if not isinstance(track, CameraTrack):
        raise InputError(f"track must be a CameraTrack, got {type(track).__name__}")
    if len(track) != len(frames):
        raise InputError(f"track must have one camera per frame ({len(frames)}), got {len(track)}")
    intr = track.intrinsics[0]
    if (intr.width, intr.height) != (frames.width, frames.height):
        raise InputError(
            f"track's intrinsics are for {intr.width}×{intr.height} images but the frames are "
            f"{frames.width}×{frames.height}; pass the frames the track was solved on"
        )


def _reads_text(backend: object) -> bool:
    """Whether a backend answers text prompts (SAM 3)."""
    return backend is not None and bool(getattr(backend, "text_prompts", False))


def _propagates(backend: object) -> bool:
    """Whether a backend segments and tracks a prompt itself (``track_prompt``, SAM 2/3)."""
    return callable(getattr(backend, "track_prompt", None))


def track_object(
    frames: Frames,
    prompt: ObjectPrompt,
    *,
    tracker: MaskTracker | None = None,
    segmenter: PromptableSegmenter | None = None,
    depths: DepthMaps | Mapping[int, DepthMap] | Iterable[DepthMap] | None = None,
    track: CameraTrack | None = None,
    progress: ProgressFn | None = None,
) -> TrackedMasks:
    """Segment a prompted object on its frame and track it through the whole clip.

    A backend with its own video propagation (``track_prompt(frames, prompt, ...)``, e.g. SAM 2)
    takes the prompt itself and does both steps in one go: the tracker when it has one, else the
    segmenter when no tracker is given (the segmenter's own propagation). A text prompt needs a
    backend that reads text (``text_prompts``, SAM 3): its ``track_prompt``, or its
    ``segment`` on the prompt frame followed by the given tracker.

    Args:
        frames: N×H×W×3 uint8 RGB frames.
        prompt: box, points, mask or text on ``prompt.frame`` (an index into ``frames``).
        tracker: the tracking backend; default ``FlowTrackerConfig().build()`` (or the
            segmenter's own propagation when it has one).
        segmenter: the single-frame backend for box, point and text prompts; default
            ``GraphCutSegmenterConfig().build()``.
        depths, track: optional depth keyed by source frame number (as for
            :meth:`MaskTracker.track`) and the camera track (a depth cue for the prompt frame's
            cut; reprojection for a static object).

    The prompt frame's neighbour in the clip is handed to the segmenter as a motion cue.
        progress: optional ``progress(stage, done, total)`` callback.

    Returns:
        The object's :class:`TrackedMasks`, named ``prompt.name``.

    Raises:
        InputError: a prompt frame outside the clip, a prompt outside the frame, mismatched
            inputs, a text prompt and no backend that reads text.
    """
    if not isinstance(frames, Frames):
        raise InputError(f"frames must be Frames, got {type(frames).__name__}; read them with read_frames")
    if not isinstance(prompt, ObjectPrompt):
        raise InputError(f"prompt must be an ObjectPrompt, got {type(prompt).__name__}; see parse_object_prompt")
    if prompt.frame >= len(frames):
        raise InputError(f"object {prompt.name!r}: prompt frame {prompt.frame} is past the clip's last frame ({len(frames) - 1})")
    if prompt.text is not None and not (_reads_text(tracker) or _reads_text(segmenter)):
        raise InputError(f"object {prompt.name!r}: text prompts need --segmenter sam3")
    whole = None
    if _propagates(tracker) and (prompt.text is None or _reads_text(tracker)):
        whole = tracker
    elif tracker is None and _propagates(segmenter):
        whole = segmenter
    if whole is not None:
        return whole.track_prompt(frames, prompt, depths=depths, track=track, progress=progress)
    depth_of = _depth_lookup(depths, frames)
    if prompt.mask is not None:
        mask = fit_mask(prompt.mask, frames.height, frames.width, name=prompt.name)
    else:
        segmenter = segmenter or GraphCutSegmenter()
        depth = depth_of(prompt.frame) if depth_of is not None else None
        neighbour = None
        if len(frames) > 1:
            neighbour = frames.images[prompt.frame + 1 if prompt.frame + 1 < len(frames) else prompt.frame - 1]
        segmenter.set_image(frames.images[prompt.frame], depth=depth, neighbour=neighbour)
        mask = segmenter.segment(prompt).best
    if progress:
        progress("segment", 1, 1)
    tracker = tracker or FlowTracker()
    return tracker.track(frames, mask, prompt.frame, name=prompt.name, depths=depths, track=track, progress=progress)
