"""Executors: where a batch's shots and a shot's frame-parallel work run.

``local`` (the default) is a process pool on this machine; ``ray`` is a Ray cluster, this
machine's or many machines' (the ``ray`` extra). Both run module-level functions as
``fn(item, shared)`` and hand results back as they finish (see :class:`Executor`).
"""

from ._executor import EXECUTOR_NAMES, Executor, Resources, WorkerLost, run_task
from ._make import make_executor

__all__ = ["EXECUTOR_NAMES", "Executor", "Resources", "WorkerLost", "make_executor", "run_task"]
