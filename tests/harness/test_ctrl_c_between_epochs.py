"""Ctrl-C stops a one-run command between epochs, never inside an epoch's save: a Ctrl-C that
lands while the checkpoint or event files are written is taken once they are.

Signals are process-wide, so each case runs in a fresh interpreter where Ctrl-C raises
``KeyboardInterrupt`` as in a terminal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from fresh_interpreter import run_script
from search_helpers import tiny_search_settings

from harness.localgroup import CTRL_C_TAKEN, INTERRUPTED_MARKER, _join, _run_rank
from snas.errors import UserInputError

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
TESTS = Path(__file__).resolve().parent.parent


def _run(script: str) -> subprocess.CompletedProcess:
    prelude = ("import os, signal, sys\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
               f"sys.path.insert(0, {str(TESTS)!r})\nfrom harness.localrun import ctrl_c_after_block\n")
    return run_script(prelude, script, timeout=300)


def _press_ctrl_c() -> str:
    return "os.kill(os.getpid(), signal.SIGINT)"


def test_a_ctrl_c_inside_the_block_is_raised_once_the_block_has_run():
    done = _run(f"""
        steps = []
        try:
            with ctrl_c_after_block():
                {_press_ctrl_c()}
                steps.append("after the press")
        except KeyboardInterrupt:
            steps.append("raised at the end")
        with ctrl_c_after_block():
            steps.append("a block without a press")
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        try:
            with ctrl_c_after_block():
                {_press_ctrl_c()}
                raise OSError("disk full")
        except OSError as err:
            steps.append(f"its own error, not the press: {{err}}")
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        try:
            {_press_ctrl_c()}
            steps.append("not raised")
        except KeyboardInterrupt:
            steps.append("raised at once outside")
        print(steps)
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ("['after the press', 'raised at the end', 'a block without a press', "
                           "'its own error, not the press: disk full', 'raised at once outside']\n")


def test_where_ctrl_c_is_ignored_the_block_leaves_it_ignored():
    done = _run(f"""
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        with ctrl_c_after_block():
            {_press_ctrl_c()}
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        print("ran on")
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ran on\n"


def test_a_ctrl_c_while_an_epoch_is_saved_ends_the_search_after_that_epoch_whole(tmp_path):
    config = tmp_path / "search.yaml"
    config.write_text(yaml.safe_dump(tiny_search_settings(epochs=3)))
    out = tmp_path / "run"
    done = _run(f"""
        from harness.cli import main
        from harness.tensorboard import EventRun
        write = EventRun.write
        def pressed_while_writing(self, metrics):
            if metrics["epoch"] == 1:
                {_press_ctrl_c()}
            write(self, metrics)
        EventRun.write = pressed_while_writing
        sys.exit(main(["search", "--config", {str(config)!r}, "--out", {str(out)!r}, "--quiet"]))
    """)
    assert done.returncode == 130, done.stderr
    assert f"interrupted after epoch 1; continue with: snas-study search --resume {out}" in done.stderr
    assert "Traceback" not in done.stderr
    assert [json.loads(line)["epoch"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [1]
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(out)).Reload()
    assert [s.step for s in events.Scalars("train_loss")] == [1]  # epoch 1's events were written whole


def test_a_rank_0_ctrl_c_outside_the_epochs_ends_the_rank_with_130_and_marks_the_group(tmp_path, capsys):
    def interrupted(rank: int) -> int:
        raise KeyboardInterrupt

    assert _run_rank(interrupted, 0, str(tmp_path)) == 130
    assert (tmp_path / INTERRUPTED_MARKER).exists()
    assert capsys.readouterr().err == "snas-study: interrupted\n"


def test_a_rank_error_of_bad_input_is_left_for_the_command(tmp_path):
    def refused(rank: int) -> int:
        raise UserInputError("no such data")

    assert _run_rank(refused, 1, str(tmp_path)) == 2
    assert (tmp_path / "error.1").read_text() == "no such data"
    assert not (tmp_path / INTERRUPTED_MARKER).exists()


class _EndedRanks:
    def __init__(self, exit_code: int):
        self.exit_code = exit_code

    def join(self) -> bool:
        import torch.multiprocessing as mp

        raise mp.ProcessExitedException("ended", error_index=0, error_pid=1, exit_code=self.exit_code)


@pytest.mark.parametrize(("exit_code", "command_code"), [(130, 130), (1, 1), (-2, 130), (-9, 137)])
def test_the_command_ends_with_its_first_failed_ranks_code_or_128_plus_the_signal_that_killed_it(
        exit_code, command_code, tmp_path):
    assert _join(_EndedRanks(exit_code), str(tmp_path)) == command_code


class _StartingRank:
    def __init__(self):
        self.alive = True

    def terminate(self) -> None:
        self.alive = False

    def join(self) -> None:
        assert not self.alive


class _RanksWhileCtrlCIsPressed:
    """Ranks that are still running when the command's first wait is cut by Ctrl-C, and that
    have all ended cleanly when it waits again."""

    def __init__(self):
        self.processes = [_StartingRank(), _StartingRank()]
        self.waits = 0

    def join(self) -> bool:
        self.waits += 1
        if self.waits == 1:
            raise KeyboardInterrupt
        return True


def test_ctrl_c_before_rank_0_has_taken_it_over_ends_the_starting_ranks_with_one_line(tmp_path, capsys):
    ranks = _RanksWhileCtrlCIsPressed()
    assert _join(ranks, str(tmp_path)) == 130
    assert [p.alive for p in ranks.processes] == [False, False]
    assert capsys.readouterr().err == "snas-study: interrupted\n"


def test_ctrl_c_once_rank_0_has_taken_it_over_is_left_to_rank_0(tmp_path, capsys):
    (tmp_path / CTRL_C_TAKEN).touch()
    ranks = _RanksWhileCtrlCIsPressed()
    assert _join(ranks, str(tmp_path)) == 0  # it waited on: rank 0 saves and says how to resume
    assert [p.alive for p in ranks.processes] == [True, True]
    assert capsys.readouterr().err == ""


def test_a_second_ctrl_c_in_a_held_block_raises_at_once():
    done = _run(f"""
        from harness.localrun import held_ctrl_c
        steps = []
        try:
            with held_ctrl_c() as pressed:
                {_press_ctrl_c()}
                steps.append(len(pressed))
                {_press_ctrl_c()}
                steps.append("not reached")
        except KeyboardInterrupt:
            steps.append("raised at the second")
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        with held_ctrl_c() as pressed:
            {_press_ctrl_c()}
        steps.append(f"held and dropped: {{pressed}}")
        print(steps)
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[1, 'raised at the second', 'held and dropped: [2]']\n"
