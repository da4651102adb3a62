"""Feed-forward camera solve with VGGT (Visual Geometry Grounded Transformer, Wang et al. 2025).

The adapter follows the documented contract of the official ``vggt`` package (installed by
users from github.com/facebookresearch/vggt; it is not on PyPI):

- ``from vggt.models.vggt import VGGT``; ``model(images)`` takes ``S×3×H×W`` (or
  ``B×S×3×H×W``) float images in [0, 1] whose sides are multiples of 14 (518 wide in its
  ``crop`` preprocessing) and returns a dict with ``pose_enc`` ``[B, S, 9]`` (translation 3,
  quaternion 4 *scalar last* ``xyzw``, ``fov_h``, ``fov_w``), ``depth`` ``[B, S, H, W, 1]``,
  ``depth_conf`` ``[B, S, H, W]`` (``1 + exp(x)``, so ≥ 1), ``world_points`` and
  ``world_points_conf``.
- The encoding is of OpenCV ``cam_from_world`` extrinsics, the first frame of each call being
  the world origin, and of intrinsics with the principal point at the image centre and
  ``fy = (H / 2) / tan(fov_h / 2)``, ``fx = (W / 2) / tan(fov_w / 2)``
  (``vggt/utils/pose_enc.py`` and ``vggt/utils/rotation.py``). We decode it ourselves
  (:func:`decode_pose_encoding`) so that nothing depends on ``vggt.utils``.

What users ask of VGGT most, and this solver adds:

- long clips in overlapping chunks (``chunk_size``, ``overlap``), each chunk put into the
  first chunk's world by a similarity fitted (trimmed Umeyama) to the overlapping frames'
  confident depth points and camera centres — the same frame seen by two chunks gives
  pixel-exact correspondences. Only small per-frame results survive a chunk (pose, K, a
  depth map subsampled by 4, the depth at the frame's feature tracks), so memory stays flat
  in the clip's length;
- a bundle adjustment (pycolmap) of the cameras on Lucas–Kanade feature tracks whose 3-D
  points start from the network's depth, to sub-pixel reprojection error; one camera for the
  clip or one per frame, known intrinsics (``intrinsics`` / ``focal_px``, which the network
  cannot take) held fixed;
- ``ignore_masks``: no track and no point on masked (moving) pixels;
- a normal :class:`CameraTrack`: +Y up (:func:`align_world`, as the COLMAP solver), sparse
  points with colours, a :class:`SolveReport` with reprojection errors. The scale is the
  network's (about the first chunk's scene size); metric scale is the pipeline's business.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from sceneforge.scenegraph import (
    CameraTrack,
    DependencyError,
    Frames,
    FrameStatus,
    InputError,
    Intrinsics,
    ShapeError,
    Similarity,
    SolveError,
    SolveReport,
    SparsePoints,
    invert_rigid,
    similarity_from_points,
)

from .._neural import (
    DEVICES,
    PRECISIONS,
    Device,
    Precision,
    check_choice,
    load_state_dict,
    memory_guard,
    pick_device,
    pick_dtype,
    require,
    resolve_model,
)
from .._progress import ProgressFn
from ._colmap import _COLMAP_MODEL, _per_frame_masks
from ._keyframe_map import intrinsics_from_colmap
from ._solver import CameraSolveConfig
from ._world import align_world

__all__ = ["VGGTSolverConfig", "VGGTSolver", "decode_pose_encoding", "quat_xyzw_to_rotation", "rotation_to_quat_xyzw"]

log = logging.getLogger(__name__)

VGGT_HINT = (
    "install the official package with pip install git+https://github.com/facebookresearch/vggt "
    "and give a checkpoint (facebook/VGGT-1B: a .safetensors/.pt file, a folder, or the repo id in your cache)"
)
"""How a user gets VGGT: the package from its repository and a checkpoint."""

PATCH = 14
"""VGGT's patch size: both sides of its input must be multiples of it."""

KEEP_STRIDE = 4
"""Per-frame depth kept between chunks (for stitching) is the network's, subsampled by this."""


# -- the pose encoding ------------------------------------------------------------------------


def quat_xyzw_to_rotation(quat_xyzw: np.ndarray) -> np.ndarray:
    """Rotation matrices of quaternions stored *scalar last* ``(x, y, z, w)`` (VGGT's order).

    Args:
        quat_xyzw: ``…×4``; need not be normalised (it is, here).

    Returns:
        ``…×3×3`` float64 rotation matrices.
    """
    q = np.asarray(quat_xyzw, dtype=np.float64)
    if q.shape[-1] != 4:
        raise ShapeError(f"quaternions must be …×4 (x, y, z, w), got {q.shape}", expected=(None, 4), actual=q.shape)
    q = q / np.linalg.norm(q, axis=-1, keepdims=True)
    x, y, z, w = np.moveaxis(q, -1, 0)
    rot = np.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
            2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
            2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
        ],
        axis=-1,
    )
    return rot.reshape(q.shape[:-1] + (3, 3))


def rotation_to_quat_xyzw(rotation: np.ndarray) -> np.ndarray:
    """Scalar-last unit quaternions ``(x, y, z, w)`` with ``w ≥ 0`` of ``…×3×3`` rotations."""
    r = np.asarray(rotation, dtype=np.float64)
    flat = r.reshape(-1, 3, 3)
    out = np.empty((flat.shape[0], 4))
    for i, m in enumerate(flat):
        # Shepperd's method: take the largest of the four squared components for stability.
        tr = np.trace(m)
        cand = np.array([1 + tr, 1 + m[0, 0] - m[1, 1] - m[2, 2], 1 - m[0, 0] + m[1, 1] - m[2, 2], 1 - m[0, 0] - m[1, 1] + m[2, 2]])
        k = int(np.argmax(cand))
        s = 2.0 * np.sqrt(max(cand[k], 1e-300))
        if k == 0:
            q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, s / 4]
        elif k == 1:
            q = [s / 4, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s, (m[2, 1] - m[1, 2]) / s]
        elif k == 2:
            q = [(m[0, 1] + m[1, 0]) / s, s / 4, (m[1, 2] + m[2, 1]) / s, (m[0, 2] - m[2, 0]) / s]
        else:
            q = [(m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, s / 4, (m[1, 0] - m[0, 1]) / s]
        q = np.asarray(q)
        out[i] = -q if q[3] < 0 else q
    return out.reshape(r.shape[:-2] + (4,))


def decode_pose_encoding(pose_enc: np.ndarray, *, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """VGGT's ``absT_quaR_FoV`` pose encoding to OpenCV cameras.

    Args:
        pose_enc: ``…×9``: ``cam_from_world`` translation (3), rotation as a scalar-last
            quaternion ``xyzw`` (4), vertical and horizontal field of view ``fov_h, fov_w``
            in radians.
        height, width: the network input's size in pixels (the fields of view are of it).

    Returns:
        ``(cam_from_world …×4×4 float64, K …×3×3 float64)``; K has
        ``fx = (W/2)/tan(fov_w/2)``, ``fy = (H/2)/tan(fov_h/2)`` and the principal point at
        the image centre ``(W/2, H/2)`` (pixel centres at +0.5, our convention too).
    """
    enc = np.asarray(pose_enc, dtype=np.float64)
    if enc.shape[-1] != 9:
        raise ShapeError(f"a VGGT pose encoding is …×9, got {enc.shape}", expected=(None, 9), actual=enc.shape)
    cam_from_world = np.zeros(enc.shape[:-1] + (4, 4))
    cam_from_world[..., :3, :3] = quat_xyzw_to_rotation(enc[..., 3:7])
    cam_from_world[..., :3, 3] = enc[..., :3]
    cam_from_world[..., 3, 3] = 1.0
    k = np.zeros(enc.shape[:-1] + (3, 3))
    k[..., 0, 0] = (width / 2.0) / np.tan(enc[..., 8] / 2.0)
    k[..., 1, 1] = (height / 2.0) / np.tan(enc[..., 7] / 2.0)
    k[..., 0, 2] = width / 2.0
    k[..., 1, 2] = height / 2.0
    k[..., 2, 2] = 1.0
    return cam_from_world, k


# -- the network's pixel grid -----------------------------------------------------------------


@dataclass(frozen=True)
class NetworkGrid:
    """How frames map onto the network's input (VGGT's ``crop`` preprocessing, our own code).

    A frame ``width × height`` is resized to ``net_width = resolution`` wide and
    ``resized_height = round(height · resolution / width / 14) · 14`` high (the aspect is kept
    up to the rounding; ``sx``, ``sy`` are the two resize factors), then, when that is higher
    than ``max_height``, rows are centre-cropped from ``top``. A frame pixel ``(u, v)`` (pixel
    centres at +0.5) lands at ``(sx·u, sy·v − top)`` in the network's image.
    """

    width: int
    height: int
    net_width: int
    net_height: int
    resized_height: int
    top: int

    @classmethod
    def plan(cls, width: int, height: int, resolution: int) -> NetworkGrid:
        if resolution % PATCH or resolution < PATCH:
            raise InputError(f"resolution must be a positive multiple of {PATCH} pixels, got {resolution}")
        resized = max(PATCH, int(round(height * resolution / width / PATCH)) * PATCH)
        net_height = min(resized, resolution)
        return cls(width, height, resolution, net_height, resized, (resized - net_height) // 2)

    @property
    def sx(self) -> float:
        return self.net_width / self.width

    @property
    def sy(self) -> float:
        return self.resized_height / self.height

    def images(self, images: np.ndarray) -> np.ndarray:
        """S×H×W×3 uint8 frames to the network's S×3×h×w float32 input in [0, 1]."""
        import cv2

        shrink = self.net_width < self.width
        out = np.empty((len(images), 3, self.net_height, self.net_width), np.float32)
        for i, image in enumerate(images):
            resized = cv2.resize(
                image, (self.net_width, self.resized_height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
            )
            crop = resized[self.top : self.top + self.net_height]
            out[i] = np.clip(crop.astype(np.float32) / 255.0, 0.0, 1.0).transpose(2, 0, 1)
        return out

    def to_network(self, pixels: np.ndarray) -> np.ndarray:
        """N×2 frame pixels to the network image's pixels."""
        p = np.asarray(pixels, dtype=np.float64)
        return np.stack([p[:, 0] * self.sx, p[:, 1] * self.sy - self.top], axis=1)

    def from_network(self, pixels: np.ndarray) -> np.ndarray:
        """N×2 network-image pixels to the frame's pixels."""
        p = np.asarray(pixels, dtype=np.float64)
        return np.stack([p[:, 0] / self.sx, (p[:, 1] + self.top) / self.sy], axis=1)

    def k_to_frame(self, k_net: np.ndarray) -> np.ndarray:
        """…×3×3 intrinsics of the network image to those of the frame (exact for the affine map)."""
        frame_from_net = np.array([[1 / self.sx, 0, 0], [0, 1 / self.sy, self.top / self.sy], [0, 0, 1.0]])
        return frame_from_net @ np.asarray(k_net, dtype=np.float64)

    def k_to_network(self, k_frame: np.ndarray) -> np.ndarray:
        net_from_frame = np.array([[self.sx, 0, 0], [0, self.sy, -self.top], [0, 0, 1.0]])
        return net_from_frame @ np.asarray(k_frame, dtype=np.float64)

    def map_to_frame(self, values: np.ndarray) -> np.ndarray:
        """An h×w map on the network grid to the frame's H×W grid (bilinear; 0 outside the crop
        and wherever a 0 of the map would be blended in, so invalid depth never smears)."""
        import cv2

        full = np.zeros((self.resized_height, self.net_width), np.float32)
        full[self.top : self.top + self.net_height] = values
        valid = np.zeros_like(full)
        valid[self.top : self.top + self.net_height] = values > 0
        size = (self.width, self.height)
        out = cv2.resize(full, size, interpolation=cv2.INTER_LINEAR)
        ok = cv2.resize(valid, size, interpolation=cv2.INTER_LINEAR) > 0.999
        return np.where(ok, out, 0.0).astype(np.float32)

    def sample(self, values: np.ndarray, pixels_net: np.ndarray) -> np.ndarray:
        """Bilinear samples of an h×w map at N×2 network pixels (0 outside or next to a 0)."""
        h, w = values.shape
        x = pixels_net[:, 0] - 0.5
        y = pixels_net[:, 1] - 0.5
        x0 = np.floor(x).astype(np.int64)
        y0 = np.floor(y).astype(np.int64)
        inside = (x0 >= 0) & (y0 >= 0) & (x0 + 1 < w) & (y0 + 1 < h)
        out = np.zeros(len(x), np.float64)
        if not inside.any():
            return out
        xi, yi = x0[inside], y0[inside]
        fx, fy = x[inside] - xi, y[inside] - yi
        v00, v01 = values[yi, xi], values[yi, xi + 1]
        v10, v11 = values[yi + 1, xi], values[yi + 1, xi + 1]
        blend = (1 - fy) * ((1 - fx) * v00 + fx * v01) + fy * ((1 - fx) * v10 + fx * v11)
        ok = (v00 > 0) & (v01 > 0) & (v10 > 0) & (v11 > 0)
        out[inside] = np.where(ok, blend, 0.0)
        return out


def normalised_confidence(conf: np.ndarray) -> np.ndarray:
    """VGGT's confidences (``1 + exp(x)``, ≥ 1, unbounded) to [0, 1): ``1 − 1/conf``.

    A raw confidence of 2 gives 0.5, 5 (the threshold of VGGT's own COLMAP export) 0.8.
    """
    c = np.asarray(conf, dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 1.0 - 1.0 / np.maximum(c, 1.0)
    return np.where(np.isfinite(out), out, 0.0).astype(np.float32)


# -- the network ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkPrediction:
    """One forward pass, on the network grid, in that call's own world (its first frame).

    Attributes:
        cam_from_world: S×4×4 float64.
        K: S×3×3 float64 intrinsics of the network image.
        depth: S×h×w float32 z-depth (0 = none).
        confidence: S×h×w float32 in [0, 1] (:func:`normalised_confidence`).
    """

    cam_from_world: np.ndarray
    K: np.ndarray
    depth: np.ndarray
    confidence: np.ndarray


def check_vggt(model: str | None, *, allow_download: bool, flag: str) -> None:
    """What :class:`VGGTNetwork` needs, checked without loading anything: the official package
    and the checkpoint (a file that exists, or a folder / cached repo id holding
    ``model.safetensors``), so that a run fails before any work.

    Raises:
        DependencyError: torch or the vggt package is not installed.
        InputError: no model, a missing checkpoint file, or a repo id not in the cache.
    """
    require("torch", what=VGGTNetwork.what, hint=VGGT_HINT)
    try:
        import vggt.models.vggt  # noqa: F401
    except ImportError as error:
        raise _missing_package(error) from error
    text = "" if model is None else str(model).strip()
    path = Path(text).expanduser()
    if text and path.suffix in (".safetensors", ".pt", ".pth", ".bin"):
        if not path.is_file():
            raise InputError(f"{VGGTNetwork.what}: checkpoint {path} does not exist")
        return
    resolve_model(model, what=VGGTNetwork.what, flag=flag, allow_download=allow_download,
                  marker="model.safetensors", example="facebook/VGGT-1B")


class VGGTNetwork:
    """The VGGT model loaded under the project's rules, run one chunk at a time.

    ``model`` is a checkpoint file (``.safetensors``, or ``.pt``/``.pth`` read with
    ``weights_only=True``) loaded into ``VGGT()``, or a folder / Hugging Face repo id for
    ``VGGT.from_pretrained`` (only from the local cache unless ``allow_download``). Remote code
    is never run.
    """

    what = "the vggt backend"

    def __init__(self, *, model: str | None, allow_download: bool, device: str, precision: str, flag: str) -> None:
        check_choice(device, DEVICES, "device")
        check_choice(precision, PRECISIONS, "precision")
        require("torch", what=self.what, hint=VGGT_HINT)
        try:
            from vggt.models.vggt import VGGT
        except ImportError as error:
            raise _missing_package(error) from error
        import torch

        self.device = pick_device(device)
        self.dtype = pick_dtype(self.device, precision)
        if self.device != "cuda" and self.dtype != torch.float32:
            log.info("VGGT runs in fp32 on the CPU (half precision there is slow and loses accuracy)")
            self.dtype = torch.float32
        text = "" if model is None else str(model).strip()
        path = Path(text).expanduser()
        if text and path.suffix in (".safetensors", ".pt", ".pth", ".bin"):
            state = load_state_dict(path, what=self.what)
            with memory_guard(self.what, self.device):
                net = VGGT()
                try:
                    net.load_state_dict(state, strict=True)
                except (RuntimeError, KeyError, ValueError) as error:
                    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                    raise InputError(f"{self.what}: {path} is not a VGGT checkpoint: {first}") from error
                del state
                net = net.to(self.device)
        else:
            source = resolve_model(
                model, what=self.what, flag=flag, allow_download=allow_download, marker="model.safetensors",
                example="facebook/VGGT-1B",
            )
            kwargs: dict[str, Any] = {} if allow_download else {"local_files_only": True}
            with memory_guard(self.what, self.device):
                try:
                    net = VGGT.from_pretrained(source.location, **kwargs)
                except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
                    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
                    raise InputError(f"{self.what}: cannot load VGGT from {source.location}: {first}") from error
                net = net.to(self.device)
        net.eval()
        self.net = net
        log.info("VGGT on %s in %s", self.device, str(self.dtype).replace("torch.", ""))

    def predict(self, images: np.ndarray) -> ChunkPrediction:
        """Run S×3×h×w float32 images in [0, 1] (sides multiples of 14) through the network."""
        import torch

        s, _, h, w = images.shape
        batch = torch.from_numpy(np.ascontiguousarray(images)).to(self.device)[None]
        autocast = self.device == "cuda" and self.dtype != torch.float32
        with memory_guard(self.what, self.device), torch.inference_mode():
            if autocast:
                with torch.autocast(device_type="cuda", dtype=self.dtype):
                    out = self.net(batch)
            else:
                out = self.net(batch)
            enc = _take(out, "pose_enc", (s, 9))
            depth = _take(out, "depth", (s, h, w, 1))[..., 0]
            conf = _take(out, "depth_conf", (s, h, w))
        del out, batch
        if self.device == "cuda":
            torch.cuda.empty_cache()
        cam_from_world, k = decode_pose_encoding(enc, height=h, width=w)
        depth = np.where(np.isfinite(depth) & (depth > 0), depth, 0.0).astype(np.float32)
        return ChunkPrediction(cam_from_world, k, depth, normalised_confidence(conf))


def _take(out: Any, key: str, shape: tuple[int, ...]) -> np.ndarray:
    """Output ``key`` as float numpy of ``shape`` (the batch axis of one dropped)."""
    if not isinstance(out, dict) or key not in out:
        raise SolveError(f"the VGGT model returned no {key!r}; is the vggt package the official one?")
    value = out[key].detach().float().cpu().numpy()
    if value.shape == (1, *shape):
        value = value[0]
    if value.shape != shape:
        raise ShapeError(f"VGGT's {key} should be {shape}, got {value.shape}", expected=shape, actual=value.shape)
    return value


def _missing_package(error: ImportError) -> DependencyError:
    return DependencyError(f"the vggt backend needs the vggt package ({error.name or 'vggt'} is missing); {VGGT_HINT}")


def plan_chunks(n: int, chunk_size: int, overlap: int) -> list[np.ndarray]:
    """Frame indices of each forward pass: ``chunk_size`` frames, consecutive ones sharing
    ``overlap`` (the last chunk is moved back to end at the clip's end, sharing more)."""
    if n <= chunk_size:
        return [np.arange(n)]
    step = chunk_size - overlap
    starts = list(range(0, n - chunk_size, step)) + [n - chunk_size]
    return [np.arange(s, s + chunk_size) for s in starts]


# -- the solver -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VGGTNetworkOptions:
    """The VGGT network's options, shared by the camera solver and the depth backend."""

    model: str | None = None
    """A VGGT checkpoint (.safetensors, or .pt read with weights_only), a folder, or a cached Hugging Face repo id (facebook/VGGT-1B)."""
    allow_download: bool = False
    """Let a repo id missing from the Hugging Face cache be downloaded."""
    device: Device = "auto"
    """Where the network runs: auto (CUDA when present), cpu or cuda."""
    precision: Precision = "auto"
    """Network precision on CUDA: auto (bf16 where supported, else fp16), fp32, fp16, bf16; the CPU runs fp32."""
    resolution: int = 518
    """Network input width in pixels (a multiple of 14; VGGT was trained at 518)."""
    chunk_size: int = 32
    """Frames per forward pass (memory grows with it; long clips run in overlapping chunks)."""
    conf_threshold: float = 0.5
    """Depth confidence (VGGT's, mapped to [0, 1) as 1 − 1/conf) below which depth is not used."""

    _model_flag: ClassVar[str] = "--solver.model"

    def _check_network_options(self) -> None:
        check_choice(self.device, DEVICES, "device")
        check_choice(self.precision, PRECISIONS, "precision")
        if self.resolution % PATCH or self.resolution < PATCH:
            raise InputError(f"resolution must be a positive multiple of {PATCH} pixels, got {self.resolution}")
        if self.chunk_size < 1:
            raise InputError(f"chunk_size must be at least 1 frame, got {self.chunk_size}")
        if not 0.0 <= self.conf_threshold < 1.0:
            raise InputError(f"conf_threshold must be in [0, 1), got {self.conf_threshold}")

    def check(self) -> None:
        """Fail now, before any work, when the vggt package or the checkpoint is missing (see :func:`check_vggt`)."""
        check_vggt(self.model, allow_download=self.allow_download, flag=self._model_flag)


@dataclass(frozen=True)
class VGGTSolverConfig(CameraSolveConfig, VGGTNetworkOptions):
    """VGGT feed-forward cameras in overlapping chunks, stitched, then bundle-adjusted with COLMAP."""

    overlap: int = 8
    """Frames shared by consecutive chunks, used to stitch them into one world."""
    bundle_adjust: bool = True
    """Refine the network's cameras by bundle adjustment on feature tracks (sub-pixel reprojection error)."""
    max_points: int = 20000
    """At most this many feature tracks (the sparse points)."""
    max_error_px: float = 2.0
    """Bundle adjustment drops observations with a larger reprojection error (pixels) and runs again."""
    seed: int = 0
    """Random seed (the choice of tracks when there are more than max_points)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self._check_network_options()
        if self.chunk_size < 2:
            raise InputError(f"chunk_size must be at least 2 frames, got {self.chunk_size}")
        if not 1 <= self.overlap < self.chunk_size:
            raise InputError(f"overlap must be between 1 and chunk_size - 1 ({self.chunk_size - 1}), got {self.overlap}")
        if self.max_points < 10:
            raise InputError(f"max_points must be at least 10, got {self.max_points}")
        if not self.max_error_px > 0:
            raise InputError(f"max_error_px must be positive, got {self.max_error_px}")

    def build(self) -> VGGTSolver:
        """The backend this configuration describes."""
        return VGGTSolver(self)



@dataclass
class _Tracks:
    """Feature tracks as flat observation arrays (one row per observation)."""

    track: np.ndarray  # M int64 track id
    frame: np.ndarray  # M int64 frame index
    pixels: np.ndarray  # M×2 float64 frame pixels (centres at +0.5)

    def __len__(self) -> int:
        return int(self.track.shape[0])


class VGGTSolver:
    """The VGGT camera solver (see the module docstring)."""

    name = "vggt"

    def __init__(self, config: VGGTSolverConfig) -> None:
        self.config = config

    def solve(self, frames: Frames, *, progress: ProgressFn | None = None) -> CameraTrack:
        """Solve every frame's camera (see :class:`CameraSolver`).

        Raises:
            DependencyError: the vggt package is missing.
            InputError: no or unreadable checkpoint, bad options or masks.
            OutOfMemory: a chunk does not fit; lower ``chunk_size`` or ``resolution``.
            SolveError: the chunks cannot be stitched (no confident overlap).
        """
        import cv2

        cfg = self.config
        if not isinstance(frames, Frames):
            raise InputError(f"frames must be Frames, got {type(frames).__name__}")
        n = len(frames)
        ignore = _per_frame_masks(cfg.ignore_masks, frames)
        known = self._known_intrinsics(frames)
        timings: dict[str, float] = {}
        flags: list[str] = []
        messages: list[str] = []

        t0 = time.perf_counter()
        network = VGGTNetwork(
            model=cfg.model, allow_download=cfg.allow_download, device=cfg.device, precision=cfg.precision,
            flag="--solver.model",
        )
        timings["load_model"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        gray = np.stack([cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) for img in frames.images])
        tracks = _klt_tracks(gray, ignore, max_tracks=cfg.max_points, seed=cfg.seed, progress=progress)
        del gray
        timings["feature_tracks"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        grid = NetworkGrid.plan(frames.width, frames.height, cfg.resolution)
        stitched = _stitch_chunks(frames, network, grid, tracks, cfg, progress=progress)
        del network
        timings["network"] = time.perf_counter() - t0
        if len(plan_chunks(n, cfg.chunk_size, cfg.overlap)) > 1:
            messages.append(f"{len(plan_chunks(n, cfg.chunk_size, cfg.overlap))} overlapping chunks stitched by similarity")

        world_from_cam = stitched.world_from_cam
        k_frames = stitched.k_frame
        if known is not None:
            intr = [known] * n
            flags.append("fixed_intrinsics")
        elif cfg.camera_per_frame:
            intr = [_intrinsics_from_k(k, frames, cfg.focal_px) for k in k_frames]
        else:
            focal = float(np.median((k_frames[:, 0, 0] + k_frames[:, 1, 1]) / 2))
            intr = [Intrinsics.from_focal(focal_px=focal, width=frames.width, height=frames.height)] * n

        t0 = time.perf_counter()
        points, colors, keep_obs = _initial_points(tracks, stitched, frames, intr, world_from_cam)
        tracks = _Tracks(tracks.track[keep_obs], tracks.frame[keep_obs], tracks.pixels[keep_obs])
        timings["points"] = time.perf_counter() - t0
        before = _observation_errors(tracks, points, intr, world_from_cam)
        mean_before = float(np.mean(before)) if len(before) else float("nan")

        if cfg.bundle_adjust and len(tracks):
            t0 = time.perf_counter()
            if progress:
                progress("bundle adjustment", 0, 1)
            world_from_cam, intr, points, tracks, ba_flags = _bundle_adjust(
                frames, tracks, points, intr, world_from_cam, cfg, fixed=known is not None
            )
            flags.extend(ba_flags)
            if progress:
                progress("bundle adjustment", 1, 1)
            timings["bundle_adjustment"] = time.perf_counter() - t0
        errors = _observation_errors(tracks, points, intr, world_from_cam)
        mean_after = float(np.mean(errors)) if len(errors) else float("nan")
        if cfg.bundle_adjust:
            messages.append(f"bundle adjustment: mean reprojection error {mean_before:.2f} px -> {mean_after:.2f} px")
            log.info("%s", messages[-1])

        used = np.unique(tracks.track)
        remap = np.full(len(points), -1, np.int64)
        remap[used] = np.arange(len(used))
        per_point = np.bincount(remap[tracks.track], weights=errors, minlength=len(used)) / np.maximum(
            np.bincount(remap[tracks.track], minlength=len(used)), 1
        )
        frame_error = np.full(n, np.nan)
        counts = np.bincount(tracks.frame, minlength=n)
        sums = np.bincount(tracks.frame, weights=errors, minlength=n)
        frame_error[counts > 0] = sums[counts > 0] / counts[counts > 0]

        world_from_solve = align_world(world_from_cam, points[used], seed=cfg.seed)
        world_from_cam = world_from_solve.apply_rigid(world_from_cam)
        sparse = SparsePoints(
            world_from_solve.apply_points(points[used]) if len(used) else np.zeros((0, 3)),
            colors[used].astype(np.uint8), per_point.astype(np.float64),
        )
        finite = np.isfinite(frame_error)
        report = SolveReport(
            backend=self.name,
            num_frames=n,
            num_solved=n,
            num_localized=0,
            num_interpolated=0,
            mean_error_px=float(np.mean(frame_error[finite])) if finite.any() else float("nan"),
            max_error_px=float(np.max(frame_error[finite])) if finite.any() else float("nan"),
            flags=tuple(flags),
            messages=tuple(messages),
            timings_secs={k: round(v, 3) for k, v in timings.items()},
            per_frame_error_px=tuple(float(e) for e in frame_error),
        )
        return CameraTrack(
            intrinsics=tuple(intr),
            world_from_cam=world_from_cam,
            frame_numbers=frames.frame_numbers,
            fps=frames.fps,
            status=np.full(n, FrameStatus.SOLVED, np.int8),
            points=sparse,
            report=report,
        )

    def _known_intrinsics(self, frames: Frames) -> Intrinsics | None:
        cfg = self.config
        if cfg.intrinsics is not None:
            k = cfg.intrinsics
            if (k.width, k.height) != (frames.width, frames.height):
                raise InputError(
                    f"the known intrinsics are for {k.width}×{k.height} images but the frames are "
                    f"{frames.width}×{frames.height}; give K at the frames' resolution"
                )
            return k
        if cfg.focal_px is not None:
            return Intrinsics.from_focal(focal_px=cfg.focal_px, width=frames.width, height=frames.height)
        return None


def _intrinsics_from_k(k: np.ndarray, frames: Frames, focal_px: float | None) -> Intrinsics:
    focal = focal_px or float((k[0, 0] + k[1, 1]) / 2)
    return Intrinsics.from_focal(focal_px=focal, width=frames.width, height=frames.height)


# -- feature tracks ---------------------------------------------------------------------------


def _klt_tracks(
    gray: np.ndarray, ignore: np.ndarray | None, *, max_tracks: int, seed: int, progress: ProgressFn | None,
    max_age: int = 12, window: int = 11,
) -> _Tracks:
    """Shi–Tomasi corners followed frame to frame by forward–backward-checked pyramidal LK flow,
    each position refined from the track's first frame, topped up where the tracks thin out;
    nothing on ignored pixels. A small window (``window`` px) and short tracks (``max_age``
    frames) keep the translation-only flow from sliding on foreshortened surfaces, a bias
    bundle adjustment would turn into a flattened or stretched relief. At most ``max_tracks``
    tracks of two or more frames (the longest kept)."""
    import cv2

    n, h, w = gray.shape
    spacing = max(6, int(round(np.sqrt(h * w / max(4 * max_tracks / max(n, 1), 400)))))
    per_frame = int(min(2000, max(200, h * w / spacing**2)))
    params = dict(winSize=(window, window), maxLevel=3, criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 30, 0.01))
    refine = dict(winSize=(window, window), maxLevel=1, flags=cv2.OPTFLOW_USE_INITIAL_FLOW,
                  criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 30, 0.01))
    tracks_t: list[np.ndarray] = []
    frames_t: list[np.ndarray] = []
    pixels_t: list[np.ndarray] = []
    next_id = 0
    current = np.zeros((0, 2), np.float32)  # OpenCV index coordinates
    ids = np.zeros(0, np.int64)
    anchor = np.zeros(0, np.int64)  # the frame each track started in
    anchor_xy = np.zeros((0, 2), np.float32)  # and where

    def detect(i: int, existing: np.ndarray) -> np.ndarray:
        mask = np.full((h, w), 255, np.uint8)
        if ignore is not None:
            mask[ignore[i]] = 0
        for x, y in existing:
            cv2.circle(mask, (int(x), int(y)), spacing, 0, -1)
        want = per_frame - len(existing)
        if want < per_frame // 4:
            return np.zeros((0, 2), np.float32)
        corners = cv2.goodFeaturesToTrack(gray[i], maxCorners=want, qualityLevel=0.01, minDistance=spacing, mask=mask, blockSize=7)
        return np.zeros((0, 2), np.float32) if corners is None else corners.reshape(-1, 2).astype(np.float32)

    for i in range(n):
        if i > 0 and len(current):
            moved, st, _ = cv2.calcOpticalFlowPyrLK(gray[i - 1], gray[i], current.reshape(-1, 1, 2), None, **params)
            back, st_b, _ = cv2.calcOpticalFlowPyrLK(gray[i], gray[i - 1], moved, None, **params)
            moved = moved.reshape(-1, 2)
            fb = np.linalg.norm(back.reshape(-1, 2) - current, axis=1)
            keep = (st.reshape(-1) == 1) & (st_b.reshape(-1) == 1) & (fb < 0.5)
            keep &= (moved[:, 0] >= 0) & (moved[:, 1] >= 0) & (moved[:, 0] <= w - 1) & (moved[:, 1] <= h - 1)
            if ignore is not None and keep.any():
                cols = np.clip(np.round(moved[:, 0]).astype(int), 0, w - 1)
                rows = np.clip(np.round(moved[:, 1]).astype(int), 0, h - 1)
                keep &= ~ignore[i][rows, cols]
            # Frame-to-frame flow drifts (a fraction of a pixel per frame, which bundle adjustment
            # would absorb into a wrong focal length): each position is refined by flow from the
            # track's first frame, started at the chained estimate; tracks end after max_age frames.
            keep &= i - anchor < max_age
            for a in np.unique(anchor[keep]):
                rows = np.flatnonzero(keep & (anchor == a))
                guess = moved[rows].reshape(-1, 1, 2).copy()
                exact, st_r, _ = cv2.calcOpticalFlowPyrLK(gray[a], gray[i], anchor_xy[rows].reshape(-1, 1, 2), guess, **refine)
                exact = exact.reshape(-1, 2)
                good = (st_r.reshape(-1) == 1) & (np.linalg.norm(exact - moved[rows], axis=1) < 1.5)
                moved[rows] = exact
                keep[rows[~good]] = False
            current, ids, anchor, anchor_xy = moved[keep], ids[keep], anchor[keep], anchor_xy[keep]
        fresh = detect(i, current)
        if len(fresh):
            current = np.concatenate([current, fresh])
            ids = np.concatenate([ids, np.arange(next_id, next_id + len(fresh))])
            anchor = np.concatenate([anchor, np.full(len(fresh), i, np.int64)])
            anchor_xy = np.concatenate([anchor_xy, fresh])
            next_id += len(fresh)
        tracks_t.append(ids.copy())
        frames_t.append(np.full(len(ids), i, np.int64))
        pixels_t.append(current.astype(np.float64) + 0.5)
        if progress:
            progress("track features", i + 1, n)
    track = np.concatenate(tracks_t) if tracks_t else np.zeros(0, np.int64)
    frame = np.concatenate(frames_t) if frames_t else np.zeros(0, np.int64)
    pixels = np.concatenate(pixels_t) if pixels_t else np.zeros((0, 2))
    length = np.bincount(track, minlength=next_id)
    good = np.flatnonzero(length >= 2)
    if len(good) > max_tracks:
        rng = np.random.default_rng(seed)
        order = np.lexsort((rng.random(len(good)), -length[good]))
        good = np.sort(good[order[:max_tracks]])
    remap = np.full(next_id, -1, np.int64)
    remap[good] = np.arange(len(good))
    keep = remap[track] >= 0
    log.info("%d feature tracks over %d frames", len(good), n)
    return _Tracks(remap[track[keep]], frame[keep], pixels[keep])


# -- chunks -----------------------------------------------------------------------------------


@dataclass
class _Stitched:
    """Per-frame results of all chunks in the first chunk's world (what survives a chunk)."""

    world_from_cam: np.ndarray  # N×4×4
    k_frame: np.ndarray  # N×3×3 at the frames' size
    obs_depth: np.ndarray  # M z-depth (world scale) at each track observation, 0 = none


def _stitch_chunks(
    frames: Frames, network: VGGTNetwork, grid: NetworkGrid, tracks: _Tracks, cfg: VGGTSolverConfig,
    *, progress: ProgressFn | None,
) -> _Stitched:
    n = len(frames)
    chunks = plan_chunks(n, cfg.chunk_size, cfg.overlap)
    world_from_cam = np.full((n, 4, 4), np.nan)
    k_net = np.zeros((n, 3, 3))
    kept_depth: dict[int, np.ndarray] = {}  # frame -> depth subsampled by KEEP_STRIDE (world scale)
    obs_depth = np.zeros(len(tracks))
    order = np.argsort(tracks.frame, kind="stable")
    starts = np.searchsorted(tracks.frame[order], np.arange(n + 1))
    half = KEEP_STRIDE // 2
    for c, chunk in enumerate(chunks):
        if progress:
            progress("vggt chunks", c, len(chunks))
        pred = network.predict(grid.images(frames.images[chunk]))
        depth = np.where(pred.confidence >= cfg.conf_threshold, pred.depth, 0.0).astype(np.float32)
        chunk_world_from_cam = invert_rigid(pred.cam_from_world)
        shared = [j for j, i in enumerate(chunk) if int(i) in kept_depth]
        if shared:
            world_from_chunk = _fit_chunk(
                [(kept_depth[int(chunk[j])], k_net[int(chunk[j])], world_from_cam[int(chunk[j])]) for j in shared],
                [(depth[j, half::KEEP_STRIDE, half::KEEP_STRIDE], pred.K[j], chunk_world_from_cam[j]) for j in shared],
            )
            log.debug("chunk %d: scale %.4g to the stitched world", c, world_from_chunk.scale)
        else:
            world_from_chunk = Similarity(1.0, np.eye(3), np.zeros(3))
        poses = world_from_chunk.apply_rigid(chunk_world_from_cam)
        for j, i in enumerate(chunk):
            i = int(i)
            if i in kept_depth:
                continue  # a frame keeps the pose of the first chunk that saw it
            world_from_cam[i] = poses[j]
            k_net[i] = pred.K[j]
            kept_depth[i] = (world_from_chunk.scale * depth[j, half::KEEP_STRIDE, half::KEEP_STRIDE]).astype(np.float32)
            rows = order[starts[i] : starts[i + 1]]
            if len(rows):
                obs_depth[rows] = world_from_chunk.scale * grid.sample(depth[j], grid.to_network(tracks.pixels[rows]))
        # Only the frames a later chunk can share need their depth kept; the rest is dropped
        # so memory stays flat in the clip's length.
        low = int(chunk[-1]) - cfg.chunk_size
        for i in [i for i in kept_depth if i <= low]:
            del kept_depth[i]
        del pred, depth
    if progress:
        progress("vggt chunks", len(chunks), len(chunks))
    return _Stitched(world_from_cam, grid.k_to_frame(k_net), obs_depth)


def _subsampled_points(depth: np.ndarray, k_net: np.ndarray, world_from_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World points of a depth map subsampled by KEEP_STRIDE (and the valid mask, h'×w')."""
    h, w = depth.shape
    cols = (np.arange(w) * KEEP_STRIDE + KEEP_STRIDE // 2 + 0.5)
    rows = (np.arange(h) * KEEP_STRIDE + KEEP_STRIDE // 2 + 0.5)
    u, v = np.meshgrid(cols, rows)
    x = (u - k_net[0, 2]) / k_net[0, 0]
    y = (v - k_net[1, 2]) / k_net[1, 1]
    in_cam = np.stack([x * depth, y * depth, depth], axis=-1).reshape(-1, 3)
    return in_cam @ world_from_cam[:3, :3].T + world_from_cam[:3, 3], (depth > 0).reshape(-1)


def _fit_chunk(
    stitched: list[tuple[np.ndarray, np.ndarray, np.ndarray]], chunk: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
) -> Similarity:
    """``world_from_chunk`` from the frames two chunks share: the same pixel of the same frame
    is the same surface point, so each confident pixel is a correspondence; the camera centres
    join them. Trimmed Umeyama: fitted, residuals above 3× their median dropped, fitted again."""
    src, dst = [], []
    for (d_w, k_w, pose_w), (d_c, k_c, pose_c) in zip(stitched, chunk):
        p_w, ok_w = _subsampled_points(d_w, k_w, pose_w)
        p_c, ok_c = _subsampled_points(d_c, k_c, pose_c)
        ok = ok_w & ok_c
        dst.append(p_w[ok])
        src.append(p_c[ok])
    centres_dst = np.array([pose[:3, 3] for _, _, pose in stitched])
    centres_src = np.array([pose[:3, 3] for _, _, pose in chunk])
    a = np.concatenate(src + [centres_src])
    b = np.concatenate(dst + [centres_dst])
    if len(a) < 3:
        raise SolveError(
            "the VGGT chunks cannot be stitched: their shared frames have no confident depth; "
            "raise overlap or lower conf_threshold"
        )
    keep = np.ones(len(a), bool)
    sim = similarity_from_points(a, b)
    for _ in range(3):
        residual = np.linalg.norm(sim.apply_points(a) - b, axis=1)
        keep = residual <= max(3.0 * float(np.median(residual)), 1e-9)
        keep[len(a) - len(centres_src):] = True  # the cameras always count
        if keep.sum() < 3:
            break
        sim = similarity_from_points(a[keep], b[keep])
    return sim


# -- points and bundle adjustment -------------------------------------------------------------


def _initial_points(
    tracks: _Tracks, stitched: _Stitched, frames: Frames, intr: list[Intrinsics], world_from_cam: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One 3-D point per track from the network's depth (the median of its observations'
    unprojections), its colour, and the observations worth keeping (those within 5 % of the
    image's long side of the point's reprojection)."""
    num = int(tracks.track.max()) + 1 if len(tracks) else 0
    has = stitched.obs_depth > 0
    in_world = np.full((len(tracks), 3), np.nan)
    for i in np.unique(tracks.frame[has]):
        rows = np.flatnonzero(has & (tracks.frame == i))
        in_cam = intr[i].unproject(tracks.pixels[rows], stitched.obs_depth[rows])
        in_world[rows] = in_cam @ world_from_cam[i, :3, :3].T + world_from_cam[i, :3, 3]
    points = np.full((num, 3), np.nan)
    for axis in range(3):
        points[:, axis] = _grouped_median(tracks.track[has], in_world[has, axis], num)
    colors = np.zeros((num, 3), np.uint8)
    first = np.unique(tracks.track, return_index=True)[1]
    px = np.floor(tracks.pixels[first]).astype(int)
    px[:, 0] = np.clip(px[:, 0], 0, frames.width - 1)
    px[:, 1] = np.clip(px[:, 1], 0, frames.height - 1)
    colors[tracks.track[first]] = frames.images[tracks.frame[first], px[:, 1], px[:, 0]]
    ok = np.isfinite(points[tracks.track]).all(axis=1)
    errors = np.full(len(tracks), np.inf)
    errors[ok] = _observation_errors(
        _Tracks(tracks.track[ok], tracks.frame[ok], tracks.pixels[ok]), points, intr, world_from_cam
    )
    keep = errors <= 0.05 * max(frames.width, frames.height)
    # a track needs two observations left
    count = np.bincount(tracks.track[keep], minlength=num)
    keep &= count[tracks.track] >= 2
    points = np.where(np.isfinite(points), points, 0.0)
    return points, colors, keep


def _grouped_median(group: np.ndarray, value: np.ndarray, num: int) -> np.ndarray:
    out = np.full(num, np.nan)
    if len(group) == 0:
        return out
    order = np.lexsort((value, group))
    g, v = group[order], value[order]
    starts = np.searchsorted(g, np.arange(num))
    ends = np.searchsorted(g, np.arange(num), side="right")
    has = ends > starts
    lo = (starts + ends - 1) // 2
    hi = (starts + ends) // 2
    out[has] = 0.5 * (v[lo[has]] + v[hi[has]])
    return out


def _observation_errors(tracks: _Tracks, points: np.ndarray, intr: list[Intrinsics], world_from_cam: np.ndarray) -> np.ndarray:
    """Reprojection error in pixels of every observation."""
    errors = np.zeros(len(tracks))
    cam_from_world = invert_rigid(world_from_cam)
    for i in np.unique(tracks.frame):
        rows = np.flatnonzero(tracks.frame == i)
        in_cam = points[tracks.track[rows]] @ cam_from_world[i, :3, :3].T + cam_from_world[i, :3, 3]
        uv = intr[i].project(in_cam)
        err = np.linalg.norm(uv - tracks.pixels[rows], axis=1)
        errors[rows] = np.where(np.isfinite(err), err, 1e6)
    return errors


def _bundle_adjust(
    frames: Frames, tracks: _Tracks, points: np.ndarray, intr: list[Intrinsics], world_from_cam: np.ndarray,
    cfg: VGGTSolverConfig, *, fixed: bool,
) -> tuple[np.ndarray, list[Intrinsics], np.ndarray, _Tracks, list[str]]:
    """pycolmap bundle adjustment (Cauchy loss), in two rounds with observations above
    ``max_error_px`` dropped between them; frames with fewer than 6 observations keep their
    camera. Cameras and points are adjusted first with the intrinsics held (the network's, or
    the known ones); then, unless known, the intrinsics (focal length, the lens model's
    distortion, the principal point when asked) are freed too. The freed solution is kept
    only when it explains the tracks clearly better (mean error below 80 %) with a focal
    length within 30 % of the network's: a clip with little depth variation or rotation
    leaves the focal length and the distortion ambiguous, and there the network's focal is
    the better guess (flag ``network_intrinsics``)."""
    import pycolmap

    flags: list[str] = []
    previous = pycolmap.logging.minloglevel
    pycolmap.logging.minloglevel = 0 if log.isEnabledFor(logging.DEBUG) else 3
    try:
        held = _ba_rounds(frames, tracks, points, intr, world_from_cam, cfg, refine=False)
        if fixed:
            return (*held[:4], flags)
        wfc, new_intr, pts, kept, err_held = held
        freed = _ba_rounds(frames, kept, pts, new_intr, wfc, cfg, refine=True)
        before = np.array([i.fx for i in intr])
        after = np.array([i.fx for i in freed[1]])
        if freed[4] < 0.8 * err_held and np.all(np.abs(after / before - 1) <= 0.3):
            return (*freed[:4], flags)
        log.info(
            "bundle adjustment with free intrinsics: %.3f px vs %.3f px held, focal %.1f vs %.1f px; kept the network's",
            freed[4], err_held, float(np.median(after)), float(np.median(before)),
        )
        flags.append("network_intrinsics")
        return (*held[:4], flags)
    finally:
        pycolmap.logging.minloglevel = previous


def _ba_rounds(
    frames: Frames, tracks: _Tracks, points: np.ndarray, intr: list[Intrinsics], world_from_cam: np.ndarray,
    cfg: VGGTSolverConfig, *, refine: bool,
) -> tuple[np.ndarray, list[Intrinsics], np.ndarray, _Tracks, float]:
    """Two bundle adjustments with the outliers of the first dropped; the mean error last."""
    wfc, new_intr, pts, kept = world_from_cam, intr, points, tracks
    for round_ in range(2):
        wfc, new_intr, pts = _ba_once(frames, kept, pts, new_intr, wfc, cfg, refine=refine)
        errors = _observation_errors(kept, pts, new_intr, wfc)
        if round_ == 0:
            keep = errors <= cfg.max_error_px
            count = np.bincount(kept.track[keep], minlength=len(pts))
            keep &= count[kept.track] >= 2
            kept = _Tracks(kept.track[keep], kept.frame[keep], kept.pixels[keep])
    return wfc, new_intr, pts, kept, float(np.mean(errors)) if len(errors) else float("nan")


def _ba_once(
    frames: Frames, tracks: _Tracks, points: np.ndarray, intr: list[Intrinsics], world_from_cam: np.ndarray,
    cfg: VGGTSolverConfig, *, refine: bool,
) -> tuple[np.ndarray, list[Intrinsics], np.ndarray]:
    import pycolmap

    n = len(frames)
    counts = np.bincount(tracks.frame, minlength=n)
    in_ba = counts >= 6
    rec = pycolmap.Reconstruction()
    camera_of: list[int] = []
    ids: dict[int, int] = {}
    for i in range(n):
        key = id(intr[i]) if not cfg.camera_per_frame else i
        if key not in ids:
            ids[key] = len(ids) + 1
            rec.add_camera_with_trivial_rig(_colmap_camera(intr[i], ids[key], cfg.lens if refine else None))
        camera_of.append(ids[key])
    cam_from_world = invert_rigid(world_from_cam)
    order = np.argsort(tracks.frame, kind="stable")
    starts = np.searchsorted(tracks.frame[order], np.arange(n + 1))
    point2d_index = np.full(len(tracks), -1, np.int64)
    for i in np.flatnonzero(in_ba):
        rows = order[starts[i] : starts[i + 1]]
        point2d_index[rows] = np.arange(len(rows))
        image = pycolmap.Image(name=f"{i:06d}", keypoints=tracks.pixels[rows], camera_id=camera_of[i], image_id=int(i) + 1)
        rec.add_image_with_trivial_frame(image, pycolmap.Rigid3d(cam_from_world[i, :3, :4]))
    usable = in_ba[tracks.frame]
    by_track = np.argsort(tracks.track[usable], kind="stable")
    rows_all = np.flatnonzero(usable)[by_track]
    tids = tracks.track[rows_all]
    bounds = np.flatnonzero(np.diff(tids)) + 1
    point_id: dict[int, int] = {}
    for group in np.split(rows_all, bounds):
        if len(group) < 2:
            continue
        elements = [pycolmap.TrackElement(int(tracks.frame[r]) + 1, int(point2d_index[r])) for r in group]
        tid = int(tracks.track[group[0]])
        point_id[tid] = rec.add_point3D(points[tid], pycolmap.Track(elements), np.zeros(3, np.uint8))
    if len(point_id) < 10 or in_ba.sum() < 2:
        return world_from_cam, intr, points
    options = pycolmap.BundleAdjustmentOptions()
    options.print_summary = False
    options.refine_focal_length = refine
    options.refine_extra_params = refine
    options.refine_principal_point = refine and cfg.refine_principal_point
    options.ceres.loss_function_type = pycolmap.LossFunctionType.CAUCHY
    options.ceres.loss_function_scale = 1.0
    options.ceres.solver_options.max_num_iterations = 100
    options.ceres.solver_options.num_threads = 1
    config = pycolmap.BundleAdjustmentConfig()
    for i in np.flatnonzero(in_ba):
        config.add_image(int(i) + 1)
    if not refine:
        for cid in set(camera_of):
            config.set_constant_cam_intrinsics(cid)
    config.fix_gauge(pycolmap.BundleAdjustmentGauge.TWO_CAMS_FROM_WORLD)
    pycolmap.create_default_bundle_adjuster(options, config, rec).solve()

    new_world_from_cam = world_from_cam.copy()
    for i in np.flatnonzero(in_ba):
        pose = np.eye(4)
        pose[:3, :4] = rec.images[int(i) + 1].cam_from_world().matrix()
        new_world_from_cam[i] = invert_rigid(pose)
    if refine:
        cache = {cid: intrinsics_from_colmap(rec.cameras[cid]) for cid in set(camera_of)}
        new_intr = [cache[camera_of[i]] for i in range(n)]
    else:
        new_intr = intr
    new_points = points.copy()
    for tid, pid in point_id.items():
        new_points[tid] = rec.points3D[pid].xyz
    return new_world_from_cam, new_intr, new_points


def _colmap_camera(intr: Intrinsics, camera_id: int, lens: str | None) -> Any:
    """A pycolmap camera for ``intr``: the config's lens model when it is refined (distortion
    starting at 0), else the exact pinhole or radial camera ``intr`` is."""
    import pycolmap

    if lens is None:
        if intr.has_distortion:
            model, params = "RADIAL", [(intr.fx + intr.fy) / 2, intr.cx, intr.cy, *intr.radial]
        else:
            model, params = "PINHOLE", [intr.fx, intr.fy, intr.cx, intr.cy]
    else:
        model = _COLMAP_MODEL[lens]
        f = (intr.fx + intr.fy) / 2
        params = {
            "PINHOLE": [intr.fx, intr.fy, intr.cx, intr.cy],
            "SIMPLE_RADIAL": [f, intr.cx, intr.cy, 0.0],
            "RADIAL": [f, intr.cx, intr.cy, 0.0, 0.0],
        }[model]
    return pycolmap.Camera(model=model, width=intr.width, height=intr.height, params=params, camera_id=camera_id)

