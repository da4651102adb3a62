"""What the viewer draws, as plain data: meshes cut down to a triangle budget, textures to a
size a browser takes in stride, point clouds subsampled, and the conversions to viser's frame.

Frames. SceneForge's world is right-handed, +Y up; viser's scene is right-handed too and
takes any up direction (``scene.set_up_direction("+y")``), so world coordinates go to viser
unchanged. viser's cameras and frusta use OpenCV axes (+X right, +Y down, +Z forward), as our
``world_from_cam`` does, so a camera's node pose is its ``world_from_cam`` as it is
(quaternion wxyz of the rotation, position of the centre).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

import numpy as np

from sceneforge.scenegraph import InputError, SceneMesh, check_array, quat_wxyz_from_rotation

__all__ = [
    "DisplayMesh",
    "display_mesh",
    "downsize_image",
    "glb_bytes",
    "node_pose",
    "subsample_points",
]

log = logging.getLogger(__name__)

_GREY = np.array([160, 160, 160], dtype=np.uint8)


@dataclass(frozen=True, eq=False)
class DisplayMesh:
    """One mesh as the viewer draws it.

    Attributes:
        vertices: V×3 float32, in the frame of the node that draws it (an object's local frame,
            or the world for the background), scene units.
        faces: F×3 int32 vertex indices, counter-clockwise seen from outside.
        uv: V×2 float32 texture coordinates (v up, as USD's ``st``), or None.
        texture: h×w×3 uint8 RGB (row 0 = top), or None.
        colors: V×3 uint8 sRGB vertex colours (used when there is no texture), or None.
        source_faces: the triangle count before decimation.
    """

    vertices: np.ndarray
    faces: np.ndarray
    uv: np.ndarray | None = None
    texture: np.ndarray | None = None
    colors: np.ndarray | None = None
    source_faces: int = 0

    def __post_init__(self) -> None:
        v = check_array(self.vertices, "vertices", shape=(None, 3))
        f = check_array(self.faces, "faces", shape=(None, 3))
        object.__setattr__(self, "vertices", np.ascontiguousarray(v, dtype=np.float32))
        object.__setattr__(self, "faces", np.ascontiguousarray(f, dtype=np.int32))
        if self.uv is not None:
            check_array(self.uv, "uv", shape=(len(v), 2))
        if self.texture is not None:
            check_array(self.texture, "texture", shape=(None, None, 3), dtype=np.uint8)
        if self.colors is not None:
            check_array(self.colors, "colors", shape=(len(v), 3), dtype=np.uint8)
        if not self.source_faces:
            object.__setattr__(self, "source_faces", len(f))

    @property
    def num_faces(self) -> int:
        """Triangles drawn."""
        return int(len(self.faces))


def display_mesh(
    scene_mesh: SceneMesh,
    *,
    frame_from_world: np.ndarray | None = None,
    triangle_budget: int,
    texture_size: int,
) -> DisplayMesh:
    """A :class:`SceneMesh` cut down for display.

    Args:
        scene_mesh: one mesh read from the stage (``read_scene_meshes``).
        frame_from_world: 4×4 taking world points to the drawing node's frame (an object's
            ``inv(world_from_local)``); None draws in the world.
        triangle_budget: most triangles to keep; a larger mesh is decimated (quadric edge
            collapse, ``fast_simplification``), its uvs and colours carried over from the nearest
            original vertex.
        texture_size: longest side of the texture, pixels; a larger one is downsized.

    Raises:
        InputError: a budget below 1 or a texture size below 8.
    """
    if triangle_budget < 1 or texture_size < 8:
        raise InputError(f"triangle_budget must be ≥ 1 and texture_size ≥ 8, got {triangle_budget} and {texture_size}")
    mesh = scene_mesh.mesh
    frame_from_local = scene_mesh.world_from_local if frame_from_world is None else frame_from_world @ scene_mesh.world_from_local
    vertices = mesh.vertices @ frame_from_local[:3, :3].T + frame_from_local[:3, 3]
    faces = np.asarray(mesh.faces)
    if np.linalg.det(frame_from_local[:3, :3]) < 0:
        faces = faces[:, ::-1]  # a mirroring transform turns the winding inside out
    uv = None if mesh.uv is None else np.asarray(mesh.uv, dtype=np.float32)
    texture = None if mesh.texture is None or uv is None else downsize_image(mesh.texture, texture_size)
    colors = None
    if texture is None:
        colors = np.broadcast_to(_GREY, (len(vertices), 3)).copy() if mesh.vertex_colors is None else np.asarray(mesh.vertex_colors)
        uv = None
    source_faces = len(faces)
    if len(faces) > triangle_budget:
        vertices, faces, uv, colors = _decimate(vertices, faces, uv, colors, triangle_budget)
    return DisplayMesh(vertices=vertices, faces=faces, uv=uv, texture=texture, colors=colors, source_faces=source_faces)


def _decimate(
    vertices: np.ndarray, faces: np.ndarray, uv: np.ndarray | None, colors: np.ndarray | None, budget: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    import fast_simplification
    from scipy.spatial import cKDTree

    reduction = 1.0 - budget / len(faces)
    # a little under the budget: the collapse stops near, not exactly at, the target
    points, kept = fast_simplification.simplify(
        np.ascontiguousarray(vertices, dtype=np.float32), np.ascontiguousarray(faces, dtype=np.int32), min(0.999, reduction * 1.02)
    )
    if len(kept) > budget:  # rare: a mesh that will not collapse further; drop the surplus evenly
        kept = kept[np.linspace(0, len(kept) - 1, budget).astype(np.int64)]
    nearest = cKDTree(vertices).query(points)[1]
    log.debug("decimated %d → %d triangles", len(faces), len(kept))
    return (
        points,
        kept,
        None if uv is None else uv[nearest],
        None if colors is None else colors[nearest],
    )


def downsize_image(image: np.ndarray, longest: int) -> np.ndarray:
    """``image`` (h×w×c uint8) resized (area filter) so that its longest side is at most ``longest`` pixels."""
    height, width = image.shape[:2]
    if max(height, width) <= longest:
        return np.ascontiguousarray(image)
    import cv2

    scale = longest / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(np.ascontiguousarray(image), size, interpolation=cv2.INTER_AREA)


def subsample_points(points: np.ndarray, colors: np.ndarray, most: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """At most ``most`` of the N points (N×3) and their colours (N×3 uint8), a fixed random subset."""
    if len(points) <= most:
        return points, colors
    keep = np.sort(np.random.default_rng(seed).choice(len(points), size=most, replace=False))
    return points[keep], colors[keep]


def glb_bytes(parts: tuple[DisplayMesh, ...] | list[DisplayMesh], *, opacity: float = 1.0) -> bytes:
    """A GLB holding ``parts`` (textured where they have a texture, else vertex colours), for
    viser's ``add_glb``; ``opacity`` < 1 blends the parts over what lies behind."""
    import trimesh
    from PIL import Image

    scene = trimesh.Scene()
    alpha = int(round(np.clip(opacity, 0.0, 1.0) * 255))
    for k, part in enumerate(parts):
        if part.texture is not None and part.uv is not None:
            material = trimesh.visual.material.PBRMaterial(
                baseColorTexture=Image.fromarray(part.texture), baseColorFactor=[255, 255, 255, alpha],
                metallicFactor=0.0, roughnessFactor=1.0, doubleSided=True, alphaMode="BLEND" if alpha < 255 else "OPAQUE",
            )
            visual = trimesh.visual.TextureVisuals(uv=part.uv, material=material)
        else:
            colors = part.colors if part.colors is not None else np.broadcast_to(_GREY, (len(part.vertices), 3))
            visual = trimesh.visual.ColorVisuals(vertex_colors=np.concatenate([colors, np.full((len(colors), 1), alpha, np.uint8)], axis=1))
        mesh = trimesh.Trimesh(vertices=part.vertices, faces=part.faces, visual=visual, process=False)
        scene.add_geometry(mesh, geom_name=f"part_{k}")
    with io.BytesIO() as buffer:
        scene.export(buffer, file_type="glb")
        return buffer.getvalue()


def node_pose(world_from_node: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """A 4×4 ``world_from_node`` as viser's node pose: (wxyz, position, scale xyz), or None
    when it is not a rotation times a per-axis scale (shear, mirroring), which only baking
    into the vertices can draw."""
    m = np.asarray(world_from_node, dtype=np.float64)
    linear = m[:3, :3]
    scale = np.linalg.norm(linear, axis=0)
    if np.any(scale < 1e-12):
        return None
    rotation = linear / scale
    if not np.allclose(rotation.T @ rotation, np.eye(3), atol=1e-6) or np.linalg.det(rotation) < 0:
        return None
    return quat_wxyz_from_rotation(rotation), m[:3, 3].copy(), scale
