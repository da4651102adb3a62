"""The scene renderer: a USD scene seen through a camera track, frame by frame, as render passes.

Static meshes (the background, objects that do not move) are read once and stay uploaded;
meshes whose shape, placement, visibility or texture changes over time (a moving object's
layer, an animated edit) are read again at every frame. Every mesh gets an object id that
stays the same over the whole shot, so the ``object_id`` pass of one frame means what it
means in every other. What comes out, one :class:`FramePasses` per frame, is what hole
filling, compositing over the plate and the writers consume.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from sceneforge.scenegraph import CameraTrack, InputError, Intrinsics, animated_mesh_paths, check_rigid
from sceneforge.scenegraph import open_stage, read_scene_meshes

from ..raster._passes import PASS_NAMES, RenderPasses, check_pass_names
from ..raster._rasterizer import Rasterizer

if TYPE_CHECKING:
    from pxr import Usd

__all__ = ["FramePasses", "iter_scene_passes"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class FramePasses:
    """The render passes of one frame of a shot, with the camera they were seen through.

    Attributes:
        frame_number: the source frame number (the USD time code) this frame shows.
        intrinsics: the camera of this frame; the passes are ``intrinsics.width`` ×
            ``intrinsics.height`` on its (distorted, when it has distortion) pixel grid.
        world_from_cam: 4×4 float64 rigid camera pose, OpenCV axes.
        passes: the rendered passes.
        object_paths: object id → prim path of the mesh drawn with that id (the same for
            every frame of one call); id 0 is no mesh.
    """

    frame_number: int
    intrinsics: Intrinsics
    world_from_cam: np.ndarray
    passes: RenderPasses
    object_paths: Mapping[int, str]

    def __post_init__(self) -> None:
        if isinstance(self.frame_number, bool) or int(self.frame_number) != self.frame_number:
            raise InputError(f"frame_number must be an integer source frame number, got {self.frame_number!r}")
        if not isinstance(self.intrinsics, Intrinsics):
            raise InputError(f"intrinsics must be an Intrinsics, got {type(self.intrinsics).__name__}")
        if not isinstance(self.passes, RenderPasses):
            raise InputError(f"passes must be RenderPasses, got {type(self.passes).__name__}")
        size = (self.intrinsics.width, self.intrinsics.height)
        if (self.passes.width, self.passes.height) != size:
            raise InputError(
                f"passes must be {size[0]}×{size[1]} like the intrinsics, got {self.passes.width}×{self.passes.height}"
            )
        object.__setattr__(self, "frame_number", int(self.frame_number))
        object.__setattr__(self, "world_from_cam", check_rigid(self.world_from_cam, "world_from_cam"))
        object.__setattr__(self, "object_paths", MappingProxyType(dict(self.object_paths)))


def iter_scene_passes(
    scene: str | os.PathLike[str] | Usd.Stage,
    track: CameraTrack,
    *,
    frame_numbers: Iterable[int] | None = None,
    passes: Sequence[str] = PASS_NAMES,
) -> Iterator[FramePasses]:
    """Render a scene's meshes through a camera track, one frame at a time.

    The scene is read and the rasterizer made when this is called, so a scene with
    nothing to draw or a machine without headless OpenGL fails here, before any output
    is opened; the frames are rendered as the iterator is advanced, and the OpenGL
    context is freed when it is exhausted or closed.

    Args:
        scene: a scene.usda (or any USD file with ``/World``), or an open stage.
        track: the cameras to look through, e.g. ``read_camera_track(scene)``; every
            rendered frame has the size of the first one rendered.
        frame_numbers: source frame numbers of ``track`` to render, in the order given;
            every frame of the track when ``None``. Static meshes are placed as they are
            at the first of them.
        passes: which of ``rgb``, ``depth``, ``coverage``, ``normals``, ``object_id`` to render.

    Returns:
        An iterator of :class:`FramePasses`, one per frame number.

    Raises:
        SceneFileError: the scene cannot be read.
        InputError: unknown passes, a frame number the track lacks, no frame at all, or a
            scene with no mesh.
        DependencyError: no headless OpenGL context can be made here.
    """
    wanted = check_pass_names(passes)
    numbers = [int(n) for n in (track.frame_numbers if frame_numbers is None else frame_numbers)]
    indices = [track.index_of(n) for n in numbers]
    if not indices:
        raise InputError("no frame to render; pass at least one of the track's frame numbers")
    if isinstance(scene, (str, os.PathLike)):
        name, stage = os.fspath(scene), open_stage(scene)
    else:
        name, stage = str(scene.GetRootLayer().identifier), scene
    animated = animated_mesh_paths(stage)
    static = [m for m in read_scene_meshes(stage, time=float(numbers[0])) if m.prim_path not in set(animated)]
    if not static and not animated:
        raise InputError(f"{name} has no meshes to render; reconstruct it with depth (the default) first")
    ids = {path: i for i, path in enumerate([m.prim_path for m in static] + animated, start=1)}
    first = track.intrinsics[indices[0]]
    rasterizer = Rasterizer(width=first.width, height=first.height)
    for item in static:
        rasterizer.add_mesh(item.mesh, world_from_local=item.world_from_local, object_id=ids[item.prim_path], name=item.prim_path)
    log.debug("%s: %d static and %d animated meshes", name, len(static), len(animated))
    return _render_frames(stage, track, rasterizer, numbers, indices, animated, ids, wanted)


def _render_frames(
    stage: Usd.Stage,
    track: CameraTrack,
    rasterizer: Rasterizer,
    numbers: list[int],
    indices: list[int],
    animated: list[str],
    ids: dict[str, int],
    wanted: tuple[str, ...],
) -> Iterator[FramePasses]:
    object_paths = MappingProxyType({i: path for path, i in ids.items()})
    with rasterizer:
        for number, i in zip(numbers, indices):
            if animated:
                for name in set(rasterizer.mesh_names) & set(animated):
                    rasterizer.remove_mesh(name)
                for item in read_scene_meshes(stage, time=float(number), under=animated):
                    rasterizer.add_mesh(
                        item.mesh, world_from_local=item.world_from_local, object_id=ids[item.prim_path], name=item.prim_path
                    )
            intrinsics, world_from_cam = track.intrinsics[i], track.world_from_cam[i]
            yield FramePasses(
                frame_number=number,
                intrinsics=intrinsics,
                world_from_cam=world_from_cam,
                passes=rasterizer.render(intrinsics, world_from_cam, passes=wanted),
                object_paths=object_paths,
            )
