"""How a study run is accounted for once Tune's ``fit()`` returns (or is cut short)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from study_folders import SESSION, TrialSpec, trial_id, write_study_folder

from harness.studyfolder import read_study
from harness.studyrun import EXIT_INTERRUPTED, _fit, ended_trials, finish, unfinished_trials


@dataclass
class Result:
    """What ``unfinished_trials`` reads of a ``ray.tune.Result``."""

    metrics: dict[str, Any] = field(default_factory=dict)
    error: Exception | None = None
    path: str | None = None


class Grid(list):
    """What ``unfinished_trials`` reads of a ``ray.tune.ResultGrid``: its results and ``num_errors``."""

    def __init__(self, results: list[Result], num_errors: int) -> None:
        super().__init__(results)
        self.num_errors = num_errors


def test_only_done_or_errored_trials_have_ended():
    grid = Grid([
        Result({"epoch": 4, "done": True}),  # ran all its epochs (or diverged)
        Result({"epoch": 1, "done": True}),  # stopped by ASHA
        Result({"epoch": 2, "done": False}, error=RuntimeError("max_failures used up")),  # ERROR
        Result({"epoch": 2, "done": False}),  # stopped by Ctrl-C (Tune's grid says TERMINATED)
        Result({"epoch": 1, "done": False}, error=RuntimeError("killed")),  # waiting for its retry
        Result({}),  # never started
    ], num_errors=1)
    assert unfinished_trials(grid) == 3


def test_a_finished_study_has_no_unfinished_trial():
    assert unfinished_trials(Grid([Result({"done": True}), Result({"done": True})], num_errors=0)) == 0
    assert unfinished_trials(Grid([Result({"done": True}), Result({}, error=ValueError())], num_errors=1)) == 0


class TunerStoppedTwice:
    def fit(self) -> None:
        raise KeyboardInterrupt


def test_a_second_ctrl_c_gives_the_resume_line_not_a_traceback(capsys):
    assert _fit(TunerStoppedTwice(), "/data/results/sweep") is None
    assert capsys.readouterr().err == ("the study was interrupted before its final state was saved; continue it "
                                       "with: snas-study resume /data/results/sweep\n")


def test_trials_the_saved_state_lists_as_ended_count_as_ended():
    """Tune may save a finished trial's last result before it says ``done``: resuming such a
    study (nothing left to run) must not be reported as interrupted."""
    grid = Grid([Result({"trial_id": "a", "done": True}), Result({"trial_id": "b", "done": False}),
                 Result({"trial_id": "c", "done": False})], num_errors=0)
    assert unfinished_trials(grid) == 2
    assert unfinished_trials(grid, ended={"b"}) == 1
    assert unfinished_trials(grid, ended={"b", "c"}) == 0


def test_a_trial_is_known_by_its_folder_not_by_the_id_in_its_last_result():
    """A population-based trial restored from a donor's checkpoint starts from the donor's last
    result, its ``trial_id`` included; the folder Tune gave the trial says whose it is."""
    grid = Grid([Result({"trial_id": "b0_00001", "epoch": 1}, path="/data/results/pbt/trial_b0_00000"),
                 Result({"trial_id": "b0_00000", "epoch": 2, "done": False}, path="/data/results/pbt/trial_b0_00001/")],
                num_errors=0)
    assert unfinished_trials(grid, ended={"b0_00001"}) == 1
    assert unfinished_trials(grid, ended={"b0_00000"}) == 1
    assert unfinished_trials(grid, ended={"b0_00000", "b0_00001"}) == 0
    remote = Grid([Result({"done": False}, path="s3://bucket/results/pbt/trial_b0_00000")], num_errors=0)
    assert unfinished_trials(remote, ended={"b0_00000"}) == 0


def test_the_ended_trials_are_read_from_the_saved_state_as_plain_json(tmp_path):
    folder = write_study_folder(tmp_path, trials=(TrialSpec(0, (1.0, 2.0, 3.0)),
                                                  TrialSpec(1, (1.0,), state="RUNNING"),
                                                  TrialSpec(2, (1.0,), state="ERROR")))
    assert ended_trials(str(folder)) == {trial_id(0)}  # the errored one is retried, the running one continued
    assert ended_trials(str(tmp_path / "nowhere")) == set()


def test_a_study_in_remote_storage_reads_its_saved_state_there_too(tmp_path):
    """A ``file://`` URI goes through pyarrow's file systems, as ``s3://`` and ``gs://`` do."""
    folder = write_study_folder(tmp_path, trials=(TrialSpec(0, (1.0, 2.0, 3.0)),
                                                  TrialSpec(1, (1.0,), state="RUNNING")))
    older = folder / "experiment_state-2026-11-30_08-00-00.json"  # an earlier session's: every trial running
    older.write_text((folder / f"experiment_state-{SESSION}.json").read_text().replace("TERMINATED", "RUNNING"))
    assert ended_trials(f"file://{folder}") == ended_trials(str(folder)) == {trial_id(0)}
    assert ended_trials(f"file://{tmp_path}/nowhere") == set()
    (folder / f"experiment_state-{SESSION}.json").write_text("{not json")
    assert ended_trials(f"file://{folder}") == set()  # damaged: nothing counts as ended by it


def _grid_of(folder, done: bool) -> Grid:
    """Tune's grid after ``fit()`` for every trial folder: TERMINATED, each ``done`` as given."""
    return Grid([Result({"trial_id": "someone else", "done": done}, path=str(trial))
                 for trial in sorted(folder.glob("trial_*"))], num_errors=0)


def test_a_study_the_saved_state_says_ended_is_finished_whatever_the_grid_says(tmp_path, capsys):
    folder = write_study_folder(tmp_path, trials=(TrialSpec(0, (1.0, 2.0, 3.0)), TrialSpec(1, (1.0, 2.0, 3.0))))
    study = read_study(str(folder))
    assert finish(study, str(folder), _grid_of(folder, done=False)) == 0
    assert "interrupted" not in capsys.readouterr().err


def test_a_trial_the_saved_state_lists_as_running_makes_the_study_interrupted(tmp_path, capsys):
    """After Ctrl-C the grid says TERMINATED for the trials Tune stopped, the state it saved says running."""
    folder = write_study_folder(tmp_path, trials=(TrialSpec(0, (1.0, 2.0, 3.0)),
                                                  TrialSpec(1, (1.0,), state="RUNNING")))
    assert finish(read_study(str(folder)), str(folder), _grid_of(folder, done=False)) == EXIT_INTERRUPTED
    assert capsys.readouterr().err == (f"the study was interrupted (1 of 2 trials ended); continue it with: "
                                       f"snas-study resume {folder}\n")


def test_resuming_a_finished_study_says_so_and_starts_no_ray(tmp_path, capsys, monkeypatch):
    """Every trial the study runs has ended: nothing is continued (Ray is never started, the
    data is not needed), and the analysis is written again, as a resume that ran would."""
    import harness.studyrun

    def no_ray(*args, **kwargs):
        raise AssertionError("a finished study started Ray")

    monkeypatch.setattr(harness.studyrun, "ray_session", no_ray)
    folder = write_study_folder(tmp_path)
    assert harness.studyrun.resume(str(folder), None, quiet=True) == 0
    out = capsys.readouterr().out
    assert out.startswith("study crafted had finished: all 3 trials ended, so none is continued; its analysis is "
                          "written again\nstudy crafted: 3 trials (3 terminated;")
    assert (folder / "report.html").is_file() and (folder / "analysis" / "trials.csv").is_file()
    assert harness.studyrun.resume(f"file://{folder}", None, quiet=True) == 0  # remote storage: nothing written here
    assert capsys.readouterr().out == (f"study crafted had finished: all 3 trials ended, so none is continued\n"
                                       f"results are in file://{folder}; copy the folder to this machine and run "
                                       f"`snas-study report FOLDER` for the tables, plots and report\n")


def test_resuming_a_study_with_a_trial_left_continues_it(tmp_path, monkeypatch):
    import harness.studyrun

    started = []

    def ray_session(*args, **kwargs):
        started.append(True)
        raise RuntimeError("stop here: Ray would start")

    monkeypatch.setattr(harness.studyrun, "ray_session", ray_session)
    monkeypatch.setattr(harness.studyrun, "check_data", lambda study, address: None)
    folder = write_study_folder(tmp_path, trials=(TrialSpec(0, (41.5, 70.25, 89.99)),
                                                  TrialSpec(1, (52.0,), state="RUNNING")))
    with pytest.raises(RuntimeError, match="stop here"):
        harness.studyrun.resume(str(folder), None, quiet=True)
    assert started == [True]


def _edited(folder, **changes):
    """The study of ``folder`` as a study file edited with ``changes`` (section -> {key: value}) would give it."""
    import yaml

    from harness.study import validate_study

    data = yaml.safe_load((folder / "study.yaml").read_text())
    for section, values in changes.items():
        data[section] = {**(data.get(section) or {}), **values} if isinstance(values, dict) else values
    return validate_study(data).resolved()


def test_resuming_with_other_settings_is_refused_naming_them(tmp_path, monkeypatch):
    """``run --resume`` continues the study as it started: an override or an edited file would be
    ignored without a word, so it is refused, before Ray or the data are touched."""
    import harness.studyrun
    from snas.errors import UserInputError

    resumed = []
    monkeypatch.setattr(harness.studyrun, "check_data", lambda study, address: None)
    monkeypatch.setattr(harness.studyrun, "resume", lambda path, address, quiet: resumed.append(path) or 0)
    folder = write_study_folder(tmp_path / "results")
    # a generated data set reads no root: the default one, the working folder's data/, may differ
    assert read_study(str(folder)).data.dataset == "synthetic"
    same = _edited(folder, storage={"path": "elsewhere/../results"}, provenance={"command": "another"},
                   data={"root": str(tmp_path / "another" / "data")})
    monkeypatch.setattr(type(same), "experiment_path", lambda self: str(folder))
    assert harness.studyrun.launch(same, [], None, True, resume_existing=True) == 0 and resumed == [str(folder)]
    epochs, failures = read_study(str(folder)).trial_base["epochs"], read_study(str(folder)).failures.max_failures
    changed = _edited(folder, search={"epochs": epochs + 2}, failures={"max_failures": failures + 2})
    with pytest.raises(UserInputError) as refused:
        harness.studyrun.launch(changed, [], None, True, resume_existing=True)
    assert str(refused.value) == (
        f"{folder} holds study 'crafted' with other settings than this command's (search.epochs {epochs} there, "
        f"{epochs + 2} here; failures.max_failures {failures} there, {failures + 2} here); a study continues "
        f"with the settings it started with: drop the changes, continue it as it started with "
        f"`snas-study resume {folder}`, start it afresh with --overwrite, or give this one another name "
        f"(--set name=NAME)")
    assert resumed == [str(folder)]


def test_a_study_stopped_on_its_data_says_so_after_its_other_failures(tmp_path, capsys):
    """A trial that failed on a bug is not cured by fixing the data: both lines are printed."""
    from types import SimpleNamespace

    folder = write_study_folder(tmp_path, trials=(TrialSpec(0, (1.0, 2.0, 3.0)),
                                                  TrialSpec(1, (1.0,), state="RUNNING")))
    stop = SimpleNamespace(message=lambda path: f"the study stopped at trial x, which cannot read its data: ... {path}")
    grid = _grid_of(folder, done=False)
    grid.num_errors = 1
    assert finish(read_study(str(folder)), str(folder), grid, stop) == 2
    assert capsys.readouterr().err == (
        f"1 trial(s) failed; see `snas-study status {folder}` for their errors (`snas-study resume {folder}` "
        f"retries them)\nthe study stopped at trial x, which cannot read its data: ... {folder}\n")


def test_a_data_root_is_compared_on_resume_only_where_trials_read_it(tmp_path):
    from study_helpers import tiny_study

    from harness.study import validate_study
    from harness.studyrun import _unread_root

    def study(**data):
        return validate_study(tiny_study("s", tmp_path, data=data))

    assert _unread_root(study(dataset="digits")) == ("data.root",)
    assert _unread_root(study(dataset="imagefolder", root=str(tmp_path))) == ()  # another root: other images
    assert _unread_root(study(dataset="cifar10")) == ()
