"""Tune stoppers a study's ``stop:`` section asks for (:class:`harness.health_settings.StopConfig`)."""

from __future__ import annotations

from typing import Any

from ray import tune

from harness.health import collapse_stop
from harness.health_settings import StopConfig
from harness.study import Study


class CollapseStopper(tune.Stopper):
    """Stops a search trial after the first epoch whose derived normal cell has more than
    ``stop.max_skip_connect`` skip_connect edges: a collapsed search only gets worse, and
    its remaining epochs are better spent on the other trials.  The analysis reads the
    reason back from the trial's last epoch (:func:`harness.health.collapse_stop`)."""

    def __init__(self, stop: StopConfig):
        self.stop = stop

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return collapse_stop(result, self.stop) is not None

    def stop_all(self) -> bool:
        return False


def stopper_of(study: Study) -> tune.Stopper | None:
    """The stopper of ``study``'s ``stop:`` section; ``None`` when it asks for none."""
    return CollapseStopper(study.stop) if study.stop.max_skip_connect is not None else None
