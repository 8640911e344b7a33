"""Health of a winner (harness.health): collapse, near-uniform α, chance accuracy; the collapse stopper."""

from __future__ import annotations

import json
import math

import pytest
import yaml
from PIL import Image
from study_folders import trial_id, write_study_folder
from study_helpers import tiny_study

from harness.analysis.summary import write_analysis
from harness.cli import main
from harness.health import collapse_stop, problems, trial_problems
from harness.health_settings import HealthThresholds, StopConfig
from harness.stoppers import CollapseStopper
from harness.study import validate_study
from snas.catalogue import resolve_genotype

DARTS_V2 = str(resolve_genotype("DARTS_V2"))  # its normal cell has 2 skip_connect edges
HEALTHY = {"normal_skip_connect": 2, "arch_entropy_normalized": 0.5, "child_val_acc": 80.0, "genotype": DARTS_V2}


def test_a_healthy_winner_has_no_problem():
    assert problems(HEALTHY, None, HealthThresholds(), "child_val_acc", 10) == []


def test_each_rule_names_its_number_and_threshold():
    sick = {**HEALTHY, "normal_skip_connect": 4, "arch_entropy_normalized": 0.97, "child_val_acc": 9.3}
    assert problems(sick, None, HealthThresholds(), "child_val_acc", 10) == [
        "collapsed (normal cell has 4 skip_connect > 2)",
        "near-uniform α (normalised entropy 0.970 > 0.95)",
        "child_val_acc 9.3% is at chance (10% for 10 classes, margin ×1.5)"]


def test_chance_is_relative_to_the_number_of_classes():
    rule = HealthThresholds()
    assert problems({"child_val_acc": 15.0}, None, rule, "child_val_acc", 10)  # 10 % × 1.5
    assert not problems({"child_val_acc": 15.1}, None, rule, "child_val_acc", 10)
    assert not problems({"child_val_acc": 5.0}, None, rule, "child_val_acc", 100)  # 5 × chance is learning
    assert problems({"child_val_acc": 1.5}, None, rule, "child_val_acc", 100)


def test_older_studies_are_judged_from_the_genotype_and_arch_entropy():
    """The issue's winner: arch_entropy 2.078 ≈ ln 8, metrics from before the collapse counts."""
    metrics = {"arch_entropy": 2.078, "child_val_acc": 50.0, "genotype": DARTS_V2}
    assert problems(metrics, None, HealthThresholds(max_skip_connect=1), "child_val_acc", 10) == [
        "collapsed (normal cell has 2 skip_connect > 1)",
        f"near-uniform α (normalised entropy {2.078 / math.log(8):.3f} > 0.95)"]


def test_the_stop_rule_is_more_than_k_skips():
    stop = StopConfig(max_skip_connect=2)
    assert collapse_stop({"normal_skip_connect": 2}, stop) is None
    assert collapse_stop({"normal_skip_connect": 3}, stop) == "collapse (skip_connect 3 > 2)"
    assert collapse_stop({"genotype": DARTS_V2}, StopConfig(max_skip_connect=1)) == "collapse (skip_connect 2 > 1)"
    assert collapse_stop({"normal_skip_connect": 8}, StopConfig()) is None  # no stop: section
    stopper = CollapseStopper(stop)
    assert [stopper("t", {"normal_skip_connect": n}) for n in (0, 2, 3)] == [False, False, True]
    assert not stopper.stop_all()


def _with(folder, **sections):
    frozen = yaml.safe_load((folder / "study.yaml").read_text())
    frozen.update(sections)
    (folder / "study.yaml").write_text(yaml.safe_dump(frozen))
    return folder


def test_best_status_and_the_summary_warn_in_one_line(tmp_path, capsys):
    # crafted trials: arch_entropy 2.0 (0.962 of ln 8), DARTS V2 (2 skips), child accuracy 79.99 for the winner
    folder = write_study_folder(tmp_path / "results")
    expected = f"warning: trial {trial_id(0)} looks unhealthy: near-uniform α (normalised entropy 0.962 > 0.95)"
    assert main(["best", str(folder), "--top", "1"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == f"  {expected}"
    assert main(["best", str(folder), "--top", "2", "--json"]) == 0
    assert [w["health"] for w in json.loads(capsys.readouterr().out)["trials"]] == [
        ["near-uniform α (normalised entropy 0.962 > 0.95)"],
        ["collapsed (normal cell has 3 skip_connect > 2)", "near-uniform α (normalised entropy 0.962 > 0.95)"]]
    assert main(["status", str(folder)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == expected
    summary = write_analysis(folder, plots=False)
    assert expected in summary.describe().splitlines()
    _with(folder, health={"near_uniform_entropy": 0.99})
    assert main(["best", str(folder), "--top", "3"]) == 0
    warnings = [line.strip() for line in capsys.readouterr().out.splitlines() if "warning" in line]
    # DARTS V1 (first order, seed 1's cell) has 3 skips in its normal cell: the collapse DARTS is known for;
    # seed 2's child scored 20 % on the 4 synthetic classes
    assert warnings == [
        f"warning: trial {trial_id(1)} looks unhealthy: collapsed (normal cell has 3 skip_connect > 2)",
        f"warning: trial {trial_id(2)} looks unhealthy: child_val_acc 20.0% is at chance (25% for 4 classes, "
        f"margin ×1.5)"]


def test_status_names_a_collapse_stop(tmp_path, capsys):
    """Seed 2 ended after 1 of 3 epochs with DARTS V2's 2 skips; under stop: {max_skip_connect: 1}
    that was the collapse stopper, not a scheduler."""
    folder = write_study_folder(tmp_path / "results")
    def seed_2_line():
        assert main(["status", str(folder)]) == 0
        return next(row for row in capsys.readouterr().out.splitlines() if row.startswith(trial_id(2)))

    assert seed_2_line().split()[3:5] == ["1/3", "stopped"]  # FIFO: nothing else stops a trial
    _with(folder, stop={"max_skip_connect": 1})
    assert seed_2_line().split()[3:8] == ["1/3", "collapse", "(skip_connect", "2", ">"]
    assert "1 stopped for collapse (skip_connect > 1)" in write_analysis(folder, plots=False).describe()


@pytest.mark.parametrize("setting, message", [
    ("health.near_uniform_entropy=1.5", "health.near_uniform_entropy: Input should be less than or equal to 1"),
    ("health.max_skips=2", "health.max_skips: unknown key; did you mean health.max_skip_connect?"),
    ("stop.max_skip_connect=-1", "stop.max_skip_connect: Input should be greater than or equal to 0"),
])
def test_bad_health_and_stop_settings_are_one_clear_error(capsys, setting, message):
    assert main(["run", "studies/quickstart.yaml", "--set", setting, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_a_retrain_study_refuses_a_collapse_stop(capsys):
    assert main(["run", "studies/retrain_best.yaml", "--set", "stop.max_skip_connect=2", "--quiet"]) == 2
    assert "stop.max_skip_connect is read by search studies only" in capsys.readouterr().err


def test_the_report_warns_beside_each_unhealthy_winner(tmp_path):
    from harness.analysis.report import render_report

    folder = write_study_folder(tmp_path / "results")
    page = render_report(write_analysis(folder, top=1, plots=False))
    summary, winners = page.split("<h2>Best genotypes</h2>")
    assert "near-uniform" not in summary  # said once, beside the winner
    assert winners.count('<p class="warning">warning: trial 58c84_00000 looks unhealthy: near-uniform α') == 1


def test_an_image_folders_chance_is_judged_by_its_real_classes(tmp_path):
    """Two classes: 60 % is at chance (50 % × 1.5).  Where the folder is not at hand (a study
    analysed on another machine) its classes are unknown, and chance is not judged."""
    for name in ("cat", "dog"):
        (tmp_path / "images" / name).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(tmp_path / "images" / name / "0.png")
    study_file = tiny_study("s", tmp_path / "results")
    study_file["data"] = {"dataset": "imagefolder", "root": str(tmp_path / "images"), "image_size": 8}
    study = validate_study(study_file)
    metrics = {"child_val_acc": 60.0}
    data = study.trial_config_of({"search.seed": 0}).data.model_dump(mode="json")
    assert trial_problems(study, data, metrics) == [
        "child_val_acc 60.0% is at chance (50% for 2 classes, margin ×1.5)"]
    assert trial_problems(study, None, metrics) == []  # the trial's settings unknown: chance is not judged
    for image in (tmp_path / "images").rglob("*.png"):
        image.unlink()
    assert trial_problems(study, data, metrics) == []
