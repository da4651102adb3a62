"""Binary glTF (GLB) export of the composed scene: every visible mesh, its texture, the plate camera.

glTF's conventions (glTF 2.0 specification, "Coordinate System and Units", "Cameras"):

- +Y up, right-handed, metres: node transforms are ``gltf_from_world @ world_from_local``
  with ``gltf_from_world = diag(m, m, m, 1) @ y_up_from_world``, ``m`` the stage's
  ``metersPerUnit``; vertices stay in each mesh's local frame, so a moved object keeps its
  own node with its transform (what Blender shows as the object's origin). A transform that
  a glTF node cannot hold (shear) is baked into the vertices instead.
- Meshes come from :func:`read_scene_meshes` (visible, active, purpose default/render),
  named by their prim path under ``/World``. A texture becomes a PBR material's
  ``baseColorTexture`` (sRGB PNG, as the spec wants), metallic 0, roughness 1, ``doubleSided``
  from the USD mesh; vertex colours become ``COLOR_0`` (converted to linear, as the spec
  wants). trimesh writes the buffers, the materials and flips ``v`` to glTF's top-left
  texture origin.
- The camera looks down -Z with +Y up, as USD's. One perspective camera node ``Plate``
  posed at the chosen frame (rigid: metres, no scale), with
  ``yfov = 2 atan(height / (2 fy))`` and ``aspectRatio = (width fy) / (height fx)`` so
  that ``x_ndc = 2 fx x / (width z)`` and ``y_ndc = 2 fy y / (height z)`` as our K gives for
  a centred principal point. glTF has no principal point offset or lens distortion: the
  exact ``K``, image size, radial terms and frame number are kept in the camera's
  ``extras.sceneforge``. trimesh's own camera export writes ``aspectRatio`` as a ratio of
  angles, so the camera is added to the glTF tree here instead.

Textures need Pillow (trimesh encodes PIL images into the GLB).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
from pxr import Usd, UsdGeom

from ..files import atomic_write
from ..types import DependencyError, InputError
from ..usd import DEFAULT_CAMERA_PATH, WORLD_PATH, SceneMesh, read_camera_track, read_scene_meshes, srgb_to_linear, world_from_glcam
from ._common import ExportFormat, open_scene, output_path, y_up_from_world

__all__ = ["GLB", "export_glb"]

log = logging.getLogger(__name__)

_TRS_TOL = 1e-9


def export_glb(
    scene: str | Path | Usd.Stage,
    out: str | Path,
    *,
    time: float | None = None,
    overwrite: bool = False,
    camera: str = DEFAULT_CAMERA_PATH,
) -> Path:
    """Write every visible mesh of the scene (edits applied) and its camera as a ``.glb``.

    Args:
        scene: a scene file or folder, or an open stage.
        out: the ``.glb`` file to write; its folder must exist.
        time: the source frame number (USD time code) at which meshes and camera are posed;
            one of the camera's frame numbers; None for its first frame.
        overwrite: replace an existing file.
        camera: prim path of the camera; a stage without a camera there (another tool's
            USD) exports its meshes only when ``camera`` is the default path.

    Returns:
        The path written.

    Raises:
        InputError: ``time`` is not one of the camera's frames, or there is nothing to export.
        OutputExistsError: ``out`` exists without ``overwrite``.
        SceneFileError: the scene cannot be read.
        DependencyError: a mesh has a texture and Pillow is not installed.
    """
    import trimesh
    from trimesh.exchange.gltf import export_glb as trimesh_export_glb

    path = output_path(out, overwrite=overwrite)
    stage = open_scene(scene)
    plate = _plate_camera(stage, camera, time)
    when = plate["frame"] if plate is not None else time
    meshes = read_scene_meshes(stage, time=when)
    if not meshes and plate is None:
        raise InputError(f"expected visible meshes or a camera to export, got neither in {stage.GetRootLayer().identifier}")

    meters_per_unit = float(UsdGeom.GetStageMetersPerUnit(stage))
    y_up = y_up_from_world(stage)
    gltf_from_world = np.diag([meters_per_unit] * 3 + [1.0]) @ y_up
    out_scene = trimesh.Scene()
    for scene_mesh in meshes:
        geometry, matrix = _trimesh_of(stage, scene_mesh, gltf_from_world @ scene_mesh.world_from_local)
        name = _node_name(scene_mesh.prim_path)
        out_scene.add_geometry(geometry, node_name=name, geom_name=name, transform=matrix)
    out_scene.metadata["sceneforge"] = {
        "frame": when,
        "sceneMetersPerUnit": meters_per_unit,
        "source": Path(stage.GetRootLayer().realPath).name if stage.GetRootLayer().realPath else "",
    }

    def add_camera(tree: dict[str, Any]) -> None:
        if plate is not None:
            _add_camera(tree, plate, y_up, meters_per_unit)

    data = trimesh_export_glb(out_scene, include_normals=True, tree_postprocessor=add_camera)
    atomic_write(path, data)
    log.info("GLB: %d meshes%s in %s", len(meshes), " and the camera" if plate is not None else "", path)
    return path


def _plate_camera(stage: Usd.Stage, camera: str, time: float | None) -> dict[str, Any] | None:
    """The camera at the chosen frame: ``frame``, ``world_from_cam``, ``intrinsics``, ``clipping``."""
    if time is not None and (
        isinstance(time, bool)
        or not isinstance(time, (int, float, np.integer, np.floating))
        or not math.isfinite(float(time))
    ):
        raise InputError(f"time must be a source frame number, got {time!r}")
    prim = stage.GetPrimAtPath(camera)
    if camera == DEFAULT_CAMERA_PATH and not (prim.IsValid() and prim.IsActive() and prim.IsA(UsdGeom.Camera)):
        log.info("no camera at %s; exporting the meshes only", camera)
        return None
    track = read_camera_track(stage, camera=camera)
    if time is None:
        index = 0
    else:
        matches = np.flatnonzero(track.frame_numbers == float(time))
        if matches.size == 0:
            raise InputError(
                f"time must be one of the camera's frames ({track.frame_numbers[0]}..{track.frame_numbers[-1]}, "
                f"{len(track)} frames), got {time}; pick a source frame number"
            )
        index = int(matches[0])
    frame = int(track.frame_numbers[index])
    near, far = UsdGeom.Camera(prim).GetClippingRangeAttr().Get(Usd.TimeCode(frame))
    return {
        "name": prim.GetName(),
        "prim": camera,
        "frame": frame,
        "world_from_cam": track.world_from_cam[index],
        "intrinsics": track.intrinsics[index],
        "clipping": (float(near), float(far)),
    }


def _node_name(prim_path: str) -> str:
    prefix = WORLD_PATH + "/"
    return prim_path[len(prefix) :] if prim_path.startswith(prefix) else prim_path.lstrip("/")


def _is_trs(matrix: np.ndarray) -> bool:
    """True when a 4×4 splits into translation, rotation and scale (what a glTF node may hold)."""
    linear = matrix[:3, :3]
    gram = linear.T @ linear
    scale = np.sqrt(np.diag(gram))
    off_diagonal = gram - np.diag(np.diag(gram))
    return bool(
        np.allclose(matrix[3], [0.0, 0.0, 0.0, 1.0], atol=_TRS_TOL)
        and np.all(scale > 0)
        and np.all(np.abs(off_diagonal) <= _TRS_TOL * np.outer(scale, scale))
    )


def _trimesh_of(stage: Usd.Stage, scene_mesh: SceneMesh, gltf_from_local: np.ndarray) -> tuple[Any, np.ndarray]:
    """(trimesh.Trimesh with its visual, node matrix) of one scene mesh."""
    import trimesh

    mesh = scene_mesh.mesh
    vertices, normals, matrix = mesh.vertices, mesh.normals, gltf_from_local
    if not _is_trs(gltf_from_local):
        log.debug("%s: transform has shear; baked into the vertices", scene_mesh.prim_path)
        vertices = vertices @ gltf_from_local[:3, :3].T + gltf_from_local[:3, 3]
        if normals is not None:
            normal_from_local = np.linalg.inv(gltf_from_local[:3, :3]).T
            normals = normals.astype(np.float64) @ normal_from_local.T
            normals = (normals / np.linalg.norm(normals, axis=1, keepdims=True)).astype(np.float32)
        matrix = np.eye(4)
    geometry = trimesh.Trimesh(vertices=vertices, faces=mesh.faces, vertex_normals=normals, process=False)
    double_sided = bool(UsdGeom.Mesh(stage.GetPrimAtPath(scene_mesh.prim_path)).GetDoubleSidedAttr().Get())
    if mesh.texture is not None and mesh.uv is not None:
        try:
            from PIL import Image
        except ImportError as exc:
            raise DependencyError("exporting textures to GLB needs Pillow, which is not installed; pip install pillow") from exc
        material = trimesh.visual.material.PBRMaterial(
            name=scene_mesh.name,
            baseColorTexture=Image.fromarray(mesh.texture, mode="RGB"),
            metallicFactor=0.0,
            roughnessFactor=1.0,
            doubleSided=double_sided,
        )
        geometry.visual = trimesh.visual.TextureVisuals(uv=mesh.uv, material=material)
    elif mesh.vertex_colors is not None:
        linear = np.rint(srgb_to_linear(mesh.vertex_colors.astype(np.float64) / 255.0) * 255.0).astype(np.uint8)
        rgba = np.concatenate([linear, np.full((len(linear), 1), 255, dtype=np.uint8)], axis=1)
        geometry.visual = trimesh.visual.ColorVisuals(mesh=geometry, vertex_colors=rgba)
    return geometry, matrix


def _add_camera(tree: dict[str, Any], plate: dict[str, Any], y_up_from_world: np.ndarray, meters_per_unit: float) -> None:
    """Append the perspective camera and its node to a glTF tree (in place)."""
    intrinsics = plate["intrinsics"]
    near, far = plate["clipping"]
    # A camera node stays rigid: the rotation turns, only the position is scaled to metres.
    gltf_from_glcam = world_from_glcam(y_up_from_world @ plate["world_from_cam"])
    gltf_from_glcam[:3, 3] *= meters_per_unit
    perspective = {
        "aspectRatio": intrinsics.width * intrinsics.fy / (intrinsics.height * intrinsics.fx),
        "yfov": 2.0 * math.atan2(intrinsics.height / 2.0, intrinsics.fy),
        "znear": near * meters_per_unit,
        "zfar": far * meters_per_unit,
    }
    cameras = tree.setdefault("cameras", [])
    cameras.append(
        {
            "name": plate["name"],
            "type": "perspective",
            "perspective": perspective,
            "extras": {
                "sceneforge": {
                    "prim": plate["prim"],
                    "frame": plate["frame"],
                    "K": intrinsics.K.tolist(),
                    "width": intrinsics.width,
                    "height": intrinsics.height,
                    "radial": intrinsics.radial.tolist(),
                }
            },
        }
    )
    nodes = tree.setdefault("nodes", [])
    # glTF matrices are column-major.
    nodes.append({"name": plate["name"], "camera": len(cameras) - 1, "matrix": gltf_from_glcam.T.reshape(-1).tolist()})
    tree["scenes"][0].setdefault("nodes", []).append(len(nodes) - 1)


GLB = ExportFormat("glb", export_glb, frozenset({"time", "camera"}))
