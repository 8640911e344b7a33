"""`status` and `best` of a large study: the best rows, built for those alone
(harness.analysis.top), and a count of what is left out instead of every trial."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from study_folders import TrialSpec, trial_id, write_study_folder

from harness.analysis.results import load_results
from harness.analysis.tables import best_trials, trials_table
from harness.analysis.top import Ranking
from harness.cli import main
from harness.commands import status

# 12 trials: seeds 3 and 5 tie on the last epoch (and 3 comes first), seed 8's best epoch is
# not its last, seeds 9-11 failed, seed 7 has no reports left (no score: ranked last)
SPECS = tuple(TrialSpec(seed, (40.0 + seed, 50.0 + seed)) for seed in (0, 1, 2, 4, 6, 7)) + (
    TrialSpec(3, (60.0, 70.0)), TrialSpec(5, (61.0, 70.0)), TrialSpec(8, (90.0, 52.0)),
    *(TrialSpec(seed, (30.0 + seed,), state="ERROR") for seed in (9, 10, 11)))


@pytest.fixture
def folder(tmp_path):
    folder = write_study_folder(tmp_path / "results", trials=SPECS)
    for name in ("metrics.jsonl", "result.json"):
        (folder / f"trial_{trial_id(7)}" / name).unlink()
    return folder


def _missing_as_none(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with one type per column and None for a missing value: a column's type is
    inferred from the rows built (the first rows have no error, the full table has some)."""
    return table.astype(object).where(table.notna(), None)


@pytest.mark.parametrize("scope", ["last", "best"])
def test_the_ranking_builds_the_first_rows_of_the_full_table(folder, scope):
    results = load_results(folder)
    full = trials_table(results, "search_val_acc", scope)
    ranking = Ranking.of(results, "search_val_acc", scope)
    for rows in (1, 5, 12):
        pd.testing.assert_frame_equal(_missing_as_none(pd.DataFrame(ranking.rows(rows))),
                                      _missing_as_none(full.head(rows)))
    assert list(full["trial_id"][:2]) == ([trial_id(8), trial_id(3)] if scope == "best" else
                                          [trial_id(3), trial_id(5)])  # the tie in folder order
    assert full["trial_id"].iloc[-1] == trial_id(7) and pd.isna(full["score"].iloc[-1])
    assert ranking.winners(3) == best_trials(full, results, 3)
    assert [w["trial_id"] for w in ranking.winners(12)] == list(full["trial_id"][:11])  # not the unscored


def _output(capsys, *arguments) -> list[str]:
    assert main(list(arguments)) == 0
    return capsys.readouterr().out.splitlines()


def test_status_lists_the_best_rows_and_counts_the_rest(folder, capsys, monkeypatch):
    every = _output(capsys, "status", str(folder), "--all")
    assert len([line for line in every if line.startswith("58c84_")]) == 12
    assert len([line for line in every if line.startswith("error of trial")]) == 3
    monkeypatch.setattr(status, "STATUS_ROWS", 12)
    assert _output(capsys, "status", str(folder)) == every  # no more trials than rows: as before
    monkeypatch.setattr(status, "STATUS_ROWS", 2)
    lines = _output(capsys, "status", str(folder))
    assert lines[1] == "states: 9 TERMINATED, 3 ERROR; the 2 best by best search_val_acc:"
    assert [line.split()[0] for line in lines[3:5]] == [trial_id(8), trial_id(3)]
    assert lines[5] == f"... 10 more trials not shown: `snas-study status {folder} --all` lists every one"
    assert lines[6:8] == [f"error of trial {trial_id(s)}: RuntimeError: injected" for s in (11, 10)]
    assert lines[8] == f"... and 1 more error: `snas-study status {folder} --all` shows every one"


def test_best_names_the_same_winners_as_the_full_table(folder, capsys):
    lines = _output(capsys, "best", str(folder), "--top", "2")
    winners = [line for line in lines if line.startswith("#")]
    assert [line.split()[2].rstrip(":") for line in winners] == [trial_id(3), trial_id(5)]
    assert _output(capsys, "best", str(folder), "--top", "2", "--scope", "best")[0].startswith(
        f"#1 trial {trial_id(8)}: search_val_acc = 90.00 (best epoch)")


@pytest.mark.parametrize(("values", "texts"), [
    ([4.0, 0.5], ["4.0", "0.5"]),  # the fewest decimals that show every value ...
    ([89.99, 51.6], ["89.99", "51.60"]),  # ... shared by the column
    ([1.4864321234, 0.5], ["1.486432", "0.500000"]),  # at most six
    ([1, 2.5], ["1.0", "2.5"]), ([0, 12], ["0", "12"]),  # whole numbers alone stay whole
    ([math.nan, 1.0, None], ["NaN", "1.0", "NaN"]), ([64, None], ["64", "NaN"]),  # a missing number ...
    ([math.nan, math.nan], ["NaN", "NaN"]),  # ... in a column of nothing else
    ([1e-7, 3e-4], ["1.000000e-07", "3.000000e-04"]), ([2e16, 1.0], ["2.000000e+16", "1.000000e+00"]),  # six
    ([0.0, 3e-4], ["0.0000", "0.0003"]),  # decimals would hide one, or show noise
    ([True, 2.0], ["True", "2.0"]), (["sgd", None], ["sgd", "None"]),  # not numbers: as str gives them
])
def test_status_columns_read_as_numbers(values, texts):
    assert status._column_texts(values) == texts


def test_status_table_aligns_each_column_under_its_title():
    assert status._text_table({"trial": ["a", "bbb"], "tau0": [4.0, 0.5]}).splitlines() == [
        "trial  tau0", "    a   4.0", "  bbb   0.5"]


def test_status_says_a_failure_was_retried_when_the_trial_went_on(tmp_path, capsys):
    """Tune keeps a retried failure's error.txt: a trial that then ended is not shown as failed."""
    folder = write_study_folder(tmp_path / "results", trials=(TrialSpec(0, (40.0, 50.0)),
                                                              TrialSpec(1, (30.0,), state="ERROR")))
    (folder / f"trial_{trial_id(0)}" / "error.txt").write_text(
        "Failure # 1 (occurred at 2026-12-07_23-50-00)\nTraceback (most recent call last):\nInjectedFault: epoch 1\n")
    lines = _output(capsys, "status", str(folder))
    retried = f"trial {trial_id(0)} failed and was retried (TERMINATED since); the failure: InjectedFault: epoch 1"
    assert retried in lines
    assert f"error of trial {trial_id(1)}: RuntimeError: injected" in lines
    for state in folder.glob("experiment_state-*.json"):  # states unknown: not said to have gone on
        state.unlink()
    lines = _output(capsys, "status", str(folder))
    assert f"error of trial {trial_id(0)}: InjectedFault: epoch 1" in lines and not any("retried" in x for x in lines)


def test_status_says_a_stopped_trial_with_a_failure_waits_to_be_retried(tmp_path, capsys):
    """After a stop (Ctrl-C, a failure on the data) the failed trial is PENDING: `resume`
    retries it; it has not been retried yet."""
    folder = write_study_folder(tmp_path / "results", trials=(TrialSpec(0, (40.0, 50.0)),
                                                              TrialSpec(1, (20.0,), state="PENDING")))
    (folder / f"trial_{trial_id(1)}" / "error.txt").write_text(
        "Failure # 1 (occurred at 2026-12-08_02-35-00)\nTraceback (most recent call last):\n"
        "snas.errors.DataError: cannot read image x.png: image file is truncated\n")
    lines = _output(capsys, "status", str(folder))
    assert (f"trial {trial_id(1)} failed and waits to be retried (PENDING); the failure: snas.errors.DataError: "
            f"cannot read image x.png: image file is truncated") in lines
