"""Input checks shared by the stages' public entry points: frames against their camera track,
and per-frame stage data (depth maps, masks) against the frames it belongs to.

Stage data is keyed by source frame number; the algorithms index frames by position. These
checks are where one turns into the other (``frames.index_of(number)``), once, at entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from sceneforge.scenegraph import CameraTrack, DepthMap, DepthMaps, FrameMasks, Frames, InputError

__all__ = ["DepthMapsLike", "FrameMasksLike", "check_frames_and_track", "depths_by_index", "masks_by_index"]

DepthMapsLike = DepthMaps | Mapping[int, DepthMap] | Iterable[DepthMap]
"""What the stages accept as depth: :class:`DepthMaps`, a mapping source frame number →
DepthMap, or DepthMap objects (each carries its frame number)."""

FrameMasksLike = FrameMasks | Mapping[int, np.ndarray]
"""What the stages accept as per-frame masks: :class:`FrameMasks` or a mapping source frame
number → H×W bool."""


def check_frames_and_track(frames: Frames, track: CameraTrack) -> None:
    """Raise :class:`InputError` unless ``frames`` and ``track`` describe the same frames."""
    if not isinstance(frames, Frames):
        raise InputError(f"frames must be Frames, got {type(frames).__name__}; read them with read_frames")
    if not isinstance(track, CameraTrack):
        raise InputError(f"track must be a CameraTrack, got {type(track).__name__}; solve the camera first")
    if len(frames) != len(track) or not np.array_equal(frames.frame_numbers, track.frame_numbers):
        raise InputError(
            f"frames and track must describe the same frames, got {len(frames)} frames and {len(track)} cameras "
            "with different frame numbers; pass the frames the track was solved on"
        )
    for i, intr in enumerate(track.intrinsics):
        if (intr.width, intr.height) != (frames.width, frames.height):
            raise InputError(
                f"camera {i} must have the frames' size {frames.width}×{frames.height}, got {intr.width}×{intr.height}; "
                "rescale the intrinsics to the frames"
            )


def depths_by_index(
    depths: DepthMapsLike, clip: Frames | CameraTrack, *, exact_size: bool = False, required: bool = False
) -> dict[int, DepthMap]:
    """The depth maps of ``clip`` by frame index (increasing), each checked against its frame.

    ``depths`` is coerced with ``DepthMaps.of`` (keyed by source frame number); every map's
    frame must be one of ``clip``'s, with that frame's aspect (any resolution), or exactly its
    size with ``exact_size``. The frame's size is the frames' size for :class:`Frames`, the
    camera's image size for a :class:`CameraTrack`.

    Raises:
        InputError: not depth maps, a frame the clip does not have, a size that does not fit,
            or none at all with ``required``.
    """
    if isinstance(depths, (DepthMap, str, bytes)) or not isinstance(depths, (Mapping, Iterable)):
        raise InputError(
            f"depths must be DepthMaps (source frame number → DepthMap) or DepthMap objects, got {type(depths).__name__}"
        )
    maps = DepthMaps.of(depths)
    if required and len(maps) == 0:
        raise InputError("depths must hold at least one DepthMap, keyed by source frame number; got none")
    numbers = clip.frame_numbers
    out: dict[int, DepthMap] = {}
    for number, depth in maps.items():
        index = int(np.searchsorted(numbers, number))
        if index >= len(numbers) or int(numbers[index]) != number:
            raise InputError(
                f"depth for source frame {number} is outside the clip (frames {int(numbers[0])}..{int(numbers[-1])}): "
                "give at most one DepthMap per frame of the clip, keyed by source frame number, not by frame index "
                "(frame indices are positions in the clip)"
            )
        if isinstance(clip, Frames):
            width, height, what = clip.width, clip.height, "the frames are"
        else:
            width, height, what = clip.intrinsics[index].width, clip.intrinsics[index].height, "its camera is"
        h, w = depth.depth.shape
        if exact_size and (w, h) != (width, height):
            raise InputError(
                f"depth of source frame {number} is {w}×{h} but {what} {width}×{height}; "
                "pass depth maps on the frames' pixel grid"
            )
        scale = w / width
        if abs(h - height * scale) > max(1.0, scale):
            raise InputError(
                f"depth of source frame {number} must have its frame's aspect ({width}×{height}), got {w}×{h}; "
                "resize without cropping"
            )
        out[index] = depth
    return dict(sorted(out.items()))


def masks_by_index(masks: FrameMasksLike | None, frames: Frames) -> dict[int, np.ndarray]:
    """The masks of ``frames`` by frame index, each checked: a frame of the clip, the frames' aspect.

    Raises:
        InputError: not masks, a frame the clip does not have, or a mask of another aspect.
    """
    if masks is None:
        return {}
    checked = FrameMasks.of(masks)
    numbers = frames.frame_numbers
    out: dict[int, np.ndarray] = {}
    for number, mask in checked.items():
        index = int(np.searchsorted(numbers, number))
        if index >= len(numbers) or int(numbers[index]) != number:
            raise InputError(
                f"mask for source frame {number} is outside the clip (frames {int(numbers[0])}..{int(numbers[-1])}); "
                "key masks by source frame number, not by frame index"
            )
        scale = mask.shape[1] / frames.width
        if abs(mask.shape[0] - frames.height * scale) > max(1.0, scale):
            raise InputError(
                f"mask of source frame {number} must have the frames' aspect ({frames.width}×{frames.height}), got "
                f"{mask.shape[1]}×{mask.shape[0]}"
            )
        out[index] = mask
    return out
