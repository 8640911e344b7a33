"""A study refuses to start on a disk too full for it, in one line and before Ray starts
or anything is written; Ray's own guard (a fraction of the disk, logged every 10 s onto
the console) is off on the local instances the harness starts."""

from __future__ import annotations

import shutil
from collections import namedtuple

import pytest
import ray
import yaml
from study_helpers import tiny_study

from harness import studyrun
from harness.cli import main
from harness.cluster import MIN_FREE_GIB, RAY_DISK_GUARD, check_free_space, local_ray_options
from harness.study import validate_study
from snas.errors import UserInputError

Usage = namedtuple("Usage", "total used free")


def _disk_with(monkeypatch, free_gib: float) -> list[str]:
    """Every disk reports ``free_gib`` free; returns the paths asked about."""
    asked: list[str] = []

    def usage(path):
        asked.append(str(path))
        return Usage(500 * 2**30, 0, int(free_gib * 2**30))

    monkeypatch.setattr(shutil, "disk_usage", usage)
    return asked


def test_enough_room_passes_and_a_missing_folder_is_measured_on_its_nearest_parent(tmp_path, monkeypatch):
    asked = _disk_with(monkeypatch, MIN_FREE_GIB + 0.01)
    check_free_space(str(tmp_path / "not" / "yet"), "the study's results folder", "or elsewhere")
    assert asked == [str(tmp_path)]


def test_too_little_room_is_one_line_naming_the_folder_the_room_and_the_remedy(tmp_path, monkeypatch):
    _disk_with(monkeypatch, 0.25)
    with pytest.raises(UserInputError) as err:
        check_free_space(str(tmp_path), "Ray's session folder", "or point SNAS_STUDY_RAY_TMPDIR elsewhere")
    assert str(err.value) == (f"only 0.25 GiB free on the disk of {tmp_path} (Ray's session folder); a study needs "
                              f"at least 1 GiB there: free some space, or point SNAS_STUDY_RAY_TMPDIR elsewhere")


def test_a_local_instance_leaves_the_disk_guard_to_the_harness():
    for state_api in (False, True):
        assert local_ray_options(state_api)["_system_config"] == {RAY_DISK_GUARD: 1.0}


@pytest.mark.parametrize("verb", ["run", "resume"])
def test_run_and_resume_on_a_full_disk_exit_2_before_ray_starts_and_write_no_file(tmp_path, monkeypatch, capsys,
                                                                                    verb):
    study = tiny_study("s", tmp_path / "results")
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(study))
    if verb == "resume":  # a study folder; whether Tune could restore it is checked elsewhere
        (tmp_path / "results" / "s").mkdir(parents=True)
        frozen = validate_study(study).resolved()
        (tmp_path / "results" / "s" / "study.yaml").write_text(yaml.safe_dump(frozen.model_dump(mode="json",
                                                                                            by_alias=True)))
        monkeypatch.setattr(studyrun, "check_resumable", lambda *a: None)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    _disk_with(monkeypatch, 0.5)
    monkeypatch.setattr(ray, "init", lambda *a, **k: pytest.fail("Ray started"))
    argv = ["run", str(tmp_path / "study.yaml")] if verb == "run" else ["resume", str(tmp_path / "results" / "s")]
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("snas-study: error: only 0.50 GiB free on the disk of ") and err.count("\n") == 1
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()) == before
