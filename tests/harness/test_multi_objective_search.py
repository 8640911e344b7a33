"""The Optuna searcher with several objectives: directions, every objective told, constraints
set where the samplers read them, repeats told the first result, and resume."""

from __future__ import annotations

import math

import pytest
from optuna.distributions import CategoricalDistribution
from optuna.study import StudyDirection
from optuna.trial import TrialState

from harness.optuna_journal import TUNE_TRIAL_ID
from harness.optuna_search import DistinctOptunaSearch

FOUR = {"seed": CategoricalDistribution([0, 1]), "rate": CategoricalDistribution([0.6, 0.9])}


def _searcher(sampler: str = "tpe", **kwargs) -> DistinctOptunaSearch:
    return DistinctOptunaSearch(FOUR, metric=["acc", "macs"], mode=["max", "min"], seed=0, sampler=sampler,
                                constraints=[("params", "max", 3.3)], **kwargs)


def _result(n: int) -> dict:
    return {"acc": 90.0 + n, "macs": 10.0 * n, "params": 3.0 + 0.2 * n, "training_iteration": 2}


@pytest.mark.parametrize("sampler", ["tpe", "nsga2", "nsga3"])
def test_every_objective_and_constraint_is_told(sampler):
    searcher = _searcher(sampler, population_size=None if sampler == "tpe" else 2)
    for n in range(4):
        searcher.suggest(f"t{n}")
        searcher.on_trial_result(f"t{n}", _result(n))  # no intermediate value with two objectives
        searcher.on_trial_complete(f"t{n}", _result(n))
    study = searcher.study
    assert study.directions == [StudyDirection.MAXIMIZE, StudyDirection.MINIMIZE]
    ran = {t.user_attrs[TUNE_TRIAL_ID]: t for t in study.trials if TUNE_TRIAL_ID in t.user_attrs}
    assert [ran[f"t{n}"].values for n in range(4)] == [[90.0, 0.0], [91.0, 10.0], [92.0, 20.0], [93.0, 30.0]]
    # params 3.0, 3.2, 3.4, 3.6 against max 3.3: the last two are infeasible (> 0)
    assert [round(ran[f"t{n}"].constraints["params.max"], 6) for n in range(4)] == [-0.3, -0.1, 0.1, 0.3]
    assert all(not t.intermediate_values for t in ran.values())


def test_a_repeat_is_told_the_first_trials_objectives_and_constraints():
    searcher = _searcher()
    for n in range(4):
        searcher.suggest(f"t{n}")
        searcher.on_trial_complete(f"t{n}", _result(n))
    repeats = [t for t in searcher.study.trials if "repeat_of" in t.user_attrs]
    assert repeats, "TPE proposes a finished configuration of four at least once in this seeded run"
    by_id = {t.user_attrs[TUNE_TRIAL_ID]: t for t in searcher.study.trials if TUNE_TRIAL_ID in t.user_attrs}
    for repeat in repeats:
        first = by_id[repeat.user_attrs["repeat_of"]]
        assert (repeat.values, repeat.constraints) == (first.values, first.constraints)


def test_a_trial_missing_an_objective_is_pruned_and_a_missing_constraint_is_infeasible():
    searcher = _searcher()
    searcher.suggest("t0")
    searcher.on_trial_complete("t0", {"acc": 90.0})
    searcher.suggest("t1")
    searcher.on_trial_complete("t1", {"acc": 90.0, "macs": 5.0})
    first, second = (t for t in searcher.study.trials if TUNE_TRIAL_ID in t.user_attrs)
    assert first.state == TrialState.PRUNED
    assert second.state == TrialState.COMPLETE and second.constraints == {"params.max": math.inf}


def test_a_restored_nsga2_searcher_proposes_what_an_uninterrupted_run_proposes(tmp_path):
    def run(interrupt: bool) -> list:
        searcher = _searcher("nsga2", population_size=2, journal=tmp_path / f"{interrupt}.journal")
        proposed = []
        for n in range(4):
            if interrupt and n == 2:
                searcher.save(str(tmp_path / "state.json"))
                searcher = _searcher("nsga2", population_size=2, journal=tmp_path / f"{interrupt}.journal")
                searcher.restore(str(tmp_path / "state.json"))
            proposed.append(searcher.suggest(f"t{n}"))
            searcher.on_trial_complete(f"t{n}", _result(n))
        return proposed

    assert run(interrupt=True) == run(interrupt=False)


@pytest.mark.slow
def test_a_multi_objective_nsga2_study_runs_and_answers_with_its_front(ray_local, tmp_path, capsys):
    """Four trials of two epochs: Optuna's journal holds two directions and every trial's two
    values and constraint; the analysis's front is the journal's non-dominated feasible trials."""
    import json

    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from study_helpers import tiny_study, write_study

    from harness.cli import main

    small = {"dataset": "synthetic",
             "synthetic": {"classes": 4, "image_size": 8, "train_images": 128, "test_images": 32}}
    study = tiny_study("front", tmp_path / "results", search={"epochs": 2}, data=small,
                       space={"search.seed": {"choice": [0, 1]}, "search.temperature.initial": {"choice": [1.0, 4.0]}},
                       objective=[{"metric": "child_val_acc", "mode": "max"}, {"metric": "eval_macs_m", "mode": "min"}],
                       constraints={"eval_params_m": {"max": 1.0}},
                       searcher={"name": "optuna", "sampler": "nsga2", "population_size": 2, "num_samples": 4})
    assert main(["run", str(write_study(tmp_path / "s.yaml", study)), "--quiet"]) == 0
    folder = tmp_path / "results" / "front"
    stored = optuna.load_study(study_name="front",
                               storage=JournalStorage(JournalFileBackend(str(folder / "optuna.journal"))))
    assert stored.directions == [StudyDirection.MAXIMIZE, StudyDirection.MINIMIZE]
    ran = [t for t in stored.trials if TUNE_TRIAL_ID in t.user_attrs and t.state == TrialState.COMPLETE]
    assert len(ran) == 4 and all(len(t.values) == 2 and "eval_params_m.max" in t.constraints for t in ran)
    best = json.loads((folder / "analysis" / "best.json").read_text())
    journal_front = {t.user_attrs[TUNE_TRIAL_ID] for t in stored.best_trials}
    assert {point["trial_id"] for point in best["trials"]} == journal_front
    assert (folder / "plots" / "front.png").is_file()


def test_a_searcher_that_ranks_by_one_metric_refuses_a_list_objective(tmp_path, monkeypatch):
    """Every searcher of ours takes several objectives; one that could not says so in one line."""
    from study_helpers import tiny_study

    from harness.policies.grid import GridSearcher
    from harness.study import validate_study
    from snas.errors import UserInputError

    monkeypatch.setattr(GridSearcher, "several_objectives", "ranks by one metric; use searcher optuna")
    study = tiny_study("mo", tmp_path, objective=[{"metric": "child_val_acc", "mode": "max"},
                                                  {"metric": "eval_macs_m", "mode": "min"}])
    with pytest.raises(UserInputError, match=r"^invalid study study: searcher grid ranks by one metric; "
                                             r"use searcher optuna$"):
        validate_study(study)


def test_nsga3_is_built_without_optunas_experimental_warning():
    import warnings

    from harness.optuna_search import SAMPLERS

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sampler = SAMPLERS["nsga3"](0, 4)
    assert type(sampler).__name__ == "NSGAIIISampler" and caught == []
