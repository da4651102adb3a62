"""What a reconstruct job takes and what it gives back.

:class:`ReconstructConfig` is the one place each option of ``sceneforge reconstruct`` is
written: its field docstrings are the command-line help and its defaults the command
line's defaults (the CLI is generated from it, see ``engine.registry``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from sceneforge.scenegraph import CameraTrack, ObjectLayer

from ..registry import int_at_least, option, positive_float

__all__ = ["ReconstructConfig", "ReconstructResult", "ObjectSummary", "RUN_FOLDER", "GROUPS"]

RUN_FOLDER = "run"
"""The shot's run folder: depth maps, instance maps and the stage cache."""

GROUPS = {
    "frames": None,
    "camera solve": None,
    "depth and geometry": None,
    "objects": None,
    "lighting": None,
    "backends": "Each stage's backend by name; its options as --STAGE.OPTION (listed below).",
    "run": None,
}

_positive = int_at_least(1)
_non_negative = int_at_least(0)


@dataclass(frozen=True)
class ReconstructConfig:
    """Everything ``sceneforge reconstruct`` takes (from Python: the same names and defaults)."""

    input: Path = option(flag="input")
    """A video file (MP4, MOV, MKV, WebM) or a folder of images."""
    output: Path = option(short="-o", required=True)
    """The shot folder to write (scene.usda, report.json, run/)."""
    start: int = option(0, group="frames", parse=_non_negative)
    """First source frame to use."""
    end: int | None = option(None, group="frames", parse=_positive)
    """Source frame to stop before (default: the end)."""
    stride: int = option(1, group="frames", parse=_positive)
    """Use every n-th frame."""
    max_size: int | None = option(960, group="frames", parse=_non_negative, zero_means_none=True)
    """Resize so the long side is at most this many pixels; 0 (None from Python) keeps the size."""
    fps: float | None = option(None, group="frames", parse=positive_float)
    """Frames per second (default: the video's, or 24 for images)."""
    pattern: str | None = option(None, group="frames")
    """Glob picking the frames in an image folder, e.g. '*.color.jpg'."""
    still_frames: int = option(1, group="frames", parse=_positive)
    """How many frames a single photo lasts: it is held, so that a camera move (edit camera
    orbit, ken-burns, ...) has frames to happen over (give --depth a monocular backend to give
    the photo depth); ignored for videos and image folders."""
    solver: str = option("colmap-global", group="camera solve")
    """Camera solver backend."""
    focal_px: float | None = option(None, flag="--focal", group="camera solve", parse=positive_float, exclusive="known")
    """Known focal length in pixels of the source frames."""
    intrinsics_file: Path | None = option(None, flag="--intrinsics", group="camera solve", exclusive="known")
    """File with the known 3×3 K of the source frames (9 numbers or JSON {'K': ...})."""
    scale_from: str = option("auto", group="camera solve", metavar="RULE")
    """How many metres a scene unit is: auto (where a ground plane is found, assume the camera at
    eye level, 1.6 m, and say so), camera-height=METRES, distance=FRAME:x1,y1,x2,y2=METRES (two
    pixels of a source frame whose points lie that far apart), or none (arbitrary units). Set
    on the stage as metersPerUnit; the geometry keeps its units."""
    refine_principal_point: bool = option(False, group="camera solve")
    """Let the solve move the principal point (default: fixed at the centre)."""
    lens: Literal["pinhole", "simple_radial", "radial"] = option("radial", group="camera solve")
    """Lens model: no distortion, one or two radial terms."""
    camera_per_frame: bool = option(False, group="camera solve")
    """Separate intrinsics per frame (zooming lens)."""
    mask: Path | None = option(None, group="camera solve")
    """Image (or folder of per-frame images) whose non-zero pixels the solve ignores, e.g. moving things."""
    depth: str = option("patchmatch", group="depth and geometry")
    """Dense depth backend."""
    background: bool = option(True, flag="--no-background", negate=True, group="depth and geometry")
    """Fuse the depth into a textured background mesh (needs depth)."""
    max_triangles: int = option(500_000, group="depth and geometry", parse=_positive)
    """Triangle budget of the background mesh."""
    texture_size: int = option(2048, group="depth and geometry", parse=_positive)
    """Background texture atlas size in pixels."""
    objects: tuple[str, ...] = option(
        default_factory=tuple, flag="--object", group="objects", repeat=True, metavar="NAME=PROMPT@FRAME"
    )
    """An object to segment and track, prompted on one source frame in source-video pixels:
    NAME=box:x0,y0,x1,y1@F, NAME=points:x,y,+;x,y,-@F (+ on the object, - off it),
    NAME=mask:file.png@F (non-zero pixels) or NAME=text:the red chair@F (named in words: needs
    --segmenter sam3); repeat for more objects. Without any, objects are proposed (people and
    the geometry's objects)."""
    propose_objects: bool = option(True, flag="--no-objects", negate=True, group="objects")
    """Propose objects from the geometry when none is prompted (off: neither prompts nor
    proposals; everything is background)."""
    solve_without_moving: bool = option(True, flag="--keep-moving-in-solve", negate=True, group="objects")
    """Keep objects out of the camera solve: prompted objects are tracked in the images first
    and masked out of the first solve (a subject the camera follows cannot pull it), and when
    an object turns out to move the camera is solved again with it masked out (and the depth
    recomputed), so that only the static world drives the camera (off is faster; the moving
    pixels may bias the camera)."""
    light_probe: bool = option(True, flag="--no-light-probe", negate=True, group="lighting")
    """Build a light probe from the footage (what the camera saw, seen from the scene's centre,
    with the dominant light estimated from the shading) and store it in the scene as a dome
    light with spherical harmonics (needs depth)."""
    footage_encoding: Literal["srgb", "linear"] = option("srgb", group="lighting")
    """How the footage's values relate to light: srgb (camera footage, decoded with the sRGB
    curve) or linear (values proportional to light, e.g. renders written without a transfer curve)."""
    fusion: str = option("tsdf", group="backends")
    """Background fusion backend."""
    texture: str = option("views", group="backends")
    """Texture baking backend of the background."""
    segmenter: str = option("graph-cut", group="backends")
    """Prompted segmentation backend (sam3 for objects named in words, NAME=text:...)."""
    tracker: str = option("auto", group="backends")
    """Mask tracking backend (auto: the segmenter's own video propagation when it has one, else flow)."""
    proposer: str = option("auto", group="backends")
    """Object proposal backend, used when no object is prompted (auto: people found by the bundled
    person model, every other object from the geometry)."""
    backend_options: Mapping[str, Mapping[str, Any]] = option(default_factory=dict, hidden=True)
    """Options of the chosen backends by stage key, e.g. ``{"depth": {"num_planes": 96}}``
    (``--depth.num-planes 96`` on the command line)."""
    force: bool = option(False, group="run")
    """Overwrite a scene already in the output folder."""
    fresh: bool = option(False, group="run")
    """Ignore cached stage results in OUTPUT/run and compute everything again."""

    def options_of(self, stage: str) -> dict[str, Any]:
        """The options given for backend stage ``stage`` (a registry key such as ``depth``)."""
        return dict(self.backend_options.get(stage, {}))


@dataclass(frozen=True)
class ObjectSummary:
    """One reconstructed object as the job reports it."""

    name: str
    instance_id: int
    static: bool
    stats: Mapping[str, Any]
    """Frames visible, size, mask quality (:attr:`~sceneforge.scenegraph.ObjectLayer.stats`)."""

    @classmethod
    def of(cls, layer: ObjectLayer) -> ObjectSummary:
        return cls(name=layer.name, instance_id=layer.instance_id, static=layer.static, stats=dict(layer.stats))

    def to_dict(self) -> dict[str, Any]:
        """Name, instance id, static flag and the stats in one flat dict (the report's form)."""
        return {"name": self.name, "instance_id": self.instance_id, "static": self.static, **self.stats}


@dataclass(frozen=True)
class ReconstructResult:
    """What a reconstruct job wrote."""

    scene_path: Path
    report_path: Path
    track: CameraTrack
    num_frames: int
    image_size: tuple[int, int]
    timings_secs: dict[str, float] = field(default_factory=dict)
    resumed_stages: tuple[str, ...] = ()
    objects: tuple[ObjectSummary, ...] = ()
    """Per object: name, instance id, static flag and its stats (frames, size, mask quality)."""
    depth_coverage: float | None = None
    """Mean share of each frame's pixels with depth (the checked maps the USD references); None
    without depth (``--depth none``)."""
    light_probe: Mapping[str, Any] | None = None
    """The light probe as the report gives it (key light azimuth/elevation, ambient:key ratio,
    map size, seen share); None without one."""
