"""Camera types: intrinsics, a per-frame camera track, sparse points and the solve report.

Conventions (DESIGN.md): camera axes are OpenCV (+X right, +Y down, +Z forward);
``K`` is ``image_from_cam`` in pixels, the centre of pixel (row i, col j) being at
``(j + 0.5, i + 0.5)``; poses are ``world_from_cam`` 4×4 float64.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import numpy as np

from ._check import check_array, index_of_frame
from ._errors import InputError
from ._transforms import check_rigid, invert_rigid

__all__ = ["Intrinsics", "FrameStatus", "SparsePoints", "SolveReport", "CameraTrack"]


@dataclass(frozen=True, eq=False)
class Intrinsics:
    """Pinhole intrinsics with optional radial distortion.

    Attributes:
        K: 3×3 float64 ``image_from_cam`` in pixels, ``[[fx, s, cx], [0, fy, cy], [0, 0, 1]]``.
        width: image width in pixels.
        height: image height in pixels.
        radial: radial distortion ``(k1, k2)`` applied to normalised coordinates
            (``x_d = x (1 + k1 r² + k2 r⁴)``, COLMAP's RADIAL model); zeros for none.
    """

    K: np.ndarray
    width: int
    height: int
    radial: np.ndarray = field(default_factory=lambda: np.zeros(2))

    def __post_init__(self) -> None:
        k = check_array(self.K, "K", shape=(3, 3), dtype=(np.float64, np.float32), finite=True)
        k = k.astype(np.float64)
        if not (k[0, 0] > 0 and k[1, 1] > 0 and np.allclose(k[2], [0, 0, 1]) and k[1, 0] == 0 and k[2, 0] == 0):
            raise InputError(
                "K must be upper triangular with positive fx, fy and last row 0 0 1, "
                f"got {np.array2string(k, precision=3, separator=',').replace(chr(10), '')}"
            )
        if int(self.width) <= 0 or int(self.height) <= 0:
            raise InputError(f"width and height must be positive pixels, got {self.width}×{self.height}")
        radial = np.asarray(self.radial, dtype=np.float64).reshape(-1)
        if radial.shape != (2,) or not np.all(np.isfinite(radial)):
            raise InputError(f"radial must be 2 finite coefficients (k1, k2), got {radial}")
        k.setflags(write=False)
        radial.setflags(write=False)
        object.__setattr__(self, "K", k)
        object.__setattr__(self, "radial", radial)
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))

    @classmethod
    def from_focal(
        cls, *, focal_px: float, width: int, height: int, cx: float | None = None, cy: float | None = None
    ) -> Intrinsics:
        """Square-pixel intrinsics; the principal point defaults to the image centre."""
        cx = width / 2.0 if cx is None else cx
        cy = height / 2.0 if cy is None else cy
        k = np.array([[focal_px, 0.0, cx], [0.0, focal_px, cy], [0.0, 0.0, 1.0]])
        return cls(K=k, width=width, height=height)

    @property
    def fx(self) -> float:
        return float(self.K[0, 0])

    @property
    def fy(self) -> float:
        return float(self.K[1, 1])

    @property
    def cx(self) -> float:
        return float(self.K[0, 2])

    @property
    def cy(self) -> float:
        return float(self.K[1, 2])

    @property
    def has_distortion(self) -> bool:
        return bool(np.any(self.radial != 0))

    def horizontal_fov_rad(self) -> float:
        """Horizontal field of view in radians (of the undistorted pinhole)."""
        return float(2.0 * np.arctan2(self.width / 2.0, self.fx))

    def scaled(self, factor: float) -> Intrinsics:
        """Intrinsics of the same camera for an image resized by ``factor`` (pixel-centre exact)."""
        s = np.diag([factor, factor, 1.0])
        width, height = int(round(self.width * factor)), int(round(self.height * factor))
        return Intrinsics(K=s @ self.K, width=width, height=height, radial=self.radial)

    def _distort(self, xy: np.ndarray) -> np.ndarray:
        if not self.has_distortion:
            return xy
        r2 = np.sum(xy * xy, axis=-1, keepdims=True)
        return xy * (1.0 + self.radial[0] * r2 + self.radial[1] * r2 * r2)

    def _undistort(self, xy_d: np.ndarray) -> np.ndarray:
        if not self.has_distortion:
            return xy_d
        xy = xy_d.copy()
        for _ in range(20):  # fixed point: converges for the mild distortion video lenses have
            r2 = np.sum(xy * xy, axis=-1, keepdims=True)
            xy = xy_d / (1.0 + self.radial[0] * r2 + self.radial[1] * r2 * r2)
        return xy

    def project(self, points_in_cam: np.ndarray) -> np.ndarray:
        """Project N×3 camera-frame points to N×2 pixel coordinates (u right, v down).

        Points with ``z <= 0`` give non-finite pixels.
        """
        p = check_array(np.asarray(points_in_cam, dtype=np.float64), "points_in_cam", shape=(None, 3))
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(p[:, 2:3] > 0, p[:, 2:3], np.nan)
            xy = self._distort(p[:, :2] / z)
        uv = xy @ self.K[:2, :2].T + self.K[:2, 2]
        return uv

    def unproject(self, pixels: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """Lift N×2 pixels with N z-depths (along +Z, not ray length) to N×3 camera-frame points."""
        uv = check_array(np.asarray(pixels, dtype=np.float64), "pixels", shape=(None, 2))
        z = np.asarray(depth, dtype=np.float64).reshape(-1, 1)
        if z.shape[0] != uv.shape[0]:
            raise InputError(f"depth must have one value per pixel ({uv.shape[0]}), got {z.shape[0]}")
        xy_d = np.linalg.solve(self.K[:2, :2], (uv - self.K[:2, 2]).T).T
        xy = self._undistort(xy_d)
        return np.concatenate([xy * z, z], axis=1)

    def to_dict(self) -> dict[str, Any]:
        return {"K": self.K.tolist(), "width": self.width, "height": self.height, "radial": self.radial.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Intrinsics:
        return cls(
            K=np.array(data["K"], dtype=np.float64),
            width=int(data["width"]),
            height=int(data["height"]),
            radial=np.array(data.get("radial", [0.0, 0.0]), dtype=np.float64),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Intrinsics):
            return NotImplemented
        return (
            self.width == other.width
            and self.height == other.height
            and np.array_equal(self.K, other.K)
            and np.array_equal(self.radial, other.radial)
        )

    def __hash__(self) -> int:
        return hash((self.width, self.height, self.K.tobytes(), self.radial.tobytes()))


class FrameStatus(IntEnum):
    """How a frame got its camera."""

    SOLVED = 0
    """Registered by the structure-from-motion solve (a keyframe)."""
    LOCALIZED = 1
    """Localized against the solved map (absolute pose + refinement)."""
    INTERPOLATED = 2
    """Neither: interpolated from its neighbours; treat with care."""


@dataclass(frozen=True, eq=False)
class SparsePoints:
    """Sparse 3D points of a camera solve.

    Attributes:
        points_in_world: N×3 float64.
        colors: N×3 uint8 RGB.
        error_px: N float64 mean reprojection error of each point in pixels.
    """

    points_in_world: np.ndarray
    colors: np.ndarray
    error_px: np.ndarray

    def __post_init__(self) -> None:
        pts = check_array(self.points_in_world, "points_in_world", shape=(None, 3), dtype=np.float64, finite=True)
        n = pts.shape[0]
        check_array(self.colors, "colors", shape=(n, 3), dtype=np.uint8)
        check_array(self.error_px, "error_px", shape=(n,), dtype=np.float64)

    def __len__(self) -> int:
        return int(self.points_in_world.shape[0])

    @classmethod
    def empty(cls) -> SparsePoints:
        return cls(np.zeros((0, 3)), np.zeros((0, 3), np.uint8), np.zeros(0))


@dataclass(frozen=True)
class SolveReport:
    """What a camera solve did and how good it is.

    Attributes:
        backend: name of the solver backend.
        num_frames: number of input frames.
        num_solved / num_localized / num_interpolated: frames by :class:`FrameStatus`.
        mean_error_px: mean over frames of each frame's mean reprojection error, in pixels
            (solved and localized frames).
        max_error_px: the worst frame's mean reprojection error, in pixels.
        flags: fallbacks taken, e.g. ``"rotation_only"``, ``"largest_component"``,
            ``"fixed_intrinsics"``.
        messages: one-line explanations for a person.
        timings_secs: wall-clock seconds per stage.
        per_frame_error_px: mean reprojection error per frame (NaN where none).
    """

    backend: str
    num_frames: int
    num_solved: int
    num_localized: int
    num_interpolated: int
    mean_error_px: float
    max_error_px: float
    flags: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()
    timings_secs: dict[str, float] = field(default_factory=dict)
    per_frame_error_px: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["flags"] = list(self.flags)
        data["messages"] = list(self.messages)
        data["per_frame_error_px"] = [None if not np.isfinite(e) else round(float(e), 4) for e in self.per_frame_error_px]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SolveReport:
        data = dict(data)
        data["flags"] = tuple(data.get("flags", ()))
        data["messages"] = tuple(data.get("messages", ()))
        data["per_frame_error_px"] = tuple(np.nan if e is None else float(e) for e in data.get("per_frame_error_px", ()))
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True, eq=False)
class CameraTrack:
    """One camera per frame of a shot.

    Attributes:
        intrinsics: one :class:`Intrinsics` per frame (the same object repeated for a
            single camera).
        world_from_cam: N×4×4 float64 rigid poses.
        frame_numbers: N int64 source frame numbers (the USD time codes).
        fps: frames per second of the source.
        status: N int8 :class:`FrameStatus` values.
        points: sparse points of the solve.
        report: the solve report, when this track came from a solve.
    """

    intrinsics: tuple[Intrinsics, ...]
    world_from_cam: np.ndarray
    frame_numbers: np.ndarray
    fps: float
    status: np.ndarray
    points: SparsePoints = field(default_factory=SparsePoints.empty)
    report: SolveReport | None = None

    def __post_init__(self) -> None:
        poses = check_rigid(self.world_from_cam, "world_from_cam", batched=True)
        n = poses.shape[0]
        if n == 0:
            raise InputError("a camera track needs at least one frame, got 0")
        intrinsics = tuple(self.intrinsics)
        if len(intrinsics) != n or not all(isinstance(i, Intrinsics) for i in intrinsics):
            raise InputError(f"intrinsics must be {n} Intrinsics (one per frame), got {len(intrinsics)}")
        numbers = check_array(self.frame_numbers, "frame_numbers", shape=(n,), dtype=(np.int64, np.int32))
        if n > 1 and not np.all(np.diff(numbers) > 0):
            raise InputError("frame_numbers must be strictly increasing")
        status = check_array(self.status, "status", shape=(n,), dtype=(np.int8, np.int64, np.int32))
        if not np.isfinite(self.fps) or self.fps <= 0:
            raise InputError(f"fps must be positive, got {self.fps}")
        object.__setattr__(self, "intrinsics", intrinsics)
        object.__setattr__(self, "world_from_cam", poses)
        object.__setattr__(self, "frame_numbers", numbers.astype(np.int64))
        object.__setattr__(self, "status", status.astype(np.int8))
        object.__setattr__(self, "fps", float(self.fps))

    def __len__(self) -> int:
        return int(self.world_from_cam.shape[0])

    @property
    def single_camera(self) -> bool:
        """True when every frame shares the same intrinsics."""
        first = self.intrinsics[0]
        return all(i == first for i in self.intrinsics[1:])

    def camera_centers(self) -> np.ndarray:
        """N×3 camera centres in world coordinates."""
        return self.world_from_cam[:, :3, 3].copy()

    def cam_from_world(self) -> np.ndarray:
        """N×4×4 inverses of :attr:`world_from_cam`."""
        return invert_rigid(self.world_from_cam)

    def index_of(self, frame_number: int) -> int:
        """The frame index (position in this track) of source frame ``frame_number``.

        Raises:
            InputError: the track has no such frame.
        """
        return index_of_frame(self.frame_numbers, frame_number)

    def replace(self, **changes: Any) -> CameraTrack:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)
