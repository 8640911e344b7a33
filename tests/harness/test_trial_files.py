"""Damaged trial files: each named once, its trial marked damaged, the winner the intact data's.

Three kinds of damage: bytes that are not what the loop or Tune writes (cut, garbled), values
no run can report (text or an infinity where a number belongs, an accuracy of 130), and
entries that are not what their name says (a link, a pipe, a folder, an enormous file),
which are never followed or read.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from study_folders import SESSION, TrialSpec, trial_id, write_study_folder

from harness.analysis.trial_files import _decoded, read_trial_files
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


def _set(number: int, key: str, raw: str) -> Callable[[bytes], bytes]:
    """Line ``number`` with ``key`` spelled ``raw``, as a file would hold it (``Infinity``, ``1e400``)."""
    def rewrite(data: bytes) -> bytes:
        lines = data.split(b"\n")
        row = {**json.loads(lines[number - 1]), key: "\0"}
        lines[number - 1] = json.dumps(row).replace(json.dumps("\0"), raw).encode()
        return b"\n".join(lines)
    return rewrite


Damager = Callable[[Path], None]
"""Damages the file or folder at a path of the study folder."""


def _rewrite(damage: Callable[[bytes], bytes]) -> Damager:
    return lambda path: path.write_bytes(damage(path.read_bytes() if path.is_file() else b""))


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def _winning(text: str) -> str:
    """``text`` with every search_val_acc 99.5: a curve that would win, were it read."""
    return re.sub(r'"search_val_acc": [0-9.]+', '"search_val_acc": 99.5', text)


def _link_to_outside(path: Path) -> None:
    """``path`` becomes a link to a copy outside the study folder whose accuracies would win,
    were it read."""
    outside = path.parents[2] / "elsewhere" / path.name
    outside.parent.mkdir(exist_ok=True)
    if path.is_dir():
        shutil.copytree(path, outside)
        for name in ("metrics.jsonl", "result.json"):
            if (outside / name).is_file():
                (outside / name).write_text(_winning((outside / name).read_text()))
    else:
        outside.write_text(_winning(path.read_text()) if path.is_file() else "RuntimeError: another's\n")
    _remove(path)
    path.symlink_to(outside)


def _fifo(path: Path) -> None:
    _remove(path)
    os.mkfifo(path)


def _folder(path: Path) -> None:
    _remove(path)
    path.mkdir()
    (path / "x").write_text("{}\n")


def _file(path: Path) -> None:
    _remove(path)
    path.write_text("not a folder\n")


def _enormous(path: Path) -> None:
    """A sparse file one byte over the 64 MiB cap: no disk used, and never read."""
    with open(path, "ab") as handle:
        handle.truncate(64 * 2**20 + 1)


@dataclass(frozen=True)
class Case:
    trial: str
    file: str
    """The damaged paths inside the trial folder, ``+``-separated; ``.``: the folder itself."""
    damage: Damager
    problem: str
    """Part of the warning."""
    winner: str = WINNER


BOTH = "metrics.jsonl+result.json"


def _value(file: str, number: int, key: str, raw: str, problem: str, winner: str = WINNER) -> Case:
    """The winner's line ``number`` with an impossible value of ``key``, named ``line N: problem``.
    With the other curve file intact the trial keeps its place (its curve is read from there);
    with both (``BOTH``: the loop reports the same values to Tune) it is left out."""
    instead = "); the curve is read from result.json (3 epochs) instead" if file == "metrics.jsonl" else ""
    return Case(WINNER, file, _rewrite(_set(number, key, raw)), f"line {number}: {problem}{instead}", winner)


CASES = {
    "truncated line": Case(WINNER, "metrics.jsonl", _rewrite(_cut_line(2)),
                           "line 2: cut off mid-line); the curve is read from result.json (3 epochs) instead"),
    "non-object line": Case(WINNER, "metrics.jsonl", _rewrite(_replace_line(3, b"[1, 2]")),
                            "line 3: a JSON list, not an object"),
    "binary garbage": Case(WINNER, "metrics.jsonl", _rewrite(_whole(b"\x00\x13\xfe\x88garbage\x00\n\x9c")),
                           "2 of 2 lines"),
    "non-UTF-8 line": Case(WINNER, "metrics.jsonl", _rewrite(_replace_line(1, b'{"epoch": 1, "x": "\xff"}')),
                           "line 1: not UTF-8 text"),
    "invalid genotype JSON": Case(WINNER, "genotype.json", _rewrite(_whole(b'{"normal": [[')), "not JSON"),
    "genotype JSON that is not a genotype": Case(WINNER, "genotype.json", _rewrite(_whole(b'{"normal": 3}')),
                                                 "genotype is missing"),
    "params.json damaged": Case(WINNER, "params.json", _rewrite(_whole(b'{"search.seed": 0')), "not JSON"),
    "error.txt not UTF-8": Case(STOPPED, "error.txt", _rewrite(_whole(b"RuntimeError: \xff\xfe\n")),
                                "not UTF-8 text"),
    "result.json damaged": Case(WINNER, "result.json", _rewrite(_cut_line(3)), "line 3: cut off mid-line"),
    "both curve files cut": Case(WINNER, BOTH, _rewrite(_cut_line(2)), "line 2: cut off mid-line", winner=RUNNER_UP),
    # values no run can report (snas.metrics.METRIC_VALUES, harness.analysis.values.TUNE_VALUES)
    "text for a number": _value("metrics.jsonl", 3, "search_val_acc", '"abc"', 'search_val_acc is "abc", not a number'),
    "text for a number in both files": _value(BOTH, 3, "search_val_acc", '"89.99"',
                                              'search_val_acc is "89.99", not a number', winner=RUNNER_UP),
    "Infinity": _value(BOTH, 3, "search_val_acc", "Infinity", "search_val_acc is Infinity, not a finite number",
                       winner=RUNNER_UP),
    "1e400, which JSON reads as an infinity": _value(BOTH, 3, "search_val_acc", "1e400",
                                                     "search_val_acc is Infinity, not a finite number",
                                                     winner=RUNNER_UP),
    "-Infinity": _value("metrics.jsonl", 2, "child_val_acc", "-Infinity",
                        "child_val_acc is -Infinity, not a finite number"),
    "NaN where a run reports none": _value("metrics.jsonl", 3, "search_val_acc", "NaN", "search_val_acc is NaN"),
    "NaN loss on an epoch that did not diverge": _value("metrics.jsonl", 1, "train_loss", "NaN",
                                                        "train_loss is NaN on an epoch that did not diverge"),
    "integer beyond 64 bits": _value("metrics.jsonl", 3, "epoch_time_s", "1" + "0" * 30,
                                     "epoch_time_s is 1" + "0" * 30 + ", beyond what a 64-bit number holds"),
    "an integer of 5,000 digits, which Python's JSON refuses": _value("metrics.jsonl", 3, "epoch_time_s", "1" * 5000,
                                                                      "not JSON"),
    "params.json with an integer of 5,000 digits": Case(WINNER, "params.json",
                                                        _rewrite(_whole(b'{"search.seed": ' + b"1" * 5000 + b"}")),
                                                        "not JSON (Exceeds the limit (4300 digits)"),
    "nested object for a number": _value("metrics.jsonl", 3, "search_val_acc", '{"value": 89.99}',
                                         'search_val_acc is {"value": 89.99}, not a number'),
    "true for a number": _value("metrics.jsonl", 3, "search_val_acc", "true", "search_val_acc is true, not a number"),
    "accuracy above 100": _value(BOTH, 3, "search_val_acc", "130.5", "search_val_acc is 130.5, above 100",
                                 winner=RUNNER_UP),
    "negative parameters": _value("metrics.jsonl", 3, "eval_params_m", "-0.16", "eval_params_m is -0.16, below 0"),
    "negative time": _value("metrics.jsonl", 2, "epoch_time_s", "-5.0", "epoch_time_s is -5.0, below 0"),
    "negative epoch": _value("metrics.jsonl", 2, "epoch", "-2", "no whole-number 'epoch'"),
    "epoch out of order": _value("metrics.jsonl", 3, "epoch", "2",
                                 "epoch 2 out of order (line 3 of a history holds epoch 3)"),
    "text for a flag": _value("metrics.jsonl", 3, "diverged", '"no"', 'diverged is "no", not true or false'),
    "fraction for a count": _value("metrics.jsonl", 3, "normal_skip_connect", "2.5",
                                   "normal_skip_connect is 2.5, not a whole number"),
    "number for a genotype": _value("metrics.jsonl", 3, "genotype", "12", "genotype is 12, not text"),
    "text that is not a genotype": _value(
        "metrics.jsonl", 3, "genotype", '"Genotype(normal=nonsense)"',
        'genotype is "Genotype(normal=nonsense)", not a genotype (unsupported expression in genotype text: nonsense)'),
    "text for Tune's time": _value("result.json", 3, "time_total_s", '"15 s"', 'time_total_s is "15 s", not a number'),
    "number for a genotype op": Case(WINNER, "genotype.json", _rewrite(lambda data: data.replace(
        b'"sep_conv_3x3"', b"3", 1)), "expected an (op, input) pair, got 3"),
    # entries that are not what their name says: never followed, never read
    "trial folder linked to elsewhere": Case(RUNNER_UP, ".", _link_to_outside, "a symbolic link (to "),
    "trial folder that is a file": Case(RUNNER_UP, ".", _file, "a file, not a folder"),
    "metrics.jsonl linked to elsewhere": Case(RUNNER_UP, "metrics.jsonl", _link_to_outside,
                                              "links are not followed; the curve is read from result.json"),
    "metrics.jsonl a named pipe": Case(WINNER, "metrics.jsonl", _fifo,
                                       "a named pipe, not a file; the curve is read from result.json (3 epochs)"),
    "metrics.jsonl a folder": Case(WINNER, "metrics.jsonl", _folder, "a folder, not a file; the curve is read"),
    "result.json enormous": Case(WINNER, "result.json", _enormous,
                                 "67,108,865 bytes, over the 64 MiB cap for such a file; not read"),
    "both curve files named pipes": Case(WINNER, BOTH, _fifo, "a named pipe, not a file", winner=RUNNER_UP),
    "params.json linked to elsewhere": Case(WINNER, "params.json", _link_to_outside, "links are not followed"),
    "genotype.json a named pipe": Case(WINNER, "genotype.json", _fifo, "a named pipe, not a file"),
    "error.txt linked to elsewhere": Case(STOPPED, "error.txt", _link_to_outside, "links are not followed"),
    "checkpoint folder linked to elsewhere": Case(WINNER, "checkpoint_000002", _link_to_outside,
                                                  "links are not followed"),
    "checkpoint file a named pipe": Case(WINNER, "checkpoint_000002/checkpoint.pt", _fifo, "a named pipe, not a file"),
}


def _warnings_naming(caplog, path: Path) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and str(path) in r.getMessage()]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_damaged_file_is_named_once_and_the_intact_data_decides(tmp_path, capsys, caplog, monkeypatch, case):
    monkeypatch.setattr("harness.analysis.plots.draw_plots", lambda data: [])  # they see only the cleaned tables
    folder = write_study_folder(tmp_path / "results")
    paths = [folder / f"trial_{case.trial}" / name for name in case.file.split("+")]
    for path in paths:
        case.damage(path)
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
            assert not re.search(r"= -?(inf|nan)\b", out), out  # only real measurements are ranked
    trials = pd.read_csv(folder / "analysis" / "trials.csv").set_index("trial_id")
    assert trials["damaged"].to_dict() == {t: t == case.trial for t in (WINNER, RUNNER_UP, STOPPED)}
    assert case.problem.split(";")[0] in trials.loc[case.trial, "damage"]
    checkpoint = trials.loc[case.trial, "checkpoint"]
    assert pd.isna(checkpoint) or not Path(checkpoint).parent.is_symlink()
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


def test_ray_trains_record_of_its_checkpoints_is_not_a_damaged_checkpoint_folder(tmp_path, caplog):
    """A data-parallel trial's folder holds Train's checkpoint folders (named by time) and
    Train's ``checkpoint_manager_snapshot.json`` beside them: every such study was reported
    damaged (``a file, not a folder``) until that file was told from the folders."""
    folder = write_study_folder(tmp_path / "results", trials=(TrialSpec(0, (41.5, 70.25)),))
    trial = folder / f"trial_{trial_id(0)}"
    for stamp in ("2026-12-06_23-02-49.733825", "2026-12-06_23-02-50.671245"):
        (trial / f"checkpoint_{stamp}").mkdir()
        (trial / f"checkpoint_{stamp}" / "checkpoint.pt").write_bytes(b"not read")
    (trial / "checkpoint_manager_snapshot.json").write_text('{"checkpoint_results": []}')
    files = read_trial_files(trial, still_written=False)
    assert files.damage == [] and files.checkpoint == trial / "checkpoint_2026-12-06_23-02-50.671245" / "checkpoint.pt"
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


def test_nan_where_a_run_reports_it_is_not_damage(tmp_path, caplog):
    """A diverged epoch's training means are of no batch (NaN), a retrain without a
    validation split has no val_acc, an epoch of no measurable time no images_per_s."""
    folder = write_study_folder(tmp_path / "results")
    for name in ("metrics.jsonl", "result.json"):
        path = folder / f"trial_{WINNER}" / name
        for key, raw in (("diverged", "true"), ("train_loss", "NaN"), ("train_acc", "NaN"), ("cost", "NaN"),
                         ("val_acc", "NaN"), ("images_per_s", "NaN")):
            path.write_bytes(_set(3, key, raw)(path.read_bytes()))
    assert main(["analyze", str(folder)]) == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    trials = pd.read_csv(folder / "analysis" / "trials.csv").set_index("trial_id")
    assert trials.loc[WINNER, "diverged"] and not trials.loc[WINNER, "damaged"]


def _first_trial_in_state(**fields: object) -> Damager:
    def rewrite(path: Path) -> None:
        state = json.loads(path.read_text())
        state["trial_data"][0][0] = json.dumps({**json.loads(state["trial_data"][0][0]), **fields})
        path.write_text(json.dumps(state))
    return rewrite


STATE_CASES = {
    "a trial folder above the study folder": (_first_trial_in_state(relative_logdir="../elsewhere"),
                                              "trial entry 1 names its folder '../elsewhere', not a trial folder "
                                              "directly inside the study folder"),
    "an absolute trial folder": (_first_trial_in_state(relative_logdir="/"), "trial entry 1 names its folder '/'"),
    "a trial folder through a path": (_first_trial_in_state(relative_logdir="trial_x/../../elsewhere"),
                                      "trial entry 1 names its folder 'trial_x/../../elsewhere'"),
    "a study folder's own folder as a trial's": (_first_trial_in_state(relative_logdir="analysis"),
                                                 "trial entry 1 names its folder 'analysis'"),
    "a trial id that is a path": (_first_trial_in_state(trial_id="../../elsewhere", relative_logdir=None),
                                  "trial entry 1 has the trial_id '../../elsewhere', which cannot name a trial folder"),
    "the state a named pipe": (_fifo, "a named pipe, not a file; the trials are read from their folders"),
    "the state linked to elsewhere": (_link_to_outside, "a symbolic link (to "),
}


@pytest.mark.parametrize("damage, problem", STATE_CASES.values(), ids=STATE_CASES.keys())
def test_a_state_that_points_anywhere_is_damaged_state_and_nothing_outside_is_read(tmp_path, capsys, caplog,
                                                                                    monkeypatch, damage, problem):
    monkeypatch.setattr("harness.analysis.plots.draw_plots", lambda data: [])
    folder = write_study_folder(tmp_path / "results")
    elsewhere = tmp_path / "elsewhere"  # what the names above reach from the study folder: a winner, were it read
    shutil.copytree(folder / f"trial_{RUNNER_UP}", elsewhere)
    for name in ("metrics.jsonl", "result.json"):
        (elsewhere / name).write_text(_winning((elsewhere / name).read_text()))
    state = folder / f"experiment_state-{SESSION}.json"
    damage(state)
    for command in ("status", "analyze", "best"):
        caplog.clear()
        assert main([command, str(folder)]) == 0, command
        out = capsys.readouterr().out
        named = _warnings_naming(caplog, state)
        assert len(named) == 1 and problem in named[0], (command, named)
        assert "99.5" not in out
        if command == "best":
            assert f"#1 trial {WINNER}:" in out
        if command == "status":  # the note says the state is damaged, not that it is missing
            assert f"Tune's experiment state {state.name} is damaged: trial states are unknown" in out


def test_an_optuna_journal_that_is_not_a_plain_file_is_named_and_not_read(tmp_path, caplog):
    from harness.optuna_journal import optuna_trial_numbers

    (tmp_path / "elsewhere.journal").write_text('{"op_code": 0, "study_name": "s"}\n')
    (tmp_path / "optuna.journal").symlink_to(tmp_path / "elsewhere.journal")
    assert optuna_trial_numbers(tmp_path, "s") == {}
    assert [r.getMessage() for r in caplog.records] == [
        f"{tmp_path / 'optuna.journal'}: a symbolic link (to {tmp_path / 'elsewhere.journal'}); links are not "
        f"followed; Optuna trial numbers are not shown"]


def test_a_key_the_analysis_does_not_know_is_kept_whatever_its_type(tmp_path, caplog):
    """Ray adds keys of its own, which are not judged; written as text by one trial and as a
    number by another, the column is text in curves.parquet (one type per column)."""
    folder = write_study_folder(tmp_path / "results")
    for trial, raw in ((WINNER, '"fast"'), (RUNNER_UP, "2.5"), (STOPPED, '{"cpu": [1]}')):
        path = folder / f"trial_{trial}" / "result.json"
        path.write_bytes(_set(1, "perf", raw)(path.read_bytes()))
    assert main(["analyze", str(folder)]) == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    curves = pd.read_parquet(folder / "analysis" / "curves.parquet")
    perf = curves.set_index(["trial_id", "training_iteration"])["perf"]
    assert perf.dropna().to_dict() == {(WINNER, 1): "fast", (RUNNER_UP, 1): "2.5", (STOPPED, 1): "{'cpu': [1]}"}
    assert perf.isna().sum() == len(curves) - 3  # absent where no trial wrote it, not the text 'nan'


def _as_read(rows: list) -> str:
    """Rows spelled out exactly: names in order, values with their types (``1`` is not ``1.0``), NaN as NaN."""
    return json.dumps(rows)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_texts_kept_for_the_cache_read_as_what_was_read(tmp_path, case):
    """The analysis cache stores a trial's curve, parameters and genotype as the JSON text they
    were read from (TrialFiles.texts): each reads back as the very values, whatever the damage."""
    folder = write_study_folder(tmp_path / "results")
    for name in case.file.split("+"):
        case.damage(folder / f"trial_{case.trial}" / name)
    for trial in (WINNER, RUNNER_UP, STOPPED):
        files = read_trial_files(folder / f"trial_{trial}", still_written=False)
        read = {"rows": files.rows, "params": files.params, "genotype": files.genotype} if files.opened else {}
        assert {name: _as_read(json.loads(text)) for name, text in files.texts.items()} == {
            name: _as_read(value) for name, value in read.items() if value is not None}


def test_joined_lines_read_as_the_report_overlaid_with_the_loops_values(tmp_path):
    """An epoch's row is Tune's report overlaid with the loop's line: spliced as text, a name
    given twice (in a line, or in both) keeps its first place and takes its last value,
    whatever the spacing and line ends."""
    folder = write_study_folder(tmp_path / "results")
    trial = folder / f"trial_{WINNER}"
    (trial / "result.json").write_bytes(
        b'  {"training_iteration": 1, "lr": 1.0, "timestamp": 7, "lr": 2.0, "epoch": 9}\r\n'
        b'{"training_iteration": 2, "time_total_s": 3}\n{"training_iteration": 2, "time_total_s": 4.5}\n')
    (trial / "metrics.jsonl").write_bytes(b'{ "epoch": 1, "lr": 0.5 }\t\n{"epoch": 2}\n{"epoch":3}\n')
    files = read_trial_files(trial, still_written=False)
    expected = [{"training_iteration": 1, "lr": 0.5, "timestamp": 7, "epoch": 1},
                {"training_iteration": 2, "time_total_s": 4.5, "epoch": 2},
                {"epoch": 3, "training_iteration": 3}]
    assert _as_read(files.rows) == _as_read(expected) and files.curve_trusted and not files.damage
    assert _as_read(json.loads(files.texts["rows"])) == _as_read(expected)


def test_a_report_beginning_with_the_loops_line_keeps_the_loops_values_in_its_text(tmp_path):
    """Tune's report begins with the loop's values (the usual case, whose text is the loop's
    line and Tune's own names): the loop's value still wins over one Tune's line gives again."""
    folder = write_study_folder(tmp_path / "results")
    trial = folder / f"trial_{WINNER}"
    (trial / "result.json").write_bytes(b'{"epoch": 1, "lr": 1.0, "training_iteration": 1, "lr": 1, "pid": 7}\n')
    (trial / "metrics.jsonl").write_bytes(b'{"epoch": 1, "lr": 1.0}\n')
    files = read_trial_files(trial, still_written=False)
    expected = [{"epoch": 1, "lr": 1.0, "training_iteration": 1, "pid": 7}]
    assert _as_read(files.rows) == _as_read(expected) and not files.damage
    assert _as_read(json.loads(files.texts["rows"])) == _as_read(expected)
    assert files.texts["rows"] == '[{"epoch": 1, "lr": 1.0,"training_iteration":1,"pid":7,"training_iteration":1}]'
    (trial / "result.json").write_bytes(b'{"epoch": 1, "lr": 1.0, "training_iteration": 1, "pid": 7}\n')  # as usual
    files = read_trial_files(trial, still_written=False)
    assert files.texts["rows"] == '[{"epoch": 1, "lr": 1.0, "training_iteration": 1, "pid": 7,"training_iteration":1}]'
    assert _as_read(json.loads(files.texts["rows"])) == _as_read(files.rows) == _as_read(expected)


LOOPS_LINE = '{"epoch": 1, "lr": 1.0}'


@pytest.mark.parametrize("report", [
    '{"epoch": 1, "lr": 1.0, "pid": 7}',  # as Tune writes it: the loop's members, then its own
    '{"epoch": 1, "lr": 1.0, "lr": 1, "epoch": 2}',  # names given again: first place, last value
    '{"epoch": 1, "lr": 1.0,}', '{"epoch": 1, "lr": 1.0, }',  # nothing after the loop's members
    '{"epoch": 1, "lr": 1.0, "pid": 7} [1]', '{"epoch": 1, "lr": 1.0, "pid": 7}\r',
    '{"epoch": 1, "lr": 1.0, "pid": {"cpu": [1, 2.5]}}', '{"epoch": 1, "lr": 1.0, "pid": 7',
    '{"epoch": 1, "lr": 1.5, "pid": 7}', ' {"epoch": 1, "lr": 1.0, "pid": 7}',  # not beginning so
])
def test_a_report_beginning_with_the_loops_line_reads_as_json_reads_it(report):
    """Tune's report line is parsed past the loop's members it repeats (_decoded): the same
    object as the whole line parsed, and not JSON exactly when the line is not."""
    def read(decode) -> str:
        try:
            return json.dumps(decode())
        except json.JSONDecodeError:
            return "not JSON"
    assert read(lambda: _decoded(report, (json.loads(LOOPS_LINE), LOOPS_LINE))[0]) == read(lambda: json.loads(report))


def test_a_report_giving_a_loops_name_again_has_that_value_judged(tmp_path, caplog):
    """Only the values a report adds to the loop's line are spared judging again; one it gives
    again under the loop's name is judged, and named first, in the loop's name's place."""
    folder = write_study_folder(tmp_path / "results")
    path = folder / f"trial_{WINNER}" / "result.json"
    lines = path.read_text().splitlines(keepends=True)
    again = ', "time_total_s": "15 s", "search_val_acc": 130.5}\n'  # Tune's own name first, the loop's after
    path.write_text(lines[0] + lines[1].rstrip()[:-1] + again + lines[2])
    files = read_trial_files(path.parent, still_written=False)
    assert [str(d) for d in files.damage] == [
        f"{path}: 1 of 3 lines unreadable (line 2: search_val_acc is 130.5, above 100)"]
