"""Light for what an edit adds to a shot: inserted assets lit by the shot's light probe and the
scene's lights, and contact shadows — cast by inserted and moved objects, taken away where a
removed object's own shadow stays in the footage.

- :class:`SceneLights`: the probe and the user's UsdLux lights as diffuse irradiance;
- :class:`Occluder` / :func:`occlusion`: objects as spheres, their ambient occlusion and soft
  shadow on surrounding surfaces;
- :class:`ShotLighting`: what the compositor asks per frame (which objects to shade, which
  cast or lose a shadow).
"""

from ._lights import PointLight, SceneLights, decode, encode, luminance
from ._shadows import Occluder, occlusion
from ._shot import LightingConfig, ShotLighting

__all__ = [
    "LightingConfig",
    "Occluder",
    "PointLight",
    "SceneLights",
    "ShotLighting",
    "decode",
    "encode",
    "luminance",
    "occlusion",
]
