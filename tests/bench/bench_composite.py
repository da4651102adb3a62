"""Compositing benchmark: ``sceneforge render`` as a compositor over the original footage
(issue 10). Untouched pixels are the plate; what an edit reveals is filled from other frames
reprojected through the background geometry, the rest invented once; held-out views are
rendered from their neighbours.

- ``identity``: the demo clip (72 frames, 640×360) reconstructed with its four objects
  prompted by boxes (the bounding box of each on frame 30 of the exact instance maps, 4 px
  margin) and rendered unedited to PNGs: max abs difference against the decoded input
  frames (target: exactly 0).
- ``demo-remove:<object>`` (table, crate, ball, column): the same shot with one object
  deleted, rendered; the ground truth is the demo's own renderer without that object through
  the true cameras. Inside the revealed region (where the object was in the true instance
  maps): PSNR against the truth, over all of it and over the part some other frame saw
  (by the true depth: the point, projected into another frame, is what that frame shows);
  the share of revealed pixels filled from real views (EXR ``source`` 1) vs invented (2);
  temporal stability = mean abs difference (0–255) between consecutive output frames, one
  warped into the other with the true cameras and the true depth of the room without the
  object, inside the revealed region (the truth's own number is the floor: sharp texture does
  not resample exactly, so a smooth fill scores lower than the truth); the same PSNR and
  stability for a per-frame ``cv2.inpaint`` baseline (Telea, radius 5, mask = the revealed
  region dilated 2 px).
  Targets: PSNR ≥ 30 dB where other frames saw the background; stability ≥ 3× the
  baseline's (baseline / ours ≥ 3). Strips original | ours | baseline | truth of three
  frames go to ``OUT/composite/``.
- ``kitchen-remove``: 7-Scenes kitchen (640×480, ``--kitchen-end``/``--kitchen-stride``;
  default all 300 frames), the mug on the table prompted by a box on frame 0, deleted:
  share real vs invented (the render's pixel counts), temporal stability vs the baseline,
  warped with the reconstruction's cameras and the depth of the edited scene (the
  background behind the deleted mug, rendered from the scene's meshes, its holes filled by
  membrane interpolation of the inverse depth around them; the run folder's depth maps see
  the mug itself there). Region = the reconstruction's own mask of the mug
  (``run/instances``). Target: stability ≥ 3× the baseline's.
- ``davis-remove``: DAVIS ``--davis-clip`` (default blackswan, 854×480) prompted with its
  first mask, deleted; the same measures as the kitchen.
- ``novel-views:demo``, ``novel-views:kitchen``: every 8th frame held out (``hold_out``: its
  own plate never used), rendered from the others; PSNR / SSIM over all pixels of the
  held-out frames against the input frames, for the composite (image-based) path and for
  ``mode="cg"`` (the baked
  texture; the reconstruction — cameras, mesh, texture — saw every frame, held-out ones
  included). Target: composite PSNR ≥ 20 dB on the kitchen (the demo is a quick check).
- ``speed``: the kitchen with the mug deleted, every frame composited: frames per second of
  the render alone (reconstruction and edit run before, in their own processes) and the
  peak resident memory of this process (the render's; the harness's peak of the case
  includes the reconstruction when the case had to make it). Targets: ≥ 15 frames/s, ≤ 4 GB.

Reconstructions are made once per run in ``--work`` (a temporary folder unless given; given,
it keeps the shots for the next run) by ``sceneforge reconstruct`` and copied for each case
(the run folder hard-linked); edits go through ``sceneforge edit``, renders through
``render_scene``. Each case runs in its own process; the machine's load average is recorded
with each case (the CPU is shared).

    python -m tests.bench.bench_composite --out bench_results [--work /tmp/composite_work]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tests.bench._common import ROOT, SHARED_DATA, demo_module
from tests.bench._harness import Benchmark, Report, main, print_table, work_folder

DEMO_CLIP = ROOT / "assets" / "demo" / "room.mp4"
DEMO_OBJECTS = ("table", "crate", "ball", "column")
DEMO_PROMPT_FRAME = 30
PROMPT_MARGIN_PX = 4
KITCHEN = SHARED_DATA / "7scenes_kitchen"
KITCHEN_OBJECT = "mug=box:358,161,405,205@0"
"""The white mug on the table, frame 0 (static; the table top around and behind it is seen
from later frames)."""
DAVIS = SHARED_DATA / "davis"
CASES = [
    "identity", *(f"demo-remove:{name}" for name in DEMO_OBJECTS), "kitchen-remove", "davis-remove",
    "novel-views:demo", "novel-views:kitchen", "speed",
]
TARGETS = {"psnr_seen_db": 30.0, "stability_ratio": 3.0, "novel_psnr_db": 20.0, "fps": 15.0, "peak_mb": 4096.0}
HOLD_OUT_EVERY = 8
STRIP_FRAMES = 3
SOURCE_NAMES = ("plate", "reprojected", "invented", "object")
"""The EXR ``source`` channel's values 0..3 (``pixels_by_source`` calls the last ``rendered``)."""


# -- shots: reconstruct once, copy per case ------------------------------------------------


def _sceneforge_command() -> list[str]:
    script = Path(sys.executable).with_name("sceneforge")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "sceneforge.engine.cli"]


def sceneforge(*arguments: str) -> float:
    """Run ``sceneforge ARGUMENTS`` in its own process; its wall seconds. Raises on failure
    with the tail of its error output."""
    start = time.perf_counter()
    done = subprocess.run([*_sceneforge_command(), "-q", *arguments], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-8:])
        raise RuntimeError(f"`sceneforge {' '.join(arguments)}` exited {done.returncode}:\n{tail}")
    return time.perf_counter() - start


def demo_object_prompts() -> list[str]:
    """``NAME=box:x0,y0,x1,y1@F`` for each demo object: its bounding box on the prompt frame of
    the exact instance map (source pixels), widened by a few pixels as a person would draw it."""
    demo = demo_module()
    k, poses = demo.demo_cameras(demo.NUM_FRAMES, demo.WIDTH, demo.HEIGHT)
    _, _, instance = demo.render_frame(poses[DEMO_PROMPT_FRAME], k, demo.WIDTH, demo.HEIGHT, supersample=1)
    prompts = []
    for obj in demo.OBJECTS:
        rows, cols = np.nonzero(instance == obj["instance_id"])
        m = PROMPT_MARGIN_PX
        box = (max(cols.min() - m, 0), max(rows.min() - m, 0), min(cols.max() + 1 + m, demo.WIDTH), min(rows.max() + 1 + m, demo.HEIGHT))
        prompts.append(f"{obj['name']}=box:{','.join(str(int(v)) for v in box)}@{DEMO_PROMPT_FRAME}")
    return prompts


def reconstruct_arguments(key: str, args: argparse.Namespace) -> list[str]:
    """The ``sceneforge reconstruct`` arguments (without ``-o``) of shot ``key``."""
    if key == "demo":
        return [str(DEMO_CLIP), "--max-size", "640", *(a for p in demo_object_prompts() for a in ("--object", p))]
    if key == "kitchen":
        frames = ["--stride", str(args.kitchen_stride)] + (["--end", str(args.kitchen_end)] if args.kitchen_end else [])
        return [str(KITCHEN), "--pattern", "*.color.jpg", "--max-size", "640", *frames, "--object", KITCHEN_OBJECT]
    if key == "davis":
        clip = DAVIS / args.davis_clip
        mask = sorted((clip / "masks").glob("*.png"))[0]
        first = int(mask.stem)
        frames = ["--end", str(args.davis_end)] if args.davis_end else []
        return [str(clip / "frames"), "--max-size", "0", *frames, "--object", f"{args.davis_clip}=mask:{mask}@{first}"]
    raise ValueError(f"unknown shot {key!r}")


def base_shot(key: str, args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    """The reconstructed shot ``key`` in the work folder, made on first use (by
    ``sceneforge reconstruct``, in its own process) and reused while its arguments match; and
    what this case learnt of it (the reconstruction's seconds when it made it here)."""
    folder = args.work / key
    shot, marker, failed = folder / "shot", folder / "reconstruct.json", folder / "reconstruct_failed.txt"
    arguments = reconstruct_arguments(key, args)
    if marker.is_file() and json.loads(marker.read_text()).get("arguments") == arguments and (shot / "scene.usda").is_file():
        return shot, {"reconstruct_args": arguments, "reconstructed_here": False,
                      "reconstruct_secs": json.loads(marker.read_text()).get("seconds")}
    if failed.is_file() and failed.read_text().splitlines()[0] == json.dumps(arguments):
        raise RuntimeError(f"the {key} reconstruction failed in an earlier case:\n{failed.read_text()}")
    folder.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    try:
        seconds = sceneforge("reconstruct", *arguments, "-o", str(shot), "--force")
    except RuntimeError as error:
        failed.write_text(json.dumps(arguments) + "\n" + str(error))
        raise
    marker.write_text(json.dumps({"arguments": arguments, "seconds": seconds}))
    return shot, {"reconstruct_args": arguments, "reconstructed_here": True, "reconstruct_secs": seconds}


def copy_shot(base: Path, folder: Path) -> Path:
    """A copy of shot ``base`` as ``folder/shot``; the files under ``run/`` (depth maps, masks, the
    stage cache: large, read-only to edits and renders) are hard-linked, the rest copied."""
    shot = folder / "shot"
    if shot.exists():
        shutil.rmtree(shot)

    def link_or_copy(src: str, dst: str) -> str:
        if Path(src).resolve().is_relative_to((base / "run").resolve()):
            try:
                os.link(src, dst)
                return dst
            except OSError:
                pass
        return shutil.copy2(src, dst)

    shutil.copytree(base, shot, copy_function=link_or_copy)
    return shot


def objects_of(shot: Path) -> dict[str, int]:
    """Object name → instance id in the shot's ``run/instances`` maps (from ``report.json``)."""
    report = json.loads((shot / "report.json").read_text())
    return {o["name"]: int(o["instance_id"]) for o in report.get("objects", [])}


def instance_masks(shot: Path, frame_numbers: Sequence[int], instance_id: int) -> np.ndarray:
    """N×H×W bool: where the reconstruction's own instance maps put object ``instance_id``."""
    import cv2

    masks = []
    for n in frame_numbers:
        path = shot / "run" / "instances" / f"{int(n):06d}.png"
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise RuntimeError(f"no instance map {path}")
        masks.append(image == instance_id)
    return np.stack(masks)


# -- rendering and reading the output ------------------------------------------------------


def render(shot: Path, output: Path, *, mode: str = "composite", fmt: str | None = None,
           hold_out: tuple[int, ...] = ()) -> dict[str, Any]:
    """``render_scene`` of the shot into ``output`` (a folder: PNG, or EXR with ``fmt="exr"``); its
    seconds, frames and pixels by source."""
    from sceneforge.engine.pipeline import RenderConfig, render_scene

    # format and hold_out only when used: a render job without them still measures the rest
    extra = {**({"format": fmt} if fmt is not None else {}), **({"hold_out": hold_out} if hold_out else {})}
    config = RenderConfig(scene=shot, output=output, mode=mode, start=None, end=None, force=True, **extra)
    output.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result = render_scene(config)
    wall = time.perf_counter() - start
    by_source = getattr(result, "pixels_by_source", None)
    return {"frames": int(result.num_frames), "secs": float(result.seconds), "wall_secs": wall,
            "fps": result.num_frames / max(float(result.seconds), 1e-9),
            "pixels_by_source": {k: int(v) for k, v in by_source.items()} if by_source is not None else None}


def read_pngs(folder: Path, frame_numbers: Sequence[int]) -> np.ndarray:
    """N×H×W×3 uint8 RGB of ``folder/frame_%06d.png`` for each source frame number."""
    import cv2

    images = []
    for n in frame_numbers:
        path = folder / f"frame_{int(n):06d}.png"
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise RuntimeError(f"the render wrote no {path.name} (source frame {n}) in {folder}")
        images.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    return np.stack(images)


def read_exr_sources(folder: Path, frame_numbers: Sequence[int]) -> np.ndarray:
    """N×H×W uint8 ``source`` channel (0 plate, 1 reprojected, 2 invented, 3 object) of ``frame_%06d.exr``."""
    import OpenEXR

    out = []
    for n in frame_numbers:
        with OpenEXR.File(str(folder / f"frame_{int(n):06d}.exr"), separate_channels=True) as exr:
            channels = exr.channels()  # read inside: leaving the block empties it
            if "source" not in channels:
                raise RuntimeError(f"frame_{int(n):06d}.exr has no 'source' channel, only {sorted(channels)}")
            out.append(np.rint(np.asarray(channels["source"].pixels, np.float32)).astype(np.uint8))
    return np.stack(out)


def source_shares(by_source: dict[str, int] | None) -> dict[str, Any]:
    """Share of the filled (not plate, not object) pixels that came from real views and that were invented."""
    if not by_source:
        return {"real_share": None, "invented_share": None}
    filled = by_source.get("reprojected", 0) + by_source.get("invented", 0)
    return {"real_share": by_source.get("reprojected", 0) / filled if filled else None,
            "invented_share": by_source.get("invented", 0) / filled if filled else None}


# -- metrics --------------------------------------------------------------------------------


def psnr(a: np.ndarray, b: np.ndarray, region: np.ndarray) -> float | None:
    """PSNR (dB, 8-bit RGB) over the pixels of ``region`` (N×H×W bool) of all frames pooled."""
    if not region.any():
        return None
    err = (a[region].astype(np.float64) - b[region].astype(np.float64)) ** 2
    mse = float(err.mean())
    return float(10 * np.log10(255.0**2 / mse)) if mse > 0 else float("inf")


def baseline_inpaint(plates: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """Per-frame ``cv2.inpaint`` (Telea, radius 5) of the region dilated by 2 px."""
    import cv2

    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    out = plates.copy()
    for i, (plate, region) in enumerate(zip(plates, regions)):
        if region.any():
            mask = cv2.dilate(region.astype(np.uint8) * 255, kernel)
            out[i] = cv2.inpaint(plate, mask, 5, cv2.INPAINT_TELEA)
    return out


def temporal_error(videos: dict[str, np.ndarray], regions: np.ndarray, depths: np.ndarray, intrinsics: Sequence[Any],
                   world_from_cam: np.ndarray, depth_tolerance: float = 0.03) -> dict[str, Any]:
    """Mean abs difference (0–255, over RGB) between each frame and the previous frame warped into
    it, inside ``regions``, for each of ``videos`` (name → N×H×W×3 uint8) warped the same way.

    A pixel of frame b in its region with depth is lifted with its depth (``depths[b]``), projected
    into frame a = b − 1, and counted when it lands inside frame a where a's depth agrees
    (within ``depth_tolerance``, relative: a sees that very point); frame a's colour there is
    sampled bilinearly.
    """
    import cv2

    totals = dict.fromkeys(videos, 0.0)
    counted, candidates = 0, 0
    for b in range(1, len(regions)):
        a = b - 1
        rows, cols = np.nonzero(regions[b] & (depths[b] > 0))
        candidates += int(regions[b].sum())
        if not len(rows):
            continue
        uv = np.column_stack([cols + 0.5, rows + 0.5]).astype(np.float64)
        in_b = intrinsics[b].unproject(uv, depths[b][rows, cols])
        in_world = in_b @ world_from_cam[b][:3, :3].T + world_from_cam[b][:3, 3]
        in_a = (in_world - world_from_cam[a][:3, 3]) @ world_from_cam[a][:3, :3]
        with np.errstate(invalid="ignore"):
            uv_a = intrinsics[a].project(in_a)
        x, y = uv_a[:, 0] - 0.5, uv_a[:, 1] - 0.5
        h, w = depths[a].shape
        ok = np.isfinite(x) & np.isfinite(y) & (x >= 0) & (y >= 0) & (x <= w - 1) & (y <= h - 1)
        xi, yi = np.rint(np.where(ok, x, 0)).astype(int), np.rint(np.where(ok, y, 0)).astype(int)
        seen = depths[a][yi, xi]
        ok &= (seen > 0) & (np.abs(seen - in_a[:, 2]) <= depth_tolerance * in_a[:, 2])
        if not ok.any():
            continue
        # remap wants maps under 32767 on a side: the points as rows of 1024
        count = int(ok.sum())
        side = 1024
        pad = (-count) % side
        map_x = np.pad(x[ok].astype(np.float32), (0, pad)).reshape(-1, side)
        map_y = np.pad(y[ok].astype(np.float32), (0, pad)).reshape(-1, side)
        counted += count
        for name, video in videos.items():
            warped = cv2.remap(video[a], map_x, map_y, cv2.INTER_LINEAR).reshape(-1, 3)[:count].astype(np.float64)
            totals[name] += float(np.abs(video[b][rows[ok], cols[ok]].astype(np.float64) - warped).mean(axis=1).sum())
    return {"errors": {name: total / counted if counted else None for name, total in totals.items()},
            "measured_pixels": counted, "measured_share": counted / candidates if candidates else None}


def seen_elsewhere(regions: np.ndarray, depth_without: np.ndarray, depth_with: np.ndarray, k: np.ndarray,
                   poses: Sequence[np.ndarray], tolerance: float = 0.01) -> np.ndarray:
    """N×H×W bool: revealed pixels whose background point some other frame saw (by the true
    depths: projected into that frame, it lands where that frame's depth, objects included,
    agrees with it)."""
    n, h, w = regions.shape
    out = np.zeros_like(regions)
    kinv = np.linalg.inv(k)
    for i in range(n):
        rows, cols = np.nonzero(regions[i])
        if not len(rows):
            continue
        z = depth_without[i][rows, cols].astype(np.float64)
        rays = np.column_stack([cols + 0.5, rows + 0.5, np.ones(len(rows))]) @ kinv.T
        points = (rays * z[:, None]) @ poses[i][:3, :3].T + poses[i][:3, 3]
        seen = np.zeros(len(rows), bool)
        for j in range(n):
            if j == i:
                continue
            cam = (points[~seen] - poses[j][:3, 3]) @ poses[j][:3, :3]
            with np.errstate(divide="ignore", invalid="ignore"):
                uv = cam @ k.T
                u, v = uv[:, 0] / uv[:, 2], uv[:, 1] / uv[:, 2]
            ok = (cam[:, 2] > 0) & (u >= 0) & (v >= 0) & (u < w) & (v < h)
            ui, vi = np.where(ok, u, 0).astype(int), np.where(ok, v, 0).astype(int)
            ok &= np.abs(depth_with[j][vi, ui] - cam[:, 2]) <= tolerance * cam[:, 2]
            idx = np.flatnonzero(~seen)
            seen[idx[ok]] = True
            if seen.all():
                break
        out[i][rows[seen], cols[seen]] = True
    return out


def save_strip(path: Path, rows: list[list[np.ndarray]], labels: Sequence[str]) -> str:
    """One PNG: each row the given images side by side, labelled at the top of each column."""
    import cv2

    lines = [np.concatenate(row, axis=1) for row in rows]
    image = np.ascontiguousarray(np.concatenate(lines, axis=0))
    width = rows[0][0].shape[1]
    for i, label in enumerate(labels):
        at = (i * width + 8, 20)
        cv2.putText(image, label, at, cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(image, label, at, cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1, cv2.LINE_AA)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return str(path)


def strip_frames(regions: np.ndarray) -> list[int]:
    """Indices of a few frames spread over the clip where the region is largest nearby."""
    area = regions.sum(axis=(1, 2))
    picks = []
    for chunk in np.array_split(np.arange(len(regions)), STRIP_FRAMES):
        if len(chunk):
            picks.append(int(chunk[np.argmax(area[chunk])]))
    return picks


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux reports KiB


# -- cases ----------------------------------------------------------------------------------


def run_identity(args: argparse.Namespace) -> dict[str, Any]:
    from sceneforge.reconstruct import read_frames

    base, info = base_shot("demo", args)
    frames = read_frames(DEMO_CLIP, max_size=None)
    out_folder = args.work / "identity" / "render"
    rendered = render(base, out_folder)
    ours = read_pngs(out_folder, frames.frame_numbers)
    diff = np.abs(ours.astype(np.int16) - frames.images.astype(np.int16))
    return {**info, "frames": len(frames), "width": frames.width, "height": frames.height, **rendered,
            "max_abs_diff": int(diff.max()), "differing_pixel_share": float((diff.max(axis=-1) > 0).mean()),
            "differing_frames": int((diff.reshape(len(frames), -1).max(axis=1) > 0).sum())}


def _demo_truth(work: Path, frames: int, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(N×H×W int8 instance, N×H×W float32 depth) of the demo as filmed, cached in the work folder."""
    cache = work / "demo" / "truth.npz"
    if cache.is_file():
        data = np.load(cache)
        return data["instance"], data["depth"]
    demo = demo_module()
    k, poses = demo.demo_cameras(frames, width, height)
    rendered = [demo.render_frame(pose, k, width, height, supersample=1) for pose in poses]
    instance = np.stack([r[2] for r in rendered]).astype(np.int8)
    depth = np.stack([r[1] for r in rendered])
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, instance=instance, depth=depth)
    return instance, depth


def run_demo_remove(name: str, args: argparse.Namespace) -> dict[str, Any]:
    from sceneforge.reconstruct import read_frames
    from sceneforge.scenegraph import Intrinsics

    base, info = base_shot("demo", args)
    frames = read_frames(DEMO_CLIP, max_size=None)
    n, width, height = len(frames), frames.width, frames.height
    folder = args.work / f"demo-remove_{name}"
    shot = copy_shot(base, folder)
    found = objects_of(shot)
    if name not in found:
        raise RuntimeError(f"the demo reconstruction has no object {name!r}, only {sorted(found)}")
    edit_secs = sceneforge("edit", str(shot), "delete", name)
    rendered = render(shot, folder / "render")
    ours = read_pngs(folder / "render", frames.frame_numbers)

    # the truth: the room filmed without the object, through the true cameras
    demo = demo_module()
    obj = next(o for o in demo.OBJECTS if o["name"] == name)
    instance, depth_with = _demo_truth(args.work, n, width, height)
    k, poses = demo.demo_cameras(n, width, height)
    demo.OBJECTS = tuple(o for o in demo.OBJECTS if o["name"] != name)  # _intersect and _shade read it
    start = time.perf_counter()
    truth_rgb, truth_depth = [], []
    for i in range(n):
        rgb, depth, _ = demo.render_frame(poses[int(frames.frame_numbers[i])], k, width, height)
        truth_rgb.append(rgb)
        truth_depth.append(depth)
    truth, depth_without = np.stack(truth_rgb), np.stack(truth_depth)
    truth_secs = time.perf_counter() - start
    revealed = instance == obj["instance_id"]
    seen = seen_elsewhere(revealed, depth_without, depth_with, k, poses)
    baseline = baseline_inpaint(frames.images, revealed)

    out: dict[str, Any] = {
        **info, "object": name, "frames": n, "edit_secs": edit_secs, **rendered, "truth_secs": truth_secs,
        "revealed_px_per_frame": float(revealed.sum() / n), "seen_share": float(seen.sum() / max(revealed.sum(), 1)),
        "psnr_revealed": psnr(ours, truth, revealed), "psnr_seen": psnr(ours, truth, seen),
        "psnr_unseen": psnr(ours, truth, revealed & ~seen),
        "baseline_psnr_revealed": psnr(baseline, truth, revealed), "baseline_psnr_seen": psnr(baseline, truth, seen),
        "plate_psnr_revealed": psnr(frames.images, truth, revealed),
        "outside_max_abs_diff": int(np.abs(ours.astype(np.int16) - frames.images)[~revealed].max()),
        **source_shares(rendered["pixels_by_source"]),
    }
    cams = [Intrinsics(K=k, width=width, height=height)] * n
    stability = temporal_error({"ours": ours, "baseline": baseline, "truth": truth, "plate": frames.images},
                               revealed, depth_without, cams, np.stack(poses))
    errors = stability["errors"]
    out.update({"stability": errors["ours"], "baseline_stability": errors["baseline"], "truth_stability": errors["truth"],
                "stability_measured_share": stability["measured_share"]})
    out["stability_ratio"] = errors["baseline"] / errors["ours"] if errors["ours"] and errors["baseline"] is not None else None
    # sharp, correct texture does not warp exactly (resampling): the truth's own error is the floor
    out["stability_over_truth"] = errors["ours"] / errors["truth"] if errors["ours"] is not None and errors["truth"] else None

    # where the revealed pixels came from, per pixel (the EXR's source channel)
    try:
        render(shot, folder / "render_exr", fmt="exr")
        sources = read_exr_sources(folder / "render_exr", frames.frame_numbers)
        counts = {s: int(((sources == v) & revealed).sum()) for v, s in enumerate(SOURCE_NAMES)}
        total = max(int(revealed.sum()), 1)
        out.update({f"revealed_{s}_share": c / total for s, c in counts.items()})
        out["psnr_reprojected"] = psnr(ours, truth, revealed & (sources == 1))
        out["psnr_invented"] = psnr(ours, truth, revealed & (sources == 2))
    except Exception as error:  # the EXR writer may not be there yet; the PNG numbers stand alone
        out["exr_error"] = f"{type(error).__name__}: {error}"

    picks = strip_frames(revealed)
    out["strip"] = save_strip(args.out / "composite" / f"demo-remove_{name}.png",
                              [[frames.images[i], ours[i], baseline[i], truth[i]] for i in picks],
                              ["original", "ours", "cv2.inpaint", "truth"])
    return out


def harmonic_fill(values: np.ndarray, known: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """H×W float64: ``values`` with the ``unknown`` pixels replaced by the membrane (Laplace)
    interpolation of the ``known`` ones around them — exact where the values are an affine
    function of the pixel, as the inverse depth of a plane is. Pixels neither known nor
    unknown are left out (no flux through them)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.linalg import spsolve

    out = values.astype(np.float64).copy()
    rows, cols = np.nonzero(unknown & ~known)
    if not len(rows) or not known.any():
        return out
    h, w = values.shape
    index = np.full((h, w), -1, np.int64)
    index[rows, cols] = np.arange(len(rows))
    diagonal, rhs = np.zeros(len(rows)), np.zeros(len(rows))
    entries_i, entries_j = [], []
    for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        r, c = rows + dr, cols + dc
        inside = np.flatnonzero((r >= 0) & (r < h) & (c >= 0) & (c < w))
        r, c = r[inside], c[inside]
        neighbour = index[r, c]
        solved, fixed = neighbour >= 0, (neighbour < 0) & known[r, c]
        diagonal[inside[solved | fixed]] += 1.0
        entries_i.append(inside[solved])
        entries_j.append(neighbour[solved])
        np.add.at(rhs, inside[fixed], values[r[fixed], c[fixed]])
    # a small pull to the mean of the known values keeps pieces no known pixel touches solvable
    epsilon = 1e-6
    i, j = np.concatenate(entries_i), np.concatenate(entries_j)
    matrix = coo_matrix(
        (np.concatenate([diagonal + epsilon, -np.ones(len(i))]), (np.concatenate([np.arange(len(rows)), i]), np.concatenate([np.arange(len(rows)), j]))),
        shape=(len(rows), len(rows)),
    ).tocsr()
    out[rows, cols] = spsolve(matrix, rhs + epsilon * float(values[known].mean()))
    return out


def _scene_depths(shot: Path, frame_numbers: Sequence[int], regions: np.ndarray) -> tuple[np.ndarray, list[Any], np.ndarray, float]:
    """Depth of the edited scene behind the deleted object for each frame, with the cameras, and
    the share of region pixels whose depth was interpolated.

    The depth is the scene's own (its meshes through its cameras) where they cover the pixel;
    the background mesh may have a hole where the object stood (fusion leaves objects out), so
    in and around the region, pixels without depth get the membrane interpolation of the inverse
    depth around them (exact for a plane: the floor under a crate, the table under a mug).
    """
    import cv2

    from sceneforge.render.scene import iter_scene_passes
    from sceneforge.scenegraph import read_camera_track

    track = read_camera_track(shot / "scene.usda")
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (21, 21))
    depths, cams, poses, filled, total = [], [], [], 0, 0
    for region, passes in zip(regions, iter_scene_passes(shot / "scene.usda", track, frame_numbers=frame_numbers, passes=("depth",))):
        depth = passes.passes.depth
        known = depth > 0
        near = cv2.dilate(region.astype(np.uint8), kernel) > 0
        inverse = np.where(known, 1.0 / np.where(known, depth, 1.0), 0.0)
        inverse = harmonic_fill(inverse, known, near)
        solved = near & ~known & (inverse > 0)
        depth = np.where(solved, 1.0 / np.where(solved, inverse, 1.0), depth).astype(np.float32)
        filled += int((solved & region).sum())
        total += int(region.sum())
        depths.append(depth)
        cams.append(passes.intrinsics)
        poses.append(passes.world_from_cam)
    return np.stack(depths), cams, np.stack(poses), filled / max(total, 1)


def run_real_remove(case: str, key: str, name: str, frames: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Delete object ``name`` of shot ``key``, render; filled share and temporal stability vs the baseline."""
    base, info = base_shot(key, args)
    folder = args.work / case
    shot = copy_shot(base, folder)
    found = objects_of(shot)
    if name not in found:
        raise RuntimeError(f"the {key} reconstruction has no object {name!r}, only {sorted(found)}")
    numbers = [int(v) for v in frames.frame_numbers]
    region = instance_masks(shot, numbers, found[name])
    edit_secs = sceneforge("edit", str(shot), "delete", name)
    rendered = render(shot, folder / "render")
    ours = read_pngs(folder / "render", numbers)
    if ours.shape[1:3] != frames.images.shape[1:3]:
        raise RuntimeError(f"renders are {ours.shape[2]}×{ours.shape[1]}, the plate {frames.width}×{frames.height}")
    baseline = baseline_inpaint(frames.images, region)
    depths, cams, poses, interpolated = _scene_depths(shot, numbers, region)
    stability = temporal_error({"ours": ours, "baseline": baseline, "plate": frames.images}, region, depths, cams, poses)
    errors = stability["errors"]
    changed = np.any(ours != frames.images, axis=-1)
    picks = strip_frames(region)
    return {
        **info, "object": name, "frames": len(numbers), "width": frames.width, "height": frames.height,
        "edit_secs": edit_secs, **rendered, **source_shares(rendered["pixels_by_source"]),
        "region_px_per_frame": float(region.sum() / len(numbers)),
        "changed_outside_region_share": float((changed & ~region).sum() / max(changed.sum(), 1)),
        "unchanged_inside_region_share": float((~changed & region).sum() / max(region.sum(), 1)),
        "stability": errors["ours"], "baseline_stability": errors["baseline"], "plate_stability": errors["plate"],
        "stability_measured_share": stability["measured_share"], "depth_interpolated_share": interpolated,
        "stability_ratio": errors["baseline"] / errors["ours"] if errors["ours"] and errors["baseline"] is not None else None,
        "strip": save_strip(args.out / "composite" / f"{case}.png",
                            [[frames.images[i], ours[i], baseline[i]] for i in picks], ["original", "ours", "cv2.inpaint"]),
    }


def _kitchen_frames(args: argparse.Namespace) -> Any:
    from sceneforge.reconstruct import read_frames

    return read_frames(KITCHEN, pattern="*.color.jpg", max_size=640, end=args.kitchen_end, stride=args.kitchen_stride)


def run_kitchen_remove(args: argparse.Namespace) -> dict[str, Any]:
    return run_real_remove("kitchen-remove", "kitchen", KITCHEN_OBJECT.split("=")[0], _kitchen_frames(args), args)


def run_davis_remove(args: argparse.Namespace) -> dict[str, Any]:
    from sceneforge.reconstruct import read_frames

    frames = read_frames(DAVIS / args.davis_clip / "frames", max_size=None, end=args.davis_end)
    return {"clip": args.davis_clip, **run_real_remove("davis-remove", "davis", args.davis_clip, frames, args)}


def run_novel_views(key: str, args: argparse.Namespace) -> dict[str, Any]:
    from sceneforge.reconstruct import read_frames
    from tests.bench.bench_geometry import image_metrics

    base, info = base_shot(key, args)
    frames = _kitchen_frames(args) if key == "kitchen" else read_frames(DEMO_CLIP, max_size=None)
    numbers = [int(v) for v in frames.frame_numbers]
    held = tuple(numbers[::HOLD_OUT_EVERY])
    held_index = list(range(0, len(numbers), HOLD_OUT_EVERY))
    shot = copy_shot(base, args.work / f"novel-views_{key}")
    out: dict[str, Any] = {**info, "clip": key, "frames": len(numbers), "held_out": len(held)}
    for mode in ("composite", "cg"):
        folder = args.work / f"novel-views_{key}" / f"render_{mode}"
        try:
            rendered = render(shot, folder, mode=mode, hold_out=held if mode == "composite" else ())
            images = read_pngs(folder, held)
        except Exception as error:
            out[f"{mode}_error"] = f"{type(error).__name__}: {error}"
            continue
        per_frame = [image_metrics(images[i] / 255.0, frames.images[j] / 255.0, np.ones(images.shape[1:3], bool))
                     for i, j in enumerate(held_index)]
        mse = np.mean([(images[i].astype(np.float64) - frames.images[j]) ** 2 for i, j in enumerate(held_index)])
        out.update({
            f"{mode}_psnr": float(10 * np.log10(255.0**2 / mse)) if mse > 0 else float("inf"),
            f"{mode}_psnr_mean": float(np.mean([m["psnr_all"] for m in per_frame])),
            f"{mode}_ssim": float(np.mean([m["ssim_all"] for m in per_frame])),
            f"{mode}_fps": rendered["fps"], f"{mode}_pixels_by_source": rendered["pixels_by_source"],
            f"{mode}_held_frames_equal_to_plate": int(sum(np.array_equal(images[i], frames.images[j]) for i, j in enumerate(held_index))),
        })
        if mode == "composite":
            picks = np.linspace(0, len(held) - 1, STRIP_FRAMES).round().astype(int)
            out["strip"] = save_strip(args.out / "composite" / f"novel-views_{key}.png",
                                      [[frames.images[held_index[i]], images[i]] for i in picks],
                                      ["real (held out)", "composite from the other frames"])
    if "composite_psnr" not in out:
        raise RuntimeError(out.get("composite_error", "the composite render failed"))
    return out


def run_speed(args: argparse.Namespace) -> dict[str, Any]:
    base, info = base_shot("kitchen", args)
    shot = copy_shot(base, args.work / "speed")
    name = KITCHEN_OBJECT.split("=")[0]
    sceneforge("edit", str(shot), "delete", name)
    before = _peak_mb()
    rendered = render(shot, args.work / "speed" / "render")
    return {**info, **rendered, "object": name, "peak_mb_before_render": before, "render_peak_mb": _peak_mb()}


def run_case(case: str, args: argparse.Namespace) -> dict[str, Any]:
    if case == "identity":
        return run_identity(args)
    if case.startswith("demo-remove:"):
        return run_demo_remove(case.split(":", 1)[1], args)
    if case == "kitchen-remove":
        return run_kitchen_remove(args)
    if case == "davis-remove":
        return run_davis_remove(args)
    if case.startswith("novel-views:"):
        return run_novel_views(case.split(":", 1)[1], args)
    if case == "speed":
        return run_speed(args)
    raise ValueError(f"unknown case {case!r}; expected one of {', '.join(CASES)}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for the shots and renders (default: a temporary folder, removed after); "
                             "a reconstruction found there with the same arguments is reused")
    parser.add_argument("--kitchen-end", type=int, default=None,
                        help="kitchen: source frame to stop before (default: all 300; the speed case wants all)")
    parser.add_argument("--kitchen-stride", type=int, default=1, help="kitchen: use every Nth frame (default 1)")
    parser.add_argument("--davis-clip", default="blackswan", help="DAVIS clip under shared/data/davis (default blackswan)")
    parser.add_argument("--davis-end", type=int, default=None, help="DAVIS: source frame to stop before (default: all)")


def data_folder(case: str) -> Path | None:
    if case in ("kitchen-remove", "novel-views:kitchen", "speed"):
        return KITCHEN
    if case == "davis-remove":
        return DAVIS
    return None


def report(results: list[dict[str, Any]], args: argparse.Namespace) -> Report:
    by_case = {r["case"]: r for r in results}
    tables = []
    identity = by_case.get("identity", {})
    tables.append(print_table(
        "identity: the demo clip reconstructed and rendered unedited, against the decoded input frames",
        [identity] if identity.get("ok") else [],
        [("frames", "frames"), ("max_abs_diff", "max abs diff"), ("differing_pixel_share", "pixels differing"),
         ("differing_frames", "frames differing"), ("fps", "render frames/s"), ("reconstruct_secs", "reconstruct s")],
    ))
    demo = [r for r in results if r["case"].startswith("demo-remove:") and r.get("ok")]
    tables.append(print_table(
        "demo-remove: one object deleted; inside the revealed region (true instance maps) against the demo "
        "rendered without it (PSNR dB; seen = some other frame saw the background there; filled = the render's counts "
        "of the pixels it filled, revealed = the EXR source channel inside the revealed region); stability = mean abs "
        "difference (0–255) of consecutive frames warped with the true cameras and depth (lower is steadier; "
        "truth = the floor of the warp itself); ratio = baseline / ours",
        demo,
        [("object", "object"), ("revealed_px_per_frame", "revealed px/frame"), ("seen_share", "seen share"),
         ("psnr_revealed", "PSNR"), ("psnr_seen", "PSNR seen"), ("psnr_unseen", "PSNR unseen"),
         ("baseline_psnr_revealed", "base PSNR"), ("baseline_psnr_seen", "base PSNR seen"),
         ("real_share", "filled real"), ("invented_share", "filled invented"),
         ("revealed_reprojected_share", "revealed reproj."), ("revealed_invented_share", "revealed invented"),
         ("revealed_plate_share", "revealed left plate"), ("stability", "stability"), ("baseline_stability", "base stability"),
         ("truth_stability", "truth"), ("stability_ratio", "ratio"), ("stability_over_truth", "ours/truth"),
         ("outside_max_abs_diff", "outside max diff")],
    ))
    real = [r for r in results if r["case"] in ("kitchen-remove", "davis-remove") and r.get("ok")]
    tables.append(print_table(
        "Real footage, one static (kitchen: the mug) or moving (DAVIS) object deleted: share of filled pixels "
        "from real views vs invented (render's counts); stability in the reconstruction's mask of the object, "
        "warped with its cameras and the edited scene's depth (plate = the undeleted footage, for scale)",
        real,
        [("case", "case"), ("frames", "frames"), ("region_px_per_frame", "region px/frame"), ("real_share", "real"),
         ("invented_share", "invented"), ("stability", "stability"), ("baseline_stability", "base stability"),
         ("plate_stability", "plate"), ("stability_ratio", "ratio"), ("stability_measured_share", "measured"),
         ("depth_interpolated_share", "depth interpolated"),
         ("unchanged_inside_region_share", "region left plate"), ("fps", "render frames/s")],
    ))
    novel_rows = [
        {"clip": r["clip"], "mode": m, "held_out": r["held_out"], "psnr": r.get(f"{m}_psnr"), "psnr_mean": r.get(f"{m}_psnr_mean"),
         "ssim": r.get(f"{m}_ssim"), "equal": r.get(f"{m}_held_frames_equal_to_plate"), "error": r.get(f"{m}_error")}
        for r in results if r["case"].startswith("novel-views:") and r.get("ok") for m in ("composite", "cg")
    ]
    tables.append(print_table(
        f"novel-views: every {HOLD_OUT_EVERY}th frame held out, against the input frames (all pixels; PSNR pooled over "
        "the frames, SSIM mean); the reconstruction saw every frame, held-out ones included",
        novel_rows,
        [("clip", "clip"), ("mode", "mode"), ("held_out", "held out"), ("psnr", "PSNR"), ("psnr_mean", "PSNR mean"),
         ("ssim", "SSIM"), ("equal", "held frames = plate"), ("error", "error")],
    ))
    novel = by_case.get("novel-views:kitchen", {})
    tables.append(print_table(
        "Speed and memory (render: render_scene alone; case peak MB includes a reconstruction made in the case)",
        results,
        [("case", "case"), ("frames", "frames"), ("fps", "render frames/s"), ("secs", "render s"),
         ("render_peak_mb", "render peak MB"), ("reconstruct_secs", "reconstruct s"), ("peak_memory_mb", "case peak MB"),
         ("load_average_at_start", "load"), ("error", "error")],
    ))
    verdict: dict[str, bool] = {}
    for r in results:
        if not r.get("ok"):
            verdict[f"{r['case']}_ran"] = False
    if identity.get("ok"):
        verdict["identity_max_abs_diff_eq_0"] = identity["max_abs_diff"] == 0
    for r in demo:
        if r.get("psnr_seen") is not None:
            verdict[f"demo_remove_{r['object']}_psnr_seen_ge_30dB"] = r["psnr_seen"] >= TARGETS["psnr_seen_db"]
        verdict[f"demo_remove_{r['object']}_stability_ge_3x_baseline"] = (r.get("stability_ratio") or 0) >= TARGETS["stability_ratio"]
    for r in real:
        verdict[f"{r['case']}_stability_ge_3x_baseline"] = (r.get("stability_ratio") or 0) >= TARGETS["stability_ratio"]
    if novel.get("ok"):
        verdict["novel_views_kitchen_composite_psnr_ge_20dB"] = novel["composite_psnr"] >= TARGETS["novel_psnr_db"]
    speed = by_case.get("speed", {})
    if speed.get("ok"):
        verdict["speed_ge_15_fps"] = speed["fps"] >= TARGETS["fps"]
        verdict["speed_render_peak_le_4GB"] = speed["render_peak_mb"] <= TARGETS["peak_mb"]
    return Report([t for t in tables if t], targets=verdict, also=f" and strips in {args.out / 'composite'}")


BENCHMARK = Benchmark(
    name="composite", module="tests.bench.bench_composite", description=__doc__, cases=CASES, run_case=run_case,
    report=report, add_arguments=add_arguments, forward=("--work", "--kitchen-end", "--kitchen-stride", "--davis-clip", "--davis-end"),
    around_cases=work_folder("bench_composite_"), data_folder=data_folder,
)

if __name__ == "__main__":
    sys.exit(main(BENCHMARK))
