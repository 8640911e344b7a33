"""The base of every configuration model."""

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Immutable configuration; unknown keys are errors, never silently ignored, and so are
    infinite or NaN numbers (``initial: .inf`` is no temperature, and NaN passes no bound
    check only by accident)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)
