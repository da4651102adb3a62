"""The render job plays moving objects back: their layer is read again at every frame."""

from __future__ import annotations

import numpy as np

from sceneforge.engine.pipeline import RenderConfig, render_scene
from tests.scenegraph.usd.test_objects import SEEN, shot  # noqa: F401 - the fixture: a crate and a moving ball


def _frames(folder):
    from PIL import Image

    return {int(p.stem.split("_")[-1]): np.asarray(Image.open(p)) for p in sorted(folder.glob("*.png"))}


def test_moving_object_is_drawn_where_each_frame_puts_it(shot, tmp_path):  # noqa: F811
    out = tmp_path / "pngs"
    result = render_scene(RenderConfig(scene=shot, output=out, mode="cg", fill=False))
    frames = _frames(out)
    assert result.num_frames == len(frames) == 6
    # The ball is a flat quad coloured 60, 120, 180 on its three frames and hidden elsewhere.
    centres = {}
    for number, image in frames.items():
        on_ball = np.all(image == image[..., :1], axis=-1) & np.isin(image[..., 0], (60, 120, 180))
        if number in SEEN:
            assert on_ball.sum() > 20, number
            centres[number] = np.argwhere(on_ball)[:, 1].mean()
            assert image[on_ball][0, 0] == 60 * (list(SEEN).index(number) + 1)  # its texture of that frame
        else:
            assert on_ball.sum() == 0, number
    xs = [centres[n] for n in SEEN]
    assert xs[0] < xs[1] < xs[2]  # it steps to the right (+X, the camera looks along -Z)
