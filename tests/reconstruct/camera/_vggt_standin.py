"""A STAND-IN for the official ``vggt`` package, written by the tests, and the synthetic scene it knows.

This is not VGGT. The official package is installed from its repository and needs a 1B
checkpoint, neither of which a test can have; a randomly initialised real-shape model is not
possible without the package either. So the tests write a tiny Python package named
``vggt`` (``vggt/models/vggt.py`` with ``class VGGT(torch.nn.Module)``, ``from_pretrained``
and a state dict) that honours the documented output contract of ``VGGT.forward``:

- input ``S×3×H×W`` or ``B×S×3×H×W`` float images in [0, 1], sides multiples of 14;
- ``pose_enc`` ``[B, S, 9]``: OpenCV ``cam_from_world`` translation, scalar-last quaternion
  ``xyzw``, ``fov_h``, ``fov_w``, the first frame of the call being the world origin;
- ``depth`` ``[B, S, H, W, 1]``, ``depth_conf`` ``[B, S, H, W]`` (≥ 1), ``world_points``
  ``[B, S, H, W, 3]``, ``world_points_conf``.

It is an *oracle*: its checkpoint holds a synthetic clip's images and exact geometry; its
forward finds each input image among the stored frames (nearest by pixels, after VGGT's own
``crop`` preprocessing) and answers with that geometry relative to the call's first frame,
times an arbitrary per-call scale (the real outputs are up to scale per call), plus optional
noise on rotation, translation, focal length and depth.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from sceneforge.scenegraph import invert_rigid
from tests.conftest import textured_image

_PACKAGE = '''
"""Stand-in for the official vggt package (tests only): honours VGGT's output contract, not VGGT."""
'''

_MODEL = '''
"""Stand-in VGGT (tests only): an oracle that answers with the stored clip's geometry."""

import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

NUM_FRAMES = {num_frames}
HEIGHT = {height}
WIDTH = {width}
CALLS = []  # the number of frames of every forward call (tests read it)


def _quat_xyzw(m):
    t = m[0, 0] + m[1, 1] + m[2, 2]
    w = math.sqrt(max(0.0, 1 + t)) / 2
    x = math.copysign(math.sqrt(max(0.0, 1 + m[0, 0] - m[1, 1] - m[2, 2])) / 2, m[2, 1] - m[1, 2])
    y = math.copysign(math.sqrt(max(0.0, 1 - m[0, 0] + m[1, 1] - m[2, 2])) / 2, m[0, 2] - m[2, 0])
    z = math.copysign(math.sqrt(max(0.0, 1 - m[0, 0] - m[1, 1] + m[2, 2])) / 2, m[1, 0] - m[0, 1])
    return [x, y, z, w]


def _small_rotation(v):
    angle = float(np.linalg.norm(v))
    if angle < 1e-15:
        return np.eye(3)
    k = v / angle
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(angle) * kx + (1 - math.cos(angle)) * kx @ kx


class VGGT(torch.nn.Module):
    def __init__(self):
        super().__init__()
        n, h, w = NUM_FRAMES, HEIGHT, WIDTH
        self.images = torch.nn.Parameter(torch.zeros(n, h, w, 3), requires_grad=False)
        self.depth = torch.nn.Parameter(torch.zeros(n, h, w), requires_grad=False)
        self.cam_from_world = torch.nn.Parameter(torch.zeros(n, 4, 4, dtype=torch.float64), requires_grad=False)
        self.K = torch.nn.Parameter(torch.zeros(3, 3, dtype=torch.float64), requires_grad=False)
        # rotation noise (rad), translation noise (share of the distance to the first frame),
        # focal noise (share), depth noise (share), seed
        self.noise = torch.nn.Parameter(torch.zeros(5, dtype=torch.float64), requires_grad=False)

    @classmethod
    def from_pretrained(cls, location, **kwargs):
        if kwargs.get("trust_remote_code"):
            raise TypeError("trust_remote_code is not a VGGT argument")
        from safetensors.torch import load_file

        model = cls()
        model.load_state_dict(load_file(os.path.join(location, "model.safetensors")))
        return model

    def _identify(self, images):
        s, _, h, w = images.shape
        resized = round(HEIGHT * (w / WIDTH) / 14) * 14
        stored = F.interpolate(self.images.permute(0, 3, 1, 2) / 255.0, size=(resized, w), mode="bilinear", align_corners=False)
        top = (resized - h) // 2
        stored = stored[:, :, top:top + h]
        # one stored frame at a time: the stand-in's own memory must not grow with the clip
        dist = torch.stack([(images.float() - frame[None]).abs().mean(dim=(1, 2, 3)) for frame in stored], dim=1)
        return dist.argmin(dim=1).tolist(), resized, top

    def forward(self, images, query_points=None):
        if images.dim() == 4:
            images = images[None]
        b, s, _, h, w = images.shape
        assert h % 14 == 0 and w % 14 == 0, "VGGT takes sides that are multiples of 14"
        CALLS.append(int(s))
        outs = [self._one(images[i]) for i in range(b)]
        return {{k: torch.stack([o[k] for o in outs]) for k in outs[0]}}

    def _one(self, images):
        s, _, h, w = images.shape
        idx, resized, top = self._identify(images)
        sx, sy = w / WIDTH, resized / HEIGHT
        rot_noise, trans_noise, focal_noise, depth_noise, seed = self.noise.tolist()
        scale = 0.6 + 0.35 * ((idx[0] * 7919) % 5)  # arbitrary per call, as the real model's
        first_world_from_cam = torch.linalg.inv(self.cam_from_world[idx[0]]).numpy()
        k = self.K.numpy()
        k_net = np.array([[k[0, 0] * sx, 0, k[0, 2] * sx], [0, k[1, 1] * sy, k[1, 2] * sy - top], [0, 0, 1.0]])
        # inverse depth is linear in pixels on a plane: resample it, then invert
        inv = torch.where(self.depth > 0, 1.0 / self.depth.clamp(min=1e-9), torch.zeros_like(self.depth))
        grid_x = (torch.arange(w) + 0.5) / sx / WIDTH * 2 - 1
        grid_y = (torch.arange(h) + 0.5 + top) / sy / HEIGHT * 2 - 1
        gy, gx = torch.meshgrid(grid_y, grid_x, indexing="ij")
        grid = torch.stack([gx, gy], -1)[None].float()
        encs, depths, points = [], [], []
        for j, i in enumerate(idx):
            rng = np.random.default_rng([int(seed), int(i), int(idx[0])])
            rel = self.cam_from_world[i].numpy() @ first_world_from_cam
            r, t = rel[:3, :3], rel[:3, 3] * scale
            f_noise = 1.0
            if j > 0:
                r = _small_rotation(rng.normal(0, rot_noise, 3)) @ r
                t = t + rng.normal(0, trans_noise, 3) * max(np.linalg.norm(t), 1e-3)
                f_noise = 1 + rng.normal(0, focal_noise)
            fx, fy = k_net[0, 0] * f_noise, k_net[1, 1] * f_noise
            fov_h, fov_w = 2 * math.atan((h / 2) / fy), 2 * math.atan((w / 2) / fx)
            encs.append(torch.tensor([*t, *_quat_xyzw(r), fov_h, fov_w], dtype=torch.float32))
            sampled = F.grid_sample(inv[i][None, None].float(), grid, mode="bilinear", align_corners=False)[0, 0]
            exact = F.grid_sample(inv[i][None, None].float(), grid, mode="nearest", align_corners=False)[0, 0]
            ok = (exact > 0) & (sampled > 0)
            d = torch.where(ok, 1.0 / sampled.clamp(min=1e-9), torch.zeros_like(sampled)) * scale
            if depth_noise > 0:
                d = d * (1 + torch.from_numpy(rng.normal(0, depth_noise, d.shape)).float())
            depths.append(d)
            u, v = torch.meshgrid(torch.arange(w) + 0.5, torch.arange(h) + 0.5, indexing="xy")
            in_cam = torch.stack([(u - w / 2) / fx * d, (v - h / 2) / fy * d, d], -1).double()
            first_from_cam = np.linalg.inv(np.vstack([np.hstack([r, t[:, None]]), [0, 0, 0, 1]]))
            points.append((in_cam @ torch.from_numpy(first_from_cam[:3, :3]).T + torch.from_numpy(first_from_cam[:3, 3])).float())
        depth = torch.stack(depths)
        conf = torch.where(depth > 0, torch.full_like(depth, 21.0), torch.ones_like(depth))
        return {{
            "pose_enc": torch.stack(encs),
            "depth": depth[..., None],
            "depth_conf": conf,
            "world_points": torch.stack(points),
            "world_points_conf": conf.clone(),
            "images": images,
        }}
'''


def write_standin_package(root: Path, *, num_frames: int, height: int, width: int) -> Path:
    """Write the stand-in package ``vggt`` under ``root`` (put ``root`` on ``sys.path``)."""
    package = root / "vggt"
    (package / "models").mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(textwrap.dedent(_PACKAGE))
    (package / "models" / "__init__.py").write_text("")
    (package / "models" / "vggt.py").write_text(
        textwrap.dedent(_MODEL).format(num_frames=num_frames, height=height, width=width)
    )
    return root


def standin_state(scene: dict, *, rot_noise: float = 0.0, trans_noise: float = 0.0, focal_noise: float = 0.0,
                  depth_noise: float = 0.0, seed: int = 0) -> dict:
    """The stand-in's state dict (torch tensors) for ``scene`` (see :func:`render_scene`)."""
    import torch

    n = len(scene["images"])
    return {
        "images": torch.from_numpy(scene["images"].astype(np.float32)),
        "depth": torch.from_numpy(scene["depth"].astype(np.float32)),
        "cam_from_world": torch.from_numpy(invert_rigid(scene["world_from_cam"])).double(),
        "K": torch.from_numpy(scene["K"]).double(),
        "noise": torch.tensor([rot_noise, trans_noise, focal_noise, depth_noise, float(seed)], dtype=torch.float64),
    } if n else {}


# -- the synthetic scene --------------------------------------------------------------------

# Axis-aligned textured rectangles in an OpenCV-like world (+Y down): (axis, value, bounds of
# the other two axes in increasing axis order, texture seed). The box (last three) stands on
# the floor in front of the back wall.
_FACES = [
    (1, 1.0, ((-3.0, 3.0), (0.0, 8.0)), 11),  # floor y = 1
    (2, 5.0, ((-3.0, 3.0), (-2.5, 1.0)), 12),  # back wall z = 5
    (0, -2.0, ((-2.5, 1.0), (0.0, 5.0)), 13),  # left wall x = -2
    (2, 2.5, ((-0.3, 0.5), (0.1, 1.0)), 14),  # box front z = 2.5
    (0, 0.5, ((0.1, 1.0), (2.5, 3.1)), 15),  # box side x = 0.5
    (1, 0.1, ((-0.3, 0.5), (2.5, 3.1)), 16),  # box top y = 0.1
]
BOX_FACES = (3, 4, 5)
_TEXELS_PER_UNIT = 48.0


def look_at(centre: np.ndarray, target: np.ndarray) -> np.ndarray:
    """world_from_cam (OpenCV axes, world +Y down) of a camera at ``centre`` looking at ``target``."""
    z = target - centre
    z = z / np.linalg.norm(z)
    x = np.cross(np.array([0.0, 1.0, 0.0]), z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    pose = np.eye(4)
    pose[:3, :3] = np.stack([x, y, z], axis=1)
    pose[:3, 3] = centre
    return pose


def render_scene(*, n: int = 12, width: int = 160, height: int = 120, focal_px: float = 130.0, seed: int = 0) -> dict:
    """A textured room with a box, seen by a camera sliding sideways: exact cameras and depth.

    Returns a dict: ``images`` N×H×W×3 uint8, ``depth`` N×H×W float32 z-depth,
    ``world_from_cam`` N×4×4, ``K`` 3×3, ``box`` N×H×W bool (pixels on the box).
    """
    import cv2

    k = np.array([[focal_px, 0, width / 2], [0, focal_px, height / 2], [0, 0, 1.0]])
    textures = []
    for axis, _, bounds, tex_seed in _FACES:
        th = int((bounds[1][1] - bounds[1][0]) * _TEXELS_PER_UNIT) + 2
        tw = int((bounds[0][1] - bounds[0][0]) * _TEXELS_PER_UNIT) + 2
        textures.append(textured_image(th, tw, seed=tex_seed + 100 * seed).astype(np.float32))
    images, depths, poses, boxes = [], [], [], []
    for i in range(n):
        t = i / max(n - 1, 1)
        centre = np.array([-0.7 + 1.4 * t, -0.15 + 0.1 * np.sin(np.pi * t), -0.4 + 0.5 * t])
        pose = look_at(centre, np.array([0.1 * (t - 0.5), 0.3, 3.5]))
        # colour rendered 3× finer and averaged (a camera integrates over its pixels; no aliasing)
        fine, _, _ = _cast(textures, k, width, height, pose, supersample=3)
        _, depth, face_of = _cast(textures, k, width, height, pose, supersample=1)
        images.append(np.clip(cv2.resize(fine, (width, height), interpolation=cv2.INTER_AREA), 0, 255).astype(np.uint8))
        depths.append(depth)
        poses.append(pose)
        boxes.append(np.isin(face_of, BOX_FACES))
    return {
        "images": np.stack(images), "depth": np.stack(depths), "world_from_cam": np.stack(poses), "K": k,
        "box": np.stack(boxes),
    }


def _cast(textures, k, width, height, pose, *, supersample):
    """Ray-cast the faces: colour H'×W'×3 float32, z-depth and face index at ``supersample``× the size."""
    import cv2

    s = supersample
    u, v = np.meshgrid((np.arange(width * s) + 0.5) / s, (np.arange(height * s) + 0.5) / s)
    rays_cam = np.stack([(u - k[0, 2]) / k[0, 0], (v - k[1, 2]) / k[1, 1], np.ones_like(u)], -1)
    centre = pose[:3, 3]
    height, width = height * s, width * s
    dirs = rays_cam @ pose[:3, :3].T
    best = np.full((height, width), np.inf)
    face_of = np.full((height, width), -1)
    color = np.zeros((height, width, 3), np.float32)
    for f, (axis, value, bounds, _) in enumerate(_FACES):
        with np.errstate(divide="ignore", invalid="ignore"):
            tt = (value - centre[axis]) / dirs[..., axis]
        hit = centre + tt[..., None] * dirs
        others = [a for a in range(3) if a != axis]
        inside = (tt > 1e-6) & np.isfinite(tt)
        for a, (lo, hi) in zip(others, bounds):
            inside &= (hit[..., a] >= lo) & (hit[..., a] <= hi)
        closer = inside & (tt < best)
        if not closer.any():
            continue
        tex = textures[f]
        map_x = ((hit[..., others[0]] - bounds[0][0]) * _TEXELS_PER_UNIT).astype(np.float32)
        map_y = ((hit[..., others[1]] - bounds[1][0]) * _TEXELS_PER_UNIT).astype(np.float32)
        sampled = cv2.remap(tex, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        best = np.where(closer, tt, best)
        face_of = np.where(closer, f, face_of)
        color[closer] = sampled[closer]
    depth = np.where(np.isfinite(best), best, 0.0).astype(np.float32)  # rays have z = 1: t is z-depth
    return color, depth, face_of
