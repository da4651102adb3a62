"""Command-line options generated from config dataclasses: an option and its default are written once.

A config field's docstring (the string literal under it, as nerfstudio writes them) is its
help text; its type gives the parser (``int``, ``float``, ``bool``, ``str``, ``Path``,
``Literal[...]`` as choices, a tuple of numbers as ``a,b``; ``X | None`` takes ``X``); its
default is shown in the help. A field may carry :func:`option` metadata for what the type
cannot say: the flag's spelling, its group, a stricter parser, a ``--no-…`` switch.

Written here rather than taken from ``tyro`` because the CLI keeps its own established
flags (``--focal``, ``--no-background``, ``--object`` repeated, ``--max-size 0`` for "keep"),
which a small generator honours in a few lines of metadata; tyro would rename them.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import functools
import inspect
import textwrap
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "CliOption",
    "option",
    "field_docs",
    "simple_fields",
    "add_config_arguments",
    "config_kwargs_from_args",
    "parse_value",
    "int_at_least",
    "positive_float",
]

_NO_DEFAULT = dataclasses.MISSING


@dataclasses.dataclass(frozen=True)
class CliOption:
    """How one config field appears on the command line (see :func:`option`)."""

    flag: str | None = None
    """The flag (``--focal``); default ``--`` + the field name with dashes. A positional when it has no dashes."""
    group: str | None = None
    """The help group the option is listed under."""
    parse: Callable[[str], Any] | None = None
    """The argparse type; default: from the field's type."""
    metavar: str | None = None
    negate: bool = False
    """A bool field that defaults to True, switched off by this flag (``--no-background``)."""
    repeat: bool = False
    """A tuple field filled by repeating the flag (``--object a --object b``)."""
    zero_means_none: bool = False
    """``0`` on the command line stands for None (``--max-size 0`` keeps the size)."""
    exclusive: str | None = None
    """Options sharing this name are mutually exclusive."""
    required: bool = False
    short: str | None = None
    """A one-letter alias (``-o``)."""
    choices: tuple[str, ...] | None = None
    """The values allowed (default: a ``Literal`` field's)."""
    hidden: bool = False
    """Not on the command line (set by Python callers only)."""


def option(default: Any = _NO_DEFAULT, *, default_factory: Any = _NO_DEFAULT, **cli: Any) -> Any:
    """A dataclass field with command-line metadata (keyword arguments of :class:`CliOption`)."""
    meta = {"cli": CliOption(**cli)}
    if default_factory is not _NO_DEFAULT:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """Field name → the docstring written under it, for ``cls`` and its dataclass bases."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        try:
            source = textwrap.dedent(inspect.getsource(klass))
        except (OSError, TypeError):
            continue
        body = ast.parse(source).body[0].body  # type: ignore[attr-defined]
        for node, nxt in zip(body, body[1:]):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(nxt, ast.Expr)
                and isinstance(nxt.value, ast.Constant)
                and isinstance(nxt.value.value, str)
            ):
                docs[node.target.id] = " ".join(inspect.cleandoc(nxt.value.value).split())
    return docs


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def _scalar_parser(tp: Any) -> Callable[[str], Any] | None:
    if tp is bool:
        return _parse_bool
    if tp in (int, float, str):
        return _typed(tp)
    if tp is Path:
        return Path
    if typing.get_origin(tp) is Literal:
        return str
    return None


def parser_for(tp: Any) -> Callable[[str], Any] | None:
    """The text parser of a field type, or None when the type has no command-line form."""
    inner, _ = _unwrap_optional(tp)
    scalar = _scalar_parser(inner)
    if scalar is not None:
        return scalar
    if typing.get_origin(inner) is tuple:
        args = typing.get_args(inner)
        if args and args[-1] is not Ellipsis and all(a in (int, float) for a in args):
            return _number_tuple(tuple(args))
    return None


def _choices(tp: Any) -> tuple[str, ...] | None:
    inner, _ = _unwrap_optional(tp)
    if typing.get_origin(inner) is Literal:
        return tuple(str(a) for a in typing.get_args(inner))
    return None


def _typed(tp: type) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            return tp(text)
        except ValueError:
            kind = {int: "a whole number", float: "a number"}.get(tp, tp.__name__)
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None

    parse.__name__ = tp.__name__
    return parse


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def _number_tuple(kinds: tuple[type, ...]) -> Callable[[str], tuple]:
    def parse(text: str) -> tuple:
        parts = text.split(",")
        if len(parts) != len(kinds):
            raise argparse.ArgumentTypeError(f"expected {len(kinds)} comma-separated numbers, got {text!r}")
        try:
            return tuple(kind(p) for kind, p in zip(kinds, parts))
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {len(kinds)} comma-separated numbers, got {text!r}") from None

    return parse


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number ≥ ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a number ≥ {minimum}, got {value}")
        return value

    return parse


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def parse_value(tp: Any, text: str) -> Any:
    """``text`` parsed as a value of field type ``tp`` (``none`` for an optional field's None).

    Raises:
        argparse.ArgumentTypeError: the text is not such a value.
    """
    inner, optional = _unwrap_optional(tp)
    if optional and text.strip().lower() == "none":
        return None
    parse = parser_for(inner)
    if parse is None:
        raise argparse.ArgumentTypeError(f"options of type {tp} cannot be given on the command line")
    value = parse(text)
    choices = _choices(inner)
    if choices is not None and value not in choices:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(choices)}, got {text!r}")
    return value


def simple_fields(cls: type, *, exclude: Iterable[str] = ()) -> list[tuple[dataclasses.Field, Any]]:
    """The fields of config ``cls`` that have a command-line form, with their resolved types."""
    hints = typing.get_type_hints(cls)
    skip = set(exclude)
    out = []
    for f in dataclasses.fields(cls):
        if f.name in skip or f.name.startswith("_") or not f.init:
            continue
        if parser_for(hints[f.name]) is not None:
            out.append((f, hints[f.name]))
    return out


def _default_of(f: dataclasses.Field) -> Any:
    if f.default is not _NO_DEFAULT:
        return f.default
    if f.default_factory is not _NO_DEFAULT:  # type: ignore[misc]
        return f.default_factory()  # type: ignore[misc]
    return _NO_DEFAULT


def _format_default(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def add_config_arguments(
    parser: argparse.ArgumentParser,
    cls: type,
    *,
    groups: Mapping[str, str] | None = None,
    exclude: Iterable[str] = (),
) -> None:
    """Add one argument per command-line field of config dataclass ``cls`` to ``parser``.

    Help is the field's docstring plus its default; ``groups`` gives each group's description.
    Fields marked ``hidden`` and those in ``exclude`` are left out.
    """
    docs = field_docs(cls)
    hints = typing.get_type_hints(cls)
    made_groups: dict[str, Any] = {}
    exclusive: dict[str, Any] = {}
    skip = set(exclude)
    for f in dataclasses.fields(cls):
        spec: CliOption = f.metadata.get("cli", CliOption())
        if spec.hidden or f.name in skip:
            continue
        tp = hints[f.name]
        doc = docs.get(f.name, "")
        if not doc:
            raise TypeError(f"{cls.__name__}.{f.name} has no docstring to use as its help")
        target: Any = parser
        if spec.group is not None:
            if spec.group not in made_groups:
                made_groups[spec.group] = parser.add_argument_group(spec.group, (groups or {}).get(spec.group))
            target = made_groups[spec.group]
        if spec.exclusive is not None:
            if spec.exclusive not in exclusive:
                exclusive[spec.exclusive] = target.add_mutually_exclusive_group()
            target = exclusive[spec.exclusive]
        default = _default_of(f)
        flag = spec.flag or "--" + f.name.replace("_", "-")
        names = [flag] if spec.short is None else [spec.short, flag]
        if not flag.startswith("-"):
            target.add_argument(flag, type=spec.parse or parser_for(tp), help=_sentence(doc), metavar=spec.metavar)
            continue
        kwargs: dict[str, Any] = {"dest": f.name}
        inner, _ = _unwrap_optional(tp)
        if inner is bool and spec.negate:
            kwargs.update(action="store_false", default=True, help=f"turn off: {_lower_first(_sentence(doc))}")
        elif inner is bool:
            kwargs.update(action="store_true", default=False, help=_sentence(doc))
        elif spec.repeat:
            kwargs.update(action="append", default=[], type=spec.parse or str, help=_sentence(doc), metavar=spec.metavar)
        else:
            kwargs.update(type=spec.parse or parser_for(tp), metavar=spec.metavar, help=_sentence(doc))
            choices = spec.choices or _choices(tp)
            if choices is not None:
                kwargs["choices"] = choices
            if spec.required or default is _NO_DEFAULT:
                kwargs["required"] = True
            else:
                kwargs["default"] = default
                if default is not None:
                    kwargs["help"] += f" (default {_format_default(default)})"
        target.add_argument(*names, **kwargs)


def config_kwargs_from_args(cls: type, args: argparse.Namespace, *, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """The keyword arguments of ``cls`` that ``args`` (parsed by :func:`add_config_arguments`) holds."""
    out: dict[str, Any] = {}
    skip = set(exclude)
    for f in dataclasses.fields(cls):
        spec: CliOption = f.metadata.get("cli", CliOption())
        if spec.hidden or f.name in skip or not hasattr(args, f.name):
            continue
        value = getattr(args, f.name)
        if spec.zero_means_none and value == 0:
            value = None
        if spec.repeat:
            value = tuple(value)
        out[f.name] = value
    return out


def _sentence(doc: str) -> str:
    """A docstring as argparse help: no trailing period, ``%`` escaped."""
    text = doc[:-1] if doc.endswith(".") else doc
    return text.replace("%", "%%")


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
