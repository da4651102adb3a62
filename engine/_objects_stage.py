"""The objects stage of the reconstruct job: prompts or proposals → tracked masks → layers.

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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sceneforge.scenegraph import CameraTrack, DepthMap, Frames, InputError

from ._cache import StageCache, atomic_write_text, stage_key

__all__ = ["ObjectsOutcome", "prompts_for_clip", "track_objects", "lift_and_store", "masks_digest"]

log = logging.getLogger(__name__)

INSTANCE_FOLDER = "instances"


@dataclasses.dataclass(frozen=True)
class ObjectsOutcome:
    """What the objects stage hands to the rest of the job."""

    layers: tuple[Any, ...]
    """One :class:`~sceneforge.scenegraph.ObjectLayer` per object, instance ids 1..n."""
    instance_paths: list[str] | None
    """Per frame, the instance map's path relative to the shot folder (None: no objects)."""
    excluded: dict[int, np.ndarray]
    """Frame index → H×W bool, True on any object: left out of the background fusion."""
    moving: np.ndarray | None
    """N×H×W bool, True on objects classified moving (None when every object is static)."""


def prompts_for_clip(texts: Sequence[str], frames: Frames, *, base_dir: Path | None = None) -> list[Any]:
    """Parse ``name=box:x0,y0,x1,y1@F`` (or ``points:``/``mask:``) prompts given in source terms.

    ``F`` is a source frame number and coordinates are pixels of the source video; the
    returned prompts index the clip and use the working frames' pixels.

    Raises:
        InputError: a malformed prompt, a frame outside the clip, or two objects with one name.
    """
    from sceneforge.reconstruct import parse_object_prompt

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
        scale = frames.scale
        box = None if prompt.box is None else tuple(float(v) * scale for v in prompt.box)
        points = None if prompt.points is None else np.asarray(prompt.points, dtype=np.float64) * scale
        prompts.append(dataclasses.replace(prompt, frame=numbers.index(prompt.frame), box=box, points=points))
    return prompts


def track_objects(
    texts: Sequence[str],
    frames: Frames,
    track: CameraTrack,
    depths: Mapping[int, DepthMap],
    *,
    cache: StageCache,
    key: str,
    propose: bool,
    base_dir: Path | None = None,
    progress: Any = None,
) -> tuple[list[Any], int]:
    """Every object's masks through the clip: the prompted ones, else proposals from the geometry.

    Returns:
        (tracked masks in instance order, how many came from the cache).
    """
    from sceneforge.reconstruct import propose_objects, track_object

    prompts = prompts_for_clip(texts, frames, base_dir=base_dir)
    tracked, reused = [], 0
    for prompt, text in zip(prompts, texts):
        prompt_key = stage_key(geometry=key, prompt=text, mask=_mask_digest(prompt))
        stage = f"object_{prompt.name}"
        masks = cache.load_masks(stage, prompt_key)
        if masks is None:
            log.info("tracking %s from frame %d", prompt.name, int(frames.frame_numbers[prompt.frame]))
            masks = track_object(frames, prompt, depths=depths, track=track, progress=progress)
            cache.save_masks(stage, prompt_key, masks)
        else:
            reused += 1
        tracked.append(masks)
    if prompts or not propose:
        return tracked, reused
    listing = cache.folder / "proposals.json"
    proposal_key = stage_key(geometry=key, proposals="v1")
    if listing.exists():
        info = json.loads(listing.read_text())
        if info.get("key") == proposal_key:
            cached = [cache.load_masks(f"proposal_{i:02d}", proposal_key) for i in range(int(info["count"]))]
            if all(m is not None for m in cached):
                return cached, len(cached)
    proposals = propose_objects(frames, track, depths, progress=progress)
    for i, masks in enumerate(proposals):
        cache.save_masks(f"proposal_{i:02d}", proposal_key, masks)
    atomic_write_text(listing, json.dumps({"key": proposal_key, "count": len(proposals)}))
    return list(proposals), 0


def _mask_digest(prompt: Any) -> str | None:
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


def lift_and_store(
    tracked: Sequence[Any],
    frames: Frames,
    track: CameraTrack,
    depths: Mapping[int, DepthMap],
    *,
    output: Path,
    run_folder: str,
    texture_size: int,
    progress: Any = None,
) -> ObjectsOutcome:
    """Lift every tracked object into its layer and write the per-frame instance maps."""
    from sceneforge.reconstruct import instance_maps, lift_objects

    if not tracked:
        return ObjectsOutcome(layers=(), instance_paths=None, excluded={}, moving=None)
    layers = tuple(lift_objects(frames, track, depths, list(tracked), texture_size=texture_size, progress=progress))
    instances = instance_maps(list(tracked), len(frames))
    paths = _write_instance_maps(instances, frames, output / run_folder / INSTANCE_FOLDER)
    moving_ids = [layer.instance_id for layer in layers if not layer.static]
    moving = np.isin(instances, moving_ids) if moving_ids else None
    excluded = {i: instances[i] > 0 for i in range(len(frames)) if (instances[i] > 0).any()}
    for layer in layers:
        log.info("object %s: %s, %d frames", layer.name, "static" if layer.static else "moving", layer.stats.get("frames_visible", 0))
    return ObjectsOutcome(
        layers=layers,
        instance_paths=[str(p.relative_to(output)) for p in paths],
        excluded=excluded,
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
        tmp = path.with_name(f".{path.name}.tmp.png")
        if not cv2.imwrite(str(tmp), instance.astype(np.uint16)):
            raise InputError(f"cannot write the instance map {path}; check the disk")
        tmp.replace(path)
        paths.append(path)
    return paths
