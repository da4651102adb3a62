"""Headless OpenGL contexts: finding EGL (or OSMesa), making a context, releasing it.

PyOpenGL binds its functions to one windowing platform, chosen from ``PYOPENGL_PLATFORM``
at its first import and fixed for the process. So EGL is tried first with plain ctypes,
before OpenGL is imported; only when that fails is the platform set to OSMesa. Once one
platform has worked, every later context in the process is made on it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
import threading
from typing import Any

from sceneforge.scenegraph import DependencyError

__all__ = ["GlContext", "new_context", "release_context"]

log = logging.getLogger(__name__)

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


GlContext = _EglContext | _OsMesaContext
"""A current-able headless OpenGL context (``make_current()``, ``release()``)."""


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


def new_context() -> GlContext:
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
                    context: GlContext = _EglContext()
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


def _context_for(platform: str) -> GlContext:
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


def release_context(context: GlContext) -> None:
    """Free a context; never raises, so that a finalizer may call it."""
    try:
        context.release()
    except Exception as error:  # freeing must never raise from a finalizer
        log.debug("could not release an OpenGL context: %s", error)
