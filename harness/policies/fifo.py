"""FIFO: every trial runs its full budget (a fair comparison of the settings)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from harness.policies.base import Objective, Scheduler


class FifoScheduler(Scheduler):
    name: Literal["fifo"] = "fifo"
    title: ClassVar[str] = "FIFO"

    def build(self, epochs: int, data_parallel: bool, objective: Objective) -> Any:
        from ray.tune.schedulers import FIFOScheduler

        return FIFOScheduler()
