#!/usr/bin/env python3
"""Render SceneForge's own demo clip, ``room.mp4``, with exact ground truth.

What this is
    A small, deterministic, standalone renderer for a synthetic indoor scene: a
    textured room (floor planks, wallpaper, wainscot, posters, ceiling tiles) with
    four objects standing in it (a table with a ball on it, a crate and a short
    column).  Every pixel is found by an analytic ray cast in numpy -- each camera
    ray is intersected with the room box, two yawed boxes, a sphere and a capped
    cylinder -- so depth, instance masks and camera poses are exact, not estimated.

    Running ``python assets/demo/generate.py`` rewrites, next to this file:

    * ``room.mp4``          H.264 (libx264 through PyAV), yuv420p, 640x360, 24 fps, 72 frames;
    * ``ground_truth.json`` intrinsics ``K``, one ``world_from_cam`` per frame, the
      objects' geometry, units and conventions.

    Tests and benchmarks can import this file by path (``importlib.util.
    spec_from_file_location``) and call :func:`demo_cameras` and
    :func:`render_frame` to recompute exact depth and instance maps for any frame.

Licence-clean origin
    Everything in the clip is generated here from code: geometry is hand-placed
    primitives, every texture is procedural (integer-hash value noise plus
    geometric patterns evaluated on world/surface coordinates), the camera path is
    a closed-form curve and the shake a fixed sum of sinusoids.  No photographs,
    scanned assets, fonts, third-party textures or downloaded data are used, so the
    outputs carry no licence other than the project's own (Apache-2.0).  Only
    numpy, PyAV and the standard library are needed; no GL, no network.

Conventions
    World: right-handed, +Y up, metres; the floor is ``y = 0``.  Camera: OpenCV axes
    (+X right, +Y down, +Z forward).  ``world_from_cam`` is 4x4 float64 and maps
    camera coordinates to world coordinates, ``p_world = world_from_cam @ p_cam``
    for homogeneous column vectors.  ``K`` is ``image_from_cam`` in pixels; the
    centre of pixel (row i, col j) is at ``(u, v) = (j + 0.5, i + 0.5)`` with
    ``u = fx * x / z + cx``.  Depth is z-depth (distance along the camera's +Z),
    not ray length.

Determinism
    All randomness is an integer hash of lattice coordinates or a hard-coded
    constant, so the rendered RGB, depth and instance arrays are identical on
    every run and platform.  The bytes of the mp4 depend on the libx264 build.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

__all__ = [
    "WIDTH",
    "HEIGHT",
    "FPS",
    "NUM_FRAMES",
    "HFOV_DEG",
    "ROOM_MIN",
    "ROOM_MAX",
    "OBJECTS",
    "demo_intrinsics",
    "demo_cameras",
    "render_frame",
    "ground_truth",
    "main",
]

# --------------------------------------------------------------------------------------
# Scene description
# --------------------------------------------------------------------------------------

WIDTH = 640
"""Image width in pixels."""
HEIGHT = 360
"""Image height in pixels."""
FPS = 24
"""Frame rate of the clip, frames per second."""
NUM_FRAMES = 72
"""Number of frames in the shipped clip (3 s at 24 fps)."""
HFOV_DEG = 60.0
"""Horizontal field of view in degrees; ``fx = fy = (WIDTH / 2) / tan(HFOV / 2)``."""

ROOM_MIN = (-3.0, 0.0, -4.0)
"""World-space minimum corner of the room box (x, y, z), metres; the floor is y = 0."""
ROOM_MAX = (3.0, 3.0, 4.0)
"""World-space maximum corner of the room box (x, y, z), metres; the ceiling is y = 3."""

OBJECTS = (
    {
        "name": "table",
        "kind": "box",
        "instance_id": 1,
        "center_m": [-0.9, 0.375, -2.2],
        "size_m": [1.4, 0.75, 0.8],
        "yaw_deg": 10.0,
    },
    {
        "name": "crate",
        "kind": "box",
        "instance_id": 2,
        "center_m": [1.0, 0.3, -1.6],
        "size_m": [0.6, 0.6, 0.6],
        "yaw_deg": -25.0,
    },
    {
        "name": "ball",
        "kind": "sphere",
        "instance_id": 3,
        "center_m": [-1.15, 0.97, -2.2],
        "radius_m": 0.22,
    },
    {
        "name": "column",
        "kind": "cylinder",
        "instance_id": 4,
        "center_m": [0.15, 0.6, -3.0],
        "radius_m": 0.2,
        "height_m": 1.2,
        "axis": "y",
    },
)
"""The objects, in instance-id order (``instance_id`` = 1-based index; 0 is the room).

Each entry is a JSON-ready dict (treat it as read-only):

* ``box``: ``center_m`` (x, y, z) of the box centre, ``size_m`` full extents
  (x, y, z) in the box's own frame, ``yaw_deg`` rotation about world +Y
  (right-handed, so positive turns the box's +X towards world -Z).  The box's local
  frame is ``world_from_box = T(center) @ R_y(yaw)``.
* ``sphere``: ``center_m``, ``radius_m``.
* ``cylinder``: axis along world +Y, ``center_m`` the centre of the axis segment,
  ``radius_m``, ``height_m``; it spans ``y = center - h/2 .. center + h/2``.

All objects stand on the floor (y = 0) except the ball, which rests on the table top.
"""

# Light: one directional light (unit vector pointing *towards* the light) plus ambient.
_LIGHT_DIR = np.array([0.30, 0.80, 0.50]) / np.linalg.norm([0.30, 0.80, 0.50])
_AMBIENT = 0.45
_DIFFUSE = 0.55

# Camera path (see demo_cameras).  Positions in metres, angles in degrees.
_PATH_START = np.array([-0.9, 1.50, 3.2])
_PATH_END = np.array([0.2, 1.55, 2.2])
_YAW_START, _YAW_END = -10.0, 5.0  # pan about world +Y; positive looks towards -X
_PITCH_START, _PITCH_END = -7.0, -12.0  # tilt; negative looks down
_PATH_DURATION_S = (NUM_FRAMES - 1) / FPS
# Hand-held shake: (frequency Hz, phase rad, amplitude) per channel, fixed constants.
_SHAKE_POS = (  # amplitude in metres, per axis x, y, z
    ((0.83, 0.4, 0.006), (1.91, 2.1, 0.003), (3.07, 4.6, 0.0015)),
    ((0.67, 1.3, 0.005), (1.53, 5.2, 0.003), (2.71, 0.7, 0.0015)),
    ((0.59, 3.9, 0.004), (1.37, 0.2, 0.002), (2.93, 2.8, 0.001)),
)
_SHAKE_ROT = (  # amplitude in degrees, for yaw, pitch, roll
    ((0.71, 0.9, 0.30), (1.63, 3.3, 0.15), (2.87, 5.9, 0.06)),
    ((0.91, 2.7, 0.25), (1.79, 0.5, 0.12), (3.11, 4.1, 0.05)),
    ((0.53, 5.1, 0.35), (1.47, 1.9, 0.15), (2.59, 3.6, 0.05)),
)

# Surface ids used internally for texturing.
_S_LEFT, _S_RIGHT, _S_FLOOR, _S_CEIL, _S_FAR, _S_BACK = range(6)  # room faces
# Posters: (surface id, u0, u1, v0, v1, seed); u, v are the wall's surface coords (m).
_POSTERS = (
    (_S_FAR, -2.35, -1.35, 1.05, 2.30, 11),
    (_S_FAR, -0.75, 0.45, 1.20, 2.05, 12),
    (_S_FAR, 1.05, 2.10, 1.00, 2.45, 13),
    (_S_LEFT, -2.20, -1.20, 1.10, 2.20, 14),
    (_S_LEFT, 0.40, 1.30, 1.20, 2.30, 15),
    (_S_RIGHT, 1.20, 2.30, 1.00, 2.20, 16),
    (_S_RIGHT, -1.10, -0.30, 1.30, 2.25, 17),
    (_S_BACK, -1.00, 0.60, 1.10, 2.20, 18),
)


# --------------------------------------------------------------------------------------
# Cameras
# --------------------------------------------------------------------------------------


def demo_intrinsics(width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """Return the 3x3 float64 ``K`` (image_from_cam, pixels) of the demo camera.

    ``fx = fy = (width / 2) / tan(HFOV_DEG / 2)``, principal point at the image centre
    ``(width / 2, height / 2)``, no skew.
    """
    f = (width / 2.0) / math.tan(math.radians(HFOV_DEG) / 2.0)
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])


def _rot_x(deg: float) -> np.ndarray:
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _rot_y(deg: float) -> np.ndarray:
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _rot_z(deg: float) -> np.ndarray:
    a = math.radians(deg)
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _shake(table, t_s: float) -> np.ndarray:
    return np.array([sum(a * math.sin(2.0 * math.pi * f * t_s + p) for f, p, a in ch) for ch in table])


def _camera_pose(s: float) -> np.ndarray:
    """world_from_cam (4x4 float64) at path parameter ``s`` in [0, 1]."""
    e = 0.5 - 0.5 * math.cos(math.pi * s)  # ease in / ease out
    t_s = s * _PATH_DURATION_S
    dpos = _shake(_SHAKE_POS, t_s)
    dyaw, dpitch, droll = _shake(_SHAKE_ROT, t_s)
    position = _PATH_START + e * (_PATH_END - _PATH_START) + dpos
    yaw = _YAW_START + e * (_YAW_END - _YAW_START) + dyaw
    pitch = _PITCH_START + e * (_PITCH_END - _PITCH_START) + dpitch
    # world_from_cam rotation for a level camera looking along world -Z:
    # cam +X -> world +X, cam +Y (down) -> world -Y, cam +Z (forward) -> world -Z.
    world_from_level_cam = np.diag([1.0, -1.0, -1.0])
    rotation = _rot_y(yaw) @ _rot_x(pitch) @ world_from_level_cam @ _rot_z(droll)
    world_from_cam = np.eye(4)
    world_from_cam[:3, :3] = rotation
    world_from_cam[:3, 3] = position
    return world_from_cam


def demo_cameras(num_frames: int = NUM_FRAMES, width: int = WIDTH,
                 height: int = HEIGHT) -> tuple[np.ndarray, list[np.ndarray]]:
    """Return the demo camera: ``(K, [world_from_cam for each frame])``.

    ``K`` is 3x3 float64 in pixels (see :func:`demo_intrinsics`).  Each pose is a 4x4
    float64 rigid transform mapping camera (OpenCV axes) to world (metres, +Y up).

    The path is a hand-held-like move: a lateral dolly of 1.1 m to the right with a
    1.0 m push forward (about 1.5 m in all), a 15 degree pan, a 5 degree tilt down,
    eased in and out, plus a small smooth shake (a few mm, a few tenths of a degree).
    The camera stays about 1.5 m above the floor, looking at the far wall and objects.
    ``num_frames`` samples the whole path evenly (frame 0 at the start, the last frame
    at the end); the default 72 frames are 3 s at 24 fps.
    """
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    K = demo_intrinsics(width, height)
    if num_frames == 1:
        return K, [_camera_pose(0.0)]
    return K, [_camera_pose(i / (num_frames - 1)) for i in range(num_frames)]


# --------------------------------------------------------------------------------------
# Procedural noise (deterministic integer hashing, consistent across views)
# --------------------------------------------------------------------------------------


def _hash2(ix: np.ndarray, iy: np.ndarray, seed: int) -> np.ndarray:
    """Hash integer lattice coordinates (int32 arrays) to floats in [0, 1)."""
    with np.errstate(over="ignore"):
        h = ix.view(np.uint32) * np.uint32(0x8DA6B343) + iy.view(np.uint32) * np.uint32(0xD8163841)
        h += np.uint32((seed * 0x9E3779B1) & 0xFFFFFFFF)
        h ^= h >> np.uint32(15)
        h *= np.uint32(0x2C1B3C6D)
        h ^= h >> np.uint32(12)
        h *= np.uint32(0x297A2D39)
        h ^= h >> np.uint32(15)
    return h.astype(np.float32) * np.float32(1.0 / 4294967296.0)


def _hash_cell(u: np.ndarray, v: np.ndarray, seed: int) -> np.ndarray:
    """Hash of the integer cell containing (u, v) -> floats in [0, 1)."""
    return _hash2(np.floor(u).astype(np.int32), np.floor(v).astype(np.int32), seed)


def _value_noise(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """2-D value noise with unit lattice spacing, smoothstep-interpolated, in [0, 1]."""
    xf = np.floor(x)
    yf = np.floor(y)
    tx = (x - xf).astype(np.float32)
    ty = (y - yf).astype(np.float32)
    xi = xf.astype(np.int32)
    yi = yf.astype(np.int32)
    xi1 = xi + 1
    yi1 = yi + 1
    n00 = _hash2(xi, yi, seed)
    n10 = _hash2(xi1, yi, seed)
    n01 = _hash2(xi, yi1, seed)
    n11 = _hash2(xi1, yi1, seed)
    sx = tx * tx * (3.0 - 2.0 * tx)
    sy = ty * ty * (3.0 - 2.0 * ty)
    a = n00 + sx * (n10 - n00)
    b = n01 + sx * (n11 - n01)
    return a + sy * (b - a)


def _fbm(x: np.ndarray, y: np.ndarray, seed: int, scale: float, octaves: int = 4,
         aspect: float = 1.0, gain: float = 0.5) -> np.ndarray:
    """Multi-octave value noise in [0, 1] (mean 0.5) on surface coordinates in metres.

    ``scale`` is the lattice spacing of the first octave in metres; each further
    octave halves it.  ``aspect`` stretches the noise along ``y`` (grain).  Each octave
    is rotated and offset so lattice axes do not line up.
    """
    total = np.zeros(np.shape(x), np.float32)
    amp, norm = 1.0, 0.0
    freq = 1.0 / scale
    for k in range(octaves):
        ang = 0.61 * (k + 1) + 0.37 * seed
        c, s = math.cos(ang), math.sin(ang)
        if aspect != 1.0:  # keep grain aligned with y, only offset
            c, s = 1.0, 0.0
        xs = (c * x - s * y) * freq + 17.13 * k
        ys = (s * x + c * y) * (freq / aspect) - 9.71 * k
        total += np.float32(amp) * _value_noise(xs, ys, seed * 31 + k)
        norm += amp
        amp *= gain
        freq *= 2.0
    return total / np.float32(norm)


def _contrast(n: np.ndarray, k: float) -> np.ndarray:
    """Stretch noise about 0.5 by factor ``k`` and clip to [0, 1]."""
    return np.clip((n - 0.5) * k + 0.5, 0.0, 1.0)


def _smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    t = np.clip((x - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _frac(x: np.ndarray) -> np.ndarray:
    return x - np.floor(x)


def _mix(a, b, t: np.ndarray) -> np.ndarray:
    """Blend colours ``a`` -> ``b`` (each (3,) or (M, 3)) by ``t`` (M,)."""
    a = np.asarray(a, np.float32)
    b = np.asarray(b, np.float32)
    return a + (b - a) * t[:, None]


def _palette(h: np.ndarray, colours) -> np.ndarray:
    """Pick one of ``colours`` by a hash value ``h`` in [0, 1) -> (M, 3)."""
    table = np.asarray(colours, np.float32)
    return table[np.minimum((h * len(table)).astype(np.int64), len(table) - 1)]


# --------------------------------------------------------------------------------------
# Materials: albedo (M, 3) float32 in [0, 1] from surface coordinates in metres
# --------------------------------------------------------------------------------------


def _wood(along: np.ndarray, across: np.ndarray, seed: int, light, dark) -> np.ndarray:
    """Wood grain: stripes across, stretched noise along the grain."""
    warp = _fbm(across, along, seed, 0.25, octaves=3, aspect=3.0)
    rings = 0.5 + 0.5 * np.sin(2.0 * math.pi * (across / 0.045 + 3.0 * warp))
    grain = _fbm(across, along, seed + 1, 0.03, octaves=3, aspect=8.0)
    t = np.clip(0.55 * rings + 0.65 * _contrast(grain, 2.2) - 0.1, 0.0, 1.0)
    return _mix(light, dark, t)


def _mat_floor(p: np.ndarray) -> np.ndarray:
    """Oak planks along z, 16 cm wide, 1.1 m long, staggered, with dark seams."""
    x, z = p[:, 0], p[:, 2]
    w, length = 0.16, 1.1
    row = np.floor(x / w)
    zs = z + length * _hash2(row.astype(np.int32), np.zeros_like(row, np.int32), 3)
    col = np.floor(zs / length)
    plank = _hash2(row.astype(np.int32), col.astype(np.int32), 4)
    fx = _frac(x / w)
    fz = _frac(zs / length)
    seam = (_smoothstep(0.0, 0.04, fx) * _smoothstep(0.0, 0.04, 1.0 - fx)
            * _smoothstep(0.0, 0.007, fz) * _smoothstep(0.0, 0.007, 1.0 - fz))
    wood = _wood(zs + 7.3 * plank, x, 5, (0.70, 0.50, 0.31), (0.38, 0.23, 0.12))
    tone = (0.70 + 0.45 * plank)[:, None]
    stain = (0.80 + 0.40 * _fbm(x, z, 6, 0.9, octaves=3))[:, None]
    # Plank-local coordinates (m): across in [0, w), along in [0, length).
    across, along = fx * w, fz * length
    ri, ki = row.astype(np.int32), col.astype(np.int32)
    # A dark knot on most planks, at a hashed spot.
    kz = length * (0.15 + 0.7 * _hash2(ri, ki, 7))
    kx = w * (0.25 + 0.5 * _hash2(ri, ki, 8))
    d = np.sqrt(((along - kz) / 0.04) ** 2 + ((across - kx) / 0.014) ** 2)
    knot = (_smoothstep(1.0, 0.5, d) + 0.5 * _smoothstep(0.25, 0.0, np.abs(d - 1.5))) * (_hash2(ri, ki, 9) < 0.7)
    # Two nail heads at each plank end.
    nail_along = np.minimum(along, length - along) - 0.03
    nail_across = np.minimum(np.abs(across - 0.25 * w), np.abs(across - 0.75 * w))
    nail = _smoothstep(0.005, 0.003, np.sqrt(nail_along ** 2 + nail_across ** 2))
    dark = np.clip(1.0 - 0.6 * knot - 0.7 * nail, 0.0, 1.0)
    return wood * tone * stain * (dark * (0.30 + 0.70 * seam))[:, None]


def _mat_ceiling(p: np.ndarray) -> np.ndarray:
    """60 cm acoustic tiles with speckle and grid."""
    x, z = p[:, 0], p[:, 2]
    fx, fz = _frac(x / 0.6), _frac(z / 0.6)
    grid = (_smoothstep(0.0, 0.02, fx) * _smoothstep(0.0, 0.02, 1 - fx)
            * _smoothstep(0.0, 0.02, fz) * _smoothstep(0.0, 0.02, 1 - fz))
    speck = _contrast(_fbm(x, z, 21, 0.05, octaves=3), 2.5)
    tile = _hash_cell(x / 0.6, z / 0.6, 22)
    base = (0.78 + 0.10 * tile)[:, None] * (0.80 + 0.25 * speck)[:, None]
    return np.clip(base * (0.45 + 0.55 * grid)[:, None] * np.array([1.0, 0.98, 0.93], np.float32), 0, 1)


# Per-wall wallpaper colours: (background, motif, wainscot light, wainscot dark).
_WALL_STYLE = {
    _S_FAR: ((0.78, 0.72, 0.58), (0.45, 0.22, 0.20), (0.30, 0.42, 0.38), (0.16, 0.25, 0.22)),
    _S_LEFT: ((0.62, 0.72, 0.78), (0.17, 0.25, 0.45), (0.55, 0.45, 0.33), (0.30, 0.22, 0.14)),
    _S_RIGHT: ((0.80, 0.68, 0.62), (0.25, 0.38, 0.20), (0.42, 0.40, 0.50), (0.22, 0.20, 0.30)),
    _S_BACK: ((0.72, 0.76, 0.62), (0.42, 0.30, 0.12), (0.50, 0.30, 0.28), (0.28, 0.14, 0.12)),
}


def _wallpaper(u: np.ndarray, v: np.ndarray, seed: int, bg, fg) -> np.ndarray:
    """Offset grid of motifs on stained paper.

    Each 24 x 30 cm cell draws a diamond, ring or cross whose position, size, tint and
    brightness are jittered by the cell's hash, so the pattern reads as wallpaper but
    never repeats exactly (repeats would give false feature matches).
    """
    cw, ch = 0.24, 0.30
    row = np.floor(v / ch).astype(np.int32)
    us = u / cw + 0.5 * (row % 2)
    ci = np.floor(us).astype(np.int32)
    kind = _hash2(ci, row, seed)
    jit_u = _hash2(ci, row, seed + 101) - 0.5
    jit_v = _hash2(ci, row, seed + 202) - 0.5
    size = 0.75 + 0.5 * _hash2(ci, row, seed + 303)
    tint = _hash2(ci, row, seed + 404)
    cu = (_frac(us) - 0.5 - 0.14 * jit_u) / size
    cv = (_frac(v / ch) - 0.5 - 0.14 * jit_v) / size
    diamond = np.abs(cu) + np.abs(cv)
    ring = np.sqrt(cu * cu + cv * cv)
    cross = np.minimum(np.abs(cu), np.abs(cv)) + 0.6 * np.maximum(np.abs(cu), np.abs(cv))
    shape = np.where(kind < 0.45, diamond, np.where(kind < 0.8, ring, cross))
    line = _smoothstep(0.05, 0.025, np.abs(shape - 0.30))
    dot = _smoothstep(0.10, 0.07, ring)
    # Worn print: the ink breaks up with mid-scale noise, so each motif looks different.
    wear = _smoothstep(0.28, 0.62, _fbm(u, v, seed + 3, 0.05, octaves=3))
    motif = np.maximum(line, dot * (kind > 0.3)) * wear
    paper = _contrast(_fbm(u, v, seed + 1, 0.06, octaves=3), 2.0)
    stain = _fbm(u, v, seed + 2, 0.7, octaves=4)
    accent = np.float32(1.0) - np.asarray(fg, np.float32) * 0.6  # a paler complementary ink
    ink = _mix(fg, accent, (tint > 0.7).astype(np.float32)) * (0.55 + 0.6 * tint)[:, None]
    colour = np.asarray(bg, np.float32) + (ink - np.asarray(bg, np.float32)) * motif[:, None]
    shade = 0.62 + 0.55 * _contrast(stain, 1.8) + 0.25 * (paper - 0.5)
    return colour * shade[:, None]


def _wainscot(u: np.ndarray, v: np.ndarray, seed: int, light, dark) -> np.ndarray:
    """Panelled lower wall (v < 0.9 m): 50 cm panels with raised frames, dado rail, skirting."""
    pu = _frac(u / 0.5)
    pid = np.floor(u / 0.5)
    frame_u = np.minimum(pu, 1.0 - pu) * 0.5
    frame_v = np.minimum(np.abs(v - 0.14), np.abs(v - 0.78))
    inside = _smoothstep(0.035, 0.045, frame_u) * _smoothstep(0.0, 0.01, frame_v) * (v > 0.14) * (v < 0.78)
    bevel = _smoothstep(0.045, 0.055, frame_u) * _smoothstep(0.01, 0.02, frame_v)
    grain = _wood(v + 3.1 * pid, u, seed, light, dark)
    t = 0.55 * inside + 0.45 * bevel
    col = grain * (0.70 + 0.40 * t)[:, None]
    col = np.where((v > 0.80)[:, None] & (v < 0.86)[:, None], col * 1.35, col)  # dado rail
    col = np.where((v < 0.10)[:, None], np.asarray(dark, np.float32) * 0.8, col)  # skirting board
    return col


def _poster(u: np.ndarray, v: np.ndarray, seed: int, u0, u1, v0, v1) -> np.ndarray:
    """Abstract poster: white margin, blobby colour field, a title bar and text lines."""
    lu = (u - u0) / (u1 - u0)
    lv = (v - v0) / (v1 - v0)
    palette = [
        (0.90, 0.25, 0.20), (0.15, 0.35, 0.75), (0.95, 0.78, 0.15), (0.10, 0.55, 0.35),
        (0.55, 0.20, 0.60), (0.95, 0.55, 0.15), (0.10, 0.10, 0.12), (0.85, 0.85, 0.80),
    ]
    n1 = _fbm(u, v, seed, 0.18, octaves=4)
    n2 = _fbm(u, v, seed + 50, 0.09, octaves=3)
    band = np.floor(n1 * 7.0 + 2.0 * n2)
    colour = _palette(_frac(band * 0.618 + seed * 0.1), palette)
    edge = _smoothstep(0.02, 0.0, np.abs(_frac(n1 * 7.0 + 2.0 * n2) - 0.5) - 0.47)
    colour = colour * (1.0 - 0.6 * edge)[:, None]
    art = (lv > 0.30) & (lv < 0.94) & (lu > 0.06) & (lu < 0.94)
    # Text area below the art: rows of dark "words" of hashed length.
    line_i = np.floor((lv - 0.06) / 0.045)
    in_line = (_frac((lv - 0.06) / 0.045) < 0.55) & (lv > 0.06) & (lv < 0.26)
    word = _hash_cell(lu * 14.0 + 3.7 * line_i, line_i, seed + 7)
    gap = _frac(lu * 14.0 + 3.7 * line_i) < 0.82
    text = in_line & (word < 0.75) & gap & (lu > 0.08) & (lu < 0.92 - 0.3 * _hash_cell(line_i, line_i, seed))
    paper = np.float32(0.90) + 0.08 * _fbm(u, v, seed + 3, 0.03, octaves=2)[:, None] * np.ones(3, np.float32)
    out = np.where(art[:, None], colour, paper)
    return np.where(text[:, None], np.float32(0.12), out)


def _mat_wall(sid: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Wall albedo on surface ``sid`` at wall coordinates (u along the wall, v = height)."""
    bg, fg, wl, wd = _WALL_STYLE[sid]
    out = _wallpaper(u, v, 40 + sid, bg, fg)
    low = v < 0.9
    if np.any(low):
        out[low] = _wainscot(u[low], v[low], 60 + sid, wl, wd)
    for psid, u0, u1, v0, v1, seed in _POSTERS:
        if psid != sid:
            continue
        m = (u >= u0) & (u <= u1) & (v >= v0) & (v <= v1)
        if np.any(m):
            out[m] = _poster(u[m], v[m], seed, u0, u1, v0, v1)
        # Thin dark frame around the poster.
        fr = (u >= u0 - 0.02) & (u <= u1 + 0.02) & (v >= v0 - 0.02) & (v <= v1 + 0.02) & ~m
        out[fr] = np.float32(0.08)
    return out


def _mat_table(face_axis: np.ndarray, uv: np.ndarray, p_local: np.ndarray) -> np.ndarray:
    """Table: wooden top; painted sides with vertical slats, an apron band and knobs."""
    u, v = uv[:, 0], uv[:, 1]
    out = np.empty((len(u), 3), np.float32)
    top = face_axis == 1
    if np.any(top):
        out[top] = _wood(u[top], v[top], 71, (0.78, 0.58, 0.38), (0.45, 0.28, 0.15))
    side = ~top
    if np.any(side):
        us, vs = u[side], v[side]
        y = p_local[side, 1] + 0.375  # height above the floor
        slat = _frac(us / 0.07)
        slat_line = _smoothstep(0.0, 0.08, slat) * _smoothstep(0.0, 0.08, 1.0 - slat)
        paint = _mix((0.20, 0.45, 0.50), (0.10, 0.25, 0.30), _contrast(_fbm(us, vs, 72, 0.15, 4), 1.8))
        col = paint * (0.55 + 0.45 * slat_line)[:, None]
        apron = (y > 0.58) & (y < 0.72)
        col = np.where(apron[:, None], _mix((0.85, 0.80, 0.65), (0.55, 0.50, 0.40),
                                            _fbm(us, vs, 73, 0.04, 3)), col)
        kx = (_frac(us / 0.35) - 0.5) * 0.35  # metres from the nearest knob column
        knob = kx * kx + (y - 0.65) ** 2 < 0.018 ** 2
        col = np.where(knob[:, None], np.float32(0.05), col)
        out[side] = col
    return out


def _mat_crate(face_axis: np.ndarray, face_sign: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Crate: horizontal slats with gaps, a diagonal brace and a stencilled stripe pattern."""
    u, v = uv[:, 0], uv[:, 1]
    face = (face_axis * 2 + (face_sign > 0)).astype(np.int32)
    slat_i = np.floor((v + 0.3) / 0.1)
    slat_f = _frac((v + 0.3) / 0.1)
    gap = _smoothstep(0.0, 0.06, slat_f) * _smoothstep(0.0, 0.06, 1.0 - slat_f)
    tone = _hash2(slat_i.astype(np.int32), face, 81)
    wood = _wood(u + 5.0 * tone, v, 82, (0.80, 0.64, 0.40), (0.50, 0.34, 0.18))
    col = wood * (0.75 + 0.35 * tone)[:, None] * (0.25 + 0.75 * gap)[:, None]
    # Frame boards around each face and one diagonal brace.
    edge = np.maximum(np.abs(u), np.abs(v))
    frame = edge > 0.24
    brace = (np.abs(u - v) < 0.045) & ~frame
    board = _wood(u + v, u - v, 83, (0.72, 0.52, 0.30), (0.42, 0.26, 0.12))
    col = np.where((frame | brace)[:, None], board, col)
    # Painted black/yellow hazard stripes in a band on the sides.
    band = (np.abs(v + 0.12) < 0.05) & ~frame & ~brace & (face_axis != 1)
    stripe = _frac((u + v) / 0.06) < 0.5
    paint = np.where(stripe[:, None], np.float32([0.92, 0.76, 0.10]), np.float32([0.08, 0.08, 0.08]))
    return np.where(band[:, None], paint, col)


def _mat_ball(n_local: np.ndarray, radius: float) -> np.ndarray:
    """Beach ball: six coloured longitude segments, white polar caps, triplanar noise."""
    lon = np.arctan2(n_local[:, 0], n_local[:, 2])  # seam at lon = +-pi faces away from the camera
    lat = np.arcsin(np.clip(n_local[:, 1], -1.0, 1.0))
    seg = np.floor((lon + math.pi) / (math.pi / 3.0))
    colours = [(0.90, 0.15, 0.15), (0.95, 0.95, 0.92), (0.15, 0.35, 0.85),
               (0.95, 0.80, 0.10), (0.15, 0.65, 0.30), (0.95, 0.95, 0.92)]
    col = _palette(np.clip(seg / 6.0 + 1e-6, 0.0, 0.999999).astype(np.float32), colours)
    cap = np.abs(lat) > math.radians(68)
    col = np.where(cap[:, None], np.float32([0.95, 0.95, 0.92]), col)
    rim = np.abs(np.abs(lat) - math.radians(68)) < math.radians(2.5)
    col = np.where(rim[:, None], np.float32(0.15), col)
    q = n_local * radius
    w = n_local * n_local
    tri = (w[:, 0] * _fbm(q[:, 1], q[:, 2], 91, 0.05, 3) + w[:, 1] * _fbm(q[:, 0], q[:, 2], 92, 0.05, 3)
           + w[:, 2] * _fbm(q[:, 0], q[:, 1], 93, 0.05, 3))
    return col * (0.70 + 0.50 * _contrast(tri, 2.0))[:, None]


def _mat_column(is_cap: np.ndarray, p_local: np.ndarray, radius: float) -> np.ndarray:
    """Column: marble body with coloured horizontal bands of hashed widths; ringed cap."""
    x, y, z = p_local[:, 0], p_local[:, 1], p_local[:, 2]
    out = np.empty((len(x), 3), np.float32)
    side = ~is_cap
    if np.any(side):
        theta = np.arctan2(x[side], z[side])  # seam at +-pi faces away from the camera
        s = theta * radius
        ys = y[side]
        vein = _fbm(s, ys, 101, 0.3, 4)
        marble = 0.5 + 0.5 * np.sin(2 * math.pi * (ys * 2.0 + s * 1.5 + 4.0 * vein))
        col = _mix((0.90, 0.88, 0.84), (0.35, 0.35, 0.40), marble ** 3)
        band_i = np.floor(ys / 0.12)
        h = _hash2(band_i.astype(np.int32), np.zeros_like(band_i, np.int32), 102)
        banded = h < 0.4
        bcol = _palette(_frac(h * 7.0), [(0.70, 0.20, 0.15), (0.15, 0.30, 0.60), (0.10, 0.10, 0.10),
                                          (0.85, 0.65, 0.15)])
        checker = ((np.floor(s / 0.06) + band_i) % 2 == 0) & (h < 0.15)
        bcol = np.where(checker[:, None], np.float32(0.92), bcol)
        col = np.where(banded[:, None], bcol * (0.8 + 0.4 * vein)[:, None], col)
        out[side] = col
    if np.any(is_cap):
        r = np.sqrt(x[is_cap] ** 2 + z[is_cap] ** 2)
        rings = _frac(r / 0.04) < 0.5
        n = _fbm(x[is_cap], z[is_cap], 103, 0.05, 3)
        col = np.where(rings[:, None], np.float32([0.80, 0.30, 0.20]), np.float32([0.92, 0.90, 0.85]))
        out[is_cap] = col * (0.7 + 0.5 * n)[:, None]
    return out


# --------------------------------------------------------------------------------------
# Ray casting
# --------------------------------------------------------------------------------------

_EPS = 1e-6


def _intersect(origin: np.ndarray, dirs: np.ndarray):
    """Cast rays ``origin + t * dirs`` and return the nearest hit of each.

    Args:
        origin: (3,) float64 camera centre in world metres (inside the room).
        dirs: (3, N) float64 world ray directions, component-major, each scaled so its
            camera-z component is 1 -- the ray parameter ``t`` is then the z-depth.

    Returns:
        t: (N,) float64 parameter (= z-depth, metres) of the nearest hit.
        inst: (N,) int32 instance id of the hit (0 room, 1..n objects).
        face: (N,) int32 primitive-local face code (room: surface id _S_*; box:
            2 * local axis + (outward normal along +axis); cylinder: 0 side, 1 top cap;
            sphere: 0).
    """
    n = dirs.shape[1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inv = 1.0 / dirs
        # Room: interior of an axis-aligned box; the exit face is the hit.
        t_best = np.full(n, np.inf)
        face_best = np.zeros(n, np.int32)
        for a in range(3):
            ta = np.where(inv[a] > 0, (ROOM_MAX[a] - origin[a]) * inv[a], (ROOM_MIN[a] - origin[a]) * inv[a])
            ta[~np.isfinite(ta) | (ta <= 0)] = np.inf
            closer = ta < t_best
            t_best = np.where(closer, ta, t_best)
            # Surface id: axis 0 -> left/right, 1 -> floor/ceiling, 2 -> far/back.
            face_best = np.where(closer, 2 * a + (dirs[a] > 0), face_best).astype(np.int32)
        inst_best = np.zeros(n, np.int32)
        for obj in OBJECTS:
            c = np.asarray(obj["center_m"], float)
            if obj["kind"] == "box":
                half = 0.5 * np.asarray(obj["size_m"], float)
                world_from_box = _rot_y(obj["yaw_deg"])
                o = world_from_box.T @ (origin - c)
                t_near = np.full(n, -np.inf)
                t_far = np.full(n, np.inf)
                face = np.zeros(n, np.int32)
                for a in range(3):
                    # Local direction component a = (box_from_world @ d)[a].
                    d = world_from_box[0, a] * dirs[0] + world_from_box[1, a] * dirs[1] + world_from_box[2, a] * dirs[2]
                    t1 = (-half[a] - o[a]) / d
                    t2 = (half[a] - o[a]) / d
                    lo = np.minimum(t1, t2)
                    t_far = np.minimum(t_far, np.maximum(t1, t2))
                    upd = lo > t_near
                    t_near = np.where(upd, lo, t_near)
                    # Entering through the face whose outward normal opposes the ray.
                    face = np.where(upd, 2 * a + (d < 0), face).astype(np.int32)
                t = np.where((t_near <= t_far) & (t_near > _EPS), t_near, np.inf)
            elif obj["kind"] == "sphere":
                r = obj["radius_m"]
                oc = origin - c
                a2 = dirs[0] * dirs[0] + dirs[1] * dirs[1] + dirs[2] * dirs[2]
                b = 2.0 * (oc[0] * dirs[0] + oc[1] * dirs[1] + oc[2] * dirs[2])
                disc = b * b - 4.0 * a2 * (oc @ oc - r * r)
                t = (-b - np.sqrt(np.maximum(disc, 0.0))) / (2.0 * a2)
                t = np.where((disc >= 0) & (t > _EPS), t, np.inf)
                face = np.zeros(n, np.int32)
            elif obj["kind"] == "cylinder":
                r, h = obj["radius_m"], obj["height_m"]
                y0, y1 = c[1] - h / 2, c[1] + h / 2
                ox, oz = origin[0] - c[0], origin[2] - c[2]
                dx, dy, dz = dirs
                a2 = dx * dx + dz * dz
                b = 2.0 * (ox * dx + oz * dz)
                disc = b * b - 4.0 * a2 * (ox * ox + oz * oz - r * r)
                t_side = (-b - np.sqrt(np.maximum(disc, 0.0))) / (2.0 * a2)
                y_side = origin[1] + t_side * dy
                side_ok = (disc >= 0) & (t_side > _EPS) & (y_side >= y0) & (y_side <= y1)
                t_side = np.where(side_ok, t_side, np.inf)
                # Top cap (the bottom cap lies on the floor and can never be seen).
                t_cap = (y1 - origin[1]) * inv[1]
                qx, qz = ox + t_cap * dx, oz + t_cap * dz
                t_cap = np.where((t_cap > _EPS) & (qx * qx + qz * qz <= r * r), t_cap, np.inf)
                t = np.minimum(t_side, t_cap)
                face = (t_cap < t_side).astype(np.int32)
            else:  # pragma: no cover - OBJECTS is fixed
                raise ValueError(f"unknown object kind {obj['kind']!r}")
            closer = t < t_best
            t_best = np.where(closer, t, t_best)
            inst_best[closer] = obj["instance_id"]
            face_best = np.where(closer, face, face_best)
    return t_best, inst_best, face_best


def _shade(origin: np.ndarray, dirs: np.ndarray, t: np.ndarray, inst: np.ndarray, face: np.ndarray) -> np.ndarray:
    """Colour of each hit: albedo x (ambient + diffuse * max(0, n . light)).

    Args:
        origin: (3,) world camera centre, metres.
        dirs: (N, 3) world ray directions (camera-z component 1).
        t, inst, face: (N,) nearest-hit parameter, instance id and face code from
            :func:`_intersect`.

    Returns:
        (N, 3) float32 RGB in [0, 1].
    """
    p = origin + t[:, None] * dirs
    n = len(t)
    albedo = np.zeros((n, 3), np.float32)
    normal = np.zeros((n, 3), np.float64)
    # Room.
    room = inst == 0
    room_normals = {_S_LEFT: (1, 0, 0), _S_RIGHT: (-1, 0, 0), _S_FLOOR: (0, 1, 0),
                    _S_CEIL: (0, -1, 0), _S_FAR: (0, 0, 1), _S_BACK: (0, 0, -1)}
    for sid, nrm in room_normals.items():
        m = room & (face == sid)
        if not np.any(m):
            continue
        q = p[m]
        normal[m] = nrm
        if sid == _S_FLOOR:
            albedo[m] = _mat_floor(q)
        elif sid == _S_CEIL:
            albedo[m] = _mat_ceiling(q)
        else:
            # Wall coordinates: u runs left-to-right as seen from inside, v is height.
            u = {_S_FAR: q[:, 0], _S_BACK: -q[:, 0], _S_LEFT: q[:, 2], _S_RIGHT: -q[:, 2]}[sid]
            albedo[m] = _mat_wall(sid, u, q[:, 1])
    for obj in OBJECTS:
        k = obj["instance_id"]
        m = inst == k
        if not np.any(m):
            continue
        c = np.asarray(obj["center_m"], float)
        if obj["kind"] == "box":
            world_from_box = _rot_y(obj["yaw_deg"])
            p_local = (p[m] - c) @ world_from_box  # box_from_world applied to rows
            axis = face[m] // 2
            sign = np.where(face[m] % 2 == 1, 1.0, -1.0)
            n_local = np.zeros_like(p_local)
            n_local[np.arange(len(axis)), axis] = sign
            normal[m] = n_local @ world_from_box.T
            # Face coordinates: vertical faces (u horizontal, v = local y); top (x, z).
            uv = np.where((axis == 0)[:, None], p_local[:, [2, 1]],
                          np.where((axis == 1)[:, None], p_local[:, [0, 2]], p_local[:, [0, 1]]))
            if obj["name"] == "table":
                albedo[m] = _mat_table(axis, uv, p_local)
            else:
                albedo[m] = _mat_crate(axis, sign, uv)
        elif obj["kind"] == "sphere":
            n_local = (p[m] - c) / obj["radius_m"]
            normal[m] = n_local
            albedo[m] = _mat_ball(n_local, obj["radius_m"])
        else:  # cylinder
            p_local = p[m] - c
            is_cap = face[m] == 1
            nn = np.zeros_like(p_local)
            nn[:, 0] = p_local[:, 0]
            nn[:, 2] = p_local[:, 2]
            nn /= np.maximum(np.linalg.norm(nn, axis=1, keepdims=True), 1e-12)
            nn[is_cap] = (0.0, 1.0, 0.0)
            normal[m] = nn
            albedo[m] = _mat_column(is_cap, p_local, obj["radius_m"])
    lambert = np.clip(normal @ _LIGHT_DIR, 0.0, None).astype(np.float32)
    return np.clip(albedo * (_AMBIENT + _DIFFUSE * lambert)[:, None], 0.0, 1.0)


def _pixel_rays(world_from_cam: np.ndarray, K: np.ndarray, us: np.ndarray, vs: np.ndarray):
    """World rays through pixel coordinates ``(u, v)`` (any equal shapes, pixels).

    Returns ``origin`` (3,) float64 world camera centre and ``dirs`` (3, N) float64
    world directions, component-major, scaled so the camera-z component is 1.
    """
    world_from_cam = np.asarray(world_from_cam, float)
    cam_from_image = np.linalg.inv(K)
    u, v = us.ravel().astype(float), vs.ravel().astype(float)
    d_cam = [cam_from_image[r, 0] * u + cam_from_image[r, 1] * v + cam_from_image[r, 2] for r in range(3)]
    d_cam = [d_cam[0] / d_cam[2], d_cam[1] / d_cam[2], np.ones_like(u)]  # camera z = 1 -> t is z-depth
    rot = world_from_cam[:3, :3]
    dirs = np.stack([rot[r, 0] * d_cam[0] + rot[r, 1] * d_cam[1] + rot[r, 2] for r in range(3)])
    return world_from_cam[:3, 3].copy(), dirs


def render_frame(world_from_cam: np.ndarray, K: np.ndarray, width: int, height: int, *,
                 supersample: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render one view of the demo scene.

    Args:
        world_from_cam: (4, 4) rigid transform, camera (OpenCV axes) -> world (metres).
        K: (3, 3) image_from_cam intrinsics in pixels; pixel (row i, col j) has its
            centre at (u, v) = (j + 0.5, i + 0.5).
        width, height: image size in pixels.
        supersample: RGB anti-aliasing factor per axis (2 -> 2x2 samples per pixel on a
            regular grid); depth and instance always come from the pixel centre.

    Returns:
        rgb: (height, width, 3) uint8, display-ready (no further gamma).
        depth: (height, width) float32 z-depth in metres along the camera's +Z at the
            pixel centre; 0 where nothing is hit (never, inside the closed room).
        instance: (height, width) int32 at the pixel centre; 0 = room, 1..n =
            OBJECTS[i - 1] (``instance_id``).
    """
    width, height, ss = int(width), int(height), int(supersample)
    K = np.asarray(K, float)
    # Pixel centres: depth and instance.
    jj, ii = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    origin, dirs = _pixel_rays(world_from_cam, K, jj, ii)
    t, inst, _ = _intersect(origin, dirs)
    hit = np.isfinite(t)
    depth = np.where(hit, t, 0.0).astype(np.float32).reshape(height, width)
    instance = np.where(hit, inst, 0).astype(np.int32).reshape(height, width)
    # Sub-samples: colour.
    offs = (np.arange(ss) + 0.5) / ss
    jj, ii = np.meshgrid(np.arange(width)[:, None] + offs[None, :], np.arange(height)[:, None] + offs[None, :])
    jj, ii = jj.reshape(height * ss, width * ss), ii.reshape(height * ss, width * ss)
    origin, dirs = _pixel_rays(world_from_cam, K, jj, ii)
    t, inst, face = _intersect(origin, dirs)
    colour = np.zeros((len(t), 3), np.float32)
    ok = np.isfinite(t)
    colour[ok] = _shade(origin, dirs[:, ok].T, t[ok], inst[ok], face[ok])
    colour = colour.reshape(height, ss, width, ss, 3).mean(axis=(1, 3))
    rgb = np.clip(np.rint(colour * 255.0), 0, 255).astype(np.uint8)
    return rgb, depth, instance


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------

_CONVENTIONS = (
    "World: right-handed, +Y up, metres, floor at y = 0. Camera axes OpenCV: +X right, +Y down, "
    "+Z forward. world_from_cam is a 4x4 rigid transform mapping camera coordinates to world "
    "coordinates (p_world = world_from_cam @ p_cam, homogeneous column vectors). K is image_from_cam "
    "in pixels: u = fx * x / z + cx, v = fy * y / z + cy, and the centre of pixel (row i, col j) is "
    "(u, v) = (j + 0.5, i + 0.5). Frame i is the i-th decoded video frame, shown at time i / fps. "
    "Depth in this scene is z-depth along the camera's +Z. Objects: box center_m is the box centre, "
    "size_m its full extents in its own frame, yaw_deg a right-handed rotation about world +Y "
    "(world_from_box = T(center_m) @ R_y(yaw_deg)); sphere center_m/radius_m; cylinder axis along "
    "world +Y, center_m the middle of the axis, height_m and radius_m. instance_id is the value in "
    "generate.render_frame's instance map (0 = room)."
)


def ground_truth(num_frames: int = NUM_FRAMES) -> dict:
    """The ground-truth dictionary written to ``ground_truth.json`` (JSON-ready)."""
    K, poses = demo_cameras(num_frames)
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "fps": FPS,
        "num_frames": num_frames,
        "K": K.tolist(),
        "frames": [{"frame": i, "time_s": i / FPS, "world_from_cam": p.tolist()} for i, p in enumerate(poses)],
        "objects": [dict(o) for o in OBJECTS],
        "room": {"min_m": list(ROOM_MIN), "max_m": list(ROOM_MAX), "instance_id": 0},
        "light": {"direction_to_light": _LIGHT_DIR.tolist(), "ambient": _AMBIENT, "diffuse": _DIFFUSE},
        "units": "metres",
        "conventions": _CONVENTIONS,
        "generator": "assets/demo/generate.py (procedural, licence-clean; regenerate with "
                     "`python assets/demo/generate.py`)",
    }


def _render_rgb(args) -> np.ndarray:
    world_from_cam, K = args
    return render_frame(world_from_cam, K, WIDTH, HEIGHT)[0]


def _encode(frames, path: Path, fps: int, crf: int) -> None:
    import av  # imported here so the module imports with numpy alone

    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=fps,
                                      options={"crf": str(crf), "preset": "slow", "tune": "film"})
        stream.width = WIDTH
        stream.height = HEIGHT
        stream.pix_fmt = "yuv420p"
        for rgb in frames:
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def main(argv=None) -> int:
    """Command line: render the clip and write ``room.mp4`` and ``ground_truth.json``."""
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=here, help="output directory (default: next to this file)")
    parser.add_argument("--frames", type=int, default=NUM_FRAMES,
                        help=f"number of frames sampled along the whole path (default {NUM_FRAMES})")
    parser.add_argument("--crf", type=int, default=18, help="libx264 constant rate factor (default 18)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="render processes")
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    K, poses = demo_cameras(args.frames)
    work = [(p, K) for p in poses]
    if args.jobs > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            frames = list(pool.map(_render_rgb, work))
    else:
        frames = [_render_rgb(w) for w in work]
    t1 = time.perf_counter()
    video = args.out / "room.mp4"
    _encode(frames, video, FPS, args.crf)
    gt_path = args.out / "ground_truth.json"
    gt_path.write_text(json.dumps(ground_truth(args.frames), indent=1) + "\n")
    t2 = time.perf_counter()
    print(f"rendered {len(frames)} frames in {t1 - t0:.1f} s, encoded in {t2 - t1:.1f} s; "
          f"wrote {video} ({video.stat().st_size / 1e6:.2f} MB) and {gt_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
