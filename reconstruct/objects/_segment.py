"""Prompted segmentation of one object on one frame.

A person points at an object on any frame of the clip — with a box, a few positive and
negative points, or a mask image — and :func:`segment_prompt` turns that prompt into an
H×W bool mask on that frame. The default backend (:class:`GraphCutSegmenter`) needs no
model weights: OpenCV's GrabCut (colour GMMs and a contrast-sensitive graph cut) cuts
the object out of the box or around the points; then a second graph cut adds the cues
colour cannot give: image motion against a neighbouring frame that the background's own
motion does not explain (an object moving against its background), and, when the frame
has a depth map, foreground and background depth distributions — which separate an
object from a background of the same colour.

:class:`PromptableSegmenter` is the protocol a neural promptable segmenter (SAM 2 style:
``set_image`` once, then ``segment(prompt)`` for masks and scores) implements to drop in;
its video propagation is the :class:`~sceneforge.reconstruct.MaskTracker` protocol.

Pixel coordinates follow DESIGN.md: x right, y down, the centre of pixel (row i, col j)
at ``(j + 0.5, i + 0.5)``; a box ``(x0, y0, x1, y1)`` covers the pixels whose centres lie
in ``[x0, x1) × [y0, y1)``.
"""

from __future__ import annotations

import dataclasses

import logging
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from sceneforge.scenegraph import DepthMap, InputError, ShapeError, check_array

from ._graph_cut import min_cut_grid
from ._prompt import ObjectPrompt

__all__ = [
    "PromptableSegmenter",
    "SegmentResult",
    "GraphCutSegmenterConfig",
    "GraphCutSegmenter",
    "fit_mask",
    "segment_prompt",
]

log = logging.getLogger(__name__)


# -- protocol --------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SegmentResult:
    """Candidate masks for one prompt on one image, best first.

    Attributes:
        masks: K×H×W bool candidate masks (K ≥ 1).
        scores: K float32 in [0, 1], the backend's own estimate of each candidate's quality
            (not comparable across backends).
    """

    masks: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        masks = check_array(self.masks, "masks", shape=(None, None, None), dtype=bool)
        if masks.shape[0] < 1:
            raise ShapeError("a segment result needs at least one mask, got 0", expected="K ≥ 1", actual=0)
        check_array(self.scores, "scores", shape=(masks.shape[0],), dtype=np.float32)

    @property
    def best(self) -> np.ndarray:
        """H×W bool: the first (best) candidate."""
        return self.masks[0]


class PromptableSegmenter(Protocol):
    """A single-image promptable segmenter (SAM 2 style): set an image once, then answer prompts.

    A neural backend computes its image embedding in :meth:`set_image` and answers each
    :meth:`segment` call cheaply from it; it loads its weights from a local path given in
    its config (never fetched behind the user's back). The same backend propagates a mask
    through a clip by also implementing :class:`~sceneforge.reconstruct.MaskTracker`.
    """

    def set_image(
        self,
        image: np.ndarray,
        *,
        depth: DepthMap | np.ndarray | None = None,
        neighbour: np.ndarray | None = None,
    ) -> None:
        """Make ``image`` (H×W×3 uint8 RGB) the one later prompts refer to. ``depth`` (H×W
        float32 z-depth, 0 = none) and ``neighbour`` (H×W×3 uint8, a nearby frame of the same
        clip) are optional extra cues a backend may ignore."""
        ...

    def segment(self, prompt: ObjectPrompt) -> SegmentResult:
        """Masks (at the image's size) for a box and/or points prompt; a mask prompt is
        returned as given (resized to the image when it has the same aspect ratio)."""
        ...


# -- the classical backend -------------------------------------------------------------------


@dataclass(frozen=True)
class GraphCutSegmenterConfig:
    """Prompted segmentation without weights: GrabCut on colour, then motion and depth cues.

    GrabCut (OpenCV) cuts the frame at the working resolution: pixels outside a box are
    background, inside it probably foreground; clicks pin small discs to their label; without
    a box the region near the positive points starts as probable foreground (and only the
    connected parts holding a positive click are kept). Then, when the
    frame comes with a neighbouring frame of the clip and the object moves against its
    background, image motion that the background's dominant motion (a homography fitted
    outside the prompt) does not explain counts for the object; with a depth map, log depth
    counts too (the object's density compact around its median depth, the background's a
    histogram). These cues and GrabCut's colour models are
    combined in a second graph cut; GrabCut's colour models are refitted on its result and
    the cut is run once more.
    """

    max_size_px: int = 480
    """Long side of the working resolution; larger frames are segmented downscaled and the mask
    upsampled."""
    iterations: int = 5
    """GrabCut iterations (colour-model refits)."""
    point_radius_px: float = 3.0
    """Radius of the disc a click pins to its label, in working pixels."""
    point_reach: float = 0.12
    """Without a box, pixels within this share of the image diagonal of a positive point start as
    probable foreground (the rest as probable background)."""
    motion_weight: float = 1.0
    """Weight of the motion cue (0 turns it off)."""
    motion_threshold_px: float = 2.0
    """Working pixels of motion left unexplained by the background's motion at which the motion
    cue turns from background to object (lower when the object's own median residual is less than
    twice this; never below the noise level)."""
    motion_noise_px: float = 0.5
    """Floor of the residual-motion noise level (working pixels); the noise level is at least 3× the
    background's median residual, and the cue is used only when the object's median residual is
    at least twice the noise level."""
    motion_scale_px: float = 0.5
    """Working pixels of residual motion per nat of the motion cue (clipped to ±3 nats)."""
    depth_weight: float = 1.5
    """Weight of the depth log-likelihood ratio (0 turns depth off)."""
    depth_bins: int = 32
    """Bins of the background's histogram over the frame's range of log depth."""
    smoothness: float = 2.0
    """Weight of the contrast-sensitive boundary term of the cue cut (nats per unit edge)."""
    box_context: float = 1.0
    """A box prompt is also cut in a crop of the frame: the box grown by this many times its
    own size on each side, where GrabCut learns the background's colours near the object, not
    over the whole frame, where the object's colours may turn up elsewhere (a white mug beside
    white paper) and the whole-frame cut comes back all background. Of the two cuts the one
    that fills the box plausibly and separates best is kept. 0: the whole-frame cut only."""

    def __post_init__(self) -> None:
        for name in ("iterations", "depth_bins"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be ≥ 1, got {getattr(self, name)}")
        if self.max_size_px < 32:
            raise InputError(f"max_size_px must be ≥ 32, got {self.max_size_px}")
        for name in ("point_radius_px", "motion_weight", "depth_weight", "smoothness"):
            if not getattr(self, name) >= 0:
                raise InputError(f"{name} must be ≥ 0, got {getattr(self, name)}")
        for name in ("motion_threshold_px", "motion_scale_px", "motion_noise_px"):
            if not getattr(self, name) > 0:
                raise InputError(f"{name} must be positive, got {getattr(self, name)}")
        if not 0 < self.point_reach <= 1:
            raise InputError(f"point_reach must be in (0, 1], got {self.point_reach}")

    def build(self) -> GraphCutSegmenter:
        """The backend this configuration describes."""
        return GraphCutSegmenter(self)


class GraphCutSegmenter:
    """The default :class:`PromptableSegmenter` (no weights; see :class:`GraphCutSegmenterConfig`)."""

    def __init__(self, config: GraphCutSegmenterConfig | None = None) -> None:
        self.config = config or GraphCutSegmenterConfig()
        self._image: np.ndarray | None = None
        self._depth: np.ndarray | None = None
        self._neighbour: np.ndarray | None = None

    def set_image(
        self,
        image: np.ndarray,
        *,
        depth: DepthMap | np.ndarray | None = None,
        neighbour: np.ndarray | None = None,
    ) -> None:
        """See :meth:`PromptableSegmenter.set_image`.

        Args:
            image: H×W×3 uint8 RGB.
            depth: optional z-depth at the image's size (0 = none).
            neighbour: optional H×W×3 uint8 RGB frame next to ``image`` in the same clip (one
                frame away is best): its motion against ``image`` is a cue for a moving object.
        """
        image = check_array(image, "image", shape=(None, None, 3), dtype=np.uint8, hint="pass an RGB frame")
        self._image = image
        self._depth = None if depth is None else _depth_array(depth, image.shape[:2])
        if neighbour is not None:
            check_array(neighbour, "neighbour", shape=image.shape, dtype=np.uint8, hint="pass another frame of the same clip")
        self._neighbour = neighbour

    def segment(self, prompt: ObjectPrompt) -> SegmentResult:
        """See :meth:`PromptableSegmenter.segment`. The score is the cues' separability over the
        pixels the prompt leaves open: the mean of ``|2 p - 1|`` of the foreground posterior."""
        if self._image is None:
            raise InputError("call set_image before segment")
        height, width = self._image.shape[:2]
        if not isinstance(prompt, ObjectPrompt):
            raise InputError(f"prompt must be an ObjectPrompt, got {type(prompt).__name__}")
        if prompt.mask is not None:
            mask = fit_mask(prompt.mask, height, width, name=prompt.name)
            return SegmentResult(mask[None], np.ones(1, np.float32))
        _check_prompt_in_image(prompt, width, height)
        mask, score = self._cut(prompt)
        if prompt.box is not None:
            cuts = [(mask, score)] + ([self._cut_in_context(prompt)] if self.config.box_context > 0 else [])
            mask, score = self._likelier(prompt, *cuts)
        if not mask.any():
            log.warning("object %r: the prompt's cut is empty or a speck of its box; keeping the box/points region", prompt.name)
            mask = _prompt_region(prompt, width, height)
            score = 0.0
        return SegmentResult(mask[None], np.array([score], np.float32))

    @staticmethod
    def _likelier(prompt: ObjectPrompt, *cuts: tuple[np.ndarray, float], min_fill: float = 0.15) -> tuple[np.ndarray, float]:
        """Of several cuts of one box prompt, the one a person drawing that box meant: among those
        filling at least ``min_fill`` of the box (a box is drawn around an object, not around a
        speck), the one whose cues separate best (its score); an empty mask when none does (the
        caller then keeps the box region)."""
        height, width = cuts[0][0].shape
        box = _box_mask(prompt.box, width, height)
        fills = [np.count_nonzero(mask & box) / max(1, np.count_nonzero(box)) for mask, _ in cuts]
        plausible = [k for k, fill in enumerate(fills) if fill >= min_fill]
        if not plausible:
            return np.zeros((height, width), bool), 0.0
        return cuts[max(plausible, key=lambda k: cuts[k][1])]

    def _cut_in_context(self, prompt: ObjectPrompt) -> tuple[np.ndarray, float]:
        """:meth:`_cut` on the crop around a box prompt (``box_context``), pasted into the frame."""
        height, width = self._image.shape[:2]
        x0, y0, x1, y1 = prompt.box
        grow_x, grow_y = self.config.box_context * (x1 - x0), self.config.box_context * (y1 - y0)
        c0, r0 = max(0, int(np.floor(x0 - grow_x))), max(0, int(np.floor(y0 - grow_y)))
        c1, r1 = min(width, int(np.ceil(x1 + grow_x))), min(height, int(np.ceil(y1 + grow_y)))
        inner = GraphCutSegmenter(self.config)
        inner._image = np.ascontiguousarray(self._image[r0:r1, c0:c1])
        inner._depth = None if self._depth is None else np.ascontiguousarray(self._depth[r0:r1, c0:c1])
        inner._neighbour = None if self._neighbour is None else np.ascontiguousarray(self._neighbour[r0:r1, c0:c1])
        points = None if prompt.points is None else np.asarray(prompt.points, np.float64) - [c0, r0]
        local = dataclasses.replace(prompt, box=(x0 - c0, y0 - r0, x1 - c0, y1 - r0), points=points)
        cut, score = inner._cut(local)
        mask = np.zeros((height, width), bool)
        mask[r0:r1, c0:c1] = cut
        return mask, score

    def _cut(self, prompt: ObjectPrompt) -> tuple[np.ndarray, float]:
        import cv2

        cfg = self.config
        height, width = self._image.shape[:2]
        scale = min(1.0, cfg.max_size_px / max(height, width))
        w, h = max(8, round(width * scale)), max(8, round(height * scale))
        sx, sy = w / width, h / height
        image = self._image if (w, h) == (width, height) else cv2.resize(self._image, (w, h), interpolation=cv2.INTER_AREA)
        trimap = _initial_trimap(prompt, w, h, sx, sy, np.hypot(width, height) * cfg.point_reach, cfg.point_radius_px)
        bgd_model, fgd_model = np.zeros((1, 65)), np.zeros((1, 65))
        # GrabCut seeds its k-means from OpenCV's global generator: seed it, so the same prompt
        # always gives the same mask
        cv2.setRNGSeed(0)
        may_be_fg = (trimap == cv2.GC_FGD) | (trimap == cv2.GC_PR_FGD)
        if may_be_fg.sum() < 10 or (~may_be_fg).sum() < 10:
            # too few pixels for GrabCut's 5-component colour models: the prompt region is all we know
            log.warning("object %r: the prompt covers too few working pixels to segment; using the prompt region", prompt.name)
            return _prompt_region(prompt, width, height), 0.0
        cv2.grabCut(image, trimap, None, bgd_model, fgd_model, cfg.iterations, cv2.GC_INIT_WITH_MASK)
        fg = (trimap == cv2.GC_FGD) | (trimap == cv2.GC_PR_FGD)
        hard_bg, hard_fg = trimap == cv2.GC_BGD, trimap == cv2.GC_FGD
        open_region = ~hard_bg & ~hard_fg
        colour = np.clip(_gmm_log_density(image, fgd_model) - _gmm_log_density(image, bgd_model), -8.0, 8.0)
        cues = np.zeros((h, w))
        motion = None
        if self._neighbour is not None and cfg.motion_weight > 0:
            motion = self._motion_cue(image, fg, outside=hard_bg if prompt.box is not None else ~fg, size=(w, h))
            if motion is not None:
                cues = cues + cfg.motion_weight * motion
        depth = None
        if self._depth is not None and cfg.depth_weight > 0:
            depth = self._depth if (w, h) == (width, height) else cv2.resize(self._depth, (w, h), interpolation=cv2.INTER_NEAREST)
        if motion is not None or depth is not None:
            for refit in (False, True):
                if refit:  # GrabCut's colour models learnt again from the cue cut's result
                    if fg.sum() < 10 or (~fg).sum() < 10:
                        break
                    trimap = np.where(open_region, np.where(fg, cv2.GC_PR_FGD, cv2.GC_PR_BGD), trimap).astype(np.uint8)
                    cv2.grabCut(image, trimap, None, bgd_model, fgd_model, max(1, cfg.iterations // 2), cv2.GC_INIT_WITH_MASK)
                    colour = np.clip(_gmm_log_density(image, fgd_model) - _gmm_log_density(image, bgd_model), -8.0, 8.0)
                total = colour + cues
                if depth is not None:
                    # the background's depths from outside the box when there is one: pixels the
                    # cut has wrongly dropped would otherwise teach the background their depth
                    known_bg = hard_bg if hard_bg.mean() > 0.05 else ~fg
                    total = total + cfg.depth_weight * _depth_log_ratio(depth, fg, known_bg, bins=cfg.depth_bins)
                fg = min_cut_grid(total, image, smoothness=cfg.smoothness, hard_fg=hard_fg, hard_bg=hard_bg)
        else:
            total = colour
        posterior = 1.0 / (1.0 + np.exp(-total[open_region]))
        score = float(np.mean(np.abs(2.0 * posterior - 1.0))) if posterior.size else 0.0
        if prompt.box is None:
            fg = _components_at_points(fg, prompt, sx, sy)
        if (w, h) != (width, height):
            fg = cv2.resize(fg.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR) > 0.5
        if prompt.box is not None:
            fg &= _box_mask(prompt.box, width, height)
        return fg, score

    def _motion_cue(self, image: np.ndarray, fg: np.ndarray, *, outside: np.ndarray, size: tuple[int, int]) -> np.ndarray | None:
        """H×W log-odds from motion the background's homography does not explain, or None when
        the object does not move against its background (then motion says nothing about it)."""
        import cv2

        cfg = self.config
        neighbour = self._neighbour
        if neighbour.shape[:2] != image.shape[:2]:
            neighbour = cv2.resize(neighbour, size, interpolation=cv2.INTER_AREA)
        gray_a = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        gray_b = cv2.cvtColor(neighbour, cv2.COLOR_RGB2GRAY)
        flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM).calc(gray_a, gray_b, None)
        rows, cols = np.nonzero(outside)
        if len(rows) < 50 or not fg.any():
            return None
        pick = np.random.default_rng(0).choice(len(rows), min(len(rows), 4000), replace=False)
        src = np.stack([cols[pick], rows[pick]], axis=1).astype(np.float32)
        dst = src + flow[rows[pick], cols[pick]]
        homography, _ = cv2.findHomography(src, dst, cv2.RANSAC, 1.0)
        if homography is None:
            return None
        h, w = gray_a.shape
        grid = np.stack(np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64)), axis=-1)
        moved = np.concatenate([grid, np.ones((h, w, 1))], axis=-1) @ homography.T
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = moved[..., :2] / moved[..., 2:]
        residual = np.nan_to_num(np.linalg.norm(expected - grid - flow, axis=-1), nan=0.0, posinf=0.0)
        noise = max(cfg.motion_noise_px, 3.0 * float(np.median(residual[outside])))
        moving = float(np.median(residual[fg]))
        if moving < 2.0 * noise:
            log.debug("motion cue off: the object moves like its background (%.2f px vs noise %.2f px)", moving, noise)
            return None
        # neutral halfway to the object's own residual, but never above the configured threshold
        threshold = max(noise, min(cfg.motion_threshold_px, 0.5 * moving))
        return np.clip((residual - threshold) / cfg.motion_scale_px, -3.0, 3.0)


def _components_at_points(fg: np.ndarray, prompt: ObjectPrompt, sx: float, sy: float) -> np.ndarray:
    """Only the connected parts of ``fg`` that hold a positive click (all of it when none does).

    Without a box nothing bounds the cut: look-alike regions elsewhere in the frame are more
    likely other things than parts of the clicked object.
    """
    import cv2

    count, labels = cv2.connectedComponents(fg.astype(np.uint8), connectivity=8)
    h, w = fg.shape
    keep = set()
    for (px, py), positive in zip(prompt.points, prompt.labels):
        label = labels[min(h - 1, int(py * sy)), min(w - 1, int(px * sx))]
        if positive and label > 0:
            keep.add(int(label))
    if not keep or count <= 2:
        return fg
    return np.isin(labels, sorted(keep))


def _initial_trimap(prompt: ObjectPrompt, w: int, h: int, sx: float, sy: float, reach_px: float, radius: float) -> np.ndarray:
    """GrabCut's starting labels at working size ``w×h`` (``sx, sy``: working / full pixels)."""
    import cv2

    cols = (np.arange(w) + 0.5) / sx  # working pixel centres in full-resolution coordinates
    rows = (np.arange(h) + 0.5) / sy
    trimap = np.full((h, w), cv2.GC_PR_BGD, np.uint8)
    if prompt.box is not None:
        bx0, by0, bx1, by1 = prompt.box
        inside = ((rows >= by0) & (rows < by1))[:, None] & ((cols >= bx0) & (cols < bx1))[None, :]
        if not inside.any():  # a box thinner than one working pixel: take the pixel it is in
            inside[min(h - 1, int((by0 + by1) / 2 * sy)), min(w - 1, int((bx0 + bx1) / 2 * sx))] = True
        trimap[:] = cv2.GC_BGD
        trimap[inside] = cv2.GC_PR_FGD
    else:
        near = np.zeros((h, w), bool)
        for (px, py), positive in zip(prompt.points, prompt.labels):
            if positive:
                near |= (cols[None, :] - px) ** 2 + (rows[:, None] - py) ** 2 <= reach_px**2
        trimap[near] = cv2.GC_PR_FGD
    if prompt.points is not None:
        radius = max(1.0, radius)
        for (px, py), positive in zip(prompt.points, prompt.labels):
            cx, cy = px * sx, py * sy
            disc = (np.arange(w)[None, :] + 0.5 - cx) ** 2 + (np.arange(h)[:, None] + 0.5 - cy) ** 2 <= radius**2
            if not disc.any():
                disc[min(h - 1, int(cy)), min(w - 1, int(cx))] = True
            trimap[disc] = cv2.GC_FGD if positive else cv2.GC_BGD
    if not np.isin(trimap, (cv2.GC_BGD, cv2.GC_PR_BGD)).any():
        # GrabCut needs background samples to start its colour model: the image border
        trimap[[0, -1], :] = cv2.GC_BGD
        trimap[:, [0, -1]] = cv2.GC_BGD
    if not np.isin(trimap, (cv2.GC_FGD, cv2.GC_PR_FGD)).any():
        trimap[h // 2, w // 2] = cv2.GC_PR_FGD
    return trimap


def segment_prompt(
    image: np.ndarray,
    prompt: ObjectPrompt,
    *,
    depth: DepthMap | np.ndarray | None = None,
    neighbour: np.ndarray | None = None,
    segmenter: PromptableSegmenter | None = None,
) -> np.ndarray:
    """Segment the prompted object on one frame.

    Args:
        image: H×W×3 uint8 RGB, the prompt's frame.
        prompt: a box, points or mask prompt in this frame's pixels.
        depth: optional z-depth of the frame (a :class:`DepthMap` or an H×W float32 array,
            0 = none), used as an extra cue by the default backend.
        neighbour: optional H×W×3 uint8 RGB frame next to ``image`` in the same clip; the
            default backend uses its motion as a cue when the object moves against its background.
        segmenter: the backend; default ``GraphCutSegmenterConfig().build()``.

    Returns:
        H×W bool mask of the object. A mask prompt comes back as given (resized when it has
        the frame's aspect ratio but not its size).

    Raises:
        ShapeError: an image that is not H×W×3 uint8, a mask of another aspect ratio.
        InputError: a box or points outside the image.
    """
    segmenter = segmenter or GraphCutSegmenter()
    segmenter.set_image(image, depth=depth, neighbour=neighbour)
    return segmenter.segment(prompt).best


def fit_mask(mask: np.ndarray, height: int, width: int, *, name: str = "") -> np.ndarray:
    """An H×W bool copy of ``mask``, resized when it has the frame's aspect ratio but not its size.

    Raises:
        ShapeError: when the aspect ratio differs by more than 1%.
    """
    import cv2

    mask = check_array(mask, "prompt mask", shape=(None, None), dtype=bool)
    if mask.shape == (height, width):
        return mask.copy()
    mh, mw = mask.shape
    if abs(mw / mh - width / height) > 0.01 * (width / height):
        who = f"object {name!r}: " if name else ""
        raise ShapeError(
            f"{who}prompt mask must be {height}×{width} (the frame's size) or the same aspect ratio, "
            f"got {mh}×{mw}; draw the mask on the frame as read",
            expected=(height, width), actual=(mh, mw),
        )
    resized = cv2.resize(mask.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR) >= 0.5
    if not resized.any():  # a tiny mask downscaled: keep its nearest pixels
        resized = cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
    return resized


# -- helpers ---------------------------------------------------------------------------------


def _depth_array(depth: DepthMap | np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    values = depth.depth if isinstance(depth, DepthMap) else depth
    values = check_array(values, "depth", shape=shape, dtype=np.float32, hint="pass the frame's z-depth at its size")
    return values


def _box_mask(box: tuple[float, float, float, float], width: int, height: int) -> np.ndarray:
    x0, y0, x1, y1 = box
    cols = np.arange(width) + 0.5
    rows = np.arange(height) + 0.5
    return ((rows >= y0) & (rows < y1))[:, None] & ((cols >= x0) & (cols < x1))[None, :]


def _prompt_region(prompt: ObjectPrompt, width: int, height: int) -> np.ndarray:
    if prompt.box is not None:
        return _box_mask(prompt.box, width, height)
    region = np.zeros((height, width), bool)
    for (px, py), positive in zip(prompt.points, prompt.labels):
        if positive:
            region[int(np.clip(py, 0, height - 1)), int(np.clip(px, 0, width - 1))] = True
    return region


def _check_prompt_in_image(prompt: ObjectPrompt, width: int, height: int) -> None:
    if prompt.box is not None:
        x0, y0, x1, y1 = prompt.box
        if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
            raise InputError(
                f"object {prompt.name!r}: box {prompt.box} lies outside the {width}×{height} frame; "
                "give x0,y0,x1,y1 in pixels of the frame as read"
            )
    if prompt.points is not None:
        p = prompt.points
        outside = (p[:, 0] < 0) | (p[:, 0] >= width) | (p[:, 1] < 0) | (p[:, 1] >= height)
        if outside.any():
            raise InputError(
                f"object {prompt.name!r}: point {tuple(p[np.argmax(outside)])} lies outside the {width}×{height} frame; "
                "give x,y in pixels of the frame as read"
            )


def _gmm_log_density(image: np.ndarray, model: np.ndarray) -> np.ndarray:
    """H×W log density of the colours of ``image`` under a GrabCut GMM.

    OpenCV keeps GrabCut's model as 65 float64: 5 component weights, 5 RGB means (3 each),
    5 covariances (3×3 each, row-major).
    """
    k = 5
    model = np.asarray(model, np.float64).reshape(-1)
    weights = model[:k]
    means = model[k : 4 * k].reshape(k, 3)
    covs = model[4 * k :].reshape(k, 3, 3)
    x = image.reshape(-1, 3).astype(np.float64)
    logs = []
    for w, mu, cov in zip(weights, means, covs):
        if w <= 0:
            continue
        cov = cov + np.eye(3) * 1e-2
        inv = np.linalg.inv(cov)
        d = x - mu
        maha = np.einsum("ni,ij,nj->n", d, inv, d)
        logs.append(np.log(w) - 0.5 * (maha + np.log(np.linalg.det(cov)) + 3 * np.log(2 * np.pi)))
    if not logs:
        return np.zeros(image.shape[:2])
    return np.logaddexp.reduce(np.stack(logs), axis=0).reshape(image.shape[:2])


def _depth_log_ratio(depth: np.ndarray, fg: np.ndarray, bg: np.ndarray, *, bins: int) -> np.ndarray:
    """Per-pixel log ratio of object to background densities of log depth (0 where no depth).

    The object's density is a Laplace distribution around the median log depth of ``fg`` with
    a robust (MAD) scale: an object is compact in depth, and a median is not pulled away by
    the background pixels a first cut wrongly includes (a histogram would learn them). The
    background's is a histogram of ``bg``'s log depths.
    """
    valid = depth > 0
    out = np.zeros(depth.shape, np.float64)
    if not (valid & fg).any() or not (valid & bg).any():
        return out
    logd = np.log(np.where(valid, depth, 1.0))
    object_logd = logd[valid & fg]
    centre = float(np.median(object_logd))
    # scale floor: 2% in depth, about the noise of good stereo or a depth sensor
    scale = max(1.4826 * float(np.median(np.abs(object_logd - centre))), 0.02)
    lo, hi = np.percentile(logd[valid], [0.5, 99.5])
    lo, hi = min(lo, centre - 3 * scale), max(hi, centre + 3 * scale)
    width = (hi - lo) / bins
    index = np.clip(((logd - lo) / width).astype(np.int64), 0, bins - 1)
    # add-one smoothing and a small blur so that neighbouring depths share evidence
    hist_bg = np.bincount(index[valid & bg], minlength=bins) + 1.0
    hist_bg = np.convolve(hist_bg, np.array([0.25, 0.5, 0.25]), mode="same")
    log_bg = np.log(hist_bg / (hist_bg.sum() * width))
    log_fg = -np.abs(logd[valid] - centre) / scale - np.log(2.0 * scale)
    out[valid] = np.clip(log_fg - log_bg[index[valid]], -8.0, 8.0)
    return out
