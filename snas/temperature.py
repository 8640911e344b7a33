"""Temperature schedules for the Gumbel-softmax relaxation.

τ starts at ``initial`` and is annealed toward ``minimum``, never below it:

* ``exponential``: ``τ = max(τ_min, τ0 · r^e)`` with ``r`` the per-epoch ``anneal_rate``;
* ``linear``: from τ0 at the first update to exactly τ_min at the last one of *this* run
  (the official SNAS code divides by a hard-coded 150 epochs instead, so shorter runs
  never reach τ_min);
* ``constant``: τ0 throughout.

Updated ``per: epoch`` the schedule is evaluated at whole epochs; ``per: step`` it is
evaluated after every optimisation step at fractional epochs (``e + b / B``), so the
anneal rate keeps its per-epoch meaning either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from snas.registry import Registry

UpdateEvery = Literal["epoch", "step"]


# Each schedule maps (τ0, τ_min, rate, epochs done, fraction of the run done) to τ.
Schedule = Callable[[float, float, float, float, float], float]


def _exponential(tau0: float, tau_min: float, rate: float, epochs_done: float, fraction: float) -> float:
    return tau0 * rate**epochs_done


def _linear(tau0: float, tau_min: float, rate: float, epochs_done: float, fraction: float) -> float:
    return tau0 - (tau0 - tau_min) * fraction


def _constant(tau0: float, tau_min: float, rate: float, epochs_done: float, fraction: float) -> float:
    return tau0


SCHEDULES: Registry[Schedule] = Registry("schedule", {
    "exponential": _exponential,
    "linear": _linear,
    "constant": _constant,
})


def check_schedule(schedule: str, initial: float, minimum: float, anneal_rate: float) -> None:
    """Raise ValueError unless the settings describe a schedule (the config's check too)."""
    SCHEDULES.check(schedule)
    if not 0 < minimum <= initial:
        raise ValueError(f"min ({minimum}) must not exceed initial ({initial})" if minimum > 0
                         else f"min must be positive, got {minimum}")
    if not 0 < anneal_rate <= 1:
        raise ValueError(f"anneal_rate must be in (0, 1], got {anneal_rate}")


@dataclass(frozen=True)
class TemperatureSchedule:
    """τ as a function of training progress for a run of known length."""

    schedule: str
    initial: float
    minimum: float
    anneal_rate: float
    per: UpdateEvery
    epochs: int
    steps_per_epoch: int

    def __post_init__(self) -> None:
        check_schedule(self.schedule, self.initial, self.minimum, self.anneal_rate)

    def at(self, epoch: int, step: int = 0) -> float:
        """τ for optimisation step ``step`` (0-based, within the epoch) of epoch ``epoch``."""
        if self.per == "epoch":
            epochs_done, index, last = float(epoch), epoch, self.epochs - 1
        else:
            epochs_done = epoch + step / self.steps_per_epoch
            index, last = epoch * self.steps_per_epoch + step, self.epochs * self.steps_per_epoch - 1
        fraction = min(1.0, index / last) if last > 0 else 0.0
        tau = SCHEDULES[self.schedule](self.initial, self.minimum, self.anneal_rate, epochs_done, fraction)
        return max(self.minimum, tau)
