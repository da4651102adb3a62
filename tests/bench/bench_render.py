"""Rasterizer and video-writer benchmark.

- Frames per second of :class:`sceneforge.render.Rasterizer` for a ~100k-triangle
  textured mesh (a displaced 224×224 grid with a 2048² texture) seen by a moving camera,
  at 640×480 and 1280×720, for rgb only, rgb+depth and all passes; rgb+depth also with a
  radially distorted camera (pinhole render + remap).
- For reference, pyrender's own OffscreenRenderer on the same mesh (flat, unlit colour
  with its fixed 4× MSAA), the library we would otherwise use.
- H.264 encoding speed of :func:`sceneforge.render.write_video` at 640×480.

Target: ≥ 20 frames/s at 640×480 for rgb+depth on a 2-core CPU (Mesa llvmpipe).

    python -m tests.bench.bench_render --out bench_results
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from tests.bench._harness import Benchmark, Report, main, print_table

TARGET_FPS = 20.0
GRID = 224  # (GRID - 1)² × 2 = 99,458 triangles
TEXTURE_SIZE = 2048
FRAMES = 60
WARMUP = 5


def displaced_grid() -> Any:
    """A 2×2-unit grid, gently displaced, with a noise texture: ~100k triangles."""
    from sceneforge.scenegraph import TexturedMesh

    xs = np.linspace(-1.0, 1.0, GRID)
    x, y = np.meshgrid(xs, xs)
    z = 0.08 * np.sin(6.0 * x) * np.cos(5.0 * y)
    vertices = np.stack([x, y, z], axis=-1).reshape(-1, 3)
    index = np.arange(GRID * GRID).reshape(GRID, GRID)
    a, b, c, d = index[:-1, :-1], index[:-1, 1:], index[1:, :-1], index[1:, 1:]
    faces = np.concatenate([np.stack([a, b, d], -1).reshape(-1, 3), np.stack([a, d, c], -1).reshape(-1, 3)]).astype(np.int32)
    uv = np.stack([(x + 1) / 2, (y + 1) / 2], axis=-1).reshape(-1, 2).astype(np.float32)
    rng = np.random.default_rng(0)
    texture = (rng.random((TEXTURE_SIZE // 8, TEXTURE_SIZE // 8, 3)) * 255).astype(np.uint8)
    texture = np.kron(texture, np.ones((8, 8, 1), np.uint8))  # blocky, so that filtering matters
    return TexturedMesh(vertices, faces, uv=uv, texture=texture)


def camera_path(count: int) -> list[np.ndarray]:
    """A slow orbit in front of the grid (its +Z side, where its faces point) at 2.4 units,
    looking at its centre (OpenCV axes)."""
    from sceneforge.scenegraph import make_transform, rotation_about_axis

    poses = []
    for i in range(count):
        angle = np.pi + 0.4 * np.sin(2 * np.pi * i / count)
        rotation = rotation_about_axis(np.array([0.0, 1.0, 0.0]), angle) @ rotation_about_axis(np.array([1.0, 0.0, 0.0]), 0.15)
        poses.append(make_transform(rotation, rotation @ np.array([0.0, 0.0, -2.4])))
    return poses


def bench_ours(mesh: Any, width: int, height: int, passes: tuple[str, ...], *, distorted: bool = False) -> dict[str, Any]:
    from sceneforge.render import Rasterizer
    from sceneforge.scenegraph import Intrinsics

    radial = np.array([-0.1, 0.02]) if distorted else np.zeros(2)
    intrinsics = Intrinsics(K=np.array([[0.9 * width, 0, width / 2], [0, 0.9 * width, height / 2], [0, 0, 1.0]]),
                            width=width, height=height, radial=radial)
    poses = camera_path(FRAMES)
    with Rasterizer(width, height) as rasterizer:
        start = time.perf_counter()
        rasterizer.add_mesh(mesh, world_from_local=np.eye(4))
        upload = time.perf_counter() - start
        for pose in poses[:WARMUP]:
            rasterizer.render(intrinsics, pose, passes=passes)
        times = []
        for pose in poses:
            start = time.perf_counter()
            rasterizer.render(intrinsics, pose, passes=passes)
            times.append(time.perf_counter() - start)
        covered = float(rasterizer.render(intrinsics, poses[0], passes=("coverage",)).coverage.mean())
    return {"upload_secs": upload, "coverage": covered, **_rates(times)}


def bench_pyrender(mesh: Any, width: int, height: int) -> dict[str, Any]:
    """pyrender's OffscreenRenderer, flat (unlit) colour + depth, same mesh and cameras."""
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    try:
        import pyrender
        import trimesh
        from PIL import Image
    except ImportError as error:
        return {"skipped": f"pyrender is not installed ({error})"}

    visual = trimesh.visual.TextureVisuals(uv=mesh.uv, image=Image.fromarray(mesh.texture))
    scene = pyrender.Scene(bg_color=[0.0, 0.0, 0.0, 0.0])
    scene.add(pyrender.Mesh.from_trimesh(trimesh.Trimesh(mesh.vertices, mesh.faces, visual=visual, process=False)))
    f = 0.9 * width
    camera = scene.add(pyrender.IntrinsicsCamera(f, f, width / 2, height / 2, znear=0.1, zfar=10.0), pose=np.eye(4))
    flip = np.diag([1.0, -1.0, -1.0, 1.0])  # pyrender's cameras have OpenGL axes: world_from_glcam
    renderer = pyrender.OffscreenRenderer(width, height)
    try:
        poses = camera_path(FRAMES)
        for pose in poses[:WARMUP]:
            scene.set_pose(camera, pose @ flip)
            renderer.render(scene, pyrender.RenderFlags.FLAT)
        times = []
        for pose in poses:
            start = time.perf_counter()
            scene.set_pose(camera, pose @ flip)
            renderer.render(scene, pyrender.RenderFlags.FLAT)
            times.append(time.perf_counter() - start)
        scene.set_pose(camera, poses[0] @ flip)
        covered = float((renderer.render(scene, pyrender.RenderFlags.FLAT)[1] > 0).mean())
    finally:
        renderer.delete()
    return {"coverage": covered, **_rates(times)}


def _rates(times: list[float]) -> dict[str, float]:
    """Frames per second from the median frame (robust to other work on a shared machine) and overall."""
    return {"fps": 1.0 / float(np.median(times)), "fps_overall": len(times) / float(np.sum(times)),
            "ms_per_frame": 1000.0 * float(np.median(times))}


def bench_video(width: int, height: int, count: int = 60) -> dict[str, Any]:
    from sceneforge.render import write_video

    rng = np.random.default_rng(1)
    base = (rng.random((height // 8, width // 8, 3)) * 255).astype(np.uint8)
    base = np.kron(base, np.ones((8, 8, 1), np.uint8))
    frames = [np.roll(base, 3 * i, axis=1) for i in range(count)]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        path = write_video(Path(tmp) / "bench.mp4", frames, fps=24)
        seconds = time.perf_counter() - start
        size = path.stat().st_size
    return {"fps": count / seconds, "ms_per_frame": 1000 * seconds / count, "megabytes": size / 1e6}


def run_case(case: str, args: argparse.Namespace) -> dict[str, Any]:
    """One case, named ``ours:<W>x<H>:<passes joined by +>[:distorted]``, ``pyrender:<W>x<H>`` or ``video:<W>x<H>``."""
    kind, size, *rest = case.split(":")
    width, height = (int(v) for v in size.split("x"))
    if kind == "video":
        return bench_video(width, height)
    mesh = displaced_grid()
    if kind == "pyrender":
        return bench_pyrender(mesh, width, height)
    passes = tuple(rest[0].split("+"))
    return bench_ours(mesh, width, height, passes, distorted=len(rest) > 1 and rest[1] == "distorted")


ALL = "rgb+depth+coverage+normals+object_id"
CASES = [
    "ours:640x480:rgb",
    "ours:640x480:rgb+depth",
    f"ours:640x480:{ALL}",
    "ours:640x480:rgb+depth:distorted",
    "ours:1280x720:rgb",
    "ours:1280x720:rgb+depth",
    f"ours:1280x720:{ALL}",
    "pyrender:640x480",
    "video:640x480",
]


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> Report:
    for result in results:
        kind, size, *rest = result["case"].split(":")
        passes = rest[0] if rest else ("flat+depth" if kind == "pyrender" else "—")
        result.update({"renderer": kind, "size": size, "passes": passes})
        if len(rest) > 1:
            result["passes"] += f" ({rest[1]})"
    table = print_table(
        f"Rasterizer: ~100k-triangle mesh, {TEXTURE_SIZE}² texture, {FRAMES} frames of a moving camera "
        f"({os.cpu_count()} CPUs, {platform.machine()})",
        [r for r in results if r["renderer"] != "video"],
        [("renderer", "renderer"), ("size", "size"), ("passes", "passes"), ("fps", "frames/s (median)"),
         ("fps_overall", "frames/s (all)"), ("ms_per_frame", "ms/frame"), ("coverage", "covered"), ("upload_secs", "upload s"), ("peak_memory_mb", "peak MB")],
    )
    video_table = print_table(
        "write_video: H.264 (libx264, crf 18, yuv420p), 60 frames",
        [r for r in results if r["renderer"] == "video"],
        [("size", "size"), ("fps", "frames/s"), ("ms_per_frame", "ms/frame"), ("megabytes", "MB"), ("peak_memory_mb", "peak MB")],
    )
    by_case = {r["case"]: r for r in results}
    target = by_case.get("ours:640x480:rgb+depth", {})
    verdict = {}
    if target.get("ok"):
        verdict["rgb_depth_640x480_ge_20_fps"] = target["fps"] >= TARGET_FPS
    return Report([table, video_table], targets=verdict)


# Each case in its own process: its own OpenGL context and its own peak memory.
BENCHMARK = Benchmark(
    name="render", module="tests.bench.bench_render", description=__doc__, cases=CASES, run_case=run_case, report=report,
    records_load=False,
)

if __name__ == "__main__":
    sys.exit(main(BENCHMARK))
