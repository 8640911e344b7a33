"""A study's size figures name their network and input, and `snas-study profile` with the
arguments the analysis names prints the same numbers."""

from __future__ import annotations

import json

from study_helpers import tiny_study

from harness.analysis.scale import describe_scales, study_scales, trial_scales
from harness.cli import main
from harness.study import validate_study
from snas.search import Search


def test_profile_with_the_named_arguments_prints_the_studys_eval_figures(tmp_path, capsys):
    study = validate_study(tiny_study("s", tmp_path, data={"dataset": "digits"}))
    config = study.trial_config_of({"search.seed": 0})
    search = Search(config)
    metrics = search._architecture_metrics(search.genotype)
    scale = trial_scales(config.model_dump(mode="json", by_alias=True), "search")["eval_"]
    assert scale.describe() == "5 cells × C=8, 1×8×8 input, 10 classes"
    genotype = tmp_path / "genotype.json"
    genotype.write_text(search.genotype.to_json())
    assert main(["profile", str(genotype), *scale.profile_arguments().split(), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["macs"] / 1e6 == metrics["eval_macs_m"] and report["params"] / 1e6 == metrics["eval_params_m"]


def test_a_study_varying_the_data_names_each_input(tmp_path):
    study = validate_study(tiny_study("s", tmp_path, space={"data.synthetic.image_size": {"grid": [8, 16]}}))
    scales = study_scales("search", [study.trial_config_of({"data.synthetic.image_size": size}).model_dump(mode="json")
                                     for size in (8, 16)])
    assert describe_scales(scales["child_"]) == ("3 cells × C=4, 3×8×8 input, 4 classes or "
                                                 "3 cells × C=4, 3×16×16 input, 4 classes")


def test_a_malformed_input_is_refused_in_one_line(capsys):
    for bad, says in (("3x8", "--input must be CxHxW"), ("1x8x9", "--input must be square")):
        assert main(["profile", "DARTS_V2", "--input", bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"snas-study: error: {says}") and err.count("\n") == 1


def test_an_image_folder_study_names_its_real_classes(tmp_path):
    for name in ("cat", "dog", "emu"):
        (tmp_path / "images" / name).mkdir(parents=True)
        (tmp_path / "images" / name / "0.png").write_bytes(b"listed, not decoded")
    study_file = tiny_study("s", tmp_path / "results")
    study_file["data"] = {"dataset": "imagefolder", "root": str(tmp_path / "images"), "image_size": 16}
    study = validate_study(study_file)
    scales = study_scales("search", [study.trial_config_of({"search.seed": 0}).model_dump(mode="json")])
    assert describe_scales(scales["eval_"]) == "5 cells × C=8, 3×16×16 input, 3 classes"
