"""Validating a stage with Pixar's own validators (``pxr.UsdValidation``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from pxr import Tf, Usd

from ._asset_policy import scene_asset_problems
from ._stage import as_stage, tf_reason

__all__ = ["StageValidation", "validate_stage"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StageValidation:
    """What Pixar's validators (``pxr.UsdValidation``) said about a stage.

    Attributes:
        errors: one line per error, ``"<validator>.<error>: <message>"``.
        warnings: one line per warning, same form.
        skipped: validators that could not run here (a plugin missing or failing), with why.
        validators_run: number of validators that ran.
    """

    errors: tuple[str, ...]
    warnings: tuple[str, ...]
    skipped: tuple[str, ...]
    validators_run: int

    @property
    def ok(self) -> bool:
        """True when no validator reported an error."""
        return not self.errors


def validate_stage(path: str | Path | Usd.Stage) -> StageValidation:
    """Run every registered ``pxr.UsdValidation`` validator on the composed stage.

    Validators whose plugins are absent or fail to load or run are listed in
    :attr:`StageValidation.skipped` instead of failing the whole validation.

    Raises:
        SceneFileError: the stage cannot be opened (as :func:`open_stage`, without
            requiring ``/World``: a missing defaultPrim is the validators' to report).
    """
    from pxr import UsdValidation

    stage = as_stage(path, require_world=False)
    registry = UsdValidation.ValidationRegistry()
    validators, skipped = [], []
    for metadata in registry.GetAllValidatorMetadata():
        if metadata.isSuite:
            continue
        try:
            validator = registry.GetOrLoadValidatorByName(metadata.name)
        except Tf.ErrorException as exc:
            skipped.append(f"{metadata.name}: {tf_reason(exc)}")
            continue
        if validator is None:
            skipped.append(f"{metadata.name}: could not be loaded")
            continue
        validators.append(validator)

    try:
        results = list(UsdValidation.ValidationContext(validators).Validate(stage))
        run = len(validators)
    except Tf.ErrorException:
        # One validator broke the batch: run them one at a time to keep the others' results.
        results, run = [], 0
        for validator in validators:
            try:
                results.extend(UsdValidation.ValidationContext([validator]).Validate(stage))
                run += 1
            except Tf.ErrorException as exc:
                skipped.append(f"{validator.GetMetadata().name}: {tf_reason(exc)}")

    errors, warnings = [], []
    for result in results:
        if result.HasNoError():
            continue
        line = f"{result.GetIdentifier()}: {result.GetMessage()}"
        kind = result.GetType()
        if kind == UsdValidation.ValidationErrorType.Error:
            errors.append(line)
        elif kind == UsdValidation.ValidationErrorType.Warn:
            warnings.append(line)
    errors += scene_asset_problems(stage)
    for line in skipped:
        log.debug("validator skipped: %s", line)
    return StageValidation(tuple(errors), tuple(warnings), tuple(skipped), run)
