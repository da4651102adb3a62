"""Handles on the UsdLux lights under ``/World/Lights``, and defining a new one."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pxr import Gf, Sdf, Usd, UsdGeom, UsdLux

from ..types import InputError
from ..usd import LIGHTS_PATH
from ._checks import check_color, check_number, format_vector
from ._handle import EditableScene, PrimHandle

__all__ = ["LightHandle", "define_light"]


_LIGHT_TYPES: dict[str, type] = {
    "distant": UsdLux.DistantLight,
    "sphere": UsdLux.SphereLight,
    "dome": UsdLux.DomeLight,
}


class LightHandle(PrimHandle):
    """A UsdLux light under ``/World/Lights``: intensity, colour, exposure and the transform
    edits every handle has (a distant light shines along its local -Z)."""

    _what = "light"

    @property
    def kind(self) -> str:
        """The light's type, e.g. ``"distant"``, ``"sphere"``, ``"dome"`` (USD type name without ``Light``, lower case)."""
        type_name = self._live_prim().GetTypeName()
        return type_name[: -len("Light")].lower() if type_name.endswith("Light") else type_name.lower()

    def _light(self) -> UsdLux.LightAPI:
        return UsdLux.LightAPI(self._live_prim())

    @property
    def intensity(self) -> float:
        """``inputs:intensity`` (linear, unitless as in UsdLux); setting it must give a value ≥ 0."""
        return float(self._light().GetIntensityAttr().Get())

    @intensity.setter
    def intensity(self, value: float) -> None:
        number = check_number(value, "intensity")
        if number < 0:
            raise InputError(f"intensity must be ≥ 0, got {number}")
        with self._recording(f"set {self.name} intensity {number:.6g}"):
            self._light().CreateIntensityAttr().Set(number)

    @property
    def exposure(self) -> float:
        """``inputs:exposure`` in stops (the light is scaled by 2^exposure)."""
        return float(self._light().GetExposureAttr().Get())

    @exposure.setter
    def exposure(self, value: float) -> None:
        number = check_number(value, "exposure")
        with self._recording(f"set {self.name} exposure {number:.6g}"):
            self._light().CreateExposureAttr().Set(number)

    @property
    def color(self) -> np.ndarray:
        """``inputs:color``: linear RGB, 3 float64 ≥ 0."""
        return np.array(list(self._light().GetColorAttr().Get()), dtype=np.float64)

    @color.setter
    def color(self, rgb: Sequence[float]) -> None:
        color = check_color(rgb, "color")
        with self._recording(f"set {self.name} color {format_vector(color)}"):
            self._light().CreateColorAttr().Set(Gf.Vec3f(*color.tolist()))


def define_light(scene: EditableScene, name: str, kind: str) -> Usd.Prim:
    """Define a light prim of ``kind`` at ``/World/Lights/<name>`` at the stage's edit target."""
    stage = scene.stage
    if not stage.GetPrimAtPath(LIGHTS_PATH).IsValid():
        UsdGeom.Xform.Define(stage, LIGHTS_PATH)
    return _LIGHT_TYPES[kind].Define(stage, Sdf.Path(LIGHTS_PATH).AppendChild(name)).GetPrim()
