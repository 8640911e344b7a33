"""The study file's ``tracking`` section: which experiment trackers see the study, and where.

::

    tracking:
      mlflow: {uri: http://mlflow.lab:5000, experiment: snas-temperature}
      wandb: {project: snas, mode: offline}

Both are optional, and each needs its extra (``pip install 'snas-study[mlflow]'``,
``'snas-study[wandb]'``); a study without the section tracks nothing and writes exactly
what it wrote before the section existed.  Only settings live here (no tracker library
is imported): the trackers themselves are :mod:`harness.tracking`'s.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from snas.configmodel import Frozen


class MlflowSettings(Frozen):
    uri: str = Field(min_length=1)
    """The tracking server (``http://host:5000``) or any tracking URI MLflow reads
    (``file:./mlruns``, ``sqlite:///mlflow.db``); used as given, never taken from
    ``MLFLOW_TRACKING_URI`` (ray-project/ray#36257 is that mix-up)."""
    experiment: str | None = Field(None, min_length=1)
    """The MLflow experiment the study's runs go to (created if missing); default: the study's name."""


class WandbSettings(Frozen):
    project: str = Field(min_length=1)
    mode: Literal["online", "offline", "disabled"] = "online"
    """``online`` needs credentials (``WANDB_API_KEY`` or ``wandb login``); ``offline`` writes
    the runs under the study folder's ``wandb/`` for a later ``wandb sync``."""


class TrackingConfig(Frozen):
    mlflow: MlflowSettings | None = None
    wandb: WandbSettings | None = None

    def chosen(self) -> dict[str, MlflowSettings | WandbSettings]:
        """The trackers the study names, with their settings."""
        return {name: settings for name in type(self).model_fields
                if (settings := getattr(self, name)) is not None}
