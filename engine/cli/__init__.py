"""The ``sceneforge`` command line: parser (reconstruct's options generated from its config), commands, progress, summaries."""

from ._main import main
from ._parser import build_parser

__all__ = ["build_parser", "main"]
