"""The fault campaign: each fault injected into a real study, each outcome compared with one
uninterrupted run of the same seeds.

Faults: the driver SIGKILLed mid-study, then ``resume``; Ctrl-C (SIGINT) with trials in
flight, exit 130, then ``resume``; a trial's worker SIGKILLed (restored from its
checkpoint); a recorded checkpoint corrupted, then restored from (that trial ends ERROR
naming the file, the others finish).  The drivers run as ``python -m harness.cli``
subprocesses with their own Ray, as a user's would.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from study_helpers import FAULT_DATA, tiny_study, write_study
from tensorboard_events import read_runs

from harness.cli import main
from harness.study import validate_study
from harness.tuner import trial_plan

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "harness.cli"]
EPOCHS = 4
SEEDS = [0, 1, 2]
TIMING = ("epoch_time_s", "images_per_s")  # wall-clock figures: the only metrics a rerun may change


def fault_study(name: str, root: Path, seeds: list[int], **changes: Any) -> dict[str, Any]:
    """The campaign's study: every fault test runs these settings, on some of ``SEEDS``."""
    return tiny_study(name, root, search={"epochs": EPOCHS}, space={"search.seed": {"grid": seeds}}, data=FAULT_DATA,
                      **{"resources": {"cpu": 1}, **changes})


def seed_of(trial_dir: Path) -> int:
    return json.loads((trial_dir / "params.json").read_text())["search.seed"]


def curves(folder: Path) -> dict[int, list[dict[str, Any]]]:
    """Each trial's per-epoch metrics by seed, wall-clock figures left out."""
    found = {}
    for trial_dir in folder.glob("trial_*"):
        rows = [json.loads(line) for line in (trial_dir / "metrics.jsonl").read_text().splitlines()]
        found[seed_of(trial_dir)] = [{k: v for k, v in row.items() if k not in TIMING} for row in rows]
    return found


def genotypes(folder: Path) -> dict[int, str]:
    return {seed_of(t): (t / "genotype.json").read_text() for t in folder.glob("trial_*")}


def reported(trial_dir: Path) -> list[dict[str, Any]]:
    """Tune's reports of a trial (``result.json``), one per epoch it ran."""
    path = trial_dir / "result.json"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def epochs(trial_dir: Path) -> list[int]:
    return [row["epoch"] for row in reported(trial_dir)]


def checksums(trial_dir: Path) -> dict[str, str]:
    return {str(p.relative_to(trial_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(trial_dir.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def reference(ray_local, tmp_path_factory) -> Path:
    """The uninterrupted run every fault is compared with."""
    root = tmp_path_factory.mktemp("reference")
    study = write_study(root / "s.yaml", fault_study("reference", root / "results", SEEDS))
    assert main(["run", str(study), "--quiet"]) == 0
    folder = root / "results" / "reference"
    assert sorted(curves(folder)) == SEEDS and all(len(c) == EPOCHS for c in curves(folder).values())
    return folder


def _stat(pid: int | str) -> list[str]:
    """The fields of /proc/PID/stat after the command name (the 4th field is the parent)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def descendants(pid: int) -> dict[int, str]:
    """Every process below ``pid``, with its start time (read from /proc: Ray's helpers are
    children of the driver).  The start time tells a helper from a later process that got
    its number."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                children.setdefault(int(_stat(entry.name)[1]), []).append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                with contextlib.suppress(OSError, IndexError):
                    found[child] = _stat(child)[19]
                    todo.append(child)
    return found


def kill_if_still(pid: int, started: str) -> None:
    with contextlib.suppress(OSError, IndexError):
        if _stat(pid)[19] == started:
            os.kill(pid, signal.SIGKILL)


def wait_until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the study did not reach the expected point in time")
        time.sleep(0.2)


class Driver:
    """``snas-study <verb> ...`` as a subprocess with its own local Ray in ``ray_dir``."""

    def __init__(self, ray_dir: str, *args: str) -> None:
        repo = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "RAY_AUTH_MODE": "disabled", "SNAS_STUDY_RAY_TMPDIR": ray_dir,
               "PYTHONPATH": repo + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.process = subprocess.Popen([*CLI, *args, "--quiet"], env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
        self.helpers: dict[int, str] = {}

    def watch(self, condition: Callable[[], bool], timeout: float = 240) -> None:
        """Wait for ``condition``, noting the driver's Ray processes meanwhile (a killed
        driver leaves them behind, and they are no longer its descendants then)."""
        def noting() -> bool:
            self.helpers.update(descendants(self.process.pid))
            return condition()

        wait_until(noting, timeout)

    def ended(self, timeout: float = 400) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out, err

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        time.sleep(2)
        for pid, started in {**self.helpers, **descendants(self.process.pid)}.items():
            kill_if_still(pid, started)


@contextlib.contextmanager
def driving(*args: str) -> Iterator[Callable[..., Driver]]:
    """Start drivers (one after the other) sharing one Ray temp folder; clean up after them."""
    drivers: list[Driver] = []
    with tempfile.TemporaryDirectory(prefix="r", dir="/tmp") as ray_dir:
        def start(*args: str) -> Driver:
            drivers.append(Driver(ray_dir, *args))
            return drivers[-1]

        try:
            yield start
        finally:
            for driver in drivers:
                driver.stop()


class WorkerStopper:
    """A watch condition that stops (SIGSTOP) each trial's worker as soon as the trial has
    reported a checkpointed epoch, true once ``trials`` workers are stopped: the moment the
    faults are injected at, with every trial mid-study.

    Waiting instead for a moment when every trial ran mid-study raced the trials on a fast
    machine (an epoch well under a second, the second trial's worker starting later): one
    could finish its last epoch before the signals landed, or the moment never came.
    """

    def __init__(self, folder: Path, trials: int) -> None:
        self.folder, self.trials = folder, trials
        self.stopped: dict[Path, int] = {}  # trial folder: its worker's pid

    def __call__(self) -> bool:
        for trial in self.folder.glob("trial_*"):
            if (trial not in self.stopped and (trial / "params.json").is_file() and reported(trial)
                    and list(trial.glob("checkpoint_*/checkpoint.pt"))):
                self.stopped[trial] = reported(trial)[-1]["pid"]
                try:
                    os.kill(self.stopped[trial], signal.SIGSTOP)
                except ProcessLookupError:
                    pytest.fail(f"{trial.name}'s worker ended before it could be stopped mid-study")
        return len(self.stopped) == self.trials

    def check_mid_study(self) -> None:
        """Let results sent before the stops reach ``result.json``; every trial is short of its end."""
        time.sleep(1)
        assert all(len(epochs(trial)) < EPOCHS for trial in self.stopped), "a trial finished before it was stopped"

    def send(self, sig: signal.Signals) -> None:
        for pid in self.stopped.values():
            os.kill(pid, sig)


def test_ctrl_c_with_trials_in_flight_exits_130_and_resume_finishes_identically(tmp_path, reference):
    seeds = SEEDS[:2]
    path = write_study(tmp_path / "s.yaml", fault_study("ctrl_c", tmp_path / "results", seeds))
    folder = tmp_path / "results" / "ctrl_c"
    with driving() as start:
        run = start("run", str(path))

        workers = WorkerStopper(folder, 2)
        run.watch(workers)
        workers.check_mid_study()
        workers.send(signal.SIGCONT)  # each trains the epoch after its first again, while Ctrl-C lands
        run.process.send_signal(signal.SIGINT)
        code, out, err = run.ended()
        assert code == 130, out + err
        assert f"continue it with: snas-study resume {folder}" in err
        assert any(len(epochs(t)) < EPOCHS for t in folder.glob("trial_*"))  # really cut short

        code, out, err = start("resume", str(folder)).ended()
        assert code == 0, out + err
    assert curves(folder) == {seed: curves(reference)[seed] for seed in seeds}
    assert genotypes(folder) == {seed: genotypes(reference)[seed] for seed in seeds}
    for trial_dir in folder.glob("trial_*"):
        assert epochs(trial_dir).count(1) == 1  # continued from its checkpoint, not from scratch


def test_killed_driver_then_resume_redoes_nothing_and_finishes_identically(tmp_path, reference):
    study = fault_study("killed", tmp_path / "results", SEEDS, resources={"cpu": 1, "max_concurrent": 1})
    path = write_study(tmp_path / "s.yaml", study)
    folder = tmp_path / "results" / "killed"
    with driving() as start:
        run = start("run", str(path))

        def first_done_second_checkpointed() -> bool:
            trials = sorted(folder.glob("trial_*"))
            return (len(trials) >= 2 and len(epochs(trials[0])) == EPOCHS
                    and len(list(trials[1].glob("checkpoint_*"))) >= 1 and len(epochs(trials[1])) < EPOCHS)

        run.watch(first_done_second_checkpointed)
        first, second = sorted(folder.glob("trial_*"))[:2]
        finished_files = checksums(first)
        run.process.send_signal(signal.SIGKILL)
        assert run.ended()[0] == -signal.SIGKILL
        run.stop()

        code, out, err = start("resume", str(folder)).ended()
        assert code == 0, out + err
    # Every file of the finished trial is unchanged, byte for byte.  One may be added: when Tune's last
    # saved experiment state predates the trial's end (the driver died within Tune's snapshot period),
    # resume starts the trial again; it restores its final checkpoint and returns at once, reporting and
    # writing nothing, but Tune's TensorBoard logger has opened a new events file holding only its header
    # (40 bytes; one scalar would add about 50).
    after = checksums(first)
    assert {name: after[name] for name in finished_files} == finished_files
    assert all(name.startswith("events.out.tfevents.") and (first / name).stat().st_size < 80
               for name in set(after) - set(finished_files))
    seen = epochs(second)
    assert seen.count(1) == 1 and seen[-1] == EPOCHS  # continued from its checkpoint, never from scratch
    assert curves(folder) == curves(reference)
    assert genotypes(folder) == genotypes(reference)
    # TensorBoard: every trial's run holds each epoch once, the finished trial's included
    runs = read_runs(folder)
    assert sorted(runs) == [f"seed={seed}" for seed in SEEDS]
    assert all([step for step, _ in run["scalars"]["search_val_acc"]] == list(range(1, EPOCHS + 1))
               for run in runs.values())
    # The resumed searcher went on with the seeded shuffled grid where the driver left it.
    seeds = [seed_of(t) for t in sorted(folder.glob("trial_*"))]
    assert seeds == [point["search.seed"] for point in trial_plan(validate_study(study)).points]


def trial_of_seed(folder: Path, seed: int) -> Path:
    return next(t for t in folder.glob("trial_*") if (t / "params.json").is_file() and seed_of(t) == seed)


@pytest.fixture(scope="module")
def worker_faults(tmp_path_factory) -> dict[str, Any]:
    """One study of two trials, both killed mid-study in their worker processes: seed 0's
    as is, seed 1's after every checkpoint it recorded was overwritten with garbage (its
    worker stopped first, so no new one appears meanwhile).  Each may fail once."""
    root = tmp_path_factory.mktemp("workers")
    path = write_study(root / "s.yaml", fault_study("workers", root / "results", SEEDS[:2],
                                                    failures={"max_failures": 1}))
    folder = root / "results" / "workers"
    with driving() as start:
        run = start("run", str(path))
        workers = WorkerStopper(folder, 2)
        run.watch(workers)
        workers.check_mid_study()
        killed, corrupted = trial_of_seed(folder, 0), trial_of_seed(folder, 1)
        garbage = sorted(corrupted.glob("checkpoint_*/checkpoint.pt"))
        for checkpoint in garbage:
            checkpoint.write_bytes(b"\x00garbage, not a checkpoint\n" * 64)
        workers.send(signal.SIGKILL)
        code, out, err = run.ended()
    return {"code": code, "output": out + err, "folder": folder, "killed": killed, "corrupted": corrupted,
            "garbage": garbage}


def test_killed_worker_restores_from_its_checkpoint_with_an_identical_curve(worker_faults, reference):
    trial_dir = worker_faults["killed"]
    assert curves(worker_faults["folder"])[0] == curves(reference)[0]
    assert (trial_dir / "genotype.json").read_text() == genotypes(reference)[0]
    rows = reported(trial_dir)
    assert len({row["pid"] for row in rows}) == 2  # it went on in a new worker ...
    assert [row["epoch"] for row in rows].count(1) == 1 and rows[-1]["epoch"] == EPOCHS  # ... from its checkpoint


def test_corrupt_checkpoint_fails_only_its_trial_naming_the_file(worker_faults, capsys):
    assert worker_faults["code"] == 1, worker_faults["output"]
    assert "1 trial(s) failed" in worker_faults["output"]
    error = (worker_faults["corrupted"] / "error.txt").read_text()
    named = [str(p) for p in worker_faults["garbage"] if f"{p} is not a readable checkpoint" in error]
    assert len(named) == 1, error
    assert main(["status", str(worker_faults["folder"])]) == 0
    out = capsys.readouterr().out
    assert f"{named[0]} is not a readable checkpoint (corrupt or not a torch file)" in out, out
    trials = pd.read_csv(worker_faults["folder"] / "analysis" / "trials.csv").set_index("trial_id")
    assert trials["state"].to_dict() == {worker_faults["corrupted"].name.removeprefix("trial_"): "ERROR",
                                         worker_faults["killed"].name.removeprefix("trial_"): "TERMINATED"}
