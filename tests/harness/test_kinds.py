"""Trial kinds (harness/kinds.py) and the study folder (harness/studyfolder.py)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from study_folders import write_study_folder
from study_helpers import tiny_study, write_study

from harness import studyfolder
from harness.analysis.plots import PLOTS
from harness.analysis.summary import EXTRA_TABLES, write_analysis
from harness.cli import main
from harness.kinds import KINDS
from harness.study import validate_study
from harness.trainables import trainable_of
from harness.tuner import trial_dirname
from snas.catalogue import resolve_genotype
from snas.config import RetrainConfig, SearchConfig
from snas.errors import UserInputError


@pytest.mark.parametrize("name", list(KINDS))
def test_each_kind_names_only_what_exists(name):
    kind = KINDS[name]
    assert kind.name == name
    assert kind.default_metric in kind.metrics
    assert set(kind.summary_metrics + kind.size_metrics + kind.curve_metrics) <= set(kind.metrics)
    assert set(kind.plots) <= set(PLOTS) and set(kind.tables) <= set(EXTRA_TABLES)


def test_trainables_keep_the_names_tune_recorded():
    """Tune refuses to resume a study whose trainable has another name; tuner.pkl refers to
    harness.tuner.trial_dirname by name."""
    assert [trainable_of(kind).__name__ for kind in KINDS.values()] == ["search_trial", "retrain_trial"]
    assert trial_dirname(SimpleNamespace(trial_id="a1052_00006")) == "trial_a1052_00006"


def test_the_kind_builds_the_trial_configuration_from_its_own_section(tmp_path):
    search = validate_study(tiny_study("s", tmp_path))
    config = search.trial_config_of({"search.seed": 1, "data.synthetic.classes": 3})
    assert isinstance(config, SearchConfig) and (config.seed, config.data.synthetic.classes) == (1, 3)
    assert search.trial_base["init_channels"] == 4  # the study is left as it was
    retrain = validate_study(tiny_study("r", tmp_path, kind="retrain", genotypes={"best": "DARTS_V1"},
                                        space={"retrain.settings.genotype": {"grid": ["best", "DARTS_V2"]}}))
    config = retrain.trial_config_of({"retrain.settings.genotype": "best"})
    assert isinstance(config, RetrainConfig) and (config.layers, config.epochs) == (5, 2)
    assert config.genotype == resolve_genotype("DARTS_V1").to_dict()


def test_varied_values_are_set_as_they_are_not_written_as_yaml_and_read_back(tmp_path):
    """The values are set as given: a tuple stays a tuple (written as YAML and read back, it became a list)."""
    study = validate_study(tiny_study("s", tmp_path, space={"search.seed": {"grid": [0]}}))
    settings = study.trial_settings({"search.arch.betas": (0.5, 0.9), "search.temperature": {"initial": 2.0}})
    assert settings["search"]["arch"] == {"betas": (0.5, 0.9)}
    assert settings["search"]["temperature"] == {"initial": 2.0}
    assert study.trial_config_of({"search.arch.betas": (0.5, 0.9)}).arch.betas == (0.5, 0.9)
    with pytest.raises(UserInputError, match="setting 'search.epochs.x': search.epochs is a value, not a section"):
        study.trial_settings({"search.epochs.x": 1})


def test_an_unknown_kind_is_refused_naming_the_kinds(tmp_path, capsys):
    path = write_study(tmp_path / "s.yaml", tiny_study("s", tmp_path, kind="evaluate"))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"snas-study: error: invalid study {path}: kind: unknown trial kind 'evaluate'; "
                   "choose from search, retrain")


def test_named_genotypes_are_read_once_at_the_edge(tmp_path):
    genotype_file = tmp_path / "genotype.json"
    genotype_file.write_text(json.dumps(resolve_genotype("SNAS_mild").to_dict()))
    data = tiny_study("r", tmp_path, kind="retrain", genotypes={"mine": str(genotype_file)},
                      space={"retrain.settings.genotype": {"grid": ["mine"]}})
    study = validate_study(data)
    genotype_file.unlink()  # the frozen study (and every trial) holds the mapping, not the file name
    again = validate_study(study.model_dump(mode="json", by_alias=True))
    assert again.genotypes == {"mine": resolve_genotype("SNAS_mild").to_dict()}
    with pytest.raises(UserInputError, match=r"genotypes\.mine: .*is not a catalogue name"):
        validate_study(data)


def test_the_analysis_of_a_study_already_read_does_not_read_study_yaml_again(tmp_path, monkeypatch):
    folder = write_study_folder(tmp_path / "results")
    study = studyfolder.read_study(str(folder))

    def refuse(path: str) -> None:
        raise AssertionError(f"read {path} again")

    monkeypatch.setattr("harness.analysis.results.read_study", refuse)
    summary = write_analysis(folder, study=study, plots=False)
    assert summary.results.study is study and len(summary.trials) == 3


def test_column_names_are_each_kinds_own():
    search, retrain = KINDS["search"], KINDS["retrain"]
    assert search.short_names(["search.temperature.initial", "search.seed", "data.seed", "search.layers"]) == {
        "search.temperature.initial": "tau0", "search.seed": "seed", "data.seed": "data_seed",
        "search.layers": "layers"}
    assert retrain.short_names(["retrain.settings.genotype", "retrain.settings.seed"]) == {
        "retrain.settings.genotype": "arch", "retrain.settings.seed": "seed"}
    assert retrain.short_names(["retrain.settings.method"]) == {"retrain.settings.method": "method"}
