"""Edits as data: a list of small dicts that replays the same edits on a scene, reproducibly.

The command line turns each ``sceneforge edit`` call into one such dict, and ``--apply
edits.json`` replays a whole list, so both go through :func:`apply_edits` and do exactly
what the Python API does. An edit list is JSON like::

    [
      {"op": "move", "object": "chair", "by": [0.4, 0, 0]},
      {"op": "rotate", "object": "chair", "y_deg": 30},
      {"op": "delete", "object": "lamp"},
      {"op": "insert", "asset": "teapot.glb", "name": "teapot", "on": "ground"},
      {"op": "camera", "move": "orbit", "degrees": 15}
    ]

Ops and their keys (``object`` names an object, ``background``, or a light):

=============  ==========================================================================
``move``       ``object``; ``by`` (dx, dy, dz) or ``to`` (x, y, z) — scene units; with ``frame``,
               a key at that source frame only (animation)
``rotate``     ``object``; ``x_deg``, ``y_deg``, ``z_deg``; ``about`` ("center", "origin", or x, y, z)
``scale``      ``object``; ``by`` (a factor or 3); ``about``
``delete``     ``object`` (deactivated, never destroyed)
``show``       ``object``, ``visible`` (true / false)
``color``      ``object``, ``rgb`` (3 numbers in 0..1, linear)
``duplicate``  ``object``, ``as`` (the new name)
``rename``     ``object``, ``to`` (the new name)
``reset``      ``object`` (or ``"camera"``): drop all of its edits
``insert``     ``asset`` (path, relative to the edit list's folder), ``name``; ``on`` ("ground" or
               null), ``position``, ``scale_to``, ``units_m``, ``up_axis``
``light``      ``name``; ``kind`` ("distant", "sphere", "dome"), ``intensity``, ``color``, ``exposure``
``scale_scene`` ``meters_per_unit`` (metres in one scene unit); ``how`` (a note), ``metric``
``camera``     ``move`` (orbit, dolly, push_in, pan, tilt, crane, zoom, ken_burns) and that move's
               keywords: ``degrees``, ``distance``, ``height``, ``factor``, ``frame``, ``num_frames``,
               ``push_in``, ``pan_deg``, ``pivot``, ``axis``, ``frames``, ``ease``
=============  ==========================================================================
"""

from __future__ import annotations

import difflib
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..types import InputError, SceneFileError

__all__ = ["EDIT_OPS", "CAMERA_MOVES", "apply_edits", "read_edit_list"]

log = logging.getLogger(__name__)

EDIT_OPS: tuple[str, ...] = (
    "move", "rotate", "scale", "delete", "show", "color", "duplicate", "rename", "reset", "insert", "light", "camera",
    "scale_scene",
)
"""The ``op`` names :func:`apply_edits` understands."""

CAMERA_MOVES: dict[str, frozenset[str]] = {
    "orbit": frozenset({"degrees", "pivot", "axis", "frames", "ease"}),
    "dolly": frozenset({"distance", "frames", "ease"}),
    "push_in": frozenset({"distance", "frames", "ease"}),
    "pan": frozenset({"degrees", "frames", "ease"}),
    "tilt": frozenset({"degrees", "frames", "ease"}),
    "crane": frozenset({"height", "frames", "ease"}),
    "zoom": frozenset({"factor", "frames", "ease"}),
    "ken_burns": frozenset({"frame", "num_frames", "push_in", "pan_deg", "ease"}),
}
"""Camera moves of the ``camera`` op and the keywords each takes."""

_KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # op: (required keys, optional keys), besides "op"
    "move": (frozenset({"object"}), frozenset({"by", "to", "frame"})),
    "rotate": (frozenset({"object"}), frozenset({"x_deg", "y_deg", "z_deg", "about"})),
    "scale": (frozenset({"object", "by"}), frozenset({"about"})),
    "delete": (frozenset({"object"}), frozenset()),
    "show": (frozenset({"object", "visible"}), frozenset()),
    "color": (frozenset({"object", "rgb"}), frozenset()),
    "duplicate": (frozenset({"object", "as"}), frozenset()),
    "rename": (frozenset({"object", "to"}), frozenset()),
    "reset": (frozenset({"object"}), frozenset()),
    "insert": (frozenset({"asset", "name"}), frozenset({"on", "position", "scale_to", "units_m", "up_axis"})),
    "light": (frozenset({"name"}), frozenset({"kind", "intensity", "color", "exposure"})),
    "camera": (frozenset({"move"}), frozenset().union(*CAMERA_MOVES.values())),
    "scale_scene": (frozenset({"meters_per_unit"}), frozenset({"how", "metric"})),
}


def read_edit_list(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON edit list (a list of op dicts, or ``{"edits": [...]}``).

    Raises:
        SceneFileError: the file is missing or is not valid JSON.
        InputError: the JSON is not a list of objects.
    """
    file = Path(path)
    try:
        data = json.loads(file.read_text())
    except FileNotFoundError:
        raise SceneFileError(f"edit list {str(file)!r} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SceneFileError(f"edit list {str(file)!r} is not readable JSON: {exc}") from None
    if isinstance(data, Mapping) and "edits" in data:
        data = data["edits"]
    if not isinstance(data, list) or not all(isinstance(item, Mapping) for item in data):
        raise InputError(f"edit list {str(file)!r} must be a JSON list of objects such as {{\"op\": \"move\", ...}}")
    return [dict(item) for item in data]


def apply_edits(scene: Any, edits: Sequence[Mapping[str, Any]], *, base_dir: str | Path | None = None) -> list[str]:
    """Apply ``edits`` to ``scene`` (a :class:`Scene`) as ONE undoable step; all or nothing.

    Every op is checked before any is applied; if one still fails while applying, the scene's
    edits layer is restored to what it was and the error is raised.

    Args:
        scene: the open scene.
        edits: op dicts (see the module docstring).
        base_dir: the folder relative asset paths are resolved against (the edit list's).

    Returns:
        One line per op saying what was done.

    Raises:
        InputError: an unknown op or key, a missing key, or a bad value (``edits[i]: ...``).
    """
    if isinstance(edits, (str, bytes, Mapping)) or not isinstance(edits, Sequence):
        raise InputError(f"edits must be a list of op dicts, got {type(edits).__name__}")
    checked = [_check_op(i, op) for i, op in enumerate(edits)]
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    done: list[str] = []
    with scene._recording(f"apply {len(checked)} edits"):  # noqa: SLF001 - the scene's own undo step
        for i, op in enumerate(checked):
            try:
                done.append(_apply_one(scene, op, base))
            except InputError as exc:
                raise type(exc)(f"edits[{i}] ({op['op']}): {exc}") from None
    return done


def _check_op(index: int, op: Any) -> dict[str, Any]:
    if not isinstance(op, Mapping):
        raise InputError(f"edits[{index}] must be a dict with an 'op' key, got {type(op).__name__}")
    name = op.get("op")
    if name not in _KEYS:
        raise InputError(f"edits[{index}] has op {name!r}; expected one of {', '.join(EDIT_OPS)}")
    required, optional = _KEYS[name]
    keys = set(op) - {"op"}
    missing = sorted(required - keys)
    if missing:
        raise InputError(f"edits[{index}] ({name}) needs {', '.join(missing)}")
    unknown = sorted(keys - required - optional)
    if unknown:
        raise InputError(f"edits[{index}] ({name}) does not take {', '.join(unknown)}; it takes {', '.join(sorted(required | optional))}")
    if name == "move" and ("by" in op) == ("to" in op):
        raise InputError(f"edits[{index}] (move) needs exactly one of 'by' and 'to'")
    if name == "camera":
        move = op["move"]
        if move not in CAMERA_MOVES:
            raise InputError(f"edits[{index}] (camera) has move {move!r}; expected one of {', '.join(CAMERA_MOVES)}")
        extra = sorted(keys - {"move"} - CAMERA_MOVES[move])
        if extra:
            raise InputError(f"edits[{index}] (camera {move}) does not take {', '.join(extra)}; it takes {', '.join(sorted(CAMERA_MOVES[move]))}")
    return dict(op)


def _target(scene: Any, name: Any) -> Any:
    """The handle an op's ``object`` names: an object, else the background or a light."""
    if not isinstance(name, str):
        raise InputError(f"object must be a name, got {name!r}")
    objects = scene.objects
    if name in objects:
        return objects[name]
    if name == "background" and scene.background is not None:
        return scene.background
    lights = scene.lights
    if name in lights:
        return lights[name]
    known = [*objects, *(["background"] if scene.background is not None else []), *lights]
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]!r}?" if close else (f"the scene has {', '.join(known)}" if known else "the scene has none")
    raise InputError(f"no object, background or light named {name!r}; {hint}")


def _xyz(value: Any, key: str) -> np.ndarray:
    try:
        out = np.asarray(value, dtype=np.float64).reshape(3)
    except (TypeError, ValueError):
        raise InputError(f"{key} must be 3 numbers, got {value!r}") from None
    if not np.all(np.isfinite(out)):
        raise InputError(f"{key} must be finite, got {value!r}")
    return out


def _apply_one(scene: Any, op: dict[str, Any], base: Path) -> str:
    kind = op["op"]
    if kind == "camera":
        args = {k: v for k, v in op.items() if k not in ("op", "move")}
        if "frames" in args and args["frames"] is not None:
            args["frames"] = tuple(args["frames"])
        getattr(scene.camera, op["move"])(**args)
        return f"camera {op['move']} " + " ".join(f"{k}={v}" for k, v in args.items())
    if kind == "insert":
        asset = Path(op["asset"]).expanduser()
        if not asset.is_absolute():
            asset = base / asset
        options = {k: op[k] for k in ("on", "position", "scale_to", "units_m", "up_axis") if k in op}
        scene.insert(asset, name=op["name"], **options)
        return f"inserted {asset.name} as {op['name']}"
    if kind == "light":
        options = {k: op[k] for k in ("kind", "intensity", "color", "exposure") if k in op}
        scene.add_light(op["name"], **options)
        return f"added light {op['name']}"
    if kind == "scale_scene":
        if not isinstance(op.get("metric", True), bool):
            raise InputError(f"metric must be true or false, got {op['metric']!r}")
        scene.set_meters_per_unit(op["meters_per_unit"], how=str(op.get("how", "set by an edit")), metric=op.get("metric", True))
        return f"scaled the scene: {scene.meters_per_unit:.4g} m per unit"
    if kind == "reset" and op["object"] == "camera":
        scene.camera.reset()
        return "reset the camera"
    handle = _target(scene, op["object"])
    if kind == "move" and op.get("frame") is not None:
        frame = op["frame"]
        if isinstance(frame, bool) or not isinstance(frame, (int, float)):
            raise InputError(f"frame must be a source frame number, got {frame!r}")
        world = handle.get_world_from_local(time=frame).copy()
        if "by" in op:
            world[:3, 3] += _xyz(op["by"], "by")
        else:
            world[:3, 3] = _xyz(op["to"], "to")
        handle.set_world_from_local(world, time=frame)
        return f"keyed {handle.name} at frame {frame}"
    if kind == "move":
        if "by" in op:
            handle.translate(op["by"])
            return f"moved {handle.name} by {op['by']}"
        handle.position = op["to"]
        return f"moved {handle.name} to {op['to']}"
    if kind == "rotate":
        handle.rotate(op.get("x_deg", 0.0), op.get("y_deg", 0.0), op.get("z_deg", 0.0), about=op.get("about", "center"))
        return f"rotated {handle.name}"
    if kind == "scale":
        handle.scale(op["by"], about=op.get("about", "center"))
        return f"scaled {handle.name} by {op['by']}"
    if kind == "delete":
        handle.remove()
        return f"deleted {handle.name}"
    if kind == "show":
        if not isinstance(op["visible"], bool):
            raise InputError(f"visible must be true or false, got {op['visible']!r}")
        handle.visible = op["visible"]
        return f"{'showed' if op['visible'] else 'hid'} {handle.name}"
    if kind == "color":
        handle.base_color = op["rgb"]
        return f"set the colour of {handle.name} to {op['rgb']}"
    if kind == "duplicate":
        handle.duplicate(op["as"])
        return f"duplicated {handle.name} as {op['as']}"
    if kind == "rename":
        handle.rename(op["to"])
        return f"renamed {handle.name} to {op['to']}"
    if kind == "reset":
        handle.reset()
        return f"reset {handle.name}"
    raise InputError(f"op {kind!r} is not handled")  # unreachable: _check_op knows every op
