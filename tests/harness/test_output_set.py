"""An analysis replaces its outputs as a set: all of them or none, whatever fails half-way,
and what it does not write in its folders outlives it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from study_folders import write_study_folder

from harness.analysis import output_set
from harness.analysis import summary as analysis
from harness.analysis.output_set import OUTPUTS, settle
from harness.analysis.plots import PLOTS
from harness.analysis.report import render_report
from harness.analysis.summary import write_analysis


def _outputs(folder: Path) -> dict[str, bytes]:
    """Every file of the analysis's outputs, by path in the study folder."""
    paths = [folder / name for name in OUTPUTS] + [p for name in OUTPUTS for p in (folder / name).rglob("*")]
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(paths) if p.is_file()}


def _staging(folder: Path) -> list[Path]:
    return list(folder.glob(".analysis-staging-*"))


def _fail(error: BaseException):
    def fail(*args, **kwargs):
        raise error
    return fail


def _third_table_fails(monkeypatch) -> None:
    written = []
    write_table = analysis._write_table

    def write(table, stem):
        written.append(stem)
        if len(written) == 3:
            raise OSError(28, "No space left on device")
        write_table(table, stem)
    monkeypatch.setattr(analysis, "_write_table", write)


FAILURES = {
    "the last plot": lambda monkeypatch: monkeypatch.setitem(PLOTS, "best_cells", _fail(RuntimeError("no plot"))),
    "Ctrl-C in a plot": lambda monkeypatch: monkeypatch.setitem(PLOTS, "trajectories", _fail(KeyboardInterrupt())),
    "a table, the disk full": _third_table_fails,
    "the report page": lambda monkeypatch: monkeypatch.setattr("harness.analysis.report._plots_section",
                                                               _fail(RuntimeError("no page"))),
}


@pytest.mark.parametrize("failure", FAILURES.values(), ids=FAILURES.keys())
def test_an_analysis_that_fails_half_way_leaves_the_previous_one_byte_for_byte(tmp_path, monkeypatch, failure):
    folder = write_study_folder(tmp_path)
    write_analysis(folder, metric="child_val_acc", page=render_report)
    before = _outputs(folder)
    assert {"analysis/trials.csv", "analysis/best.json", "plots/curves_child_val_acc.png", "report.html"} <= set(before)
    failure(monkeypatch)
    with pytest.raises((RuntimeError, OSError, KeyboardInterrupt)):
        write_analysis(folder, metric="search_val_acc", page=render_report)  # every table and plot would change
    assert _outputs(folder) == before
    assert not _staging(folder)


def test_the_files_the_analysis_does_not_write_outlive_it(tmp_path):
    folder = write_study_folder(tmp_path)
    write_analysis(folder, metric="child_val_acc")
    users = {"analysis/notes.md": b"why seed 1 is odd\n", "analysis/mine/fit.csv": b"a,b\n1,2\n",
             "plots/sketch.pdf": b"%PDF a user's sketch, no PNG beside it\n"}
    for name, data in users.items():
        (folder / name).parent.mkdir(exist_ok=True)
        (folder / name).write_bytes(data)
    (folder / "analysis" / "paired.csv").write_text("a table this analysis does not write\n")
    (folder / "analysis" / "link").symlink_to(tmp_path / "nowhere")
    write_analysis(folder, metric="search_val_acc")
    after = _outputs(folder)
    assert {name: after.get(name) for name in users} == users
    assert os.readlink(folder / "analysis" / "link") == str(tmp_path / "nowhere")  # kept as a link, not followed
    assert "analysis/paired.csv" not in after  # the analysis's own name: an earlier one's table
    assert not [name for name in after if "child_val_acc" in name]  # the earlier metric's plots
    assert "plots/curves_search_val_acc.pdf" in after


def test_a_crash_between_the_swaps_is_finished_by_the_next_analysis(tmp_path, monkeypatch):
    folder = write_study_folder(tmp_path)
    write_analysis(folder, metric="child_val_acc")
    rename, renamed = os.rename, []

    def power_cut_after_analysis_is_swapped(source, target):
        if len(renamed) == 2:  # analysis/ out, the new one in; plots/ not yet
            raise KeyboardInterrupt
        renamed.append(Path(target).name)
        rename(source, target)
    with monkeypatch.context() as patched:
        patched.setattr(output_set.os, "rename", power_cut_after_analysis_is_swapped)
        with pytest.raises(KeyboardInterrupt):
            write_analysis(folder, metric="search_val_acc")
    assert renamed == ["analysis", "analysis"]
    assert '"metric": "search_val_acc"' in (folder / "analysis" / "best.json").read_text()
    assert (folder / "plots" / "curves_child_val_acc.png").is_file()  # the mix a crash there leaves
    assert len(_staging(folder)) == 1
    settle(folder)  # what the next analysis does first
    assert (folder / "plots" / "curves_search_val_acc.png").is_file()
    assert not (folder / "plots" / "curves_child_val_acc.png").exists()
    assert not _staging(folder)


def test_what_a_crash_before_the_swaps_left_is_removed_and_no_link_is_followed(tmp_path):
    folder = write_study_folder(tmp_path)
    write_analysis(folder)
    before = _outputs(folder)
    unfinished = folder / ".analysis-staging-killed" / "new" / "analysis"
    unfinished.mkdir(parents=True)
    (unfinished / "trials.csv").write_text("half of a new analysis\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("not the study's\n")
    (folder / ".analysis-staging-linked").symlink_to(outside)
    crafted = folder / ".analysis-staging-crafted"
    (crafted / "new" / "outside").mkdir(parents=True)
    (crafted / "committed").write_text("../outside\noutside\n")  # names no output of the analysis
    settle(folder)
    assert not _staging(folder)
    assert (outside / "keep.txt").read_text() == "not the study's\n"
    assert _outputs(folder) == before
