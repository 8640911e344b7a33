"""What the analysis adds to a population-based study (one whose scheduler copies trials).

The trials table gets each trial's exploits and donors.  Under PBT the answer is not one
setting but a schedule: the winner's curve is its lineage (its donors' epochs up to each
copy), so its τ per epoch is the temperature schedule the population discovered, and its
recorded changes say how it came about -- the report's paragraph.
"""

from __future__ import annotations

import math
from typing import Any

from harness.analysis.results import StudyResults, TrialRecord
from harness.policies.pbt import EXPLOITS_COLUMN
from harness.study import Study
from harness.trialconfig import ResolvedConfig

DONORS_COLUMN = "donors"


def lineage_columns(trials: list[TrialRecord]) -> dict[str, dict[str, Any]]:
    """``{column: {trial id: value}}``: how many times each trial exploited another, and the
    donors it copied, in order (trials of older versions, which recorded none, left empty)."""
    made = {trial.trial_id: trial.resolved.exploits for trial in trials if trial.resolved is not None}
    return {EXPLOITS_COLUMN: {trial_id: len(exploits) for trial_id, exploits in made.items()},
            DONORS_COLUMN: {trial_id: " ".join(e["donor"] for e in exploits) or None
                            for trial_id, exploits in made.items()}}


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
    others = [_temperatures(t)[-1][1] for t in trials if t.trial_id != winner_id and _temperatures(t)]
    steps = _steps(winner.resolved)
    went = "fell" if last < first else "rose" if last > first else "stayed"
    text = (f"The winning schedule is trial {winner_id}'s ({metric} {score:.2f}): τ {went} from {first:.3g} at epoch "
            f"{first_epoch} to {last:.3g} by epoch {last_epoch} (mean τ {mean:.3g} over its epochs). ")
    text += (f"Its lineage changed the settings {'; '.join(steps)}. " if steps
             else "It never changed its settings: it ran the schedule it started with. ")
    text += f"The population started from {_starts(results.study)}"
    if others:
        ends = f"{min(others):.3g}" if f"{min(others):.3g}" == f"{max(others):.3g}" else \
            f"{min(others):.3g}–{max(others):.3g}"
        text += f"; its other trials ended at τ {ends}"
    return text + "."
