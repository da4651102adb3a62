"""The plate is decoded again the way the reconstruction read it (an image folder's glob included)."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from sceneforge.engine.pipeline._plate import read_plate
from sceneforge.scenegraph import CameraTrack, Intrinsics, write_scene
from tests.conftest import textured_image


def test_an_image_folder_is_read_with_the_reconstructions_glob(tmp_path):
    clip = tmp_path / "clip"
    clip.mkdir()
    images = [textured_image(48, 64, seed=i) for i in range(4)]
    for i, image in enumerate(images):
        Image.fromarray(image).save(clip / f"frame-{i:06d}.color.png")
        Image.fromarray(np.full((48, 64), 200 + i, np.uint8)).save(clip / f"frame-{i:06d}.depth.png")  # not frames
    k = Intrinsics.from_focal(focal_px=60.0, width=64, height=48)
    poses = np.repeat(np.eye(4)[None], 4, axis=0)
    track = CameraTrack(intrinsics=(k,) * 4, world_from_cam=poses, frame_numbers=np.arange(4), fps=24.0,
                        status=np.zeros(4, np.int8))
    shot = tmp_path / "shot"
    shot.mkdir()
    scene = write_scene(shot, track, source=str(clip))
    (shot / "report.json").write_text(json.dumps({"config": {"pattern": "*.color.png"}}))
    plate = read_plate(scene, track)
    np.testing.assert_array_equal(plate.images, np.stack(images))
    np.testing.assert_array_equal(plate.frame_numbers, np.arange(4))
