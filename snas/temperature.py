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

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from snas.registry import Registry

UpdateEvery = Literal["epoch", "step"]


# Each schedule maps (τ0, τ_min, rate, epochs done, fraction of the run done) to τ.
Schedule = Callable[[float, float, float, float, float], float]


def _exponential(tau0: float, tau_min: float, rate: float, epochs_done: float, fraction: float) -> float:
    return tau0 * math.pow(rate, epochs_done)


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


@dataclass
class TemperatureSchedule:
    """τ as a function of training progress for a run of known length.

    A run whose temperature settings change between epochs (:meth:`retune`) continues from
    the τ it had reached: the schedule is re-anchored there (``anchor_index``, in epochs or
    steps as ``per`` counts, and ``anchor_tau``) and anneals on from it with its new rate
    toward its new minimum.  Before any change the anchor is the start (``initial`` at 0).
    """

    schedule: str
    initial: float
    minimum: float
    anneal_rate: float
    per: UpdateEvery
    epochs: int
    steps_per_epoch: int
    anchor_index: int = 0
    anchor_tau: float | None = None
    """τ at ``anchor_index``; ``None`` until the settings change (then ``initial`` at 0)."""

    def __post_init__(self) -> None:
        check_schedule(self.schedule, self.initial, self.minimum, self.anneal_rate)

    def _index(self, epoch: int, step: int) -> tuple[float, int, int]:
        """(epochs done, index, last index) of step ``step`` of epoch ``epoch`` in ``per``'s units."""
        if self.per == "epoch":
            return float(epoch), epoch, self.epochs - 1
        return (epoch + step / self.steps_per_epoch, epoch * self.steps_per_epoch + step,
                self.epochs * self.steps_per_epoch - 1)

    def at(self, epoch: int, step: int = 0) -> float:
        """τ for optimisation step ``step`` (0-based, within the epoch) of epoch ``epoch``."""
        epochs_done, index, last = self._index(epoch, step)
        if self.anchor_tau is None:  # the schedule as configured (kept bit for bit as it always was)
            fraction = min(1.0, index / last) if last > 0 else 0.0
            tau = SCHEDULES[self.schedule](self.initial, self.minimum, self.anneal_rate, epochs_done, fraction)
            return max(self.minimum, tau)
        anchor_epochs = self.anchor_index / (1 if self.per == "epoch" else self.steps_per_epoch)
        span = last - self.anchor_index
        fraction = min(1.0, (index - self.anchor_index) / span) if span > 0 else 0.0
        tau = SCHEDULES[self.schedule](self.anchor_tau, self.minimum, self.anneal_rate,
                                       epochs_done - anchor_epochs, fraction)
        return max(self.minimum, tau)

    def retune(self, epoch: int, initial: float, anneal_rate: float, minimum: float) -> None:
        """Continue from the start of epoch ``epoch`` (0-based) with new settings.

        The τ that epoch would have started with is multiplied by ``initial / self.initial``
        (a changed ``initial`` rescales the run's temperature from where it stands: PBT's
        perturbation of τ), becomes the anchor, and the schedule anneals on from it at
        ``anneal_rate`` toward ``minimum`` (never below it): exponentially per epoch, or
        linearly to reach ``minimum`` at the run's last epoch, as ``schedule`` says.
        """
        check_schedule(self.schedule, initial, minimum, anneal_rate)
        current = self.at(epoch)
        self.anchor_index = self._index(epoch, 0)[1]
        self.anchor_tau = current * initial / self.initial
        self.initial, self.anneal_rate, self.minimum = initial, anneal_rate, minimum

    def state_dict(self) -> dict[str, float | int | None]:
        """The anchor (the settings themselves are the run's configuration)."""
        return {"anchor_index": self.anchor_index, "anchor_tau": self.anchor_tau}

    def load_state_dict(self, state: dict[str, float | int | None]) -> None:
        self.anchor_index = int(state["anchor_index"] or 0)
        tau = state["anchor_tau"]
        self.anchor_tau = None if tau is None else float(tau)
