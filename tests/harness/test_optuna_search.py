"""The Optuna searcher never hands Tune a configuration that already finished."""

from __future__ import annotations

from ray import tune

from harness.optuna_search import TUNE_TRIAL_ID, DistinctOptunaSearch


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
