"""Ctrl-C and a killed driver: `snas-study resume` finishes the study without redoing work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from study_helpers import tiny_study, write_study
from tensorboard_events import read_runs

from harness.space import trial_plan
from harness.study import validate_study

pytestmark = pytest.mark.slow
CLI = [sys.executable, "-m", "harness.cli"]


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (read from /proc: Ray's helpers are children of the driver)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def epochs(trial_dir: Path) -> list[int]:
    path = trial_dir / "result.json"
    return [json.loads(line)["epoch"] for line in path.read_text().splitlines()] if path.is_file() else []


def environment(ray_dir: str) -> dict[str, str]:
    repo = str(Path(__file__).resolve().parents[2])
    return {**os.environ, "RAY_AUTH_MODE": "disabled", "SNAS_STUDY_RAY_TMPDIR": ray_dir,
            "PYTHONPATH": repo + os.pathsep + os.environ.get("PYTHONPATH", "")}


def wait_until(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the study did not reach the expected point in time")
        time.sleep(0.5)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_driver_then_resume(tmp_path, how):
    study = tiny_study("stopped", tmp_path / "results", search={"epochs": 4},
                       space={"search.seed": {"grid": [0, 1, 2]}}, resources={"cpu": 1, "max_concurrent": 1})
    path = write_study(tmp_path / "s.yaml", study)
    folder = tmp_path / "results" / "stopped"
    with tempfile.TemporaryDirectory(prefix="r", dir="/tmp") as ray_dir:
        env = environment(ray_dir)
        driver = subprocess.Popen([*CLI, "run", str(path), "--quiet"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        helpers: set[int] = set()
        try:
            def first_done_second_checkpointed() -> bool:
                helpers.update(descendants(driver.pid))
                trials = sorted(folder.glob("trial_*"))
                return (len(trials) >= 2 and len(epochs(trials[0])) == 4
                        and len(list(trials[1].glob("checkpoint_*"))) >= 1 and len(epochs(trials[1])) < 4)

            wait_until(first_done_second_checkpointed, timeout=240)
            first, second = sorted(folder.glob("trial_*"))[:2]
            finished_before = (first / "result.json").read_text()
            driver.send_signal(how)
            output = driver.communicate(timeout=120)[0]
        finally:
            if driver.poll() is None:
                driver.kill()
                driver.wait()
            time.sleep(3)
            for pid in helpers | descendants(driver.pid):  # Ray helpers a killed driver left behind
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if how == signal.SIGINT:
            assert driver.returncode == 130, output
            assert "interrupted" in output and "snas-study resume" in output
        else:
            assert driver.returncode == -signal.SIGKILL

        resumed = subprocess.run([*CLI, "resume", str(folder), "--quiet"], env=env, capture_output=True,
                                 text=True, timeout=400)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr

    assert (first / "result.json").read_text() == finished_before  # the finished trial was not run again
    seen = epochs(second)
    assert seen.count(1) == 1 and seen[-1] == 4  # continued from its checkpoint, never from scratch
    assert all(b >= a for a, b in zip(seen, seen[1:])) or seen.count(1) == 1
    trials = sorted(folder.glob("trial_*"))
    assert len(trials) == 3 and all(epochs(t)[-1] == 4 for t in trials)
    # The resumed searcher went on with the seeded shuffled grid where the driver left it.
    seeds = [json.loads((t / "params.json").read_text())["search.seed"] for t in trials]
    assert seeds == [point["search.seed"] for point in trial_plan(validate_study(study)).points]
    # TensorBoard: every trial's run holds each epoch once, the finished trial's included
    runs = read_runs(folder)
    assert sorted(runs) == ["seed=0", "seed=1", "seed=2"]
    assert all([step for step, _ in run["scalars"]["search_val_acc"]] == [1, 2, 3, 4] for run in runs.values())
