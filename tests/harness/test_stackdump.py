"""``harness.stackdump``: SIGUSR1 prints a process's stacks, where nothing else owns the signal.

Each case runs in a fresh interpreter: signal dispositions are process-wide."""

from __future__ import annotations

import subprocess
import sys

import pytest
from fresh_interpreter import run_script

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="no SIGUSR1")


def _run(script: str) -> subprocess.CompletedProcess:
    prelude = "import os, signal, time\nfrom harness.stackdump import print_stacks_on_request, stacks_with_workers\n"
    return run_script(prelude, script, timeout=60)


def _ask_and_wait() -> str:
    return "os.kill(os.getpid(), signal.SIGUSR1); time.sleep(0.1)\n"


def test_the_signal_prints_every_threads_stack_and_the_process_goes_on():
    done = _run(f"""
        import threading
        assert print_stacks_on_request() and print_stacks_on_request()  # taken again: still printing
        def waiting_helper():
            time.sleep(5)
        threading.Thread(target=waiting_helper, daemon=True).start()
        {_ask_and_wait()}
        print("still here")
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "still here\n"
    assert done.stderr.count("Current thread 0x") == 1 and done.stderr.count("Thread 0x") == 1, done.stderr
    assert "in waiting_helper" in done.stderr


def test_an_ignored_signal_is_taken_and_someone_elses_handler_is_left_alone():
    done = _run(f"""
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        assert print_stacks_on_request()
        {_ask_and_wait()}
        signal.signal(signal.SIGUSR1, lambda signum, frame: print("theirs"))
        assert not print_stacks_on_request()
        {_ask_and_wait()}
    """)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("Current thread 0x") == 1
    assert done.stdout == "theirs\n"


def test_a_command_prints_its_stacks_then_each_workers_in_turn_and_gets_its_own_handler_back():
    done = _run(f"""
        import subprocess, sys
        assert print_stacks_on_request()
        worker = ("import os, signal, sys, time; from harness.stackdump import print_stacks_on_request; "
                  "assert signal.getsignal(signal.SIGUSR1) is signal.SIG_IGN; print_stacks_on_request(); "
                  "print('up', flush=True); time.sleep(30)")
        with stacks_with_workers() as watch:
            workers = [subprocess.Popen([sys.executable, "-c", worker], stdout=subprocess.PIPE, text=True)
                       for _ in range(2)]
            assert [w.stdout.readline() for w in workers] == ["up\\n", "up\\n"]
            workers[1].kill(); workers[1].wait()
            watch([w.pid for w in workers])
            {_ask_and_wait()}
        workers[0].kill()
        os.write(2, b"=== after ===\\n")
        {_ask_and_wait()}
    """)
    assert done.returncode == 0, done.stderr
    during, after = done.stderr.split("=== after ===\n")
    command, worker_0 = during.split("--- worker 0 (pid ")
    assert command.startswith("Current thread 0x") and "<module>" in command
    worker_0, ended = worker_0.split("--- worker 1 (pid ")
    assert worker_0.count("Current thread 0x") == 1 and "<string>" in worker_0
    assert ended.endswith(") has ended ---\n")
    assert after.startswith("Current thread 0x") and after.count("Current thread 0x") == 1


def test_requests_arriving_without_pause_never_end_a_command_taking_and_giving_back_the_signal():
    done = _run("""
        import threading
        import harness.stackdump as stackdump
        stackdump.RANK_ANSWER_S = 0
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # thousands of stacks
        assert print_stacks_on_request()
        asking = True
        def ask():
            while asking:
                os.kill(os.getpid(), signal.SIGUSR1)
                time.sleep(0.0002)
        threading.Thread(target=ask, daemon=True).start()
        for _ in range(3000):
            with stacks_with_workers() as watch:
                watch([])
        asking = False
        print("still here")
    """)
    assert done.returncode == 0, done.returncode
    assert done.stdout == "still here\n"
