"""Driving a real browser in the viewer's tests: Debian's chromium through Playwright for
Python, headless, with WebGL rendered in software (SwiftShader) so that a machine without a
GPU still draws the 3D canvas.

The browser is the system's (``chromium`` on PATH or ``/usr/bin/chromium``), never a
Playwright browser download; without Playwright or without that binary the tests skip and say
which is missing. Each launch gets a fresh profile folder (``--user-data-dir``).

Helpers for viser pages:

- :func:`wait_for_viser_page`: the page's WebGL canvas is there and the client's websocket
  has connected (the server sees one more client);
- :func:`canvas_statistics`: how much a screenshot of the canvas shows (std of the pixel values,
  share of pixels away from the background colour) — a blank canvas has neither;
- :func:`set_client_camera` / :func:`look_at_object` / :func:`project_to_page`: put the
  client's camera where the test wants it, then find the page pixel (CSS px) where a world point lands, from the camera the
  client reports back (OpenCV axes: x right, y down, z forward; vertical field of view);
- :func:`drag`: a scripted mouse drag in a few steps (drei's gizmo follows pointer moves;
  each move makes three.js raycast the scene, which in software takes long on a big mesh);
- :func:`dismiss_notification`: close viser's "Software WebGL rendering detected" notice
  before screenshots.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

CHROMIUM_FLAGS = (
    "--no-sandbox",  # tests often run as root in a container, where the sandbox refuses to start
    "--disable-gpu-sandbox",
    "--use-gl=angle",
    "--use-angle=swiftshader",  # WebGL through ANGLE on SwiftShader: a CPU rasteriser, no GPU needed
    "--enable-unsafe-swiftshader",  # recent Chromium refuses the software WebGL fallback without it
    "--ignore-gpu-blocklist",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
)
"""Flags for a headless machine without GPU or network that must still render WebGL."""

VIEWPORT = {"width": 1024, "height": 640}
"""The page size (CSS px) the tests and the benchmark's screenshots use."""


def chromium_executable() -> str | None:
    """The system's chromium binary (``chromium`` on PATH, else ``/usr/bin/chromium``), or None."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def browser_unavailable() -> str | None:
    """Why no browser can be launched here (the install line to run), or None when one can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the browser tests need Playwright for Python: pip install playwright (no browser download needed)"
    if chromium_executable() is None:
        return "the browser tests need a system chromium: apt-get install chromium (not found on PATH or at /usr/bin/chromium)"
    return None


@contextlib.contextmanager
def launch_chromium(*, viewport: dict[str, int] | None = None) -> Iterator[Any]:
    """A headless chromium page (``playwright.sync_api.Page``) in a fresh profile; closed on exit.

    Raises ``RuntimeError`` saying what to install when Playwright or chromium is absent
    (tests use the :func:`page` fixture, which skips instead).
    """
    reason = browser_unavailable()
    if reason is not None:
        raise RuntimeError(reason)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="sceneforge-chromium-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=chromium_executable(), headless=True, args=list(CHROMIUM_FLAGS),
            viewport=viewport or VIEWPORT, device_scale_factor=1,
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            yield page
        finally:
            context.close()


@pytest.fixture()
def page() -> Iterator[Any]:
    """A headless chromium page (Playwright ``Page``, 1024×640 CSS px); skips when Playwright or
    a system chromium is absent."""
    reason = browser_unavailable()
    if reason is not None:
        pytest.skip(reason)
    with launch_chromium() as opened:
        yield opened


def wait_until(condition: Callable[[], Any], *, timeout_secs: float, what: str, interval_secs: float = 0.05) -> Any:
    """Poll ``condition`` until it returns something truthy (returned); ``TimeoutError`` naming ``what`` after ``timeout_secs``."""
    deadline = time.monotonic() + timeout_secs
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout_secs:.0f} s for {what}")
        time.sleep(interval_secs)


def wait_for_viser_page(page: Any, url: str, server: Any, *, timeout_secs: float = 30.0) -> Any:
    """Open ``url`` and wait for the WebGL canvas and the client's websocket; the new client's handle.

    ``server`` is the ``viser.ViserServer`` serving ``url``: the client is connected once the
    server lists a client that was not there before (its websocket runs in a web worker, out of
    Playwright's sight). The client's camera has reported back once ``camera.image_height`` is set.
    """
    before = set(server.get_clients())
    page.goto(url, wait_until="domcontentloaded", timeout=timeout_secs * 1000)
    page.wait_for_selector("canvas", state="visible", timeout=timeout_secs * 1000)

    def new_client() -> Any:
        fresh = [c for cid, c in server.get_clients().items() if cid not in before]
        return fresh[0] if fresh and fresh[0].camera.image_height > 0 else None

    client = wait_until(new_client, timeout_secs=timeout_secs, what=f"a viser client to connect from {url}")
    # the server may move the new client's camera in its connect callback: wait until it rests
    last = [client.camera.update_timestamp, time.monotonic()]

    def camera_resting() -> bool:
        if client.camera.update_timestamp != last[0]:
            last[:] = [client.camera.update_timestamp, time.monotonic()]
        return time.monotonic() - last[1] > 0.5

    wait_until(camera_resting, timeout_secs=timeout_secs, what="the new client's camera to rest")
    return client


def canvas_box(page: Any) -> dict[str, float]:
    """The largest canvas's bounding box on the page (CSS px: x, y, width, height) — viser's 3D view."""
    boxes = [b for b in (c.bounding_box() for c in page.locator("canvas").all()) if b]
    if not boxes:
        raise AssertionError("the page has no visible canvas")
    return max(boxes, key=lambda b: b["width"] * b["height"])


@dataclasses.dataclass(frozen=True)
class CanvasStatistics:
    """How much a screenshot shows."""

    std: float
    """Standard deviation of all pixel values (0–255): 0 for a flat image."""
    foreground_share: float
    """Share of pixels more than 12 levels (max over channels) away from the most common colour."""
    background_rgb: tuple[int, int, int]
    """The most common colour (taken to be the background)."""


def canvas_statistics(png: bytes) -> CanvasStatistics:
    """Pixel statistics of a PNG screenshot (Playwright's ``screenshot()`` bytes)."""
    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    flat = rgb.reshape(-1, 3)
    colours, counts = np.unique(flat // 4, axis=0, return_counts=True)  # coarse bins: dithering counts as one colour
    background = colours[np.argmax(counts)] * 4 + 2
    away = np.abs(flat - background).max(axis=1) > 12
    return CanvasStatistics(
        std=float(rgb.std()), foreground_share=float(away.mean()), background_rgb=tuple(int(v) for v in background),
    )


def set_client_camera(
    client: Any, *, position: np.ndarray, look_at: np.ndarray, up: np.ndarray = (0.0, 1.0, 0.0), timeout_secs: float = 10.0,
) -> None:
    """Move ``client``'s camera (world units) and wait until the client reports that pose back."""
    position = np.asarray(position, dtype=np.float64)
    up = np.asarray(up, dtype=np.float64)
    if not np.allclose(client.camera.up_direction, up):
        # viser 1.1's client answers an up-direction message by reporting its old pose, which can
        # overwrite a position sent with it: the up direction goes first, on its own
        client.camera.up_direction = tuple(up)
        time.sleep(0.5)
    with client.atomic():
        client.camera.position = tuple(position)
        client.camera.look_at = tuple(np.asarray(look_at, dtype=np.float64))
    sent = time.time()  # the setters stamp the handle now; only the client's report stamps it later

    def reported() -> bool:
        camera = client.camera
        return camera.update_timestamp > sent and np.allclose(camera.position, position, atol=1e-3)

    try:
        wait_until(reported, timeout_secs=timeout_secs, what="")
    except TimeoutError:
        raise TimeoutError(
            f"the client did not report the camera position it was given within {timeout_secs:.0f} s: "
            f"expected {position.tolist()}, the client has {client.camera.position.tolist()}"
        ) from None
    time.sleep(0.3)  # a few frames for the view (and drei's raycast targets) to follow


def look_at_object(viewer: Any, client: Any, name: str, *, sizes_away: float) -> np.ndarray:
    """Put ``client``'s camera on the line from object ``name``'s centre towards the plate camera
    (nothing stands between: the footage saw the object from there), raised by about 20° so all
    three gizmo arrows show in perspective, ``sizes_away`` times the object's largest side away
    (at most 90% of the way to the plate camera). ``viewer`` is a started ``SceneViewer``;
    returns the centre (world, scene units)."""
    centre = viewer.state.gizmo_pose(name)[:3, 3]
    size = max(viewer.state.object_info(name).size or (1.0,))
    towards_plate = viewer.state.world_from_cam()[:3, 3] - centre
    distance = min(sizes_away * size, 0.9 * np.linalg.norm(towards_plate))
    direction = towards_plate / np.linalg.norm(towards_plate) + np.array([0.0, 0.35, 0.0])
    set_client_camera(client, position=centre + distance * direction / np.linalg.norm(direction), look_at=centre)
    return centre


def project_to_page(client: Any, page: Any, points_in_world: np.ndarray) -> np.ndarray:
    """Page pixels (N×2 CSS px, x right, y down) of world points, through the camera ``client`` reports.

    viser's camera: ``P_world = R p_cam + t`` with ``R`` from ``camera.wxyz``, ``t`` =
    ``camera.position``, OpenCV axes, ``camera.fov`` the vertical field of view (radians).
    """
    points = np.atleast_2d(np.asarray(points_in_world, dtype=np.float64))
    w, x, y, z = client.camera.wxyz
    world_from_cam_rotation = np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])
    points_in_cam = (points - client.camera.position) @ world_from_cam_rotation
    if np.any(points_in_cam[:, 2] <= 0):
        raise ValueError(f"points behind the camera: {points[points_in_cam[:, 2] <= 0].tolist()}")
    box = canvas_box(page)
    focal_px = 0.5 * box["height"] / np.tan(0.5 * client.camera.fov)
    u = box["x"] + 0.5 * box["width"] + focal_px * points_in_cam[:, 0] / points_in_cam[:, 2]
    v = box["y"] + 0.5 * box["height"] + focal_px * points_in_cam[:, 1] / points_in_cam[:, 2]
    return np.stack([u, v], axis=1)


def screenshot_patch(page: Any, pixel: np.ndarray, *, radius_px: int = 12) -> np.ndarray:
    """The page around ``pixel`` (CSS px): a (2r)×(2r)×3 int16 RGB patch of a fresh screenshot."""
    from PIL import Image

    x, y = float(pixel[0]), float(pixel[1])
    clip = {"x": max(x - radius_px, 0.0), "y": max(y - radius_px, 0.0), "width": 2.0 * radius_px, "height": 2.0 * radius_px}
    return np.asarray(Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB"), dtype=np.int16)


def patch_changed(page: Any, pixel: np.ndarray, reference: np.ndarray, *, min_change: int = 60, min_pixels: int = 4) -> bool:
    """True when at least ``min_pixels`` pixels around ``pixel`` differ from ``reference`` (a
    :func:`screenshot_patch` taken before) by more than ``min_change`` in some channel: e.g. a
    gizmo handle that took drei's hover colour (``#ffff40``, blended over the scene) under the pointer."""
    now = screenshot_patch(page, pixel, radius_px=reference.shape[0] // 2)
    if now.shape != reference.shape:
        return False
    return int(np.count_nonzero(np.abs(now - reference).max(axis=-1) > min_change)) >= min_pixels


def drag(
    page: Any, start_px: np.ndarray, end_px: np.ndarray, *, steps: int = 4, pause_secs: float = 0.05,
    ready: Callable[[], Any] | None = None, ready_timeout_secs: float = 20.0,
) -> None:
    """Press the left button at ``start_px``, move to ``end_px`` in ``steps`` moves, release (page CSS px).

    ``ready``: polled after the pointer reaches ``start_px`` and before the press (e.g. the
    handle shows its hover colour, :func:`patch_changed`): a press before three.js has taken in
    the hover can miss a gizmo handle when software rendering runs behind.
    """
    start, end = np.asarray(start_px, dtype=np.float64), np.asarray(end_px, dtype=np.float64)
    page.mouse.move(*(start - 3.0))
    page.mouse.move(*start)
    if ready is not None:
        nudges = iter(np.tile([[1.0, 0.0], [0.0, 0.0]], (10_000, 1)))

        def nudged_ready() -> Any:
            # three.js only raycasts on pointer events: a handle drawn after the last move is not
            # hovered until the pointer moves again, so each poll nudges it by a pixel and back
            page.mouse.move(*(start + next(nudges)))
            return ready()

        wait_until(nudged_ready, timeout_secs=ready_timeout_secs, what=f"the pointer at {start.round().tolist()} px to be ready to press",
                   interval_secs=0.2)
        page.mouse.move(*start)
    else:
        time.sleep(0.3)
    page.mouse.down()
    for t in np.linspace(0.0, 1.0, steps + 1)[1:]:
        page.mouse.move(*(start + t * (end - start)))
        time.sleep(pause_secs)
    page.mouse.up()


def dismiss_notification(page: Any, title: str) -> bool:
    """Close the viser notification titled ``title`` (e.g. "Software WebGL rendering detected",
    which SwiftShader always raises) so that it does not cover screenshots; True when one was closed."""
    return bool(page.evaluate(
        """(title) => {
            for (const el of document.querySelectorAll('body *')) {
                if (el.childElementCount !== 0 || el.textContent.trim() !== title) continue;
                let box = el;
                while (box && !box.querySelector('button')) box = box.parentElement;
                const button = box && box.querySelector('button');
                if (button) { button.click(); return true; }
            }
            return false;
        }""",
        title,
    ))
