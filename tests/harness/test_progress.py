"""The progress bars of `search` and `train`."""

from __future__ import annotations

from fresh_interpreter import run_script


def test_a_bar_takes_no_multiprocessing_lock():
    """A --workers rank leaves by os._exit: a semaphore tqdm took for its default lock would
    never be released, and the resource tracker would warn of a leak at the command's end.
    With spawn as the start method (the ranks'), taking one starts the tracker."""
    done = run_script("", """
        import multiprocessing
        from multiprocessing import resource_tracker

        multiprocessing.set_start_method("spawn")
        from harness.progress import EpochProgress

        with EpochProgress(enabled=True).epoch(1, 2, steps=3) as on_step:
            on_step(3, 3)
        print(resource_tracker._resource_tracker._pid is None)
    """, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
