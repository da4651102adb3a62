"""Model files that ship with SceneForge (package data of ``sceneforge.models``).

``selfie_segmentation.tflite``: MediaPipe Selfie Segmentation (general, 256×256), Apache-2.0,
run by :class:`sceneforge.reconstruct.objects.PersonSegmenter` to find people. See README.md
here for its source and checksum; ``make models`` fetches it again from the npm registry.
"""
