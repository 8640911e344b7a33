"""FIFO: every trial runs its full budget (a fair comparison of the settings)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from harness.policies.base import Scheduler

if TYPE_CHECKING:
    from harness.study import Study


class FifoScheduler(Scheduler):
    name: Literal["fifo"] = "fifo"
    title: ClassVar[str] = "FIFO"

    def build(self, study: Study) -> Any:
        from ray.tune.schedulers import FIFOScheduler

        return FIFOScheduler()
