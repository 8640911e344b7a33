"""Settings no command would read are refused, naming the key to use; unknown keys get a did-you-mean."""

from __future__ import annotations

import pytest
from study_folders import write_study_folder
from study_helpers import tiny_study, write_study

from harness import studyrun
from harness.cli import main
from harness.keys import suggestion
from harness.study import Study


@pytest.fixture
def planned(monkeypatch):
    """The studies `run` / `retrain` would start; none is run."""
    studies = []
    monkeypatch.setattr(studyrun, "start", lambda study, *args, **kwargs: studies.append(study) or 0)
    return studies


def test_retrain_refuses_a_search_setting_and_names_the_retrain_one(tmp_path, capsys, planned):
    folder = write_study_folder(tmp_path / "results")
    assert main(["retrain", str(folder), "--set", "search.epochs=1", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "a retrain study reads no search settings (search.epochs)" in err
    assert "retrain.settings.epochs" in err and not planned
    assert main(["retrain", str(folder), "--set", "retrain.settings.epochs=1", "--quiet"]) == 0
    assert planned[0].retrain.settings["epochs"] == 1


@pytest.mark.parametrize("section", ["search", "retrain"])
def test_data_inside_the_trial_settings_is_refused_at_run(tmp_path, capsys, planned, section):
    changes = {"search": {"data": {"dataset": "digits"}}} if section == "search" else \
        {"retrain": {"settings": {"epochs": 1, "data": {"dataset": "digits"}}}}
    path = write_study(tmp_path / "s.yaml", tiny_study("d", tmp_path / "results", **changes))
    assert main(["run", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err
    expected = "search.data" if section == "search" else "retrain.settings.data"
    assert f"{expected} is not read: every trial takes the study's top-level data section; set data.<key>" in err
    assert not planned and not (tmp_path / "results").exists()


@pytest.mark.parametrize("key, scope, meant", [
    ("learning_rate", "search", "weights.lr"),          # the official scripts' name
    ("learning_rate", "retrain.settings", "lr"),
    ("search.learning_rate", "", "search.weights.lr"),
    ("search.init_chanels", "", "search.init_channels"),
    ("tempreature", "search", "temperature"),
    ("resource.lamda", "search", "resource.lambda"),
    ("retrain.settings.auxilary", "", "retrain.settings.auxiliary"),
    ("schedular", "", "scheduler"),
    ("zzz", "search", None),
])
def test_unknown_keys_get_the_key_they_probably_meant(key, scope, meant):
    assert suggestion(key, scope, Study) == meant


def test_a_study_file_typo_names_the_key_to_use(tmp_path, capsys):
    path = write_study(tmp_path / "s.yaml", tiny_study("t", tmp_path / "results", search={"learning_rate": 0.1}))
    assert main(["run", str(path), "--quiet"]) == 2
    assert "search.learning_rate: unknown key; did you mean search.weights.lr?" in capsys.readouterr().err


@pytest.mark.parametrize("overrides, message", [
    (["scheduler.grace_period=3"], "scheduler.grace_period: read by ASHA and MO-ASHA only, and scheduler.name is fifo"),
    (["genotypes.mine=DARTS_V2"], "genotypes: read by retrain studies only"),
])
def test_settings_this_study_would_not_read_are_refused(tmp_path, capsys, planned, overrides, message):
    path = write_study(tmp_path / "s.yaml", tiny_study("u", tmp_path / "results"))  # a FIFO search study
    assert main(["run", str(path), "--quiet", *(arg for o in overrides for arg in ("--set", o))]) == 2
    assert message in capsys.readouterr().err and not planned
    assert main(["run", str(path), "--quiet", "--set", "scheduler.name=asha", "--set", "scheduler.grace_period=1"]) == 0


def test_retrain_refuses_an_asha_setting_for_its_fifo_study(tmp_path, capsys, planned):
    folder = write_study_folder(tmp_path / "results")
    assert main(["retrain", str(folder), "--set", "scheduler.grace_period=2", "--quiet"]) == 2
    assert "scheduler.grace_period: read by ASHA and MO-ASHA only" in capsys.readouterr().err and not planned
