"""A light probe from the footage: what the camera saw, as seen from one point of the scene,
with the unseen directions filled and the dominant light estimated from the scene's shading.

Steps (``build_light_probe``):

1. **Samples.** Up to ``max_frames`` frames with depth, evenly spread. Every ``pixel_stride``-th
   pixel with a confident depth (outside ``exclude``, e.g. moving objects) is lifted to a world
   point (OpenCV camera axes, ``world_from_cam``, :meth:`Intrinsics.unproject`) with its linear
   colour (the 8-bit footage decoded with the sRGB curve unless ``encoding="linear"``).
2. **Radiance map.** Each point's direction from the probe centre picks a texel of an
   equirectangular map (conventions in :mod:`sceneforge.scenegraph.types._light`). A texel keeps
   the samples near its nearest one (what the centre would see, not what lies behind it) and
   averages their colour. ``seen`` = texels with at least ``min_texel_samples`` samples. The
   default centre lies half-way between the median point the frames see and the median camera
   centre: in the scene's free space, where inserted objects would stand.
3. **Fill.** A regularised least-squares fit of order-2 spherical harmonics to the seen texels
   is evaluated where nothing was seen; near the seen region the fill fades into a local,
   normalised-convolution average of the seen texels, so there is no seam. Never negative.
4. **Key light by inverse shading.** A Lambertian surface of albedo ρ shows
   ``ρ · (a + b · max(0, n·l))`` under ambient light plus one directional light ``l``. The
   albedo is unknown and varies from surface to surface, so the fit uses *pairs* of nearby
   points on one smoothly curved surface (a ball, a column, a cushion): their luminance ratio
   cancels the albedo, ``log Y_p - log Y_q = log s(n_p) - log s(n_q)`` with
   ``s(n) = 1 + β max(0, n·l)``, ``β = b/a``. Normals come from a plane fit to the unprojected
   depth in a small window (windows that are not planar — edges, occlusions — are dropped). A
   pair's normals differ by ``crease_deg`` or more, the window half-way between them is planar
   with a normal in between and its point lies off the chord as far as the normals' turn says
   (curvature, not a crease, where the material often changes too, nor noise in the normals);
   the two windows are close in 3D, of one chromaticity and little texture. ``l`` is searched
   over a Fibonacci sphere and ``β`` over a grid with a robust (Geman–McClure) cost, then
   refined; each channel's ``β`` is then fitted with ``l`` fixed (the light's colour, within a
   factor of two of its luminance).

   The pairs need accurate depth. When their fit shows no significant light (``β`` below
   ``min_key_ratio`` or too little gain over no light) and the depth is accurate (neighbouring
   windows' normals turn by less than ``max_normal_noise_deg``), there is no key light. When the
   depth is too noisy to trust that verdict (stereo depth: a few degrees), the key light is
   fitted to the median luminance of the surfaces in each orientation bin instead,
   ``Y(n) ≈ a + b·max(0, n·l)`` with a, b ≥ 0 — which assumes albedo does not depend on
   orientation (a floor darker than the walls pulls the light away from overhead) — and gives
   no colour; it too is rejected when it explains too little.
5. **Absolute scale without an albedo.** ``ambient_radiance`` = the filled map's mean over the
   sphere; ``key_irradiance = π · ambient · β`` per channel (with one β for all channels, the
   orientation fit's case, the key is taken as neutral with the ambient's luminance: cameras
   white-balance for the dominant light). Where the surfaces facing the key would then need an
   albedo above ``max_albedo`` (99th percentile) to look as bright as they do, the key is made
   as much stronger as that takes: the map holds reflected light only. A white Lambertian surface facing
   away from the key shows ≈ ambient, facing it ≈ ambient + key_irradiance / π.
6. **The key in the map.** A disc of ``key_radius_deg`` at ``key_direction`` whose irradiance at
   normal incidence is ``key_irradiance`` is added to the map; ``sh`` is the SH projection of
   the final map, so ``probe.irradiance(n) ≈ π·ambient + key_irradiance·max(0, n·l)``.

What the model ignores: cast shadows (a shadowed patch looks like one facing away; the robust
cost treats such pairs as outliers), inter-reflections between the surfaces (part of "ambient"),
and light sources the camera saw directly (their pixels are in the map already; the painted key
is added on top of them).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import numpy as np

from sceneforge.scenegraph import CameraTrack, DepthMap, Frames, InputError, LightProbe, SolveError
from sceneforge.scenegraph.types import equirect_directions, equirect_pixels, equirect_solid_angles, sh_basis, sh_project

from .._checks import DepthMapsLike, FrameMasksLike, check_frames_and_track, depths_by_index, masks_by_index
from .._progress import ProgressFn
from ._frame_surface import intrinsics_at

__all__ = ["LightProbeConfig", "build_light_probe"]

log = logging.getLogger(__name__)

_LUMA = np.array([0.2126, 0.7152, 0.0722])
"""Rec. 709 luminance weights of linear RGB."""

_SATURATED = 250
"""8-bit values at or above this are taken as clipped: their ratio says nothing about light."""

_SURFACE_SAMPLES = 5000
"""Windows per frame kept for the orientation fallback."""


@dataclass(frozen=True)
class LightProbeConfig:
    """How :func:`build_light_probe` builds the light probe of a shot."""

    height: int = 128
    """Height of the equirectangular map in texels (its width is twice that)."""
    max_frames: int = 60
    """Use at most this many frames with depth, evenly spread over the clip."""
    pixel_stride: int = 2
    """Sample every n-th pixel (both ways) of each frame's depth grid."""
    encoding: Literal["srgb", "linear"] = "srgb"
    """How the 8-bit footage relates to light: ``srgb`` (decoded with the sRGB curve, as cameras
    and players encode it) or ``linear`` (values proportional to light, e.g. a synthetic render)."""
    centre: tuple[float, float, float] | None = None
    """The point the map is seen from, world scene units; None: the scene's centre (see
    ``centre_towards_cameras``)."""
    centre_towards_cameras: float = 0.5
    """The default centre: the median of the world points the frames see, moved this share of
    the way towards the median camera centre (0: the median point, often on the largest wall;
    1: where the camera stood)."""
    min_texel_samples: int = 3
    """Texels with fewer samples than this count as unseen (stray points of noisy depth)."""
    key_radius_deg: float = 5.0
    """Angular radius of the disc the key light is painted as into the map."""
    max_albedo: float = 0.9
    """No surface is whiter than this: where the surfaces facing the key light would need a
    higher albedo (99th percentile) to look as bright as they do, the key light is made
    stronger (the shading fit gives it only relative to the light the room reflects)."""
    min_confidence: float = 0.05
    """Depth pixels less confident than this are not used."""
    occlusion_margin: float = 0.25
    """A texel keeps the samples no farther from the centre than (1 + this) × its nearest one."""
    fill_blend_deg: float = 12.0
    """Width of the soft blend from the seen texels' local colour into the SH fill."""
    sh_regularisation: float = 0.05
    """Weight of the penalty on the SH fill's bands 1 and 2 (higher: a flatter fill)."""
    normal_window_px: int = 3
    """Half-width of the window a normal's plane is fitted in (pixels of the depth grid)."""
    colour_window_px: int = 1
    """Half-width of the window whose mean colour a normal's point takes."""
    max_planarity: float = 0.05
    """A window whose smallest spread (eigenvalue) exceeds this share of its middle one is not
    planar (an edge, an occlusion) and gives no normal."""
    crease_deg: float = 15.0
    """A shading pair's normals must differ by at least this angle."""
    max_chroma_difference: float = 0.04
    """A shading pair's chromaticities (r, g, b over their sum) may differ by at most this (L1):
    one material."""
    max_texture: float = 0.25
    """A shading pair's windows may vary in luminance by at most this coefficient of variation
    (texture makes the ratio of two windows a ratio of albedos, not of light)."""
    curved_only: bool = True
    """Take pairs only on smoothly curved surfaces (the window half-way between is planar with a
    normal in between), not across creases, where the material often changes too."""
    max_bend_mismatch: float = 0.5
    """A shading pair's points must bend by the angle its normals turn, within this share of it."""
    max_normal_noise_deg: float = 1.0
    """Depth whose neighbouring windows' normals turn by less than this (median) is accurate
    enough to trust the shading pairs' "no directional light"; noisier depth falls back to the
    luminance of surfaces by orientation (which assumes albedo does not depend on orientation)."""
    min_bin_samples: int = 30
    """Orientation bins with fewer windows than this are left out of the fallback fit."""
    min_orientation_gain: float = 0.2
    """The fallback's key light must explain at least this share of the luminance's variance
    over orientations."""
    max_pairs: int = 40_000
    """Shading pairs used in the fit (a random subset when there are more)."""
    min_pairs: int = 100
    """Fewer shading pairs than this: no key light is estimated."""
    min_key_ratio: float = 0.1
    """A key light weaker than this share of the ambient light (β = b/a) is rejected."""
    min_fit_gain: float = 0.03
    """A key light must lower the fit's robust cost by at least this share against no key light."""

    def __post_init__(self) -> None:
        if int(self.height) < 4:
            raise InputError(f"height must be at least 4 texels, got {self.height}")
        if self.max_frames < 1 or self.pixel_stride < 1:
            raise InputError(f"max_frames and pixel_stride must be ≥ 1, got {self.max_frames} and {self.pixel_stride}")
        if self.encoding not in ("srgb", "linear"):
            raise InputError(f"encoding must be 'srgb' or 'linear', got {self.encoding!r}")
        if self.centre is not None:
            centre = np.asarray(self.centre, dtype=np.float64)
            if centre.shape != (3,) or not np.all(np.isfinite(centre)):
                raise InputError(f"centre must be 3 finite world coordinates (or None), got {self.centre!r}")
            object.__setattr__(self, "centre", tuple(float(v) for v in centre))
        if not 0 < self.max_albedo <= 1:
            raise InputError(f"max_albedo must be in (0, 1], got {self.max_albedo}")
        if not 0 < self.key_radius_deg <= 45:
            raise InputError(f"key_radius_deg must be in (0, 45], got {self.key_radius_deg}")
        if not 0 <= self.min_confidence <= 1:
            raise InputError(f"min_confidence must be in 0..1, got {self.min_confidence}")
        if not 0 <= self.centre_towards_cameras <= 1 or self.min_texel_samples < 1:
            raise InputError("centre_towards_cameras must be in 0..1 and min_texel_samples ≥ 1")
        if self.occlusion_margin < 0 or self.fill_blend_deg < 0 or self.sh_regularisation < 0:
            raise InputError("occlusion_margin, fill_blend_deg and sh_regularisation must be ≥ 0")
        if self.normal_window_px < 1:
            raise InputError(f"normal_window_px must be ≥ 1, got {self.normal_window_px}")
        if not 0 < self.max_planarity < 1 or not 0 < self.crease_deg < 90:
            raise InputError("max_planarity must be in (0, 1) and crease_deg in (0, 90)")
        if self.max_chroma_difference <= 0 or self.max_pairs < 10 or self.min_pairs < 1:
            raise InputError("max_chroma_difference must be positive, max_pairs ≥ 10 and min_pairs ≥ 1")
        if self.min_key_ratio < 0 or not 0 <= self.min_fit_gain < 1 or not 0 <= self.min_orientation_gain < 1:
            raise InputError("min_key_ratio must be ≥ 0, min_fit_gain and min_orientation_gain in [0, 1)")
        if self.colour_window_px < 0 or self.max_texture <= 0 or self.max_bend_mismatch <= 0:
            raise InputError("colour_window_px must be ≥ 0, max_texture and max_bend_mismatch positive")
        if self.max_normal_noise_deg < 0 or self.min_bin_samples < 1:
            raise InputError("max_normal_noise_deg must be ≥ 0 and min_bin_samples ≥ 1")
        object.__setattr__(self, "height", int(self.height))


@dataclass(frozen=True)
class _FrameSamples:
    """What one frame gives: map samples and shading pairs, in world axes."""

    points: np.ndarray  # M×3 float64 world points
    colours: np.ndarray  # M×3 float32 linear RGB
    normals_p: np.ndarray  # K×3 float64 unit world normals of the pairs' first points
    normals_q: np.ndarray  # K×3 ... second points
    colours_p: np.ndarray  # K×3 float64 linear RGB (window means)
    colours_q: np.ndarray  # K×3
    surface_normals: np.ndarray  # S×3 float64 unit world normals of usable windows
    surface_colours: np.ndarray  # S×3 float64 their linear colours
    normal_noise_deg: float  # median angle between neighbouring windows' normals (nan: none)


def build_light_probe(
    frames: Frames,
    track: CameraTrack,
    depth: DepthMapsLike,
    *,
    config: LightProbeConfig = LightProbeConfig(),
    exclude: FrameMasksLike | None = None,
    progress: ProgressFn | None = None,
) -> LightProbe:
    """The light probe of a shot: an equirectangular map of what the frames saw, seen from one
    point, unseen directions filled, the dominant light estimated and painted in (module doc).

    Args:
        frames: N×H×W×3 uint8 RGB frames.
        track: one camera per frame (OpenCV axes, ``world_from_cam``, intrinsics at the frames' size).
        depth: z-depth maps keyed by source frame number (:class:`DepthMaps` or a mapping), for
            some or all frames, on the frame's pixel grid or a scaled one; frames without depth
            are not used.
        config: map size, sampling, encoding of the footage, thresholds.
        exclude: per-frame H'×W' bool keyed by source frame number, **True on pixels that are not
            environment** (moving objects), at the frame's or the depth map's resolution.
        progress: optional ``progress(stage, done, total)`` callback (stage ``"light_probe"``).

    Returns:
        A :class:`LightProbe` (``encoding`` = ``config.encoding``) in world axes, radiance in
        the footage's linear units (8-bit value / 255, decoded).

    Raises:
        InputError: inconsistent frames, cameras, depths or masks.
        SolveError: no frame has usable depth.
    """
    check_frames_and_track(frames, track)
    if not isinstance(config, LightProbeConfig):
        raise InputError(f"config must be a LightProbeConfig, got {type(config).__name__}")
    by_index = depths_by_index(depth, frames, required=True)
    left_out = masks_by_index(exclude, frames)
    report = progress or (lambda stage, done, total: None)
    order = list(by_index)
    if len(order) > config.max_frames:
        order = [order[i] for i in np.linspace(0, len(order) - 1, config.max_frames).round().astype(int)]
    decode = _decoder(config.encoding)

    samples = []
    for done, index in enumerate(order):
        samples.append(_frame_samples(frames, track, index, by_index[index], left_out.get(index), decode, config))
        report("light_probe", done + 1, len(order) + 1)
    points = np.concatenate([s.points for s in samples])
    colours = np.concatenate([s.colours for s in samples])
    if len(points) == 0:
        raise SolveError(
            f"expected confident depth in {len(order)} frames to build a light probe from, got none; "
            "lower min_confidence or check the depth maps"
        )
    if config.centre is not None:
        centre = np.asarray(config.centre, dtype=np.float64)
    else:
        # Between what the frames see and where they see it from: in the free space of the
        # scene, not on a wall (the median point alone lies on the largest surface).
        seen_from = np.median(track.world_from_cam[order, :3, 3], axis=0)
        centre = np.median(points, axis=0) + config.centre_towards_cameras * (seen_from - np.median(points, axis=0))

    height = config.height
    radiance, seen = _radiance_map(points, colours, centre, height, config.occlusion_margin, config.min_texel_samples)
    solid = equirect_solid_angles(height)
    directions = equirect_directions(height)
    seen_share = float((solid * seen).sum() / (4.0 * np.pi))
    log.info("light probe: %d samples from %d frames, %.0f%% of the sphere seen", len(points), len(order), 100 * seen_share)
    radiance = _fill_unseen(radiance, seen, directions, solid, config)
    ambient = (radiance * solid[..., None]).sum(axis=(0, 1)) / (4.0 * np.pi)

    key = _key_light(samples, config)
    key_irradiance = np.zeros(3)
    if key is not None:
        direction, beta, betas = key
        if np.ptp(betas) > 1e-9:
            # The light's colour from the channels' fits, its strength from the luminance fit.
            betas = betas * beta * float(ambient @ _LUMA) / max(float((ambient * betas) @ _LUMA), 1e-12)
            key_irradiance = np.pi * ambient * betas
        else:
            # No colour from the fit: cameras white-balance for the dominant light, so it is
            # neutral in the footage's colours (the ambient keeps the tint of what reflects it).
            key_irradiance = np.full(3, np.pi * float(ambient @ _LUMA) * beta)
        normals = np.concatenate([s.surface_normals for s in samples])
        colours = np.concatenate([s.surface_colours for s in samples])
        boost = _albedo_bound(normals, colours, ambient, direction, key_irradiance, config.max_albedo)
        if boost > 1.0:
            log.info("light probe: the key light made %.2f× stronger so no surface facing it is whiter than %.2f", boost, config.max_albedo)
            key_irradiance = key_irradiance * boost
        radiance = radiance + _key_disc(direction, key_irradiance, directions, solid, config.key_radius_deg)
        log.info(
            "key light towards (%.3f, %.3f, %.3f), ambient:key %.3g",
            *direction, float(np.pi * ambient @ _LUMA) / max(float(key_irradiance @ _LUMA), 1e-12),
        )
    else:
        direction = None
        log.info("light probe: no dominant light found in the shading")
    sh = sh_project(directions.reshape(-1, 3), radiance.reshape(-1, 3), solid.reshape(-1))
    report("light_probe", len(order) + 1, len(order) + 1)
    return LightProbe(
        radiance=np.maximum(radiance, 0.0).astype(np.float32),
        seen=seen,
        sh=sh,
        centre_in_world=centre,
        key_direction=direction,
        key_irradiance=key_irradiance,
        ambient_radiance=ambient,
        encoding=config.encoding,
    )


# ----------------------------------------------------------------------------------------
# Samples of one frame


def _decoder(encoding: str) -> np.ndarray:
    """256-entry lookup table: 8-bit value → linear light (0..1)."""
    values = np.arange(256, dtype=np.float64) / 255.0
    if encoding == "srgb":
        values = np.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4)
    return values.astype(np.float32)


def _box(image: np.ndarray, size: int) -> np.ndarray:
    """Unnormalised box sums over ``size``×``size`` windows, zero outside the image."""
    import cv2

    return cv2.boxFilter(image, -1, (size, size), normalize=False, borderType=cv2.BORDER_CONSTANT)


def _frame_samples(
    frames: Frames,
    track: CameraTrack,
    index: int,
    depth_map: DepthMap,
    mask: np.ndarray | None,
    decode: np.ndarray,
    config: LightProbeConfig,
) -> _FrameSamples:
    """Frame ``index``'s map samples (world points, linear colours), shading pairs, windows for
    the orientation fallback and normal noise, on its depth map's grid."""
    import cv2

    h, w = depth_map.depth.shape
    intr = intrinsics_at(track.intrinsics[index], w, h)
    image = frames.images[index]
    if image.shape[:2] != (h, w):
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    valid = (depth_map.depth > 0) & (depth_map.confidence >= config.min_confidence)
    if mask is not None:
        if mask.shape != (h, w):
            mask = cv2.resize(mask.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
        valid &= ~mask
    linear = decode[image]
    cols, rows = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    cam = intr.unproject(np.column_stack([cols.ravel(), rows.ravel()]), depth_map.depth.ravel()).reshape(h, w, 3)
    pose = track.world_from_cam[index]
    rotation, origin = pose[:3, :3], pose[:3, 3]

    s = config.pixel_stride
    grid_valid = valid[::s, ::s]
    points = cam[::s, ::s][grid_valid] @ rotation.T + origin
    colours = linear[::s, ::s][grid_valid]

    grid = _window_normals(cam, valid, linear, image.max(axis=2) >= _SATURATED, s, config)
    n_p, n_q, c_p, c_q, _, _ = _shading_pairs(grid, intr, config)
    ok = grid["ok"]
    neighbours = ok[:, 1:] & ok[:, :-1]
    turn = np.sum(grid["normal"][:, 1:] * grid["normal"][:, :-1], axis=-1)[neighbours]
    noise = float(np.degrees(np.arccos(np.clip(np.median(turn), -1.0, 1.0)))) if turn.size else float("nan")
    usable = np.flatnonzero(ok & (grid["colour"].min(axis=-1) > 0))
    if len(usable) > _SURFACE_SAMPLES:  # the fallback takes medians: a sample of each frame is plenty
        usable = np.random.default_rng(index).choice(usable, _SURFACE_SAMPLES, replace=False)
    return _FrameSamples(
        points=points, colours=colours.astype(np.float32),
        normals_p=n_p @ rotation.T, normals_q=n_q @ rotation.T, colours_p=c_p, colours_q=c_q,
        surface_normals=grid["normal"].reshape(-1, 3)[usable] @ rotation.T, surface_colours=grid["colour"].reshape(-1, 3)[usable],
        normal_noise_deg=noise,
    )


def _window_normals(
    cam: np.ndarray, valid: np.ndarray, linear: np.ndarray, saturated: np.ndarray, stride: int, config: LightProbeConfig
) -> dict[str, np.ndarray]:
    """On the sample grid (every ``stride``-th pixel), of each pixel's window: the unit
    camera-frame normal of a plane fitted to its points (``normal``), whether that fit is usable
    — full enough, planar, unsaturated — (``ok``), the mean point (``mean``), the mean linear
    colour (``colour``) and the luminance's coefficient of variation (``texture``)."""
    size = 2 * config.normal_window_px + 1
    weight = valid.astype(np.float64)
    count = _box(weight, size)[::stride, ::stride]
    moments = {}
    coords = [np.where(valid, cam[..., a], 0.0) for a in range(3)]
    for a in range(3):
        moments[a] = _box(coords[a], size)[::stride, ::stride]
        for b in range(a, 3):
            moments[a, b] = _box(coords[a] * coords[b], size)[::stride, ::stride]
    # The colour of a small window at the centre: averaging over the whole window would blur
    # the clamp of max(0, n·l) at the terminator into a brighter mean than the centre's normal gives.
    small = 2 * config.colour_window_px + 1
    colour_count = _box(weight, small)[::stride, ::stride]
    colour = np.stack(
        [_box(np.where(valid, linear[..., c], 0.0).astype(np.float64), small)[::stride, ::stride] for c in range(3)], axis=-1
    )
    luminance = np.where(valid, linear @ _LUMA.astype(np.float32), 0.0).astype(np.float64)
    luminance_sq = _box(luminance * luminance, size)[::stride, ::stride]
    clipped = _box((saturated & valid).astype(np.float64), size)[::stride, ::stride]

    full = (count >= 0.7 * size * size) & valid[::stride, ::stride] & (clipped == 0)
    gh, gw = count.shape
    out = {
        "normal": np.zeros((gh, gw, 3)), "mean": np.zeros((gh, gw, 3)), "colour": np.zeros((gh, gw, 3)),
        "texture": np.full((gh, gw), np.inf), "ok": np.zeros((gh, gw), dtype=bool),
    }
    if not full.any():
        return out
    n = count[full]
    mu = np.stack([moments[a][full] / n for a in range(3)], axis=-1)
    cov = np.empty((len(n), 3, 3))
    for a in range(3):
        for b in range(a, 3):
            cov[:, a, b] = cov[:, b, a] = moments[a, b][full] / n - mu[:, a] * mu[:, b]
    eigenvalues, eigenvectors = np.linalg.eigh(cov)
    normal = eigenvectors[:, :, 0]
    planar = eigenvalues[:, 0] <= config.max_planarity * np.maximum(eigenvalues[:, 1], 1e-30)
    # Normals face the camera (at the origin of the camera frame).
    normal = np.where((np.sum(normal * mu, axis=1) > 0)[:, None], -normal, normal)
    mean_colour = colour[full] / np.maximum(colour_count[full], 1.0)[:, None]
    window_luminance = _box(luminance, size)[::stride, ::stride][full] / n
    spread = np.sqrt(np.maximum(luminance_sq[full] / n - window_luminance**2, 0.0))
    out["normal"][full] = normal
    out["mean"][full] = mu
    out["colour"][full] = mean_colour
    out["texture"][full] = spread / np.maximum(window_luminance, 1e-12)
    out["ok"][full] = planar & (mu[:, 2] > 0)
    return out


def _pair_step(config: LightProbeConfig) -> int:
    """Grid cells between a shading pair's two windows (even: the midpoint is a cell), so that
    the windows do not overlap."""
    step = int(np.ceil((2 * config.normal_window_px + 2) / config.pixel_stride))
    return step + (step % 2)


def _shading_pairs(grid: dict[str, np.ndarray], intr, config: LightProbeConfig) -> tuple[np.ndarray, ...]:
    """Pairs of grid cells two windows apart on one smoothly curving surface of one material:
    close in 3D (no occlusion edge between them), one chromaticity, little texture, normals
    that differ by at least ``crease_deg`` while the window half-way between them is planar
    with a normal in between (a curved surface, not a crease where materials often change).

    Returns camera-frame normals (K×3, twice), window colours (K×3, twice) and the flat grid
    indices of the two cells (K, twice).
    """
    step = _pair_step(config)
    half = step // 2
    offset_px = step * config.pixel_stride
    cos_crease = np.cos(np.radians(config.crease_deg))
    focal = np.sqrt(intr.fx * intr.fy)
    normals, ok, mean, colour = grid["normal"], grid["ok"], grid["mean"], grid["colour"]
    ok = ok & (grid["texture"] <= config.max_texture)
    gh, gw = ok.shape
    flat = np.arange(gh * gw).reshape(gh, gw)
    out: list[list[np.ndarray]] = [[] for _ in range(6)]
    for dr, dc in ((0, step), (step, 0), (step, step), (step, -step)):
        rows_p, rows_q = slice(0, gh - dr), slice(dr, gh)
        cols_p, cols_q = slice(max(0, -dc), gw - max(0, dc)), slice(max(0, dc), gw - max(0, -dc))
        rows_m = slice(dr // 2, gh - dr + dr // 2)
        cols_m = slice(max(0, -dc) + dc // 2, gw - max(0, dc) + dc // 2) if dc >= 0 else slice(max(0, -dc) - half, gw - half)
        both = ok[rows_p, cols_p] & ok[rows_q, cols_q] & grid["ok"][rows_m, cols_m]
        if not both.any():
            continue
        n_p, n_q, n_m = normals[rows_p, cols_p][both], normals[rows_q, cols_q][both], normals[rows_m, cols_m][both]
        m_p, m_q = mean[rows_p, cols_p][both], mean[rows_q, cols_q][both]
        c_p, c_q = colour[rows_p, cols_p][both], colour[rows_q, cols_q][both]
        cos_pq = np.sum(n_p * n_q, axis=1)
        creased = cos_pq <= cos_crease
        # Curved, not creased: the middle window's normal lies about half-way between.
        bisector = n_p + n_q
        bisector /= np.maximum(np.linalg.norm(bisector, axis=1, keepdims=True), 1e-12)
        half_angle = np.arccos(np.clip(cos_pq, -1.0, 1.0)) / 2.0
        curved = np.sum(n_m * bisector, axis=1) >= np.cos(0.5 * half_angle)
        # The points must bend as much as the normals turn: the middle window's mean point lies
        # off the chord by the sagitta of an arc turning by the normals' angle. Noisy normals
        # on a flat surface turn without the points bending.
        m_m = mean[rows_m, cols_m][both]
        chord = m_q - m_p
        chord_length = np.maximum(np.linalg.norm(chord, axis=1), 1e-12)
        sagitta = np.abs(np.sum((m_m - 0.5 * (m_p + m_q)) * bisector, axis=1))
        bend = 4.0 * np.arctan(2.0 * sagitta / chord_length)
        curved &= np.abs(bend - 2.0 * half_angle) <= config.max_bend_mismatch * 2.0 * half_angle
        span = offset_px * np.hypot(1.0, float(dr != 0 and dc != 0)) * 0.5 * (m_p[:, 2] + m_q[:, 2]) / focal
        near = np.linalg.norm(m_p - m_q, axis=1) <= 4.0 * span
        bright = (c_p @ _LUMA > 1e-3) & (c_q @ _LUMA > 1e-3) & (c_p.min(axis=1) > 0) & (c_q.min(axis=1) > 0)
        chroma = np.abs(
            c_p / np.maximum(c_p.sum(axis=1, keepdims=True), 1e-12) - c_q / np.maximum(c_q.sum(axis=1, keepdims=True), 1e-12)
        ).sum(axis=1)
        keep = creased & near & bright & (chroma <= config.max_chroma_difference)
        if config.curved_only:
            keep &= curved
        for bucket, values in zip(out, (n_p, n_q, c_p, c_q, flat[rows_p, cols_p][both], flat[rows_q, cols_q][both])):
            bucket.append(values[keep])
    if not out[0]:
        return tuple(np.zeros((0, 3)) for _ in range(4)) + (np.zeros(0, np.int64), np.zeros(0, np.int64))
    return tuple(np.concatenate(bucket) for bucket in out)


# ----------------------------------------------------------------------------------------
# The map


def _radiance_map(
    points: np.ndarray, colours: np.ndarray, centre: np.ndarray, height: int, margin: float, min_samples: int
) -> tuple[np.ndarray, np.ndarray]:
    """H×2H×3 mean colour of the samples each texel's centre would see (the nearest ones), and
    the H×2H bool mask of texels with samples."""
    offsets = points - centre
    distance = np.linalg.norm(offsets, axis=1)
    rows, cols = equirect_pixels(offsets, height)
    texel = rows * (2 * height) + cols
    # The nearest sample of each texel, then the samples within the margin of it.
    nearest = np.full(2 * height * height, np.inf)
    np.minimum.at(nearest, texel, distance)
    visible = distance <= (1.0 + margin) * nearest[texel]
    count = np.bincount(texel[visible], minlength=nearest.size)
    sums = np.stack([np.bincount(texel[visible], colours[visible, c].astype(np.float64), minlength=nearest.size) for c in range(3)], axis=-1)
    seen = count >= min_samples
    radiance = np.zeros((nearest.size, 3))
    radiance[seen] = sums[seen] / count[seen, None]
    return radiance.reshape(height, 2 * height, 3), seen.reshape(height, 2 * height)


def _fill_unseen(radiance: np.ndarray, seen: np.ndarray, directions: np.ndarray, solid: np.ndarray, config: LightProbeConfig) -> np.ndarray:
    """``radiance`` with its unseen texels filled: a regularised order-2 SH fit of the seen
    texels, faded near the seen region into their normalised-convolution average."""
    if seen.all():
        return radiance
    if not seen.any():
        raise SolveError("expected the frames to see some of the scene from the probe centre, got nothing")
    basis = sh_basis(directions[seen])
    weights = solid[seen]
    values = radiance[seen]
    gram = basis.T @ (basis * weights[:, None])
    # Bands 1 and 2 pay l(l+1), scaled to the data's weight, so an unseen half-sphere is not
    # filled with the wild extrapolation of a free fit.
    penalty = np.array([0, 2, 2, 2, 6, 6, 6, 6, 6], dtype=np.float64) * config.sh_regularisation * float(weights.sum())
    coefficients = np.linalg.solve(gram + np.diag(penalty) + 1e-12 * np.eye(9), basis.T @ (values * weights[:, None]))
    fit = sh_basis(directions.reshape(-1, 3)) @ coefficients
    floor = 0.05 * np.maximum(values.mean(axis=0), 0.0)  # not black, not negative
    fit = np.maximum(fit.reshape(radiance.shape), floor)

    out = radiance.copy()
    if config.fill_blend_deg > 0:
        local, closeness = _local_average(radiance, seen, config.fill_blend_deg)
        alpha = np.clip(closeness / 0.5, 0.0, 1.0)
        alpha = alpha * alpha * (3.0 - 2.0 * alpha)  # smoothstep: no kink where the fade ends
        fill = alpha[..., None] * np.maximum(local, 0.0) + (1.0 - alpha[..., None]) * fit
    else:
        fill = fit
    out[~seen] = fill[~seen]
    return out


def _local_average(radiance: np.ndarray, seen: np.ndarray, width_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """Normalised convolution of the seen texels with a Gaussian of ``width_deg``/2 (wrapping
    around in azimuth): their local average everywhere, and the blurred mask (1 deep inside the
    seen region, 0.5 at its border, → 0 away from it)."""
    import cv2

    height, width = seen.shape
    sigma = max(0.5, 0.5 * width_deg / (180.0 / height))
    pad = int(min(width, np.ceil(3 * sigma)))
    mask = seen.astype(np.float64)

    def blur(image: np.ndarray) -> np.ndarray:
        wrapped = np.concatenate([image[:, -pad:], image, image[:, :pad]], axis=1) if pad else image
        blurred = cv2.GaussianBlur(wrapped, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
        return blurred[:, pad : pad + width] if pad else blurred

    weight = blur(mask)
    summed = np.stack([blur(radiance[..., c] * mask) for c in range(3)], axis=-1)
    local = summed / np.maximum(weight, 1e-9)[..., None]
    return local, weight


def _albedo_bound(
    normals: np.ndarray, colours: np.ndarray, ambient: np.ndarray, direction: np.ndarray, key_irradiance: np.ndarray,
    max_albedo: float,
) -> float:
    """How many times stronger the key light must be for the surfaces facing it to have albedos
    no surface has above ``max_albedo`` (at the 99th percentile; 1 when they already do).

    The map's mean radiance is light the room reflects, and the shading fit gives the key only
    relative to it; a surface that would need an albedo above 1 to look as bright as it does
    shows that the key is stronger (light the camera never saw directly)."""
    facing = (normals @ direction) > 0.5
    if facing.sum() < 50:
        return 1.0
    luma = colours[facing] @ _LUMA
    cosine = normals[facing] @ direction
    ambient_y, key_y = float(ambient @ _LUMA), float(key_irradiance @ _LUMA) / np.pi

    def albedo(k: float) -> float:
        return float(np.percentile(luma / np.maximum(ambient_y + k * key_y * cosine, 1e-9), 99))

    if albedo(1.0) <= max_albedo or key_y <= 0:
        return 1.0
    low, high = 1.0, 64.0
    if albedo(high) > max_albedo:
        return high
    for _ in range(30):
        mid = np.sqrt(low * high)
        low, high = (mid, high) if albedo(mid) > max_albedo else (low, mid)
    return high


def _key_disc(direction: np.ndarray, irradiance: np.ndarray, directions: np.ndarray, solid: np.ndarray, radius_deg: float) -> np.ndarray:
    """H×2H×3 radiance of a disc of ``radius_deg`` about ``direction`` whose irradiance on a
    surface facing it is ``irradiance`` (3 channels)."""
    cosine = directions @ direction
    disc = cosine >= np.cos(np.radians(radius_deg))
    if not disc.any():  # smaller than a texel: the texel it falls in
        rows, cols = equirect_pixels(direction[None], directions.shape[0])
        disc[rows[0], cols[0]] = True
    weight = float((cosine * solid)[disc].sum())
    out = np.zeros(directions.shape)
    out[disc] = irradiance / max(weight, 1e-12)
    return out


# ----------------------------------------------------------------------------------------
# The key light


def _key_light(samples: list[_FrameSamples], config: LightProbeConfig) -> tuple[np.ndarray, float, np.ndarray] | None:
    """The key light from the shading pairs where they are significant; from the surfaces'
    luminance by orientation where they are not and the depth is too noisy to trust their
    verdict; else None. See the module doc."""
    pairs = _pooled_pairs(samples, config)
    key = _fit_key_light(*pairs, config) if pairs is not None else None
    if key is not None:
        return key
    noise = np.array([s.normal_noise_deg for s in samples])
    noise = float(np.median(noise[np.isfinite(noise)])) if np.isfinite(noise).any() else float("inf")
    if noise <= config.max_normal_noise_deg and pairs is not None:
        log.info("light probe: accurate depth (normal noise %.2f°) and no directional light in the shading pairs", noise)
        return None
    log.info(
        "light probe: the shading pairs show no light and the depth is too noisy to trust that (normal noise %.2f°); "
        "estimating the key light from the luminance of surfaces by orientation", noise,
    )
    normals = np.concatenate([s.surface_normals for s in samples])
    colours = np.concatenate([s.surface_colours for s in samples])
    return _fit_key_by_orientation(normals, colours, config)


def _pooled_pairs(samples: list[_FrameSamples], config: LightProbeConfig) -> tuple[np.ndarray, ...] | None:
    """Every frame's shading pairs, a random subset of ``max_pairs`` when there are more: world
    normals (K×3, twice) and linear colours (K×3, twice); None when too few."""
    n_p = np.concatenate([s.normals_p for s in samples])
    count = len(n_p)
    if count < config.min_pairs:
        log.info("light probe: %d shading pairs (creases, curved surfaces), fewer than %d: no key light", count, config.min_pairs)
        return None
    n_q = np.concatenate([s.normals_q for s in samples])
    c_p = np.concatenate([s.colours_p for s in samples])
    c_q = np.concatenate([s.colours_q for s in samples])
    if count > config.max_pairs:
        pick = np.random.default_rng(0).choice(count, config.max_pairs, replace=False)
        n_p, n_q, c_p, c_q = n_p[pick], n_q[pick], c_p[pick], c_q[pick]
    log.debug("light probe: %d shading pairs of %d", len(n_p), count)
    return n_p, n_q, c_p, c_q


def _fibonacci_sphere(count: int) -> np.ndarray:
    """``count``×3 unit vectors spread evenly over the sphere (a Fibonacci lattice)."""
    i = np.arange(count) + 0.5
    y = 1.0 - 2.0 * i / count
    radius = np.sqrt(np.maximum(0.0, 1.0 - y * y))
    angle = np.pi * (3.0 - np.sqrt(5.0)) * i
    return np.column_stack([radius * np.cos(angle), y, radius * np.sin(angle)])


_TAU = 0.1
"""Scale of the robust cost on log-luminance residuals (≈ 10 % ratio errors count fully)."""


def _robust(residual: np.ndarray) -> np.ndarray:
    """Geman–McClure: ≈ r² for small residuals, → 1 for outliers (another material, a shadow)."""
    r2 = residual * residual
    return r2 / (r2 + _TAU * _TAU)


def _costs(n_p: np.ndarray, n_q: np.ndarray, delta: np.ndarray, lights: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """Mean robust cost of every (light, β): L×B."""
    out = np.empty((len(lights), len(betas)))
    chunk = max(1, 2_000_000 // max(1, len(delta) * len(betas)))
    for start in range(0, len(lights), chunk):
        dirs = lights[start : start + chunk]
        lit_p = np.maximum(n_p @ dirs.T, 0.0)  # K×L
        lit_q = np.maximum(n_q @ dirs.T, 0.0)
        model = np.log1p(betas[:, None, None] * lit_p[None]) - np.log1p(betas[:, None, None] * lit_q[None])  # B×K×L
        out[start : start + chunk] = _robust(delta[None, :, None] - model).mean(axis=1).T
    return out


def _fit_key_light(
    n_p: np.ndarray, n_q: np.ndarray, colours_p: np.ndarray, colours_q: np.ndarray, config: LightProbeConfig
) -> tuple[np.ndarray, float, np.ndarray] | None:
    """(unit world direction towards the key light, β of the luminance, β per channel) from the
    shading pairs, or None when the shading shows no significant directional light."""
    from scipy.optimize import minimize, minimize_scalar

    delta = np.log(colours_p @ _LUMA) - np.log(colours_q @ _LUMA)
    log_p, log_q = np.log(colours_p), np.log(colours_q)
    betas = np.geomspace(0.05, 20.0, 16)
    coarse = _fibonacci_sphere(600)
    costs = _costs(n_p, n_q, delta, coarse, betas)
    best = np.unravel_index(np.argmin(costs), costs.shape)
    light, beta = coarse[best[0]], betas[best[1]]
    # Finer: directions within ~12° of the best, β on a finer grid.
    fine = _fibonacci_sphere(20_000)
    fine = fine[fine @ light >= np.cos(np.radians(12.0))]
    fine_betas = beta * np.geomspace(0.5, 2.0, 13)
    costs = _costs(n_p, n_q, delta, fine, fine_betas)
    best = np.unravel_index(np.argmin(costs), costs.shape)
    light, beta = fine[best[0]], fine_betas[best[1]]

    def cost(params: np.ndarray) -> float:
        polar, azimuth, log_beta = params
        d = np.array([np.sin(polar) * np.cos(azimuth), np.cos(polar), np.sin(polar) * np.sin(azimuth)])
        b = np.exp(log_beta)
        model = np.log1p(b * np.maximum(n_p @ d, 0.0)) - np.log1p(b * np.maximum(n_q @ d, 0.0))
        return float(_robust(delta - model).mean())

    start = np.array([np.arccos(np.clip(light[1], -1, 1)), np.arctan2(light[2], light[0]), np.log(beta)])
    result = minimize(cost, start, method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-7, "maxiter": 400})
    polar, azimuth, log_beta = result.x
    light = np.array([np.sin(polar) * np.cos(azimuth), np.cos(polar), np.sin(polar) * np.sin(azimuth)])
    beta = float(np.exp(log_beta))
    without = float(_robust(delta).mean())
    gain = 1.0 - float(result.fun) / max(without, 1e-12)
    log.debug("key light fit: β %.3g, cost %.4g against %.4g without (gain %.3f)", beta, result.fun, without, gain)
    if beta < config.min_key_ratio or gain < config.min_fit_gain:
        log.info("light probe: the shading's directional part is insignificant (β %.3g, fit gain %.3f)", beta, gain)
        return None

    lit_p, lit_q = np.maximum(n_p @ light, 0.0), np.maximum(n_q @ light, 0.0)
    per_channel = np.empty(3)
    for c in range(3):
        d = log_p[:, c] - log_q[:, c]

        def channel_cost(log_b: float, d: np.ndarray = d) -> float:
            b = np.exp(log_b)
            return float(_robust(d - (np.log1p(b * lit_p) - np.log1p(b * lit_q))).mean())

        # A light's colour is not extreme: within a factor of two of its luminance per channel.
        found = minimize_scalar(channel_cost, bounds=(np.log(beta / 2.0), np.log(2.0 * beta)), method="bounded")
        per_channel[c] = np.exp(found.x)
    return light, beta, per_channel


def _nnls_line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted least squares of ``y ≈ a + b·x`` with a, b ≥ 0, for every column of ``x`` (B×L):
    (a (L), b (L), weighted residual sum of squares (L))."""
    sw = w.sum()
    swx, swxx = w @ x, w @ (x * x)
    swy, swxy = float(w @ y), (w * y) @ x
    det = sw * swxx - swx * swx
    with np.errstate(divide="ignore", invalid="ignore"):
        b = np.where(det > 1e-12, (sw * swxy - swx * swy) / det, 0.0)
        a = (swy - b * swx) / sw
        # Clamp to the non-negative quadrant: b = 0 gives the mean, a = 0 a line through 0.
        b_only = np.where(swxx > 1e-12, swxy / swxx, 0.0)
    a_neg = a < 0
    b = np.where(b < 0, 0.0, np.where(a_neg, np.maximum(b_only, 0.0), b))
    a = np.where(b == 0, swy / sw, np.where(a_neg, 0.0, a))
    residual = w @ (y[:, None] - a[None] - b[None] * x) ** 2
    return a, b, residual


def _fit_key_by_orientation(
    normals: np.ndarray, colours: np.ndarray, config: LightProbeConfig
) -> tuple[np.ndarray, float, np.ndarray] | None:
    """The fallback: the median luminance of the surfaces in each orientation bin fitted with
    ``a + b·max(0, n·l)`` (a, b ≥ 0) over a Fibonacci sphere of ``l``; (direction, β of the
    luminance, β per channel) or None when the light explains too little."""
    if len(normals) == 0:
        return None
    rows, cols = equirect_pixels(normals, 12)  # 12×24 bins, ~7.5° wide at the equator
    bins = rows * 24 + cols
    order = np.argsort(bins, kind="stable")
    bins, normals, colours = bins[order], normals[order], colours[order]
    starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
    counts = np.diff(np.r_[starts, len(bins)])
    keep = counts >= config.min_bin_samples
    if keep.sum() < 4:
        log.info("light probe: surfaces in %d orientations only: no key light", int(keep.sum()))
        return None
    centres, medians = [], []
    for start, count in zip(starts[keep], counts[keep]):
        n = normals[start : start + count].sum(axis=0)
        centres.append(n / max(np.linalg.norm(n), 1e-12))
        medians.append(np.median(colours[start : start + count], axis=0))
    centres, medians = np.array(centres), np.array(medians)
    weights = np.sqrt(counts[keep].astype(np.float64))
    luminance = medians @ _LUMA

    def best_of(lights: np.ndarray) -> tuple[int, float, float, float]:
        a, b, residual = _nnls_line(np.maximum(centres @ lights.T, 0.0), luminance, weights)
        k = int(np.argmin(residual))
        return k, float(a[k]), float(b[k]), float(residual[k])

    coarse = _fibonacci_sphere(2000)
    k, a, b, residual = best_of(coarse)
    fine = _fibonacci_sphere(40_000)
    fine = fine[fine @ coarse[k] >= np.cos(np.radians(6.0))]
    k, a, b, residual = best_of(fine)
    light = fine[k]
    total = float(weights @ (luminance - np.average(luminance, weights=weights)) ** 2)
    gain = 1.0 - residual / max(total, 1e-30)
    beta = b / a if a > 0 else np.inf
    log.debug("key light by orientation: %d bins, β %.3g, gain %.3f", len(centres), beta, gain)
    if not np.isfinite(beta) or beta < config.min_key_ratio or gain < config.min_orientation_gain:
        log.info("light probe: the luminance by orientation shows no significant directional light (β %.3g, gain %.3f)", beta, gain)
        return None
    # The channels' own fits mix the surfaces' colours into the light's: the key takes the
    # scene's grey-world colour (the ambient's) instead.
    return light, float(beta), np.full(3, beta)
