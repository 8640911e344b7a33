"""A multi-objective study's objectives and constraints (checked by :mod:`harness.study.checks`).

``objective:`` is one ``{metric, mode}`` (the study ranks its trials by one metric) or a
list of two or more: the study then searches the trade-off between them, as Optuna's
multi-objective studies do, and its answer is the Pareto front of its finished trials
(:mod:`harness.analysis.front`).  ``constraints:`` bounds further reported metrics
(``eval_params_m: {max: 3.3}``): a trial outside a bound is infeasible, told so to
Optuna's sampler (``Trial.set_constraint``) and left off the front.

The first objective of a list ranks trials wherever one ranking is still needed (the
trials table's order, ``status``, a scheduler's Tune metric).
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from snas.configmodel import Frozen

Mode = Literal["max", "min"]

BETTER: dict[str, Mode] = {
    **dict.fromkeys(("train_acc", "search_val_acc", "child_val_acc", "search_val_acc_avg3", "val_acc", "test_acc"),
                    "max"),
    **dict.fromkeys(("train_loss", "cost", "child_params_m", "child_macs_m", "eval_params_m", "eval_macs_m",
                     "params_m", "macs_m", "epoch_time_s"), "min"),
}
"""The direction in which each metric with an unambiguous one is better: an objective that
asks for the other (the largest cells, the lowest accuracy) is refused as a mistake."""


class ObjectiveTerm(Frozen):
    """One objective of a multi-objective study."""

    metric: str
    """Any numeric metric the study's trials report (sizes at evaluation scale: ``eval_params_m``,
    ``eval_macs_m``, millions, as in every table)."""
    mode: Mode
    """``max`` or ``min``; an accuracy is maximised and a size, cost or loss minimised (the
    other way round is refused)."""
    reference: float | None = None
    """This axis's coordinate of the hypervolume's reference point; default: the worst value a
    finished trial reached on it."""


class Bound(Frozen):
    """A constraint on one reported metric: feasible trials have it in ``[min, max]``."""

    min: float | None = None
    """The smallest feasible value (inclusive)."""
    max: float | None = None
    """The largest feasible value (inclusive)."""

    @model_validator(mode="after")
    def _some_bound(self) -> Bound:
        if self.min is None and self.max is None:
            raise ValueError("give max, min or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}")
        return self

    def violations(self, value: float) -> dict[str, float]:
        """Optuna's constraint values of ``value`` (feasible where ≤ 0), one per bound given."""
        return {**({"max": value - self.max} if self.max is not None else {}),
                **({"min": self.min - value} if self.min is not None else {})}
