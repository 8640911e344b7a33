"""A retrain study made from a finished search study's winners, and a random baseline.

The k best *distinct* genotypes (trials ranked by the search study's objective, or for a
multi-objective study taken along its Pareto front: the extremes, the knee, then spread;
trials that derived the same cell, by :func:`snas.genotype.genotype_id`, count once) are
retrained from scratch with n seeds each, as a Ray Tune study of its own named
``<search study>-retrain``.  Beside them, ``random`` genotypes drawn uniformly from the
search's space under its derivation rule (seeded by ``random_seed``) get the identical
settings and seeds: the baseline a searched cell has to beat (Yang et al., ICLR 2020).

The retrain study records, per genotype label, the score its search reported (searched
ones) and its origin in ``source.genotypes``: ``origin`` (``searched`` | ``random``),
``genotype_id``, ``source_trials`` (every candidate trial that found it, best first) or
``random_index`` (0..K-1).  Each retrain trial carries the same fields in its Tune config
as ``retrain.origin``, ``retrain.genotype_id``, ``retrain.source_trials`` and
``retrain.random_index`` (:func:`harness.tuner.origin_fields`).

Only trials that ran to their end (TERMINATED: completed, or stopped by ASHA) are
candidates: a running, pending or failed trial's genotype is that of whatever epoch it
reached.  ``include_unfinished`` opts in to them, with a warning naming the epochs reached.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from harness.analysis.front import spread_along_front
from harness.analysis.results import StudyResults, TrialRecord
from harness.analysis.tables import best_trials, trials_table
from harness.proxy_baseline import ProxyPick, check_proxy_baseline, proxy_arms, selection_costs
from harness.retrain_arms import Arm
from harness.study import (
    NAME_MAX_LENGTH,
    RETRAIN_SUFFIX,
    Study,
    apply_study_overrides,
    check_name_length,
    refuse_unread_settings,
    validate_study,
)
from snas.errors import UserInputError
from snas.genotype import genotype_id
from snas.spaces import SPACES, genotype_from_dict, parse_genotype

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


def _warn_unfinished(trial_ids: list[str], by_id: dict[str, TrialRecord]) -> None:
    unfinished = [by_id[trial_id] for trial_id in trial_ids if by_id[trial_id].state != FINISHED_STATE]
    if unfinished:
        log.warning("retraining unfinished trial(s) (--include-unfinished): %s", ", ".join(
            f"{t.trial_id} ({t.state}, epoch {t.epochs} of {t.configured_epochs})" for t in unfinished))


RANDOM_LABEL = "random_{}"
"""Labels of the random genotypes (search trial ids, the searched labels, never look like this)."""


def _winner_genotype(winner: dict[str, Any]) -> Any:
    """The genotype the winner's ``genotype`` column shows (its last epoch), as its id was counted."""
    text = winner["genotype"]
    genotype = parse_genotype(text) if isinstance(text, str) else None
    return genotype if genotype is not None else genotype_from_dict(winner["genotype_json"])


def distinct_winners(candidates: StudyResults, top: int) -> list[Arm]:
    """The ``top`` best distinct genotypes of ``candidates`` (ranked by their study's metric at
    the last epoch; a multi-objective study's spread along its front,
    :func:`harness.analysis.front.spread_along_front`), each with every candidate trial that
    found it, best first."""
    src = candidates.study
    table = trials_table(candidates, src.metric, "last")
    if src.multi_objective:
        table = spread_along_front(table, src)
    ranked = best_trials(table, candidates, len(candidates.trials))
    found: dict[str, list[dict[str, Any]]] = {}
    for winner in ranked:
        found.setdefault(genotype_id(_winner_genotype(winner)), []).append(winner)
    arms = []
    for ident, trials in list(found.items())[:top]:
        best = trials[0]
        arms.append(Arm(best["trial_id"], _winner_genotype(best).to_dict(), score=best["score"], origin={
            "origin": "searched", "genotype_id": ident, "source_trials": [t["trial_id"] for t in trials]}))
    return arms


def _derivation(candidates: StudyResults, trial_ids: list[str]) -> tuple[str, str]:
    """(space, derivation rule) the trials ``trial_ids`` searched under; refused when they differ."""
    from snas.config import SearchConfig  # pydantic models built when needed, not for --help

    by_id = {t.trial_id: t for t in candidates.trials}
    used: dict[tuple[str, str], str] = {}
    for trial_id in trial_ids:
        config = candidates.study.trial_config_of(by_id[trial_id].config)
        assert isinstance(config, SearchConfig)  # the caller refused studies whose trials derive no genotype
        used.setdefault((config.space, config.genotype_rule), trial_id)
    if len(used) > 1:
        shown = ", ".join(f"{space} space, {rule} rule (trial {trial})" for (space, rule), trial in used.items())
        raise UserInputError(f"--random needs one search space and derivation rule, but the winners differ: {shown}; "
                             f"retrain the random baseline from a study that varies neither")
    return next(iter(used))


def random_arms(space_name: str, rule: str, count: int, seed: int) -> list[Arm]:
    """``count`` distinct genotypes drawn uniformly (every genotype the rule can derive equally
    likely, without replacement) from ``space_name`` under ``rule``, seeded by ``seed``."""
    space = SPACES[space_name]
    available = space.genotype_count(rule)
    if count > available:
        raise UserInputError(f"--random {count}: the {space_name} space has only {available} genotypes "
                             f"under the {rule} rule")
    rng = random.Random(seed)
    arms: list[Arm] = []
    seen: set[str] = set()
    while len(arms) < count:
        genotype = space.random_genotype(rule, rng)
        ident = genotype_id(genotype)
        if ident not in seen:
            seen.add(ident)
            arms.append(Arm(RANDOM_LABEL.format(len(arms)), genotype.to_dict(), origin={
                "origin": "random", "genotype_id": ident, "random_index": len(arms)}))
    return arms


def retrain_study(source: StudyResults, top: int, seeds: int, overrides: list[str],
                  include_unfinished: bool = False, random_count: int = 0, random_seed: int = 0,
                  proxy: str | None = None, pool: int = 0,
                  before_scoring: Callable[[Study], object] | None = None) -> Study:
    """The retrain study of ``source``'s ``top`` best distinct genotypes among its finished
    trials (any trial with ``include_unfinished``), ``random_count`` random ones and, given a
    ``proxy``, the ``random_count`` best of ``pool`` random ones by that proxy
    (:mod:`harness.proxy_baseline`), ``seeds`` seeds each.  ``before_scoring`` is handed
    the study without the proxy's picks before the proxy scores its pool (which takes
    seconds to minutes), to refuse where it would be written first."""
    src = source.study
    if not src.trial_kind.derives_genotype:
        raise UserInputError(f"{source.path} is a {src.kind} study; retrain the winners of a search study")
    check_proxy_baseline(proxy, pool, random_count)
    candidates = _candidates(source, include_unfinished)
    winners = distinct_winners(candidates, top)
    if not winners:
        raise UserInputError(f"no {'' if include_unfinished else 'finished '}trial of {source.path} has an "
                             f"intact record of {src.metric}; nothing to retrain")
    _warn_unfinished([arm.label for arm in winners], {t.trial_id: t for t in source.trials})

    def study_of(arms: list[Arm], pick: ProxyPick | None) -> Study:
        """The retrain study of ``arms`` (the winners first, then random ones and ``pick``'s)."""
        genotypes = {arm.label: arm.genotype for arm in arms}
        random_note = (f" and {random_count} genotype(s) drawn uniformly from its search space "
                       f"(seed {random_seed})" if random_count else "")
        if pick is not None:
            random_note += f", and the {random_count} best of {pool} more by the {proxy} proxy"
        val_fraction = src.retrain.settings.get("val_fraction", 0.1)
        data: dict[str, Any] = {
            "name": f"{src.name}{RETRAIN_SUFFIX}",
            "kind": "retrain",
            "description": f"The top {len(winners)} distinct genotypes of {src.name} "
                           f"({'spread along its Pareto front' if src.multi_objective else f'by {src.metric}'})"
                           f"{random_note}, "
                           f"trained from scratch with {seeds} seed(s) each.",
            "data": src.data.model_dump(mode="json"),
            "retrain": {"top": top, "seeds": seeds, "random": random_count, "random_seed": random_seed,
                        "proxy": proxy, "pool": pool, "settings": dict(src.retrain.settings)},
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
            "health": src.health.model_dump(mode="json"),
            "source": {"study": str(source.path), "metric": src.metric,
                       "scores": {arm.label: arm.score for arm in winners},
                       "genotypes": {arm.label: arm.origin for arm in arms},
                       "selection": selection_costs(pick, source, proxy, pool, random_seed)},
        }
        study = validate_study(apply_study_overrides(data, overrides), f"{src.name}{RETRAIN_SUFFIX}")
        refuse_unread_settings(study, f"{src.name}{RETRAIN_SUFFIX}")
        check_name_length(study, f"{src.name}{RETRAIN_SUFFIX} (set another name with --set name=NAME)",
                          NAME_MAX_LENGTH + len(RETRAIN_SUFFIX))
        return study.resolved()

    arms, pick = list(winners), None
    if random_count:
        space, rule = _derivation(candidates, [t for arm in winners for t in arm.origin["source_trials"]])
        arms += random_arms(space, rule, random_count, random_seed)
        if proxy is not None:
            if before_scoring is not None:
                before_scoring(study_of(arms, None))
            pick = proxy_arms(source, space, rule, proxy=proxy, count=random_count, pool=pool, seed=random_seed,
                              retrained={arm.origin["genotype_id"]: arm.label for arm in arms})
            arms += pick.arms
    return study_of(arms, pick)


def describe_arms(study: Study) -> list[str]:
    """One line per genotype of a retrain study made here: its label, id and origin."""
    source = study.source or {}
    scores = source.get("scores", {})
    lines = []
    for label, origin in source.get("genotypes", {}).items():
        if origin["origin"] == "searched":
            trials = origin["source_trials"]
            lines.append(f"  {label}: genotype {origin['genotype_id']}, {source.get('metric')} "
                         f"{scores.get(label, float('nan')):.2f}, found by {len(trials)} trial(s): {', '.join(trials)}")
        elif origin["origin"] == "proxy":
            lines.append(f"  {label}: genotype {origin['genotype_id']}, {origin['proxy']} "
                         f"{origin['proxy_score']:.4g} (#{origin['pool_index']} of a pool of {study.retrain.pool}, "
                         f"seed {study.retrain.random_seed})")
        else:
            lines.append(f"  {label}: genotype {origin['genotype_id']}, drawn at random "
                         f"(#{origin['random_index']}, seed {study.retrain.random_seed})")
    for skip in source.get("selection", {}).get("proxy", {}).get("skipped", []):
        lines.append(f"  (not picked: pool #{skip['pool_index']}, {study.retrain.proxy} {skip['proxy_score']:.4g}, "
                     f"is genotype {skip['genotype_id']}, retrained already as {skip['duplicate_of']})")
    return lines
