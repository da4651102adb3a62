"""The render job's entry point: in this process, or in frame ranges on an executor."""

from __future__ import annotations

from sceneforge.reconstruct import ProgressFn
from sceneforge.scenegraph import InputError

from ..executors import Executor, make_executor
from ._parallel_render import render_in_parallel
from ._render import RenderConfig, RenderResult, render_frames

__all__ = ["render_scene"]


def render_scene(
    config: RenderConfig, *, progress: ProgressFn | None = None, executor: Executor | None = None
) -> RenderResult:
    """Render a scene through its camera to a video or an image sequence: composited over the
    footage (default) or as computer graphics. With an executor (``config.executor`` names one,
    or pass one), frame ranges render side by side and are assembled in order.

    Raises:
        SceneFileError: the scene cannot be read.
        InputError: no frame in the range, nothing to render, or (composite) the source clip
            is gone.
        OutputExistsError: the output exists and ``force`` is off.
    """
    if executor is not None:
        return render_in_parallel(config, executor, progress=progress)
    if config.executor is None:
        if config.address is not None or config.workers is not None:
            raise InputError("--address and --workers are for --executor local|ray; add --executor or drop them")
        return render_frames(config, progress=progress)
    executor = make_executor(config.executor, workers=config.workers, address=config.address)
    try:
        return render_in_parallel(config, executor, progress=progress)
    finally:
        executor.close()
