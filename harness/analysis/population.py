"""What the analysis adds to a population-based study (one whose scheduler copies trials).

The trials table gets each trial's exploits and donors.  Under PBT the answer is not one
setting but a schedule: the winner's curve is its lineage (its donors' epochs up to each
copy), so its τ per epoch is the temperature schedule the population discovered, and its
recorded changes say how it came about -- the report's paragraph.

With a control arm (``population.control`` in the space, :mod:`harness.policies.pbt`) the
answer is compared seed by seed: each seed's population winner against the best of the same
seed's fixed-setting trials, and against the one fixed setting with the best mean over the
seeds -- the same trials, epochs and seeds on both sides (:func:`population_vs_control`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from harness.analysis.replicates import finished, seed_columns, summarize, verdict
from harness.analysis.results import StudyResults, TrialRecord
from harness.domain import CONTROL_KEY, is_seed_key
from harness.study import Study
from harness.trialconfig import ResolvedConfig

DIFFERENCE = "paired difference"
"""The ``kind`` of a :func:`population_vs_control` row that compares two arms (else ``arm``)."""
ONE_POPULATION = "_population"
"""The seed column :func:`population_vs_control` pairs on when no seed varies."""


def _number(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _steps(resolved: ResolvedConfig) -> list[str]:
    """Each change of settings along the winner's lineage, with the trial copied there."""
    donors = {exploit["epoch"]: exploit["donor"] for exploit in resolved.lineage}
    steps = []
    for change in resolved.changes:
        moves = ", ".join(f"{key} {_number(old)} → {_number(new)}" for key, (old, new) in change["settings"].items())
        donor = donors.get(change["epoch"])
        copied = f" (on copying trial {donor}'s state)" if donor else ""
        steps.append(f"after epoch {change['epoch']} {moves}{copied}")
    return steps


def _temperatures(trial: TrialRecord) -> list[tuple[int, float]]:
    pairs = [(row.get("epoch"), row.get("temperature")) for row in trial.rows]
    return [(int(epoch), float(tau)) for epoch, tau in pairs
            if isinstance(epoch, int) and isinstance(tau, (int, float)) and math.isfinite(tau)]


def _starts(study: Study) -> str:
    """The starting τ0 the study's space gave the population."""
    domain = study.space.get(f"{study.trial_kind.section}.temperature.initial")
    if domain is None:
        return f"a fixed τ0 of {_number(study.trial_base.get('temperature', {}).get('initial', 'the default'))}"
    if domain.variation in ("grid", "choice"):
        return f"τ0 {', '.join(_number(value) for value in domain.bounds)}"
    return f"τ0 drawn {domain.variation} in [{_number(domain.bounds[0])}, {_number(domain.bounds[1])}]"


def winning_schedule(results: StudyResults, winner_id: str, metric: str, score: float) -> str | None:
    """The report's paragraph on the winner's schedule; None when its folder recorded none
    (a folder of an older version) or it reported no temperature."""
    trials = results.trials
    by_id = {trial.trial_id: trial for trial in trials}
    winner = by_id.get(winner_id)
    if winner is None or winner.resolved is None:
        return None
    taus = _temperatures(winner)
    if not taus:
        return None
    (first_epoch, first), (last_epoch, last) = taus[0], taus[-1]
    mean = sum(tau for _, tau in taus) / len(taus)
    seeds = [key for key in results.study.space if is_seed_key(key)]
    others = [_temperatures(t)[-1][1] for t in trials
              if t.trial_id != winner_id and _temperatures(t) and not t.config.get(CONTROL_KEY)
              and all(t.config.get(key) == winner.config.get(key) for key in seeds)]
    steps = _steps(winner.resolved)
    went = "fell" if last < first else "rose" if last > first else "stayed"
    text = (f"The winning schedule is trial {winner_id}'s ({metric} {score:.2f}): τ {went} from {first:.3g} at epoch "
            f"{first_epoch} to {last:.3g} by epoch {last_epoch} (mean τ {mean:.3g} over its epochs). ")
    text += (f"Its lineage changed the settings {'; '.join(steps)}. " if steps
             else "It never changed its settings: it ran the schedule it started with. ")
    own = ", ".join(f"{key.rsplit('.', 1)[-1]} {winner.config.get(key)}" for key in seeds)
    text += f"The population{f' of {own}' if own else ''} started from {_starts(results.study)}"
    if others:
        ends = f"{min(others):.3g}" if f"{min(others):.3g}" == f"{max(others):.3g}" else \
            f"{min(others):.3g}–{max(others):.3g}"
        text += f"; its other trials ended at τ {ends}"
    return text + "."


def _best_per_seed(arm: pd.DataFrame, seeds: list[str], mode: str) -> pd.DataFrame:
    """Each seed's best trial of ``arm``: its seeds, ``trial_id`` and ``score``."""
    order = arm.sort_values("score", ascending=mode == "min", kind="stable")
    return order.groupby(seeds, sort=True).head(1).sort_values(seeds)[[*seeds, "trial_id", "score"]]


def _seed_label(row: pd.Series, seeds: list[str]) -> str:
    return ",".join(f"{row[seed]}" for seed in seeds)


def _per_seed_text(best: pd.DataFrame, seeds: list[str]) -> str:
    if seeds == [ONE_POPULATION]:
        return "; ".join(f"{row['score']:.4g} ({row['trial_id']})" for _, row in best.iterrows())
    return "; ".join(f"seed {_seed_label(row, seeds)}: {row['score']:.4g} ({row['trial_id']})"
                     for _, row in best.iterrows())


def _arm_row(name: str, scores: np.ndarray, detail: str, mode: str) -> dict[str, Any]:
    summary = summarize(scores, mode)
    return {"comparison": name, "kind": "arm", "n": summary.n, "mean": summary.mean, "ci95_low": summary.low,
            "ci95_high": summary.high, "p_paired_t": math.nan, "verdict": "", "detail": detail}


def _difference_row(name: str, first: pd.DataFrame, second: pd.DataFrame, seeds: list[str]) -> dict[str, Any]:
    from scipy import stats

    pairs = first.merge(second, on=seeds, suffixes=("_a", "_b"))
    differences = (pairs["score_a"] - pairs["score_b"]).to_numpy(dtype=float)
    summary = summarize(differences)
    constant = summary.n >= 2 and summary.sd == 0  # the t-test is undefined: say what was seen
    p = float(stats.ttest_rel(pairs["score_a"], pairs["score_b"]).pvalue) if summary.n >= 2 and not constant \
        else math.nan
    said = (f"the same on all {summary.n} seeds" if constant and summary.mean == 0 else
            f"the same difference on all {summary.n} seeds" if constant else verdict(summary.n, p))
    return {"comparison": name, "kind": DIFFERENCE, "n": summary.n, "mean": summary.mean, "ci95_low": summary.low,
            "ci95_high": summary.high, "p_paired_t": p, "verdict": said, "detail": "paired by seed"}


def population_vs_control(trials: pd.DataFrame, study: Study) -> pd.DataFrame:
    """The population's winner against fixed settings, seed by seed (empty without a control
    arm).  Both sides are the best of the same number of trials of the same epochs on the
    same seed; the single best fixed setting is picked on these very seeds, which favours it
    -- a win for the population over it is the harder one.  Only finished trials count."""
    names = study.trial_kind.short_names(list(study.space))
    control = names.get(CONTROL_KEY)
    if not study.scheduler.copies_trials or control is None or control not in trials:
        return pd.DataFrame()
    seeds = [name for name in seed_columns(study) if name in trials]
    complete = trials[finished(trials)].copy()
    if not seeds:  # one population: one pair
        seeds = [ONE_POPULATION]
        complete[ONE_POPULATION] = 0
    mode = study.mode
    is_control = complete[control].astype(bool)
    population = _best_per_seed(complete[~is_control], seeds, mode)
    fixed = complete[is_control]
    if not len(population) or not len(fixed):
        return pd.DataFrame()
    fixed_best = _best_per_seed(fixed, seeds, mode)
    settings = [name for key, name in names.items() if name not in (control, *seeds) and name in fixed]
    rows = [_arm_row("population winner", population["score"].to_numpy(), _per_seed_text(population, seeds), mode),
            _arm_row("best fixed setting of each seed", fixed_best["score"].to_numpy(),
                     _per_seed_text(fixed_best, seeds), mode)]
    if settings:
        means = fixed.groupby(settings, sort=True, dropna=False)["score"].mean()
        chosen = means.idxmax() if mode == "max" else means.idxmin()
        chosen = chosen if isinstance(chosen, tuple) else (chosen,)
        same = np.logical_and.reduce([fixed[name] == value for name, value in zip(settings, chosen)])
        single = fixed[same].sort_values(seeds)[[*seeds, "trial_id", "score"]]
        label = ", ".join(f"{name} {_number(value)}" for name, value in zip(settings, chosen))
        rows.append(_arm_row(f"best fixed setting over seeds ({label})", single["score"].to_numpy(),
                             _per_seed_text(single, seeds), mode))
    rows.append(_difference_row("population winner − best fixed setting of each seed", population, fixed_best, seeds))
    if settings:
        rows.append(_difference_row(f"population winner − fixed {label}", population, single, seeds))
    return pd.DataFrame(rows)
