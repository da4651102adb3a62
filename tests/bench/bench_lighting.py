"""Lighting benchmark: inserted assets lit by the shot's own light probe, harmonised with the
plate, and what the refiners cost.

- ``demo:sphere``: the demo clip reconstructed at 320 px with ``--footage-encoding linear``
  (the generator shades display values directly: albedo × (0.45 + 0.55·max(0, n·l))). A
  white sphere (albedo 1) is inserted on the floor and rendered over frames 30–41 with
  ``--refiner none``; inside the sphere (its outline eroded by 2 px) its pixels are compared
  with the same sphere shaded by the generator's own light (the sphere's normals taken into
  the generator's world by the similarity that maps our camera path onto the true one):
  PSNR, and the mean of both; also the PSNR after one gain brings the lit sphere's mean to
  the truth's (the shading's shape alone, without its level). Also rendered: an unlit sphere (``--no-lighting``), the
  baseline the probe must beat.
- ``kitchen:harmonise`` (7-Scenes kitchen, frames 0–59): a mid-grey sphere is inserted on
  the table in front of the camera and rendered with ``--refiner none`` and ``classical``;
  reported: CIELAB mean and spread of the asset against the ring of plate around it, noise
  level (robust σ of the residual after a 3×3 median) and edge blur (re-blur gradient ratio,
  px) of both, before and after.
- ``refiner:classical``: time per frame of the classical refiner at 640×480 on frames with a
  revealed region and an inserted asset (the composite itself is measured by bench_composite).
- ``refiner:diffusion-tiny``: time per frame of the diffusion refiner with the tiny, randomly
  initialised SD ControlNet-inpainting pipeline the tests build, on the CPU at 640×480
  (a 256 px crop): what the plumbing costs; real weights cost far more.

Before/after frames go to OUT/lighting/ for a person to look at (``demo_sphere_unlit_lit_truth_036.png``:
the unlit sphere, the sphere lit by the probe, the generator's shading pasted over it;
``kitchen_none_030.png`` / ``kitchen_classical_030.png``).

    python -m tests.bench.bench_lighting --out bench_results
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from tests.bench._common import ROOT, SHARED_DATA, similarity_with_offset
from tests.bench._harness import Benchmark, Report, main, print_table

DEMO = ROOT / "assets" / "demo"
KITCHEN = SHARED_DATA / "7scenes_kitchen"
CASES = ["demo:sphere", "kitchen:harmonise", "refiner:classical", "refiner:diffusion-tiny"]
FRAMES = (30, 42)
TARGETS_FPS = 15.0


def _cli(*args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "sceneforge.engine.cli", "-q", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"sceneforge {' '.join(args)} failed: {done.stderr.strip()[-2000:]}")


def _sphere_asset(path: Path, grey: int) -> Path:
    import trimesh

    sphere = trimesh.creation.icosphere(subdivisions=4, radius=0.5)
    sphere.visual.vertex_colors = np.tile([grey, grey, grey, 255], (len(sphere.vertices), 1))
    sphere.export(path)
    return path


def _pngs(folder: Path) -> dict[int, np.ndarray]:
    from PIL import Image

    return {int(p.stem.split("_")[-1]): np.asarray(Image.open(p)).astype(np.float32) / 255.0 for p in sorted(folder.glob("*.png"))}


def _copy_shot(shot: Path, to: Path) -> Path:
    if to.exists():
        shutil.rmtree(to)
    to.mkdir(parents=True)
    for name in ("scene.usda", "reconstruction.usda"):
        shutil.copy(shot / name, to / name)
    (to / "edits.usda").write_text("#usda 1.0\n")
    shutil.copytree(shot / "textures", to / "textures")
    shutil.copytree(shot / "run", to / "run", copy_function=os.link)
    return to


def _ground_point(shot: Path, frame: int, pixel: tuple[float, float]) -> np.ndarray:
    """The world point the plate camera sees at ``pixel`` (source-size fractions) of ``frame``."""
    from sceneforge.engine.pipeline._plate import read_plate  # noqa: F401  (plate reading is the render's)
    from sceneforge.render.scene import iter_scene_passes
    from sceneforge.scenegraph import read_camera_track, transform_points

    track = read_camera_track(shot / "scene.usda")
    passes = next(iter_scene_passes(shot / "reconstruction.usda", track, frame_numbers=[frame], passes=("depth",)))
    depth = passes.passes.depth
    h, w = depth.shape
    row, col = int(pixel[1] * h), int(pixel[0] * w)
    z = float(np.median(depth[row - 2:row + 3, col - 2:col + 3]))
    in_cam = passes.intrinsics.unproject(np.array([[col + 0.5, row + 0.5]]), np.array([z]))
    return transform_points(passes.world_from_cam, in_cam)[0]


def _sphere_pixels(shot: Path, frame: int, centre: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixels (rows, cols) of frame ``frame`` whose ray hits the sphere, and the sphere's world normals there."""
    from sceneforge.scenegraph import read_camera_track

    track = read_camera_track(shot / "scene.usda")
    i = track.index_of(frame)
    k, pose = track.intrinsics[i], track.world_from_cam[i]
    rows, cols = np.mgrid[0:k.height, 0:k.width]
    rays = k.unproject(np.column_stack([cols.ravel() + 0.5, rows.ravel() + 0.5]), np.ones(rows.size)) @ pose[:3, :3].T
    rays /= np.linalg.norm(rays, axis=1, keepdims=True)
    origin = pose[:3, 3]
    oc = origin - centre
    b = rays @ oc
    disc = b**2 - (oc @ oc - radius**2)
    hit = disc > 0
    t = -b - np.sqrt(np.where(hit, disc, 0.0))
    points = origin + t[:, None] * rays
    normals = (points - centre) / radius
    return rows.ravel()[hit], cols.ravel()[hit], normals[hit]


def run_demo(args: argparse.Namespace) -> dict[str, Any]:
    import cv2

    from sceneforge.scenegraph import Scene, read_camera_track, read_light_probe

    work = args.out / "lighting"
    work.mkdir(parents=True, exist_ok=True)
    shot = work / "demo_shot"
    if not (shot / "scene.usda").exists():
        _cli("reconstruct", str(DEMO / "room.mp4"), "-o", str(shot), "--max-size", "320", "--texture-size", "1024",
             "--footage-encoding", "linear", "--force")
    probe = read_light_probe(shot / "scene.usda")
    gt = json.loads((DEMO / "ground_truth.json").read_text())
    poses = np.array([f["world_from_cam"] for f in gt["frames"]], dtype=np.float64)
    track = read_camera_track(shot / "scene.usda")
    sim, _ = similarity_with_offset(track.world_from_cam, poses[track.frame_numbers, :3, 3])
    towards = np.asarray(gt["light"]["direction_to_light"], np.float64)
    ambient, diffuse = float(gt["light"]["ambient"]), float(gt["light"]["diffuse"])
    out: dict[str, Any] = {"probe_found": probe is not None}
    if probe is not None and probe.key_direction is not None:
        key_gt = sim.rotation @ probe.key_direction
        out["key_error_deg"] = float(np.degrees(np.arccos(np.clip(key_gt @ towards, -1, 1))))
        out["ambient_to_key"] = probe.ambient_to_key
    out["ambient_to_key_true"] = ambient / diffuse
    # the white sphere, 0.3 m in radius, on the floor at the middle of the lower third of frame 36
    radius = 0.3 / sim.scale
    ground = _ground_point(shot, 36, (0.45, 0.8))
    asset = _sphere_asset(work / "white_sphere.glb", 255)
    renders = {}
    for label, flags in (("probe", []), ("unlit", ["--no-lighting"])):
        copy = _copy_shot(shot, work / f"demo_{label}")
        _cli("edit", str(copy), "insert", str(asset), "--name", "white_sphere", "--scale-to", str(2 * radius),
             f"--at={ground[0]},{ground[2]}")
        scene = Scene.open(copy)
        low, high = scene.objects["white_sphere"].world_bounds()
        centre = (low + high) / 2.0
        _cli("render", str(copy), "-o", str(copy / "frames"), "--format", "png", "--start", str(FRAMES[0]),
             "--end", str(FRAMES[1]), "--refiner", "none", "--force", *flags)
        renders[label] = _pngs(copy / "frames")
    errors: dict[str, list[float]] = {"probe": [], "unlit": []}
    means: dict[str, list[float]] = {"probe": [], "unlit": [], "truth": []}
    shape_errors: list[float] = []
    for number in range(*FRAMES):
        rows, cols, normals = _sphere_pixels(shot, number, centre, (high - low).max() / 2.0)
        mask = np.zeros(renders["probe"][number].shape[:2], np.uint8)
        mask[rows, cols] = 1
        inner = cv2.erode(mask, np.ones((5, 5), np.uint8)).astype(bool)[rows, cols]
        truth = np.clip(ambient + diffuse * np.maximum((normals @ sim.rotation.T) @ towards, 0.0), 0, 1)
        means["truth"].append(float(truth[inner].mean()))
        lit = renders["probe"][number][rows, cols].mean(axis=1)
        gain = truth[inner].mean() / max(lit[inner].mean(), 1e-6)
        shape_errors.append(float(np.mean((np.clip(lit[inner] * gain, 0, 1) - truth[inner]) ** 2)))
        for label in ("probe", "unlit"):
            ours = renders[label][number][rows, cols].mean(axis=1)
            errors[label].append(float(np.mean((ours[inner] - truth[inner]) ** 2)))
            means[label].append(float(ours[inner].mean()))
        if number == 36:
            from PIL import Image

            truth_image = renders["probe"][number].copy()
            truth_image[rows, cols] = truth[:, None]
            side = np.concatenate([renders["unlit"][number], renders["probe"][number], truth_image], axis=1)
            Image.fromarray((side * 255).round().astype(np.uint8)).save(work / "demo_sphere_unlit_lit_truth_036.png")
    for label in ("probe", "unlit"):
        out[f"psnr_{label}"] = float(10 * np.log10(1.0 / max(np.mean(errors[label]), 1e-12)))
        out[f"mean_{label}"] = float(np.mean(means[label]))
    # the shading's shape alone: the lit sphere scaled by one gain to the truth's mean
    out["psnr_probe_one_gain"] = float(10 * np.log10(1.0 / max(np.mean(shape_errors), 1e-12)))
    out["mean_truth"] = float(np.mean(means["truth"]))
    return out


def _lab_stats(image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    lab = cv2.cvtColor(image.astype(np.float32), cv2.COLOR_RGB2Lab)[mask]
    return lab.mean(axis=0), lab.std(axis=0)


def run_kitchen(args: argparse.Namespace) -> dict[str, Any]:
    import cv2

    from sceneforge.render.refine._classical import _noise_level, edge_blur

    work = args.out / "lighting"
    work.mkdir(parents=True, exist_ok=True)
    shot = work / "kitchen_shot"
    if not (shot / "scene.usda").exists():
        _cli("reconstruct", str(KITCHEN), "-o", str(shot), "--pattern", "*.color.jpg", "--end", "60", "--max-size", "320",
             "--texture-size", "1024", "--no-objects", "--force")
    from sceneforge.scenegraph import Scene

    ground = _ground_point(shot, 30, (0.62, 0.55))
    asset = _sphere_asset(work / "grey_sphere.glb", 150)
    results = {}
    frames = {}
    for refiner in ("none", "classical"):
        copy = _copy_shot(shot, work / f"kitchen_{refiner}")
        # standing on whatever the camera sees there (the table top), a sixth of the scene across
        scene = Scene.open(copy)
        scene.insert(asset, name="grey_sphere", on=None, position=ground, scale_to=0.06 * _scene_size(copy))
        scene.save()
        low, high = Scene.open(copy).objects["grey_sphere"].world_bounds()
        sphere = ((low + high) / 2.0, float((high - low).max()) / 2.0)
        _cli("render", str(copy), "-o", str(copy / "frames"), "--format", "png", "--start", "24", "--end", "36",
             "--refiner", refiner, "--force")
        frames[refiner] = _pngs(copy / "frames")
    # where the asset is: the sphere's own pixels (ray cast) where the render is not the plate (not hidden)
    from sceneforge.reconstruct import read_frames

    plate = read_frames(KITCHEN, pattern="*.color.jpg", end=60, max_size=320).images.astype(np.float32) / 255.0
    for refiner, images in frames.items():
        stats = []
        for number, image in images.items():
            rows, cols, _ = _sphere_pixels(shot, number, *sphere)
            asset_mask = np.zeros(image.shape[:2], bool)
            asset_mask[rows, cols] = True
            asset_mask &= np.abs(frames["none"][number] - plate[number]).max(axis=2) > 0.01
            inner = cv2.erode(asset_mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
            ring = cv2.dilate(asset_mask.astype(np.uint8), np.ones((25, 25), np.uint8)).astype(bool) & ~cv2.dilate(
                asset_mask.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
            if inner.sum() < 30:
                continue
            mean_a, std_a = _lab_stats(image, inner)
            mean_r, std_r = _lab_stats(image, ring)
            stats.append({
                "asset_lab_mean": mean_a, "ring_lab_mean": mean_r, "asset_lab_std": std_a, "ring_lab_std": std_r,
                "asset_noise": float(_noise_level(image, inner).mean()), "ring_noise": float(_noise_level(image, ring).mean()),
                "asset_blur": edge_blur(image, cv2.dilate(asset_mask.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)),
                "ring_blur": edge_blur(image, ring),
            })
            if number == 30:
                from PIL import Image

                Image.fromarray((image * 255).round().astype(np.uint8)).save(work / f"kitchen_{refiner}_030.png")
        if not stats:
            raise RuntimeError("the inserted sphere is not visible in the kitchen frames")
        mean = {k: np.mean([s[k] for s in stats], axis=0) for k in stats[0] if not k.endswith("_blur")}
        results[refiner] = {
            "frames": len(stats),
            "delta_L": float(mean["asset_lab_mean"][0] - mean["ring_lab_mean"][0]),
            "delta_ab": float(np.linalg.norm(mean["asset_lab_mean"][1:] - mean["ring_lab_mean"][1:])),
            "std_L_ratio": float(mean["asset_lab_std"][0] / max(mean["ring_lab_std"][0], 1e-6)),
            "noise_asset": float(mean["asset_noise"]), "noise_ring": float(mean["ring_noise"]),
            "blur_asset": float(np.nanmean([s["asset_blur"] for s in stats])),
            "blur_ring": float(np.nanmean([s["ring_blur"] for s in stats])),
        }
    return {"by_refiner": results}


def _scene_size(shot: Path) -> float:
    """The background's bounding-box diagonal, scene units."""
    from sceneforge.scenegraph import Scene

    low, high = Scene.open(shot).background.world_bounds()
    return float(np.linalg.norm(high - low))


def _synthetic_frames(count: int, width: int = 640, height: int = 480):
    from sceneforge.render.refine import RefineFrame
    from sceneforge.scenegraph import Intrinsics

    rng = np.random.default_rng(0)
    k = Intrinsics.from_focal(focal_px=0.8 * width, width=width, height=height)
    base = np.clip(rng.normal(0.45, 0.03, (height, width, 3)), 0, 1).astype(np.float32)
    fill = np.zeros((height, width), bool)
    fill[200:330, 100:260] = True
    asset = np.zeros((height, width), np.float32)
    asset[180:300, 380:500] = 1.0
    out = []
    for i in range(count):
        pose = np.eye(4)
        pose[0, 3] = 0.01 * i
        rgb = base.copy()
        rgb[asset > 0] = (0.7, 0.3, 0.2)
        out.append(RefineFrame(
            frame_number=i, rgb=rgb, changed=fill | (asset > 0), inserted=asset, invented=np.zeros_like(fill),
            depth=np.full((height, width), 4.0, np.float32), plate=(base * 255).astype(np.uint8), intrinsics=k,
            world_from_cam=pose, drawn=asset > 0,
        ))
    return out


def run_refiner(name: str, args: argparse.Namespace) -> dict[str, Any]:
    from sceneforge.engine.registry import REFINERS

    if name == "classical":
        frames = _synthetic_frames(30)
        refiner = REFINERS.build("classical")
    else:
        os.environ["HF_HUB_OFFLINE"] = "1"
        from tests.render._tiny_diffusion import save_tiny_sd_controlnet_inpaint

        folder = args.out / "lighting" / "tiny_sd_controlnet"
        save_tiny_sd_controlnet_inpaint(folder)
        frames = _synthetic_frames(4)
        refiner = REFINERS.build("diffusion", model=str(folder), steps=4, resolution=256)
    refiner.refine(frames[:1])  # warm up (first-call allocations, model on its device)
    start = time.perf_counter()
    for frame in frames[1:]:
        refiner.refine([frame])
    per_frame = (time.perf_counter() - start) / (len(frames) - 1)
    refiner.close()
    return {"ms_per_frame": 1000 * per_frame, "width": 640, "height": 480, "fps_alone": 1.0 / per_frame}


def run_case(case: str, args: argparse.Namespace) -> dict[str, Any]:
    if case == "demo:sphere":
        return run_demo(args)
    if case == "kitchen:harmonise":
        return run_kitchen(args)
    if case.startswith("refiner:"):
        return run_refiner(case.split(":", 1)[1].replace("-tiny", ""), args)
    raise ValueError(case)


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> Report:
    by_case = {r["case"]: r for r in results if r.get("ok")}
    tables = []
    demo = by_case.get("demo:sphere")
    if demo:
        tables.append(print_table("Light probe on the demo clip (truth: one directional light plus ambient)", [demo], [
            ("key_error_deg", "key dir. error °"), ("ambient_to_key", "ambient:key"), ("ambient_to_key_true", "true"),
            ("psnr_probe", "sphere PSNR lit dB"), ("psnr_probe_one_gain", "lit, one gain dB"), ("psnr_unlit", "unlit dB"), ("mean_probe", "mean lit"),
            ("mean_unlit", "mean unlit"), ("mean_truth", "mean true"),
        ]))
    kitchen = by_case.get("kitchen:harmonise")
    if kitchen:
        rows = [{"refiner": name, **values} for name, values in kitchen["by_refiner"].items()]
        tables.append(print_table("Harmonisation: a grey sphere inserted into the kitchen (asset vs the plate around it)", rows, [
            ("refiner", "refiner"), ("delta_L", "ΔL*"), ("delta_ab", "Δab"), ("std_L_ratio", "σL ratio"),
            ("noise_asset", "noise asset"), ("noise_ring", "noise plate"), ("blur_asset", "blur σ asset"),
            ("blur_ring", "blur σ plate"),
        ]))
    rows = [{"refiner": c.split(":", 1)[1], **r} for c, r in by_case.items() if c.startswith("refiner:")]
    tables.append(print_table("Refiner cost at 640×480 (CPU)", rows, [("refiner", "refiner"), ("ms_per_frame", "ms/frame"), ("fps_alone", "fps alone")]))
    targets = {}
    if "refiner:classical" in by_case:
        targets[f"classical refiner alone ≥ {TARGETS_FPS:.0f} fps"] = by_case["refiner:classical"]["fps_alone"] >= TARGETS_FPS
    return Report(tables=[t for t in tables if t], targets=targets, also=f"; frames in {args.out / 'lighting'}")


BENCHMARK = Benchmark(
    name="lighting", module="tests.bench.bench_lighting", description=__doc__ or "", cases=CASES, run_case=run_case,
    report=report, data_folder=lambda case: KITCHEN if case.startswith("kitchen") else None,
)

if __name__ == "__main__":
    sys.exit(main(BENCHMARK))
