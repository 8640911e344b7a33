"""The answer of a multi-objective study: the Pareto front of its finished trials, and its hypervolume.

A trial is on the front when no other finished, feasible trial is at least as good on
every objective and better on one (two trials with equal values are both on it, as in
Optuna's ``study.best_trials``).  Only trials that ran their full budget are candidates
(:func:`harness.analysis.replicates.finished`): an ASHA-stopped trial's values are from
fewer epochs.  A trial outside a constraint (``constraints:``) is infeasible and never on
the front; one that did not report a constrained metric counts as infeasible too.

The hypervolume is the volume the front dominates up to a reference point: one number for
the whole front, larger is better.  The reference point is stated with every hypervolume;
by default it is the worst value a finished trial reached on each axis (a trial with the
worst value on an axis then adds no volume), and ``objective[i].reference`` overrides an
axis.  With seeds as replicates, each seed's trials have their own front; its
hypervolume, against the same reference point, is a replicate, and the per-seed values
give a mean with a 95% Student-t interval (:func:`harness.analysis.replicates.summarize`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.analysis.replicates import finished, seed_columns, summarize
from harness.analysis.results import StudyResults
from harness.analysis.tables import best_trials
from harness.study import Study

FEASIBLE = "feasible"
"""The trials-table column saying whether a trial meets every constraint."""
ON_FRONT = "on_front"
"""The trials-table column marking the finished trials on the Pareto front."""


def minimised(values: np.ndarray, modes: Sequence[str]) -> np.ndarray:
    """``values`` (one row per trial, one column per objective) with every axis to be minimised."""
    signs = np.array([-1.0 if mode == "max" else 1.0 for mode in modes])
    return np.asarray(values, dtype=float) * signs


def non_dominated(points: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the rows of ``points`` (all axes minimised) no other row dominates."""
    points = np.asarray(points, dtype=float)
    keep = []
    for i, point in enumerate(points):
        dominated = np.all(points <= point, axis=1) & np.any(points < point, axis=1)
        if not dominated.any():
            keep.append(i)
    return np.array(keep, dtype=int)


def hypervolume(points: np.ndarray, reference: np.ndarray) -> float:
    """The volume ``points`` (all axes minimised) dominate up to ``reference``; a point not
    better than the reference on every axis adds nothing.  Exact, by slicing along the last
    axis (Zitzler's HSO): enough for the fronts of studies of thousands of trials."""
    points = np.asarray(points, dtype=float)
    reference = np.asarray(reference, dtype=float)
    points = points[np.all(points < reference, axis=1)]
    if not len(points):
        return 0.0
    if points.shape[1] == 1:
        return float(reference[0] - points[:, 0].min())
    points = points[np.argsort(points[:, -1], kind="stable")]
    volume = 0.0
    for i in range(len(points)):
        top = points[i + 1, -1] if i + 1 < len(points) else reference[-1]
        if top > points[i, -1]:
            volume += hypervolume(points[: i + 1, :-1], reference[:-1]) * (top - points[i, -1])
    return volume


def feasible(trials: pd.DataFrame, study: Study) -> pd.Series:
    """Whether each trial's constrained metrics lie within their bounds (NaN: infeasible)."""
    ok = pd.Series(True, index=trials.index)
    for metric, bound in study.constraints.items():
        values = trials[metric].astype(float) if metric in trials else pd.Series(math.nan, index=trials.index)
        ok &= values.notna()
        if bound.max is not None:
            ok &= values <= bound.max
        if bound.min is not None:
            ok &= values >= bound.min
    return ok


def constraint_text(study: Study) -> str:
    """The constraints as a reader writes them (``eval_params_m ≤ 3.3``)."""
    parts = []
    for metric, bound in study.constraints.items():
        if bound.min is not None:
            parts.append(f"{metric} ≥ {bound.min:g}")
        if bound.max is not None:
            parts.append(f"{metric} ≤ {bound.max:g}")
    return ", ".join(parts)


@dataclass(frozen=True)
class Front:
    """The Pareto front of a study's finished trials (or of one seed's)."""

    members: pd.DataFrame
    """The trials-table rows on the front, best first by the first objective."""
    candidates: int
    """Finished trials with every objective reported."""
    feasible: int
    """Of those, the ones that meet every constraint."""
    reference: tuple[float, ...]
    """The reference point, in the objectives' own units and directions."""
    hypervolume: float
    """NaN when no trial finished (no front to measure; 0 when every finished one is infeasible)."""

    def reference_text(self, study: Study) -> str:
        return ", ".join(f"{term.metric} {value:.4g}" for term, value in zip(study.objectives, self.reference))


def objective_metrics(study: Study) -> list[str]:
    return [term.metric for term in study.objectives]


def candidates(trials: pd.DataFrame, study: Study) -> pd.DataFrame:
    """The finished trials with every objective reported: those a front may hold."""
    metrics = objective_metrics(study)
    if not len(trials) or any(metric not in trials for metric in metrics):
        return trials.iloc[0:0]
    return trials[finished(trials)].dropna(subset=metrics)


def reference_point(trials: pd.DataFrame, study: Study) -> tuple[float, ...]:
    """Each axis's ``reference``, else the worst value a finished trial reached on it (NaN
    when none did)."""
    rows = candidates(trials, study)
    point = []
    for term in study.objectives:
        if term.reference is not None:
            point.append(float(term.reference))
        elif not len(rows):
            point.append(math.nan)
        else:
            values = rows[term.metric].astype(float)
            point.append(float(values.min() if term.mode == "max" else values.max()))
    return tuple(point)


def front_of(trials: pd.DataFrame, study: Study, reference: tuple[float, ...] | None = None) -> Front:
    """The front of ``trials`` and its hypervolume against ``reference`` (default: ``trials``')."""
    reference = reference_point(trials, study) if reference is None else reference
    rows = candidates(trials, study)
    allowed = rows[feasible(rows, study)]
    modes = [term.mode for term in study.objectives]
    points = minimised(allowed[objective_metrics(study)].to_numpy(float), modes)
    members = allowed.iloc[non_dominated(points)] if len(allowed) else allowed
    first = study.objectives[0]
    members = members.sort_values(first.metric, ascending=first.mode == "min", kind="stable")
    volume = (math.nan if not len(rows) or any(math.isnan(v) for v in reference) else
              hypervolume(minimised(members[objective_metrics(study)].to_numpy(float), modes),
                          minimised(np.array([reference]), modes)[0]))
    return Front(members, len(rows), len(allowed), reference, volume)


def empty_front_note(front: Front, study: Study) -> str | None:
    """What the analysis says when the front is empty (None when it is not)."""
    if len(front.members):
        return None
    if not front.candidates:
        return "no trial has finished with every objective reported: the Pareto front is empty"
    return (f"none of the {front.candidates} finished trials meets the constraints ({constraint_text(study)}): "
            f"the Pareto front is empty")


def seed_groups(trials: pd.DataFrame, study: Study) -> list[tuple[str, pd.DataFrame]]:
    """Each seed's trials, named ``seed=0``; none when no seed varies."""
    seeds = [name for name in seed_columns(study) if name in trials]
    if not seeds:
        return []
    return [(", ".join(f"{s}={v}" for s, v in zip(seeds, key if isinstance(key, tuple) else (key,))), group)
            for key, group in trials.groupby(seeds, sort=True, dropna=False)]


def front_table(trials: pd.DataFrame, study: Study) -> pd.DataFrame:
    """The front's trials (``scope`` all trials), then each seed's front when seeds vary,
    each best first by the first objective: objectives, constrained metrics, varied
    settings and genotype."""
    names = list(study.trial_kind.short_names(list(study.space)).values())
    columns = ["scope", "trial_id", *objective_metrics(study), *study.constraints,
               *(n for n in names if n in trials), "genotype_id", "genotype"]
    parts = [front_of(group, study).members.assign(scope=scope)
             for scope, group in [("all trials", trials), *seed_groups(trials, study)]]
    table = pd.concat(parts, ignore_index=True) if parts else trials.iloc[0:0]
    return table[[c for c in dict.fromkeys(columns) if c in table]]


def hypervolume_table(trials: pd.DataFrame, study: Study) -> pd.DataFrame:
    """The hypervolume of the whole front and, when seeds vary, of each seed's front, against
    one reference point (stated in every row), then the mean over seeds with its 95% interval."""
    reference = reference_point(trials, study)
    stated = {f"reference_{term.metric}": value for term, value in zip(study.objectives, reference)}

    def row(scope: str, front: Front) -> dict:
        return {"scope": scope, "finished": front.candidates, "feasible": front.feasible,
                "front_size": len(front.members), "hypervolume": front.hypervolume, **stated}

    rows = [row("all trials", front_of(trials, study, reference))]
    seeds = seed_groups(trials, study)
    if seeds:
        fronts = [(scope, front_of(group, study, reference)) for scope, group in seeds]
        rows += [row(scope, front) for scope, front in fronts]
        spread = summarize([front.hypervolume for _, front in fronts])
        rows.append({"scope": "mean over seeds", "n": spread.n, "hypervolume": spread.mean, "sd": spread.sd,
                     "ci95_low": spread.low, "ci95_high": spread.high, **stated})
    table = pd.DataFrame(rows)
    counts = [c for c in ("finished", "feasible", "front_size", "n") if c in table]
    return table.astype(dict.fromkeys(counts, "Int64"))


def with_front_columns(trials: pd.DataFrame, study: Study) -> pd.DataFrame:
    """``trials`` with :data:`FEASIBLE` and :data:`ON_FRONT` (whether each is on the whole study's front)."""
    if not len(trials):
        return trials
    members = set(front_of(trials, study).members["trial_id"])
    return trials.assign(**{FEASIBLE: feasible(trials, study).to_numpy(),
                            ON_FRONT: trials["trial_id"].isin(members).to_numpy()})


def front_document(trials: pd.DataFrame, study: Study) -> dict:
    """What ``best.json`` and ``best --json`` say of a multi-objective study beside its points."""
    front = front_of(trials, study)
    return {"objectives": [term.model_dump(mode="json", exclude={"reference"}) for term in study.objectives],
            "constraints": {metric: bound.model_dump(mode="json", exclude_none=True)
                            for metric, bound in study.constraints.items()},
            "reference_point": dict(zip(objective_metrics(study), front.reference)),
            "hypervolume": front.hypervolume, "front_note": empty_front_note(front, study)}


def front_points(trials: pd.DataFrame, results: StudyResults) -> list[dict]:
    """The whole study's front as ``best.json`` and ``best --json`` give it: one entry per
    point, best first by the first objective, with its objectives, settings and genotype
    (the fields of :func:`harness.analysis.tables.best_trials`; ``rank`` is the position)."""
    study = results.study
    members = front_of(trials, study).members
    points = best_trials(members, results, len(members))
    values = members.set_index("trial_id")
    for point in points:
        point["objectives"] = {metric: float(values.at[point["trial_id"], metric])
                               for metric in objective_metrics(study)}
    return points


def spread_order(points: np.ndarray) -> list[int]:
    """The rows of ``points`` (every axis minimised) in the order ``retrain --top k`` takes them:
    the front first, then the front of the rest, and so on; within a front its extremes (the
    best on each objective, in objective order), then its knee (the point nearest the ideal
    point, every axis scaled to [0, 1] over the front), then each time the point farthest
    from those already taken (same scaling), so that any first k spread along the front."""
    remaining = np.arange(len(points))
    order: list[int] = []
    while len(remaining):
        on_front = remaining[non_dominated(points[remaining])]
        order += [int(on_front[i]) for i in _spread_within(points[on_front])]
        remaining = np.setdiff1d(remaining, on_front)
    return order


def _spread_within(front: np.ndarray) -> list[int]:
    low, span = front.min(axis=0), np.ptp(front, axis=0)
    scaled = (front - low) / np.where(span > 0, span, 1.0)
    taken = list(dict.fromkeys(int(np.argmin(front[:, axis])) for axis in range(front.shape[1])))
    knee = int(np.argmin(np.linalg.norm(scaled, axis=1)))
    taken += [knee] if knee not in taken else []
    left = [i for i in range(len(front)) if i not in taken]
    while left:
        distances = np.linalg.norm(scaled[left][:, None, :] - scaled[taken][None, :, :], axis=-1).min(axis=1)
        taken.append(left.pop(int(np.argmax(distances))))
    return taken


def spread_along_front(trials: pd.DataFrame, study: Study) -> pd.DataFrame:
    """The finished, feasible trials of ``trials`` in :func:`spread_order` (the rest left out)."""
    rows = candidates(trials, study)
    rows = rows[feasible(rows, study)]
    points = minimised(rows[objective_metrics(study)].to_numpy(float), [t.mode for t in study.objectives])
    return rows.iloc[spread_order(points)] if len(rows) else rows
