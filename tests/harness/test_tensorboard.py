"""TensorBoard runs: our metrics only, named by the short settings, hparams, no repeated epochs."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from study_helpers import tiny_study
from tensorboard_events import read_runs

from harness.study import validate_study
from harness.tensorboard import EventRun, run_name, run_settings
from harness.trial_events import TrialEvents


def epoch(n: int, acc: float) -> dict:
    return {"epoch": n, "search_val_acc": acc, "train_loss": 1.0 / n, "genotype": "Genotype(...)",
            "diverged": False, "done": False, "should_checkpoint": True, "training_iteration": n}


def test_a_run_holds_our_metrics_per_epoch_and_its_hparams(tmp_path):
    run = EventRun(tmp_path / "tau0=4,seed=0", "search", 1, {"tau0": 4.0, "seed": 0, "penalty": "log"})
    for n in (1, 2):
        run.write(epoch(n, 10.0 * n))
    run.close()
    runs = read_runs(tmp_path)
    assert list(runs) == ["tau0=4,seed=0"]
    got = runs["tau0=4,seed=0"]
    assert set(got["scalars"]) == {"search_val_acc", "train_loss"}  # no done, should_checkpoint, iteration
    assert got["scalars"]["search_val_acc"] == [(1, 10.0), (2, 20.0)]
    assert got["texts"] == ["genotype/text_summary"]
    assert got["hparams"] == {"tau0": 4.0, "seed": 0.0, "penalty": "log"}
    assert "search_val_acc" in got["metrics"] and "eval_params_m" in got["metrics"]


def test_a_restarted_run_shows_each_epoch_once(tmp_path):
    """Epochs 1-3 written, the run restarts from its epoch-1 checkpoint and writes 2-4: TensorBoard
    shows 1-4 once each, the restarted values for 2 and 3."""
    first = EventRun(tmp_path / "run", "search", 1)
    for n in (1, 2, 3):
        first.write(epoch(n, 1.0))
    first.close()
    again = EventRun(tmp_path / "run", "search", 2)
    for n in (2, 3, 4):
        again.write(epoch(n, 2.0))
    again.close()
    assert read_runs(tmp_path)["run"]["scalars"]["search_val_acc"] == [(1, 1.0), (2, 2.0), (3, 2.0), (4, 2.0)]


def test_the_tune_callback_names_runs_by_settings_and_reopens_on_a_restart(tmp_path):
    study = validate_study(tiny_study("tb", tmp_path, space={"search.temperature.initial": {"grid": [1.0, 4.0]},
                                                              "search.seed": {"grid": [0]}}))
    events = TrialEvents(study)
    import pyarrow.fs

    storage = SimpleNamespace(storage_filesystem=pyarrow.fs.LocalFileSystem(), experiment_fs_path=str(tmp_path))
    trial = SimpleNamespace(trial_id="abc_00001", config={"search.temperature.initial": 4.0, "search.seed": 0},
                            storage=storage, local_experiment_path=str(tmp_path / "staging"))
    for n in (1, 2, 3, 2, 3):  # a restart from the epoch-1 checkpoint
        events.log_trial_result(n, trial, epoch(n, float(n)))
    events.log_trial_end(trial)
    runs = read_runs(tmp_path)
    assert list(runs) == ["tau0=4,seed=0"]
    assert [step for step, _ in runs["tau0=4,seed=0"]["scalars"]["search_val_acc"]] == [1, 2, 3]
    assert runs["tau0=4,seed=0"]["hparams"] == {"tau0": 4.0, "seed": 0.0}


def test_run_names_add_the_trial_id_only_when_settings_can_repeat(tmp_path):
    names = {"search.temperature.initial": "tau0", "search.seed": "seed"}
    config = {"search.temperature.initial": 0.5, "search.seed": 1}
    assert run_name(names, config, "x_00000", distinct=True) == "tau0=0.5,seed=1"
    assert run_name(names, config, "x_00000", distinct=False) == "tau0=0.5,seed=1,trial=x_00000"
    assert run_name({}, {}, "x_00000", distinct=True) == "trial=x_00000"
    grid = validate_study(tiny_study("g", tmp_path))
    repeated = validate_study(tiny_study("r", tmp_path, searcher={"num_samples": 2}))
    sampled = validate_study(tiny_study("s", tmp_path, searcher={"name": "random", "num_samples": 3},
                                        space={"search.seed": {"choice": [0, 1]}}))
    assert grid.searcher.settings_are_distinct(grid.space)
    assert not repeated.searcher.settings_are_distinct(repeated.space)
    assert not sampled.searcher.settings_are_distinct(sampled.space)


def test_search_out_writes_events_and_a_resumed_search_repeats_no_epoch(tmp_path):
    """A search stopped after epoch 1 whose events already hold a later epoch (it crashed
    after writing them) resumes at epoch 2: the folder's run shows epochs 1-2 once each."""
    import yaml
    from search_helpers import tiny_search_settings

    from harness.cli import main
    from snas.config import SearchConfig
    from snas.search import Search

    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(tiny_search_settings(epochs=2)))
    assert main(["search", "--config", str(config), "--out", str(tmp_path / "runs" / "full"), "--quiet"]) == 0
    full = read_runs(tmp_path / "runs")["full"]["scalars"]
    assert [step for step, _ in full["search_val_acc"]] == [1, 2]
    assert {"train_loss", "child_val_acc", "temperature", "eval_params_m"} <= set(full)

    part = tmp_path / "runs" / "part"
    partial = Search(SearchConfig.model_validate(yaml.safe_load(config.read_text())))
    partial.run_epoch()
    partial.save(part / "checkpoint.pt")
    stale = EventRun(part, "search", 1)
    for n in (1, 2):
        stale.write(epoch(n, -1.0))
    stale.close()
    assert main(["search", "--resume", str(part), "--quiet"]) == 0
    resumed = read_runs(tmp_path / "runs")["part"]["scalars"]["search_val_acc"]
    assert [step for step, _ in resumed] == [1, 2] and resumed[1][1] == full["search_val_acc"][1][1]


def test_closing_waits_for_the_queue_feeder_so_a_rank_leaving_at_once_leaks_no_semaphore(tmp_path):
    feeders_before = {t for t in threading.enumerate() if t.name == "QueueFeederThread"}
    run = EventRun(tmp_path / "run", "search", 1)
    run.write({"epoch": 1, "train_loss": 1.5})
    run.close()
    assert {t for t in threading.enumerate() if t.name == "QueueFeederThread"} <= feeders_before


def test_a_setting_pbt_mutates_names_no_run_so_a_trial_keeps_one_run_through_copies_and_resumes(tmp_path):
    """A PBT trial named by its starting τ0 would carry a τ0 it no longer has, and after a
    resume (its config then holding the mutated τ0) it would get a second run: its run is
    named by the settings that stay, and its id."""
    space = {"search.temperature.initial": {"grid": [1.0, 4.0]}, "search.seed": {"grid": [0, 1]}}
    pbt = {"name": "pbt", "perturbation_interval": 1,
           "mutations": {"search.temperature.initial": {"uniform": [0.5, 8]}}}
    study = validate_study(tiny_study("tb", tmp_path, space=space, scheduler=pbt))
    assert run_settings(study) == ({"search.seed": "seed"}, False)
    assert run_settings(validate_study(tiny_study("tb", tmp_path, space=space))) == (
        {"search.temperature.initial": "tau0", "search.seed": "seed"}, True)
    import pyarrow.fs

    storage = SimpleNamespace(storage_filesystem=pyarrow.fs.LocalFileSystem(), experiment_fs_path=str(tmp_path))
    trial = SimpleNamespace(trial_id="abc_00001", config={"search.temperature.initial": 4.0, "search.seed": 1},
                            storage=storage, local_experiment_path=str(tmp_path / "staging"))
    events = TrialEvents(study)
    events.log_trial_result(1, trial, epoch(1, 1.0))
    events.log_trial_end(trial)
    trial.config = {**trial.config, "search.temperature.initial": 1.2}  # exploited, then the study resumed
    events = TrialEvents(study)
    for n in (2, 3):
        events.log_trial_result(n, trial, epoch(n, float(n)))
    events.log_trial_end(trial)
    runs = read_runs(tmp_path)
    assert list(runs) == ["seed=1,trial=abc_00001"]
    assert [step for step, _ in runs["seed=1,trial=abc_00001"]["scalars"]["search_val_acc"]] == [1, 2, 3]
    assert runs["seed=1,trial=abc_00001"]["hparams"] == {"seed": 1.0}
