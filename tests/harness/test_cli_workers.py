"""``snas-study search --workers 2`` (and ``train --workers``): one run on a local 2-rank gloo process group."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import yaml
from search_helpers import tiny_search_settings

from harness.cli import main
from harness.localgroup import run_on_ranks
from snas.errors import UserInputError


def _config(tmp_path, **overrides):
    path = tmp_path / "search.yaml"
    settings = tiny_search_settings(**{"epochs": 2, **overrides})
    path.write_text(yaml.safe_dump(settings))
    return path


@pytest.mark.slow
def test_search_on_two_workers_writes_one_run_that_resumes_only_on_two(tmp_path, capfd):
    out = tmp_path / "run"
    assert main(["search", "--config", str(_config(tmp_path)), "--workers", "2", "--out", str(out), "--quiet"]) == 0
    printed = capfd.readouterr().out  # the ranks print, not this process
    assert "on cpu × 2 workers" in printed and "genotype: Genotype(" in printed
    epochs = [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert epochs == [1, 2]
    state = torch.load(out / "checkpoint.pt", weights_only=True)["state"]
    assert len(state["generators"]["ranks"]) == 2
    assert main(["search", "--resume", str(out), "--quiet"]) == 2
    assert capfd.readouterr().err == (f"snas-study: error: {out / 'checkpoint.pt'}: it was written by 2 workers, "
                                      f"not 1; resume it with 2 workers\n")  # whole, not "damaged"


def test_an_uneven_global_batch_is_refused_before_any_worker_starts(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["search", "--config", str(_config(tmp_path)), "--workers", "3", "--out", str(out)])
    assert code == 2
    assert capsys.readouterr().err == ("snas-study: error: batch_size 32 is the global batch: split across 3 "
                                       "workers it must be a multiple of 3\n")
    assert not out.exists()


def test_train_refuses_an_uneven_global_batch_before_any_worker_starts(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "DARTS_V2", "--dataset", "digits", "--batch-size", "63", "--workers", "2",
                 "--out", str(out)])
    assert code == 2
    assert capsys.readouterr().err == ("snas-study: error: batch_size 63 is the global batch: split across 2 "
                                       "workers it must be a multiple of 2\n")
    assert not out.exists()


def _fails_on_rank_1(rank: int) -> int:
    if rank == 1:
        raise UserInputError("only rank 1 cannot go on")
    dist.barrier()  # rank 0 waits for a peer that has gone: the runner must end it, not hang
    return 0


@pytest.mark.slow
def test_an_error_of_one_rank_is_reported_once_naming_the_worker(tmp_path):
    with pytest.raises(UserInputError) as err:
        run_on_ranks(2, False, _fails_on_rank_1)
    assert str(err.value) == "only rank 1 cannot go on (worker 1)"


def _metrics(out):
    return [{k: v for k, v in json.loads(line).items() if k not in ("epoch_time_s", "images_per_s")}
            for line in (out / "metrics.jsonl").read_text().splitlines()]


def _communicate_or_show_stacks(process: subprocess.Popen, timeout: float) -> tuple[str, str]:
    """``process.communicate(timeout)``; past it, a failure showing where every process of
    its ranks wait (the stacks the command gathers on SIGUSR1), then its group killed."""
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGUSR1)
        else:  # the command has ended, ranks left behind hold its output open: each prints its own
            os.killpg(process.pid, signal.SIGUSR1)
        time.sleep(4)
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"still running {timeout} s later; its output, then its processes' stacks:\n{out}\n{err}")


@contextmanager
def _in_own_group(command: list[str]) -> Iterator[subprocess.Popen]:
    """``command`` in a process group of its own, as a terminal runs it; the group killed on
    leaving if the command is still running."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def _wait_for_epochs(process: subprocess.Popen, out, epochs: int) -> None:
    deadline = time.monotonic() + 120
    while not ((out / "metrics.jsonl").is_file() and (out / "metrics.jsonl").read_text().count("\n") >= epochs):
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.05)


@pytest.mark.slow
def test_sigusr1_makes_the_command_print_its_and_each_ranks_stacks_in_turn_and_the_run_goes_on(tmp_path):
    config = _config(tmp_path, epochs=20)  # running on for seconds after the first epoch
    out = tmp_path / "run"
    with _in_own_group([sys.executable, "-m", "harness.cli", "search", "--config", str(config),
                        "--workers", "2", "--out", str(out), "--quiet"]) as process:
        _wait_for_epochs(process, out, 1)
        os.kill(process.pid, signal.SIGUSR1)  # the command only: it asks its ranks
        printed, err = _communicate_or_show_stacks(process, timeout=120)
    assert process.returncode == 0, printed + err
    assert "Traceback" not in err, err
    command, rank_0, rank_1 = err.split("\n--- worker ")
    assert command.count("Current thread 0x") == 1 and "in run_on_ranks" in command, err
    for rank, stacks in enumerate((rank_0, rank_1)):
        assert stacks.startswith(f"{rank} (pid "), err
        assert stacks.count("Current thread 0x") == 1 and "in _rank_process" in stacks, err
    assert len(_metrics(out)) == 20


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux's /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the ranks in /proc")
def test_ctrl_c_while_the_ranks_start_ends_the_command_with_one_line_and_130(tmp_path):
    out = tmp_path / "run"
    with _in_own_group([sys.executable, "-m", "harness.cli", "search", "--config", str(_config(tmp_path)),
                        "--workers", "2", "--out", str(out), "--quiet"]) as process:
        deadline = time.monotonic() + 120
        while len(_children(process.pid)) < 2:  # the ranks (and multiprocessing's resource tracker)
            assert time.monotonic() < deadline and process.poll() is None, process.communicate()
            time.sleep(0.01)
        os.killpg(process.pid, signal.SIGINT)  # while they import PyTorch
        printed, err = _communicate_or_show_stacks(process, timeout=120)
    assert process.returncode == 130, printed + err
    assert err == "snas-study: interrupted\n"


@pytest.mark.slow
def test_ctrl_c_on_two_workers_says_how_to_resume_and_resuming_finishes_identically(tmp_path):
    config = _config(tmp_path, epochs=4)
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert main(["search", "--config", str(config), "--workers", "2", "--out", str(whole), "--quiet"]) == 0
    command = [sys.executable, "-m", "harness.cli", "search", "--config", str(config), "--workers", "2",
               "--out", str(cut), "--quiet"]
    # As a terminal delivers Ctrl-C: SIGINT to the command and its ranks, one process group.
    with _in_own_group(command) as process:
        _wait_for_epochs(process, cut, 1)
        os.killpg(process.pid, signal.SIGINT)
        out, err = _communicate_or_show_stacks(process, timeout=120)
    assert process.returncode == 130, out + err
    assert "Traceback" not in err, err
    done = len(_metrics(cut))
    assert 1 <= done < 4  # really cut short
    hint = f"; continue with: snas-study search --resume {cut} --workers 2"
    assert any(line.startswith("interrupted after epoch ") and line.endswith(hint) for line in err.splitlines()), err
    assert main(["search", "--resume", str(cut), "--workers", "2", "--quiet"]) == 0
    assert _metrics(cut) == _metrics(whole)
