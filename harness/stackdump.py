"""Every thread's Python stack on request: ``kill -USR1 PID`` makes a ``snas-study`` process
print them to stderr and carry on.

A run that seems stuck (a ``--workers N`` rank waiting on a collective, a hung save) then
shows where it waits, without a debugger or a restart.  The stacks are printed from C
(:mod:`faulthandler`), so a process whose main thread is blocked inside PyTorch answers too.
A ``--workers N`` command answers for its ranks as well: it prints its own stacks, then asks
each rank in turn, so their output does not interleave (signalled as a process group, they
would all print at once).

SIGUSR1 is taken only where no handler of the process has it: a program that embeds the
harness and handles SIGUSR1 itself keeps its handler.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

STACKS_SIGNAL = signal.SIGUSR1 if hasattr(signal, "SIGUSR1") else None
"""The signal that asks for the stacks; ``None`` where the platform has none (Windows)."""

_STDERR = 2
"""The descriptor, not ``sys.stderr``: a replaced ``sys.stderr`` (captured output) may have none."""

RANK_ANSWER_S = 1.0
"""How long a command waits for one rank's stacks before asking the next."""


def print_stacks_on_request() -> bool:
    """Print every thread's stack to stderr on :data:`STACKS_SIGNAL`; whether it was taken
    (not where the process has set a Python handler for it; an ignored signal is taken).

    The signal is ignored while the printer is put in place, so that a signal arriving
    then, or while :func:`stacks_with_workers` swaps it out and back, cannot end the process."""
    if STACKS_SIGNAL is None or signal.getsignal(STACKS_SIGNAL) not in (signal.SIG_DFL, signal.SIG_IGN):
        return False
    faulthandler.unregister(STACKS_SIGNAL)  # a printer set before gives back what it replaced
    signal.signal(STACKS_SIGNAL, signal.SIG_IGN)  # what unregistering the printer later restores
    faulthandler.register(STACKS_SIGNAL, file=_STDERR, all_threads=True, chain=False)
    return True


@contextmanager
def stacks_with_workers() -> Iterator[Callable[[Sequence[int]], None]]:
    """While inside, :data:`STACKS_SIGNAL` prints this process's stacks, then those of the
    worker processes passed to the yielded ``watch(pids)`` (each printing its own, as
    :func:`print_stacks_on_request` set them to), one after the other under a
    ``worker r (pid p)`` line.

    Until ``watch`` is called the signal is ignored, and processes started meanwhile inherit
    that: one arriving before a new worker has set its handler cannot end it.  Off the main
    thread (where Python sets no handlers), or where the process has its own handler,
    nothing changes."""
    if STACKS_SIGNAL is None or threading.current_thread() is not threading.main_thread():
        yield lambda pids: None
        return
    # True where it was registered; typeshed declares None, the documentation a bool
    ours = faulthandler.unregister(STACKS_SIGNAL)  # type: ignore[func-returns-value]
    before = signal.getsignal(STACKS_SIGNAL)
    if before not in (signal.SIG_DFL, signal.SIG_IGN):  # someone else's
        yield lambda pids: None
        return
    printing: list[bool] = []

    def print_all(signum: int, pids: Sequence[int]) -> None:
        if printing:  # a second request while the first is answered
            return
        printing.append(True)
        try:
            faulthandler.dump_traceback(file=_STDERR, all_threads=True)
            for rank, pid in enumerate(pids):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    os.write(_STDERR, f"--- worker {rank} (pid {pid}) has ended ---\n".encode())
                    continue
                os.write(_STDERR, f"--- worker {rank} (pid {pid}) ---\n".encode())
                os.kill(pid, signum)
                time.sleep(RANK_ANSWER_S)
        except OSError:  # stderr gone, a worker gone between the check and the signal: a best effort
            pass
        finally:
            printing.clear()

    def watch(pids: Sequence[int]) -> None:
        listed = list(pids)
        signal.signal(STACKS_SIGNAL, lambda signum, frame: print_all(signum, listed))

    signal.signal(STACKS_SIGNAL, signal.SIG_IGN)
    try:
        yield watch
    finally:
        signal.signal(STACKS_SIGNAL, signal.SIG_IGN)
        if ours:
            print_stacks_on_request()
        else:
            signal.signal(STACKS_SIGNAL, before)
