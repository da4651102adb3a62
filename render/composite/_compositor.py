"""The compositor: an edited shot rendered over its own footage.

Per frame of a shot whose plate is known:

- pixels no edit touches are the plate, exactly;
- what an edit reveals (a deleted object, the old place of a moved one) is the background
  seen by other frames of the plate, reprojected through the scene's depth (the clean-plate
  projection), exposure-matched and feathered into the plate;
- what no frame saw is invented once — inpainted in the first frame that needs it — and
  that invention is then itself a source, reprojected into later frames like a real view,
  so the same hole is filled the same way while the camera moves;
- moved, duplicated and inserted objects are drawn from their textured meshes, hidden by
  the scene's own geometry in front of them (the rasterizer's depth test), with soft edges;
- inserted assets are lit by the shot's light probe and lights; inserted and moved objects
  cast a soft contact shadow on what is around them, and the shadow a removed or moved
  object left in the footage is lightened where it can be measured (with ``lighting``);
- frames whose camera was changed (or whose plate is held out) are rendered entirely from
  other frames (image-based rendering), falling back to the baked textures, then to the
  invention.

Each output pixel says where it came from (:data:`SOURCE_CODES`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from sceneforge.scenegraph import CameraTrack, Frames, InputError, check_array
from sceneforge.scenegraph.usd import OBJECTS_PATH

from ..hole_filling._push_pull import fill_holes
from ..lighting import ShotLighting
from ..scene._scene_passes import FramePasses
from ._background_depth import background_depth, plane_depths, planes_around
from ._depth_search import search_depth, sweep_levels
from ._edits import ShotEdits
from ._reproject import SourceView, exposure_gain, pixel_points, reproject

__all__ = ["Compositor", "CompositeFrame", "CompositeConfig", "SOURCE_CODES"]

log = logging.getLogger(__name__)

_OBJECTS = OBJECTS_PATH + "/"

PLATE, REPROJECTED, INVENTED, RENDERED, SHADED = 0, 1, 2, 3, 4
SOURCE_CODES = {"plate": PLATE, "reprojected": REPROJECTED, "invented": INVENTED, "rendered": RENDERED, "shaded": SHADED}
"""Where an output pixel came from: the plate itself, another frame of the plate, an
inpainting made once and reprojected, the scene's meshes (moved or inserted objects,
baked textures where no frame saw the point), or the plate relit (darkened by a new
contact shadow, or lightened where a removed object's shadow was)."""


@dataclass(frozen=True)
class CompositeConfig:
    """How the compositor fills what an edit changes."""

    near_sources: int = 12
    """Frames of the plate nearest in time tried first for each target frame..."""
    far_sources: int = 24
    """...then this many more, spread evenly over the rest of the shot (what a removed
    object hid is often seen only from the far end of a camera move)."""
    depth_tolerance: float = 0.03
    """A source saw a point when its depth there agrees within this relative difference."""
    halo_px: float = 4.0
    """Revealed regions grow by this many pixels (at 640 px wide) over the removed object's
    rendered outline, so no rim of it stays where the mesh was a little smaller."""
    source_halo_px: float = 3.0
    """Pixels of another frame this close (at 640 px wide) to a removed or moving object are
    not used as background either: a tracked mask often misses the object's rim."""
    feather_px: float = 2.0
    """Width of the band outside a filled region over which the fill fades into the plate."""
    inpaint: Literal["shift-map", "telea"] = "shift-map"
    """How what no frame saw is invented: shift-map (OpenCV xphoto; copies texture from the
    background elsewhere in the frame, so floors and walls continue) or Telea (smooth
    diffusion from the border; fast, blurry). Regions under ``shift_map_min_share`` of the
    frame use Telea either way."""
    shift_map_min_share: float = 0.003
    """Smallest invented region, as a share of the frame, worth the shift-map's cost."""
    inpaint_radius_px: float = 5.0
    """Neighbourhood of Telea's inpainting."""
    max_inventions: int = 8
    """Inpainted frames kept as sources for later frames."""
    consensus: int = 5
    """Colours each revealed pixel collects from the first frames that saw it; the one nearest
    their median is used (a rim of the removed object its mask missed in one frame is outvoted)."""
    sweep_levels: int = 32
    """Depth levels a revealed pixel tries besides the guess from the surfaces around it (the
    frames that saw the background there choose; 0 keeps the guess)."""
    search_views: int = 16
    """Source frames the depth search compares (spread over the ones reprojection may use)."""
    search_window_px: float = 7.0
    """Window (at 640 px wide) over which the depth search averages its colour costs."""
    search_full_px: int = 4000
    """Holes larger than this many pixels are searched on every other pixel and row."""


@dataclass(frozen=True, eq=False)
class CompositeFrame:
    """One composited frame.

    Attributes:
        frame_number: the source frame number.
        rgb: H×W×3 float32 sRGB-encoded in [0, 1] (exactly the plate's values where untouched).
        source: H×W uint8, per pixel one of :data:`SOURCE_CODES`.
        passes: the edited scene's render passes of this frame (depth, object id, coverage).
    """

    frame_number: int
    rgb: np.ndarray
    source: np.ndarray
    passes: FramePasses


@dataclass(frozen=True, eq=False)
class _Plate:
    """What the compositor keeps of one plate frame: the scene's depth and object path ids."""

    depth: np.ndarray
    path_ids: np.ndarray


class Compositor:
    """Composites the edited renders of a shot over its plate (see the module docstring).

    Args:
        plates: the decoded footage, one frame per frame of ``plate_track`` (same frame numbers).
        plate_track: the camera the footage was shot with.
        originals: the *unedited* scene rendered through ``plate_track`` for every frame, in
            order, with ``depth`` and ``object_id`` passes (what each plate pixel shows); read
            once (a generator is fine), only depth and object ids are kept.
        edits: what the edit changed.
        config: the compositor's settings.
        instances: N×H×W integer instance maps of the plate (the tracked objects' silhouettes,
            0 = background), or None; where given, an object's plate pixels are its tracked
            mask as well as its mesh's outline, which is often a little smaller.
        instance_objects: instance id → the object's prim path, for ``instances``.
        lighting: the shot's lights and shadow casters; None draws objects with their own
            colours and no shadows. Needs the ``normals`` pass of the edited render.
    """

    def __init__(
        self,
        plates: Frames,
        plate_track: CameraTrack,
        originals: Iterable[FramePasses],
        edits: ShotEdits,
        config: CompositeConfig = CompositeConfig(),
        *,
        instances: np.ndarray | None = None,
        instance_objects: Mapping[int, str] | None = None,
        lighting: ShotLighting | None = None,
    ) -> None:
        if not np.array_equal(plates.frame_numbers, plate_track.frame_numbers):
            raise InputError("the plate's frames must be the camera track's frames; decode the shot's own clip")
        self.plates = plates
        self.track = plate_track
        self.edits = edits
        self.config = config
        self._paths: dict[str, int] = {"": 0}
        self._plate: list[_Plate] = []
        for frame in originals:
            if frame.frame_number != int(plate_track.frame_numbers[len(self._plate)]):
                raise InputError("the original renders must follow the plate's frames in order")
            ids = self._path_ids(frame).astype(np.int16)
            self._plate.append(_Plate(depth=frame.passes.depth, path_ids=ids))
        if len(self._plate) != len(plate_track):
            raise InputError(f"one original render per frame expected, got {len(self._plate)} for {len(plate_track)}")
        self._changed_ids = self._ids_of(edits.changed_objects)
        self._moving_ids = self._ids_of(edits.moving_objects)
        self._inventions: list[SourceView] = []
        self._scale = plates.width / 640.0
        if instances is not None:
            check_array(instances, "instances", shape=(len(plate_track), plates.height, plates.width))
        self._instances = instances
        objects = dict(instance_objects or {})
        self._changed_instances = np.array([i for i, p in objects.items() if p in edits.changed_objects], np.int64)
        self._moving_instances = np.array([i for i, p in objects.items() if p in edits.moving_objects], np.int64)
        self._usable_masks: dict[tuple[int, bool], np.ndarray] = {}
        self.lighting = lighting
        self._inserted_ids = self._ids_of(lighting.inserted) if lighting is not None else np.zeros(0, np.int32)

    # -- ids -------------------------------------------------------------------------

    def _path_ids(self, frame: FramePasses) -> np.ndarray:
        """The frame's object-id pass as ids into one table of prim paths shared by every render."""
        lookup = np.zeros(max(frame.object_paths, default=0) + 1, np.int32)
        for object_id, path in frame.object_paths.items():
            lookup[object_id] = self._paths.setdefault(_owner(path), len(self._paths))
        return lookup[frame.passes.object_id]

    def path_ids(self, frame: FramePasses) -> np.ndarray:
        """H×W int32: the frame's object-id pass as ids into the compositor's table of object
        prim paths (0 = nothing; the same object has the same id in every frame)."""
        return self._path_ids(frame)

    def inserted_coverage(self, frame: FramePasses, path_ids: np.ndarray | None = None) -> np.ndarray:
        """H×W float32 in [0, 1]: how much of each pixel an inserted asset covers (soft edge),
        0 everywhere without ``lighting`` (which says what was inserted)."""
        ids = self._path_ids(frame) if path_ids is None else path_ids
        if not len(self._inserted_ids):
            return np.zeros(ids.shape, np.float32)
        return _soft_inside(np.isin(ids, self._inserted_ids) & frame.passes.coverage)

    def _ids_of(self, paths: frozenset[str]) -> np.ndarray:
        return np.array(sorted(self._paths.setdefault(p, len(self._paths)) for p in paths), np.int32)

    def _objects_in(self, frame: FramePasses) -> np.ndarray:
        """H×W bool: pixels where ``frame`` shows an object (nothing to copy background texture from)."""
        return frame.passes.coverage & ~self._is_background(frame)

    def _is_background(self, frame: FramePasses) -> np.ndarray:
        """H×W bool: pixels where ``frame`` shows the background layer."""
        return np.isin(self._path_ids(frame), self._background_ids())

    def _background_ids(self) -> np.ndarray:
        return np.array([i for p, i in self._paths.items() if p and not p.startswith(_OBJECTS)], np.int32)

    # -- frames ----------------------------------------------------------------------

    def composite(self, edited: FramePasses) -> CompositeFrame:
        """Composite one frame: ``edited`` is the edited scene rendered through the edited camera
        for that frame, with ``rgb``, ``depth``, ``coverage`` and ``object_id`` passes."""
        t = self.track.index_of(edited.frame_number)
        passes = edited.passes
        if passes.rgb is None or passes.depth is None or passes.coverage is None or passes.object_id is None:
            raise InputError("the compositor needs the rgb, depth, coverage and object_id passes of the edited render")
        path_ids = self._path_ids(edited)
        if edited.frame_number in self.edits.novel_frames:
            rgb, source = self._novel(t, edited, path_ids)
        else:
            rgb, source = self._over_plate(t, edited, path_ids)
        return CompositeFrame(frame_number=edited.frame_number, rgb=rgb, source=source, passes=edited)

    def _changed(self, ids: np.ndarray) -> np.ndarray:
        out = np.isin(ids, self._changed_ids)
        if self.edits.background_changed:
            out |= np.isin(ids, self._background_ids())
        return out

    def _over_plate(self, t: int, edited: FramePasses, path_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        plate = self.plates.images[t]
        rgb = plate.astype(np.float32) / 255.0
        source = np.zeros(plate.shape[:2], np.uint8)
        original = self._plate[t]
        was_changed = self._changed(original.path_ids)
        if self._instances is not None:
            was_changed |= np.isin(self._instances[t], self._changed_instances)
        now_changed = self._changed(path_ids) & edited.passes.coverage
        if not (was_changed.any() or now_changed.any()):
            return rgb, source
        # Revealed: whatever a changed object covered in the plate and does not cover now, with
        # a halo for the outline the mesh and the tracked mask missed.
        revealed = self._grow(was_changed) & ~now_changed
        if revealed.any():
            self._fill(t, edited, revealed, rgb, source, original)
        if self.lighting is not None and edited.passes.normals is not None:
            self._relight(edited, rgb, source, edited.passes.coverage & ~now_changed)
        if now_changed.any():
            alpha = _soft_inside(now_changed)
            rgb[:] = alpha[..., None] * self._drawn(edited, path_ids) + (1 - alpha[..., None]) * rgb
            source[now_changed] = RENDERED
        return rgb, source

    def _drawn(self, edited: FramePasses, path_ids: np.ndarray) -> np.ndarray:
        """The edited render's colours, inserted assets lit by the shot's lights."""
        passes = edited.passes
        lit = self.lighting
        if lit is None or not lit.shades or passes.normals is None or not len(self._inserted_ids):
            return passes.rgb
        rows, cols = np.nonzero(np.isin(path_ids, self._inserted_ids) & passes.coverage)
        if not len(rows):
            return passes.rgb
        out = passes.rgb.copy()
        out[rows, cols] = lit.shade(
            passes.rgb[rows, cols], passes.normals[rows, cols].astype(np.float64), passes.depth, rows, cols,
            edited.intrinsics, edited.world_from_cam,
        )
        return out

    def _relight(self, edited: FramePasses, rgb: np.ndarray, source: np.ndarray, receivers: np.ndarray) -> None:
        """Lighten the old contact shadows of objects that moved or went, then darken the
        surfaces around objects that are new or moved, in place; relit plate pixels become
        ``SHADED``."""
        lit = self.lighting
        assert lit is not None
        new, old = lit.casters(edited.frame_number)
        passes = edited.passes
        view = (passes.depth, passes.normals, edited.intrinsics, edited.world_from_cam)
        if old:
            predicted = lit.occlusion_map(old, receivers, *view)
            region = receivers & (predicted > 0.01) & lit.supporting(passes.normals, edited.world_from_cam)
            if region.any():
                lightened, strength = lit.lighten(rgb, region, predicted, measure=region & (source == PLATE))
                if strength > 0:
                    visible = np.abs(lightened - rgb).max(axis=-1) > 0.5 / 255.0
                    rgb[:] = lightened
                    source[region & visible & (source == PLATE)] = SHADED
        if new:
            taken = lit.occlusion_map(new, receivers, *view)
            shadow = taken > 0.5 / 255.0
            if shadow.any():
                rgb[:] = np.where(shadow[..., None], lit.darken(rgb, taken), rgb)
                source[shadow & (source == PLATE)] = SHADED

    def _fill(
        self, t: int, edited: FramePasses, region: np.ndarray, rgb: np.ndarray, source: np.ndarray, original: _Plate
    ) -> None:
        """Fill ``region`` of frame ``t`` from other frames, then invent the rest; feathered."""
        import cv2

        feather = max(1, int(round(self.config.feather_px * self._scale)))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * feather + 1, 2 * feather + 1))
        band = cv2.dilate(region.astype(np.uint8), kernel).astype(bool) & ~region
        band &= ~self._changed(original.path_ids)
        passes = edited.passes
        known = passes.coverage & ~self._changed(self._path_ids(edited))
        depth = background_depth(
            passes.depth, known, region | band, edited.intrinsics,
            behind=np.where(self._changed(original.path_ids), original.depth, 0.0), fit_on=known & self._is_background(edited),
        )
        sources = self._sources(t, exclude_self=True)
        behind = np.where(self._changed(original.path_ids), original.depth, 0.0)
        planes = self._search(t, edited, region & ~known, depth, behind, known & self._is_background(edited))
        target = (region | band) & (depth > 0)
        rows, cols = np.nonzero(target)
        points = pixel_points(edited.intrinsics, edited.world_from_cam, rows, cols, depth[rows, cols])
        found = reproject(points, sources, depth_tolerance=self.config.depth_tolerance, consensus=self.config.consensus)
        colour = self._match_exposure(found.colour, found.source, rgb[rows, cols], band[rows, cols], sources)
        filled = np.zeros(region.shape, bool)
        filled[rows[found.found], cols[found.found]] = True
        fill = rgb.copy()
        fill[rows[found.found], cols[found.found]] = colour[found.found]
        unseen = region & ~filled
        if unseen.any():
            self._invent(edited, unseen, fill, depth, keep_out=self._objects_in(edited), planes=planes)
        # Inside the region the fill replaces the plate; over the band outside it fades out.
        dist = cv2.distanceTransform((~region).astype(np.uint8), cv2.DIST_L2, 3)
        alpha = np.where(region, 1.0, np.clip(1.0 - dist / (feather + 1), 0.0, 1.0) * (band & filled)).astype(np.float32)
        rgb[:] = alpha[..., None] * fill + (1 - alpha[..., None]) * rgb
        source[region & filled] = REPROJECTED
        source[unseen] = INVENTED

    def _search(
        self, t: int, edited: FramePasses, hole: np.ndarray, depth: np.ndarray, behind: np.ndarray, fit_on: np.ndarray
    ) -> list[np.ndarray]:
        """Replace ``depth`` over ``hole`` (in place) by the depth on which the frames that saw
        the background there agree (see :mod:`._depth_search`): the guess in ``depth`` competes
        with levels swept from the removed object (``behind``) back to the far end of the frame.
        Large holes are searched on every other pixel and row, then filled from the nearest.
        Returns the planes (camera frame) fitted around the hole."""
        import cv2

        if not hole.any():
            return []
        planes = [plane for plane, _ in planes_around(depth, (depth > 0) & ~hole & fit_on, hole, edited.intrinsics)[0]]
        if self.config.sweep_levels <= 0:
            return planes
        near_values = behind[hole & (behind > 0)]
        seen = depth[(depth > 0) & ~hole]
        if len(seen) == 0:
            return planes
        near = float(near_values.min()) if len(near_values) else float(np.percentile(seen, 1))
        far = max(float(np.percentile(seen, 99)) * 1.5, near * 1.5)
        stride = 2 if hole.sum() > self.config.search_full_px else 1
        grid = np.zeros_like(hole)
        grid[::stride, ::stride] = True
        rows, cols = np.nonzero(hole & grid)
        levels = sweep_levels(near, far, self.config.sweep_levels)
        priors = np.column_stack([
            np.where(depth[rows, cols] > 0, depth[rows, cols], np.nan),
            plane_depths(planes, edited.intrinsics, rows, cols),
        ])
        hypotheses = np.column_stack([priors, np.broadcast_to(levels, (len(rows), len(levels)))])
        # a depth in front of the object that hid the pixel cannot be its background
        floor = behind[rows, cols][:, None]
        hypotheses = np.where(np.isfinite(hypotheses) & (hypotheses > floor * 0.98), hypotheses, np.nan)
        found, _ = search_depth(
            rows, cols, hypotheses, edited.intrinsics, edited.world_from_cam, self._spread_sources(t),
            priors=priors.shape[1], window=max(3, int(round(self.config.search_window_px * self._scale)) // stride | 1),
            stride=stride,
        )
        solved = np.zeros(hole.shape, np.float32)
        solved[rows, cols] = found
        if stride > 1:
            have = (solved > 0).astype(np.uint8)
            _, nearest = cv2.distanceTransformWithLabels(1 - have, cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL)
            flat_r, flat_c = np.nonzero(have)
            order = np.zeros(nearest.max() + 1, np.int64)
            labels = nearest[flat_r, flat_c]
            order[labels] = np.arange(len(flat_r))
            hr, hc = np.nonzero(hole)
            pick = order[nearest[hr, hc]]
            solved[hr, hc] = solved[flat_r[pick], flat_c[pick]]
        depth[hole & (solved > 0)] = solved[hole & (solved > 0)]
        return planes

    def _novel(self, t: int, edited: FramePasses, path_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A frame seen from a camera the footage never had: every pixel from other frames."""
        passes = edited.passes
        h, w = passes.depth.shape
        rgb = np.zeros((h, w, 3), np.float32)
        source = np.full((h, w), INVENTED, np.uint8)
        drawn = self._changed(path_ids) & passes.coverage
        depth = _dense_depth(passes.depth, passes.coverage)
        rows, cols = np.nonzero(~drawn & (depth > 0))
        points = pixel_points(edited.intrinsics, edited.world_from_cam, rows, cols, depth[rows, cols])
        found = reproject(points, self._sources(t, exclude_self=False), depth_tolerance=self.config.depth_tolerance)
        rgb[rows[found.found], cols[found.found]] = found.colour[found.found]
        source[rows[found.found], cols[found.found]] = REPROJECTED
        baked = (source == INVENTED) & passes.coverage
        rgb[baked] = passes.rgb[baked]
        source[baked] = RENDERED
        rgb[drawn] = self._drawn(edited, path_ids)[drawn]
        source[drawn] = RENDERED
        unseen = source == INVENTED
        if unseen.any():
            self._invent(edited, unseen, rgb, depth, keep_out=self._objects_in(edited))
        return rgb, source

    # -- sources ---------------------------------------------------------------------

    def _sources(self, t: int, *, exclude_self: bool) -> list[SourceView]:
        """Reprojection sources for frame ``t``: the plate frames nearest in time (alternating
        sides), then frames spread over the rest of the shot, nearest first; held-out plates
        are never among them."""
        allowed = [
            s for s in range(len(self.track))
            if not (exclude_self and s == t) and int(self.track.frame_numbers[s]) not in self.edits.held_out
        ]
        by_time = sorted(allowed, key=lambda s: (abs(s - t), s))
        near, rest = by_time[: self.config.near_sources], by_time[self.config.near_sources :]
        if len(rest) > self.config.far_sources:
            picks = np.linspace(0, len(rest) - 1, self.config.far_sources).round().astype(int)
            rest = [rest[i] for i in sorted(set(picks.tolist()))]
        return [self._source(s, moving_ok=s == t) for s in near + rest]

    def _spread_sources(self, t: int) -> list[SourceView]:
        """``search_views`` plate frames spread evenly over the shot (not ``t`` or held-out
        ones): the widest baselines, for telling depths apart."""
        allowed = [
            s for s in range(len(self.track))
            if s != t and int(self.track.frame_numbers[s]) not in self.edits.held_out
        ]
        picks = np.linspace(0, len(allowed) - 1, min(self.config.search_views, len(allowed))).round().astype(int)
        return [self._source(allowed[i], moving_ok=False) for i in np.unique(picks)]

    def _grow(self, mask: np.ndarray, halo_px: float | None = None) -> np.ndarray:
        """``mask`` grown by ``halo_px`` (at 640 px wide; default the revealed region's halo)."""
        import cv2

        halo = max(1, int(round((self.config.halo_px if halo_px is None else halo_px) * self._scale)))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * halo + 1, 2 * halo + 1))
        return cv2.dilate(mask.astype(np.uint8), kernel).astype(bool)

    def _usable(self, s: int, moving_ok: bool) -> np.ndarray:
        """Plate pixels of frame ``s`` that may fill other frames: not on (or at the rim of) an
        edited object, nor on a moving one unless ``moving_ok``."""
        key = (s, moving_ok)
        if key not in self._usable_masks:
            plate = self._plate[s]
            bad = np.isin(plate.path_ids, self._changed_ids)
            if not moving_ok:
                bad |= np.isin(plate.path_ids, self._moving_ids)
            if self._instances is not None:
                bad |= np.isin(self._instances[s], self._changed_instances)
                if not moving_ok:
                    bad |= np.isin(self._instances[s], self._moving_instances)
            self._usable_masks[key] = ~(self._grow(bad, self.config.source_halo_px) if bad.any() else bad)
        return self._usable_masks[key]

    def _source(self, s: int, *, moving_ok: bool) -> SourceView:
        plate = self._plate[s]
        return SourceView(
            image=self.plates.images[s], depth=plate.depth, usable=self._usable(s, moving_ok), intrinsics=self.track.intrinsics[s],
            world_from_cam=self.track.world_from_cam[s], frame_number=int(self.track.frame_numbers[s]),
        )

    def _match_exposure(
        self, colour: np.ndarray, used: np.ndarray, target: np.ndarray, shared: np.ndarray, sources: Sequence[SourceView]
    ) -> np.ndarray:
        """Each source's colours scaled to the target frame's exposure, measured on the pixels
        around the region that both the target's plate and that source saw."""
        out = colour.copy()
        for k in np.unique(used[used >= 0]):
            mine = used == k
            gain = exposure_gain(target[mine & shared], colour[mine & shared])
            out[mine] = np.clip(colour[mine] * gain, 0.0, 1.0)
        return out

    # -- invention -------------------------------------------------------------------

    def _invent(
        self, edited: FramePasses, unseen: np.ndarray, image: np.ndarray, depth: np.ndarray, *, keep_out: np.ndarray,
        planes: Sequence[np.ndarray] = (),
    ) -> None:
        """Fill ``unseen`` in ``image``: from earlier inventions where they saw the point, else by
        inpainting here — which then becomes a source for later frames. Texture is never
        copied from ``keep_out`` (objects in front of the background)."""
        rows, cols = np.nonzero(unseen & (depth > 0))
        if len(rows) and self._inventions:
            points = pixel_points(edited.intrinsics, edited.world_from_cam, rows, cols, depth[rows, cols])
            found = reproject(points, self._inventions[::-1], depth_tolerance=2 * self.config.depth_tolerance)
            image[rows[found.found], cols[found.found]] = found.colour[found.found]
            left = unseen.copy()
            left[rows[found.found], cols[found.found]] = False
        else:
            left = unseen
        if not left.any():
            return
        as_uint8 = np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)
        for part, known in self._plane_parts(edited, left, depth, keep_out, planes):
            painted = self._inpaint(as_uint8, part, ~known)
            image[part] = painted[part].astype(np.float32) / 255.0
            as_uint8[part] = painted[part]
        record = np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)
        # The invention's rim is usable too (its neighbours are real colours), so a later frame's
        # bilinear lookup at the edge of the invented region does not fail and invent a ring again.
        self._inventions.append(
            SourceView(
                image=record, depth=depth.astype(np.float32), usable=self._grow(left) & (depth > 0),
                intrinsics=edited.intrinsics,
                world_from_cam=edited.world_from_cam, frame_number=edited.frame_number,
            )
        )
        del self._inventions[: -self.config.max_inventions]


    def _plane_parts(
        self, edited: FramePasses, hole: np.ndarray, depth: np.ndarray, keep_out: np.ndarray, planes: Sequence[np.ndarray]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """``hole`` split by the plane each pixel's depth lies on, each part with the pixels it
        may copy texture from: those on the same plane (a floor continues as floor, not as the
        wall above it). Hole pixels on no plane (and parts with too little of their plane in
        view) form one part that copies from the whole background."""
        if not planes:
            return [(hole, ~(hole | keep_out))]
        rows, cols = np.nonzero(depth > 0)
        points = edited.intrinsics.unproject(np.column_stack([cols + 0.5, rows + 0.5]), depth[rows, cols].astype(np.float64))
        distance = np.abs(points @ np.array(planes)[:, :3].T + np.array(planes)[:, 3])
        nearest = np.argmin(distance, axis=1)
        on_plane = distance[np.arange(len(rows)), nearest] <= self.config.depth_tolerance * points[:, 2]
        label = np.full(hole.shape, -1, np.int32)
        label[rows[on_plane], cols[on_plane]] = nearest[on_plane]
        parts, rest = [], hole.copy()
        free = ~(hole | keep_out)
        for j in range(len(planes)):
            part = hole & (label == j)
            known = free & (label == j)
            if part.any() and known.sum() >= 4 * part.sum():
                parts.append((part, known))
                rest &= ~part
        if rest.any():
            parts.append((rest, free))
        return parts

    def _inpaint(self, image: np.ndarray, hole: np.ndarray, keep_out: np.ndarray) -> np.ndarray:
        """``image`` (uint8) with ``hole`` inpainted (other pixels may change too: use the hole's)."""
        import cv2

        use_shift_map = (
            self.config.inpaint == "shift-map" and hasattr(cv2, "xphoto") and hole.mean() >= self.config.shift_map_min_share
        )
        if not use_shift_map:
            radius = max(1.0, self.config.inpaint_radius_px * self._scale)
            return cv2.inpaint(image, hole.astype(np.uint8), radius, cv2.INPAINT_TELEA)
        # Shift-map works on a crop around the hole (its cost grows with the image) in Lab, and
        # may take texture only from the background: objects are marked missing as well.
        rows, cols = np.nonzero(hole)
        margin = int(round(64 * self._scale))
        r0, r1 = max(0, rows.min() - margin), min(hole.shape[0], rows.max() + margin + 1)
        c0, c1 = max(0, cols.min() - margin), min(hole.shape[1], cols.max() + margin + 1)
        crop = cv2.cvtColor(np.ascontiguousarray(image[r0:r1, c0:c1]), cv2.COLOR_RGB2Lab)
        known = ~(hole | keep_out)[r0:r1, c0:c1]
        out = np.zeros_like(crop)
        cv2.xphoto.inpaint(crop, known.astype(np.uint8) * 255, out, cv2.xphoto.INPAINT_SHIFTMAP)
        result = image.copy()
        result[r0:r1, c0:c1] = cv2.cvtColor(out, cv2.COLOR_Lab2RGB)
        return result


def _owner(path: str) -> str:
    """The object (``/World/Objects/<name>``) a mesh prim belongs to, or the path itself."""
    if path.startswith(_OBJECTS):
        return _OBJECTS + path[len(_OBJECTS):].split("/")[0]
    return path


def _dense_depth(depth: np.ndarray, coverage: np.ndarray) -> np.ndarray:
    """``depth`` with the pixels no mesh covered filled smoothly in inverse depth (0 where none)."""
    if coverage.all() or not coverage.any():
        return depth
    inverse = np.where(coverage, 1.0 / np.maximum(depth, 1e-6), 0.0).astype(np.float32)[..., None]
    filled = fill_holes(inverse, coverage)[..., 0]
    return np.where(coverage, depth, 1.0 / np.maximum(filled, 1e-6)).astype(np.float32)


def _soft_inside(mask: np.ndarray) -> np.ndarray:
    """Opacity of a drawn object: 1 inside, fading over its outermost pixel (anti-aliased edge)."""
    import cv2

    blurred = cv2.GaussianBlur(mask.astype(np.float32), (3, 3), 0.8)
    return np.where(mask, np.clip(2.0 * blurred - 0.25, 0.0, 1.0), 0.0).astype(np.float32)
