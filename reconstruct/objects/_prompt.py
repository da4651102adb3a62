"""What a person points at: the object prompt (box, points, mask or words on one frame) and
the command line's ``--object`` syntax.

Pixel coordinates follow DESIGN.md: x right, y down, the centre of pixel (row i, col j)
at ``(j + 0.5, i + 0.5)``; a box ``(x0, y0, x1, y1)`` covers the pixels whose centres lie
in ``[x0, x1) × [y0, y1)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sceneforge.scenegraph import InputError, ShapeError, check_array

__all__ = ["ObjectPrompt", "parse_object_prompt"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SYNTAX = (
    "NAME=box:x0,y0,x1,y1@FRAME, NAME=points:x,y,+;x,y,-@FRAME, NAME=mask:file.png@FRAME "
    "or NAME=text:words@FRAME (text needs --segmenter sam3)"
)


@dataclass(frozen=True, eq=False)
class ObjectPrompt:
    """A person's pointer at one object on one frame.

    Give a ``mask``, or a ``box``, or ``points`` (a box and points together also work: the
    points then correct the box's cut, as in SAM), or ``text``: words naming the object on
    that frame, for a backend that reads them (SAM 3); one text prompt is one object.

    Attributes:
        name: the object's name; it becomes the USD prim ``/World/Objects/<name>``, so it must
            be a USD identifier (letters, digits and ``_``, not starting with a digit).
        frame: index of the prompted frame in the clip (0-based position, not the source
            frame number).
        box: ``(x0, y0, x1, y1)`` in pixels of that frame, x right, y down, ``x0 < x1``, ``y0 < y1``.
        points: N×2 float64 pixel coordinates ``(x, y)`` of clicks on that frame.
        labels: N bool, True for a point on the object, False for one on the background;
            all True when points come without labels.
        mask: H×W bool, True on the object (at the frame's size, or the same aspect ratio).
        text: words naming the object on that frame (``"the red chair"``); alone, without a
            box, points or mask.
    """

    name: str
    frame: int = 0
    box: tuple[float, float, float, float] | None = None
    points: np.ndarray | None = None
    labels: np.ndarray | None = None
    mask: np.ndarray | None = None
    text: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise InputError(
                f"object name must be a USD identifier (letters, digits, _; not starting with a digit), "
                f"got {self.name!r}; rename it, e.g. 'chair_1'"
            )
        if isinstance(self.frame, bool) or not isinstance(self.frame, (int, np.integer)) or self.frame < 0:
            raise InputError(f"prompt frame must be a frame index ≥ 0, got {self.frame!r}")
        object.__setattr__(self, "frame", int(self.frame))
        if self.text is not None:
            if not isinstance(self.text, str) or not self.text.strip():
                raise InputError(f"object {self.name!r}: text must name the object in words, got {self.text!r}")
            if self.box is not None or self.points is not None or self.mask is not None or self.labels is not None:
                raise InputError(f"object {self.name!r}: give a text or a box/points/mask, not both")
            object.__setattr__(self, "text", " ".join(self.text.split()))
            return
        if self.mask is not None:
            if self.box is not None or self.points is not None:
                raise InputError(f"object {self.name!r}: give a mask or a box/points, not both")
            mask = check_array(self.mask, "prompt mask", shape=(None, None), dtype=bool, hint="pass an H×W bool mask")
            if not mask.any():
                raise InputError(f"object {self.name!r}: the prompt mask is empty; mark the object's pixels True")
            mask = mask.copy()
            mask.setflags(write=False)
            object.__setattr__(self, "mask", mask)
            return
        if self.box is None and self.points is None:
            raise InputError(f"object {self.name!r}: a prompt needs a box, points, a mask or a text, got none")
        if self.box is not None:
            box = tuple(float(v) for v in np.asarray(self.box, dtype=np.float64).reshape(-1))
            if len(box) != 4 or not all(np.isfinite(box)) or not (box[0] < box[2] and box[1] < box[3]):
                raise InputError(f"object {self.name!r}: box must be 4 finite numbers x0,y0,x1,y1 with x0 < x1 and y0 < y1, got {self.box}")
            object.__setattr__(self, "box", box)
        if self.points is not None:
            points = np.array(self.points, dtype=np.float64)
            if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
                raise ShapeError(
                    f"object {self.name!r}: points must be N×2 (x, y) with N ≥ 1, got shape {points.shape}",
                    expected=(None, 2), actual=points.shape,
                )
            if not np.all(np.isfinite(points)):
                raise InputError(f"object {self.name!r}: points must be finite pixel coordinates")
            labels = np.ones(len(points), bool) if self.labels is None else np.array(self.labels)
            if labels.shape != (len(points),) or labels.dtype != bool:
                raise ShapeError(
                    f"object {self.name!r}: labels must be {len(points)} bool (True = on the object), "
                    f"got {labels.shape} {labels.dtype}",
                    expected=(len(points),), actual=labels.shape,
                )
            if self.box is None and not labels.any():
                raise InputError(f"object {self.name!r}: points need at least one positive (on-object) point")
            points.setflags(write=False)
            labels = labels.copy()
            labels.setflags(write=False)
            object.__setattr__(self, "points", points)
            object.__setattr__(self, "labels", labels)
        elif self.labels is not None:
            raise InputError(f"object {self.name!r}: labels given without points")

    @property
    def kind(self) -> str:
        """``"text"``, ``"mask"``, ``"box"``, ``"points"`` or ``"box+points"``."""
        if self.text is not None:
            return "text"
        if self.mask is not None:
            return "mask"
        return "+".join(k for k, v in (("box", self.box), ("points", self.points)) if v is not None)


def parse_object_prompt(text: str, *, base_dir: str | Path | None = None) -> ObjectPrompt:
    """Parse the command line's ``--object`` syntax.

    ``NAME=box:x0,y0,x1,y1@FRAME``, ``NAME=points:x,y,+;x,y,-@FRAME`` (the sign is optional,
    ``+`` = on the object), ``NAME=mask:path.png@FRAME`` or ``NAME=text:the red chair@FRAME``
    (words, which may hold spaces and commas; answered by a text-promptable segmenter such as
    SAM 3, one prompt = one object); ``@FRAME`` (a 0-based frame index) defaults to 0. A mask
    image marks the object with its non-zero pixels (its alpha channel when it has one).

    Args:
        text: one ``--object`` value, e.g. ``"chair=box:120,80,300,260@12"``.
        base_dir: folder that a relative mask path is read from (default: the working directory).

    Raises:
        InputError: on a malformed value or an unreadable or empty mask image (one line, with
            the expected syntax).
    """
    if not isinstance(text, str) or "=" not in text:
        raise InputError(f"--object must be {_SYNTAX}, got {text!r}")
    name, _, spec = text.partition("=")
    name = name.strip()
    frame = 0
    at = re.search(r"@\s*(-?\d+)\s*\Z", spec)
    if at:
        frame = int(at.group(1))
        if frame < 0:
            raise InputError(f"--object {name}: frame must be a 0-based index ≥ 0, got {frame}")
        spec = spec[: at.start()]
    kind, colon, args = spec.partition(":")
    kind, args = kind.strip().lower(), args.strip()
    if not colon or not args:
        raise InputError(f"--object {name}: expected {_SYNTAX}, got {text!r}")
    if kind == "box":
        try:
            values = [float(v) for v in args.split(",")]
        except ValueError:
            values = []
        if len(values) != 4:
            raise InputError(f"--object {name}: box must be 4 numbers x0,y0,x1,y1 in pixels, got {args!r}")
        return ObjectPrompt(name=name, frame=frame, box=tuple(values))
    if kind == "points":
        points, labels = [], []
        for item in filter(None, (p.strip() for p in args.split(";"))):
            parts = [p.strip() for p in item.split(",")]
            sign = "+"
            if len(parts) == 3:
                sign = parts.pop()
            elif len(parts) == 2 and parts[1][-1:] in "+-" and len(parts[1]) > 1:
                parts[1], sign = parts[1][:-1], parts[1][-1]
            try:
                x, y = (float(p) for p in parts)
            except ValueError:
                x = y = None
            if x is None or sign not in ("+", "-"):
                raise InputError(f"--object {name}: each point must be x,y,+ or x,y,- (separated by ';'), got {item!r}")
            points.append((x, y))
            labels.append(sign == "+")
        if not points:
            raise InputError(f"--object {name}: points needs at least one x,y; got {args!r}")
        return ObjectPrompt(name=name, frame=frame, points=np.array(points), labels=np.array(labels))
    if kind == "text":
        return ObjectPrompt(name=name, frame=frame, text=args)
    if kind == "mask":
        path = Path(args).expanduser()
        if base_dir is not None and not path.is_absolute():
            path = Path(base_dir) / path
        return ObjectPrompt(name=name, frame=frame, mask=_read_mask(path, name))
    raise InputError(f"--object {name}: unknown prompt kind {kind!r}; expected box, points, mask or text ({_SYNTAX})")


def _read_mask(path: Path, name: str) -> np.ndarray:
    import cv2

    if not path.is_file():
        raise InputError(f"--object {name}: mask image {str(path)!r} does not exist")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise InputError(f"--object {name}: cannot read {str(path)!r} as an image; pass a PNG whose non-zero pixels mark the object")
    if image.ndim == 3:
        image = image[..., 3] if image.shape[2] == 4 else image.max(axis=2)
    mask = image > 0
    if not mask.any():
        raise InputError(f"--object {name}: mask image {str(path)!r} is all zero; its non-zero pixels must mark the object")
    return mask
