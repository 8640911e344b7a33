"""A retrain study made from a finished search study's winners.

The top-k genotypes (ranked by the search study's objective) are retrained from scratch
with n seeds each, as a Ray Tune study of its own named ``<search study>-retrain``.  It
records, per genotype, the score its search reported, so its analysis can set searched
against retrained accuracy.

Only trials that ran to their end (TERMINATED: completed, or stopped by ASHA) are
candidates: a running, pending or failed trial's genotype is that of whatever epoch it
reached.  ``include_unfinished`` opts in to them, with a warning naming the epochs reached.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import replace
from typing import Any

from harness.analysis.results import StudyResults, TrialRecord
from harness.analysis.tables import best_trials, trials_table
from harness.study import Study, apply_study_overrides, refuse_unread_settings, validate_study
from snas.errors import UserInputError
from snas.spaces import parse_genotype

log = logging.getLogger(__name__)
FINISHED_STATE = "TERMINATED"


def _candidates(source: StudyResults, include_unfinished: bool) -> StudyResults:
    """``source`` with only the trials that may be retrained."""
    if include_unfinished:
        return source
    finished = [t for t in source.trials if t.state == FINISHED_STATE]
    if not finished:
        states = Counter(t.state for t in source.trials)
        listed = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
        raise UserInputError(
            f"no trial of {source.study.name} ({source.path}) finished: {len(source.trials)} trials"
            f"{f', states {listed}' if listed else ''}; wait for the study to end (or `snas-study resume` it), "
            f"or pass --include-unfinished to retrain the best genotypes reached so far")
    return replace(source, trials=finished)


def _warn_unfinished(winners: list[dict[str, Any]], by_id: dict[str, TrialRecord]) -> None:
    unfinished = [by_id[w["trial_id"]] for w in winners if by_id[w["trial_id"]].state != FINISHED_STATE]
    if unfinished:
        log.warning("retraining unfinished trial(s) (--include-unfinished): %s", ", ".join(
            f"{t.trial_id} ({t.state}, epoch {t.epochs} of {t.configured_epochs})" for t in unfinished))


def retrain_study(source: StudyResults, top: int, seeds: int, overrides: list[str],
                  include_unfinished: bool = False) -> Study:
    """The retrain study of ``source``'s best ``top`` finished trials (any trial with
    ``include_unfinished``), ``seeds`` seeds each."""
    src = source.study
    if not src.trial_kind.derives_genotype:
        raise UserInputError(f"{source.path} is a {src.kind} study; retrain the winners of a search study")
    candidates = _candidates(source, include_unfinished)
    winners = best_trials(trials_table(candidates, src.metric, "last"), candidates, top)
    if not winners:
        raise UserInputError(f"no {'' if include_unfinished else 'finished '}trial of {source.path} has an "
                             f"intact record of {src.metric}; nothing to retrain")
    _warn_unfinished(winners, {t.trial_id: t for t in source.trials})
    genotypes = {
        w["trial_id"]: w["genotype_json"] or parse_genotype(w["genotype"]).to_dict() for w in winners
    }
    val_fraction = src.retrain.settings.get("val_fraction", 0.1)
    data: dict[str, Any] = {
        "name": f"{src.name}-retrain",
        "kind": "retrain",
        "description": f"The top {len(winners)} genotypes of {src.name} (by {src.metric}) trained from scratch "
                       f"with {seeds} seed(s) each.",
        "data": src.data.model_dump(mode="json"),
        "retrain": {"top": top, "seeds": seeds, "settings": dict(src.retrain.settings)},
        "genotypes": genotypes,
        "space": {"retrain.settings.genotype": {"grid": list(genotypes)},
                  "retrain.settings.seed": {"grid": list(range(seeds))}},
        "objective": {"metric": "val_acc" if val_fraction > 0 else "test_acc", "mode": "max"},
        "searcher": {"name": "grid"},
        "scheduler": {"name": "fifo"},
        "resources": src.resources.model_dump(mode="json"),
        "storage": src.storage.model_dump(mode="json"),
        "failures": src.failures.model_dump(mode="json"),
        "checkpoint_every": src.checkpoint_every,
        "source": {"study": str(source.path), "metric": src.metric,
                   "scores": {w["trial_id"]: w["score"] for w in winners}},
    }
    study = validate_study(apply_study_overrides(data, overrides), f"{src.name}-retrain")
    refuse_unread_settings(study, f"{src.name}-retrain")
    return study.resolved()
