"""The study console: one line per trial event, short names, at most 120 columns, no boxes."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from study_helpers import tiny_study, write_study

from harness.console import WIDTH, ProgressLines
from harness.study import validate_study
from harness.tuner import SNAPSHOT_WARNING_THRESHOLD

WIDE_SPACE = {
    "search.temperature.initial": {"grid": [0.5, 4.0]}, "search.temperature.anneal_rate": {"grid": [0.9]},
    "search.resource.lambda": {"grid": [0.001]}, "search.resource.method": {"grid": ["reparametrization"]},
    "search.method": {"grid": ["snas"]}, "search.seed": {"grid": [0]},
    "search.temperature.schedule": {"grid": ["exponential"]}, "search.weights.lr": {"grid": [0.025]},
}


def trial(config, epoch=None, **result):
    last = {"epoch": epoch, **result} if epoch is not None else {}
    return SimpleNamespace(trial_id="d0ae8_00003", config=config, last_result=last)


def test_lines_use_short_names_and_fit_120_columns(tmp_path):
    study = validate_study(tiny_study("c", tmp_path, space=WIDE_SPACE, searcher={"grid_order": "listed"}))
    out = io.StringIO()
    lines = ProgressLines(study, out)
    config = {"search.temperature.initial": 4.0, "search.temperature.anneal_rate": 0.9,
              "search.resource.lambda": 0.001, "search.resource.method": "reparametrization",
              "search.method": "snas", "search.seed": 0, "search.temperature.schedule": "exponential",
              "search.weights.lr": 0.025}
    lines.on_trial_start(0, [], trial(config))
    lines.on_trial_result(0, [], trial(config), {"epoch": 2, "search_val_acc": 61.234, "genotype": "G" * 300})
    printed = out.getvalue().splitlines()
    # eight settings in 120 columns: the widest are narrowed, the objective keeps its name
    assert printed[0].split() == ["trial", "tau0", "anneal_…", "lambda", "penalty", "method", "seed", "schedule",
                                  "lr", "state", "epoch", "search_val_acc"]
    assert printed[1].split() == ["d0ae8_00003", "4", "0.9", "0.001", "reparame…", "snas", "0", "exponent…",
                                  "0.025", "started"]
    assert printed[2].split()[-3:] == ["running", "2/3", "61.23"]
    assert all(len(line) <= WIDTH for line in printed) and len(printed) == 3


def test_tunes_notices_that_contradict_the_studys_lines_stay_off_the_console(caplog):
    import logging

    from harness.console import silent_tune

    tune_log = logging.getLogger("ray.tune.tune")
    with caplog.at_level(logging.WARNING), silent_tune():
        tune_log.warning("Experiment has been interrupted, but the most recent state was saved.\nResume experiment "
                         "with: Tuner.restore(path=...)")
        logging.getLogger("ray.tune.analysis.experiment_analysis").warning("Failed to fetch metrics for 4 trial(s)")
        tune_log.warning("another notice")
    tune_log.warning("Experiment has been interrupted, outside a study")
    assert [record.getMessage() for record in caplog.records] == ["another notice",
                                                                  "Experiment has been interrupted, outside a study"]


def test_a_failure_is_one_line_under_the_trials_row_not_tunes_traceback(tmp_path, monkeypatch):
    from harness.console import TRIAL_ERRORS_SWITCH, FailureLines, silent_tune
    from harness.tuner import callbacks

    study = validate_study(tiny_study("c", tmp_path))
    error = tmp_path / "error.txt"
    error.write_text("Failure # 1 (occurred at 2026-12-07_23-50-00)\nray.exceptions.RayTaskError(InjectedFault): "
                     "ray::ImplicitFunc.train()\n  File \"trialloop.py\", line 9, in run\n    raise InjectedFault\n"
                     "harness.trialloop.InjectedFault: injected fault after epoch 1 (faults.fail_once_at_epoch)\n\n")
    out = io.StringIO()
    lines = ProgressLines(study, out)
    failed = SimpleNamespace(trial_id="d0ae8_00003", config={"search.seed": 0}, last_result={"epoch": 1},
                             error_file=str(error))
    lines.on_trial_recover(0, [], failed)
    lines.on_trial_error(0, [], SimpleNamespace(**{**vars(failed), "error_file": str(tmp_path / "gone.txt")}))
    printed = out.getvalue().splitlines()
    assert printed[1].split()[:3] == ["d0ae8_00003", "0", "retrying"]
    assert printed[2] == (" " * 13 + "failed: harness.trialloop.InjectedFault: injected fault after epoch 1 "
                          "(faults.fail_once_at_epoch)")
    assert printed[3].split()[:3] == ["d0ae8_00003", "0", "error"] and len(printed) == 4  # no file: no line
    quiet = io.StringIO()  # under --quiet, no progress lines: the failure alone, on stderr
    FailureLines(quiet).on_trial_recover(0, [], failed)
    FailureLines(quiet).on_trial_error(0, [], SimpleNamespace(**{**vars(failed), "error_file": None}))
    assert quiet.getvalue().splitlines() == [
        "trial d0ae8_00003 failed (retrying): harness.trialloop.InjectedFault: injected fault after epoch 1 "
        "(faults.fail_once_at_epoch)", "trial d0ae8_00003 failed (no retries left): no error recorded"]
    assert [type(c).__name__ for c in callbacks(study, quiet=True)][-1] == "FailureLines"
    assert [type(c).__name__ for c in callbacks(study, quiet=False)][-1] == "ProgressLines"
    monkeypatch.delenv(TRIAL_ERRORS_SWITCH, raising=False)
    with silent_tune():
        assert os.environ[TRIAL_ERRORS_SWITCH] == "0"
    assert TRIAL_ERRORS_SWITCH not in os.environ
    monkeypatch.setenv(TRIAL_ERRORS_SWITCH, "1")  # the user's choice stands
    with silent_tune():
        assert os.environ[TRIAL_ERRORS_SWITCH] == "1"


@pytest.mark.parametrize("scheduler, stop, epoch, result, state", [
    ({"name": "asha"}, {}, 1, {}, "ASHA"),
    ({"name": "asha"}, {}, 3, {}, "done"),
    ({"name": "fifo"}, {}, 1, {}, "stopped"),  # early, and not by a scheduler that stops trials
    ({"name": "fifo"}, {"max_skip_connect": 1}, 1, {"normal_skip_connect": 3}, "collapse"),
    ({"name": "fifo"}, {}, 2, {"diverged": True}, "diverged"),
])
def test_the_end_of_a_trial_says_how_it_ended_in_the_tables_words(tmp_path, scheduler, stop, epoch, result, state):
    """The console's state is the trials table's ``stop_reason`` without its detail (:mod:`harness.endings`)."""
    study = validate_study(tiny_study("c", tmp_path, scheduler=scheduler, stop=stop))
    out = io.StringIO()
    lines = ProgressLines(study, out)
    lines.on_trial_complete(0, [], trial({"search.seed": 1}, epoch, search_val_acc=50.0, **result))
    assert out.getvalue().splitlines()[1].split()[2:4] == [state, f"{epoch}/3"]


def run_as_a_user_would(study: dict, root: Path, *options: str) -> subprocess.CompletedProcess:
    """``snas-study run`` of ``study`` in a process of its own, as a user's: its own Ray,
    ``RAY_AUTH_MODE`` unset, a home folder without Ray's token yet."""
    path = write_study(root / f"{study['name']}.yaml", study)
    repo = str(Path(__file__).resolve().parents[2])
    env = {key: value for key, value in os.environ.items()
           if key not in ("RAY_AUTH_MODE", SNAPSHOT_WARNING_THRESHOLD, "RAY_ADDRESS")}
    env.update(HOME=str(root / "home"), PYTHONPATH=repo)
    with tempfile.TemporaryDirectory(prefix="r", dir="/tmp") as ray_dir:
        env["SNAS_STUDY_RAY_TMPDIR"] = ray_dir
        return subprocess.run([sys.executable, "-m", "harness.cli", "run", str(path), *options], env=env,
                              capture_output=True, text=True, timeout=400)


@pytest.mark.slow
def test_a_study_prints_one_compact_line_per_event_and_quiet_only_the_summary_and_nothing_of_rays(
        ray_local, tmp_path, capsys):
    """The same study run twice: here, with its progress lines, and as a user would with
    ``--quiet``.  Ray's notices a user cannot act on stay off that run's console: its warning
    that a new local instance uses token authentication (Ray's default, which it still uses)
    and Tune's warning that it snapshots the experiment state often (every epoch's checkpoint
    of these one-second trials forces one)."""
    from tensorboard_events import read_runs

    from harness.cli import main

    study = tiny_study("console", tmp_path / "results", search={"epochs": 2})
    assert main(["run", str(write_study(tmp_path / "s.yaml", study))]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["trial", "seed", "state", "epoch", "search_val_acc"]
    events = [line.split()[2] for line in out[1:] if line.split()[2:3] in (["started"], ["running"], ["done"])]
    assert sorted(events) == ["done"] * 2 + ["running"] * 4 + ["started"] * 2
    progress = out[: out.index("study console: 2 trials (2 terminated; 0 diverged)")]
    assert len(progress) == 9 and all(len(line) <= WIDTH for line in progress)
    assert not any(box in line for line in out for box in "╭│╰+|") and "tensorboard --logdir" not in "\n".join(out)
    runs = read_runs(tmp_path / "results" / "console")
    assert sorted(runs) == ["seed=0", "seed=1"]
    assert [step for step, _ in runs["seed=1"]["scalars"]["search_val_acc"]] == [1, 2]
    assert "done" not in runs["seed=1"]["scalars"] and runs["seed=1"]["hparams"] == {"seed": 1.0}
    assert not list((tmp_path / "results" / "console").glob("trial_*/events.out.tfevents*"))  # not Tune's logger

    done = run_as_a_user_would({**study, "storage": {"path": str(tmp_path / "users")}}, tmp_path, "--quiet")
    assert done.returncode == 0, done.stderr
    quiet = done.stdout.splitlines()
    summary = out[len(progress):]  # quiet prints the summary alone, line for line (trial ids differ per run)
    assert quiet[0] == summary[0] == "study console: 2 trials (2 terminated; 0 diverged)" and len(quiet) == len(summary)
    foreign = [line for line in done.stderr.splitlines() if not line.startswith(("snas-study: ", "warning: "))]
    assert foreign == []
    assert (tmp_path / "home" / ".ray" / "auth_token").is_file()  # the instance did use token authentication
