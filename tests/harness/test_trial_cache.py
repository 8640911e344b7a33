"""The analysis cache (harness.analysis.trial_cache): what it gives back is what reading the
folder gives, it reads again exactly what changed, and a cache it cannot use is no error.

Reading is counted through the two readers the cache stands in for: ``read_trial_files``
(one call per trial folder read) and ``read_tune_state`` (one per experiment state parsed).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from study_folders import SESSION, TRIALS, TrialSpec, trial_id, write_study_folder

from harness.analysis import results as results_module
from harness.analysis import trial_cache
from harness.analysis.results import load_results

WINNER, RUNNER_UP, STOPPED = trial_id(0), trial_id(1), trial_id(2)


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("SNAS_STUDY_CACHE", str(folder))
    return folder


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The trial folders (by name) and state files read from disk, in order."""
    seen: list[str] = []

    def trial_files(folder, still_written):
        seen.append(folder.name)
        return real_trial_files(folder, still_written)

    def tune_state(path):
        seen.append(path.name)
        return real_tune_state(path)

    real_trial_files, real_tune_state = results_module.read_trial_files, results_module.read_tune_state
    monkeypatch.setattr(results_module, "read_trial_files", trial_files)
    monkeypatch.setattr(results_module, "read_tune_state", tune_state)
    return seen


STATE = f"experiment_state-{SESSION}.json"
EVERY_TRIAL = [f"trial_{WINNER}", f"trial_{RUNNER_UP}", f"trial_{STOPPED}"]


def _uncached(folder: Path, monkeypatch) -> list:
    """The trials as read with no cache at all (its folder a file: nothing read or written)."""
    with monkeypatch.context() as patch:
        blocker = folder.parent / "not-a-cache-folder"
        blocker.write_text("")
        patch.setenv("SNAS_STUDY_CACHE", str(blocker))
        return load_results(folder).trials


def _with_damage(tmp_path: Path) -> Path:
    """A study whose runner-up's curve is garbled at epoch 2 in both of its files (so it is
    not trusted), and whose winner has the config.json trials of this version write."""
    folder = write_study_folder(tmp_path / "results")
    for name in ("result.json", "metrics.jsonl"):
        path = folder / f"trial_{RUNNER_UP}" / name
        lines = path.read_text().splitlines(keepends=True)
        path.write_text(lines[0] + "garbled\n" + lines[2])
    config = {"kind": "search", "config": {"epochs": 3, "method": "snas"}, "changes": [],
              "lineage": [{"epoch": 2, "donor": STOPPED}], "exploits": []}
    (folder / f"trial_{WINNER}" / "config.json").write_text(json.dumps(config))
    return folder


def test_a_cached_read_equals_a_read_of_the_files_and_reads_nothing(tmp_path, cache, reads, monkeypatch):
    folder = _with_damage(tmp_path)
    first = load_results(folder).trials
    assert reads == [STATE, *EVERY_TRIAL]
    assert list(cache.glob("trials-*.json")) and not list(folder.rglob("trials-*.json"))
    reads.clear()
    again = load_results(folder).trials
    assert reads == []
    uncached = _uncached(folder, monkeypatch)
    assert again == first == uncached
    runner_up = next(t for t in again if t.trial_id == RUNNER_UP)
    assert [d.path.name for d in runner_up.damage] == ["result.json", "metrics.jsonl"] and not runner_up.ranked
    assert [row["training_iteration"] for row in runner_up.rows] == [1, 3]
    winner = next(t for t in again if t.trial_id == WINNER)
    assert winner.resolved is not None and winner.resolved.lineage == [{"epoch": 2, "donor": STOPPED}]
    assert winner.checkpoint == str(folder / f"trial_{WINNER}" / "checkpoint_000002" / "checkpoint.pt")


def test_a_first_read_keys_its_entries_by_what_it_found_and_examines_no_folder_twice(tmp_path, cache, reads,
                                                                                   monkeypatch):
    """A trial never read is keyed by the lstat of each file its read opened and the checkpoint
    folders it listed: what the next analysis finds of the unchanged folder."""
    folder = _with_damage(tmp_path)
    examined: list[str] = []
    real = trial_cache.signature
    monkeypatch.setattr(trial_cache, "signature", lambda trial, written: examined.append(trial.name) or real(trial,
                                                                                                             written))
    load_results(folder)
    assert examined == []
    reads.clear()
    load_results(folder)
    assert examined == EVERY_TRIAL and reads == []


def test_a_trial_listed_before_its_folder_exists_has_no_files_and_is_read_until_it_does(tmp_path, cache, reads):
    folder = write_study_folder(tmp_path / "results")
    shutil.rmtree(folder / f"trial_{STOPPED}")  # Tune lists a trial before it starts writing
    stopped = next(t for t in load_results(folder).trials if t.trial_id == STOPPED)
    assert (stopped.rows, stopped.damage, stopped.checkpoint) == ([], [], None)
    reads.clear()
    load_results(folder)
    assert reads == [f"trial_{STOPPED}"]


def test_a_changed_trial_is_read_again_and_only_it(tmp_path, cache, reads):
    folder = write_study_folder(tmp_path / "results")
    load_results(folder)
    reads.clear()
    metrics = folder / f"trial_{STOPPED}" / "metrics.jsonl"
    same_size = metrics.read_text().replace('"search_val_acc": 30.0', '"search_val_acc": 31.0')
    before = metrics.stat()
    metrics.write_text(same_size)  # same size: only the modification time tells
    os.utime(metrics, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
    trials = {t.trial_id: t for t in load_results(folder).trials}
    assert reads == [f"trial_{STOPPED}"]
    assert trials[STOPPED].rows[0]["search_val_acc"] == 31.0


def test_a_grown_study_reads_only_its_new_trials(tmp_path, cache, reads):
    folder = write_study_folder(tmp_path / "results", trials=TRIALS[:2])
    load_results(folder)
    reads.clear()
    grown = write_study_folder(tmp_path / "grown", trials=TRIALS)
    (folder / STATE).write_bytes((grown / STATE).read_bytes())
    os.rename(grown / f"trial_{STOPPED}", folder / f"trial_{STOPPED}")
    trials = load_results(folder).trials
    assert reads == [STATE, f"trial_{STOPPED}"]
    assert [t.trial_id for t in trials] == [WINNER, RUNNER_UP, STOPPED]


def test_a_trial_that_ends_is_read_again(tmp_path, cache, reads):
    """What a running trial's folder holds is judged knowing it may be mid-write: once the
    trial has ended, its folder is judged again."""
    folder = write_study_folder(tmp_path / "results", trials=(TrialSpec(0, (41.5, 70.25), state="RUNNING"),))
    load_results(folder)
    reads.clear()
    state = json.loads((folder / STATE).read_text())
    state["trial_data"][0][0] = json.dumps({**json.loads(state["trial_data"][0][0]), "status": "TERMINATED"})
    (folder / STATE).write_text(json.dumps(state))
    assert load_results(folder).trials[0].state == "TERMINATED"
    assert reads == [STATE, f"trial_{WINNER}"]


CACHES = {
    "not JSON": b'{"version": 2, "trials": {"trial_',
    "not UTF-8": b"\xff\xfe\x00",
    "a list": b"[]",
    "nested deeper than JSON is read": b"[" * 100_000 + b"]" * 100_000,
    "an older version": None,  # the first read's cache, its version set back
    "entries of another shape": None,  # the first read's cache, every entry's files replaced
    "settings no trial writes": None,  # the first read's cache, every entry's config.json of another kind
}


@pytest.mark.parametrize("kind", CACHES)
def test_a_damaged_or_older_cache_is_no_error_and_replaced(tmp_path, cache, reads, monkeypatch, kind):
    folder = _with_damage(tmp_path)
    first = load_results(folder).trials
    (path,) = cache.glob("trials-*.json")
    stored = json.loads(path.read_text())
    if kind == "an older version":
        path.write_text(json.dumps({**stored, "version": trial_cache.VERSION - 1}))
    elif kind == "entries of another shape":
        trials = {name: {**entry, "files": {"rows": 5}} for name, entry in stored["trials"].items()}
        path.write_text(json.dumps({**stored, "trials": trials, "state": {**stored["state"], "trials": [[1]]}}))
    elif kind == "settings no trial writes":
        trials = {name: {**entry, "files": {**entry["files"], "resolved": {"kind": "bogus", "config": {}}}}
                  for name, entry in stored["trials"].items()}
        path.write_text(json.dumps({**stored, "trials": trials, "state": {**stored["state"], "trials": [[1]]}}))
    else:
        path.write_bytes(CACHES[kind])
    reads.clear()
    assert load_results(folder).trials == first
    assert reads == [STATE, *EVERY_TRIAL]
    reads.clear()
    assert load_results(folder).trials == first  # the cache written again, whole
    assert reads == []


def test_an_unwritable_cache_folder_is_no_error(tmp_path, reads, monkeypatch):
    folder = write_study_folder(tmp_path / "results")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("SNAS_STUDY_CACHE", str(blocker))
    for _ in range(2):
        assert [t.trial_id for t in load_results(folder).trials] == [WINNER, RUNNER_UP, STOPPED]
    assert reads == [STATE, *EVERY_TRIAL] * 2


def test_a_remembered_state_naming_a_folder_outside_is_not_followed(tmp_path, cache, reads):
    folder = write_study_folder(tmp_path / "results")
    first = load_results(folder).trials
    (path,) = cache.glob("trials-*.json")
    stored = json.loads(path.read_text())
    stored["state"]["trials"][0][2] = "../elsewhere"
    path.write_text(json.dumps(stored))
    reads.clear()
    assert load_results(folder).trials == first
    assert reads == [STATE]  # the state parsed afresh; the trial folders' entries still fit


def test_a_trial_changed_while_read_is_read_again(tmp_path, cache, reads, monkeypatch):
    """An entry is keyed by its folder as it was before the read: a file written meanwhile
    (a running trial's next epoch) no longer fits it, so the next analysis reads it again."""
    folder = write_study_folder(tmp_path / "results")
    metrics = folder / f"trial_{RUNNER_UP}" / "metrics.jsonl"
    first_line = metrics.read_text().splitlines()[0]
    real = results_module.read_trial_files

    def read_then_written(trial_folder, still_written):
        files = real(trial_folder, still_written)
        if trial_folder.name == f"trial_{RUNNER_UP}":
            metrics.write_text(first_line + "\n")  # rewritten after the read, within a timestamp tick or not
            os.utime(metrics, ns=(0, metrics.stat().st_mtime_ns + 1_000_000))
        return files

    with monkeypatch.context() as patch:
        patch.setattr(results_module, "read_trial_files", read_then_written)
        assert len(next(t for t in load_results(folder).trials if t.trial_id == RUNNER_UP).rows) == 3
    reads.clear()
    trials = {t.trial_id: t for t in load_results(folder).trials}
    assert reads == [f"trial_{RUNNER_UP}"]
    assert [row["epoch"] for row in trials[RUNNER_UP].rows] == [1]
