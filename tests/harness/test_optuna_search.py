"""The Optuna searcher: distinct configurations, points first, trial numbers, save and restore."""

from __future__ import annotations

import json
import shutil

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from harness.optuna_journal import TUNE_TRIAL_ID
from harness.optuna_search import DistinctOptunaSearch, optuna_space

FOUR = {"seed": CategoricalDistribution([0, 1]), "rate": CategoricalDistribution([0.6, 0.9])}
"""Two seeds × two rates: a space of exactly four configurations."""


def _searcher(space=None, **kwargs) -> DistinctOptunaSearch:
    return DistinctOptunaSearch(FOUR if space is None else space, metric="acc", mode="max", seed=0, **kwargs)


def _settings(config: dict) -> tuple:
    return config["seed"], config["rate"]


def test_a_finished_configuration_is_not_suggested_again():
    """Four distinct configurations, each suggested once; the repeats TPE proposes are told
    the finished result instead."""
    searcher = _searcher()
    seen = []
    for n in range(4):
        config = searcher.suggest(f"t{n}")
        seen.append((config["seed"], config["rate"]))
        searcher.on_trial_complete(f"t{n}", {"acc": float(n), "training_iteration": 1})
    assert len(set(seen)) == 4
    trials = searcher.study.trials
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
    searcher = _searcher()
    running = [searcher.suggest(f"t{n}") for n in range(4)]  # none has finished
    assert len({(c["seed"], c["rate"]) for c in running}) == 4
    duplicates = [t for t in searcher.study.trials if "duplicate_of" in t.user_attrs]
    assert duplicates and all(t.state == TrialState.FAIL for t in duplicates)
    for duplicate in duplicates:
        original = next(t for t in searcher.study.trials
                        if t.user_attrs.get(TUNE_TRIAL_ID) == duplicate.user_attrs["duplicate_of"])
        assert duplicate.params == original.params
    for n in range(4):
        searcher.on_trial_complete(f"t{n}", {"acc": float(n), "training_iteration": 1})
    assert not searcher._running


def test_after_twenty_repeating_draws_the_last_runs_again(caplog):
    """A space of one configuration: the second trial repeats it, after 19 draws told its
    result, with a warning."""
    searcher = _searcher({"seed": CategoricalDistribution([0])})
    searcher.suggest("t0")
    searcher.on_trial_complete("t0", {"acc": 0.5})
    assert searcher.suggest("t1") == {"seed": 0}
    trials = searcher.study.trials
    assert [t.user_attrs.get("repeat_of") for t in trials] == [None] + ["t0"] * 19 + [None]
    assert trials[-1].user_attrs[TUNE_TRIAL_ID] == "t1"
    assert "after 20 draws Optuna proposed only finished or running configurations; running seed=0 again" in caplog.text


def test_space_entries_map_to_the_distributions_rays_optuna_searcher_used():
    """Each way an entry varies, as Ray's ``OptunaSearch.convert_search_space`` converted its
    Tune domain (randint's high is excluded in Tune, included in Optuna)."""
    from ray.tune.search.optuna import OptunaSearch

    from harness.study.schema import Domain
    from harness.trialplan import to_tune

    space = {"a": Domain(choice=["discrete", "reparametrization"]), "b": Domain(uniform=(0.5, 0.99)),
             "c": Domain(loguniform=(1e-5, 1e-2)), "d": Domain(randint=(0, 100))}
    assert optuna_space(space) == {"a": CategoricalDistribution(["discrete", "reparametrization"]),
                                   "b": FloatDistribution(0.5, 0.99), "c": FloatDistribution(1e-5, 1e-2, log=True),
                                   "d": IntDistribution(0, 99)}
    assert optuna_space(space) == OptunaSearch.convert_search_space({k: to_tune(d) for k, d in space.items()})


def test_points_to_evaluate_run_first_in_order():
    """A whole point runs as given; a point leaving an entry out has it drawn."""
    searcher = _searcher(points_to_evaluate=[{"seed": 1, "rate": 0.9}, {"seed": 0}])
    assert searcher.suggest("t0") == {"seed": 1, "rate": 0.9}
    assert searcher.suggest("t1")["seed"] == 0
    assert [t.user_attrs[TUNE_TRIAL_ID] for t in searcher.study.trials] == ["t0", "t1"]


def _interrupted(tmp_path, journal=True):
    """A searcher that handed out t0..t2 and heard t0 finish when Tune saved it, then handed
    out t3 before the run stopped; and a searcher restored from that save, as ``resume``
    builds it (from ``tuner.pkl``: constructed, nothing asked)."""
    path = tmp_path / "optuna.journal" if journal else None
    before = _searcher(journal=path)
    configs = {f"t{n}": _settings(before.suggest(f"t{n}")) for n in range(3)}
    before.on_trial_complete("t0", {"acc": 0.25, "training_iteration": 1})
    saved = tmp_path / "tune"
    saved.mkdir()
    before.save_to_dir(str(saved), session_str="2026-01-01_00-00-00")
    configs["t3"] = _settings(before.suggest("t3"))
    after = _searcher(journal=path)
    after.restore_from_dir(str(saved))
    return before, after, configs, saved


def test_a_restored_searcher_tells_the_optuna_trials_it_handed_out(tmp_path):
    before, after, configs, saved = _interrupted(tmp_path)
    state = json.loads((saved / "optuna-searcher-2026-01-01_00-00-00.json").read_text())
    assert state["tune_trials"] == {"t0": 0, "t1": 1, "t2": 2}  # t3 came after the save
    after.on_trial_result("t2", {"acc": 0.5, "training_iteration": 1})
    after.on_trial_complete("t1", {"acc": 0.75, "training_iteration": 2})
    trials = {t.user_attrs[TUNE_TRIAL_ID]: t for t in after.study.trials if TUNE_TRIAL_ID in t.user_attrs}
    assert (trials["t1"].state, trials["t1"].value) == (TrialState.COMPLETE, 0.75)
    assert (trials["t2"].state, trials["t2"].intermediate_values) == (TrialState.RUNNING, {1: 0.5})
    assert trials["t3"].state == TrialState.FAIL  # Tune does not know t3: it was handed out after the save
    # t0 and t1 finished, t2 runs: the next trial is the one configuration left
    (left,) = {(s, r) for s in (0, 1) for r in (0.6, 0.9)} - {configs["t0"], configs["t1"], configs["t2"]}
    assert _settings(after.suggest("t4")) == left


def test_a_study_kept_in_memory_comes_back_from_the_saved_state(tmp_path):
    """Stored remotely, the study has no journal file: its journal entries are saved."""
    before, after, _, _ = _interrupted(tmp_path, journal=False)
    assert not (tmp_path / "optuna.journal").exists()
    def listed(trials):
        return [(t.number, t.state, t.params, t.user_attrs) for t in trials]

    assert listed(after.study.trials) == listed(before.study.trials[:3])  # t3 came after the save
    after.on_trial_complete("t2", {"acc": 0.5})
    assert after.study.trials[2].value == 0.5 and after.study.trials[2].user_attrs[TUNE_TRIAL_ID] == "t2"


def test_tpe_models_the_results_once_its_startup_trials_have_run():
    """``startup_trials`` reaches TPE: with 3, the first three trials are the random ones
    Optuna's default start-up of 10 draws too, and the fourth is TPE's own proposal."""
    space = {"lr": FloatDistribution(1e-3, 1e-1, log=True)}

    def proposed(**kwargs) -> list[float]:
        searcher = _searcher(space, **kwargs)
        lrs = []
        for n in range(4):
            lrs.append(searcher.suggest(f"t{n}")["lr"])
            searcher.on_trial_complete(f"t{n}", {"acc": (n % 3) / 10})
        return lrs

    short, default = proposed(startup_trials=3), proposed()
    assert short[:3] == default[:3] and short[3] != default[3]


def test_a_sampler_setting_is_refused_for_a_sampler_it_does_not_apply_to():
    from harness.policies.optuna import OptunaSearcher

    with pytest.raises(ValueError, match=r"^searcher\.startup_trials counts the random trials sampler tpe starts "
                                         r"with; nsga3 starts with a random first generation: set "
                                         r"searcher\.population_size instead$"):
        OptunaSearcher(sampler="nsga3", startup_trials=4).check({})
    with pytest.raises(ValueError, match=r"^searcher\.population_size sizes the generations of sampler nsga2 or "
                                         r"nsga3; TPE has none: drop it, or set searcher\.sampler$"):
        OptunaSearcher(population_size=4).check({})
    OptunaSearcher(sampler="tpe", startup_trials=4).check({})  # each where it applies
    OptunaSearcher(sampler="nsga2", population_size=4).check({})


@pytest.mark.parametrize("startup_trials", [None, 2])
def test_a_restored_sampler_proposes_what_an_uninterrupted_run_proposes(tmp_path, startup_trials):
    """TPE's random state is saved with the searcher: the trials after a resume are those an
    uninterrupted study would have run (a sampler seeded afresh proposes others), also when
    the sampler left its start-up before the interruption (``startup_trials`` 2)."""
    space = {"lr": FloatDistribution(1e-3, 1e-1, log=True), "seed": CategoricalDistribution([0, 1, 2, 3])}

    def run(searcher, names):
        configs = []
        for n in names:
            configs.append(searcher.suggest(f"t{n}"))
            searcher.on_trial_complete(f"t{n}", {"acc": (n % 5) / 10})
        return configs

    straight = _searcher(space, journal=tmp_path / "straight.journal", startup_trials=startup_trials)
    run(straight, range(4))
    straight.save_to_dir(str(tmp_path), session_str="s")
    shutil.copy(tmp_path / "straight.journal", tmp_path / "resumed.journal")
    expected = run(straight, range(4, 14))
    resumed = _searcher(space, journal=tmp_path / "resumed.journal", startup_trials=startup_trials)
    resumed.restore_from_dir(str(tmp_path))
    assert run(resumed, range(4, 14)) == expected


def test_an_errored_trial_that_completes_when_resumed_is_recorded_again(tmp_path):
    """Optuna cannot be told twice of one trial: the retried trial's result is a new Optuna
    trial, and the Tune trial shows its number."""
    from harness.optuna_journal import optuna_trial_numbers

    before = _searcher(journal=tmp_path / "optuna.journal", study_name="s")
    config = before.suggest("t0")
    before.on_trial_complete("t0", error=True)
    before.save_to_dir(str(tmp_path), session_str="s")
    after = _searcher(journal=tmp_path / "optuna.journal", study_name="s")
    after.restore_from_dir(str(tmp_path))
    after.on_trial_complete("t0", {"acc": 0.7})
    failed, retried = after.study.trials
    assert (failed.state, retried.state, retried.value, retried.params) == (
        TrialState.FAIL, TrialState.COMPLETE, 0.7, config)
    assert retried.user_attrs == {TUNE_TRIAL_ID: "t0", "retry_of": 0}
    assert optuna_trial_numbers(tmp_path, "s") == {"t0": 1}


def test_a_retrain_studys_genotypes_are_refused(tmp_path, monkeypatch):
    """Their origin fields are Tune's variant generator's to fill in."""
    import yaml
    from study_folders import write_study_folder

    from harness import studyrun
    from harness.cli import main
    from harness.study import validate_study

    studies = []
    monkeypatch.setattr(studyrun, "start", lambda study, *args, **kwargs: studies.append(study) or 0)
    assert main(["retrain", str(write_study_folder(tmp_path / "results")), "--quiet"]) == 0
    data = yaml.safe_load(yaml.safe_dump(studies[0].model_dump(mode="json", by_alias=True, exclude_none=True)))
    data["space"]["retrain.settings.genotype"] = {"choice": data["space"]["retrain.settings.genotype"]["grid"]}
    data["space"]["retrain.settings.seed"] = {"choice": [0]}
    data["searcher"] = {"name": "optuna"}
    with pytest.raises(ValueError, match=r"searcher optuna cannot run a retrain study's genotypes "
                                         r"\(retrain.settings.genotype\)"):
        validate_study(data)


def test_restored_run_config_is_reached(tmp_path):
    """The one private attribute of Ray's the harness reads (``Tuner._local_tuner``): a Ray
    that renames it fails here, not in a user's ``resume``."""
    from ray import tune

    from harness.tuner import restored_run_config

    def trainable(config):
        return None

    marker = tune.Callback()
    tune.Tuner(trainable, run_config=tune.RunConfig(name="x", storage_path=str(tmp_path), callbacks=[marker],
                                                    verbose=2))
    restored = restored_run_config(tune.Tuner.restore(str(tmp_path / "x"), trainable=trainable))
    assert isinstance(restored, tune.RunConfig) and restored.verbose == 2
    assert [type(c) for c in restored.callbacks] == [tune.Callback]


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


@pytest.mark.slow
def test_a_resumed_optuna_study_tells_optuna_every_trials_result(ray_local, tmp_path, capsys):
    """Both trials fail after their first epoch; ``resume`` restores the searcher (Tune's
    searcher hooks, the JSON state) and the trials' results reach the journal."""
    import optuna
    import pandas as pd
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from study_helpers import tiny_study, write_study

    from harness.cli import main

    study = tiny_study("tpe_resume", tmp_path / "results", search={"epochs": 2},
                       faults={"fail_once_at_epoch": 1}, failures={"max_failures": 0},
                       space={"search.seed": {"choice": [0, 1]}},
                       searcher={"name": "optuna", "num_samples": 2, "seed": 0})
    assert main(["run", str(write_study(tmp_path / "s.yaml", study)), "--quiet"]) == 1
    folder = tmp_path / "results" / "tpe_resume"
    assert [p.suffix for p in folder.glob("optuna-searcher-*")] == [".json"]
    assert not list(folder.glob("searcher-state-*"))  # Ray's pickled searcher state: none
    assert main(["resume", str(folder), "--quiet"]) == 0
    trials = pd.read_csv(folder / "analysis" / "trials.csv")
    assert set(trials["state"]) == {"TERMINATED"}
    stored = optuna.load_study(study_name="tpe_resume",
                               storage=JournalStorage(JournalFileBackend(str(folder / "optuna.journal"))))
    retried = {t.user_attrs[TUNE_TRIAL_ID]: t for t in stored.trials if "retry_of" in t.user_attrs}
    assert sorted(retried) == sorted(trials["trial_id"])
    assert {k: t.value for k, t in retried.items()} == pytest.approx(dict(zip(trials["trial_id"], trials["score"])))
    assert dict(zip(trials["trial_id"], trials["optuna_trial"])) == {k: t.number for k, t in retried.items()}
    assert all(stored.trials[t.user_attrs["retry_of"]].state == TrialState.FAIL for t in retried.values())
