"""Damaged trial files: each named once, its trial marked damaged, the winner the intact data's."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from study_folders import TrialSpec, trial_id, write_study_folder

from harness.cli import main

WINNER, RUNNER_UP, STOPPED = trial_id(0), trial_id(1), trial_id(2)


def _cut_line(number: int) -> Callable[[bytes], bytes]:
    """The file as a full disk or a killed copy leaves it: cut in the middle of line ``number``."""
    def cut(data: bytes) -> bytes:
        lines = data.split(b"\n")
        return b"\n".join(lines[:number - 1] + [lines[number - 1][:40]])
    return cut


def _replace_line(number: int, text: bytes) -> Callable[[bytes], bytes]:
    def replace(data: bytes) -> bytes:
        lines = data.split(b"\n")
        lines[number - 1] = text
        return b"\n".join(lines)
    return replace


def _whole(text: bytes) -> Callable[[bytes], bytes]:
    return lambda data: text


@dataclass(frozen=True)
class Case:
    trial: str
    file: str
    damage: Callable[[bytes], bytes]
    problem: str
    """Part of the warning."""
    winner: str = WINNER


CASES = {
    "truncated line": Case(WINNER, "metrics.jsonl", _cut_line(2), "line 2: cut off mid-line); the curve is read "
                                                                  "from result.json (3 epochs) instead"),
    "non-object line": Case(WINNER, "metrics.jsonl", _replace_line(3, b"[1, 2]"), "line 3: a JSON list, not an object"),
    "binary garbage": Case(WINNER, "metrics.jsonl", _whole(b"\x00\x13\xfe\x88garbage\x00\n\x9c"), "2 of 2 lines"),
    "non-UTF-8 line": Case(WINNER, "metrics.jsonl", _replace_line(1, b'{"epoch": 1, "x": "\xff"}'),
                           "line 1: not UTF-8 text"),
    "invalid genotype JSON": Case(WINNER, "genotype.json", _whole(b'{"normal": [['), "not JSON"),
    "genotype JSON that is not a genotype": Case(WINNER, "genotype.json", _whole(b'{"normal": 3}'),
                                                 "genotype is missing"),
    "params.json damaged": Case(WINNER, "params.json", _whole(b'{"search.seed": 0'), "not JSON"),
    "error.txt not UTF-8": Case(STOPPED, "error.txt", _whole(b"RuntimeError: \xff\xfe\n"), "not UTF-8 text"),
    "result.json damaged": Case(WINNER, "result.json", _cut_line(3), "line 3: cut off mid-line"),
    "both curve files cut": Case(WINNER, "metrics.jsonl+result.json", _cut_line(2), "line 2: cut off mid-line",
                                 winner=RUNNER_UP),
}


def _warnings_naming(caplog, path: Path) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and str(path) in r.getMessage()]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_damaged_file_is_named_once_and_the_intact_data_decides(tmp_path, capsys, caplog, monkeypatch, case):
    monkeypatch.setattr("harness.analysis.draw_plots", lambda data: [])  # they see only the cleaned tables
    folder = write_study_folder(tmp_path / "results")
    paths = [folder / f"trial_{case.trial}" / name for name in case.file.split("+")]
    for path in paths:
        path.write_bytes(case.damage(path.read_bytes() if path.is_file() else b""))
    for command in ("status", "analyze", "report", "best"):
        caplog.clear()
        assert main([command, str(folder)]) == 0, command
        out = capsys.readouterr().out
        for path in paths:
            named = _warnings_naming(caplog, path)
            assert len(named) == 1 and case.problem in named[0], (command, named)
        if command == "status":
            row = next(line for line in out.splitlines() if line.startswith(case.trial))
            assert "damaged" in row
            assert sum(line.startswith("58c84_") and "damaged" in line for line in out.splitlines()) == 1
        if command == "best":
            assert f"#1 trial {case.winner}:" in out
    trials = pd.read_csv(folder / "analysis" / "trials.csv").set_index("trial_id")
    assert trials["damaged"].to_dict() == {t: t == case.trial for t in (WINNER, RUNNER_UP, STOPPED)}
    assert case.problem.split(";")[0] in trials.loc[case.trial, "damage"]
    best = json.loads((folder / "analysis" / "best.json").read_text())
    assert best["trials"][0]["trial_id"] == case.winner
    page = (folder / "report.html").read_text()
    assert f"#1: trial {case.winner}" in page and "damaged files" in page
    if case.winner != WINNER:  # left out of the rankings, and said so
        assert all(w["trial_id"] != case.trial for w in best["trials"])
        assert any("left out of the rankings" in note and case.trial in note for note in best["notes"])


def test_the_winners_curve_comes_from_the_longer_intact_file(tmp_path):
    """With the plots drawn from the repaired curve, as every other test here leaves out."""
    folder = write_study_folder(tmp_path / "results")
    metrics = folder / f"trial_{WINNER}" / "metrics.jsonl"
    metrics.write_bytes(_cut_line(2)(metrics.read_bytes()))
    assert main(["analyze", str(folder)]) == 0
    curves = pd.read_csv(folder / "analysis" / "curves.csv")
    winner = curves[curves["trial_id"] == WINNER]
    assert list(winner["training_iteration"]) == [1, 2, 3]
    assert list(winner["search_val_acc"]) == [41.5, 70.25, 89.99]
    trials = pd.read_csv(folder / "analysis" / "trials.csv").set_index("trial_id")
    assert trials.loc[WINNER, "epochs"] == 3 and trials.loc[WINNER, "state"] == "TERMINATED"
    assert not trials.loc[WINNER, "stopped_early"]
    assert (folder / "plots" / "best_cells.png").is_file()


def test_a_running_trials_unterminated_last_line_is_not_damage(tmp_path, caplog):
    folder = write_study_folder(tmp_path / "results", trials=(TrialSpec(0, (41.5, 70.25)), TrialSpec(1, (52.0,),
                                                                                                   state="RUNNING")))
    for name in ("result.json", "metrics.jsonl"):
        path = folder / f"trial_{trial_id(1)}" / name
        path.write_bytes(path.read_bytes() + b'{"epoch": 2, "search_val')
    assert main(["status", str(folder)]) == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_nothing_usable_left_is_exit_2_for_best_only(tmp_path, capsys, caplog):
    folder = write_study_folder(tmp_path / "results", trials=(TrialSpec(0, (41.5, 70.25, 89.99)),))
    for name in ("metrics.jsonl", "result.json"):
        (folder / f"trial_{WINNER}" / name).write_bytes(b"\xff\xfe garbage\n")
    for command in ("status", "analyze", "report"):
        assert main([command, str(folder)]) == 0, command
    assert main(["best", str(folder)]) == 2
    assert "has reported search_val_acc" in capsys.readouterr().err
