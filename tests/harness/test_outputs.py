"""Nothing a command did not write is replaced, and an unwritable output is one line (harness.outputs)."""

import hashlib
from pathlib import Path

import pytest

from harness.cli import main
from harness.outputs import check_output_files, check_study_outputs
from snas.catalogue import CATALOGUE
from snas.checkpoint import save_checkpoint
from snas.errors import UserInputError

USERS = b"\x89PNG a picture of the user's cat\n"


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def refused(capsys, argv, *fragments):
    """Run ``argv``: exit 2, one error line holding every fragment, nothing on stdout."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("snas-study: error: ") and captured.err.count("\n") == 1, captured.err
    assert all(fragment in captured.err for fragment in fragments), captured.err


@pytest.mark.parametrize("existing", ["cells.png", "cells.svg"])
def test_draw_leaves_a_users_file_and_its_sibling_alone(tmp_path, capsys, existing):
    (tmp_path / existing).write_bytes(USERS)
    refused(capsys, ["draw", "DARTS_V2", "--out", str(tmp_path / "cells.png")],
            f"{tmp_path / existing} exists and was not written by this command", "--overwrite")
    assert [p.name for p in tmp_path.iterdir()] == [existing]  # its sibling was not written either
    assert (tmp_path / existing).read_bytes() == USERS


def test_draw_replaces_its_own_drawing_and_with_overwrite_anything(tmp_path, capsys):
    out = tmp_path / "cells.svg"
    assert main(["draw", "DARTS_V2", "--out", str(out)]) == 0
    first = digest(tmp_path / "cells.png")
    assert main(["draw", "SNAS_mild", "--out", str(out)]) == 0  # our own drawing: replaced
    assert digest(tmp_path / "cells.png") != first
    (tmp_path / "cells.png").write_bytes(USERS)
    assert main(["draw", "SNAS_mild", "--out", str(out)]) == 2
    assert (tmp_path / "cells.png").read_bytes() == USERS
    assert main(["draw", "SNAS_mild", "--out", str(out), "--overwrite"]) == 0
    assert (tmp_path / "cells.png").read_bytes().startswith(b"\x89PNG\r\n")
    capsys.readouterr()


def test_plain_draw_leaves_a_users_file_of_the_default_name_alone(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "DARTS_V2.png").write_bytes(USERS)
    refused(capsys, ["draw", "DARTS_V2"], "DARTS_V2.png exists and was not written by this command")
    assert (tmp_path / "DARTS_V2.png").read_bytes() == USERS and not (tmp_path / "DARTS_V2.svg").exists()


def retrain_checkpoint(path):
    genotype = CATALOGUE["DARTS_V2"].genotype.to_dict()
    return save_checkpoint(path, "retrain", {"config": {"epochs": 3, "genotype": genotype}, "epoch": 1,
                                             "genotype": genotype, "state": {"history": []}})


def test_inspect_draw_leaves_a_users_file_alone_and_replaces_its_own(tmp_path, capsys):
    checkpoint = retrain_checkpoint(tmp_path / "checkpoint.pt")
    (tmp_path / "checkpoint_cells.svg").write_bytes(USERS)
    refused(capsys, ["inspect", str(checkpoint), "--draw"], f"{tmp_path / 'checkpoint_cells.svg'} exists")
    assert (tmp_path / "checkpoint_cells.svg").read_bytes() == USERS
    assert not (tmp_path / "checkpoint_cells.png").exists()

    (tmp_path / "checkpoint_cells.svg").unlink()
    assert main(["inspect", str(checkpoint), "--draw"]) == 0
    assert main(["inspect", str(checkpoint), "--draw"]) == 0  # its own drawings: replaced
    assert f"drew {tmp_path / 'checkpoint_cells.svg'}" in capsys.readouterr().out

    (tmp_path / "mine.png").write_bytes(USERS)
    refused(capsys, ["inspect", str(checkpoint), "--draw", "--out", str(tmp_path / "mine.png")],
            f"{tmp_path / 'mine.png'} exists")
    assert main(["inspect", str(checkpoint), "--draw", "--out", str(tmp_path / "mine.png"), "--overwrite"]) == 0
    assert (tmp_path / "mine.png").read_bytes() != USERS
    capsys.readouterr()
    refused(capsys, ["inspect", str(checkpoint), "--out", str(tmp_path / "x.png")], "add --draw")


@pytest.mark.parametrize("argv, fragment", [
    (["draw", "DARTS_V2", "--out", "/proc/x.png"], "--out /proc/x.png: cannot write in /proc"),
    (["draw", "DARTS_V2", "--out", "/proc/new/x.png"], "--out /proc/new/x.png: cannot write in /proc"),
    (["inspect", "{checkpoint}", "--draw", "--out", "/proc/x.svg"], "--out /proc/x.svg: cannot write in /proc"),
    (["search", "--dataset", "digits", "--epochs", "1", "--out", "/proc/run"], "--out /proc/run: cannot write"),
    (["train", "DARTS_V2", "--dataset", "digits", "--epochs", "1", "--out", "/proc/run"],
     "--out /proc/run: cannot write in /proc"),
    (["train", "--resume", "/proc/self"], "--resume /proc/self: cannot write in /proc/self"),
    (["report", "{study}", "--out", "/proc/report.html"], "--out /proc/report.html: cannot write in /proc"),
])
def test_an_unwritable_output_is_one_line_before_any_work(tmp_path, capsys, argv, fragment):
    checkpoint = retrain_checkpoint(tmp_path / "checkpoint.pt")
    before = digest(checkpoint)
    argv = [a.format(checkpoint=checkpoint, study=tmp_path) for a in argv]
    refused(capsys, argv, fragment)
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"] and digest(checkpoint) == before


def test_a_study_storage_that_cannot_be_written_is_refused_before_ray(tmp_path, capsys):
    from study_helpers import tiny_study, write_study

    study = write_study(tmp_path / "s.yaml", tiny_study("unwritable", "/proc"))
    refused(capsys, ["run", str(study)], "storage.path: cannot use /proc for results: cannot write in /proc")


def test_existing_outputs_are_checked_before_any_is_written(tmp_path):
    mine, theirs = tmp_path / "a.png", tmp_path / "b.png"
    theirs.write_bytes(USERS)
    with pytest.raises(UserInputError, match="b.png exists"):
        check_output_files([mine, theirs], overwrite=False, ours=lambda path: False)
    check_output_files([mine, theirs], overwrite=True)
    check_output_files([theirs], overwrite=False, ours=lambda path: path == theirs)
    with pytest.raises(UserInputError, match=f"--out {tmp_path} is a folder"):
        check_output_files([tmp_path], overwrite=True)
    with pytest.raises(UserInputError, match=f"{theirs} is a file, so no folder can be made there"):
        check_output_files([theirs / "c.png"], overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.png"]  # the probe left nothing behind


def test_the_analysis_folders_of_a_study_must_be_folders_and_writable(tmp_path):
    check_study_outputs(tmp_path, ("analysis", "plots"))  # absent: they will be made
    (tmp_path / "plots").write_text("not a folder\n")
    with pytest.raises(UserInputError, match=f"the analysis of {tmp_path}: {tmp_path / 'plots'} is a file"):
        check_study_outputs(tmp_path, ("analysis", "plots"))
    with pytest.raises(UserInputError, match="the analysis of /proc: cannot write in /proc"):
        check_study_outputs(Path("/proc"), ("analysis", "plots"))
    (tmp_path / "plots").unlink()
    (tmp_path / "plots").symlink_to(tmp_path / "elsewhere")  # replaced whole, so never followed: refused
    with pytest.raises(UserInputError, match=f"{tmp_path / 'plots'} is a symbolic link; the analysis replaces its "
                                             f"own folder whole and follows no link: remove the link"):
        check_study_outputs(tmp_path, ("analysis", "plots"))
    (tmp_path / "report.html").mkdir()
    with pytest.raises(UserInputError, match="report.html is a folder, not the file the analysis writes"):
        check_study_outputs(tmp_path, ("analysis",), ("report.html",))
