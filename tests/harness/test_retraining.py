"""Which trials `retrain` takes from a search study, before anything starts Ray."""

from __future__ import annotations

import logging

import pytest
from study_folders import TrialSpec, trial_id, write_study_folder

from harness import studyrun
from harness.cli import main
from snas.catalogue import resolve_genotype


@pytest.fixture
def planned(monkeypatch):
    """The retrain studies `retrain` would start; none is run."""
    studies = []
    monkeypatch.setattr(studyrun, "start", lambda study, *args, **kwargs: studies.append(study) or 0)
    return studies


UNFINISHED = (TrialSpec(0, (41.5,), state="PENDING"), TrialSpec(1, (52.0, 66.5), state="RUNNING"),
              TrialSpec(2, (30.0,), state="ERROR", genotype="DARTS_V1"))


def test_a_study_with_no_finished_trial_is_refused(tmp_path, capsys, planned):
    folder = write_study_folder(tmp_path / "results", trials=UNFINISHED)
    assert main(["retrain", str(folder), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "no trial of crafted" in err and "finished: 3 trials, states 1 ERROR, 1 PENDING, 1 RUNNING" in err
    assert "--include-unfinished" in err and not planned


def test_a_folder_with_no_trials_is_refused(tmp_path, capsys, planned):
    folder = write_study_folder(tmp_path / "results", trials=())
    assert main(["retrain", str(folder), "--quiet"]) == 2
    assert "finished: 0 trials;" in capsys.readouterr().err and not planned
    assert main(["analyze", str(folder)]) == 0  # and the analysis says there is nothing yet
    assert "0 trials (none yet" in capsys.readouterr().out


def test_include_unfinished_names_the_epochs_reached(tmp_path, caplog, planned):
    folder = write_study_folder(tmp_path / "results", trials=UNFINISHED)
    assert main(["retrain", str(folder), "--top", "2", "--seeds", "1", "--include-unfinished", "--quiet"]) == 0
    assert list(planned[0].genotypes) == [trial_id(1), trial_id(0)]  # 66.5, then 41.5
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"retraining unfinished trial(s) (--include-unfinished): {trial_id(1)} (RUNNING, epoch 2 "
                        f"of 3), {trial_id(0)} (PENDING, epoch 1 of 3)"]


def test_only_finished_trials_are_candidates(tmp_path, caplog, planned):
    trials = (TrialSpec(0, (41.5, 70.25, 95.0), state="RUNNING"), TrialSpec(1, (52.0, 66.5, 78.72)),
              TrialSpec(2, (30.0,), genotype="DARTS_V1"))
    folder = write_study_folder(tmp_path / "results", trials=trials)
    assert main(["retrain", str(folder), "--top", "2", "--seeds", "1", "--quiet"]) == 0
    assert planned[0].genotypes == {trial_id(1): resolve_genotype("DARTS_V2").to_dict(),
                                    trial_id(2): resolve_genotype("DARTS_V1").to_dict()}
    assert planned[0].source["scores"] == {trial_id(1): 78.72, trial_id(2): 30.0}
    assert not [r for r in caplog.records if "unfinished" in r.getMessage()]
