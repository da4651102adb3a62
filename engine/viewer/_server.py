"""The viser wiring: scene nodes built from a :class:`ViewerState`, GUI callbacks that call its
methods, and the nodes an edit touches refreshed afterwards.

Scene nodes (stable names, for browser tests and scripts; see :data:`NODE_NAMES`)::

    /background                 the textured background (GLB); a click clears the selection
    /points                     the sparse points of the camera solve (toggle in the GUI)
    /objects/<name>             a group per object (identity)
    /objects/<name>/mesh        the object's meshes (GLB), placed by its world_from_local; a click selects it
    /objects/<name>/gizmo       transform controls of the selected object (only while selected)
    /camera/plate               the plate camera's frustum with the current footage frame in it
    /camera/overlay             the footage as a see-through quad in front of the camera ("look through")
    /camera/path                the camera path (centres), as composed now
    /camera/preview             the previewed camera move's path (until applied)

Frames: world coordinates go to viser unchanged with the up direction set to +Y; poses of
cameras are ``world_from_cam`` in OpenCV axes, as viser's cameras and frusta expect (see
:mod:`._display`).
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from sceneforge.scenegraph import DependencyError, InputError, SceneForgeError, rotation_from_quat_wxyz

from ._display import DisplayMesh, downsize_image, glb_bytes, node_pose
from ._state import CAMERA_MOVE_AMOUNTS, ViewerState

__all__ = ["NODE_NAMES", "SceneViewer", "is_loopback"]

log = logging.getLogger(__name__)

NODE_NAMES: dict[str, str] = {
    "background": "/background",
    "points": "/points",
    "objects": "/objects",
    "object": "/objects/{name}",
    "object_mesh": "/objects/{name}/mesh",
    "gizmo": "/objects/{name}/gizmo",
    "frustum": "/camera/plate",
    "overlay": "/camera/overlay",
    "camera_path": "/camera/path",
    "camera_preview": "/camera/preview",
}
"""Scene node names the viewer keeps (``{name}`` = the object's name)."""

_WATCH_SECS = 0.5
_FRUSTUM_IMAGE_SIZE = 320
_OVERLAY_IMAGE_SIZE = 768
_GLB_CACHE = 128


def is_loopback(host: str) -> bool:
    """True when ``host`` is a loopback address (``127.0.0.1``, ``::1``) or ``localhost``."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class SceneViewer:
    """A local web viewer of a :class:`ViewerState`: ``start()`` serves it, ``stop()`` ends it.

    The GUI's callbacks are methods of this class (:meth:`click_object`, :meth:`drag_gizmo`,
    :meth:`delete`, ...), so a test can drive the viewer without a browser.
    """

    def __init__(self, state: ViewerState) -> None:
        self.state = state
        self._server: Any = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.RLock()
        self._glb: OrderedDict[tuple[Any, ...], bytes] = OrderedDict()
        self._object_nodes: dict[str, Any] = {}
        self._object_keys: dict[str, tuple[Any, ...]] = {}
        self._object_groups: dict[str, Any] = {}
        self._gizmo: Any = None
        self._gizmo_name: str | None = None
        self._drag_start: np.ndarray | None = None
        self._background_node: Any = None
        self._background_token: int | None = None
        self._points_node: Any = None
        self._frustum: Any = None
        self._overlay: Any = None
        self._gui: dict[str, Any] = {}
        self._shown_revision = -1
        self._url = ""
        self.playing = False
        self.look_through = False
        self.overlay_opacity = 0.5

    # ------------------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """The address to open in a browser (empty before :meth:`start`)."""
        return self._url

    @property
    def server(self) -> Any:
        """The ``viser.ViserServer`` (None before :meth:`start`)."""
        return self._server

    def start(self, host: str = "127.0.0.1", port: int = 8080) -> str:
        """Serve the viewer on ``host:port`` and return its URL. Binding anywhere but loopback
        logs a warning: anyone who can reach the address can see and edit the scene.

        Raises:
            DependencyError: viser is not installed.
        """
        try:
            import viser
        except ImportError as exc:
            raise DependencyError(f"the viewer needs viser, which is not installed ({exc}); pip install 'sceneforge[viewer]'") from exc
        if not is_loopback(host):
            log.warning("the viewer listens on %s:%d: anyone who can reach this machine there can see and edit the scene", host, port)
        with contextlib.redirect_stdout(io.StringIO()):  # viser prints a banner itself; the CLI prints the URL
            self._server = viser.ViserServer(host=host, port=port, label=f"SceneForge · {self.state.scene.folder.name}", verbose=False)
        self._server.scene.set_up_direction("+y")
        self._build_gui()
        self.refresh(force=True)
        self._server.on_client_connect(self._on_connect)
        for target, name in ((self._watch, "sceneforge-viewer-watch"), (self._play, "sceneforge-viewer-play")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
        self._url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{self._server.get_port()}"
        log.info("viewer of %s at %s", self.state.scene.folder, self._url)
        return self._url

    def stop(self) -> None:
        """Stop the playback and file-watching threads and the server."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5.0)
        self._threads.clear()
        if self._server is not None:
            with contextlib.redirect_stdout(io.StringIO()):  # viser prints "Server stopped"
                self._server.stop()
            self._server = None

    def __enter__(self) -> SceneViewer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _watch(self) -> None:
        while not self._stop.wait(_WATCH_SECS):
            try:
                if self.state.reload_if_changed():
                    self.refresh()
            except Exception as exc:  # noqa: BLE001 - a watcher that dies silently would stop reloads
                log.warning("could not take in the edits made elsewhere: %s", exc)

    def _play(self) -> None:
        while not self._stop.is_set():
            if not self.playing:
                self._stop.wait(0.05)
                continue
            began = time.perf_counter()
            self.go_to(self.state.step(1))
            self._stop.wait(max(0.0, 1.0 / max(self.state.fps, 1e-3) - (time.perf_counter() - began)))

    # ------------------------------------------------------------------------------ the scene nodes

    @property
    def selected(self) -> str | None:
        """The selected object's name (what the last click selected), or None."""
        return self.state.selection

    @property
    def gizmo_name(self) -> str | None:
        """Scene node name of the selected object's transform controls, or None."""
        return None if self._gizmo_name is None else NODE_NAMES["gizmo"].format(name=self._gizmo_name)

    @property
    def gizmo(self) -> Any:
        """The selected object's ``TransformControlsHandle``, or None."""
        return self._gizmo

    def object_node(self, name: str) -> Any:
        """The mesh node handle of object ``name`` (``/objects/<name>/mesh``), or None."""
        return self._object_nodes.get(name)

    def refresh(self, *, force: bool = False) -> None:
        """Bring every node up to the state: background, points, objects at the current frame,
        the gizmo, the camera and the panels."""
        with self._lock:
            if self._server is None:
                return
            scene = self._server.scene
            with self._server.atomic():
                if force or self._background_token != self.state.background_token:
                    self._add_background(scene)
                self._refresh_objects(scene)
                self._refresh_gizmo(scene)
                self._refresh_camera(scene)
                self._refresh_panels()
            self._shown_revision = self.state.revision

    def go_to(self, frame: int) -> None:
        """Show ``frame``: moving objects, the frustum and its image, the timeline."""
        with self._lock:
            self.state.set_frame(frame)
            slider = self._gui.get("frame")
            if slider is not None and slider.value != self.state.frame:
                slider.value = self.state.frame
            if self._server is None:
                return
            scene = self._server.scene
            with self._server.atomic():
                self._refresh_objects(scene)
                self._refresh_gizmo(scene)
                self._refresh_camera(scene)

    def _add_background(self, scene: Any) -> None:
        parts = self.state.background()
        if parts:
            self._background_node = scene.add_glb(NODE_NAMES["background"], glb_data=glb_bytes(parts), cast_shadow=False, receive_shadow=False)
            self._background_node.on_click(lambda _event: self.click_object(None))
        points, colors = self.state.points()
        visible = self._gui["points"].value if "points" in self._gui else True
        self._points_node = scene.add_point_cloud(
            NODE_NAMES["points"], points=points, colors=colors, point_size=self._scene_scale() * 0.002,
            point_shape="circle", precision="float32", visible=visible,
        )
        self._background_token = self.state.background_token

    def _scene_scale(self) -> float:
        """A length that fits the scene: the spread of the camera path and points."""
        centres = self.state.camera_centres()
        points, _ = self.state.points()
        cloud = np.concatenate([centres, points.astype(np.float64)]) if len(points) else centres
        if len(cloud) < 2:
            return 1.0
        spread = np.percentile(cloud, 95, axis=0) - np.percentile(cloud, 5, axis=0)
        return float(max(np.linalg.norm(spread), 1e-3))

    def _refresh_objects(self, scene: Any) -> None:
        names = self.state.objects
        for gone in [n for n in self._object_nodes if n not in names]:
            if gone == self._gizmo_name:
                self._gizmo, self._gizmo_name = None, None
            self._object_nodes.pop(gone)
            self._object_keys.pop(gone, None)
            self._object_groups.pop(gone).remove()  # and the mesh and gizmo under it
        for name in names:
            view = self.state.object_view(name)
            node = self._object_nodes.get(name)
            if view.key != self._object_keys.get(name) or node is None:
                data = self._glb_of(view.key, view.parts)
                if node is None:
                    self._object_groups[name] = scene.add_frame(NODE_NAMES["object"].format(name=name), show_axes=False)
                    node = scene.add_glb(NODE_NAMES["object_mesh"].format(name=name), glb_data=data)
                    node.on_click(lambda _event, name=name: self.click_object(name))
                    self._object_nodes[name] = node
                else:
                    node.glb_data = data
                self._object_keys[name] = view.key
            pose = node_pose(view.world_from_node)
            if pose is not None:
                node.wxyz, node.position, node.scale = pose[0], pose[1], tuple(float(s) for s in pose[2])
            node.visible = bool(view.parts)

    def _glb_of(self, key: tuple[Any, ...], parts: tuple[DisplayMesh, ...]) -> bytes:
        data = self._glb.get(key)
        if data is None:
            data = glb_bytes(parts) if parts else glb_bytes([DisplayMesh(vertices=np.zeros((3, 3)), faces=np.array([[0, 1, 2]]))])
            self._glb[key] = data
            while len(self._glb) > _GLB_CACHE:
                self._glb.popitem(last=False)
        else:
            self._glb.move_to_end(key)
        return data

    def _refresh_gizmo(self, scene: Any) -> None:
        name = self.state.selection
        if name != self._gizmo_name and self._gizmo is not None:
            self._gizmo.remove()
            self._gizmo, self._gizmo_name = None, None
        if name is None or self._drag_start is not None:
            return
        pose = self.state.gizmo_pose(name)
        wxyz, position = np.array([1.0, 0.0, 0.0, 0.0]), pose[:3, 3]
        if self._gizmo is None:
            bounds_size = self.state.object_info(name).size
            size = self._scene_scale() * 0.08 if bounds_size is None else max(bounds_size) * 0.6
            if self.state.scene.units["metric"] and bounds_size is not None:
                size /= self.state.scene.units["meters_per_unit"]
            self._gizmo = scene.add_transform_controls(
                NODE_NAMES["gizmo"].format(name=name), scale=float(max(size, 1e-3)), depth_test=False, wxyz=wxyz, position=position,
            )
            self._gizmo.on_update(self._on_gizmo)
            self._gizmo_name = name
        else:
            self._gizmo.wxyz, self._gizmo.position = wxyz, position

    def _refresh_camera(self, scene: Any) -> None:
        try:
            world_from_cam = self.state.world_from_cam()
            intrinsics = self.state.intrinsics()
        except InputError:
            return
        wxyz, position, _ = node_pose(world_from_cam)
        fov = 2.0 * math.atan(intrinsics.height / (2.0 * intrinsics.K[1, 1]))
        plate = self.state.plate_image()
        image = None if plate is None else downsize_image(plate, _FRUSTUM_IMAGE_SIZE)
        scale = self._scene_scale() * 0.05
        if self._frustum is None:
            self._frustum = scene.add_camera_frustum(
                NODE_NAMES["frustum"], fov=fov, aspect=intrinsics.width / intrinsics.height, scale=scale, image=image,
                color=(230, 120, 20), wxyz=wxyz, position=position, thickness=scale * 0.02,
            )
        else:
            self._frustum.fov, self._frustum.aspect = fov, intrinsics.width / intrinsics.height
            if image is not None:
                self._frustum.image = image
            self._frustum.wxyz, self._frustum.position = wxyz, position
        centres = self.state.camera_centres()
        if len(centres) > 1:
            scene.add_line_segments(
                NODE_NAMES["camera_path"], points=np.stack([centres[:-1], centres[1:]], axis=1).astype(np.float32),
                colors=(230, 120, 20), thickness=2.0, thickness_units="screen",
            )
        preview = self.state.camera_preview
        if preview is not None and len(preview) > 1:
            scene.add_line_segments(
                NODE_NAMES["camera_preview"], points=np.stack([preview[:-1], preview[1:]], axis=1).astype(np.float32),
                colors=(40, 200, 90), thickness=3.0, thickness_units="screen",
            )
        else:
            scene.add_frame(NODE_NAMES["camera_preview"], show_axes=False, visible=False)
        self._refresh_overlay(scene, world_from_cam, intrinsics, plate)
        if self.look_through:
            for client in self._server.get_clients().values():
                self._look_through(client)

    def _refresh_overlay(self, scene: Any, world_from_cam: np.ndarray, intrinsics: Any, plate: np.ndarray | None) -> None:
        if not self.look_through or plate is None:
            if self._overlay is not None:
                self._overlay.visible = False
            return
        depth = self._look_depth(world_from_cam) * 0.05
        k = intrinsics.K
        pixels = np.array([[0.0, 0.0], [intrinsics.width, 0.0], [intrinsics.width, intrinsics.height], [0.0, intrinsics.height]])
        in_cam = np.column_stack([(pixels[:, 0] - k[0, 2]) / k[0, 0] * depth, (pixels[:, 1] - k[1, 2]) / k[1, 1] * depth, np.full(4, depth)])
        in_world = in_cam @ world_from_cam[:3, :3].T + world_from_cam[:3, 3]
        quad = DisplayMesh(
            vertices=in_world, faces=np.array([[0, 2, 1], [0, 3, 2]]), uv=np.array([[0, 1], [1, 1], [1, 0], [0, 0]], np.float32),
            texture=downsize_image(plate, _OVERLAY_IMAGE_SIZE),
        )
        data = glb_bytes([quad], opacity=self.overlay_opacity)
        if self._overlay is None:
            self._overlay = scene.add_glb(NODE_NAMES["overlay"], glb_data=data, cast_shadow=False, receive_shadow=False)
        else:
            self._overlay.glb_data = data
            self._overlay.visible = True

    def _look_depth(self, world_from_cam: np.ndarray) -> float:
        """Median z-depth of the sparse points in front of the camera (a scene-sized fallback)."""
        points, _ = self.state.points()
        if len(points):
            z = (points.astype(np.float64) - world_from_cam[:3, 3]) @ world_from_cam[:3, 2]
            z = z[z > 0]
            if len(z):
                return float(np.median(z))
        return self._scene_scale() * 0.5

    def _look_through(self, client: Any) -> None:
        """Line the client's view up with the plate camera at the current frame."""
        world_from_cam = self.state.world_from_cam()
        intrinsics = self.state.intrinsics()
        centre = world_from_cam[:3, 3]
        with client.atomic():
            client.camera.fov = 2.0 * math.atan(intrinsics.height / (2.0 * intrinsics.K[1, 1]))
            client.camera.position = centre
            client.camera.look_at = centre + world_from_cam[:3, 2] * self._look_depth(world_from_cam)
            client.camera.up_direction = -world_from_cam[:3, 1]

    def _on_connect(self, client: Any) -> None:
        try:
            world_from_cam = self.state.world_from_cam()
        except InputError:
            return
        if self.look_through:
            self._look_through(client)
            return
        depth = self._look_depth(world_from_cam)
        centre = world_from_cam[:3, 3]
        with client.atomic():
            client.camera.position = centre - world_from_cam[:3, 2] * depth * 0.6 - world_from_cam[:3, 1] * depth * 0.3
            client.camera.look_at = centre + world_from_cam[:3, 2] * depth
            client.camera.up_direction = (0.0, 1.0, 0.0)

    # ------------------------------------------------------------------------------ GUI

    def _build_gui(self) -> None:
        gui = self._server.gui
        g = self._gui
        numbers = self.state.frame_numbers
        g["status"] = gui.add_markdown("")
        with gui.add_folder("Timeline"):
            g["frame"] = gui.add_slider("frame", min=int(numbers[0]), max=int(max(numbers[-1], numbers[0] + 1)), step=1, initial_value=self.state.frame)
            g["play"] = gui.add_checkbox("play", initial_value=False)
            g["points"] = gui.add_checkbox("sparse points", initial_value=True)
            g["look"] = gui.add_checkbox("look through the plate camera", initial_value=False)
            g["opacity"] = gui.add_slider("footage opacity", min=0.0, max=1.0, step=0.05, initial_value=self.overlay_opacity)
        with gui.add_folder("Selection"):
            g["info"] = gui.add_markdown("click an object to select it")
            g["delete"] = gui.add_button("delete")
            g["duplicate"] = gui.add_button("duplicate")
            g["reset"] = gui.add_button("reset")
            g["deselect"] = gui.add_button("deselect")
        with gui.add_folder("Edit"):
            g["undo"] = gui.add_button("undo")
            g["redo"] = gui.add_button("redo")
            g["asset"] = gui.add_text("asset path (glTF/OBJ/PLY/USD)", initial_value="")
            g["insert"] = gui.add_button("insert asset")
        with gui.add_folder("Camera move"):
            g["move"] = gui.add_dropdown("move", options=tuple(CAMERA_MOVE_AMOUNTS), initial_value="orbit")
            g["amount"] = gui.add_number("amount (deg, units or ×)", initial_value=15.0, step=0.1)
            g["preview_move"] = gui.add_button("preview path")
            g["apply_move"] = gui.add_button("apply move")
            g["reset_camera"] = gui.add_button("reset camera")
        with gui.add_folder("Render"):
            g["render"] = gui.add_button("render preview")
            g["plate_image"] = gui.add_image(np.zeros((8, 8, 3), np.uint8), label="footage", visible=False)
            g["render_image"] = gui.add_image(np.zeros((8, 8, 3), np.uint8), label="render", visible=False)

        g["frame"].on_update(lambda _e: self.go_to(int(g["frame"].value)) if int(g["frame"].value) != self.state.frame else None)
        g["play"].on_update(lambda _e: setattr(self, "playing", bool(g["play"].value)))
        g["points"].on_update(lambda _e: self.show_points(bool(g["points"].value)))
        g["look"].on_update(lambda _e: self.set_look_through(bool(g["look"].value)))
        g["opacity"].on_update(lambda _e: self.set_overlay_opacity(float(g["opacity"].value)))
        for key, action in (
            ("delete", self.delete), ("duplicate", self.duplicate), ("reset", self.reset), ("deselect", lambda: self.click_object(None)),
            ("undo", self.undo), ("redo", self.redo), ("insert", lambda: self.insert(g["asset"].value)),
            ("preview_move", lambda: self.preview_camera_move(g["move"].value, g["amount"].value)),
            ("apply_move", lambda: self.apply_camera_move(g["move"].value, g["amount"].value)),
            ("reset_camera", self.reset_camera), ("render", self.render_preview),
        ):
            g[key].on_click(lambda _e, action=action: action())

    def _refresh_panels(self) -> None:
        g = self._gui
        if not g:
            return
        name = self.state.selection
        g["info"].content = "click an object to select it" if name is None else self.state.object_info(name).markdown()
        for key in ("delete", "duplicate", "reset", "deselect"):
            g[key].disabled = name is None
        g["status"].content = self.state.status
        numbers = self.state.frame_numbers
        g["frame"].max = int(max(numbers[-1], numbers[0] + 1))

    def _run(self, action: Callable[[], Any]) -> Any:
        """Run a GUI action: a SceneForge error becomes the status line instead of a traceback."""
        try:
            return action()
        except SceneForgeError as exc:
            self.state.status = f"⚠ {exc}"
            log.info("viewer action refused: %s", exc)
            return None
        finally:
            self.refresh()

    # the GUI's actions (public so that tests and scripts can drive the viewer) ---------------

    def click_object(self, name: str | None) -> None:
        """What a click on an object's mesh does (None: a click on the background): select it."""
        self._run(lambda: self.state.select(name))

    def drag_gizmo(self, phase: str, wxyz: Any, position: Any) -> None:
        """What the gizmo does while dragged: ``"start"`` remembers its pose, ``"update"`` moves
        the object's mesh node along, ``"end"`` applies the move to the scene (one undoable edit)."""
        pose = np.eye(4)
        pose[:3, :3] = rotation_from_quat_wxyz(np.asarray(wxyz, dtype=np.float64))
        pose[:3, 3] = np.asarray(position, dtype=np.float64)
        name = self.state.selection
        if name is None:
            return
        if phase == "start" or self._drag_start is None:
            self._drag_start = self.state.gizmo_pose(name)
        if phase == "update":
            node = self._object_nodes.get(name)
            if node is not None:
                moved = node_pose(pose @ np.linalg.inv(self._drag_start) @ self.state.object_view(name).world_from_node)
                if moved is not None:
                    node.wxyz, node.position = moved[0], moved[1]
        elif phase == "end":
            start, self._drag_start = self._drag_start, None
            if not np.allclose(pose, start, atol=1e-9):
                self._run(lambda: self.state.apply_gizmo(start, pose, name))

    def _on_gizmo(self, event: Any) -> None:
        target = event.target
        self.drag_gizmo(getattr(event, "phase", "end"), target.wxyz, target.position)

    def delete(self) -> None:
        """Delete the selected object."""
        self._run(self.state.delete)

    def duplicate(self) -> None:
        """Duplicate the selected object (the copy becomes the selection)."""
        self._run(self.state.duplicate)

    def reset(self) -> None:
        """Drop every edit of the selected object."""
        self._run(self.state.reset)

    def undo(self) -> None:
        """Undo the last edit."""
        self._run(self.state.undo)

    def redo(self) -> None:
        """Redo the last undone edit."""
        self._run(self.state.redo)

    def insert(self, path: str) -> None:
        """Insert the asset at ``path`` (the text field's value)."""
        self._run(lambda: self.state.insert(path))

    def preview_camera_move(self, move: str, amount: float) -> None:
        """Draw the path a camera move would give (``/camera/preview``); nothing is written."""
        self._run(lambda: self.state.preview_camera_move(move, amount))

    def apply_camera_move(self, move: str, amount: float) -> None:
        """Make the camera move."""
        self._run(lambda: self.state.apply_camera_move(move, amount))

    def reset_camera(self) -> None:
        """Drop every edit of the plate camera."""
        self._run(self.state.reset_camera)

    def show_points(self, visible: bool) -> None:
        """Show or hide the sparse points."""
        if self._points_node is not None:
            self._points_node.visible = visible

    def set_look_through(self, enabled: bool) -> None:
        """Look through the plate camera (the footage over the scene at :attr:`overlay_opacity`), or stop."""
        self.look_through = enabled
        self.refresh()

    def set_overlay_opacity(self, opacity: float) -> None:
        """Opacity of the footage drawn over the scene while looking through, 0..1."""
        self.overlay_opacity = float(np.clip(opacity, 0.0, 1.0))
        if self.look_through:
            self.refresh()

    def render_preview(self) -> np.ndarray | None:
        """Render the current frame through the compositor and show it beside the footage;
        returns the render (None when it failed, see the status line)."""
        button = self._gui.get("render")
        if button is not None:
            button.disabled = True
        self.state.status = f"rendering frame {self.state.frame}…"
        self._refresh_panels()
        try:
            image = self._run(self.state.render_preview)
        finally:
            if button is not None:
                button.disabled = False
        if image is not None and "render_image" in self._gui:
            plate = self.state.plate_image()
            if plate is not None:
                self._gui["plate_image"].image = plate
                self._gui["plate_image"].visible = True
            self._gui["render_image"].image = image
            self._gui["render_image"].visible = True
            self.state.status = f"rendered frame {self.state.frame}"
            self._refresh_panels()
        return image
