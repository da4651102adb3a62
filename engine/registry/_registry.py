"""Backends chosen by name: one registry per stage, each entry a config dataclass that builds its backend."""

from __future__ import annotations

import dataclasses
import difflib
import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, TypeVar

from sceneforge.scenegraph import InputError

from ._options import field_docs, simple_fields

__all__ = ["Registry", "BackendOption", "BackendConfig"]

B = TypeVar("B", covariant=True)


class BackendConfig(Protocol[B]):
    """What a registry entry makes: a config that builds its backend."""

    def build(self) -> B:
        """The backend this configuration describes."""
        ...


@dataclasses.dataclass(frozen=True)
class BackendOption:
    """One option a stage's backends take from the command line (``--depth.num-planes``)."""

    name: str
    """The config field (``num_planes``)."""
    type: Any
    """The field's type."""
    help: str
    """The field's docstring."""
    defaults: Mapping[str, Any]
    """Backend name → its default, for the backends that have the field."""


class Registry:
    """Backend name → config for one pipeline stage; ``build(name, **options)`` makes the backend.

    Each entry is a config dataclass (or a ``"module:Class"`` string naming one, imported
    when first used, so that registering a backend costs no import) whose ``build()``
    returns the backend; entry defaults fix fields that tell entries of one class apart
    (``mapper="global"``). The same names and options work from Python
    (``registry.config("plane-sweep", num_planes=96)``) and from the command line, whose
    ``--<stage>.<option>`` flags are generated from the config fields.
    """

    def __init__(self, stage: str, *, key: str | None = None, reserved: Iterable[str] = ()) -> None:
        """
        Args:
            stage: the stage in words, for messages ("depth estimator").
            key: the stage's short name on the command line and in ``backend_options`` ("depth").
            reserved: config fields the pipeline fills itself (not options of their own).
        """
        self.stage = stage
        self.key = key or stage.replace(" ", "-")
        self.reserved = frozenset(reserved)
        self._entries: dict[str, tuple[Any, str, dict[str, Any]]] = {}
        self._needs: dict[str, tuple[tuple[str, ...], str | None]] = {}

    def register(
        self,
        name: str,
        config: type | str | Callable[..., Any],
        description: str,
        *,
        needs: Iterable[str] = (),
        weights: str | None = None,
        **defaults: Any,
    ) -> None:
        """Add a backend: ``config`` is its config dataclass (or ``"module:Class"``, or any
        callable taking the options and returning a config with a ``build()`` method).

        ``needs`` names the optional modules it imports (``transformers``), ``weights`` says
        where its model weights are expected (None: it needs none); both are for
        ``sceneforge models``, which tells whether a backend can run here."""
        self._entries[name] = (config, description, dict(defaults))
        self._needs[name] = (tuple(needs), weights)

    def requirements(self, name: str) -> tuple[tuple[str, ...], str | None]:
        """The optional modules backend ``name`` imports and where its weights are expected (None: no weights)."""
        self._check_name(name)
        return self._needs[name]

    def names(self) -> list[str]:
        return sorted(self._entries)

    def describe(self) -> dict[str, str]:
        """Backend name → one line on what it does."""
        return {name: self._entries[name][1] for name in self.names()}

    def _check_name(self, name: str) -> None:
        if name not in self._entries:
            close = difflib.get_close_matches(name, self.names(), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"choose one of {', '.join(self.names())}"
            raise InputError(f"unknown {self.stage} backend {name!r}; {hint}")

    def config_type(self, name: str) -> Any:
        """The config class (or factory) of backend ``name``, imported if named by a string."""
        self._check_name(name)
        config, description, defaults = self._entries[name]
        if isinstance(config, str):
            module, _, attr = config.partition(":")
            config = getattr(importlib.import_module(module), attr)
            self._entries[name] = (config, description, defaults)
        return config

    def config(self, name: str, **options: Any) -> Any:
        """The config of backend ``name`` with ``options`` applied.

        Raises:
            InputError: no such backend, or an option it does not take.
        """
        factory = self.config_type(name)
        defaults = self._entries[name][2]
        if dataclasses.is_dataclass(factory):
            known = {f.name for f in dataclasses.fields(factory)}
            unknown = sorted(set(options) - known)
            if unknown:
                takes = ", ".join(sorted(o.name for o in self.options() if name in o.defaults)) or "none"
                raise InputError(
                    f"the {self.stage} backend {name!r} has no option {unknown[0]!r}; its options: {takes}"
                )
        return factory(**{**defaults, **options})

    def build(self, name: str, **options: Any) -> Any:
        """The backend ``name`` built from its config with ``options`` applied."""
        return self.config(name, **options).build()

    def options(self) -> list[BackendOption]:
        """Every command-line option of this stage's backends, by field name (merged across backends)."""
        merged: dict[str, BackendOption] = {}
        for name in self.names():
            cls = self.config_type(name)
            if not dataclasses.is_dataclass(cls):
                continue
            fixed = self._entries[name][2]
            docs = field_docs(cls)
            for f, tp in simple_fields(cls, exclude=self.reserved | set(fixed)):
                default = f.default if f.default is not dataclasses.MISSING else None
                if f.name in merged:
                    merged[f.name] = dataclasses.replace(merged[f.name], defaults={**merged[f.name].defaults, name: default})
                else:
                    merged[f.name] = BackendOption(f.name, tp, docs.get(f.name, ""), {name: default})
        return [merged[k] for k in sorted(merged)]
