"""The ``sceneforge`` command line.

One entry point with subcommands. Errors print one line (``error: …``) and exit
non-zero; ``--debug`` shows the traceback. Progress bars go to stderr, results to stdout.
"""

from __future__ import annotations

import contextlib
import logging
import re
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from sceneforge.scenegraph import SceneForgeError
from sceneforge.scenegraph.usd import outside_assets_allowed

from ._batch import cmd_batch
from ._commands import cmd_export, cmd_info, cmd_reconstruct, cmd_render
from ._edit import cmd_edit
from ._models import cmd_models
from ._view import cmd_view
from ._parser import build_parser

__all__ = ["main"]

_COMMANDS = {"reconstruct": cmd_reconstruct, "batch": cmd_batch, "render": cmd_render, "edit": cmd_edit, "export": cmd_export, "info": cmd_info, "models": cmd_models,
             "view": cmd_view}


def _setup_logging(debug: bool, verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s" if not debug else "%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("sceneforge")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


@contextlib.contextmanager
def _terminate_as_interrupt(*, solver: bool) -> Iterator[list[int]]:
    """While the block runs, SIGTERM (a job scheduler or ``kill`` stopping the run) behaves like
    Ctrl-C: it raises KeyboardInterrupt in the main thread, so temporaries are removed on the way
    out and one line is printed. Yields a list that holds the signal once one came. ``solver``:
    the command may run COLMAP (see below)."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    # COLMAP's logging installs a native handler for SIGTERM (a stack dump) when pycolmap is
    # first imported: import it first, so that this handler is the one in place.
    if solver:
        with contextlib.suppress(ImportError):
            import pycolmap  # noqa: F401

    def stop(signum: int, _frame: object) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield received
    finally:
        signal.signal(signal.SIGTERM, previous)


# A value such as "-1.5,2" (a point with a negative x) looks like an option to argparse, which
# accepts only plain negative numbers after a flag; it is attached to its flag instead.
_NEGATIVE_LIST = re.compile(r"^-\d*\.?\d+(e-?\d+)?(,-?\d*\.?\d+(e-?\d+)?)+$")


def _negative_values_attached(argv: list[str]) -> list[str]:
    out: list[str] = []
    for token in argv:
        if out and out[-1].startswith("--") and "=" not in out[-1] and _NEGATIVE_LIST.match(token):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(_negative_values_attached(sys.argv[1:] if argv is None else list(argv)))
    except SystemExit as exc:  # a usage error (one line already printed), --help or --version
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help()
        return 2
    _setup_logging(args.debug, args.verbose, args.quiet)
    with _terminate_as_interrupt(solver=args.command in ("reconstruct", "batch")) as terminated, \
            outside_assets_allowed(args.allow_outside_assets):
        try:
            return _COMMANDS[args.command](args)
        except SceneForgeError as exc:
            if args.debug:
                raise
            print(f"error: {exc}", file=sys.stderr)
            return exc.exit_code
        except BrokenPipeError:
            # the reader went away (`sceneforge edit shot/ list | head`): stop quietly, as Unix tools do
            import os

            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # Python's own flush at exit would raise again
            return 141
        except KeyboardInterrupt:
            what = "stopped (SIGTERM)" if terminated else "interrupted"
            print(f"{what}; finished stages are kept in the run folder and a re-run resumes", file=sys.stderr)
            return 143 if terminated else 130
        except Exception as exc:  # noqa: BLE001 - the CLI turns every unexpected failure into one line
            if args.debug:
                raise
            print(f"internal error: {exc.__class__.__name__}: {exc} (run with --debug for the traceback)", file=sys.stderr)
            return 1
