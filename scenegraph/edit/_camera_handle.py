"""The camera handle of the scene-editing API: read a camera's path and lens, author moves into the edits layer.

A :class:`CameraHandle` holds no copy of the camera: every read goes to the composed stage
and every edit is authored at the stage's edit target (``edits.usda`` of a SceneForge
scene), inside the scene's ``recording(description)`` context so that it can be undone.
``reconstruction.usda`` is never touched.

Frames are named by their source frame numbers (the USD time codes, ``frame_numbers``).
Poses are ``world_from_cam`` 4×4 float64 in OpenCV camera axes (+X right, +Y down,
+Z forward); the flip to USD's camera axes happens only where the handle reads and writes
the USD transform, through the usd sub-package's ``read_world_from_cam`` and ``world_from_glcam``.

Time samples: a stronger layer's time samples for an attribute replace all of a weaker
layer's, so every edit of the path writes the complete sample set (one sample per frame
of the shot) for ``xformOp:transform``; a zoom does the same for ``focalLength`` and
``sceneforge:K``.

The moves (orbit, dolly, push-in, pan, tilt, crane, zoom) are progressive: each frame gets
the move scaled by a weight that is 0 at the first frame of ``frames=(start, end)``
(default: the whole shot), 1 at its last and after it, eased ``linear`` or ``smooth``.
Each applies to the path as it is now (edits included), so moves compose.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from numbers import Real
from typing import Any, Literal

import numpy as np
from pxr import Gf, Sdf, Usd, UsdGeom

from ..types import InputError, Intrinsics, SceneFileError, check_rigid, invert_rigid, rotation_about_axis, transform_points
from ..usd import (
    ATTR_K,
    POINTS_PATH,
    TRANSFORM_OP,
    WORLD_PATH,
    gf_from_transform,
    read_frame_numbers,
    read_intrinsics,
    read_world_from_cam,
    transform_from_gf,
    world_from_glcam,
)
from ._camera_paths import EASES, INTERPOLATIONS, ease_weights, interpolate_path
from ._layers import remove_prim_spec

__all__ = ["CameraHandle"]

log = logging.getLogger(__name__)

_KEN_BURNS_PUSH_FRACTION = 0.1
"""Default Ken Burns push-in: this fraction of the distance to the point the camera looks at."""

_Recording = Callable[[str], AbstractContextManager[None]]


class CameraHandle:
    """One camera of a scene; reads and writes straight through to the USD stage.

    Made by ``Scene`` (``scene.camera``); build one yourself with a stage whose edit target is
    the layer edits should go to.

    Args:
        stage: the composed scene stage; its edit target receives every edit.
        path: prim path of a ``UsdGeom.Camera``, e.g. ``"/World/Cameras/Plate"``.
        recording: ``recording(description)`` returns a context manager that each edit runs
            in (the scene's undo snapshot; it restores the edits layer if the edit raises).

    Raises:
        SceneFileError: no camera at ``path``.
    """

    def __init__(self, *, stage: Usd.Stage, path: str, recording: _Recording) -> None:
        prim = stage.GetPrimAtPath(str(path))
        if not prim.IsValid() or not prim.IsA(UsdGeom.Camera):
            got = f"a {prim.GetTypeName() or 'typeless'} prim" if prim.IsValid() else "nothing"
            raise SceneFileError(f"expected a Camera prim at {path}, got {got}; pass the camera's prim path")
        self._stage = stage
        self._path = str(prim.GetPath())
        self._recording = recording

    def __repr__(self) -> str:
        return f"CameraHandle({self._path!r}, {len(self.frame_numbers)} frames)"

    # ------------------------------------------------------------------------------ reads

    @property
    def name(self) -> str:
        """The camera prim's name, e.g. ``"Plate"``."""
        return self._prim().GetName()

    @property
    def path(self) -> str:
        """The camera prim's path, e.g. ``"/World/Cameras/Plate"``."""
        return self._path

    @property
    def frame_numbers(self) -> np.ndarray:
        """N int64 source frame numbers of the shot (the USD time codes), increasing."""
        return read_frame_numbers(self._stage, self._camera()).copy()

    def world_from_cam(self, frame: int | None = None) -> np.ndarray:
        """Camera poses as composed now (edits applied), OpenCV camera axes.

        Args:
            frame: a source frame number, or None for every frame.

        Returns:
            4×4 float64 ``world_from_cam`` of ``frame``, or N×4×4 for every frame.

        Raises:
            InputError: ``frame`` is not one of :attr:`frame_numbers`.
        """
        numbers = self.frame_numbers
        if frame is not None:
            number = numbers[_frame_index(frame, "frame", numbers)]
            return self._read_world_from_cam(np.array([number]))[0]
        return self._read_world_from_cam(numbers)

    def intrinsics(self, frame: int | None = None) -> Intrinsics | tuple[Intrinsics, ...]:
        """Intrinsics as composed now (a zoom edit applied): one frame's, or a tuple of N.

        K is the exact ``sceneforge:K`` while the USD film back agrees with it, as
        :func:`read_camera_track` reads it.

        Raises:
            InputError: ``frame`` is not one of :attr:`frame_numbers`.
        """
        numbers = self.frame_numbers
        if frame is not None:
            number = numbers[_frame_index(frame, "frame", numbers)]
            return read_intrinsics(self._camera(), [Usd.TimeCode(float(number))], None)[0]
        return read_intrinsics(self._camera(), [Usd.TimeCode(float(n)) for n in numbers], None)

    def look_at_point(self, frame: int | None = None) -> np.ndarray:
        """The point the camera looks at in ``frame`` (default: the first): the orbit's default pivot.

        It lies on the frame's view ray (the optical axis, +Z of the camera) at the median
        z-depth of the sparse points (``/World/Points``) that project inside that frame's
        image. Without such points it takes the z-depth of the centre of the scene's world
        bounding box (every boundable prim under ``/World``) instead.

        Returns:
            3 float64, world coordinates in scene units.

        Raises:
            InputError: ``frame`` is unknown, or nothing lies in front of the camera (pass a pivot).
        """
        numbers = self.frame_numbers
        index = 0 if frame is None else _frame_index(frame, "frame", numbers)
        return self._look_at(int(numbers[index]))

    # ------------------------------------------------------------------------------ paths

    def set_world_from_cam(self, world_from_cam: np.ndarray, frames: Sequence[int] | None = None) -> None:
        """Author camera poses: the whole path, or only some frames (the others keep their pose).

        Args:
            world_from_cam: N×4×4 rigid float64 (N = number of frames) when ``frames`` is None,
                else M×4×4 (or one 4×4 with a single frame) for the M frames in ``frames``.
            frames: source frame numbers to set, or None for every frame.

        Raises:
            InputError / ShapeError: wrong shape, non-finite or non-rigid matrices, unknown or
                repeated frames. Nothing is changed.
        """
        numbers = self.frame_numbers
        if frames is None:
            matrices = _as_rigid(world_from_cam, "world_from_cam", count=len(numbers))
            indices = np.arange(len(numbers))
        else:
            indices = _frame_indices(frames, "frames", numbers)
            matrices = _as_rigid(world_from_cam, "world_from_cam", count=len(indices))
        path = self._read_world_from_cam(numbers)
        path[indices] = matrices
        which = "every frame" if frames is None else f"{len(indices)} frame(s)"
        with self._recording(f"set the path of camera {self.name} at {which}"):
            self._author_world_from_cam(path, numbers)

    def set_keyframes(
        self,
        frames: Sequence[int],
        world_from_cam: np.ndarray,
        *,
        interpolation: Literal["smooth", "linear"] = "smooth",
    ) -> None:
        """Replace the whole path by one interpolated through keyframes.

        ``smooth``: centres by cubic Hermite and orientations by a rotation spline, both with
        non-uniform Catmull-Rom rates; the path passes through every key, is C1 in time and
        starts and ends at rest at the first and last key. ``linear``: centres linearly,
        orientations by slerp. Frames before the first key hold it, frames after the last
        hold the last. Interpolation runs in source frame numbers, so uneven strides are fine.

        Args:
            frames: K distinct source frame numbers (any order).
            world_from_cam: K×4×4 rigid float64, the pose at each key.
            interpolation: ``"smooth"`` or ``"linear"``.

        Raises:
            InputError / ShapeError: as :meth:`set_world_from_cam`, or an unknown interpolation.
        """
        if interpolation not in INTERPOLATIONS:
            raise InputError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}, got {interpolation!r}")
        numbers = self.frame_numbers
        indices = _frame_indices(frames, "frames", numbers)
        if len(indices) == 0:
            raise InputError("frames must name at least one keyframe, got none; pass e.g. frames=[first, last]")
        keys = _as_rigid(world_from_cam, "world_from_cam", count=len(indices))
        order = np.argsort(numbers[indices])
        key_times = numbers[indices][order].astype(np.float64)
        path = interpolate_path(key_times, keys[order], numbers.astype(np.float64), interpolation=interpolation)
        with self._recording(f"set {len(indices)} {interpolation} keyframe(s) on camera {self.name}"):
            self._author_world_from_cam(path, numbers)

    def reset(self) -> None:
        """Drop every opinion the edit layer holds on this camera: its path and lens are the reconstruction's again.

        Parent ``over`` specs left empty go too. With no opinion to drop, nothing is recorded.
        """
        layer = self._edit_layer()
        spec_path = self._stage.GetEditTarget().MapToSpecPath(Sdf.Path(self._path))
        if layer.GetPrimAtPath(spec_path) is None:
            return
        with self._recording(f"reset camera {self.name}"):
            remove_prim_spec(layer, spec_path)

    # ------------------------------------------------------------------------------ moves

    def orbit(
        self,
        degrees: float,
        *,
        pivot: Sequence[float] | np.ndarray | None = None,
        axis: str | Sequence[float] | np.ndarray = "up",
        frames: tuple[int, int] | None = None,
        ease: Literal["linear", "smooth"] = "linear",
    ) -> None:
        """Swing the camera around a pivot: by ``degrees`` at the end of the range, keeping its distance.

        Each frame's pose is rotated (position and orientation together) about the line through
        ``pivot`` along ``axis``, by ``weight × degrees``, so what the camera saw at the pivot
        it still sees there.

        Args:
            degrees: sweep at the end of the range; positive turns counter-clockwise seen from
                the tip of ``axis`` (right-hand rule).
            pivot: 3 world coordinates; default :meth:`look_at_point` of the range's first frame.
            axis: ``"up"`` (the stage's up axis, +Y for SceneForge scenes) or a 3-vector in world axes.
            frames: ``(start, end)`` source frame numbers of the move; default the whole shot.
            ease: ``"linear"`` or ``"smooth"``.

        Raises:
            InputError: non-finite values, a zero axis, unknown frames, no default pivot.
        """
        angle = math.radians(_finite(degrees, "degrees"))
        axis_in_world = self._axis(axis)
        numbers, weights = self._weights(frames, ease)
        centre = self._look_at(int(_frame_range(frames, numbers)[0])) if pivot is None else _point(pivot, "pivot")
        path = self._read_world_from_cam(numbers)
        for i, w in enumerate(weights):
            world_from_world = np.eye(4)
            rotation = rotation_about_axis(axis_in_world, w * angle)
            world_from_world[:3, :3] = rotation
            world_from_world[:3, 3] = centre - rotation @ centre
            path[i] = world_from_world @ path[i]
        with self._recording(
            f"orbit camera {self.name} by {degrees:g}° about {_vec_text(axis_in_world)} through {_vec_text(centre)}"
        ):
            self._author_world_from_cam(path, numbers)

    def dolly(
        self, distance: float, *, frames: tuple[int, int] | None = None, ease: Literal["linear", "smooth"] = "linear"
    ) -> None:
        """Move the camera along each frame's view direction by ``distance`` scene units at the end.

        Positive moves forward (along the camera's +Z), negative pulls back; orientations
        are kept. Each frame moves by ``weight × distance`` along its own view direction.

        Raises:
            InputError: non-finite distance, unknown frames.
        """
        self._dolly(distance, frames, ease, verb="dolly")

    def push_in(
        self, distance: float, *, frames: tuple[int, int] | None = None, ease: Literal["linear", "smooth"] = "linear"
    ) -> None:
        """Push in: :meth:`dolly` forward by ``distance`` scene units (negative pulls out)."""
        self._dolly(distance, frames, ease, verb="push in")

    def pan(
        self, degrees: float, *, frames: tuple[int, int] | None = None, ease: Literal["linear", "smooth"] = "linear"
    ) -> None:
        """Turn the camera about its own up axis; camera centres stay where they are.

        Positive ``degrees`` turn the view to the right (towards the image's +u), i.e. a
        right-hand rotation about the camera's +Y (down) axis, by ``weight × degrees``.

        Raises:
            InputError: non-finite degrees, unknown frames.
        """
        self._turn(degrees, np.array([0.0, 1.0, 0.0]), frames, ease, verb="pan")

    def tilt(
        self, degrees: float, *, frames: tuple[int, int] | None = None, ease: Literal["linear", "smooth"] = "linear"
    ) -> None:
        """Turn the camera about its own right axis; camera centres stay where they are.

        Positive ``degrees`` tilt the view up (towards the image's -v), i.e. a right-hand
        rotation about the camera's +X (right) axis, by ``weight × degrees``.

        Raises:
            InputError: non-finite degrees, unknown frames.
        """
        self._turn(degrees, np.array([1.0, 0.0, 0.0]), frames, ease, verb="tilt")

    def crane(
        self, height: float, *, frames: tuple[int, int] | None = None, ease: Literal["linear", "smooth"] = "linear"
    ) -> None:
        """Raise the camera along the world's up axis (+Y) by ``height`` scene units at the end.

        Orientations are kept; negative lowers it.

        Raises:
            InputError: non-finite height, unknown frames.
        """
        lift = _finite(height, "height")
        up = self._up()
        numbers, weights = self._weights(frames, ease)
        path = self._read_world_from_cam(numbers)
        path[:, :3, 3] += weights[:, None] * lift * up
        with self._recording(f"crane camera {self.name} by {lift:g}"):
            self._author_world_from_cam(path, numbers)

    def zoom(
        self, factor: float, *, frames: tuple[int, int] | None = None, ease: Literal["linear", "smooth"] = "linear"
    ) -> None:
        """Change the focal length: × ``factor`` at the end of the range (> 1 zooms in).

        Each frame's focal length is scaled by ``factor ** weight`` (an even zoom rate on
        screen), about the principal point, which stays put. Writes ``focalLength`` and the
        exact ``sceneforge:K`` as time samples at every frame, so :func:`read_camera_track`
        and :meth:`intrinsics` return the zoomed K exactly.

        Raises:
            InputError: a factor that is not a positive finite number, unknown frames.
        """
        scale = _finite(factor, "factor")
        if scale <= 0:
            raise InputError(f"factor must be positive (focal length × factor), got {factor}; pass e.g. 1.5 to zoom")
        numbers, weights = self._weights(frames, ease)
        camera = self._camera()
        times = [Usd.TimeCode(float(n)) for n in numbers]
        current = read_intrinsics(camera, times, None)
        h_aperture = camera.GetHorizontalApertureAttr()
        focal, k = [], []
        for time, intrinsics, w in zip(times, current, weights):
            s = scale**w
            # About the principal point: only fx, fy and the skew scale, so cx, cy stay exact.
            k_new = intrinsics.K.copy()
            k_new[0, :2] *= s
            k_new[1, 1] *= s
            # Focal length from the exact K and the stored aperture, so the reader finds the two agree.
            focal.append(float(k_new[0, 0] / intrinsics.width * float(h_aperture.Get(time))))
            k.append(Gf.Matrix3d(k_new.tolist()))
        with self._recording(f"zoom camera {self.name} by ×{scale:g}"):
            self._author_samples(camera.GetFocalLengthAttr(), times, focal)
            k_attr = camera.GetPrim().GetAttribute(ATTR_K)
            if not k_attr.IsValid():
                k_attr = camera.GetPrim().CreateAttribute(ATTR_K, Sdf.ValueTypeNames.Matrix3d, custom=True)
            self._author_samples(k_attr, times, k)

    def ken_burns(
        self,
        frame: int,
        *,
        num_frames: int | None = None,
        push_in: float | None = None,
        pan_deg: float = 0.0,
        ease: Literal["linear", "smooth"] = "linear",
    ) -> None:
        """A new path from one frame's pose: every frame starts there and slowly pushes in and pans.

        Frame k of the shot gets ``frame``'s pose moved forward along that pose's view
        direction by ``weight × push_in`` and turned right by ``weight × pan_deg``; the weight
        runs from 0 at the shot's first frame to 1 at its ``num_frames``-th frame and holds
        after. The shot keeps its frames (a scene's frame range is not an edit).

        Args:
            frame: source frame number whose pose the path starts from.
            num_frames: frames the move takes, from the shot's first frame (default: all).
            push_in: scene units forward at the end; default a tenth of the distance to
                :meth:`look_at_point` of ``frame``.
            pan_deg: degrees turned to the right at the end (see :meth:`pan`).
            ease: ``"linear"`` or ``"smooth"``.

        Raises:
            InputError: unknown frame, num_frames outside 1..N, non-finite values, no default push-in.
        """
        numbers = self.frame_numbers
        index = _frame_index(frame, "frame", numbers)
        count = len(numbers) if num_frames is None else _count(num_frames, "num_frames", len(numbers))
        ease = _ease(ease)
        turn = math.radians(_finite(pan_deg, "pan_deg"))
        base = self._read_world_from_cam(numbers[index : index + 1])[0]
        if push_in is None:
            look_at = self._look_at(int(numbers[index]))
            distance = _KEN_BURNS_PUSH_FRACTION * float(np.linalg.norm(look_at - base[:3, 3]))
        else:
            distance = _finite(push_in, "push_in")
        weights = ease_weights(numbers.astype(np.float64), float(numbers[0]), float(numbers[count - 1]), ease)
        path = np.repeat(base[None], len(numbers), axis=0)
        path[:, :3, 3] += weights[:, None] * distance * base[:3, 2]
        for i, w in enumerate(weights):
            path[i, :3, :3] = base[:3, :3] @ rotation_about_axis(np.array([0.0, 1.0, 0.0]), w * turn)
        with self._recording(
            f"Ken Burns on camera {self.name} from frame {int(numbers[index])}: push in {distance:g}, pan {pan_deg:g}°"
        ):
            self._author_world_from_cam(path, numbers)

    # ------------------------------------------------------------------------------ helpers

    def _prim(self) -> Usd.Prim:
        prim = self._stage.GetPrimAtPath(self._path)
        if not prim.IsValid():
            raise SceneFileError(f"expected a Camera prim at {self._path}, got nothing; was it removed?")
        return prim

    def _camera(self) -> UsdGeom.Camera:
        return UsdGeom.Camera(self._prim())

    def _edit_layer(self) -> Sdf.Layer:
        return self._stage.GetEditTarget().GetLayer()

    def _read_world_from_cam(self, numbers: np.ndarray) -> np.ndarray:
        return read_world_from_cam(self._camera(), [Usd.TimeCode(float(n)) for n in numbers])

    def _author_world_from_cam(self, world_from_cam: np.ndarray, numbers: np.ndarray) -> None:
        """Author the complete ``xformOp:transform`` sample set that composes to ``world_from_cam``."""
        xformable = UsdGeom.Xformable(self._prim())
        times = [Usd.TimeCode(float(n)) for n in numbers]
        values = []
        for time, pose in zip(times, world_from_cam):
            world_from_parent = transform_from_gf(xformable.ComputeParentToWorldTransform(time))
            # A general solve: an edit may have scaled /World/Cameras, so the parent need not be rigid.
            parent_from_usdcam = np.linalg.solve(world_from_parent, world_from_glcam(pose))
            values.append(gf_from_transform(parent_from_usdcam))
        ops = xformable.GetOrderedXformOps()
        if xformable.GetResetXformStack() or [op.GetOpName() for op in ops] != [TRANSFORM_OP]:
            # Something else stacked ops on the camera; one matrix op is what the samples describe.
            xformable.MakeMatrixXform()
        self._author_samples(self._prim().GetAttribute(TRANSFORM_OP), times, values)
        log.debug("%s: authored %d transform samples", self._path, len(values))

    def _author_samples(self, attr: Usd.Attribute, times: list[Usd.TimeCode], values: list[Any]) -> None:
        """Replace the edit target's opinion on ``attr`` by one time sample per time."""
        attr.Clear()  # at the edit target only: drops samples a previous edit left at other times
        for time, value in zip(times, values):
            attr.Set(value, time)

    def _weights(self, frames: object, ease: object) -> tuple[np.ndarray, np.ndarray]:
        """Frame numbers and each one's progress through the move."""
        numbers = self.frame_numbers
        start, end = _frame_range(frames, numbers)
        return numbers, ease_weights(numbers.astype(np.float64), start, end, _ease(ease))

    def _up(self) -> np.ndarray:
        up = np.zeros(3)
        up["XYZ".index(str(UsdGeom.GetStageUpAxis(self._stage)))] = 1.0
        return up

    def _axis(self, axis: object) -> np.ndarray:
        if isinstance(axis, str):
            if axis != "up":
                raise InputError(f"axis must be 'up' or a 3-vector in world axes, got {axis!r}")
            return self._up()
        vector = _point(axis, "axis")
        length = float(np.linalg.norm(vector))
        if length < 1e-12:
            raise InputError(f"axis must be a non-zero 3-vector, got {_vec_text(vector)}; pass e.g. (0, 1, 0)")
        return vector / length

    def _dolly(self, distance: float, frames: object, ease: object, *, verb: str) -> None:
        step = _finite(distance, "distance")
        numbers, weights = self._weights(frames, ease)
        path = self._read_world_from_cam(numbers)
        path[:, :3, 3] += (weights * step)[:, None] * path[:, :3, 2]
        with self._recording(f"{verb} camera {self.name} by {step:g}"):
            self._author_world_from_cam(path, numbers)

    def _turn(self, degrees: float, axis_in_cam: np.ndarray, frames: object, ease: object, *, verb: str) -> None:
        angle = math.radians(_finite(degrees, "degrees"))
        numbers, weights = self._weights(frames, ease)
        path = self._read_world_from_cam(numbers)
        for i, w in enumerate(weights):
            path[i, :3, :3] = path[i, :3, :3] @ rotation_about_axis(axis_in_cam, w * angle)
        with self._recording(f"{verb} camera {self.name} by {degrees:g}°"):
            self._author_world_from_cam(path, numbers)

    def _look_at(self, number: int) -> np.ndarray:
        time = Usd.TimeCode(float(number))
        world_from_cam = self._read_world_from_cam(np.array([number]))[0]
        centre, view = world_from_cam[:3, 3], world_from_cam[:3, 2]
        depth = self._median_point_depth(world_from_cam, number)
        if depth is None:
            world = self._stage.GetPrimAtPath(WORLD_PATH)
            root = world if world.IsValid() else self._stage.GetPseudoRoot()
            cache = UsdGeom.BBoxCache(time, [UsdGeom.Tokens.default_, UsdGeom.Tokens.render])
            box = cache.ComputeWorldBound(root).ComputeAlignedRange()
            if not box.IsEmpty():
                along = float(np.dot(np.array(box.GetMidpoint()) - centre, view))
                depth = along if along > 0 else None
        if depth is None:
            raise InputError(
                f"expected sparse points or geometry in front of camera {self.name} at frame {number} to find "
                "the point it looks at, got none; pass pivot=(x, y, z) (or push_in=) in scene units"
            )
        return centre + depth * view

    def _median_point_depth(self, world_from_cam: np.ndarray, number: int) -> float | None:
        """Median z-depth of the sparse points that project inside the frame, or None."""
        points = UsdGeom.Points(self._stage.GetPrimAtPath(POINTS_PATH))
        if not points or not points.GetPrim().IsActive():
            return None
        time = Usd.TimeCode(float(number))
        positions = points.GetPointsAttr().Get(time)
        if positions is None or len(positions) == 0:
            return None
        world_from_points = transform_from_gf(points.ComputeLocalToWorldTransform(time))
        points_in_world = transform_points(world_from_points, np.asarray(positions, dtype=np.float64).reshape(-1, 3))
        points_in_cam = transform_points(invert_rigid(world_from_cam), points_in_world)
        intrinsics = read_intrinsics(self._camera(), [time], None)[0]
        with np.errstate(invalid="ignore"):
            uv = intrinsics.project(points_in_cam)
            inside = (
                (points_in_cam[:, 2] > 0)
                & (uv[:, 0] >= 0)
                & (uv[:, 0] <= intrinsics.width)
                & (uv[:, 1] >= 0)
                & (uv[:, 1] <= intrinsics.height)
            )
        if not np.any(inside):
            return None
        return float(np.median(points_in_cam[inside, 2]))


# ---------------------------------------------------------------------------------- validation


def _frame_index(frame: object, name: str, numbers: np.ndarray) -> int:
    """Index in ``numbers`` of the source frame number ``frame``."""
    number = _integer(frame, name)
    index = int(np.searchsorted(numbers, number))
    if index >= len(numbers) or numbers[index] != number:
        raise InputError(
            f"{name} must be one of the shot's source frame numbers ({_frames_text(numbers)}), got {number}; "
            "see camera.frame_numbers"
        )
    return index


def _frame_indices(frames: object, name: str, numbers: np.ndarray) -> np.ndarray:
    """Indices in ``numbers`` of distinct source frame numbers."""
    if isinstance(frames, (str, bytes)) or not isinstance(frames, (Sequence, np.ndarray)):
        raise InputError(f"{name} must be a sequence of source frame numbers, got {type(frames).__name__}")
    given = list(np.asarray(frames).reshape(-1))
    indices = np.array([_frame_index(f, name, numbers) for f in given], dtype=np.int64)
    if len(np.unique(indices)) != len(indices):
        raise InputError(f"{name} must not repeat a frame, got {[int(numbers[i]) for i in indices]}")
    return indices


def _frame_range(frames: object, numbers: np.ndarray) -> tuple[int, int]:
    """``(start, end)`` source frame numbers of a move; the whole shot for None."""
    if frames is None:
        return int(numbers[0]), int(numbers[-1])
    if isinstance(frames, (str, bytes)) or not isinstance(frames, (Sequence, np.ndarray)) or len(frames) != 2:
        raise InputError(f"frames must be (start, end) source frame numbers or None (whole shot), got {frames!r}")
    start = int(numbers[_frame_index(frames[0], "frames start", numbers)])
    end = int(numbers[_frame_index(frames[1], "frames end", numbers)])
    if end < start:
        raise InputError(f"frames must be (start, end) with start <= end, got ({start}, {end})")
    return start, end


def _finite(value: object, name: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise InputError(f"{name} must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise InputError(f"{name} must be finite, got {number}")
    return number


def _integer(value: object, name: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise InputError(f"{name} must be a source frame number (int), got {type(value).__name__}")
    if not (math.isfinite(float(value)) and float(value) == int(value)):
        raise InputError(f"{name} must be a whole source frame number, got {value}")
    return int(value)


def _count(value: object, name: str, most: int) -> int:
    count = _integer(value, name)
    if not 1 <= count <= most:
        raise InputError(
            f"{name} must be between 1 and the shot's {most} frames, got {count}; a scene's frame range is not an edit"
        )
    return count


def _ease(ease: object) -> Literal["linear", "smooth"]:
    if ease not in EASES:
        raise InputError(f"ease must be one of {', '.join(EASES)}, got {ease!r}")
    return ease  # type: ignore[return-value]


def _point(value: object, name: str) -> np.ndarray:
    try:
        vector = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be 3 numbers (x, y, z), got {value!r}") from None
    if vector.shape != (3,):
        raise InputError(f"{name} must be 3 numbers (x, y, z), got shape {vector.shape}")
    if not np.all(np.isfinite(vector)):
        raise InputError(f"{name} must be finite, got {_vec_text(vector)}")
    return vector


def _as_rigid(value: object, name: str, *, count: int) -> np.ndarray:
    """``count``×4×4 float64 rigid transforms (a single 4×4 is accepted for ``count == 1``)."""
    try:
        matrices = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be {count}×4×4 numbers, got {type(value).__name__}") from None
    if matrices.shape == (4, 4) and count == 1:
        matrices = matrices[None]
    if matrices.shape != (count, 4, 4):
        raise InputError(
            f"{name} must have shape {count}×4×4 (one pose per frame), got {matrices.shape}; "
            "pass world_from_cam matrices in OpenCV camera axes"
        )
    return check_rigid(matrices, name, batched=True)


def _frames_text(numbers: np.ndarray) -> str:
    if len(numbers) == 1:
        return str(int(numbers[0]))
    step = np.unique(np.diff(numbers))
    stride = f" step {int(step[0])}" if len(step) == 1 and step[0] != 1 else ("" if len(step) == 1 else ", uneven")
    return f"{int(numbers[0])}..{int(numbers[-1])}{stride}"


def _vec_text(vector: np.ndarray) -> str:
    return "(" + ", ".join(f"{float(v):.4g}" for v in vector) + ")"
