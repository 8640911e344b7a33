"""The report's trials table (key columns first, the rest folded), study file (only what was
set) and winners' cells (each drawn once, with its genotype)."""

from __future__ import annotations

import re

import pandas as pd
from study_folders import write_study_folder
from study_helpers import tiny_study

from harness.analysis import write_analysis
from harness.analysis.report import _trials_section, _without_unset, render_report
from harness.study import validate_study


def test_the_study_dump_leaves_out_unset_keys():
    dumped = {"space": {"search.seed": {"grid": [0, 1], "choice": None, "uniform": None}},
              "objective": {"metric": None, "mode": "max"}, "searcher": {"points_to_evaluate": [{"a": None}]}}
    assert _without_unset(dumped) == {"space": {"search.seed": {"grid": [0, 1]}}, "objective": {"mode": "max"},
                                      "searcher": {"points_to_evaluate": [{}]}}


def test_the_trials_table_shows_key_columns_and_folds_the_rest(tmp_path):
    study = validate_study(tiny_study("r", tmp_path))
    trials = pd.DataFrame([{"trial_id": "a_00000", "seed": 0, "state": "TERMINATED", "stopped_early": False,
                            "diverged": False, "epochs": 3, "configured_epochs": 3, "score": 55.0,
                            "final_train_loss": 1.2, "best_train_acc": 40.0, "wall_time_s": 9.0,
                            "genotype": "Genotype(...)", "error": None}])
    section = _trials_section(trials, study)
    shown, folded = section.split("<details>")
    headers = [cell.split("</th>")[0] for cell in shown.split('<th class="text">')[1:]]
    assert headers == ["trial_id", "seed", "state", "stopped_early", "diverged", "epochs", "score"]
    assert "final_train_loss" in folded and "best_train_acc" in folded and "wall_time_s" in folded
    assert "Genotype(...)" not in section and "the other 3 columns" in folded


def test_each_winners_cells_are_drawn_once_with_its_genotype(tmp_path):
    summary = write_analysis(write_study_folder(tmp_path), page=render_report)
    page = (summary.path / "report.html").read_text()
    winners, plots = page.split("<h2>Plots</h2>")
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", page)
    cells = [caption for caption in captions if caption.startswith("cells of")]
    assert cells == [f"cells of trial {winner['trial_id']}" for winner in summary.best]
    assert all(caption in winners for caption in cells)
    assert "<figure>" in plots  # the other plots stay
    assert (summary.path / "plots" / "best_cells.png").is_file()  # still drawn, for papers
