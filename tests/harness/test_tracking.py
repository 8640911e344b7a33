"""Experiment tracking read back from the services themselves: a real MLflow server (sqlite
backend, on a free local port) through MLflow's client, and W&B's offline run files.

The callback is driven here as Tune drives it, with stand-in trials: two PBT trials, one of
which exploits the other mid-run (its mutated ``tau0`` changes, Tune restarts it) and then
fails -- what crashes Tune's own MLflow callback.  One real study runs end to end.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import yaml
from study_helpers import tiny_study, write_study
from tracking_services import start_mlflow_server, stop_server, wandb_runs, wandb_sessions

from harness.cli import main
from harness.study import validate_study
from harness.tracking.base import Tracker
from harness.tracking.callback import TrackingEvents
from harness.tracking.trackers import StudyTracking, tracked
from snas.catalogue import CATALOGUE

GENOTYPE = CATALOGUE["DARTS_V2"].genotype


@pytest.fixture(scope="session")
def mlflow_uri(tmp_path_factory):
    server, uri = start_mlflow_server(tmp_path_factory.mktemp("mlflow"))
    yield uri
    stop_server(server)


def pbt_study(root, tracking: dict):
    return validate_study(tiny_study(
        "pbt", root, space={"search.temperature.initial": {"grid": [1.0, 4.0]}, "search.seed": {"grid": [0]}},
        scheduler={"name": "pbt", "perturbation_interval": 1,
                   "mutations": {"search.temperature.initial": {"uniform": [0.5, 8.0]}}},
        tracking=tracking))


def result(epoch: int, acc: float) -> dict:
    return {"epoch": epoch, "search_val_acc": acc, "train_loss": 1.0 / epoch, "genotype": repr(GENOTYPE),
            "diverged": False, "done": False, "should_checkpoint": True, "training_iteration": epoch}


def drive_a_pbt_exploit(study, folder) -> None:
    """Trials a (tau0 1) and b (tau0 4) run epoch 1; b exploits a, its tau0 explored to 1.2, and
    restarts; both run epoch 2; a completes, b fails; the study exits 1 (a trial failed)."""
    folder.mkdir(parents=True)
    with tracked(study, str(folder)) as tracking:
        events = TrackingEvents(study, tracking)
        a = SimpleNamespace(trial_id="a_00000", config={"search.temperature.initial": 1.0, "search.seed": 0})
        b = SimpleNamespace(trial_id="b_00001", config={"search.temperature.initial": 4.0, "search.seed": 0})
        for trial in (a, b):
            events.on_trial_start(iteration=0, trials=[a, b], trial=trial)
        events.on_trial_result(iteration=1, trials=[a, b], trial=a, result=result(1, 50.0))
        events.on_trial_result(iteration=1, trials=[a, b], trial=b, result=result(1, 40.0))
        b.config = {**a.config, "search.temperature.initial": 1.2}
        events.on_trial_start(iteration=1, trials=[a, b], trial=b)
        for trial, acc in ((a, 60.0), (b, 55.0)):
            trial.last_result = result(2, acc)
            events.on_trial_result(iteration=2, trials=[a, b], trial=trial, result=trial.last_result)
        events.on_trial_complete(iteration=3, trials=[a, b], trial=a)
        events.on_trial_error(iteration=3, trials=[a, b], trial=b)
        (folder / "study.yaml").write_text("name: pbt\n")
        (folder / "report.html").write_text("<html>the report</html>\n")
        tracking.ended(1)


def history(client, run_id: str, key: str) -> list[tuple[int, float]]:
    return [(m.step, m.value) for m in sorted(client.get_metric_history(run_id, key), key=lambda m: m.timestamp)]


def artifact_text(client, run_id: str, path: str, tmp_path) -> str:
    return open(client.download_artifacts(run_id, path, str(tmp_path))).read()


@pytest.mark.slow
def test_mlflow_holds_a_parent_run_and_a_child_per_trial_through_a_pbt_exploit(mlflow_uri, tmp_path):
    from mlflow import MlflowClient

    study = pbt_study(tmp_path / "results", {"mlflow": {"uri": mlflow_uri, "experiment": "exploits"}})
    drive_a_pbt_exploit(study, tmp_path / "results" / "pbt")

    client = MlflowClient(mlflow_uri)
    experiment = client.get_experiment_by_name("exploits")
    runs = {run.info.run_name: run for run in client.search_runs([experiment.experiment_id])}
    assert set(runs) == {"pbt", "seed=0,trial=a_00000", "seed=0,trial=b_00001"}
    parent, a, b = runs["pbt"], runs["seed=0,trial=a_00000"], runs["seed=0,trial=b_00001"]
    assert parent.info.status == "FAILED" and "mlflow.parentRunId" not in parent.data.tags
    assert parent.data.params == {"kind": "search", "searcher": "grid", "scheduler": "pbt", "metric": "search_val_acc",
                                  "mode": "max", "trials": "2", "epochs": "3",
                                  "varied": "search.temperature.initial, search.seed"}
    assert artifact_text(client, parent.info.run_id, "study/report.html", tmp_path) == "<html>the report</html>\n"
    assert artifact_text(client, parent.info.run_id, "study/study.yaml", tmp_path) == "name: pbt\n"

    for child in (a, b):
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.data.params == {"seed": "0"}  # tau0 changes mid-run: a metric, not a param
    assert (a.info.status, b.info.status) == ("FINISHED", "FAILED")
    assert history(client, b.info.run_id, "setting.tau0") == [(1, 4.0), (2, 1.2)]
    assert history(client, b.info.run_id, "search_val_acc") == [(1, 40.0), (2, 55.0)]
    assert history(client, a.info.run_id, "train_loss") == [(1, 1.0), (2, 0.5)]
    assert set(a.data.metrics) == {"search_val_acc", "train_loss", "setting.tau0"}  # no done, iteration, flags

    files = {f.path for f in client.list_artifacts(a.info.run_id, "genotype")}
    assert files == {"genotype/genotype.json", "genotype/cells.png", "genotype/cells.svg"}
    assert json.loads(artifact_text(client, a.info.run_id, "genotype/genotype.json", tmp_path)) == GENOTYPE.to_dict()

    # `snas-study resume` retries b: the same parent and child runs go on, no params again
    with tracked(study, str(tmp_path / "results" / "pbt"), resuming=True) as tracking:
        events = TrackingEvents(study, tracking)
        b_again = SimpleNamespace(trial_id="b_00001", config={"search.temperature.initial": 1.2, "search.seed": 0},
                                  last_result=result(3, 70.0))
        events.on_trial_start(iteration=0, trials=[b_again], trial=b_again)
        events.on_trial_result(iteration=1, trials=[b_again], trial=b_again, result=b_again.last_result)
        events.on_trial_complete(iteration=2, trials=[b_again], trial=b_again)
        tracking.ended(0)
    again = {run.info.run_name: run for run in client.search_runs([experiment.experiment_id])}
    assert {name: run.info.run_id for name, run in again.items()} == \
        {name: run.info.run_id for name, run in runs.items()}
    assert again["pbt"].info.status == "FINISHED" and again["seed=0,trial=b_00001"].info.status == "FINISHED"
    assert history(client, b.info.run_id, "search_val_acc") == [(1, 40.0), (2, 55.0), (3, 70.0)]


def test_wandb_offline_runs_hold_the_study_and_its_trials(tmp_path, monkeypatch, capfd):
    for variable in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(variable, str(tmp_path / "wandb-home"))
    study = pbt_study(tmp_path / "results", {"wandb": {"project": "snas", "mode": "offline"}})
    drive_a_pbt_exploit(study, tmp_path / "results" / "pbt")
    printed = capfd.readouterr()
    assert "wandb" not in printed.out + printed.err  # W&B's banners stay off the study's console

    runs = wandb_runs(tmp_path / "results" / "pbt")
    assert set(runs) == {"pbt", "seed=0,trial=a_00000", "seed=0,trial=b_00001"}
    assert {run["group"] for run in runs.values()} == {"pbt"}
    parent, a, b = runs["pbt"], runs["seed=0,trial=a_00000"], runs["seed=0,trial=b_00001"]
    assert (parent["job_type"], a["job_type"]) == ("study", "trial")
    assert parent["config"]["scheduler"] == "pbt" and parent["exit_code"] == 1
    assert parent["files"]["study/report.html"].read_text() == "<html>the report</html>\n"
    assert a["config"] == {"seed": 0, "trial_id": "a_00000"}
    assert [(row["epoch"], row["setting.tau0"], row["search_val_acc"]) for row in b["history"]] == \
        [(1, 4.0, 40.0), (2, 1.2, 55.0)]
    assert (a["exit_code"], b["exit_code"]) == (0, 1)
    assert json.loads(a["files"]["genotype/genotype.json"].read_text()) == GENOTYPE.to_dict()
    assert {"genotype/cells.png", "genotype/cells.svg"} <= set(a["files"])


def test_a_resumed_study_continues_its_wandb_runs_from_the_epoch_each_reached(tmp_path, monkeypatch):
    """Trial a logs epochs 1 and 2, then the study stops.  ``resume`` restarts a from its epoch-1
    checkpoint: it reports epoch 2 again, then 3.  The study's and a's runs go on under their
    ids (the study folder's key, then ``study`` or the trial id), a's at step 3; epoch 2 is not
    logged twice.  The study run afresh (a new ``provenance.created``) opens new runs."""
    import hashlib
    import time

    for variable in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(variable, str(tmp_path / "wandb-home"))
    folder = tmp_path / "results" / "s"
    folder.mkdir(parents=True)
    study = validate_study(tiny_study("s", tmp_path / "results", space={"search.seed": {"grid": [0]}},
                                      tracking={"wandb": {"project": "snas", "mode": "offline"}}))

    def session(created: str, resuming: bool, epochs: tuple[int, ...]) -> None:
        stamped = study.model_copy(update={"provenance": {"created": created}})
        with tracked(stamped, str(folder), resuming=resuming) as tracking:
            events = TrackingEvents(stamped, tracking)
            a = SimpleNamespace(trial_id="a_00000", config={"search.seed": 0})
            events.on_trial_start(iteration=0, trials=[a], trial=a)
            for epoch in epochs:
                events.on_trial_result(iteration=epoch, trials=[a], trial=a, result=result(epoch, 10.0 * epoch))
            tracking.ended(0 if resuming else 1)

    session("2026-12-06T18:00:00+00:00", False, (1, 2))
    time.sleep(1)  # W&B names an offline run's folder by the second the run starts in
    session("2026-12-06T18:00:00+00:00", True, (2, 3))
    key = hashlib.sha256(f"{folder}\n2026-12-06T18:00:00+00:00".encode()).hexdigest()[:12]
    sessions = wandb_sessions(folder)
    assert set(sessions) == {f"{key}-study", f"{key}-a_00000"}
    trial, parent = sessions[f"{key}-a_00000"], sessions[f"{key}-study"]
    assert [[(row["_step"], row["epoch"], row["search_val_acc"]) for row in run["history"]] for run in trial] == \
        [[(1, 1, 10.0), (2, 2, 20.0)], [(3, 3, 30.0)]]
    assert [run["name"] for run in trial] == ["seed=0", "seed=0"]
    assert [run["exit_code"] for run in parent] == [1, 0]
    assert json.loads((folder / "wandb" / "snas-steps.json").read_text()) == {f"{key}-a_00000": 3}

    session("2026-12-06T19:00:00+00:00", False, (1,))  # run afresh (--overwrite): new runs, from epoch 1
    fresh = hashlib.sha256(f"{folder}\n2026-12-06T19:00:00+00:00".encode()).hexdigest()[:12]
    sessions = wandb_sessions(folder)
    assert set(sessions) == {f"{key}-study", f"{key}-a_00000", f"{fresh}-study", f"{fresh}-a_00000"}
    assert [row["_step"] for row in sessions[f"{fresh}-a_00000"][0]["history"]] == [1]


@pytest.mark.parametrize(("text", "kept"), [
    ('{"k-a_00000": 3, "k-b_00001": true, "k-c_00002": "2"}', {"k-a_00000": 3}),
    ("[3]", {}), ("{not json", {}), ("9" * 5000, {})])
def test_wandb_steps_kept_damaged_are_left_out(text, kept, tmp_path):
    """A damaged ``snas-steps.json`` loses only what it held: the study's runs still open
    (a resumed run may then log an epoch again)."""
    from harness.tracking.settings import WandbSettings
    from harness.tracking.wandb import WandbTracker

    (tmp_path / "wandb").mkdir()
    (tmp_path / "wandb" / "snas-steps.json").write_text(text)
    study = validate_study(tiny_study("s", tmp_path))
    assert WandbTracker(WandbSettings(project="p", mode="offline"), study, str(tmp_path)).logged == kept


@pytest.mark.slow
def test_a_study_run_is_tracked_end_to_end(ray_local, mlflow_uri, tmp_path, monkeypatch):
    """A trial of two epochs through Tune: both trackers see the study, its trial's epochs and its report."""
    from mlflow import MlflowClient

    for variable in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(variable, str(tmp_path / "wandb-home"))
    study = tiny_study("e2e", tmp_path / "results", search={"epochs": 2}, space={"search.seed": {"grid": [1]}},
                       tracking={"mlflow": {"uri": mlflow_uri}, "wandb": {"project": "snas", "mode": "offline"}})
    assert main(["run", str(write_study(tmp_path / "s.yaml", study)), "--quiet"]) == 0

    client = MlflowClient(mlflow_uri)
    experiment = client.get_experiment_by_name("e2e")
    runs = {run.info.run_name: run for run in client.search_runs([experiment.experiment_id])}
    assert set(runs) == {"e2e", "seed=1"}
    assert {run.info.status for run in runs.values()} == {"FINISHED"}
    assert runs["seed=1"].data.tags["mlflow.parentRunId"] == runs["e2e"].info.run_id
    assert [step for step, _ in history(client, runs["seed=1"].info.run_id, "search_val_acc")] == [1, 2]
    assert {f.path for f in client.list_artifacts(runs["seed=1"].info.run_id, "genotype")} == \
        {"genotype/genotype.json", "genotype/cells.png", "genotype/cells.svg"}
    frozen = yaml.safe_load(artifact_text(client, runs["e2e"].info.run_id, "study/study.yaml", tmp_path))
    assert frozen["tracking"]["mlflow"]["uri"] == mlflow_uri
    report = artifact_text(client, runs["e2e"].info.run_id, "study/report.html", tmp_path)
    assert report == (tmp_path / "results" / "e2e" / "report.html").read_text()

    wandb = wandb_runs(tmp_path / "results" / "e2e")
    assert set(wandb) == {"e2e", "seed=1"}
    assert [row["epoch"] for row in wandb["seed=1"]["history"]] == [1, 2]


def refusal(argv: list[str], capsys) -> str:
    """The one error line of a refused command (exit 2, nothing on stdout)."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and "Traceback" not in captured.err
    return captured.err.strip()


@pytest.mark.parametrize("tracker", ["mlflow", "wandb"])
def test_a_missing_extra_is_one_line_before_any_trial(tracker, tmp_path, capsys, monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == tracker else find_spec(name, *a))
    settings = {"mlflow": {"uri": "http://127.0.0.1:9"}, "wandb": {"project": "p", "mode": "offline"}}[tracker]
    path = write_study(tmp_path / "s.yaml", tiny_study("s", tmp_path / "results", tracking={tracker: settings}))
    assert refusal(["run", str(path)], capsys) == \
        f"snas-study: error: tracking.{tracker} needs the {tracker} extra: pip install 'snas-study[{tracker}]'"
    assert not (tmp_path / "results" / "s").exists()


def test_wandb_online_without_credentials_is_refused_before_any_trial(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    (tmp_path / "netrc").write_text("machine example.org login me password secret\n")
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    path = write_study(tmp_path / "s.yaml", tiny_study("s", tmp_path / "results", tracking={"wandb": {"project": "p"}}))
    assert refusal(["run", str(path)], capsys) == (
        "snas-study: error: tracking.wandb.mode online needs W&B credentials: set WANDB_API_KEY or run `wandb login` "
        "(or use mode: offline and `wandb sync` later)")
    (tmp_path / "netrc").write_text("machine api.wandb.ai login user password 0123456789abcdef\n")
    from harness.tracking.settings import WandbSettings
    from harness.tracking.wandb import WandbTracker

    WandbTracker.check(WandbSettings(project="p"))  # the netrc entry `wandb login` writes is enough


def test_a_study_without_tracking_writes_no_tracking_section(tmp_path):
    from harness.studyfolder import frozen_study_text

    untracked = validate_study(tiny_study("s", tmp_path)).resolved()
    assert "tracking" not in yaml.safe_load(frozen_study_text(untracked))
    tracked_study = validate_study(tiny_study("s", tmp_path, tracking={"wandb": {"project": "p"}})).resolved()
    assert yaml.safe_load(frozen_study_text(tracked_study))["tracking"] == \
        {"mlflow": None, "wandb": {"project": "p", "mode": "online"}}


class Recorder(Tracker):
    """A tracker that keeps what it is told."""

    name = "recorder"
    module = "json"

    def __init__(self, settings=None, study_name: str = "", experiment_path: str = ""):
        self.calls: list[tuple] = []

    def destination(self):
        return "the recorder's list"

    def start_study(self, *args):
        self.calls.append(("start_study", *args))

    def start_trial(self, *args):
        self.calls.append(("start_trial", *args))

    def log_epoch(self, *args):
        self.calls.append(("log_epoch", *args))

    def attach(self, trial_id, folder, under):
        self.calls.append(("attach", trial_id, sorted(p.name for p in folder.iterdir()), under))

    def end_trial(self, *args):
        self.calls.append(("end_trial", *args))

    def end_study(self, *args):
        self.calls.append(("end_study", *args))


def test_a_replayed_schedule_is_logged_per_epoch_at_the_value_each_epoch_trained_with(tmp_path):
    """The schedule sets tau0 4 → 2 after epoch 1 (the trial trains epoch 2 at 2): ``setting.tau0``
    is 4, 2, 2 over epochs 1-3, and no param (the space varies only the seed)."""
    study = validate_study(tiny_study(
        "replayed", tmp_path, search={"temperature": {"initial": 4.0}},
        scheduler={"name": "replay", "schedule": [{"epoch": 1, "settings": {"search.temperature.initial": 2.0}}]}))
    recorder = Recorder()
    events = TrackingEvents(study, StudyTracking([recorder]))
    trial = SimpleNamespace(trial_id="t_00000", config={"search.seed": 1}, last_result={"genotype": "not one"})
    events.on_trial_start(iteration=0, trials=[trial], trial=trial)
    for epoch in (1, 2, 3):
        events.on_trial_result(iteration=epoch, trials=[trial], trial=trial, result={"epoch": epoch, "train_acc": 50.0})
    events.on_trial_complete(iteration=4, trials=[trial], trial=trial)
    assert recorder.calls == [
        ("start_trial", "t_00000", "seed=1", {"seed": 1}),
        ("log_epoch", "t_00000", 1, {"train_acc": 50.0, "setting.tau0": 4.0}),
        ("log_epoch", "t_00000", 2, {"train_acc": 50.0, "setting.tau0": 2.0}),
        ("log_epoch", "t_00000", 3, {"train_acc": 50.0, "setting.tau0": 2.0}),
        ("end_trial", "t_00000", False),  # no genotype in the result: nothing attached
    ]


def test_a_failing_tracker_is_dropped_with_one_warning_and_the_others_go_on(capsys):
    class Broken(Recorder):
        name = "broken"

        def log_epoch(self, *args):
            raise ConnectionError("server gone")

    broken, kept = Broken(), Recorder()
    tracking = StudyTracking([broken, kept])
    tracking.each("log_epoch", "t", 1, {"x": 1.0})
    tracking.each("log_epoch", "t", 2, {"x": 2.0})
    assert tracking.trackers == [kept] and [call[2] for call in kept.calls] == [1, 2]
    assert capsys.readouterr().err == (
        "snas-study: warning: tracking.broken failed (the recorder's list: ConnectionError: server gone); it is off "
        "for the rest of this run, and the study goes on (its folder holds everything)\n")


def test_an_mlflow_server_gone_mid_study_is_one_warning_within_seconds_and_no_call_after_it(tmp_path, capsys,
                                                                                           monkeypatch):
    """Nothing listens at the server's port any more: MLflow's defaults would retry the first
    call for about 4 minutes; the tracker gives up within seconds, warns once, and is not called again."""
    import errno
    import os
    import time

    from tracking_services import free_port

    from harness.tracking.mlflow import BOUNDED_REQUESTS, MlflowTracker
    from harness.tracking.settings import MlflowSettings

    for variable in BOUNDED_REQUESTS:
        monkeypatch.delenv(variable, raising=False)
    uri = f"http://127.0.0.1:{free_port()}"
    tracker = MlflowTracker(MlflowSettings(uri=uri), validate_study(tiny_study("s", tmp_path)), str(tmp_path))
    tracker.experiment_id, tracker.parent, tracker.runs = "1", "parent-run", {"t_00000": "trial-run"}  # as started
    tracking = StudyTracking([tracker])
    start = time.monotonic()
    tracking.each("log_epoch", "t_00000", 1, {"train_acc": 50.0})
    tracking.each("log_epoch", "t_00000", 2, {"train_acc": 60.0})
    tracking.each("end_trial", "t_00000", False)
    tracking.close(str(tmp_path))
    assert time.monotonic() - start < 10 and tracking.trackers == []
    refused = f"[Errno {errno.ECONNREFUSED}] {os.strerror(errno.ECONNREFUSED)}"
    assert capsys.readouterr().err == (
        f"snas-study: warning: tracking.mlflow failed (the MLflow server at {uri}: ConnectionRefusedError: {refused}); "
        f"it is off for the rest of this run, and the study goes on (its folder holds everything)\n")
    assert not set(BOUNDED_REQUESTS) & set(os.environ)  # set for the tracker's calls only


def test_bounded_mlflow_requests_keep_the_users_own_settings(monkeypatch):
    import os

    from harness.tracking.mlflow import bounded_requests

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "300")
    for variable in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR"):
        monkeypatch.delenv(variable, raising=False)
    with bounded_requests():
        inside = {key: value for key, value in os.environ.items() if key.startswith("MLFLOW_HTTP_REQUEST_")}
    assert inside == {"MLFLOW_HTTP_REQUEST_TIMEOUT": "300", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
                      "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}
    after = {key: value for key, value in os.environ.items() if key.startswith("MLFLOW_HTTP_REQUEST_")}
    assert after == {"MLFLOW_HTTP_REQUEST_TIMEOUT": "300"}


def test_the_warning_names_the_innermost_cause_on_one_line():
    from harness.tracking.trackers import innermost

    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except OSError as err:
            raise RuntimeError("API request to http://h/api failed with exception HTTPConnectionPool(\n...)") from err
    except RuntimeError as wrapped:
        assert innermost(wrapped) == "ConnectionRefusedError: [Errno 111] Connection refused"
    one_line = ("ValueError: a long message " + "x" * 400)[:297] + "..."
    assert innermost(ValueError("a\nlong   message " + "x" * 400)) == one_line


def test_a_malformed_genotype_in_a_report_attaches_nothing_and_stops_nothing(tmp_path):
    from harness.tracking.callback import write_genotype_files

    malformed = "Genotype(normal=[('sep_conv_3x3', 0)], normal_concat=[2], reduce=[], reduce_concat=[2])"
    assert write_genotype_files(malformed, tmp_path, "x") is False and not any(tmp_path.iterdir())
    assert write_genotype_files(repr(GENOTYPE), tmp_path, "x") is True
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cells.png", "cells.svg", "genotype.json"]
