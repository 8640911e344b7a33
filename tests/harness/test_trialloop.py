"""harness.trialloop: its compile-cache rule, the same for a trial's process and each of a
data-parallel trial's workers; a replayed schedule's changes taken at their epochs."""

from __future__ import annotations

import os
import shutil
from types import SimpleNamespace

import pyarrow.fs
import pytest
from study_helpers import tiny_study

from harness.study import validate_study
from harness.trialconfig import TrialSpec
from harness.trialloop import TrialFolder, drive, skip_written_checkpoint_folders, start, use_compile_cache
from snas.compilation import CACHE_ENV
from snas.search import Search


def _loop(compile_mode: str) -> SimpleNamespace:
    return SimpleNamespace(config=SimpleNamespace(compile=compile_mode))


@pytest.fixture
def no_cache_env(monkeypatch):
    """Inductor's cache variable unset, and after the test restored as it was (setenv first
    records the original: a bare delenv of an unset variable records nothing, and what
    use_compile_cache sets would outlive the test)."""
    monkeypatch.setenv(CACHE_ENV, "recorded")
    monkeypatch.delenv(CACHE_ENV)


@pytest.mark.parametrize("mode", ["default", "reduce-overhead", "max-autotune"])
def test_a_compiled_loop_keeps_its_graphs_in_the_study_folder(tmp_path, no_cache_env, mode):
    folder = tmp_path / "study" / "compile_cache"
    use_compile_cache(_loop(mode), str(folder))
    assert os.environ[CACHE_ENV] == str(folder) and folder.is_dir()


def test_an_eager_loop_leaves_inductor_alone(tmp_path, no_cache_env):
    use_compile_cache(_loop("off"), str(tmp_path / "compile_cache"))
    assert CACHE_ENV not in os.environ and not (tmp_path / "compile_cache").exists()


def test_cloud_storage_keeps_inductors_node_local_cache(no_cache_env):
    use_compile_cache(_loop("default"), None)
    assert CACHE_ENV not in os.environ


def test_a_replayed_schedule_changes_the_settings_at_its_epochs_also_after_a_restart(tmp_path):
    """A replay's change (τ0 1 -> 3 after epoch 1) rescales τ from epoch 2 on, by hand
    τ = 1, 3r, 3r²; a trial restarted from its epoch-1 checkpoint takes it again, once."""
    rate = 0.5
    study = validate_study(tiny_study(
        "replay", tmp_path / "results", search={"temperature": {"schedule": "exponential", "initial": 1.0,
                                                                "anneal_rate": rate, "min": 0.01}},
        space={"search.seed": {"grid": [0]}},
        scheduler={"name": "replay", "schedule": [{"epoch": 1, "settings": {"search.temperature.initial": 3.0}}]}))
    spec = TrialSpec.of(study)
    assert spec.scheduled == ((1, {"temperature.initial": 3.0}),)

    def run(folder, restored):
        reported = []

        def report(metrics, checkpoint):
            reported.append(metrics["temperature"])
            if checkpoint and metrics["epoch"] == 1:
                shutil.copytree(checkpoint, tmp_path / "epoch1", dirs_exist_ok=True)

        trial = TrialFolder(pyarrow.fs.LocalFileSystem(), str(tmp_path / folder))
        loop = start(spec, {"search.seed": 0}, restored, trial)
        drive(loop, spec, trial, report)
        return reported, loop

    first, loop = run("first", lambda cls, config: None)
    assert first == pytest.approx([1.0, 3.0 * rate, 3.0 * rate**2])
    assert loop.changes == [{"epoch": 1, "settings": {"temperature.initial": [1.0, 3.0]}}]
    again, restarted = run("again", lambda cls, config: Search.restore(tmp_path / "epoch1" / "checkpoint.pt",
                                                                       config=config))
    assert again == first[1:] and restarted.changes == loop.changes


@pytest.mark.parametrize(("index", "written", "after"), [
    (1, [0, 1, 2, 3], 3),   # restarted from checkpoint 1: 2 and 3 may be in use (a PBT copy), skipped
    (4, [0, 1, 2, 3], 4),   # Tune's count already past every folder: kept
    (-1, [], -1),           # a trial's first checkpoint: checkpoint_000000
])
def test_a_restarted_trial_saves_its_next_checkpoint_in_a_new_folder(tmp_path, index, written, after):
    """Tune persists the next checkpoint in ``checkpoint_<index + 1>``."""
    for i in written:
        (tmp_path / f"checkpoint_{i:06d}").mkdir()
    (tmp_path / "checkpoint_notes.txt").write_text("a file whose name is no checkpoint's")
    storage = SimpleNamespace(storage_filesystem=pyarrow.fs.LocalFileSystem(), trial_fs_path=str(tmp_path),
                              current_checkpoint_index=index)
    skip_written_checkpoint_folders(storage)
    assert storage.current_checkpoint_index == after
    assert not (tmp_path / f"checkpoint_{after + 1:06d}").exists()


def test_a_trial_folder_not_made_yet_has_no_checkpoint_to_skip(tmp_path):
    storage = SimpleNamespace(storage_filesystem=pyarrow.fs.LocalFileSystem(),
                              trial_fs_path=str(tmp_path / "trial_0"), current_checkpoint_index=-1)
    skip_written_checkpoint_folders(storage)
    assert storage.current_checkpoint_index == -1
