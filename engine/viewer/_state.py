"""The viewer's state without a browser: the open scene, the current frame, the selection, what
to draw as plain data, and every edit the GUI can make — each through the ``Scene`` API into
``edits.usda``, saved at once.

Other writers. ``Scene.save`` holds the shot's edits lock and merges with what is on disk, so
an edit made elsewhere (``sceneforge edit`` in a terminal) is never lost by the viewer's next
save. :meth:`ViewerState.reload_if_changed` notices such an edit (``edits.usda``'s mtime and
size) and takes it in through the same merge, so the viewer's next edit starts from what is
on disk (the undo history is cleared then: undoing across another writer's edit would drop it).

Threads. viser runs GUI callbacks on a thread pool, and the file watcher runs on its own
thread: every public method takes one re-entrant lock.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from pxr import Sdf, Tf, Usd

from sceneforge.scenegraph import (
    CameraHandle,
    InputError,
    Intrinsics,
    Scene,
    animated_mesh_paths,
    read_object_layers,
    read_scene_meshes,
)
from sceneforge.scenegraph.usd import BACKGROUND_PATH, DEFAULT_CAMERA_PATH, EDITS_FILE, read_points

from ._display import DisplayMesh, display_mesh, downsize_image, node_pose, subsample_points

__all__ = ["CAMERA_MOVE_AMOUNTS", "ObjectInfo", "ObjectView", "ViewerOptions", "ViewerState"]

log = logging.getLogger(__name__)

T = TypeVar("T")

CAMERA_MOVE_AMOUNTS: dict[str, str] = {
    "orbit": "degrees",
    "dolly": "distance",
    "push_in": "distance",
    "pan": "degrees",
    "tilt": "degrees",
    "crane": "height",
    "zoom": "factor",
}
"""Camera moves the viewer offers, each with the keyword of its one amount (see ``CameraHandle``)."""

_FRAME_CACHE = 96  # per-frame meshes of moving objects kept (LRU)


@dataclass(frozen=True)
class ViewerOptions:
    """How much the viewer sends to the browser."""

    triangle_budget: int = 200_000
    """Most triangles per mesh; larger meshes are decimated for display (never in the scene)."""
    texture_size: int = 1024
    """Longest side of a displayed texture, pixels."""
    moving_texture_size: int = 512
    """Longest side of a moving object's per-frame texture, pixels (sent on every frame)."""
    max_points: int = 100_000
    """Most sparse points drawn."""
    plate_size: int = 1024
    """Longest side of the footage frames kept for display, pixels."""

    def __post_init__(self) -> None:
        for name in ("triangle_budget", "texture_size", "moving_texture_size", "max_points", "plate_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 8:
                raise InputError(f"{name} must be an integer ≥ 8, got {value!r}")


@dataclass(frozen=True)
class ObjectInfo:
    """What the selection panel says about an object."""

    name: str
    motion: str
    """``"static"``, ``"moving"`` (a reconstructed layer that moves), or ``"inserted"``."""
    size: tuple[float, float, float] | None
    """Extent along x, y, z in :attr:`units`."""
    units: str
    """``"m"`` when the scene is in true metres, else ``"units"`` (scene units)."""
    mask_quality: float | None
    """Mean mask quality of the reconstructed layer, 0..1, or None."""

    def markdown(self) -> str:
        """The panel's text."""
        size = "unknown" if self.size is None else " × ".join(f"{s:.2f}" for s in self.size) + f" {self.units}"
        quality = "—" if self.mask_quality is None else f"{self.mask_quality:.2f}"
        return f"**{self.name}**  \n{self.motion}  \nsize: {size}  \nmask quality: {quality}"


@dataclass(frozen=True, eq=False)
class ObjectView:
    """One object as drawn at one frame.

    Attributes:
        name: the object's name (``/World/Objects/<name>``).
        parts: its meshes in the node's frame (empty: not visible on this frame).
        world_from_node: 4×4 float64 pose of the node that draws ``parts``.
        key: identifies ``parts``: equal keys, equal geometry (the server caches its GLB by it).
    """

    name: str
    parts: tuple[DisplayMesh, ...]
    world_from_node: np.ndarray
    key: tuple[Any, ...]


class ViewerState:
    """The scene being viewed and edited, with everything the browser shows as plain data.

    Make one with :meth:`load` (a shot folder or its ``scene.usda``). Frames are source frame
    numbers (USD time codes); transforms 4×4 float64 ``world_from_*`` (column vectors, +Y up,
    scene units); camera poses in OpenCV axes.
    """

    def __init__(self, scene: Scene, options: ViewerOptions | None = None) -> None:
        self._scene = scene
        self.options = options or ViewerOptions()
        self._lock = threading.RLock()
        self._selection: str | None = None
        self._frame = 0
        self._revision = 0
        self._geometry: dict[str, tuple[DisplayMesh, ...]] = {}
        self._per_frame: OrderedDict[tuple[str, int, int], tuple[DisplayMesh, ...]] = OrderedDict()
        self._tokens: dict[str, int] = {}
        self._token_counter = 0
        self._background: tuple[DisplayMesh, ...] | None = None
        self._background_token = 0
        self._points: tuple[np.ndarray, np.ndarray] | None = None
        self._plate: dict[int, np.ndarray] | None = None
        self._plate_error: str | None = None
        self._camera_preview: np.ndarray | None = None
        self._scratch: tuple[Usd.Stage, Sdf.Layer] | None = None
        self.status = ""
        """One line about the last thing done (or what went wrong), for the GUI."""
        self.load_seconds: dict[str, float] = {}
        """Seconds each part of :meth:`load` took (``open``, ``background``, ``objects``, ``points``, ``plate``, ``total``)."""
        self._refresh_facts()
        self._frame = int(self.frame_numbers[0]) if len(self.frame_numbers) else 0
        self._signature = self._edits_signature()

    # ------------------------------------------------------------------------------ loading

    @classmethod
    def load(cls, path: str | Path, options: ViewerOptions | None = None, *, plate: bool = True) -> ViewerState:
        """Open a scene and prepare everything the first view draws, timing each part
        (:attr:`load_seconds`).

        Args:
            path: a shot folder or its ``scene.usda``.
            options: display budgets.
            plate: also decode the footage (for the frustum image and "look through").

        Raises:
            SceneFileError: the scene cannot be opened.
        """
        timings: dict[str, float] = {}
        start = time.perf_counter()
        state = cls(Scene.open(path), options)
        timings["open"] = time.perf_counter() - start
        for part, warm in (
            ("background", state.background),
            ("objects", lambda: [state.object_view(name) for name in state.objects]),
            ("points", state.points),
            ("plate", state.plate_image if plate else lambda: None),
        ):
            t = time.perf_counter()
            warm()
            timings[part] = time.perf_counter() - t
        timings["total"] = time.perf_counter() - start
        state.load_seconds = timings
        log.info("loaded %s in %.2f s (%s)", state.scene.path, timings["total"],
                 ", ".join(f"{k} {v:.2f} s" for k, v in timings.items() if k != "total"))
        return state

    def _refresh_facts(self) -> None:
        """Re-read what every view depends on (after a reload or an undo)."""
        stage = self._scene.stage
        self._animated_paths = set(animated_mesh_paths(stage))
        self._layers = {entry["name"]: entry for entry in read_object_layers(stage)}
        camera = self._camera_or_none()
        self._frame_numbers = camera.frame_numbers if camera is not None else np.array([0], dtype=np.int64)
        self._path = camera.world_from_cam() if camera is not None else None
        self._intrinsics = camera.intrinsics() if camera is not None else None

    def _camera_or_none(self) -> CameraHandle | None:
        try:
            return self._scene.camera
        except InputError:
            return None

    # ------------------------------------------------------------------------------ facts

    @property
    def scene(self) -> Scene:
        """The open scene (edit through this state's methods, so that the view follows)."""
        return self._scene

    @property
    def revision(self) -> int:
        """Goes up by one on every change of what is drawn (edit, undo, reload)."""
        return self._revision

    @property
    def fps(self) -> float:
        """The shot's frame rate."""
        return self._scene.fps

    @property
    def frame_numbers(self) -> np.ndarray:
        """N int64 source frame numbers of the plate camera (``[0]`` without a camera)."""
        return self._frame_numbers

    @property
    def frame(self) -> int:
        """The current source frame number."""
        return self._frame

    def set_frame(self, frame: int) -> int:
        """Go to ``frame`` (snapped to the nearest frame of the shot); returns it."""
        numbers = self._frame_numbers
        self._frame = int(numbers[int(np.argmin(np.abs(numbers - int(frame))))])
        return self._frame

    def step(self, by: int = 1) -> int:
        """Go ``by`` frames on (wrapping round at the end); returns the new frame."""
        numbers = self._frame_numbers
        index = int(np.searchsorted(numbers, self._frame))
        self._frame = int(numbers[(index + by) % len(numbers)])
        return self._frame

    @property
    def objects(self) -> tuple[str, ...]:
        """Names of the objects in the scene (removed ones left out), in stage order."""
        with self._lock:
            return tuple(self._scene.objects)

    @property
    def selection(self) -> str | None:
        """The selected object's name, or None."""
        return self._selection

    def select(self, name: str | None) -> ObjectInfo | None:
        """Select an object (None clears the selection); returns what the panel shows.

        Raises:
            InputError: no object of that name.
        """
        with self._lock:
            if name is not None:
                self._scene.objects[name]  # raises a one-line error naming the objects there are
            self._selection = name
            return None if name is None else self.object_info(name)

    def object_info(self, name: str) -> ObjectInfo:
        """Name, motion, size and mask quality of an object (from its layer's stats, or its bounds)."""
        with self._lock:
            handle = self._scene.objects[name]
            entry = self._layers.get(name, {})
            static = entry.get("static")
            motion = "inserted" if static is None else ("static" if static else "moving")
            size = entry.get("size")
            if size is None:
                bounds = handle.world_bounds(self._frame)
                size = None if bounds is None else (bounds[1] - bounds[0]).tolist()
            units = self._scene.units
            if size is not None and units["metric"]:
                size = [s * units["meters_per_unit"] for s in size]
            return ObjectInfo(
                name=name, motion=motion, size=None if size is None else tuple(float(s) for s in size),
                units="m" if units["metric"] else "units", mask_quality=entry.get("mask_quality"),
            )

    # ------------------------------------------------------------------------------ what is drawn

    def background(self) -> tuple[DisplayMesh, ...]:
        """The background's meshes in the world frame (empty without a background)."""
        with self._lock:
            if self._background is None:
                meshes = read_scene_meshes(self._scene.stage, under=[BACKGROUND_PATH])
                self._background = tuple(
                    display_mesh(m, triangle_budget=self.options.triangle_budget, texture_size=self.options.texture_size)
                    for m in meshes
                )
            return self._background

    @property
    def background_token(self) -> int:
        """Changes whenever the background's meshes must be read again."""
        return self._background_token

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """The sparse points (N×3 float32 world) and their colours (N×3 uint8), subsampled to ``max_points``."""
        with self._lock:
            if self._points is None:
                sparse = read_points(self._scene.stage)
                self._points = subsample_points(
                    sparse.points_in_world.astype(np.float32), sparse.colors, self.options.max_points
                )
            return self._points

    def object_view(self, name: str, frame: int | None = None) -> ObjectView:
        """How to draw object ``name`` at ``frame`` (default: the current frame).

        An object whose meshes change over time (a moving layer's time-sampled points and
        textures) is read at that frame; any other is read once and placed by its
        ``world_from_local`` at that frame. A transform that is not a rotation times a scale
        is baked into the vertices.

        Raises:
            InputError: no object of that name.
        """
        with self._lock:
            when = self._frame if frame is None else int(frame)
            handle = self._scene.objects[name]
            world_from_object = handle.get_world_from_local(when)
            token = self._tokens.setdefault(name, self._next_token())
            if node_pose(world_from_object) is None:
                parts = self._read_object(handle.prim_path, when, None, self.options.texture_size)
                return ObjectView(name, parts, np.eye(4), ("baked", name, token, when, self._revision))
            object_from_world = np.linalg.inv(world_from_object)
            if self._moves(handle.prim_path):
                key = (name, token, when)
                parts = self._per_frame.get(key)
                if parts is None:
                    parts = self._read_object(handle.prim_path, when, object_from_world, self.options.moving_texture_size)
                    self._per_frame[key] = parts
                    while len(self._per_frame) > _FRAME_CACHE:
                        self._per_frame.popitem(last=False)
                else:
                    self._per_frame.move_to_end(key)
                return ObjectView(name, parts, world_from_object, ("frame",) + key)
            parts = self._geometry.get(name)
            if parts is None:
                earliest = handle.get_world_from_local()
                parts = self._read_object(handle.prim_path, None, np.linalg.inv(earliest), self.options.texture_size)
                # placed by the pose at the time it was read; later poses move the node
                self._geometry[name] = parts
            return ObjectView(name, parts, world_from_object, ("static", name, token))

    def _moves(self, prim_path: str) -> bool:
        prefix = prim_path.rstrip("/") + "/"
        return any(p == prim_path or p.startswith(prefix) for p in self._animated_paths)

    def _read_object(self, prim_path: str, when: int | None, frame_from_world: np.ndarray | None, texture_size: int) -> tuple[DisplayMesh, ...]:
        meshes = read_scene_meshes(self._scene.stage, time=when, under=[prim_path])
        return tuple(
            display_mesh(m, frame_from_world=frame_from_world, triangle_budget=self.options.triangle_budget, texture_size=texture_size)
            for m in meshes
        )

    def _next_token(self) -> int:
        self._token_counter += 1
        return self._token_counter

    def gizmo_pose(self, name: str | None = None) -> np.ndarray:
        """4×4 ``world_from_gizmo`` for an object (default: the selection): at the centre of its
        bounding box at the current frame, along the world axes.

        Raises:
            InputError: nothing selected, or no object of that name.
        """
        with self._lock:
            name = self._selected(name)
            handle = self._scene.objects[name]
            bounds = handle.world_bounds(self._frame)
            pose = np.eye(4)
            pose[:3, 3] = handle.get_world_from_local(self._frame)[:3, 3] if bounds is None else bounds.mean(axis=0)
            return pose

    # ------------------------------------------------------------------------------ cameras and footage

    def world_from_cam(self, frame: int | None = None) -> np.ndarray:
        """4×4 float64 ``world_from_cam`` (OpenCV axes) of the plate camera at ``frame`` (default: the current one).

        Raises:
            InputError: the scene has no plate camera.
        """
        if self._path is None:
            raise InputError(f"the scene has no camera at {DEFAULT_CAMERA_PATH}")
        return self._path[self._index(frame)].copy()

    def intrinsics(self, frame: int | None = None) -> Intrinsics:
        """The plate camera's intrinsics at ``frame`` (default: the current one).

        Raises:
            InputError: the scene has no plate camera.
        """
        if self._intrinsics is None:
            raise InputError(f"the scene has no camera at {DEFAULT_CAMERA_PATH}")
        return self._intrinsics[self._index(frame)]

    def camera_centres(self) -> np.ndarray:
        """N×3 float64 world positions of the plate camera, one per frame (the path as composed now)."""
        if self._path is None:
            return np.zeros((0, 3))
        return self._path[:, :3, 3].copy()

    def _index(self, frame: int | None) -> int:
        number = self._frame if frame is None else int(frame)
        index = int(np.searchsorted(self._frame_numbers, number))
        if index >= len(self._frame_numbers) or self._frame_numbers[index] != number:
            raise InputError(f"frame {number} is not a frame of the shot ({int(self._frame_numbers[0])}–{int(self._frame_numbers[-1])})")
        return index

    def plate_image(self, frame: int | None = None) -> np.ndarray | None:
        """The footage at ``frame`` (default: the current one), h×w×3 uint8 with its longest
        side at most ``plate_size``; None when the source clip cannot be read (see :attr:`status`)."""
        with self._lock:
            if self._plate is None and self._plate_error is None:
                self._load_plate()
            if self._plate is None:
                return None
            return self._plate.get(self._frame if frame is None else int(frame))

    def _load_plate(self) -> None:
        from ..pipeline import read_plate
        from sceneforge.scenegraph import SceneForgeError, read_camera_track

        try:
            track = read_camera_track(self._scene.stage)
            plate = read_plate(self._scene.path, track, purpose="showing the footage")
        except SceneForgeError as exc:
            self._plate_error = str(exc)
            self.status = f"no footage: {exc}"
            log.warning("the viewer shows no footage: %s", exc)
            return
        self._plate = {int(n): downsize_image(image, self.options.plate_size) for n, image in zip(plate.frame_numbers, plate.images)}

    # ------------------------------------------------------------------------------ edits

    def _edit(self, what: Callable[[], T], *, rescan: bool = False) -> T:
        """Run one edit through the Scene API, save it (merging with other writers), note it."""
        with self._lock:
            result = what()
            self._save()
            if rescan:
                self._refresh_facts()
                self._per_frame.clear()
            else:
                self._path = self._camera_path()
            self._revision += 1
            if self._selection is not None and self._selection not in self._scene.objects:
                self._selection = None
            history = self._scene.history
            self.status = history[-1] if history else ""
            return result

    def _camera_path(self) -> np.ndarray | None:
        camera = self._camera_or_none()
        return None if camera is None else camera.world_from_cam()

    def _save(self) -> None:
        before = self._edits_signature()
        self._scene.save()
        if before != self._signature:
            # Another writer saved meanwhile: save merged our edit onto theirs; show theirs too.
            self._invalidate()
        self._signature = self._edits_signature()

    def _selected(self, name: str | None) -> str:
        name = self._selection if name is None else name
        if name is None:
            raise InputError("no object is selected; click one first")
        return name

    def transform(self, world_from_world: np.ndarray, name: str | None = None) -> str:
        """Move an object (default: the selection) rigidly by ``world_from_world`` (4×4, applied
        on the left of its ``world_from_local`` at every key): what a gizmo drag does. One undoable
        step; returns its description.

        Raises:
            InputError: not a finite rigid 4×4, nothing selected, an unknown or removed object.
        """
        delta = np.asarray(world_from_world, dtype=np.float64)
        if delta.shape != (4, 4) or not np.all(np.isfinite(delta)):
            raise InputError(f"world_from_world must be a finite 4×4, got shape {delta.shape}")
        name = self._selected(name)
        # a gizmo's pose arrives in float32 from the browser: make its rotation exactly orthonormal
        u, _, vt = np.linalg.svd(delta[:3, :3])
        delta = delta.copy()
        delta[:3, :3] = u @ np.diag([1.0, 1.0, np.linalg.det(u @ vt)]) @ vt

        def apply() -> None:
            handle = self._scene.objects[name]
            if np.allclose(delta[:3, :3], np.eye(3), atol=1e-9):
                handle.translate(delta[:3, 3])
            else:
                # One step for a rotation and a translation together, at every key of a moving object.
                handle.transform(delta, description=f"move {name} with the gizmo")

        self._edit(apply)
        return self.status

    def apply_gizmo(self, world_from_gizmo_start: np.ndarray, world_from_gizmo_end: np.ndarray, name: str | None = None) -> str:
        """Apply a gizmo drag: the object follows the gizmo from its pose at the start of the
        drag to its pose at the end (both 4×4 ``world_from_gizmo``). Returns the edit's description."""
        delta = np.asarray(world_from_gizmo_end, dtype=np.float64) @ np.linalg.inv(np.asarray(world_from_gizmo_start, dtype=np.float64))
        return self.transform(delta, name)

    def translate(self, delta_xyz: Any, name: str | None = None) -> str:
        """Move an object (default: the selection) by ``delta_xyz`` (scene units, world axes)."""
        name = self._selected(name)
        self._edit(lambda: self._scene.objects[name].translate(delta_xyz))
        return self.status

    def rotate(self, x_deg: float = 0.0, y_deg: float = 0.0, z_deg: float = 0.0, name: str | None = None) -> str:
        """Rotate an object (default: the selection) about its centre, world X then Y then Z (degrees)."""
        name = self._selected(name)
        self._edit(lambda: self._scene.objects[name].rotate(x_deg, y_deg, z_deg))
        return self.status

    def delete(self, name: str | None = None) -> str:
        """Remove an object (default: the selection); undo or reset brings it back."""
        name = self._selected(name)
        self._edit(lambda: self._scene.objects[name].remove())
        return self.status

    def duplicate(self, name: str | None = None, new_name: str | None = None) -> str:
        """Copy an object (default: the selection) in place, as ``new_name`` (default
        ``<name>_copy``, numbered when taken); selects the copy and returns its name."""
        name = self._selected(name)
        new_name = new_name or self._free_name(f"{name}_copy")
        self._edit(lambda: self._scene.objects[name].duplicate(new_name))
        self._selection = new_name
        return new_name

    def reset(self, name: str | None = None) -> str:
        """Drop every edit of an object (default: the selection): back to the reconstruction."""
        name = self._selected(name)

        def apply() -> None:
            handles = self._scene.objects if name in self._scene.objects else self._scene.removed_objects
            handles[name].reset()

        self._edit(apply, rescan=True)
        return self.status

    def undo(self) -> str:
        """Undo the last edit made here; returns its description.

        Raises:
            InputError: nothing to undo.
        """
        description = self._edit(self._scene.undo, rescan=True)
        self.status = f"undid: {description}"
        return description

    def redo(self) -> str:
        """Redo the last undone edit; returns its description.

        Raises:
            InputError: nothing to redo.
        """
        description = self._edit(self._scene.redo, rescan=True)
        self.status = f"redid: {description}"
        return description

    def insert(self, path: str | Path, name: str | None = None) -> str:
        """Insert a glTF/GLB, OBJ, PLY or USD asset standing on the ground where the camera
        looks, as ``name`` (default: from the file name); selects it and returns its name.

        Raises:
            InputError: the file is missing or does not load, or the name is taken.
        """
        file = Path(str(path).strip()).expanduser()
        if not file.is_file():
            raise InputError(f"asset {str(file)!r} is not a file; type the path of a .glb, .gltf, .obj, .ply or .usd file")
        name = name or self._free_name(Tf.MakeValidIdentifier(file.stem))
        self._edit(lambda: self._scene.insert(file, name=name), rescan=True)
        self._selection = name
        return name

    def _free_name(self, base: str) -> str:
        taken = set(self._scene.objects) | set(self._scene.removed_objects)
        name, k = base, 1
        while name in taken:
            k += 1
            name = f"{base}_{k}"
        return name

    # camera moves ------------------------------------------------------------------

    @property
    def camera_preview(self) -> np.ndarray | None:
        """N×3 camera centres of the last previewed move (not applied), or None."""
        return self._camera_preview

    def preview_camera_move(self, move: str, amount: float) -> np.ndarray:
        """The plate camera's path if ``move`` (see :data:`CAMERA_MOVE_AMOUNTS`) were made over the
        whole shot with ``amount``: N×3 camera centres. Nothing is written.

        Raises:
            InputError: an unknown move or a bad amount.
        """
        with self._lock:
            keyword = _move_keyword(move)
            stage, session = self._scratch_stage()
            session.Clear()
            camera = CameraHandle(stage=stage, path=DEFAULT_CAMERA_PATH, recording=_no_recording)
            getattr(camera, move)(**{keyword: float(amount)})
            centres = camera.world_from_cam()[:, :3, 3].copy()
            session.Clear()
            self._camera_preview = centres
            return centres

    def _scratch_stage(self) -> tuple[Usd.Stage, Sdf.Layer]:
        # The scene's layers under an anonymous session layer that takes the preview's opinions.
        if self._scratch is None:
            session = Sdf.Layer.CreateAnonymous("viewer_preview.usda")
            stage = Usd.Stage.Open(self._scene.stage.GetRootLayer(), session)
            stage.SetEditTarget(Usd.EditTarget(session))
            self._scratch = (stage, session)
        return self._scratch

    def apply_camera_move(self, move: str, amount: float) -> str:
        """Make a camera move over the whole shot (one undoable step); returns its description.

        Raises:
            InputError: an unknown move or a bad amount.
        """
        keyword = _move_keyword(move)
        self._edit(lambda: getattr(self._scene.camera, move)(**{keyword: float(amount)}), rescan=True)
        self._camera_preview = None
        return self.status

    def reset_camera(self) -> str:
        """Drop every edit of the plate camera."""
        self._edit(lambda: self._scene.camera.reset(), rescan=True)
        self._camera_preview = None
        return self.status

    # other writers -------------------------------------------------------------------

    def _edits_signature(self) -> tuple[int, int] | None:
        try:
            stat = (self._scene.folder / EDITS_FILE).stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def reload_if_changed(self) -> bool:
        """Take in edits another writer saved to ``edits.usda`` since this state last saved or
        looked; True when there were some (everything drawn is read again)."""
        with self._lock:
            if self._edits_signature() == self._signature:
                return False
            # save() merges: with nothing unsaved here, the result is what is on disk.
            self._scene.save()
            self._signature = self._edits_signature()
            self._invalidate()
            self._revision += 1
            if self._selection is not None and self._selection not in self._scene.objects:
                self._selection = None
            self.status = "reloaded edits made elsewhere"
            log.info("%s changed on disk: reloaded", self._scene.folder / EDITS_FILE)
            return True

    def _invalidate(self) -> None:
        self._geometry.clear()
        self._per_frame.clear()
        self._tokens.clear()
        self._background = None
        self._background_token += 1
        self._points = None
        self._camera_preview = None
        self._refresh_facts()

    # render preview ---------------------------------------------------------------------

    def render_preview(self, frame: int | None = None) -> np.ndarray:
        """The current frame (or ``frame``) rendered as ``sceneforge render`` would: the edited
        scene composited over the footage. h×w×3 uint8 at the camera's image size.

        Raises:
            InputError: the footage is gone, or the frame is not in the shot.
            SceneFileError: the scene cannot be read.
        """
        from PIL import Image

        from sceneforge.engine.pipeline import RenderConfig, render_scene

        with self._lock:
            number = self._frame if frame is None else int(frame)
            self._index(number)
            with tempfile.TemporaryDirectory(prefix="sceneforge_preview_") as folder:
                output = Path(folder) / "frames"
                render_scene(RenderConfig(scene=self._scene.path, output=output, format="png", start=number, end=number + 1))
                files = sorted(output.glob("*.png"))
                if not files:
                    raise InputError(f"the render of frame {number} wrote no image")
                with Image.open(files[0]) as image:
                    return np.asarray(image.convert("RGB")).copy()


def _move_keyword(move: str) -> str:
    if move not in CAMERA_MOVE_AMOUNTS:
        raise InputError(f"camera move must be one of {', '.join(CAMERA_MOVE_AMOUNTS)}, got {move!r}")
    return CAMERA_MOVE_AMOUNTS[move]


class _NoRecording:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _no_recording(description: str) -> _NoRecording:
    return _NoRecording()

