"""The front as a multi-objective study's answer: dominance, hypervolume (worked by hand),
the reference point, constraints, ASHA-stopped trials, and per-seed fronts."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from study_folders import TRIALS, TrialSpec, trial_id, write_study_folder
from study_helpers import tiny_study

from harness.analysis.front import (
    empty_front_note,
    front_of,
    front_table,
    hypervolume,
    hypervolume_table,
    non_dominated,
    spread_order,
)
from harness.cli import main
from harness.study import validate_study

ACCURACY_VS_MACS = [{"metric": "child_val_acc", "mode": "max"}, {"metric": "eval_macs_m", "mode": "min"}]


def _study(tmp_path, **changes):
    return validate_study(tiny_study("mo", tmp_path, **{"objective": ACCURACY_VS_MACS, **changes}))


def _trials(rows) -> pd.DataFrame:
    """Trials-table rows ``(trial id, accuracy, MACs, params, stopped early, seed)``."""
    table = pd.DataFrame(rows, columns=["trial_id", "child_val_acc", "eval_macs_m", "eval_params_m",
                                        "stopped_early", "seed"])
    return table.assign(score=table["child_val_acc"], genotype_id="g", genotype="G")


# A (90 %, 2 M), B (80, 1), C (70, 3) dominated by B, D (95, 4).
HAND = [("A", 90.0, 2.0, 3.0, False, 0), ("B", 80.0, 1.0, 2.0, False, 0),
        ("C", 70.0, 3.0, 2.5, False, 0), ("D", 95.0, 4.0, 4.0, False, 0)]


def test_non_dominated_points_in_two_and_three_dimensions():
    assert non_dominated(np.array([[1, 3], [2, 2], [3, 1], [3, 3], [2, 2]])).tolist() == [0, 1, 2, 4]
    assert non_dominated(np.array([[1, 1, 5], [1, 1, 6], [0, 2, 9]])).tolist() == [0, 2]


def test_hypervolume_worked_by_hand():
    # minimised (-accuracy, MACs) against reference (-70, 4): B's box 10 × 3 = 30, A's 20 × 2 = 40,
    # their overlap 10 × 2 = 20, so 50; D lies on the reference's MACs and adds nothing.
    points = np.array([[-90.0, 2.0], [-80.0, 1.0], [-95.0, 4.0]])
    assert hypervolume(points, np.array([-70.0, 4.0])) == pytest.approx(50.0)
    # reference MACs 5: boxes 40 + 60 - overlap 30, and D's strip (-95..-90) × (4..5) = 5 more: 75.
    assert hypervolume(points, np.array([-70.0, 5.0])) == pytest.approx(75.0)
    # three dimensions: two boxes of 2 × 1 × 2 overlapping in 1 × 1 × 2.
    assert hypervolume(np.array([[1.0, 2.0, 1.0], [2.0, 1.0, 1.0]]), np.array([3.0, 3.0, 3.0])) == pytest.approx(6.0)
    assert hypervolume(np.array([[5.0, 0.0]]), np.array([4.0, 1.0])) == 0.0


def test_the_front_and_its_default_reference_the_worst_finished_values(tmp_path):
    front = front_of(_trials(HAND), _study(tmp_path))
    assert front.members["trial_id"].tolist() == ["D", "A", "B"]  # best accuracy first
    assert front.reference == (70.0, 4.0)
    assert front.hypervolume == pytest.approx(50.0)


def test_a_stated_reference_overrides_an_axis(tmp_path):
    objective = [ACCURACY_VS_MACS[0], {**ACCURACY_VS_MACS[1], "reference": 5.0}]
    front = front_of(_trials(HAND), _study(tmp_path, objective=objective))
    assert front.reference == (70.0, 5.0) and front.hypervolume == pytest.approx(75.0)


def test_an_asha_stopped_trial_is_no_candidate(tmp_path):
    rows = [*HAND[:3], ("D", 95.0, 4.0, 4.0, True, 0)]
    front = front_of(_trials(rows), _study(tmp_path))
    assert front.members["trial_id"].tolist() == ["A", "B"] and front.candidates == 3


def test_constraints_leave_infeasible_trials_off_the_front(tmp_path):
    study = _study(tmp_path, constraints={"eval_params_m": {"max": 2.5}})
    front = front_of(_trials(HAND), study)
    assert front.members["trial_id"].tolist() == ["B"] and front.feasible == 2  # B 2.0, C 2.5; A, D above
    assert empty_front_note(front, study) is None
    strict = _study(tmp_path, constraints={"eval_params_m": {"max": 1.0}})
    assert empty_front_note(front_of(_trials(HAND), strict), strict) == (
        "none of the 4 finished trials meets the constraints (eval_params_m ≤ 1): the Pareto front is empty")


def test_per_seed_fronts_and_the_mean_hypervolume_over_seeds(tmp_path):
    """Seed 0: A, B, C (reference (70, 4) from all seeds: 50); seed 1: one trial at (90, 2):
    20 × 2 = 40; seed 2: one at (80, 1): 10 × 3 = 30.  Mean 40, sd 10, t(0.975, 2) = 4.303:
    40 ± 4.303 · 10 / √3 = 40 ± 24.84."""
    rows = [*HAND, ("E", 90.0, 2.0, 1.0, False, 1), ("F", 80.0, 1.0, 1.0, False, 2)]
    study = _study(tmp_path)
    trials = _trials([r for r in rows if r[0] != "D"] + [("D", 95.0, 4.0, 4.0, False, 0)])
    table = hypervolume_table(trials, study).set_index("scope")
    assert table.loc[["seed=0", "seed=1", "seed=2"], "hypervolume"].tolist() == pytest.approx([50.0, 40.0, 30.0])
    mean = table.loc["mean over seeds"]
    assert (mean["n"], mean["hypervolume"], mean["sd"]) == (3, pytest.approx(40.0), pytest.approx(10.0))
    assert (mean["ci95_low"], mean["ci95_high"]) == (pytest.approx(40 - 24.8414, abs=1e-3),
                                                     pytest.approx(40 + 24.8414, abs=1e-3))
    assert table.loc["all trials", "reference_eval_macs_m"] == 4.0
    fronts = front_table(trials, study)
    assert fronts.groupby("scope", sort=False)["trial_id"].apply(list).to_dict() == {
        "all trials": ["D", "A", "E", "B", "F"], "seed=0": ["D", "A", "B"], "seed=1": ["E"], "seed=2": ["F"]}
    assert math.isnan(hypervolume_table(trials.iloc[0:0], study).loc[0, "hypervolume"])


def _multi_objective_folder(root, constraints=None):
    """A crafted study folder (no Ray) made multi-objective: child_val_acc against eval_macs_m.
    Seed 0: (79.99 %, 3.0 M); seed 1: (68.72, 1.0); seed 2 stopped after one epoch (0.5 M);
    seed 3: (60.0, 2.0), dominated by seed 1."""
    specs = (*TRIALS, TrialSpec(3, (50.0, 60.0, 70.0)))
    folder = write_study_folder(root, "mo", trials=specs)
    study = yaml.safe_load((folder / "study.yaml").read_text())
    study.update(objective=ACCURACY_VS_MACS, **({"constraints": constraints} if constraints else {}))
    (folder / "study.yaml").write_text(yaml.safe_dump(study, sort_keys=False))
    for seed, macs in {0: 3.0, 1: 1.0, 2: 0.5, 3: 2.0}.items():
        for name in ("metrics.jsonl", "result.json"):
            path = folder / f"trial_{trial_id(seed)}" / name
            path.write_text(path.read_text().replace('"eval_macs_m": 1.7', f'"eval_macs_m": {macs}'))
    return folder


def test_analyze_and_best_give_the_front(tmp_path, capsys):
    """Reference (60.0 %, 3.0 M), the worst finished values: seed 0 sits on its MACs and seed 3
    on its accuracy, so only seed 1's box counts, (68.72 - 60) × (3.0 - 1.0) = 17.44."""
    folder = _multi_objective_folder(tmp_path)
    assert main(["analyze", str(folder)]) == 0
    out = capsys.readouterr().out
    assert ("Pareto front: 2 of 3 finished trials; hypervolume 17.44 against the reference point "
            "(child_val_acc 60, eval_macs_m 3)") in out
    best = json.loads((folder / "analysis" / "best.json").read_text())
    assert [(p["trial_id"], p["objectives"]) for p in best["trials"]] == [
        (trial_id(0), {"child_val_acc": pytest.approx(79.99), "eval_macs_m": 3.0}),
        (trial_id(1), {"child_val_acc": pytest.approx(68.72), "eval_macs_m": 1.0})]
    assert best["hypervolume"] == pytest.approx(17.44)
    assert best["reference_point"] == {"child_val_acc": 60.0, "eval_macs_m": 3.0}
    trials = pd.read_csv(folder / "analysis" / "trials.csv").set_index("trial_id")
    assert trials["on_front"].to_dict() == {trial_id(0): True, trial_id(1): True, trial_id(2): False,
                                            trial_id(3): False}
    assert (folder / "plots" / "front.png").is_file()
    assert main(["best", str(folder)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("Pareto front: 2 of 3 finished trials (last epoch); hypervolume 17.44 against "
                        "(child_val_acc 60, eval_macs_m 3)")
    assert lines[1].startswith(f"trial {trial_id(0)}: child_val_acc = 80, eval_macs_m = 3, genotype ")
    assert main(["best", str(folder), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [p["genotype_json"] is not None for p in document["front"]] == [True, True]
    assert document["hypervolume"] == pytest.approx(17.44) and document["constraints"] == {}
    assert main(["report", str(folder)]) == 0
    page = (folder / "report.html").read_text()
    assert "<h2>Pareto front</h2>" in page and "Hypervolume per seed" in page


def test_an_empty_front_is_a_note_in_the_analysis_and_one_line_from_best(tmp_path, capsys):
    folder = _multi_objective_folder(tmp_path, constraints={"eval_params_m": {"max": 0.1}})  # every trial: 0.16
    assert main(["analyze", str(folder)]) == 0
    assert ("note: none of the 3 finished trials meets the constraints (eval_params_m ≤ 0.1): the Pareto front "
            "is empty") in capsys.readouterr().out
    assert main(["best", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.endswith("the Pareto front is empty\n") and err.count("\n") == 1


def test_retrain_takes_the_extremes_then_the_knee_then_spreads_along_the_front():
    """Minimised (-accuracy, MACs): P0 (-90, 4) and P1 (-60, 1) are the extremes.  Scaled to
    [0, 1] over the front (accuracy span 30, MACs span 3) P2 (-85, 2) sits at (0.17, 0.33),
    nearest the ideal point: the knee.  Then P3 (-70, 1.5), 0.37 from the nearest taken (P1),
    before P4 (-88, 3.5), 0.18 from P0; P5 (-50, 5), dominated, comes last."""
    p0, p1, p2, p3, p4, p5 = (-90, 4), (-60, 1), (-85, 2), (-70, 1.5), (-88, 3.5), (-50, 5)
    points = np.array([p3, p5, p4, p1, p0, p2], dtype=float)
    assert spread_order(points) == [4, 3, 5, 0, 2, 1]


def test_retrain_top_k_of_a_multi_objective_study_spreads_along_its_front(tmp_path):
    """Seed 0 (best accuracy) and seed 1 (fewest MACs) are the front's extremes; seed 3 found
    seed 0's genotype again and counts as it; seed 2 stopped early and is no candidate."""
    from harness.analysis.results import load_results
    from harness.retraining import distinct_winners

    results = load_results(_multi_objective_folder(tmp_path))
    arms = distinct_winners(results, 3)
    assert [arm.label for arm in arms] == [trial_id(0), trial_id(1)]
    assert arms[0].origin["source_trials"] == [trial_id(0), trial_id(3)]
