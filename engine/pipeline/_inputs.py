"""The reconstruct job's inputs from the user's files: the output folder, known intrinsics, ignore masks."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from sceneforge.reconstruct import IMAGE_SUFFIXES
from sceneforge.scenegraph import Frames, InputError, OutputExistsError, SceneFileError
from sceneforge.scenegraph.files import remove_stale_temporaries

from ._config import RUN_FOLDER

__all__ = ["prepare_output", "load_intrinsics_file", "load_ignore_masks", "input_fingerprint"]


def prepare_output(output: Path, *, force: bool) -> None:
    """Create the shot folder, refusing to overwrite a scene (or a folder that is not ours) without ``force``."""
    if output.exists() and not output.is_dir():
        raise OutputExistsError(f"{output} exists and is not a folder; choose another -o")
    if output.exists():
        if (output / "scene.usda").exists() and not force:
            raise OutputExistsError(f"{output} already holds a scene; pass --force to overwrite it or choose another -o")
        ours = (output / RUN_FOLDER).is_dir() or (output / "scene.usda").exists()
        if not ours and any(output.iterdir()) and not force:
            raise OutputExistsError(
                f"{output} exists and is not empty (and is not a SceneForge shot); choose another -o or pass --force"
            )
    try:
        output.mkdir(parents=True, exist_ok=True)
        # written into before any long work: a read-only output fails here, in one line
        with tempfile.NamedTemporaryFile(dir=output, prefix=".write-check.", delete=True):
            pass
    except OSError as exc:
        raise SceneFileError(f"cannot write into {output}: {exc.strerror or exc}; choose a writable -o") from exc
    run = output / RUN_FOLDER
    for folder in (output, output / "textures", run, *(sorted(p for p in run.rglob("*") if p.is_dir()) if run.is_dir() else [])):
        remove_stale_temporaries(folder)  # what a killed run left (it never got to clean up)


def load_intrinsics_file(path: Path) -> np.ndarray:
    """Read a 3×3 K from a text file (9 numbers) or a JSON file (``{"K": [[...]]}``)."""
    if not path.exists():
        raise InputError(f"intrinsics file not found: {path}")
    text = path.read_text()
    try:
        if path.suffix.lower() == ".json":
            k = np.asarray(json.loads(text)["K"], dtype=np.float64)
        else:
            k = np.array(text.replace(",", " ").split(), dtype=np.float64)
        k = k.reshape(3, 3)
    except (ValueError, KeyError, json.JSONDecodeError) as exc:
        raise InputError(
            f"{path} must hold a 3×3 K (9 numbers, or JSON with a 'K' entry), got something else ({exc})"
        ) from exc
    bad = int(np.count_nonzero(~np.isfinite(k)))
    if bad:
        raise InputError(f"the K in {path} has {bad} non-finite value(s); give 9 finite numbers")
    return k


def load_ignore_masks(path: Path, frames: Frames) -> np.ndarray:
    """Masks of regions the solve ignores, resized to the frames: H×W or N×H×W bool.

    ``path`` is one image (used for every frame) or a folder with one image per source
    frame (sorted by name, indexed by source frame number). Non-zero pixels are ignored.
    """
    import cv2

    def load(file: Path) -> np.ndarray:
        image = cv2.imread(str(file), cv2.IMREAD_GRAYSCALE)
        if image is None:
            raise InputError(f"cannot read mask image {file}; pass a PNG or JPEG")
        h, w = image.shape
        if abs(h / w - frames.height / frames.width) > 0.01 * frames.height / frames.width:
            source = f"{round(frames.width / frames.scale)}×{round(frames.height / frames.scale)}"
            raise InputError(f"mask {file.name} is {w}×{h}, not the shape of the {source} video; give a mask of the video's size")
        return cv2.resize(image, (frames.width, frames.height), interpolation=cv2.INTER_NEAREST) > 0

    if not path.exists():
        raise InputError(f"mask not found: {path}")
    if path.is_file():
        return load(path)
    files = sorted(f for f in path.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
    if len(files) <= int(frames.frame_numbers[-1]):
        raise InputError(
            f"mask folder {path} has {len(files)} images but the clip's frames reach frame {int(frames.frame_numbers[-1])}; "
            "give one mask per source frame"
        )
    return np.stack([load(files[int(i)]) for i in frames.frame_numbers])


def input_fingerprint(path: Path) -> dict[str, Any]:
    """What identifies an input file for the stage cache: its path, size and modification time."""
    stat = path.stat()
    return {"path": str(path.resolve()), "size": stat.st_size, "mtime": stat.st_mtime_ns}
