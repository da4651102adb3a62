"""Shared pieces of the benchmarks: data paths and the camera metrics. Running the cases,
the tables and the JSON are the harness's (``_harness.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sceneforge.scenegraph import rotation_angle, similarity_from_points

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data"


def camera_centre_errors(est_centres: np.ndarray, gt_centres: np.ndarray) -> tuple[np.ndarray, Any]:
    """Per-frame distance after the least-squares similarity (Umeyama) that maps estimate onto truth."""
    sim = similarity_from_points(est_centres, gt_centres)
    return np.linalg.norm(sim.apply_points(est_centres) - gt_centres, axis=1), sim


def similarity_with_offset(est_world_from_cam: np.ndarray, gt_centres: np.ndarray, iterations: int = 20) -> tuple[Any, np.ndarray]:
    """The similarity mapping estimate onto truth when the alignment also fits one constant
    offset in the camera frame, and that offset (estimate's units, camera axes).

    Ground-truth poses that belong to a second sensor rigidly mounted beside the camera
    (7-Scenes: the depth camera) differ from the camera by such an offset; fitting it keeps
    the offset from biasing the similarity's scale.
    """
    offset = np.zeros(3)
    for _ in range(iterations):
        centres = est_world_from_cam[:, :3, 3] + est_world_from_cam[:, :3, :3] @ offset
        sim = similarity_from_points(centres, gt_centres)
        # gt ≈ s R (c + R_i o) + t, linear in o
        a = (sim.scale * sim.rotation @ est_world_from_cam[:, :3, :3]).reshape(-1, 3)
        b = (gt_centres - sim.apply_points(est_world_from_cam[:, :3, 3])).reshape(-1)
        offset = np.linalg.lstsq(a, b, rcond=None)[0]
    centres = est_world_from_cam[:, :3, 3] + est_world_from_cam[:, :3, :3] @ offset
    return similarity_from_points(centres, gt_centres), offset


def ate_with_offset(est_world_from_cam: np.ndarray, gt_centres: np.ndarray, iterations: int = 20) -> float:
    """RMSE (same units as truth) when the alignment also fits one constant offset in the camera
    frame (see :func:`similarity_with_offset`)."""
    sim, offset = similarity_with_offset(est_world_from_cam, gt_centres, iterations)
    centres = est_world_from_cam[:, :3, 3] + est_world_from_cam[:, :3, :3] @ offset
    errors = np.linalg.norm(sim.apply_points(centres) - gt_centres, axis=1)
    return float(np.sqrt(np.mean(errors**2)))


def rotation_errors_deg(est_world_from_cam: np.ndarray, gt_world_from_cam: np.ndarray) -> np.ndarray:
    """Per-frame angle between estimated and true camera orientations, in degrees, after the one
    world rotation that best aligns the orientations (chordal mean).

    Fitted on the orientations themselves rather than taken from the camera-centre
    similarity, which leaves the rotation about a straight camera path undetermined.
    """
    est_r, gt_r = est_world_from_cam[:, :3, :3], gt_world_from_cam[:, :3, :3]
    u, _, vt = np.linalg.svd(np.sum(gt_r @ np.swapaxes(est_r, -1, -2), axis=0))
    align = u @ np.diag([1.0, 1.0, np.linalg.det(u @ vt)]) @ vt
    relative = np.swapaxes(gt_r, -1, -2) @ align @ est_r
    return np.degrees(rotation_angle(relative))


def relative_pose_auc(est_world_from_cam: np.ndarray, gt_world_from_cam: np.ndarray, threshold_deg: float = 30.0) -> dict[str, float]:
    """Rotation and translation-direction AUC@threshold over all frame pairs (as the VGGT paper reports)."""
    n = len(est_world_from_cam)
    r_err, t_err = [], []
    for i in range(n):
        for j in range(i + 1, n):
            rel_e = np.linalg.inv(est_world_from_cam[i]) @ est_world_from_cam[j]
            rel_g = np.linalg.inv(gt_world_from_cam[i]) @ gt_world_from_cam[j]
            r_err.append(float(np.degrees(rotation_angle(rel_e[:3, :3].T @ rel_g[:3, :3]))))
            te, tg = rel_e[:3, 3], rel_g[:3, 3]
            denom = np.linalg.norm(te) * np.linalg.norm(tg)
            cos = float(np.dot(te, tg) / denom) if denom > 1e-12 else 1.0
            t_err.append(float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))))

    def auc(errors: list[float]) -> float:
        e = np.sort(np.minimum(np.asarray(errors), threshold_deg))
        recall = np.arange(1, len(e) + 1) / len(e)
        e = np.concatenate([[0.0], e])
        recall = np.concatenate([[0.0], recall])
        area = np.trapezoid(recall, e) if hasattr(np, "trapezoid") else np.trapz(recall, e)
        return float(area / threshold_deg)

    return {"rotation_auc30": auc(r_err), "translation_auc30": auc(t_err), "pose_auc30": auc(list(np.maximum(r_err, t_err)))}


def demo_module():
    """The demo clip's generator (``assets/demo/generate.py``) as a module: its cameras, renderer and truth."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("sceneforge_demo_generate", ROOT / "assets" / "demo" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module
