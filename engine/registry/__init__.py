"""Backends chosen by name: the registry of every stage and the command-line options generated from configs."""

from ._backends import DEPTH, FUSION, PROPOSER, REFINERS, SEGMENTER, SOLVERS, STAGES, TEXTURE, TRACKER
from ._options import (
    CliOption,
    add_config_arguments,
    config_kwargs_from_args,
    field_docs,
    int_at_least,
    option,
    parse_value,
    positive_float,
)
from ._registry import BackendConfig, BackendOption, Registry
from ._status import BackendStatus, backend_statuses, compute_device

__all__ = [
    "BackendConfig",
    "BackendOption",
    "BackendStatus",
    "CliOption",
    "DEPTH",
    "FUSION",
    "PROPOSER",
    "Registry",
    "SEGMENTER",
    "REFINERS",
    "SOLVERS",
    "STAGES",
    "TEXTURE",
    "TRACKER",
    "add_config_arguments",
    "backend_statuses",
    "compute_device",
    "config_kwargs_from_args",
    "field_docs",
    "int_at_least",
    "option",
    "parse_value",
    "positive_float",
]
