"""What an edit changed, as the compositor needs to know it: which objects, the background,
the camera — read from the scene's edits layer and its two camera tracks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sceneforge.scenegraph import CameraTrack, InputError, Scene, read_camera_track, read_object_layers
from sceneforge.scenegraph.usd import BACKGROUND_PATH, OBJECTS_PATH, RECONSTRUCTION_FILE

__all__ = ["ShotEdits", "plate_track"]


@dataclass(frozen=True)
class ShotEdits:
    """The parts of a shot an edit touched.

    Attributes:
        changed_objects: prim paths (``/World/Objects/<name>``) of objects with any edit —
            moved, deleted, hidden, recoloured, duplicated or inserted.
        moving_objects: prim paths of objects that move in the footage: their plate pixels
            never fill another frame.
        background_changed: the background layer itself was edited.
        novel_frames: source frame numbers rendered entirely from other frames: their camera
            differs from the plate's (a changed camera path), or their plate is held out.
        held_out: source frame numbers whose plate is never used, not even for themselves
            (how held-out views are measured).
    """

    changed_objects: frozenset[str] = frozenset()
    moving_objects: frozenset[str] = frozenset()
    background_changed: bool = False
    novel_frames: frozenset[int] = frozenset()
    held_out: frozenset[int] = frozenset()

    @property
    def untouched(self) -> bool:
        """Nothing changed: every pixel of every frame is the plate."""
        return not (self.changed_objects or self.background_changed or self.novel_frames)

    @classmethod
    def of_shot(cls, scene: str | Path, *, camera: str, hold_out: tuple[int, ...] = ()) -> ShotEdits:
        """Read what the edits layer of the shot holding ``scene`` changes.

        Raises:
            SceneFileError: the scene or its reconstruction layer cannot be read.
            InputError: the edited camera has other frames than the plate's.
        """
        opened = Scene.open(scene)
        changed: set[str] = set()
        background = False
        objects_prefix = OBJECTS_PATH + "/"
        for edit in opened.diff():
            if edit.path.startswith(objects_prefix):
                changed.add(objects_prefix + edit.path[len(objects_prefix):].split("/")[0])
            elif edit.path == OBJECTS_PATH:
                # the objects' root itself is new (a scene reconstructed without objects): all it holds is
                changed.update(objects_prefix + name for name in opened.objects)
            elif edit.path == BACKGROUND_PATH or edit.path.startswith(BACKGROUND_PATH + "/"):
                background = True
        moving = frozenset(layer["prim"] for layer in read_object_layers(opened.path) if layer["static"] is False)
        edited = read_camera_track(opened.path, camera=camera)
        plate = plate_track(opened.path, camera=camera)
        held = frozenset(int(n) for n in hold_out)
        unknown = sorted(held - set(int(n) for n in plate.frame_numbers))
        if unknown:
            raise InputError(f"held-out frame {unknown[0]} is not a frame of the shot; hold out frames the shot has")
        novel = held | _moved_frames(plate, edited)
        return cls(frozenset(changed), moving, background, frozenset(novel), held)


def plate_track(scene: str | Path, *, camera: str) -> CameraTrack:
    """The camera the footage was shot with: the reconstruction layer's, edits left out."""
    return read_camera_track(Path(scene).parent / RECONSTRUCTION_FILE, camera=camera)


def _moved_frames(plate: CameraTrack, edited: CameraTrack) -> set[int]:
    """Frame numbers whose edited camera differs from the plate's."""
    if not np.array_equal(plate.frame_numbers, edited.frame_numbers):
        raise InputError(
            "the edited camera covers other frames than the footage "
            f"({len(edited)} frames vs {len(plate)}); reset the camera edit or re-time it to the shot's frames"
        )
    out = set()
    for i, number in enumerate(plate.frame_numbers):
        same_pose = np.allclose(plate.world_from_cam[i], edited.world_from_cam[i], atol=1e-9, rtol=0)
        if not (same_pose and plate.intrinsics[i] == edited.intrinsics[i]):
            out.add(int(number))
    return out
