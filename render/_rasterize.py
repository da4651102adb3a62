"""Rasterizing textured meshes into render passes with headless OpenGL.

What it does
    :class:`Rasterizer` keeps one offscreen OpenGL context and the meshes uploaded to it;
    each :meth:`Rasterizer.render` only sets the camera, draws once and reads back the
    passes that were asked for (rgb, depth, coverage, normals, object id) from one
    multiple-render-target framebuffer.

Why not pyrender's renderer
    pyrender (the library DESIGN.md names) renders every non-segmentation pass with 4×
    MSAA that its API cannot turn off: on Mesa's llvmpipe that alone halves the frame
    rate (measured at 640×480 with a 100k-triangle textured mesh: 11.5 frames/s flat
    colour, 36 with MSAA off), its depth is resolved from one MSAA sample that is not the
    pixel centre, it has no camera-frame normal or integer id output (one pass per
    output), and deleting one renderer terminates the EGL display under every other. So
    we draw with a small shader program of our own through PyOpenGL; what pyrender would
    add (a scene graph, lights, PBR materials) is what we must not have here (unlit,
    exact colours).

Conventions
    Our cameras are OpenCV (+X right, +Y down, +Z forward) and ``K`` puts the centre of
    pixel (row i, col j) at ``(j + 0.5, i + 0.5)``. OpenGL cameras look down -Z with +Y
    up: ``world_from_glcam = world_from_cam @ diag(1, -1, -1, 1)``. That flip exists in
    exactly two places, here and in ``scenegraph/_usd.py`` (DESIGN.md, Conventions). The
    projection built from K (:func:`clip_from_cam`) maps ``u = fx x/z + s y/z + cx`` to
    window x and ``v`` to window y, so that GL's framebuffer row 0 holds image row 0 and
    every fragment is evaluated at our pixel centres: no MSAA, no flip on read-back.

Lens distortion
    Intrinsics with radial distortion are rendered as a pinhole image on a canvas large
    enough to hold every distorted pixel's ray, then resampled onto the distorted pixel
    grid with ``cv2.remap`` (maps computed once per camera from ``Intrinsics.unproject``,
    exact to 1/32 px, OpenCV's fixed-point step), so the passes line up with the
    original plate for compositing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sceneforge.scenegraph import DependencyError, InputError, Intrinsics, TexturedMesh, check_rigid, invert_rigid
from sceneforge.scenegraph import check_array

from ._passes import PASS_NAMES, RenderPasses, check_pass_names

__all__ = ["Rasterizer", "clip_from_cam"]

log = logging.getLogger(__name__)

# OpenCV camera axes <-> OpenGL camera axes; its own inverse. Used only here and in
# scenegraph/_usd.py (DESIGN.md, Conventions).
_GLCAM_FROM_CAM = np.diag([1.0, -1.0, -1.0, 1.0])
# GL's window y grows upwards; flipping clip y makes framebuffer row 0 image row 0 (top).
_FLIP_WINDOW_Y = np.diag([1.0, -1.0, 1.0, 1.0])

_DEFAULT_COLOR = (0.5, 0.5, 0.5)
"""Colour of a mesh with neither texture nor vertex colours."""
_NEAR_FRACTION = 1e-4
"""Near plane as a fraction of the far plane when the camera is inside the scene bounds."""
_MAX_CANVAS_SCALE = 2.0
"""An undistorted canvas may be at most this many times the image size per axis."""
_MAX_TARGETS = 4
"""Framebuffers kept per rasterizer (one per canvas size)."""
_MAX_OBJECT_ID = 2**31 - 1


# ----------------------------------------------------------------------------------------
# Projection


def clip_from_cam(intrinsics: Intrinsics, *, near: float, far: float) -> np.ndarray:
    """The 4×4 float64 OpenGL projection of a pinhole camera, from OpenCV camera coordinates.

    Maps a camera-frame point (OpenCV axes) to clip coordinates whose window position is
    exactly ``Intrinsics.project`` (skew included, distortion ignored): window x = ``u``,
    window y = ``v`` (so framebuffer row ``i`` is image row ``i``, pixel centres at
    ``+0.5``); window depth is 0 at ``z = near`` and 1 at ``z = far``.

    Args:
        intrinsics: the camera; ``width`` and ``height`` set the viewport.
        near: near clipping distance along +Z, scene units, > 0.
        far: far clipping distance along +Z, scene units, > ``near``.
    """
    if not (0.0 < near < far and np.isfinite(far)):
        raise InputError(f"clipping range must satisfy 0 < near < far < inf, got near={near}, far={far}")
    k, w, h = intrinsics.K, float(intrinsics.width), float(intrinsics.height)
    fx, s, cx, fy, cy = k[0, 0], k[0, 1], k[0, 2], k[1, 1], k[1, 2]
    # OpenGL's projection of an intrinsics camera (y up, looking down -Z): ndc = 2 * pixel / size - 1
    # with the pixel measured from the bottom-left corner.
    clip_from_glcam = np.array(
        [
            [2.0 * fx / w, -2.0 * s / w, 1.0 - 2.0 * cx / w, 0.0],
            [0.0, 2.0 * fy / h, 2.0 * cy / h - 1.0, 0.0],
            [0.0, 0.0, (far + near) / (near - far), 2.0 * far * near / (near - far)],
            [0.0, 0.0, -1.0, 0.0],
        ]
    )
    return _FLIP_WINDOW_Y @ clip_from_glcam @ _GLCAM_FROM_CAM


# ----------------------------------------------------------------------------------------
# Headless OpenGL context
#
# PyOpenGL binds its functions to one windowing platform, chosen from PYOPENGL_PLATFORM at
# its first import and fixed for the process. So EGL is tried first with plain ctypes,
# before OpenGL is imported; only when that fails is the platform set to OSMesa.

_EGL_NONE = 0x3038
_EGL_SURFACE_TYPE = 0x3033
_EGL_PBUFFER_BIT = 0x0001
_EGL_RENDERABLE_TYPE = 0x3040
_EGL_OPENGL_BIT = 0x0008
_EGL_OPENGL_API = 0x30A2
_EGL_CONTEXT_MAJOR_VERSION = 0x3098
_EGL_CONTEXT_MINOR_VERSION = 0x30FB
_EGL_CONTEXT_OPENGL_PROFILE_MASK = 0x30FD
_EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT = 0x0001
_EGL_PLATFORM_DEVICE_EXT = 0x313F
_EGL_PLATFORM_SURFACELESS_MESA = 0x31DD
_GL_VERSION = (3, 3)

_platform_lock = threading.RLock()
_platform: str | None = None
_egl: Any = None
_egl_displays: list[int] = []


class _EglContext:
    """One EGL context on a display kept for the process, used without a surface."""

    def __init__(self) -> None:
        egl = _egl
        errors = []
        for display in _egl_display_candidates():
            config = _egl_config(display)
            if config is None:
                errors.append(f"no OpenGL config on display {display:#x}")
                continue
            attribs = (ctypes.c_int32 * 7)(
                _EGL_CONTEXT_MAJOR_VERSION, _GL_VERSION[0], _EGL_CONTEXT_MINOR_VERSION, _GL_VERSION[1],
                _EGL_CONTEXT_OPENGL_PROFILE_MASK, _EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT, _EGL_NONE,
            )
            egl.eglBindAPI(_EGL_OPENGL_API)
            context = egl.eglCreateContext(display, config, None, attribs)
            if context and egl.eglMakeCurrent(display, None, None, context):
                self.display, self.context = display, context
                return
            errors.append(f"eglCreateContext/eglMakeCurrent failed with EGL error {egl.eglGetError():#x}")
        raise RuntimeError("; ".join(errors) or "no EGL display")

    def make_current(self) -> None:
        if not _egl.eglMakeCurrent(self.display, None, None, self.context):
            raise DependencyError(f"could not make the EGL context current (EGL error {_egl.eglGetError():#x})")

    def release(self) -> None:
        # Only the context: eglTerminate on the shared display would invalidate every other
        # rasterizer's context in the process.
        if self.context:
            _egl.eglMakeCurrent(self.display, None, None, None)
            _egl.eglDestroyContext(self.display, self.context)
            self.context = None


class _OsMesaContext:
    """One OSMesa (software) context; renders into our own framebuffers, its buffer is 1×1."""

    def __init__(self) -> None:
        from OpenGL import GL, arrays, osmesa

        attribs = arrays.GLintArray.asArray(
            [
                osmesa.OSMESA_FORMAT, osmesa.OSMESA_RGBA, osmesa.OSMESA_DEPTH_BITS, 24,
                osmesa.OSMESA_PROFILE, osmesa.OSMESA_CORE_PROFILE,
                osmesa.OSMESA_CONTEXT_MAJOR_VERSION, _GL_VERSION[0],
                osmesa.OSMESA_CONTEXT_MINOR_VERSION, _GL_VERSION[1], 0,
            ]
        )
        self.context = osmesa.OSMesaCreateContextAttribs(attribs, None)
        if not self.context:
            raise RuntimeError("OSMesaCreateContextAttribs returned no context")
        self._buffer = arrays.GLubyteArray.zeros((1, 1, 4))
        self._type = GL.GL_UNSIGNED_BYTE
        self.make_current()

    def make_current(self) -> None:
        from OpenGL import osmesa

        if not osmesa.OSMesaMakeCurrent(self.context, self._buffer, self._type, 1, 1):
            raise DependencyError("could not make the OSMesa context current")

    def release(self) -> None:
        from OpenGL import osmesa

        if self.context:
            osmesa.OSMesaDestroyContext(self.context)
            self.context = None


def _load_egl() -> Any:
    global _egl
    if _egl is not None:
        return _egl
    name = ctypes.util.find_library("EGL") or "libEGL.so.1"
    lib = ctypes.CDLL(name)
    p, i32, u32 = ctypes.c_void_p, ctypes.c_int32, ctypes.c_uint32
    for fn, res, args in [
        ("eglGetProcAddress", p, [ctypes.c_char_p]),
        ("eglGetDisplay", p, [p]),
        ("eglInitialize", u32, [p, ctypes.POINTER(i32), ctypes.POINTER(i32)]),
        ("eglChooseConfig", u32, [p, ctypes.POINTER(i32), ctypes.POINTER(p), i32, ctypes.POINTER(i32)]),
        ("eglBindAPI", u32, [u32]),
        ("eglCreateContext", p, [p, p, p, ctypes.POINTER(i32)]),
        ("eglMakeCurrent", u32, [p, p, p, p]),
        ("eglDestroyContext", u32, [p, p]),
        ("eglGetError", i32, []),
    ]:
        getattr(lib, fn).restype = res
        getattr(lib, fn).argtypes = args
    _egl = lib
    return lib


def _egl_display_candidates() -> list[int]:
    """Initialised EGL displays, best first: GPU/software devices, Mesa surfaceless, the default."""
    if _egl_displays:
        return _egl_displays
    egl = _egl
    p, i32 = ctypes.c_void_p, ctypes.c_int32
    candidates: list[int] = []
    get_platform_display = egl.eglGetProcAddress(b"eglGetPlatformDisplayEXT")
    query_devices = egl.eglGetProcAddress(b"eglQueryDevicesEXT")
    if get_platform_display:
        get_display = ctypes.CFUNCTYPE(p, ctypes.c_uint32, p, ctypes.POINTER(i32))(get_platform_display)
        if query_devices:
            query = ctypes.CFUNCTYPE(ctypes.c_uint32, i32, ctypes.POINTER(p), ctypes.POINTER(i32))(query_devices)
            count = i32(0)
            if query(0, None, ctypes.byref(count)) and count.value > 0:
                devices = (p * count.value)()
                if query(count.value, devices, ctypes.byref(count)):
                    order = list(range(count.value))
                    chosen = os.environ.get("EGL_DEVICE_ID")
                    if chosen is not None and chosen.isdigit() and int(chosen) < count.value:
                        order.insert(0, order.pop(int(chosen)))
                    candidates += [get_display(_EGL_PLATFORM_DEVICE_EXT, devices[k], None) for k in order]
        candidates.append(get_display(_EGL_PLATFORM_SURFACELESS_MESA, None, None))
    candidates.append(egl.eglGetDisplay(None))
    major, minor = i32(0), i32(0)
    for display in candidates:
        if display and display not in _egl_displays and egl.eglInitialize(display, ctypes.byref(major), ctypes.byref(minor)):
            _egl_displays.append(display)
    return _egl_displays


def _egl_config(display: int) -> int | None:
    egl = _egl
    count = ctypes.c_int32(0)
    config = ctypes.c_void_p()
    for surface in (True, False):
        attribs = [_EGL_RENDERABLE_TYPE, _EGL_OPENGL_BIT] + ([_EGL_SURFACE_TYPE, _EGL_PBUFFER_BIT] if surface else [])
        array = (ctypes.c_int32 * (len(attribs) + 1))(*attribs, _EGL_NONE)
        if egl.eglChooseConfig(display, array, ctypes.byref(config), 1, ctypes.byref(count)) and count.value > 0:
            return config.value
    return None


def _opengl_imported_platform() -> str | None:
    """The platform PyOpenGL already bound itself to in this process, if it was imported."""
    if "OpenGL.platform" not in sys.modules:
        return None
    name = type(getattr(sys.modules["OpenGL.platform"], "PLATFORM", None)).__name__.lower().removesuffix("platform")
    return "egl" if "egl" in name else "osmesa" if "osmesa" in name else name or "unknown"


def _new_context() -> _EglContext | _OsMesaContext:
    """A fresh headless OpenGL context, current on this thread."""
    global _platform
    with _platform_lock:
        if _platform is not None:
            return _context_for(_platform)
        requested = os.environ.get("PYOPENGL_PLATFORM", "").strip().lower() or None
        imported = _opengl_imported_platform()
        if imported is not None and imported not in ("egl", "osmesa"):
            raise DependencyError(
                f"OpenGL was imported with the {imported!r} platform before SceneForge could choose a headless one; "
                "set PYOPENGL_PLATFORM=egl (or osmesa) before anything imports OpenGL"
            )
        choices = [imported] if imported else [requested] if requested else ["egl", "osmesa"]
        if choices[0] not in ("egl", "osmesa"):
            raise DependencyError(
                f"PYOPENGL_PLATFORM={requested!r} cannot render offscreen; set it to 'egl' or 'osmesa' (or unset it)"
            )
        failures = []
        for choice in choices:
            try:
                if choice == "egl":
                    _load_egl()
                    context: _EglContext | _OsMesaContext = _EglContext()
                    os.environ["PYOPENGL_PLATFORM"] = "egl"
                else:
                    os.environ["PYOPENGL_PLATFORM"] = "osmesa"
                    context = _OsMesaContext()
                _check_gl_version()
            except DependencyError:
                raise
            except Exception as error:  # a missing library, no device, a refused context: try the next one
                failures.append(f"{choice}: {type(error).__name__}: {error}")
                continue
            _platform = choice
            return context
        raise DependencyError(
            "no headless OpenGL context could be made (" + "; ".join(failures) + "); install Mesa's EGL "
            "(Debian: libegl1 libgl1-mesa-dri) or OSMesa (libosmesa6), or set PYOPENGL_PLATFORM to one that works"
        )


def _context_for(platform: str) -> _EglContext | _OsMesaContext:
    try:
        if platform == "egl":
            return _EglContext()
        return _OsMesaContext()
    except DependencyError:
        raise
    except Exception as error:
        raise DependencyError(f"could not make another {platform} OpenGL context: {error}") from error


def _check_gl_version() -> None:
    from OpenGL import GL

    version = GL.glGetString(GL.GL_VERSION)
    if not version:
        raise RuntimeError("the context gives no GL_VERSION")
    renderer = GL.glGetString(GL.GL_RENDERER)
    log.debug("OpenGL context: %s on %s", version.decode(errors="replace"), (renderer or b"?").decode(errors="replace"))


# ----------------------------------------------------------------------------------------
# Shaders

_VERTEX_SHADER = """
#version 330 core
layout(location = 0) in vec3 a_position;
layout(location = 1) in vec3 a_normal;
layout(location = 2) in vec2 a_uv;
layout(location = 3) in vec3 a_color;
uniform mat4 u_cam_from_local;
uniform mat3 u_normal_cam_from_local;
uniform mat4 u_clip_from_cam;
out vec3 v_position_in_cam;
out vec3 v_normal_in_cam;
out vec2 v_uv;
out vec3 v_color;
void main() {
    vec4 position_in_cam = u_cam_from_local * vec4(a_position, 1.0);
    v_position_in_cam = position_in_cam.xyz;
    v_normal_in_cam = u_normal_cam_from_local * a_normal;
    // Texture row 0 is the top (v = 1) and is uploaded first, where GL puts t = 0.
    v_uv = vec2(a_uv.x, 1.0 - a_uv.y);
    v_color = a_color;
    gl_Position = u_clip_from_cam * position_in_cam;
}
"""

_FRAGMENT_SHADER = """
#version 330 core
in vec3 v_position_in_cam;
in vec3 v_normal_in_cam;
in vec2 v_uv;
in vec3 v_color;
uniform sampler2D u_texture;
uniform int u_color_source;
uniform vec3 u_base_color;
uniform int u_has_normals;
uniform int u_object_id;
layout(location = 0) out vec4 o_rgb;
layout(location = 1) out float o_depth;
layout(location = 2) out vec4 o_normal;
layout(location = 3) out int o_object_id;
void main() {
#ifdef WANT_RGB
    vec3 color = u_base_color;
    if (u_color_source == 0) {
        color = texture(u_texture, v_uv).rgb;
    } else if (u_color_source == 1) {
        color = v_color;
    }
    o_rgb = vec4(color, 1.0);
#endif
#ifdef WANT_DEPTH
    o_depth = v_position_in_cam.z;
#endif
#ifdef WANT_NORMALS
    // The facet's own normal from screen-space derivatives (window y = image v, down), which
    // always faces the camera; authored normals are interpolated and turned to the same side.
    vec3 facet = normalize(cross(dFdy(v_position_in_cam), dFdx(v_position_in_cam)));
    vec3 normal = facet;
    if (u_has_normals != 0) {
        normal = normalize(v_normal_in_cam);
        if (dot(normal, facet) < 0.0) {
            normal = -normal;
        }
    }
    o_normal = vec4(normal, 0.0);
#endif
#ifdef WANT_OBJECT_ID
    o_object_id = u_object_id;
#endif
}
"""

# Colour attachment index of each output; formats in Rasterizer._target.
_ATTACHMENTS = {"rgb": 0, "depth": 1, "normals": 2, "object_id": 3}


def _compile_program(defines: Sequence[str]) -> int:
    from OpenGL import GL

    header = "".join(f"#define {name} 1\n" for name in defines)
    shaders = []
    for kind, source in ((GL.GL_VERTEX_SHADER, _VERTEX_SHADER), (GL.GL_FRAGMENT_SHADER, _FRAGMENT_SHADER)):
        text = source.strip()
        first_line, rest = text.split("\n", 1)
        shader = GL.glCreateShader(kind)
        GL.glShaderSource(shader, first_line + "\n" + header + rest)
        GL.glCompileShader(shader)
        if not GL.glGetShaderiv(shader, GL.GL_COMPILE_STATUS):
            raise RuntimeError(f"shader compilation failed: {GL.glGetShaderInfoLog(shader).decode(errors='replace')}")
        shaders.append(shader)
    program = GL.glCreateProgram()
    for shader in shaders:
        GL.glAttachShader(program, shader)
    GL.glLinkProgram(program)
    if not GL.glGetProgramiv(program, GL.GL_LINK_STATUS):
        raise RuntimeError(f"shader link failed: {GL.glGetProgramInfoLog(program).decode(errors='replace')}")
    for shader in shaders:
        GL.glDeleteShader(shader)
    return program


@dataclass
class _Program:
    handle: int
    uniforms: dict[str, int]


@dataclass
class _Target:
    """A framebuffer of one size with every attachment (only the requested ones are drawn)."""

    framebuffer: int
    renderbuffers: list[int]
    width: int
    height: int


# ----------------------------------------------------------------------------------------
# Meshes on the GPU


@dataclass
class _GpuMesh:
    name: str
    vao: int
    buffers: list[int]
    texture: int | None
    num_indices: int
    color_source: int  # 0 texture, 1 vertex colours, 2 constant
    has_normals: bool
    object_id: int
    world_from_local: np.ndarray
    corners_in_local: np.ndarray  # 8×3 bounding-box corners


# ----------------------------------------------------------------------------------------
# Distortion


@dataclass(frozen=True)
class _Undistortion:
    """How a distorted camera is rendered: a pinhole canvas and the maps back to the plate."""

    pinhole: Intrinsics
    fixed_maps: tuple[np.ndarray, np.ndarray]  # cv2.convertMaps of the H×W canvas x and y
    nearest_index: np.ndarray  # H×W int64 flat canvas index of the nearest canvas pixel


def _build_undistortion(intrinsics: Intrinsics) -> _Undistortion:
    import cv2

    w, h = intrinsics.width, intrinsics.height
    jj, ii = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    pixels = np.stack([jj.ravel() + 0.5, ii.ravel() + 0.5], axis=1)
    rays = intrinsics.unproject(pixels, np.ones(len(pixels)))
    residual = np.abs(intrinsics.project(rays) - pixels).max()
    if not np.isfinite(residual) or residual > 1e-3:
        raise InputError(
            f"lens distortion {intrinsics.radial.tolist()} cannot be inverted over the image "
            f"(residual {residual:.3g} px); check the radial coefficients"
        )
    k = intrinsics.K
    # The pinhole camera with the same focal lengths, shifted so that every ray lands on the canvas.
    u0 = k[0, 0] * rays[:, 0] + k[0, 1] * rays[:, 1]
    v0 = k[1, 1] * rays[:, 1]
    margin = 2.0
    scale = 1.0
    span_u, span_v = u0.max() - u0.min() + 2 * margin, v0.max() - v0.min() + 2 * margin
    limit = min(_MAX_CANVAS_SCALE * w / span_u, _MAX_CANVAS_SCALE * h / span_v)
    if limit < 1.0:
        scale = limit
        log.warning("strong lens distortion: the pinhole canvas is rendered at %.2f× resolution", scale)
    cx = margin - scale * u0.min()
    cy = margin - scale * v0.min()
    canvas_w = int(np.ceil(scale * u0.max() + cx + margin))
    canvas_h = int(np.ceil(scale * v0.max() + cy + margin))
    pinhole_k = np.array([[scale * k[0, 0], scale * k[0, 1], cx], [0.0, scale * k[1, 1], cy], [0.0, 0.0, 1.0]])
    pinhole = Intrinsics(K=pinhole_k, width=canvas_w, height=canvas_h)
    canvas_uv = pinhole.project(rays)
    # cv2 puts pixel centres at integer coordinates, we at +0.5.
    map_x = (canvas_uv[:, 0] - 0.5).reshape(h, w).astype(np.float32)
    map_y = (canvas_uv[:, 1] - 0.5).reshape(h, w).astype(np.float32)
    fixed = cv2.convertMaps(map_x, map_y, cv2.CV_16SC2)
    cols = np.clip(np.floor(canvas_uv[:, 0]).astype(np.int64), 0, canvas_w - 1)
    rows = np.clip(np.floor(canvas_uv[:, 1]).astype(np.int64), 0, canvas_h - 1)
    nearest = (rows * canvas_w + cols).reshape(h, w)
    return _Undistortion(pinhole=pinhole, fixed_maps=fixed, nearest_index=nearest)


def _distort_passes(passes: RenderPasses, undistortion: _Undistortion) -> RenderPasses:
    """Resample pinhole-canvas passes onto the distorted image grid."""
    import cv2

    m1, m2 = undistortion.fixed_maps
    nearest = undistortion.nearest_index

    def gather(image: np.ndarray) -> np.ndarray:
        flat = image.reshape(image.shape[0] * image.shape[1], *image.shape[2:])
        return flat[nearest]

    def bilinear(image: np.ndarray) -> np.ndarray:
        return cv2.remap(image, m1, m2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)

    out: dict[str, np.ndarray] = {}
    if passes.rgb is not None:
        out["rgb"] = np.clip(bilinear(passes.rgb), 0.0, 1.0)
    # Depth and normals are interpolated inside a surface only; across a silhouette or an
    # occlusion the nearest sample is taken, so no value between two surfaces is invented.
    smooth = np.zeros(nearest.shape, dtype=bool)
    if passes.depth is not None:
        depth_nearest = gather(passes.depth)
        depth_linear = bilinear(passes.depth)
        covered = bilinear((passes.depth > 0).astype(np.float32)) > 1.0 - 1e-4
        smooth = covered & (np.abs(depth_linear - depth_nearest) <= 0.02 * depth_nearest)
        out["depth"] = np.where(smooth, depth_linear, depth_nearest)
    if passes.normals is not None:
        n_nearest = gather(passes.normals)
        n_linear = bilinear(passes.normals)
        length = np.linalg.norm(n_linear, axis=2, keepdims=True)
        smooth &= length[..., 0] > 0.5
        out["normals"] = np.where(smooth[..., None], n_linear / np.maximum(length, 1e-12), n_nearest)
    if passes.coverage is not None:
        out["coverage"] = gather(passes.coverage)
    if passes.object_id is not None:
        out["object_id"] = gather(passes.object_id)
    return RenderPasses(**out)


# ----------------------------------------------------------------------------------------
# The rasterizer


class Rasterizer:
    """Renders textured meshes into :class:`RenderPasses` with a headless OpenGL context.

    Built once for one image size; meshes are uploaded once with :meth:`add_mesh` and
    every :meth:`render` only moves the camera. Use it as a context manager (or call
    :meth:`close`) to free the context. One thread at a time may use a rasterizer.

    Headless OpenGL: EGL (Mesa's llvmpipe on a CPU, or a GPU's driver) is tried first,
    then OSMesa; ``PYOPENGL_PLATFORM`` is set accordingly unless the user set it.

    Args:
        width: image width in pixels.
        height: image height in pixels.

    Raises:
        InputError: a non-positive size.
        DependencyError: no headless OpenGL context can be made here.
    """

    def __init__(self, width: int, height: int) -> None:
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0 for v in (width, height)):
            raise InputError(f"width and height must be positive whole pixels, got {width}×{height}")
        self.width = int(width)
        self.height = int(height)
        self._meshes: dict[str, _GpuMesh] = {}
        self._programs: dict[tuple[str, ...], _Program] = {}
        self._targets: OrderedDict[tuple[int, int], _Target] = OrderedDict()
        self._undistortions: OrderedDict[Intrinsics, _Undistortion] = OrderedDict()
        self._counter = 0
        self._context: _EglContext | _OsMesaContext | None = _new_context()
        self._finalizer = weakref.finalize(self, _release_context, self._context)
        # Freeing a GL context while the interpreter shuts down can crash inside the driver.
        self._finalizer.atexit = False
        from OpenGL import GL

        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)

    # -- lifetime ---------------------------------------------------------------------

    def close(self) -> None:
        """Free the OpenGL context and everything uploaded to it; the rasterizer is unusable after."""
        if self._context is None:
            return
        self._meshes.clear()
        self._programs.clear()
        self._targets.clear()
        self._finalizer()
        self._context = None

    def __enter__(self) -> Rasterizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _current(self) -> None:
        if self._context is None:
            raise InputError("this Rasterizer is closed; make a new one")
        self._context.make_current()

    # -- meshes -----------------------------------------------------------------------

    @property
    def mesh_names(self) -> tuple[str, ...]:
        """Names of the meshes in the scene, in the order they were added."""
        return tuple(self._meshes)

    def add_mesh(
        self,
        mesh: TexturedMesh,
        *,
        world_from_local: np.ndarray,
        object_id: int = 0,
        name: str | None = None,
    ) -> str:
        """Upload a mesh and place it in the world.

        Args:
            mesh: the mesh in its local frame; textured (``uv`` + ``texture``),
                vertex-coloured, or neither (drawn mid grey). Its ``normals``, when given,
                are interpolated for the normals pass; otherwise each facet's own normal is used.
            world_from_local: 4×4 float64 affine placement (rigid or with scale; column vectors).
            object_id: id written to the ``object_id`` pass, ≥ 0 (0 reads as "no object").
            name: unique name for :meth:`remove_mesh` / :meth:`set_world_from_local`;
                ``mesh_<n>`` when omitted.

        Returns:
            The mesh's name.

        Raises:
            InputError: a wrong type, a duplicate name, a negative id, a singular transform.
        """
        if not isinstance(mesh, TexturedMesh):
            raise InputError(f"mesh must be a TexturedMesh, got {type(mesh).__name__}")
        world_from_local = _check_affine(world_from_local, "world_from_local")
        if isinstance(object_id, bool) or int(object_id) != object_id or not 0 <= object_id <= _MAX_OBJECT_ID:
            raise InputError(f"object_id must be an integer in [0, {_MAX_OBJECT_ID}], got {object_id!r}")
        if name is None:
            while f"mesh_{self._counter}" in self._meshes:
                self._counter += 1
            name = f"mesh_{self._counter}"
        if name in self._meshes:
            raise InputError(f"a mesh named {name!r} is already in the scene; remove it first or pick another name")
        self._current()
        self._meshes[name] = self._upload(mesh, name, world_from_local, int(object_id))
        return name

    def set_world_from_local(self, name: str, world_from_local: np.ndarray) -> None:
        """Move a mesh: replace its 4×4 ``world_from_local`` (nothing is uploaded again)."""
        entry = self._entry(name)
        entry.world_from_local = _check_affine(world_from_local, "world_from_local")

    def remove_mesh(self, name: str) -> None:
        """Remove one mesh from the scene and free its GPU memory."""
        entry = self._entry(name)
        self._current()
        _delete_mesh(entry)
        del self._meshes[name]

    def clear(self) -> None:
        """Remove every mesh."""
        if self._context is None:
            return
        self._current()
        for entry in self._meshes.values():
            _delete_mesh(entry)
        self._meshes.clear()

    def _entry(self, name: str) -> _GpuMesh:
        if name not in self._meshes:
            known = ", ".join(self._meshes) or "none"
            raise InputError(f"no mesh named {name!r} in the scene; meshes: {known}")
        return self._meshes[name]

    def _upload(self, mesh: TexturedMesh, name: str, world_from_local: np.ndarray, object_id: int) -> _GpuMesh:
        from OpenGL import GL

        vao = GL.glGenVertexArrays(1)
        GL.glBindVertexArray(vao)
        buffers = []

        def attribute(location: int, data: np.ndarray) -> None:
            buffer = GL.glGenBuffers(1)
            GL.glBindBuffer(GL.GL_ARRAY_BUFFER, buffer)
            data = np.ascontiguousarray(data, dtype=np.float32)
            GL.glBufferData(GL.GL_ARRAY_BUFFER, data.nbytes, data, GL.GL_STATIC_DRAW)
            GL.glEnableVertexAttribArray(location)
            GL.glVertexAttribPointer(location, data.shape[1], GL.GL_FLOAT, GL.GL_FALSE, 0, None)
            buffers.append(buffer)

        attribute(0, mesh.vertices)
        has_normals = mesh.normals is not None
        if has_normals:
            attribute(1, mesh.normals)
        texture = None
        if mesh.texture is not None and mesh.uv is not None:
            color_source = 0
            attribute(2, mesh.uv)
            texture = _upload_texture(mesh.texture)
        elif mesh.vertex_colors is not None:
            color_source = 1
            attribute(3, mesh.vertex_colors.astype(np.float32) / np.float32(255.0))
        else:
            color_source = 2
        indices = np.ascontiguousarray(mesh.faces, dtype=np.uint32).ravel()
        index_buffer = GL.glGenBuffers(1)
        GL.glBindBuffer(GL.GL_ELEMENT_ARRAY_BUFFER, index_buffer)
        GL.glBufferData(GL.GL_ELEMENT_ARRAY_BUFFER, max(indices.nbytes, 4), indices if indices.size else None, GL.GL_STATIC_DRAW)
        buffers.append(index_buffer)
        GL.glBindVertexArray(0)
        bounds = mesh.bounds()
        corners = np.array([[bounds[i, 0], bounds[j, 1], bounds[k, 2]] for i in (0, 1) for j in (0, 1) for k in (0, 1)])
        log.debug("uploaded mesh %s: %d vertices, %d faces", name, mesh.num_vertices, mesh.num_faces)
        return _GpuMesh(
            name=name, vao=vao, buffers=buffers, texture=texture, num_indices=int(indices.size),
            color_source=color_source, has_normals=has_normals, object_id=object_id,
            world_from_local=world_from_local, corners_in_local=corners,
        )

    # -- rendering --------------------------------------------------------------------

    def clipping_range(self, world_from_cam: np.ndarray) -> tuple[float, float] | None:
        """Near and far planes (scene units along +Z) that enclose the scene's bounding boxes.

        ``None`` when no geometry lies in front of the camera. When the camera is inside a
        box, ``near`` is ``1e-4 × far``.
        """
        cam_from_world = invert_rigid(check_rigid(world_from_cam, "world_from_cam"))
        z_min, z_max = np.inf, -np.inf
        for entry in self._meshes.values():
            if entry.num_indices == 0:
                continue
            cam_from_local = cam_from_world @ entry.world_from_local
            z = entry.corners_in_local @ cam_from_local[2, :3] + cam_from_local[2, 3]
            z_min, z_max = min(z_min, float(z.min())), max(z_max, float(z.max()))
        if not np.isfinite(z_max) or z_max <= 0.0:
            return None
        far = z_max * 1.001
        near = z_min * 0.999 if z_min > _NEAR_FRACTION * far else _NEAR_FRACTION * far
        return near, far

    def render(
        self,
        intrinsics: Intrinsics,
        world_from_cam: np.ndarray,
        *,
        passes: Sequence[str] = PASS_NAMES,
        near: float | None = None,
        far: float | None = None,
    ) -> RenderPasses:
        """Render the scene from one camera.

        Args:
            intrinsics: the camera, of this rasterizer's ``width`` × ``height``. With radial
                distortion the image is rendered as a pinhole and resampled onto the
                distorted pixel grid (rgb bilinearly; depth and normals bilinearly inside a
                surface; coverage and ids from the nearest pinhole pixel).
            world_from_cam: 4×4 float64 rigid camera pose, OpenCV axes.
            passes: which of ``rgb``, ``depth``, ``coverage``, ``normals``, ``object_id``
                to render; only those are drawn and read back.
            near: near clipping distance along +Z (scene units); from the scene bounds when ``None``.
            far: far clipping distance along +Z (scene units); from the scene bounds when ``None``.

        Returns:
            :class:`RenderPasses` with the requested passes set and the others ``None``.

        Raises:
            InputError / ShapeError: intrinsics of another size, a non-rigid pose, unknown
                passes, a bad clipping range.
        """
        wanted = check_pass_names(passes)
        if not isinstance(intrinsics, Intrinsics):
            raise InputError(f"intrinsics must be an Intrinsics, got {type(intrinsics).__name__}")
        if (intrinsics.width, intrinsics.height) != (self.width, self.height):
            raise InputError(
                f"intrinsics are for {intrinsics.width}×{intrinsics.height} but this Rasterizer renders "
                f"{self.width}×{self.height}; use intrinsics.scaled(...) or a Rasterizer of that size"
            )
        world_from_cam = check_rigid(world_from_cam, "world_from_cam")
        clipping = self.clipping_range(world_from_cam)
        if near is not None or far is not None:
            # A plane not given comes from the scene bounds, kept on its side of the given one.
            if near is None:
                near = clipping[0] if clipping and clipping[0] < float(far) else _NEAR_FRACTION * float(far)
            if far is None:
                far = clipping[1] if clipping and clipping[1] > float(near) else float(near) / _NEAR_FRACTION
            near, far = float(near), float(far)
            if not 0.0 < near < far < np.inf:
                raise InputError(f"clipping range must satisfy 0 < near < far < inf, got near={near}, far={far}")
            clipping = (near, far)
        self._current()
        if not intrinsics.has_distortion:
            return self._draw(intrinsics, world_from_cam, wanted, clipping)
        undistortion = self._undistortion(intrinsics)
        # Depth tells where normals may be interpolated (not across silhouettes).
        canvas_passes = check_pass_names({*wanted, "depth"} if "normals" in wanted else wanted)
        out = _distort_passes(self._draw(undistortion.pinhole, world_from_cam, canvas_passes, clipping), undistortion)
        return out if out.passes == wanted else RenderPasses(**{p: getattr(out, p) for p in wanted})

    def _undistortion(self, intrinsics: Intrinsics) -> _Undistortion:
        cached = self._undistortions.get(intrinsics)
        if cached is None:
            cached = _build_undistortion(intrinsics)
            self._undistortions[intrinsics] = cached
            while len(self._undistortions) > 4:
                self._undistortions.popitem(last=False)
        else:
            self._undistortions.move_to_end(intrinsics)
        return cached

    def _program(self, wanted: tuple[str, ...]) -> _Program:
        key = tuple(p for p in ("rgb", "depth", "normals", "object_id") if p in wanted or (p == "depth" and "coverage" in wanted))
        program = self._programs.get(key)
        if program is None:
            from OpenGL import GL

            handle = _compile_program([f"WANT_{p.upper()}" for p in key])
            names = ["u_cam_from_local", "u_normal_cam_from_local", "u_clip_from_cam", "u_texture", "u_color_source",
                     "u_base_color", "u_has_normals", "u_object_id"]
            program = _Program(handle, {n: GL.glGetUniformLocation(handle, n) for n in names})
            self._programs[key] = program
        return program

    def _target(self, width: int, height: int) -> _Target:
        from OpenGL import GL

        target = self._targets.get((width, height))
        if target is not None:
            self._targets.move_to_end((width, height))
            return target
        # Distorted cameras that change (a zoom) each need a canvas: keep only the recent ones.
        while len(self._targets) >= _MAX_TARGETS:
            _, old = self._targets.popitem(last=False)
            GL.glDeleteFramebuffers(1, [old.framebuffer])
            GL.glDeleteRenderbuffers(len(old.renderbuffers), old.renderbuffers)

        framebuffer = GL.glGenFramebuffers(1)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, framebuffer)
        formats = [GL.GL_RGBA8, GL.GL_R32F, GL.GL_RGBA32F, GL.GL_R32I]
        renderbuffers = [int(b) for b in np.atleast_1d(GL.glGenRenderbuffers(len(formats) + 1))]
        for index, (buffer, fmt) in enumerate(zip(renderbuffers, formats)):
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, buffer)
            GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, fmt, width, height)
            GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0 + index, GL.GL_RENDERBUFFER, buffer)
        GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, renderbuffers[-1])
        GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_DEPTH_COMPONENT24, width, height)
        GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_DEPTH_ATTACHMENT, GL.GL_RENDERBUFFER, renderbuffers[-1])
        status = GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER)
        if status != GL.GL_FRAMEBUFFER_COMPLETE:
            raise DependencyError(f"this OpenGL cannot make a float/integer render target (status {status:#x})")
        target = _Target(framebuffer, renderbuffers, width, height)
        self._targets[(width, height)] = target
        return target

    def _draw(
        self,
        intrinsics: Intrinsics,
        world_from_cam: np.ndarray,
        wanted: tuple[str, ...],
        clipping: tuple[float, float] | None,
    ) -> RenderPasses:
        from OpenGL import GL

        width, height = intrinsics.width, intrinsics.height
        target = self._target(width, height)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, target.framebuffer)
        GL.glViewport(0, 0, width, height)
        outputs = [p for p in ("rgb", "depth", "normals", "object_id") if p in wanted or (p == "depth" and "coverage" in wanted)]
        draw_buffers = [GL.GL_COLOR_ATTACHMENT0 + _ATTACHMENTS[p] if p in outputs else GL.GL_NONE for p in _ATTACHMENTS]
        GL.glDrawBuffers(len(draw_buffers), np.array(draw_buffers, dtype=np.uint32))
        for p in outputs:
            index = _ATTACHMENTS[p]
            if p == "object_id":
                GL.glClearBufferiv(GL.GL_COLOR, index, np.zeros(4, dtype=np.int32))
            else:
                GL.glClearBufferfv(GL.GL_COLOR, index, np.zeros(4, dtype=np.float32))
        GL.glClearBufferfv(GL.GL_DEPTH, 0, np.ones(1, dtype=np.float32))
        if clipping is not None and self._meshes:
            self._draw_meshes(intrinsics, world_from_cam, wanted, clipping)
        return self._read(target, wanted)

    def _draw_meshes(
        self,
        intrinsics: Intrinsics,
        world_from_cam: np.ndarray,
        wanted: tuple[str, ...],
        clipping: tuple[float, float],
    ) -> None:
        from OpenGL import GL

        program = self._program(wanted)
        u = program.uniforms
        GL.glUseProgram(program.handle)
        GL.glEnable(GL.GL_DEPTH_TEST)
        GL.glDepthFunc(GL.GL_LESS)
        # 2.5D layers are seen from either side; the projection's y flip also reverses winding.
        GL.glDisable(GL.GL_CULL_FACE)
        GL.glDisable(GL.GL_BLEND)
        GL.glDisable(GL.GL_MULTISAMPLE)
        projection = clip_from_cam(intrinsics, near=clipping[0], far=clipping[1])
        GL.glUniformMatrix4fv(u["u_clip_from_cam"], 1, GL.GL_TRUE, projection.astype(np.float32))
        GL.glUniform1i(u["u_texture"], 0)
        GL.glUniform3f(u["u_base_color"], *_DEFAULT_COLOR)
        GL.glActiveTexture(GL.GL_TEXTURE0)
        cam_from_world = invert_rigid(world_from_cam)
        for entry in self._meshes.values():
            if entry.num_indices == 0:
                continue
            # Composed in float64 so that large world coordinates lose nothing in float32.
            cam_from_local = cam_from_world @ entry.world_from_local
            normal_from_local = np.linalg.inv(cam_from_local[:3, :3]).T
            GL.glUniformMatrix4fv(u["u_cam_from_local"], 1, GL.GL_TRUE, cam_from_local.astype(np.float32))
            GL.glUniformMatrix3fv(u["u_normal_cam_from_local"], 1, GL.GL_TRUE, normal_from_local.astype(np.float32))
            GL.glUniform1i(u["u_color_source"], entry.color_source)
            GL.glUniform1i(u["u_has_normals"], int(entry.has_normals))
            GL.glUniform1i(u["u_object_id"], entry.object_id)
            GL.glBindTexture(GL.GL_TEXTURE_2D, entry.texture or 0)
            GL.glBindVertexArray(entry.vao)
            GL.glDrawElements(GL.GL_TRIANGLES, entry.num_indices, GL.GL_UNSIGNED_INT, None)
        GL.glBindVertexArray(0)
        GL.glUseProgram(0)

    def _read(self, target: _Target, wanted: tuple[str, ...]) -> RenderPasses:
        from OpenGL import GL

        w, h = target.width, target.height
        out: dict[str, np.ndarray] = {}

        def read(index: int, fmt: int, gl_type: int, array: np.ndarray) -> np.ndarray:
            GL.glReadBuffer(GL.GL_COLOR_ATTACHMENT0 + index)
            GL.glReadPixels(0, 0, w, h, fmt, gl_type, array.ctypes.data_as(ctypes.c_void_p))
            return array

        if "rgb" in wanted:
            # The driver turns the 8-bit values into floats c / 255 as it copies them out.
            out["rgb"] = read(_ATTACHMENTS["rgb"], GL.GL_RGB, GL.GL_FLOAT, np.empty((h, w, 3), np.float32))
        if "depth" in wanted or "coverage" in wanted:
            depth = read(_ATTACHMENTS["depth"], GL.GL_RED, GL.GL_FLOAT, np.empty((h, w), np.float32))
            if "coverage" in wanted:
                out["coverage"] = depth > 0.0
            if "depth" in wanted:
                out["depth"] = depth
        if "normals" in wanted:
            out["normals"] = read(_ATTACHMENTS["normals"], GL.GL_RGB, GL.GL_FLOAT, np.empty((h, w, 3), np.float32))
        if "object_id" in wanted:
            out["object_id"] = read(_ATTACHMENTS["object_id"], GL.GL_RED_INTEGER, GL.GL_INT, np.empty((h, w), np.int32))
        return RenderPasses(**out)


def _check_affine(matrix: object, name: str) -> np.ndarray:
    m = check_array(matrix, name, shape=(4, 4), dtype=(np.float64, np.float32), finite=True).astype(np.float64)
    if not np.allclose(m[3], [0.0, 0.0, 0.0, 1.0]):
        raise InputError(f"{name} must be affine with last row 0 0 0 1, got {m[3].tolist()}")
    det = float(np.linalg.det(m[:3, :3]))
    if not abs(det) > 1e-12:
        raise InputError(f"{name} must be invertible, got a 3×3 part with determinant {det:.3g}")
    return m


def _upload_texture(texture: np.ndarray) -> int:
    from OpenGL import GL

    data = np.ascontiguousarray(texture, dtype=np.uint8)
    limit = int(GL.glGetIntegerv(GL.GL_MAX_TEXTURE_SIZE))
    if max(data.shape[:2]) > limit:
        import cv2

        factor = limit / max(data.shape[:2])
        size = (max(1, int(data.shape[1] * factor)), max(1, int(data.shape[0] * factor)))
        log.warning("texture %d×%d is larger than this OpenGL allows (%d); resized to %d×%d",
                    data.shape[1], data.shape[0], limit, *size)
        data = np.ascontiguousarray(cv2.resize(data, size, interpolation=cv2.INTER_AREA))
    handle = GL.glGenTextures(1)
    GL.glBindTexture(GL.GL_TEXTURE_2D, handle)
    GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGB8, data.shape[1], data.shape[0], 0, GL.GL_RGB, GL.GL_UNSIGNED_BYTE, data)
    GL.glGenerateMipmap(GL.GL_TEXTURE_2D)
    GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR_MIPMAP_LINEAR)
    GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
    # Texture atlases end at the border: repeating would bleed the opposite edge in.
    GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE)
    GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)
    GL.glBindTexture(GL.GL_TEXTURE_2D, 0)
    return int(handle)


def _delete_mesh(entry: _GpuMesh) -> None:
    from OpenGL import GL

    GL.glDeleteVertexArrays(1, [entry.vao])
    GL.glDeleteBuffers(len(entry.buffers), entry.buffers)
    if entry.texture is not None:
        GL.glDeleteTextures([entry.texture])


def _release_context(context: _EglContext | _OsMesaContext) -> None:
    try:
        context.release()
    except Exception as error:  # freeing must never raise from a finalizer
        log.debug("could not release an OpenGL context: %s", error)
