"""The objects stage of the reconstruct job: prompts or proposals → tracked masks → object layers.

Prompts come from the command line in the clip's own terms — the frame is a source frame
number and the box or points are pixels of the source video — and are turned here into the
working frames' terms (an index into the clip, pixels of the resized frames). With no
prompt, objects are proposed from the geometry. Tracked masks are cached per object in the
run folder; the per-frame instance maps go to ``run/instances/<frame>.png`` (16-bit PNG,
0 = background, i = the i-th object) and are referenced from the USD.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from sceneforge.reconstruct import (
    MaskTracker,
    ObjectPrompt,
    ProgressFn,
    PromptableSegmenter,
    TrackedMasks,
    instance_maps,
    lift_objects,
    parse_object_prompt,
    track_object,
)
from sceneforge.reconstruct.objects import ObjectProposer
from sceneforge.scenegraph import (
    CameraTrack,
    DepthMaps,
    FrameMasks,
    Frames,
    InputError,
    ObjectLayer,
    atomic_path,
    atomic_write,
    check_array,
)

from ..cache import StageCache, stage_key
from ..registry import PROPOSER, SEGMENTER, BackendConfig

__all__ = [
    "ObjectsOutcome", "ObjectBackends", "prompts_for_clip", "track_objects", "lift_and_store", "masks_digest",
    "objects_digest", "excluded_digest", "subjects_to_ignore",
]

log = logging.getLogger(__name__)

INSTANCE_FOLDER = "instances"


@dataclasses.dataclass(frozen=True)
class ObjectBackends:
    """The objects stage's backend configs (each builds its backend; see ``engine.registry``)."""

    segmenter: BackendConfig[PromptableSegmenter] = dataclasses.field(
        default_factory=lambda: SEGMENTER.config("graph-cut")
    )
    """Prompted segmentation, e.g. a ``GraphCutSegmenterConfig``."""
    tracker: BackendConfig[MaskTracker] | None = None
    """Mask tracking, e.g. a ``FlowTrackerConfig``; None: the segmenter's own video propagation
    when it has one (SAM 2, SAM 3), else the flow tracker."""
    proposer: BackendConfig[ObjectProposer] = dataclasses.field(
        default_factory=lambda: PROPOSER.config("geometry")
    )
    """Object proposals, e.g. a ``ProposalConfig``."""


@dataclasses.dataclass(frozen=True, eq=False)
class ObjectsOutcome:
    """What the objects stage hands to the rest of the job."""

    tracked: tuple[TrackedMasks, ...]
    """Every object's masks through the clip, in instance order."""
    layers: tuple[ObjectLayer, ...]
    """One layer per object, instance ids 1..n."""
    instance_paths: tuple[str, ...] | None
    """Per frame, the instance map's path relative to the shot folder (None: no objects)."""
    instances: np.ndarray | None
    """N×H×W int32 instance maps, 0 = background, i = the i-th object (None: no objects)."""
    moving: np.ndarray | None
    """N×H×W bool, True on objects classified moving (None when every object is static)."""

    def __post_init__(self) -> None:
        if len(self.layers) > len(self.tracked):
            # Lifting may drop an object it cannot place (no depth on it), never add one.
            raise InputError(f"at most one layer per tracked object expected, got {len(self.layers)} for {len(self.tracked)}")
        if self.instances is None:
            if self.tracked or self.moving is not None or self.instance_paths is not None:
                raise InputError("objects without instance maps must have no layers, moving masks or instance paths")
            return
        instances = check_array(self.instances, "instances", shape=(None, None, None), dtype=np.int32)
        if int(instances.max(initial=0)) > len(self.tracked):
            raise InputError(f"instance ids must be 0..{len(self.tracked)}, got {int(instances.max())}")
        if self.moving is not None:
            check_array(self.moving, "moving", shape=instances.shape, dtype=bool)
        if self.instance_paths is not None and len(self.instance_paths) != len(instances):
            raise InputError(f"one instance map path per frame expected, got {len(self.instance_paths)} for {len(instances)}")

    def excluded(self, frames: Frames) -> FrameMasks:
        """True on any object, for the frames that show one: what the background fusion leaves out."""
        if self.instances is None:
            return FrameMasks()
        return FrameMasks(
            {int(n): instance > 0 for n, instance in zip(frames.frame_numbers, self.instances) if (instance > 0).any()}
        )

    @classmethod
    def none(cls) -> ObjectsOutcome:
        return cls(tracked=(), layers=(), instance_paths=None, instances=None, moving=None)


def prompts_for_clip(texts: Sequence[str], frames: Frames, *, base_dir: Path | None = None) -> list[ObjectPrompt]:
    """Parse ``name=box:x0,y0,x1,y1@F`` (or ``points:``/``mask:``/``text:``) prompts given in source terms.

    ``F`` is a source frame number and coordinates are pixels of the source video; the
    returned prompts index the clip and use the working frames' pixels. A text prompt has no
    coordinates: only its frame is mapped (its words are answered by a text-promptable
    segmenter, SAM 3).

    Raises:
        InputError: a malformed prompt, a frame outside the clip, or two objects with one name.
    """
    prompts, names = [], set()
    numbers = [int(n) for n in frames.frame_numbers]
    for text in texts:
        prompt = parse_object_prompt(text, base_dir=base_dir)
        if prompt.name in names:
            raise InputError(f"two --object prompts are named {prompt.name!r}; give each object its own name")
        names.add(prompt.name)
        if prompt.frame not in numbers:
            step = numbers[1] - numbers[0] if len(numbers) > 1 else 1
            raise InputError(
                f"object {prompt.name!r} is prompted on frame {prompt.frame}, which is not in the clip "
                f"(frames {numbers[0]}..{numbers[-1]} step {step}); pick one of those frames"
            )
        if prompt.text is not None:
            prompts.append(dataclasses.replace(prompt, frame=numbers.index(prompt.frame)))
            continue
        scale = frames.scale
        _check_in_source(prompt, frames.width / scale, frames.height / scale)
        box = None if prompt.box is None else tuple(float(v) * scale for v in prompt.box)
        points = None if prompt.points is None else np.asarray(prompt.points, dtype=np.float64) * scale
        prompts.append(dataclasses.replace(prompt, frame=numbers.index(prompt.frame), box=box, points=points))
    return prompts


def _check_in_source(prompt: ObjectPrompt, width: float, height: float) -> None:
    """A prompt's box and points must fall in the source video (``width``×``height`` pixels, the
    terms prompts are given in), and a mask must have its aspect ratio — checked before any work."""
    size = f"{round(width)}×{round(height)}"
    if prompt.box is not None:
        x0, y0, x1, y1 = (float(v) for v in prompt.box)
        if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
            raise InputError(
                f"object {prompt.name!r}: box {x0:g},{y0:g},{x1:g},{y1:g} lies outside the {size} source video; "
                "give x0,y0,x1,y1 in pixels of the source video"
            )
    if prompt.points is not None:
        for x, y in np.asarray(prompt.points, dtype=np.float64):
            if not (0 <= x < width and 0 <= y < height):
                raise InputError(
                    f"object {prompt.name!r}: point {x:g},{y:g} lies outside the {size} source video; "
                    "give x,y in pixels of the source video"
                )
    if prompt.mask is not None:
        h, w = prompt.mask.shape
        if abs(h / w - height / width) > 0.01 * height / width:
            raise InputError(
                f"object {prompt.name!r}: the mask is {w}×{h}, not the {size} source video's shape; "
                "give a mask of the video's size"
            )


def track_objects(
    texts: Sequence[str],
    frames: Frames,
    track: CameraTrack | None,
    depths: DepthMaps | None,
    *,
    cache: StageCache,
    key: str,
    propose: bool,
    backends: ObjectBackends = ObjectBackends(),
    base_dir: Path | None = None,
    progress: ProgressFn | None = None,
    stage_prefix: str = "object_",
) -> tuple[tuple[TrackedMasks, ...], int]:
    """Every object's masks through the clip: the prompted ones, else proposals from the geometry.

    Without ``track`` and ``depths`` the prompts are tracked in the images alone (before any
    camera solve), and nothing is proposed. Each object's masks are cached as
    ``<stage_prefix><name>``.

    Returns:
        (tracked masks in instance order, how many came from the cache).
    """
    if propose and (track is None or depths is None):
        raise InputError("objects can only be proposed from the geometry: solve the camera and the depth first")
    prompts = prompts_for_clip(texts, frames, base_dir=base_dir)
    tracked, reused = [], 0
    built: dict[str, object] = {}  # each backend is built (a neural one: loaded) once, when first needed

    def backend(which: str, config: BackendConfig | None) -> object | None:
        if config is not None and which not in built:
            built[which] = config.build()
        return built.get(which)

    for prompt, text in zip(prompts, texts):
        prompt_key = stage_key(
            geometry=key, prompt=text, mask=_mask_digest(prompt),
            segmenter=repr(backends.segmenter), tracker=repr(backends.tracker),
        )
        stage = f"{stage_prefix}{prompt.name}"
        masks = cache.load_masks(stage, prompt_key)
        if masks is None:
            log.info("tracking %s from frame %d", prompt.name, int(frames.frame_numbers[prompt.frame]))
            masks = track_object(
                frames, prompt, depths=depths, track=track, progress=progress,
                tracker=backend("tracker", backends.tracker), segmenter=backend("segmenter", backends.segmenter),
            )
            cache.save_masks(stage, prompt_key, masks)
        else:
            reused += 1
        tracked.append(masks)
    if prompts or not propose:
        return tuple(tracked), reused
    listing = cache.folder / "proposals.json"
    proposal_key = stage_key(geometry=key, proposals="v1", proposer=repr(backends.proposer))
    if listing.exists():
        info = json.loads(listing.read_text())
        if info.get("key") == proposal_key:
            cached = [cache.load_masks(f"proposal_{i:02d}", proposal_key) for i in range(int(info["count"]))]
            if all(m is not None for m in cached):
                return tuple(cached), len(cached)
    proposals = backends.proposer.build().propose(frames, track, depths, progress=progress)
    for i, masks in enumerate(proposals):
        cache.save_masks(f"proposal_{i:02d}", proposal_key, masks)
    atomic_write(listing, json.dumps({"key": proposal_key, "count": len(proposals)}))
    return tuple(proposals), 0


def subjects_to_ignore(tracked: Sequence[TrackedMasks], frames: Frames, *, grow_fraction: float = 0.01) -> np.ndarray | None:
    """N×H×W bool: the prompted objects' masks, grown by ``grow_fraction`` of the frame's long
    side (a tracked mask misses the rim, and corners on a subject's edge move with it) — what
    the first camera solve ignores, so a subject the camera follows cannot pull the solve."""
    import cv2

    if not tracked:
        return None
    union = np.zeros((len(frames), frames.height, frames.width), bool)
    for masks in tracked:
        union |= masks.masks
    radius = max(1, int(round(grow_fraction * max(frames.width, frames.height))))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    for i in np.flatnonzero(union.reshape(len(union), -1).any(axis=1)):
        union[i] = cv2.dilate(union[i].astype(np.uint8), kernel).astype(bool)
    return union


def _mask_digest(prompt: ObjectPrompt) -> str | None:
    """A mask prompt's file content digest, so that editing the mask image re-tracks the object."""
    if prompt.mask is None:
        return None
    return hashlib.sha1(np.packbits(prompt.mask).tobytes()).hexdigest()


def masks_digest(named_masks: Sequence[tuple[str, np.ndarray]]) -> str | None:
    """A short digest of labelled bool masks, for later stages' cache keys (None when there are none)."""
    if not named_masks:
        return None
    digest = hashlib.sha1()
    for label, masks in named_masks:
        digest.update(str(label).encode())
        digest.update(np.packbits(masks).tobytes())
    return digest.hexdigest()[:16]


def objects_digest(outcome: ObjectsOutcome) -> str | None:
    """The digest of every tracked object's masks (the second camera solve's cache key)."""
    return masks_digest([(m.name, m.masks) for m in outcome.tracked])


def excluded_digest(outcome: ObjectsOutcome, frames: Frames) -> str | None:
    """The digest of the per-frame "any object" masks left out of the background fusion."""
    excluded = outcome.excluded(frames)
    return masks_digest([(str(n), excluded[n]) for n in sorted(excluded)])


def lift_and_store(
    tracked: Sequence[TrackedMasks],
    frames: Frames,
    track: CameraTrack,
    depths: DepthMaps,
    *,
    output: Path,
    run_folder: str,
    texture_size: int,
    progress: ProgressFn | None = None,
) -> ObjectsOutcome:
    """Lift every tracked object into its layer and write the per-frame instance maps."""
    if not tracked:
        return ObjectsOutcome.none()
    layers = tuple(lift_objects(frames, track, depths, list(tracked), texture_size=texture_size, progress=progress))
    instances = instance_maps(list(tracked), len(frames))
    paths = _write_instance_maps(instances, frames, output / run_folder / INSTANCE_FOLDER)
    moving_ids = [layer.instance_id for layer in layers if not layer.static]
    moving = np.isin(instances, moving_ids) if moving_ids else None
    for layer in layers:
        log.info("object %s: %s, %d frames", layer.name, "static" if layer.static else "moving", layer.stats.get("frames_visible", 0))
    return ObjectsOutcome(
        tracked=tuple(tracked),
        layers=layers,
        instance_paths=tuple(str(p.relative_to(output)) for p in paths),
        instances=instances,
        moving=moving,
    )


def _write_instance_maps(instances: np.ndarray, frames: Frames, folder: Path) -> list[Path]:
    """One 16-bit PNG per frame, named by source frame number, written atomically."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    if instances.max(initial=0) > np.iinfo(np.uint16).max:
        raise InputError(f"at most {np.iinfo(np.uint16).max} objects fit an instance map, got {int(instances.max())}")
    paths = []
    for number, instance in zip(frames.frame_numbers, instances):
        path = folder / f"{int(number):06d}.png"
        with atomic_path(path) as tmp:
            if not cv2.imwrite(str(tmp), instance.astype(np.uint16)):
                raise InputError(f"cannot write the instance map {path}; check the disk")
        paths.append(path)
    return paths
