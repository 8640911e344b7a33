"""MO-ASHA's rung decision: non-dominated sorting, ties within a front broken by an ε-net.

Schmucker, Donini, Perrone, Archambeau, "Multi-objective multi-fidelity hyperparameter
optimization with application to fairness" (2021), after Salinas et al. (ICLR 2021 NAS
workshop), as Syne Tune's ``MOASHA`` implements it.  ASHA judges a trial at each rung
against the trials that reached the rung before it; MO-ASHA ranks them by several
objectives at once: the trials at the rung (the new one included) are sorted front by front
(non-dominated sorting: the Pareto front first, then the front of the rest, ...), and
within a front by an ε-net -- the trial best on the first objective first, then each time
the trial farthest (Euclidean, in the objectives' own units) from those already ranked, so
that the promoted trials spread along the front.  The new trial continues when its
position, as a fraction of the trials at the rung, is at most ``1/reduction_factor`` (the
first trial at a rung always continues); otherwise it stops, so a trial weak on every axis
stops and one that is best on any axis does not.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _epsilon_net(points: np.ndarray) -> list[int]:
    """The points' order within one front: the best on the first axis (all minimised), then
    each time the one farthest from those chosen (ties: the first listed)."""
    order = [int(np.argmin(points[:, 0]))]
    left = [i for i in range(len(points)) if i != order[0]]
    while left:
        distances = np.linalg.norm(points[left][:, None, :] - points[order][None, :, :], axis=-1).min(axis=1)
        order.append(left.pop(int(np.argmax(distances))))
    return order


def nondominated_order(points: np.ndarray) -> list[int]:
    """The rows of ``points`` (every axis minimised) best first: front by front, each front
    in its ε-net order."""
    remaining = np.arange(len(points))
    order: list[int] = []
    while len(remaining):
        block = points[remaining]
        dominated = np.array([np.any(np.all(block <= p, axis=1) & np.any(block < p, axis=1)) for p in block])
        front = remaining[~dominated]
        order += [int(front[i]) for i in _epsilon_net(points[front])]
        remaining = remaining[dominated]
    return order


def continues(recorded: Sequence[Sequence[float]], new: Sequence[float], reduction_factor: float) -> bool:
    """Whether a trial reaching a rung with objectives ``new`` continues, given those recorded
    there before it (every axis minimised)."""
    if not len(recorded):
        return True
    points = np.array([*recorded, new], dtype=float)
    position = nondominated_order(points).index(len(points) - 1)
    return position / len(points) <= 1 / reduction_factor
