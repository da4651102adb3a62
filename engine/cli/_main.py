"""The ``sceneforge`` command line.

One entry point with subcommands. Errors print one line (``error: …``) and exit
non-zero; ``--debug`` shows the traceback. Progress bars go to stderr, results to stdout.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence

from sceneforge.scenegraph import SceneForgeError

from ._commands import cmd_export, cmd_info, cmd_reconstruct, cmd_render
from ._edit import cmd_edit
from ._parser import build_parser

__all__ = ["main"]

_COMMANDS = {"reconstruct": cmd_reconstruct, "render": cmd_render, "edit": cmd_edit, "export": cmd_export, "info": cmd_info}


def _setup_logging(debug: bool, verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s" if not debug else "%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("sceneforge")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    _setup_logging(args.debug, args.verbose, args.quiet)
    try:
        return _COMMANDS[args.command](args)
    except SceneForgeError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted; finished stages are kept in the run folder and a re-run resumes", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI turns every unexpected failure into one line
        if args.debug:
            raise
        print(f"internal error: {exc.__class__.__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
        return 1
