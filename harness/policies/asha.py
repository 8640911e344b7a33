"""ASHA (Li et al., MLSys 2020): asynchronous successive halving over epochs.

A trial is judged at rungs ``grace_period · reduction_factor^k`` epochs against the trials
that reached that rung before it, and stopped unless it is in the top ``1/reduction_factor``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from harness.policies.base import Budget, Objective, Scheduler


class AshaScheduler(Scheduler):
    name: Literal["asha"] = "asha"
    title: ClassVar[str] = "ASHA"
    stop_label: ClassVar[str | None] = "ASHA"
    plots: ClassVar[tuple[str, ...]] = ("asha_rungs",)
    several_objectives: ClassVar[str | None] = ("stops trials by one metric at each rung, so it cannot take a list "
                                                "objective; use scheduler moasha (MO-ASHA) or fifo")

    grace_period: int = Field(1, ge=1)
    reduction_factor: float = Field(2.0, gt=1)
    max_t: int | None = Field(None, ge=1)
    """Default: the trials' epoch count."""

    def check_budget(self, budget: Budget) -> None:
        """The first rung falls within ``max_t``, which defaults to the epochs Tune's scheduler
        is built for (Tune refuses a rung past it)."""
        if self.max_t is not None and self.grace_period > self.max_t:
            raise ValueError(f"scheduler.grace_period {self.grace_period} is past scheduler.max_t {self.max_t}: "
                             f"{self.title} judges a trial first after grace_period epochs; lower "
                             f"scheduler.grace_period or raise scheduler.max_t")
        if self.max_t is None and self.grace_period > budget.first:
            raise ValueError(f"scheduler.grace_period {self.grace_period} is past the trials' last epoch "
                             f"({budget.first_named()}): {self.title} judges a trial first after "
                             f"grace_period epochs; lower scheduler.grace_period (e.g. --set "
                             f"scheduler.grace_period=1) or raise {budget.section}.epochs")

    def build(self, epochs: int, data_parallel: bool, objective: Objective) -> Any:
        from ray.tune.schedulers import ASHAScheduler

        # A data-parallel trial's reports count epochs in ``epoch`` only (see harness.dataparallel).
        time_attr = "epoch" if data_parallel else "training_iteration"
        return ASHAScheduler(time_attr=time_attr, max_t=self.max_t or epochs,
                             grace_period=self.grace_period, reduction_factor=self.reduction_factor)

    def rungs(self, epochs: int) -> list[int]:
        """The epochs at which trials are judged, and the last one (``max_t``, else ``epochs``)."""
        max_t = self.max_t or epochs
        rungs, rung = [], float(self.grace_period)
        while rung < max_t:
            rungs.append(int(rung))
            rung *= self.reduction_factor
        return rungs + [max_t]
