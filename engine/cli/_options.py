"""Options shared by several subcommands: the one-line-error parser, ``reconstruct``'s options
(``batch`` takes them too, for every shot) and the backends' own ``--STAGE.OPTION`` options."""

from __future__ import annotations

import argparse
from typing import Any, NoReturn

from ..pipeline import GROUPS, ReconstructConfig
from ..registry import DEPTH, SOLVERS, STAGES, Registry, add_config_arguments, parse_value

__all__ = ["Parser", "add_backend_options", "add_reconstruct_options", "backend_options_from_args", "reconstruct_parser"]

_OPTION_DEST = "backend_option:{key}:{name}"


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``error: …``) like every other error, exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message}; see '{self.prog} --help'\n")


def add_reconstruct_options(parser: argparse.ArgumentParser, *, exclude: tuple[str, ...] = ()) -> None:
    """The options of ``sceneforge reconstruct`` (``exclude``: config fields left out), backends'
    own ``--STAGE.OPTION`` options included; ``batch`` takes them too, for every shot."""
    add_config_arguments(parser, ReconstructConfig, groups=GROUPS, exclude=exclude)
    # The backend choices name their registries' entries in the help.
    for action in parser._actions:  # noqa: SLF001 - argparse keeps no public list of actions
        registry = _registry_for(action.dest)
        if registry is not None:
            extra = "; 'none' stops after the camera solve" if registry is DEPTH else ""
            action.help = f"{action.help}: " + "; ".join(f"{k}: {v}" for k, v in registry.describe().items()) + extra
    for registry in STAGES:
        add_backend_options(parser, registry)


def reconstruct_parser() -> argparse.ArgumentParser:
    """A parser of ``sceneforge reconstruct``'s arguments alone (a batch reads each shot's with it)."""
    parser = Parser(prog="sceneforge reconstruct", add_help=False)
    add_reconstruct_options(parser)
    return parser


def _registry_for(dest: str) -> Registry | None:
    for registry in STAGES:
        if dest == registry.key or (registry is SOLVERS and dest == "solver"):
            return registry
    return None


def add_backend_options(parser: argparse.ArgumentParser, registry: Registry) -> None:
    """One ``--STAGE.OPTION`` argument per option of ``registry``'s backends (their own options)."""
    options = registry.options()
    if not options:
        return
    group = parser.add_argument_group(
        f"{registry.stage} options (--{registry.key} NAME)",
        "Each applies to the backends named in its default; a backend's own default is used when not given.",
    )
    for opt in options:
        values = set(map(_shown, opt.defaults.values()))
        if len(values) == 1 and len(registry.names()) == len(opt.defaults):
            defaults = values.pop()
        else:
            defaults = ", ".join(f"{name}: {_shown(value)}" for name, value in opt.defaults.items())
        help_text = (opt.help[:-1] if opt.help.endswith(".") else opt.help).replace("%", "%%")
        group.add_argument(
            f"--{registry.key}.{opt.name.replace('_', '-')}",
            dest=_OPTION_DEST.format(key=registry.key, name=opt.name),
            type=_value_parser(opt.type),
            default=argparse.SUPPRESS,
            metavar="VALUE",
            help=f"{help_text} (default {defaults})",
        )


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _value_parser(tp: Any) -> Any:
    def parse(text: str) -> Any:
        return parse_value(tp, text)

    return parse


def backend_options_from_args(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The ``--STAGE.OPTION`` values given, as ``ReconstructConfig.backend_options``."""
    out: dict[str, dict[str, Any]] = {}
    for dest, value in vars(args).items():
        if dest.startswith("backend_option:"):
            _, key, name = dest.split(":", 2)
            out.setdefault(key, {})[name] = value
    return out
