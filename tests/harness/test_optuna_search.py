"""The Optuna searcher never hands Tune a configuration that already finished."""

from __future__ import annotations

import pytest
from ray import tune

from harness.optuna_journal import TUNE_TRIAL_ID
from harness.optuna_search import DistinctOptunaSearch


def test_a_finished_configuration_is_not_suggested_again():
    """Two seeds × two rates: four distinct configurations, each suggested once; the repeats
    TPE proposes are told the finished result instead."""
    searcher = DistinctOptunaSearch(space={"seed": tune.choice([0, 1]), "rate": tune.choice([0.6, 0.9])},
                                    metric="acc", mode="max", seed=0)
    seen = []
    for n in range(4):
        config = searcher.suggest(f"t{n}")
        seen.append((config["seed"], config["rate"]))
        searcher.on_trial_complete(f"t{n}", {"acc": float(n), "training_iteration": 1})
    assert len(set(seen)) == 4
    trials = searcher._ot_study.trials
    ran = [t for t in trials if TUNE_TRIAL_ID in t.user_attrs]
    assert [t.user_attrs[TUNE_TRIAL_ID] for t in ran] == ["t0", "t1", "t2", "t3"]
    repeats = [t for t in trials if "repeat_of" in t.user_attrs]
    assert len(repeats) == 2  # seeded: TPE's random start proposed two finished configurations
    for repeat in repeats:
        first = next(t for t in ran if t.user_attrs[TUNE_TRIAL_ID] == repeat.user_attrs["repeat_of"])
        assert repeat.params == first.params and repeat.value == first.value


def test_a_running_configuration_is_not_suggested_again():
    """Trials run two at a time: a proposal equal to one still running is drawn again (the
    slow study below once ran seed 1, τ0 4 twice, side by side)."""
    from optuna.trial import TrialState

    searcher = DistinctOptunaSearch(space={"seed": tune.choice([0, 1]), "rate": tune.choice([0.6, 0.9])},
                                    metric="acc", mode="max", seed=0)
    running = [searcher.suggest(f"t{n}") for n in range(4)]  # none has finished
    assert len({(c["seed"], c["rate"]) for c in running}) == 4
    duplicates = [t for t in searcher._ot_study.trials if "duplicate_of" in t.user_attrs]
    assert duplicates and all(t.state == TrialState.FAIL for t in duplicates)
    for n in range(4):
        searcher.on_trial_complete(f"t{n}", {"acc": float(n), "training_iteration": 1})
    assert not searcher._running


@pytest.mark.slow
def test_an_optuna_study_runs_each_configuration_once_and_shows_optuna_numbers(ray_local, tmp_path, capsys):
    """Four trials over a space of exactly four configurations: each runs once."""
    import optuna
    import pandas as pd
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from study_helpers import tiny_study, write_study

    from harness.cli import main

    study = tiny_study("distinct", tmp_path / "results", search={"epochs": 1},
                       space={"search.seed": {"choice": [0, 1]}, "search.temperature.initial": {"choice": [1.0, 4.0]}},
                       searcher={"name": "optuna", "num_samples": 4, "seed": 0})
    assert main(["run", str(write_study(tmp_path / "s.yaml", study)), "--quiet"]) == 0
    folder = tmp_path / "results" / "distinct"
    trials = pd.read_csv(folder / "analysis" / "trials.csv")
    assert len(trials) == 4 and len(set(zip(trials["seed"], trials["tau0"]))) == 4
    stored = optuna.load_study(study_name="distinct",
                               storage=JournalStorage(JournalFileBackend(str(folder / "optuna.journal"))))
    numbers = {t.user_attrs[TUNE_TRIAL_ID]: t.number for t in stored.trials if TUNE_TRIAL_ID in t.user_attrs}
    assert dict(zip(trials["trial_id"], trials["optuna_trial"])) == numbers
    capsys.readouterr()
    assert main(["status", str(folder)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[:2] == ["trial", "optuna"]
    table = [line for line in lines[2:] if line and not line.startswith("warning:")]  # health warnings follow
    shown = {line.split()[0]: int(line.split()[1]) for line in table}
    assert shown == numbers
