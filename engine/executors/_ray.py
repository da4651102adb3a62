"""The Ray executor: tasks on a Ray cluster (``pip install 'sceneforge[ray]'``).

Shared arrays go into Ray's object store once (``ray.put``); workers on the same node map
them without a copy. Every task declares its CPUs, GPUs and memory, so Ray places it where
they are free. A task whose worker dies is retried by Ray itself (:data:`RETRIES` times); what
it had already written through the stage cache is kept, and every file is written atomically,
so a retry never reads half a frame.

The cluster: ``address=None`` starts a private one on this machine (``workers`` CPUs) and stops
it on :meth:`RayExecutor.close`; ``auto`` joins the one ``ray start --head`` made; ``ray://host:10001``
connects to a remote head as a client. Every node needs SceneForge installed and the shots'
inputs and outputs on a file system mounted at the same path (README, "Scale-out").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from sceneforge.scenegraph import DependencyError, InputError

from ._executor import Resources, WorkerLost, run_task

__all__ = ["RayExecutor"]

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

RETRIES = 3
"""How many times Ray runs a task again after its worker died."""


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise DependencyError("--executor ray needs Ray: pip install 'sceneforge[ray]'") from exc
    return ray


class RayExecutor:
    """Tasks on a Ray cluster (see the module docstring). Picklable: a task on the cluster can
    hold one and hand its own frame-parallel work to the same cluster."""

    name = "ray"

    def __init__(self, *, address: str | None = None, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise InputError(f"--workers must be at least 1, got {workers}")
        if address is not None and workers is not None:
            raise InputError("--workers sizes a local Ray cluster; a running cluster (--address) has its own CPUs")
        _ray()  # a missing Ray fails here, before any work
        self.address = address
        self._workers = workers
        self._started = False

    def __getstate__(self) -> dict[str, Any]:
        # inside a task the cluster is already joined; the copy never stops it
        return {"address": self.address, "_workers": self._workers, "_started": False}

    def _connect(self) -> Any:
        ray = _ray()
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
            if self.address is None:
                kwargs.update(num_cpus=self._workers, include_dashboard=False)
            try:
                ray.init(address=self.address, **kwargs)
            except ConnectionError as exc:
                raise InputError(
                    f"cannot reach a Ray cluster at {self.address}: {str(exc).rstrip('.')}; start one with 'ray start --head' "
                    "or leave --address out to run on this machine"
                ) from exc
            self._started = True
            log.info("Ray cluster: %s", ray.cluster_resources())
        return ray

    @property
    def workers(self) -> int:
        return max(1, int(self._connect().cluster_resources().get("CPU", 1)))

    @property
    def fans_out_frames(self) -> bool:
        return True

    def has_gpus(self) -> bool:
        return self._connect().cluster_resources().get("GPU", 0) > 0

    def map(
        self,
        fn: Callable[[T, Any], R],
        items: Sequence[T],
        *,
        shared: Any = None,
        resources: Resources = Resources(),
        tick: Callable[[], None] | None = None,
    ) -> Iterator[tuple[int, R]]:
        """See :meth:`Executor.map`."""
        ray = self._connect()
        options: dict[str, Any] = {
            "num_cpus": resources.cpus, "num_gpus": resources.gpus, "max_retries": RETRIES, "retry_exceptions": False,
            "name": getattr(fn, "__name__", "task"),
        }
        if resources.memory_bytes:
            options["memory"] = int(resources.memory_bytes)
        remote = ray.remote(run_task).options(**options)
        shared_ref = ray.put(shared)  # once: every task maps the same copy
        refs = {remote.remote(fn, item, shared_ref, resources.threads): i for i, item in enumerate(items)}
        pending = list(refs)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1, timeout=0.5)
                if tick is not None:
                    tick()
                for ref in done:
                    yield refs[ref], self._result(ray, ref)
        finally:
            for ref in pending:  # an error or an interrupt: nothing keeps running behind the caller's back
                ray.cancel(ref, force=True)

    @staticmethod
    def _result(ray: Any, ref: Any) -> Any:
        from ray.exceptions import RayTaskError, WorkerCrashedError

        try:
            return ray.get(ref)
        except WorkerCrashedError as exc:
            raise WorkerLost(
                f"a Ray worker died {RETRIES + 1} times running one task (killed, or out of memory); "
                "give the cluster more memory or fewer CPUs per node"
            ) from exc
        except RayTaskError as exc:
            cause = getattr(exc, "cause", None)  # the task's own exception, raised here as it was there
            raise (cause if isinstance(cause, BaseException) else exc.as_instanceof_cause()) from None

    def close(self) -> None:
        """Stop the cluster this executor started (a cluster it joined keeps running)."""
        if self._started:
            _ray().shutdown()
            self._started = False
