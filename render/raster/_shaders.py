"""The rasterizer's shader program: one vertex and one fragment shader, compiled per set of passes.

The fragment shader writes every pass to its own colour attachment of one
multiple-render-target framebuffer; a pass that was not asked for is compiled out
(``#define WANT_<PASS>``), so a frame pays only for what it reads back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ATTACHMENTS", "Program", "compile_program"]

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

ATTACHMENTS = {"rgb": 0, "depth": 1, "normals": 2, "object_id": 3}
"""Colour attachment index of each shader output (its ``layout(location)``); formats in ``Rasterizer._target``."""


def compile_program(defines: Sequence[str]) -> int:
    """Compile and link the program with ``#define <name> 1`` for each of ``defines``; returns its GL handle."""
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
class Program:
    """A linked program and the locations of its uniforms."""

    handle: int
    uniforms: dict[str, int]
