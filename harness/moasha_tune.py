"""MO-ASHA as a Ray Tune trial scheduler (the rung decisions: :mod:`harness.nondominated`)."""

from __future__ import annotations

import math
from typing import Any

from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from harness.nondominated import continues


class MultiObjectiveAsha(FIFOScheduler):
    """One bracket of rungs at ``grace_period · reduction_factor^k`` below ``max_t``; at each, a
    trial is judged by :func:`harness.nondominated.continues` against the trials that
    reached it before.  A trial missing an objective at a rung is not judged there."""

    def __init__(self, metrics: list[str], modes: list[str], *, time_attr: str, max_t: int, grace_period: int,
                 reduction_factor: float):
        super().__init__()
        self._metric, self._mode = metrics[0], modes[0]  # what Tune checks every result reports
        self._metrics = list(metrics)
        self._signs = [-1.0 if mode == "max" else 1.0 for mode in modes]
        self._time_attr = time_attr
        self._max_t = max_t
        self._reduction_factor = reduction_factor
        rungs, rung = [], float(grace_period)
        while rung < max_t:
            rungs.append(rung)
            rung *= reduction_factor
        self._rungs: dict[float, dict[str, list[float]]] = {rung: {} for rung in rungs}
        """Rung -> trial id -> its objectives there (minimised)."""

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        """Its objectives are its own; Tune's one metric (the first objective) changes nothing."""
        return True

    def _objectives(self, result: dict) -> list[float] | None:
        try:
            values = [sign * float(result[metric]) for metric, sign in zip(self._metrics, self._signs)]
        except (KeyError, TypeError, ValueError):
            return None
        return None if any(math.isnan(v) for v in values) else values

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        progress = result.get(self._time_attr)
        if progress is None:
            return TrialScheduler.CONTINUE
        if progress >= self._max_t:
            return TrialScheduler.STOP
        values = self._objectives(result)
        for rung in sorted(self._rungs, reverse=True):
            recorded = self._rungs[rung]
            if progress < rung or trial.trial_id in recorded:
                continue
            if values is None:
                break
            decision = continues(list(recorded.values()), values, self._reduction_factor)
            recorded[trial.trial_id] = values
            return TrialScheduler.CONTINUE if decision else TrialScheduler.STOP
        return TrialScheduler.CONTINUE

    def debug_string(self) -> str:
        return "MO-ASHA: " + ", ".join(f"rung {rung:g}: {len(trials)} trials" for rung, trials in self._rungs.items())
