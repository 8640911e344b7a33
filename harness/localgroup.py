"""``snas-study search --workers N`` (and ``train``): one run on N processes of this machine, without Ray.

The command starts a local torch.distributed process group (``torch.multiprocessing``;
gloo on the CPU, NCCL with rank ``r`` on GPU ``r`` when the run is on CUDA) and every
rank runs the same :class:`snas.search.Search` or :class:`snas.retrain.Retrain` epochs
(:mod:`snas.distributed` does the math).  Rank 0 does everything a one-process run does
(progress bar, summary lines, config.yaml, metrics.jsonl, genotype.json, checkpoint.pt,
TensorBoard events); the others run silently.  A study's data-parallel trials use Ray Train instead
(:mod:`harness.dataparallel`): there the cluster places the workers.
"""

from __future__ import annotations

import argparse
import functools
import logging
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing import resource_tracker
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from harness.localrun import RunCommand, begin_run, run_folder, run_silent_epochs
from harness.stackdump import print_stacks_on_request, stacks_with_workers
from harness.studyfolder import CHECKPOINT_FILE
from snas.errors import UserInputError
from snas.run import EpochRun, RunConfig

RankMain = Callable[[int], int]
"""``(rank) -> exit code``: what every rank runs once its process group is up."""


CTRL_C_TAKEN = "ctrl-c-taken"
"""Written into the group's folder by rank 0 once Ctrl-C is its to handle: before, the
command ends the starting ranks itself."""

INTERRUPTED_MARKER = "interrupted"
"""Written into the group's folder by rank 0 when Ctrl-C stopped it: the other ranks' lost
collectives are then that, not an error of theirs."""


def _error_file(folder: str, rank: int) -> Path:
    return Path(folder) / f"error.{rank}"


def _rank_process(rank: int, main: RankMain, workers: int, cuda: bool, folder: str, interruptible: bool) -> None:
    """One rank: its process group up, ``main(rank)``, the group down.

    Ctrl-C is rank 0's to handle (where the command's own Ctrl-C was live, ``interruptible``):
    it finishes saving, says how to resume and exits 130; the other ranks ignore SIGINT, and
    a collective of theirs that then loses rank 0 ends them quietly.  The ranks start with
    SIGINT blocked (:func:`run_on_ranks`): a Ctrl-C while they import PyTorch waits, and is
    not a traceback of theirs; rank 0 takes it from here on, or the command ends them first
    (:func:`_join`).  A :class:`UserInputError` on any rank is left in the group's folder for
    :func:`run_on_ranks` to report once."""
    takes_ctrl_c = rank == 0 and interruptible
    signal.signal(signal.SIGINT, signal.default_int_handler if takes_ctrl_c else signal.SIG_IGN)
    code = 130
    try:
        if takes_ctrl_c:
            (Path(folder) / CTRL_C_TAKEN).touch()
        _hold_ctrl_c(False)  # one pressed while this rank started is raised here, or dropped
        code = _in_group(rank, main, workers, cuda, folder)
    except KeyboardInterrupt:  # rank 0 joining the group or taking it down: 130, never a finished run's 0
        print("snas-study: interrupted", file=sys.stderr)
    _end_rank(code)


def _in_group(rank: int, main: RankMain, workers: int, cuda: bool, folder: str) -> int:
    """:func:`_run_rank` between the process group's start and end."""
    from snas.threads import use_available_cpus

    print_stacks_on_request()  # the command's handler is not inherited (see stacks_with_workers)
    use_available_cpus(limit=max(1, (os.cpu_count() or 1) // workers))  # the ranks share this machine's cores
    if cuda:
        torch.cuda.set_device(rank)  # device "auto"/"cuda" is then this rank's GPU
    dist.init_process_group("nccl" if cuda else "gloo", init_method=f"file://{folder}/group", rank=rank,
                            world_size=workers)
    try:
        return _run_rank(main, rank, folder)
    finally:
        dist.destroy_process_group()


def _run_rank(main: RankMain, rank: int, folder: str) -> int:
    """``main(rank)``'s exit code, with what ended it left for the others and for
    :func:`run_on_ranks`: rank 0's Ctrl-C as the group's marker (written before the group
    goes down, when the others' collectives start failing), a :class:`UserInputError` as
    the rank's error file."""
    try:
        code = main(rank)
    except KeyboardInterrupt:  # rank 0 outside the epochs, which say how to resume (starting, closing)
        print("snas-study: interrupted", file=sys.stderr)
        code = 130
    except UserInputError as err:
        _error_file(folder, rank).write_text(str(err))
        return 2
    except Exception:
        if rank == 0 or not (Path(folder) / INTERRUPTED_MARKER).exists():
            raise
        return 130
    if rank == 0 and code == 130:
        (Path(folder) / INTERRUPTED_MARKER).touch()
    return code


def _end_rank(code: int) -> None:
    """End a rank whose work is done, files closed and process group destroyed, without the
    interpreter's teardown: in about one run of ten of the tests, a rank had finished and
    saved everything and then aborted in that teardown ("terminate called without an active
    exception", C++ threads destroyed in arbitrary order), which failed the whole command."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_on_ranks(workers: int, cuda: bool, main: RankMain) -> int:
    """``main(rank)`` on ``workers`` local processes; the exit code of the first that failed
    (130 after Ctrl-C), or 0.  A rank's :class:`UserInputError` is raised here, once."""
    if cuda and workers > torch.cuda.device_count():
        raise UserInputError(f"--workers {workers} puts one worker on each GPU, but {torch.cuda.device_count()} "
                             f"GPU(s) are visible")
    # When one rank has ended (Ctrl-C, an error), join() ends the others and logs a warning
    # for each; what happened is said once, by rank 0 or below.
    logging.getLogger("torch.multiprocessing.spawn").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as folder:
        with stacks_with_workers() as watch:
            interruptible = signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
            # A Ctrl-C while the ranks start (and import PyTorch, seconds) waits, blocked in
            # them, for rank 0 to take it over or for _join to end them.
            with _ctrl_c_noted_while_starting() as pressed:
                ranks = mp.start_processes(_rank_process, args=(main, workers, cuda, folder, interruptible),
                                           nprocs=workers, join=False, start_method="spawn")
            watch(ranks.pids())
            code = _join(ranks, folder, ctrl_c_pressed=bool(pressed))
        for rank in range(workers):
            if _error_file(folder, rank).is_file():
                message = _error_file(folder, rank).read_text()
                raise UserInputError(message if rank == 0 else f"{message} (worker {rank})")
    return code


def _hold_ctrl_c(held: bool) -> None:
    """Block SIGINT in this thread (a Ctrl-C then waits, pending) or let it through, raising a
    pending one.  Processes started while it is blocked start with it blocked."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK if held else signal.SIG_UNBLOCK, {signal.SIGINT})


@contextmanager
def _ctrl_c_noted_while_starting() -> Iterator[list[int]]:
    """SIGINT blocked in this thread while the ranks are started, so that they start with it
    blocked; a Ctrl-C meanwhile (delivered to another thread, or pending until the end) is
    noted in the yielded list instead of raised half-way through starting them."""
    resource_tracker.ensure_running()  # started later, it would unblock SIGINT here
    pressed: list[int] = []
    noting = (threading.current_thread() is threading.main_thread()
              and signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    if noting:
        signal.signal(signal.SIGINT, lambda signum, frame: pressed.append(signum))
    _hold_ctrl_c(True)
    try:
        yield pressed
    finally:
        _hold_ctrl_c(False)  # a pending Ctrl-C is noted now
        if noting:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _join(ranks: mp.ProcessContext, folder: str, ctrl_c_pressed: bool = False) -> int:
    """Wait for every rank.  Ctrl-C reaches this process too: once rank 0 has taken Ctrl-C
    over (:data:`CTRL_C_TAKEN`) it keeps waiting, for rank 0 to save and exit; before that
    (the ranks still starting, SIGINT blocked in them) it ends them itself.
    ``ProcessContext.join`` ends the others once one has failed."""
    while True:
        if ctrl_c_pressed and not (Path(folder) / CTRL_C_TAKEN).exists():
            for process in ranks.processes:
                process.terminate()
            for process in ranks.processes:
                process.join()
            print("snas-study: interrupted", file=sys.stderr)
            return 130
        try:
            while not ranks.join():
                pass
            return 0
        except mp.ProcessExitedException as err:  # a rank killed by signal N ends as a shell says: 128 + N
            return 128 - err.exit_code if err.exit_code < 0 else err.exit_code or 1
        except KeyboardInterrupt:
            ctrl_c_pressed = True


Finish = Callable[[EpochRun, Path, bool], int]
"""``(loop, out, quiet) -> exit code``: what rank 0 runs, as a one-process command would
(header, epochs, summary lines)."""


def _loop_rank(rank: int, out: Path, config: RunConfig | None, loop_class: type[EpochRun], finish: Finish,
               quiet: bool) -> int:
    """One rank of ``--workers N``: rank 0 writes and prints, the others run silently."""
    loop = begin_run(out, config is None, lambda: loop_class(config), loop_class.restore, writer=rank == 0)
    if rank == 0:
        return finish(loop, out, quiet)
    run_silent_epochs(loop, out)
    return 0


def run_loop_on_workers(args: argparse.Namespace, command: RunCommand, given: list[str],
                        config_from: Callable[[], RunConfig], loop_class: type[EpochRun], finish: Finish) -> int:
    """A command's run (``search`` or ``train``) on ``args.workers`` local ranks: the output
    folder and the global batch's split are checked here, before any rank starts."""
    from snas.checkpoint import load_checkpoint
    from snas.device import resolve_device
    from snas.distributed import Ranks, check_batch_split
    from snas.run import check_run_record

    out = run_folder(args, command, given)
    config = None if args.resume is not None else config_from()
    checked = config or check_run_record(load_checkpoint(out / CHECKPOINT_FILE, loop_class.KIND),
                                         out / CHECKPOINT_FILE).config
    check_batch_split(checked.batch_size, Ranks(0, args.workers))
    cuda = resolve_device(checked.device).type == "cuda"
    rank_main = functools.partial(_loop_rank, out=out, config=config, loop_class=loop_class, finish=finish,
                                  quiet=args.quiet)
    return run_on_ranks(args.workers, cuda, rank_main)
