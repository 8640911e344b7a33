"""MO-ASHA: asynchronous successive halving that promotes by non-dominated sorting
(Schmucker et al. 2021, as Syne Tune's ``MOASHA`` implements it): the study's settings of it.
The rung decision is :func:`harness.nondominated.continues`; the Tune scheduler that makes it
at every rung, :mod:`harness.moasha_tune`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from harness.policies.asha import AshaScheduler
from harness.policies.base import Objective


class MoAshaScheduler(AshaScheduler):
    name: Literal["moasha"] = "moasha"  # type: ignore[assignment]
    title: ClassVar[str] = "MO-ASHA"
    stop_label: ClassVar[str | None] = "MO-ASHA"
    several_objectives: ClassVar[str | None] = None

    def build(self, epochs: int, data_parallel: bool, objective: Objective) -> Any:
        from harness.moasha_tune import MultiObjectiveAsha

        time_attr = "epoch" if data_parallel else "training_iteration"
        return MultiObjectiveAsha(objective.metrics, objective.modes, time_attr=time_attr,
                                  max_t=self.max_t or epochs, grace_period=self.grace_period,
                                  reduction_factor=self.reduction_factor)
