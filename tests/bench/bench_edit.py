"""Scene-editing benchmark: open a 300-frame scene, apply 100 edits, save — time and file sizes.

The scene is made here (no real data needed) at the size a reconstruction writes: a
300-frame plate camera (1920×1080, frames 1001–1300 at 24 fps, a hand-held arc) with 20 000
sparse points, a background mesh of ~200 000 faces with a 2048² texture, and ten objects
authored into ``reconstruction.usda`` as ``/World/Objects/<name>`` (Xform + mesh of ~10 000
faces, seven with a 512² texture, three vertex-coloured; two of them animated over all 300
frames) the way ``tests/scenegraph/edit/test_scene.py`` builds objects.

The 100 edits (one fixed, seeded list): moves, rotations, scales, colour changes, keyed
transforms at single frames, duplicates, renames, deletes, hide/show, two camera moves
(orbit, zoom: 300 samples each), one small textured GLB insert and one light.

- ``build``: writes the scene once (its time, sizes and validation are the baseline); the
  other cases work on copies of it.
- ``python-api``: ``Scene.open``, the 100 edits one call each through the handles (timed
  one by one, the ``scene.objects[name]`` lookup included), undo of the last edit, undo
  and redo of all 100, ``save``, ``validate_stage`` of the saved scene.
- ``apply-edits``: the same edits as one :func:`apply_edits` list (one undoable step) and
  ``save``. Edit lists have no keyed-transform op, so the keyed transforms become a plain
  ``move`` by the same offset there.
- ``cli``: ``sceneforge edit`` in a subprocess for a handful of single edits (each call opens,
  edits and saves), ``sceneforge edit --apply`` of the whole list, and the two baselines
  ``sceneforge --version`` (interpreter and imports) and ``sceneforge edit SHOT list``
  (open, no save); wall time and peak memory of each call.

Each case runs in its own process so its peak memory is its own. The machine's load
average is recorded with each case: the CPU is shared, and timings taken beside another
job are slower.

    python -m tests.bench.bench_edit --out bench_results
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from tests.bench._harness import Benchmark, Report, main, measure_process, print_table, work_folder

CASES = ["build", "python-api", "apply-edits", "cli"]
NUM_FRAMES = 300
FIRST_FRAME = 1001
FPS = 24.0
WIDTH, HEIGHT = 1920, 1080
NUM_POINTS = 20_000
BACKGROUND_GRID = 317  # 316² quads × 2 = 199 712 faces
BACKGROUND_TEXTURE = 2048
OBJECT_GRID = 71  # 70² × 2 = 9 800 faces per object
OBJECT_TEXTURE = 512
ANIMATED_OBJECTS = ("cart", "ball")
VERTEX_COLOURED_OBJECTS = ("lamp", "vase", "ball")
OBJECTS = {  # name: (ground position x, z; width, height in metres)
    "chair": (0.8, 0.3, 0.5, 0.9), "table": (-0.4, -0.2, 1.2, 0.75), "lamp": (-1.6, -0.9, 0.3, 1.6),
    "sofa": (0.2, -1.8, 2.0, 0.85), "plant": (1.7, -1.1, 0.5, 1.1), "shelf": (-2.2, -2.0, 0.9, 1.9),
    "tv": (0.9, -2.4, 1.2, 0.7), "vase": (-0.3, 0.6, 0.2, 0.35), "cart": (-1.5, 0.8, 0.6, 0.8),
    "ball": (1.2, 1.1, 0.25, 0.25),
}
EDIT_COUNTS = {"move": 26, "rotate": 17, "scale": 10, "color": 10, "key": 10, "duplicate": 8, "rename": 5, "delete": 6, "show": 4}
SPECIAL_EDITS_AT = {20: "insert", 35: "orbit", 50: "light", 80: "zoom"}  # position in the list of 100
MIN_ALIVE = 6
CLI_EDITS = [
    ("move", ["move", "chair", "--by", "0.1,0,0"]),
    ("rotate", ["rotate", "table", "--y-deg", "30"]),
    ("color", ["color", "lamp", "--rgb", "0.8,0.2,0.2"]),
    ("duplicate", ["duplicate", "sofa", "--as", "sofa_copy"]),
    ("delete", ["delete", "vase"]),
    ("camera orbit", ["camera", "orbit", "--deg", "10"]),
    ("light", ["light", "key", "--kind", "distant", "--intensity", "2"]),
]


# -- the scene -------------------------------------------------------------------------------


def _look_at(centre: np.ndarray, target: np.ndarray) -> np.ndarray:
    """world_from_cam (OpenCV axes) at ``centre`` looking at ``target``, world +Y up."""
    forward = (target - centre) / np.linalg.norm(target - centre)
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    pose = np.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, down, forward, centre
    return pose


def _ground_height(x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """A floor that undulates by a centimetre or two, as a fused background does."""
    return 0.01 * np.sin(1.3 * x) * np.cos(0.9 * z) + 0.005 * np.sin(4.1 * x + 2.3 * z)


def _texture(size: int, rng: np.random.Generator) -> np.ndarray:
    """size×size×3 uint8: smooth colour regions with pixel noise, compressing about as a photo does."""
    coarse = rng.integers(40, 220, (size // 64 + 1, size // 64 + 1, 3)).astype(np.float32)
    smooth = np.repeat(np.repeat(coarse, 64, axis=0), 64, axis=1)[:size, :size]
    ramp = np.linspace(-25.0, 25.0, size, dtype=np.float32)
    noisy = smooth + ramp[None, :, None] + rng.normal(0.0, 6.0, (size, size, 3)).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(n² × 2 grid coordinates in 0..1, 2(n-1)² × 3 int32 faces) of an n×n vertex grid."""
    s = np.linspace(0.0, 1.0, n)
    u, v = np.meshgrid(s, s, indexing="xy")
    index = np.arange(n * n).reshape(n, n)
    a, b, c, d = index[:-1, :-1], index[:-1, 1:], index[1:, :-1], index[1:, 1:]
    faces = np.concatenate([np.stack([a, c, b], -1).reshape(-1, 3), np.stack([b, c, d], -1).reshape(-1, 3)])
    return np.column_stack([u.ravel(), v.ravel()]), faces.astype(np.int32)


def make_track() -> Any:
    from sceneforge.scenegraph import CameraTrack, FrameStatus, Intrinsics, SparsePoints

    rng = np.random.default_rng(0)
    t = np.linspace(0.0, 1.0, NUM_FRAMES)
    angle = np.radians(-35.0 + 70.0 * t)
    radius = 4.5 - 0.6 * t
    centres = np.column_stack([radius * np.sin(angle), 1.6 + 0.03 * np.sin(2 * np.pi * 3.1 * t), radius * np.cos(angle)])
    centres += rng.normal(0.0, 0.004, centres.shape)  # hand-held shake
    targets = np.column_stack([0.3 * np.sin(2 * np.pi * t), np.full(NUM_FRAMES, 0.6), -0.8 + 0.2 * t])
    poses = np.stack([_look_at(c, g) for c, g in zip(centres, targets)])
    k = np.array([[1450.0, 0.0, 962.3], [0.0, 1450.0, 538.1], [0.0, 0.0, 1.0]])
    intrinsics = Intrinsics(K=k, width=WIDTH, height=HEIGHT, radial=np.array([-0.02, 0.004]))
    xz = rng.uniform([-6.0, -6.0], [6.0, 4.0], (NUM_POINTS, 2))
    points = np.column_stack([xz[:, 0], _ground_height(xz[:, 0], xz[:, 1]), xz[:, 1]])
    on_objects = rng.random(NUM_POINTS) < 0.3  # some points sit on the objects, above the floor
    points[on_objects, 1] += rng.uniform(0.0, 1.5, int(on_objects.sum()))
    status = np.where(np.arange(NUM_FRAMES) % 10 == 0, FrameStatus.SOLVED, FrameStatus.LOCALIZED).astype(np.int8)
    return CameraTrack(
        intrinsics=(intrinsics,) * NUM_FRAMES, world_from_cam=poses,
        frame_numbers=np.arange(FIRST_FRAME, FIRST_FRAME + NUM_FRAMES, dtype=np.int64), fps=FPS, status=status,
        points=SparsePoints(points, rng.integers(0, 256, (NUM_POINTS, 3)).astype(np.uint8), rng.uniform(0.2, 1.5, NUM_POINTS)),
    )


def make_background() -> Any:
    from sceneforge.scenegraph import TexturedMesh

    uv, faces = _grid(BACKGROUND_GRID)
    x, z = -8.0 + 16.0 * uv[:, 0], 8.0 - 16.0 * uv[:, 1]
    vertices = np.column_stack([x, _ground_height(x, z), z])
    return TexturedMesh(
        vertices=vertices, faces=faces, uv=uv.astype(np.float32), texture=_texture(BACKGROUND_TEXTURE, np.random.default_rng(1))
    )


def make_object_mesh(name: str, width: float, height: float, seed: int) -> Any:
    """A 2.5D relief (what lifting one object gives): a bumpy sheet standing on its local y = 0."""
    from sceneforge.scenegraph import TexturedMesh

    rng = np.random.default_rng(seed)
    uv, faces = _grid(OBJECT_GRID)
    x, y = (uv[:, 0] - 0.5) * width, uv[:, 1] * height
    z = 0.15 * width * np.sin(np.pi * uv[:, 0]) * (0.8 + 0.2 * np.cos(3.0 * uv[:, 1])) + rng.normal(0.0, 0.002, len(uv))
    vertices = np.column_stack([x, y, z])
    if name in VERTEX_COLOURED_OBJECTS:
        colours = np.clip(rng.normal(128, 40, (len(uv), 3)), 0, 255).astype(np.uint8)
        return TexturedMesh(vertices=vertices, faces=faces, vertex_colors=colours)
    return TexturedMesh(vertices=vertices, faces=faces, uv=uv.astype(np.float32), texture=_texture(OBJECT_TEXTURE, rng))


def write_glb(path: Path) -> None:
    """A small textured asset (a 0.3 m box with a 256² texture) as GLB."""
    import trimesh
    from PIL import Image

    box = trimesh.creation.box(extents=(0.3, 0.3, 0.3))
    box = trimesh.Trimesh(box.vertices[box.faces].reshape(-1, 3), np.arange(len(box.faces) * 3).reshape(-1, 3), process=False)
    uv = (box.vertices[:, [0, 2]] - box.vertices[:, [0, 2]].min(axis=0)) / 0.3
    image = _texture(256, np.random.default_rng(7))
    material = trimesh.visual.material.PBRMaterial(baseColorTexture=Image.fromarray(image), baseColorFactor=[255, 255, 255, 255])
    box.visual = trimesh.visual.TextureVisuals(uv=uv, material=material)
    box.export(path)


def build_scene(folder: Path) -> dict[str, Any]:
    """Write the benchmark scene into ``folder``; returns how long each part took."""
    from pxr import Gf, Kind, Usd, UsdGeom

    from sceneforge.scenegraph import author_mesh, write_scene

    start = time.perf_counter()
    track, background = make_track(), make_background()
    make_secs = time.perf_counter() - start
    start = time.perf_counter()
    write_scene(folder, track, background=background, source="synthetic benchmark scene")
    write_secs = time.perf_counter() - start
    start = time.perf_counter()
    stage = Usd.Stage.Open(str(folder / "reconstruction.usda"))
    Usd.ModelAPI(UsdGeom.Xform.Define(stage, "/World/Objects").GetPrim()).SetKind(Kind.Tokens.group)
    times = track.frame_numbers.astype(np.float64)
    for seed, (name, (x, z, width, height)) in enumerate(OBJECTS.items()):
        xform = UsdGeom.Xform.Define(stage, f"/World/Objects/{name}")
        Usd.ModelAPI(xform.GetPrim()).SetKind(Kind.Tokens.component)
        op = xform.AddTransformOp()
        if name in ANIMATED_OBJECTS:  # a tracked moving object: one anchor per frame
            for i, frame in enumerate(times):
                s = i / (NUM_FRAMES - 1)
                lift = 0.3 * abs(np.sin(6 * np.pi * s)) if name == "ball" else 0.0
                op.Set(Gf.Matrix4d(1).SetTranslate(Gf.Vec3d(x + 1.5 * s, lift, z - 0.5 * s)), Usd.TimeCode(frame))
        else:
            rotation = Gf.Matrix4d(1).SetRotate(Gf.Rotation(Gf.Vec3d(0, 1, 0), 25.0 * seed))
            op.Set(rotation * Gf.Matrix4d(1).SetTranslate(Gf.Vec3d(x, 0.0, z)))
        author_mesh(stage, f"/World/Objects/{name}/mesh", make_object_mesh(name, width, height, seed), folder=folder, name=name)
    stage.GetRootLayer().Save()
    objects_secs = time.perf_counter() - start
    return {"make_arrays_secs": make_secs, "write_scene_secs": write_secs, "write_objects_secs": objects_secs}


# -- the 100 edits ---------------------------------------------------------------------------


def make_edits(asset: Path) -> list[dict[str, Any]]:
    """The 100 edits, as edit-list dicts; ``key`` (a transform keyed at one frame, by an offset)
    is this benchmark's own op: only the Python API can key a transform."""
    rng = np.random.default_rng(0)
    kinds = [kind for kind, count in EDIT_COUNTS.items() for _ in range(count)]
    rng.shuffle(kinds)
    alive, hidden = list(OBJECTS), []
    taken = set(alive)
    edits: list[dict[str, Any]] = []

    def pick() -> str:
        return str(rng.choice(alive))

    def fresh(base: str) -> str:
        k = 1
        while f"{base}{k}" in taken:
            k += 1
        taken.add(f"{base}{k}")
        return f"{base}{k}"

    while len(edits) < 100:
        special = SPECIAL_EDITS_AT.get(len(edits))
        if special == "insert":
            edits.append({"op": "insert", "asset": str(asset), "name": "crate", "on": "ground", "position": [0.4, 0.9]})
            alive.append("crate")
            taken.add("crate")
            continue
        if special == "light":
            edits.append({"op": "light", "name": "key", "kind": "distant", "intensity": 2.0, "color": [1.0, 0.95, 0.9]})
            continue
        if special == "orbit":
            edits.append({"op": "camera", "move": "orbit", "degrees": 12.0})
            continue
        if special == "zoom":
            edits.append({"op": "camera", "move": "zoom", "factor": 1.3, "ease": "smooth"})
            continue
        kind = kinds.pop()
        if kind == "delete" and len(alive) <= MIN_ALIVE:
            kind = "move"
        if kind == "move":
            edits.append({"op": "move", "object": pick(), "by": [round(float(v), 4) for v in rng.uniform(-0.3, 0.3, 3) * [1, 0, 1]]})
        elif kind == "rotate":
            x_deg, z_deg = (float(rng.uniform(-10, 10)), 0.0) if rng.random() < 0.3 else (0.0, 0.0)
            edits.append({"op": "rotate", "object": pick(), "x_deg": round(x_deg, 3), "y_deg": round(float(rng.uniform(-45, 45)), 3), "z_deg": z_deg})
        elif kind == "scale":
            edits.append({"op": "scale", "object": pick(), "by": round(float(rng.uniform(0.8, 1.25)), 4)})
        elif kind == "color":
            edits.append({"op": "color", "object": pick(), "rgb": [round(float(v), 3) for v in rng.uniform(0.1, 0.9, 3)]})
        elif kind == "key":
            frame = int(rng.integers(FIRST_FRAME, FIRST_FRAME + NUM_FRAMES))
            edits.append({"op": "key", "object": pick(), "frame": frame, "by": [round(float(v), 4) for v in rng.uniform(-0.2, 0.2, 3) * [1, 0, 1]]})
        elif kind == "duplicate":
            name = pick()
            new = fresh(f"{name}_copy")
            edits.append({"op": "duplicate", "object": name, "as": new})
            alive.append(new)
        elif kind == "rename":
            name = pick()
            new = fresh(f"{name}_v")
            edits.append({"op": "rename", "object": name, "to": new})
            alive[alive.index(name)] = new
            hidden = [new if h == name else h for h in hidden]
        elif kind == "delete":
            name = pick()
            edits.append({"op": "delete", "object": name})
            alive.remove(name)
            hidden = [h for h in hidden if h != name]
        elif kind == "show":
            visible = [n for n in alive if n not in hidden]
            if hidden and rng.random() < 0.5:
                name = hidden.pop()
                edits.append({"op": "show", "object": name, "visible": True})
            else:
                name = str(rng.choice(visible))
                hidden.append(name)
                edits.append({"op": "show", "object": name, "visible": False})
    return edits


def as_edit_list(edits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``edits`` in the form :func:`apply_edits` takes: a keyed transform becomes a move by its offset."""
    return [{"op": "move", "object": e["object"], "by": e["by"]} if e["op"] == "key" else dict(e) for e in edits]


def api_edit(scene: Any, edit: dict[str, Any]) -> None:
    """Make one edit through the Python API, as a user would write it."""
    op = edit["op"]
    if op == "insert":
        scene.insert(edit["asset"], name=edit["name"], on=edit["on"], position=edit["position"])
    elif op == "light":
        scene.add_light(edit["name"], edit["kind"], intensity=edit["intensity"], color=edit["color"])
    elif op == "camera":
        options = {k: v for k, v in edit.items() if k not in ("op", "move")}
        getattr(scene.camera, edit["move"])(**options)
    else:
        handle = scene.objects[edit["object"]]
        if op == "move":
            handle.translate(edit["by"])
        elif op == "rotate":
            handle.rotate(x_deg=edit["x_deg"], y_deg=edit["y_deg"], z_deg=edit["z_deg"])
        elif op == "scale":
            handle.scale(edit["by"])
        elif op == "color":
            handle.base_color = edit["rgb"]
        elif op == "key":
            moved = handle.get_world_from_local(edit["frame"])
            moved[:3, 3] += edit["by"]
            handle.set_world_from_local(moved, time=edit["frame"])
        elif op == "duplicate":
            handle.duplicate(edit["as"])
        elif op == "rename":
            handle.rename(edit["to"])
        elif op == "delete":
            handle.remove()
        elif op == "show":
            handle.visible = edit["visible"]
        else:
            raise ValueError(f"unknown benchmark op {op!r}")


# -- measuring -------------------------------------------------------------------------------


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


def file_sizes(folder: Path) -> dict[str, Any]:
    textures = [p for p in (folder / "textures").glob("*") if p.is_file()]
    return {
        "reconstruction_usda_mb": (folder / "reconstruction.usda").stat().st_size / 2**20,
        "edits_usda_kb": (folder / "edits.usda").stat().st_size / 2**10,
        "scene_usda_kb": (folder / "scene.usda").stat().st_size / 2**10,
        "textures_mb": sum(p.stat().st_size for p in textures) / 2**20,
        "texture_files": len(textures),
    }


def _digest(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()


def _validation(path: Path) -> dict[str, Any]:
    from sceneforge.scenegraph import validate_stage

    start = time.perf_counter()
    result = validate_stage(path)
    return {
        "validate_secs": time.perf_counter() - start,
        "validation_errors": len(result.errors),
        "validation_warnings": len(result.warnings),
        "validation_error_lines": list(result.errors[:5]),
        "validation_warning_lines": list(result.warnings[:5]),
    }


def _stats(prefix: str, seconds: list[float]) -> dict[str, float]:
    values = np.asarray(seconds) * 1000.0
    return {
        f"{prefix}_mean_ms": float(values.mean()), f"{prefix}_median_ms": float(np.median(values)),
        f"{prefix}_p95_ms": float(np.percentile(values, 95)), f"{prefix}_max_ms": float(values.max()),
    }


def _copy_scene(built: Path, work: Path, case: str) -> Path:
    folder = work / case / "shot"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(built / "shot", folder)
    return folder


def run_build(work: Path) -> dict[str, Any]:
    folder = work / "build" / "shot"
    if folder.parent.exists():
        shutil.rmtree(folder.parent)
    folder.mkdir(parents=True)
    start = time.perf_counter()
    result = build_scene(folder)
    result["build_secs"] = time.perf_counter() - start
    write_glb(work / "build" / "crate.glb")
    result["glb_kb"] = (work / "build" / "crate.glb").stat().st_size / 2**10
    edits = make_edits(work / "build" / "crate.glb")
    (work / "build" / "edits.json").write_text(json.dumps(as_edit_list(edits), indent=1))
    result["edit_kinds"] = {op: sum(e["op"] == op for e in edits) for op in sorted({e["op"] for e in edits})}
    result.update({f"before_{k}": v for k, v in file_sizes(folder).items()})
    result.update(_validation(folder / "scene.usda"))
    return result


def run_python_api(built: Path, work: Path) -> dict[str, Any]:
    from sceneforge.scenegraph import Scene

    folder = _copy_scene(built, work, "python-api")
    edits = make_edits(built / "crate.glb")
    recon_digest, scene_digest = _digest(folder / "reconstruction.usda"), _digest(folder / "scene.usda")
    out: dict[str, Any] = {f"before_{k}": v for k, v in file_sizes(folder).items()}

    start = time.perf_counter()
    scene = Scene.open(folder)
    out["open_secs"] = time.perf_counter() - start
    out["peak_mb_after_open"] = _peak_mb()

    per_edit, by_kind = [], {}
    for edit in edits:
        if edit["op"] == "insert":
            # The first insert imports trimesh (and the scipy it pulls in): part of its time.
            out["trimesh_loaded_before_insert"] = "trimesh" in sys.modules
        start = time.perf_counter()
        api_edit(scene, edit)
        seconds = time.perf_counter() - start
        per_edit.append(seconds)
        kind = f"camera {edit['move']}" if edit["op"] == "camera" else edit["op"]
        by_kind.setdefault(kind, []).append(seconds)
    out["edits"] = len(per_edit)
    out["history_steps"] = len(scene.history)
    out["edits_secs"] = float(sum(per_edit))
    out.update(_stats("edit", per_edit))
    out["slowest_edits"] = [
        {"index": int(i), "ms": 1000.0 * per_edit[i], "edit": json.dumps({k: v for k, v in edits[i].items() if k != "asset"})}
        for i in np.argsort(per_edit)[::-1][:6]
    ]
    out["by_kind"] = [
        {"kind": kind, "count": len(v), "mean_ms": 1000 * float(np.mean(v)), "max_ms": 1000 * float(np.max(v))}
        for kind, v in sorted(by_kind.items(), key=lambda item: -float(np.mean(item[1])))
    ]
    out["peak_mb_after_edits"] = _peak_mb()

    final = scene.stage.GetEditTarget().GetLayer().ExportToString()
    start = time.perf_counter()
    scene.undo()
    out["undo_ms"] = 1000.0 * (time.perf_counter() - start)
    scene.redo()
    undo, redo = [], []
    for _ in range(len(scene.history)):
        start = time.perf_counter()
        scene.undo()
        undo.append(time.perf_counter() - start)
    for _ in range(len(scene.redo_history)):
        start = time.perf_counter()
        scene.redo()
        redo.append(time.perf_counter() - start)
    out.update(_stats("undo_all", undo))
    out.update(_stats("redo_all", redo))
    out["undo_redo_exact"] = scene.stage.GetEditTarget().GetLayer().ExportToString() == final

    start = time.perf_counter()
    out["diff_entries"] = len(scene.diff())
    out["diff_secs"] = time.perf_counter() - start
    start = time.perf_counter()
    scene.save()
    out["save_secs"] = time.perf_counter() - start
    out["total_secs"] = out["open_secs"] + out["edits_secs"] + out["save_secs"]
    out["peak_mb_after_save"] = _peak_mb()
    out["objects_after"] = len(scene.objects)
    out.update({f"after_{k}": v for k, v in file_sizes(folder).items()})
    out["reconstruction_unchanged"] = _digest(folder / "reconstruction.usda") == recon_digest
    out["scene_usda_unchanged"] = _digest(folder / "scene.usda") == scene_digest
    out.update(_validation(folder / "scene.usda"))
    return out


def run_apply_edits(built: Path, work: Path) -> dict[str, Any]:
    from sceneforge.scenegraph import Scene, apply_edits, read_edit_list

    folder = _copy_scene(built, work, "apply-edits")
    edits = read_edit_list(built / "edits.json")
    recon_digest = _digest(folder / "reconstruction.usda")
    out: dict[str, Any] = {f"before_{k}": v for k, v in file_sizes(folder).items()}
    start = time.perf_counter()
    scene = Scene.open(folder)
    out["open_secs"] = time.perf_counter() - start
    out["peak_mb_after_open"] = _peak_mb()
    start = time.perf_counter()
    done = apply_edits(scene, edits, base_dir=built)
    out["edits_secs"] = time.perf_counter() - start
    out["edits"] = len(done)
    out["edit_mean_ms"] = 1000.0 * out["edits_secs"] / len(done)
    out["history_steps"] = len(scene.history)
    out["peak_mb_after_edits"] = _peak_mb()
    final = scene.stage.GetEditTarget().GetLayer().ExportToString()
    start = time.perf_counter()
    scene.undo()
    out["undo_ms"] = 1000.0 * (time.perf_counter() - start)
    start = time.perf_counter()
    scene.redo()
    out["redo_ms"] = 1000.0 * (time.perf_counter() - start)
    out["undo_redo_exact"] = scene.stage.GetEditTarget().GetLayer().ExportToString() == final
    start = time.perf_counter()
    scene.save()
    out["save_secs"] = time.perf_counter() - start
    out["total_secs"] = out["open_secs"] + out["edits_secs"] + out["save_secs"]
    out["peak_mb_after_save"] = _peak_mb()
    out["objects_after"] = len(scene.objects)
    out.update({f"after_{k}": v for k, v in file_sizes(folder).items()})
    out["reconstruction_unchanged"] = _digest(folder / "reconstruction.usda") == recon_digest
    out.update(_validation(folder / "scene.usda"))
    return out


def _sceneforge_command() -> list[str]:
    script = Path(sys.executable).with_name("sceneforge")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "sceneforge.engine.cli"]


def _timed_call(command: list[str]) -> dict[str, Any]:
    """Run ``command``; its wall time, peak memory and exit code (and stderr's tail on failure)."""
    with tempfile.TemporaryFile() as stderr:
        code, wall, peak_mb = measure_process(command, stdout=subprocess.DEVNULL, stderr=stderr)
        stderr.seek(0)
        tail = stderr.read().decode(errors="replace").strip().splitlines()[-3:]
    out = {"secs": wall, "peak_mb": peak_mb, "rc": code}
    if code != 0:
        out["stderr"] = tail
    return out


def run_cli(built: Path, work: Path) -> dict[str, Any]:
    folder = _copy_scene(built, work, "cli")
    before = {f"before_{k}": v for k, v in file_sizes(folder).items()}
    sceneforge = _sceneforge_command()
    calls = [{"call": "sceneforge --version", **_timed_call([*sceneforge, "--version"])}]
    calls.append({"call": "edit SHOT list (open, no save)", **_timed_call([*sceneforge, "edit", str(folder), "list"])})
    for label, arguments in CLI_EDITS:
        calls.append({"call": f"edit SHOT {label}", **_timed_call([*sceneforge, "-q", "edit", str(folder), *arguments])})
    after = {f"after_{k}": v for k, v in file_sizes(folder).items()}
    apply_folder = _copy_scene(built, work, "cli-apply")
    calls.append({"call": "edit SHOT --apply edits.json (100)", **_timed_call(
        [*sceneforge, "-q", "edit", str(apply_folder), "--apply", str(built / "edits.json")]
    )})
    singles = [c for c in calls if c["call"].startswith("edit SHOT") and "list" not in c["call"] and "--apply" not in c["call"]]
    out: dict[str, Any] = {
        "calls": calls,
        "cli_calls_ok": all(c["rc"] == 0 for c in calls),
        "cli_edit_mean_secs": float(np.mean([c["secs"] for c in singles])),
        "cli_edit_max_secs": float(np.max([c["secs"] for c in singles])),
        "cli_startup_secs": calls[0]["secs"],
        "cli_open_list_secs": calls[1]["secs"],
        "cli_apply_100_secs": calls[-1]["secs"],
        "edits": len(singles),
        "cli_peak_mb": max(c["peak_mb"] for c in calls),
        **before,
        **after,
    }
    out.update(_validation(folder / "scene.usda"))
    return out


def run_case(case: str, args: argparse.Namespace) -> dict[str, Any]:
    work = args.work
    built = work / "build"
    if case == "build":
        return run_build(work)
    if case == "python-api":
        return run_python_api(built, work)
    if case == "apply-edits":
        return run_apply_edits(built, work)
    if case == "cli":
        return run_cli(built, work)
    raise ValueError(f"unknown case {case!r}; expected one of {', '.join(CASES)}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--work", type=Path, default=None, help="folder for the scenes (default: a temporary folder, removed after)")


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> Report:
    by_case = {r["case"]: r for r in results}
    tables = [
        print_table(
            f"Open a {NUM_FRAMES}-frame scene, apply 100 edits, save (seconds; per-edit in ms; undo = the last edit; "
            "apply-edits is one step, its per-edit time is the list's time / 100)",
            [r for r in results if r["case"] in ("python-api", "apply-edits")],
            [("case", "case"), ("open_secs", "open s"), ("edits", "edits"), ("edits_secs", "edits s"),
             ("edit_mean_ms", "edit mean ms"), ("edit_median_ms", "median ms"), ("edit_max_ms", "edit max ms"),
             ("undo_ms", "undo ms"), ("undo_all_mean_ms", "undo mean ms"), ("redo_all_mean_ms", "redo mean ms"),
             ("save_secs", "save s"), ("total_secs", "total s"), ("validation_errors", "validate errors"),
             ("peak_memory_mb", "peak MB"), ("load_average_at_start", "load"), ("error", "error")],
        ),
        print_table(
            "File sizes before → after (reconstruction.usda MB, edits.usda / scene.usda KB, textures/ MB and files; "
            "cli: after its single edits)",
            [r for r in results if r.get("ok")],
            [("case", "case"), ("before_reconstruction_usda_mb", "recon MB"), ("after_reconstruction_usda_mb", "→ MB"),
             ("before_edits_usda_kb", "edits KB"), ("after_edits_usda_kb", "→ KB"),
             ("before_scene_usda_kb", "scene KB"), ("after_scene_usda_kb", "→ KB"),
             ("before_textures_mb", "textures MB"), ("after_textures_mb", "→ MB"),
             ("before_texture_files", "files"), ("after_texture_files", "→ files"), ("build_secs", "build s")],
        ),
    ]
    api = by_case.get("python-api", {})
    if api.get("ok"):
        tables.append(print_table("python-api: time per kind of edit (ms)", api["by_kind"],
                                  [("kind", "kind"), ("count", "count"), ("mean_ms", "mean ms"), ("max_ms", "max ms")]))
        tables.append(print_table("python-api: the slowest edits", api["slowest_edits"],
                                  [("index", "#"), ("ms", "ms"), ("edit", "edit")]))
    cli = by_case.get("cli", {})
    if cli.get("ok"):
        tables.append(print_table("cli: one `sceneforge` process per call (wall seconds, peak memory)", cli["calls"],
                                  [("call", "call"), ("secs", "secs"), ("peak_mb", "peak MB"), ("rc", "exit")]))
    checks: dict[str, bool] = {}
    for r in results:
        if not r.get("ok"):
            checks[f"{r['case']}_ran"] = False
            continue
        if r["case"] == "build":
            checks["built_scene_validates"] = r["validation_errors"] == 0
            continue
        checks[f"{r['case']}_validate_stage_no_errors_after"] = r["validation_errors"] == 0
        if "reconstruction_unchanged" in r:
            checks[f"{r['case']}_reconstruction_usda_unchanged"] = r["reconstruction_unchanged"]
        if "undo_redo_exact" in r:
            checks[f"{r['case']}_undo_then_redo_restores_the_edits_exactly"] = r["undo_redo_exact"]
        if r["case"] == "python-api":
            checks["python-api_100_edits_100_history_steps"] = r["history_steps"] == 100
        if r["case"] == "cli":
            checks["cli_every_call_exit_0"] = r["cli_calls_ok"]
    return Report(tables, checks=checks)


BENCHMARK = Benchmark(
    name="edit", module="tests.bench.bench_edit", description=__doc__, cases=CASES, run_case=run_case, report=report,
    add_arguments=add_arguments, forward=("--work",), prerequisites=frozenset({"build"}), around_cases=work_folder("bench_edit_"),
)

if __name__ == "__main__":
    sys.exit(main(BENCHMARK))
