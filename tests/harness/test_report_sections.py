"""The report's trials table (key columns first, the rest folded), study file (only what was
set) and winners' cells (each drawn once, with its genotype)."""

from __future__ import annotations

import re

import pandas as pd
from study_folders import write_study_folder
from study_helpers import tiny_study

from harness.analysis import report
from harness.analysis.report import REPORT_ROWS, _trials_section, _without_unset, render_report
from harness.analysis.summary import write_analysis
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


def _table_rows(section: str) -> int:
    return section.count("<tr>") - section.count("<thead>")


def test_the_trials_of_a_large_study_are_the_best_few_with_a_link_to_all(tmp_path):
    study = validate_study(tiny_study("r", tmp_path))
    trials = pd.DataFrame({"trial_id": [f"a_{i:05d}" for i in range(10_000)], "seed": range(10_000),
                           "state": "TERMINATED", "score": [90.0 - i / 1000 for i in range(10_000)],
                           "final_train_loss": 1.2, "genotype": "Genotype(...)" * 20})
    section = _trials_section(trials, study, '<a href="analysis/trials.csv">analysis/trials.csv</a>')
    shown, folded = section.split("<details>")
    assert _table_rows(shown) == REPORT_ROWS and _table_rows(folded) == REPORT_ROWS
    assert f"<td>{90.0 - (REPORT_ROWS - 1) / 1000:.4g}</td>" in shown and "a_00050" not in section
    assert (f"The {REPORT_ROWS} best of 10,000 trials, best first; every trial and column is in "
            '<a href="analysis/trials.csv">analysis/trials.csv</a>.') in shown
    assert len(section) < 50_000


def test_long_comparison_tables_show_their_first_rows_and_link_the_csv(tmp_path, monkeypatch):
    summary = write_analysis(write_study_folder(tmp_path / "results"), plots=False)
    monkeypatch.setattr(report, "REPORT_ROWS", 3)
    means = [50.0, 70.0, None, 90.0, 60.0]
    summary.tables = {"replicates": pd.DataFrame({"tau0": [1, 2, 3, 4, 5], "n": 1, "mean": means}),
                      "genotypes": pd.DataFrame({"tau0": [1, 2, 3, None], "scope": ["setting"] * 3 + ["all trials"],
                                                 "its_trials": [1, 3, 2, 6]})}
    section = report._comparisons_section(summary, page_folder=tmp_path / "elsewhere")
    replicates, genotypes = section.split("<h3>")[1:]
    assert re.findall(r"<tr><td>(\d)</td>", replicates) == ["4", "2", "5"]  # the best means first
    assert ('Showing 3 of 5 rows: the settings with the best means. The other 2 are in '
            '<a href="../results/crafted/analysis/replicates.csv">analysis/replicates.csv</a>.') in replicates
    assert re.findall(r"<tr><td>(\d?)</td>", genotypes) == ["", "2", "3"]  # all trials, then the most repeated
    own = report._comparisons_section(summary)  # the study folder's own report links from the folder
    assert '<a href="analysis/replicates.csv">' in own and '<a href="analysis/genotypes.csv">' in own
