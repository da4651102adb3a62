"""The one error hierarchy of SceneForge.

Every error the library raises on purpose derives from :class:`SceneForgeError`.
Its message is one line that says what was expected, what came, and what to do;
the command line prints exactly that line (and the traceback with ``--debug``).
"""

from __future__ import annotations

__all__ = [
    "SceneForgeError",
    "InputError",
    "ShapeError",
    "OutputExistsError",
    "SolveError",
    "SceneFileError",
    "DependencyError",
]


class SceneForgeError(Exception):
    """Base class of every error SceneForge raises on purpose."""

    exit_code: int = 1


class InputError(SceneForgeError, ValueError):
    """The user's input (a file, an argument, an array) is not what was expected."""

    exit_code = 2


class ShapeError(InputError):
    """An array has the wrong shape or dtype.

    Attributes:
        expected: the expected shape (``None`` for an axis of any length) or dtype text.
        actual: what came.
    """

    def __init__(self, message: str, *, expected: object = None, actual: object = None) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class OutputExistsError(InputError):
    """An output would overwrite something the user already has (pass ``--force``)."""


class SolveError(SceneForgeError):
    """A reconstruction stage could not produce a usable result from this input."""

    exit_code = 3


class SceneFileError(SceneForgeError):
    """A USD scene is missing, unreadable, or not a SceneForge scene."""

    exit_code = 2


class DependencyError(SceneForgeError, ImportError):
    """An optional dependency needed for this feature is not installed."""

    exit_code = 4
