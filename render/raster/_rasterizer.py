"""The rasterizer: textured meshes drawn with headless OpenGL into render passes.

What it does
    :class:`Rasterizer` keeps one offscreen OpenGL context and the meshes uploaded to it;
    each :meth:`Rasterizer.render` only sets the camera, draws once and reads back the
    passes that were asked for (rgb, depth, coverage, normals, object id) from one
    multiple-render-target framebuffer. The context comes from ``_gl_context``, the
    projection from ``_projection``, the shaders from ``_shaders`` and distorted cameras
    go through ``_distortion``.

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
"""

from __future__ import annotations

import ctypes
import logging
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sceneforge.scenegraph import DependencyError, InputError, Intrinsics, TexturedMesh, check_rigid, invert_rigid
from sceneforge.scenegraph import check_array

from ._distortion import Undistortion, build_undistortion, distort_passes
from ._gl_context import GlContext, new_context, release_context
from ._passes import PASS_NAMES, RenderPasses, check_pass_names
from ._projection import clip_from_cam
from ._shaders import ATTACHMENTS, Program, compile_program

__all__ = ["Rasterizer"]

log = logging.getLogger(__name__)

_DEFAULT_COLOR = (0.5, 0.5, 0.5)
"""Colour of a mesh with neither texture nor vertex colours."""
_NEAR_FRACTION = 1e-4
"""Near plane as a fraction of the far plane when the camera is inside the scene bounds."""
_MAX_TARGETS = 4
"""Framebuffers kept per rasterizer (one per canvas size)."""
_MAX_OBJECT_ID = 2**31 - 1


# ----------------------------------------------------------------------------------------
# Render targets and meshes on the GPU


@dataclass
class _Target:
    """A framebuffer of one size with every attachment (only the requested ones are drawn)."""

    framebuffer: int
    renderbuffers: list[int]
    width: int
    height: int


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
        self._programs: dict[tuple[str, ...], Program] = {}
        self._targets: OrderedDict[tuple[int, int], _Target] = OrderedDict()
        self._undistortions: OrderedDict[Intrinsics, Undistortion] = OrderedDict()
        self._counter = 0
        self._context: GlContext | None = new_context()
        self._finalizer = weakref.finalize(self, release_context, self._context)
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
        out = distort_passes(self._draw(undistortion.pinhole, world_from_cam, canvas_passes, clipping), undistortion)
        return out if out.passes == wanted else RenderPasses(**{p: getattr(out, p) for p in wanted})

    def _undistortion(self, intrinsics: Intrinsics) -> Undistortion:
        cached = self._undistortions.get(intrinsics)
        if cached is None:
            cached = build_undistortion(intrinsics)
            self._undistortions[intrinsics] = cached
            while len(self._undistortions) > 4:
                self._undistortions.popitem(last=False)
        else:
            self._undistortions.move_to_end(intrinsics)
        return cached

    def _program(self, wanted: tuple[str, ...]) -> Program:
        key = tuple(p for p in ("rgb", "depth", "normals", "object_id") if p in wanted or (p == "depth" and "coverage" in wanted))
        program = self._programs.get(key)
        if program is None:
            from OpenGL import GL

            handle = compile_program([f"WANT_{p.upper()}" for p in key])
            names = ["u_cam_from_local", "u_normal_cam_from_local", "u_clip_from_cam", "u_texture", "u_color_source",
                     "u_base_color", "u_has_normals", "u_object_id"]
            program = Program(handle, {n: GL.glGetUniformLocation(handle, n) for n in names})
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
        draw_buffers = [GL.GL_COLOR_ATTACHMENT0 + ATTACHMENTS[p] if p in outputs else GL.GL_NONE for p in ATTACHMENTS]
        GL.glDrawBuffers(len(draw_buffers), np.array(draw_buffers, dtype=np.uint32))
        for p in outputs:
            index = ATTACHMENTS[p]
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
            out["rgb"] = read(ATTACHMENTS["rgb"], GL.GL_RGB, GL.GL_FLOAT, np.empty((h, w, 3), np.float32))
        if "depth" in wanted or "coverage" in wanted:
            depth = read(ATTACHMENTS["depth"], GL.GL_RED, GL.GL_FLOAT, np.empty((h, w), np.float32))
            if "coverage" in wanted:
                out["coverage"] = depth > 0.0
            if "depth" in wanted:
                out["depth"] = depth
        if "normals" in wanted:
            out["normals"] = read(ATTACHMENTS["normals"], GL.GL_RGB, GL.GL_FLOAT, np.empty((h, w, 3), np.float32))
        if "object_id" in wanted:
            out["object_id"] = read(ATTACHMENTS["object_id"], GL.GL_RED_INTEGER, GL.GL_INT, np.empty((h, w), np.int32))
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

