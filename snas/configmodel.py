"""The base of every configuration model."""

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    """Immutable configuration; unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")
