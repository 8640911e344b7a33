"""Who draws an analysis's plots: this process, after the tables, or a second one meanwhile.

At 10,000 trials `analyze` spends about 1.8 s importing matplotlib and seaborn, 3 s reading
the trials and building the tables, 2 s writing the tables and 5 s drawing the plots, one
after another.  With a second core, :class:`PlotWorker` imports matplotlib and seaborn in
a second process while this one reads the trials, then draws the plots while this one
writes the tables: the analysis then takes about as long as reading plus plotting.  The
plots are drawn by the same code from the same tables, so their files are the same bytes;
they go into the same staging folder (:mod:`harness.analysis.output_set`).

On one core the two processes would only take turns, and for a small study there is little
to overlap, so :func:`plotter` then has this process draw (:class:`SerialPlots`), after the
tables, as before.

Start method: a fresh interpreter (:mod:`subprocess`), not a fork. When an analysis starts,
this process already runs threads (OpenBLAS's, pyarrow's jemalloc background thread; in
`run`, Ray's), and a forked child inherits the locks they may hold but not the threads that
would release them. A fresh worker shares nothing but what is sent to it through its stdin:
the tables as Arrow streams inside a MessagePack document (:mod:`harness.analysis.plot_wire`;
no pickle either way). Its price, importing its own modules, is paid while this process reads the
trials, and is mostly the import of matplotlib and seaborn it exists to do early. Not
:mod:`multiprocessing`'s spawn: that also starts a resource-tracker process, which outlives
this one by a moment.

Errors and Ctrl-C: an exception raised drawing a plot (a bug, a full disk) is sent back and
raised here, so the user sees the message and exit code of a serial run (the worker's
traceback is its cause). A job holding a value the wire format cannot carry is drawn here.
The worker ignores SIGINT -- an ignored signal stays ignored across exec, and Python
installs no handler of its own for it -- so the terminal's Ctrl-C interrupts only this
process, which stops the worker and waits for it before the staging folder it writes into is
removed: no process outlives the analysis, none is left a zombie, and no half-written file
reaches the study folder.
"""

from __future__ import annotations

import logging
import os
import signal
import site
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from typing import Protocol

from harness.analysis.plot_record import Plot
from harness.analysis.plot_wire import (
    LogSetup,
    PlotFields,
    Unsendable,
    decode_outcome,
    encode_failure,
    encode_job,
    encode_plots,
    read_job,
)
from harness.studyfolder import is_trial_folder_name


class Plotter(Protocol):
    def submit(self, fields: PlotFields) -> None:
        """Hand over what to draw; the plots may be drawn from now on."""

    def plots(self) -> list[Plot]:
        """The plots drawn, in :data:`harness.analysis.plots.PLOTS`' order."""

    def close(self) -> None:
        """Release what drawing holds (stop a worker that has not finished)."""


def _draw(fields: PlotFields) -> list[Plot]:
    from harness.analysis.plots import PlotInput, draw_plots  # matplotlib: only where plots are drawn

    return draw_plots(PlotInput(**fields))


class SerialPlots:
    """The plots drawn in this process when asked for, after the tables."""

    def __init__(self) -> None:
        self._fields: PlotFields | None = None

    def submit(self, fields: PlotFields) -> None:
        self._fields = fields

    def plots(self) -> list[Plot]:
        assert self._fields is not None, "submit() first"
        return _draw(self._fields)

    def close(self) -> None:
        self._fields = None


def serve(results_fd: int) -> None:
    """The worker's main: import the plots, read the job from stdin, draw it, write the plots
    (or the exception drawing raised) to ``results_fd``; nothing else is ever read."""
    from harness.analysis.plots import draw_plots  # noqa: F401  (the import done early: see the module docstring)

    try:
        fields, log_format, log_level = read_job(sys.stdin.buffer)
        handler = logging.StreamHandler()
        if log_format is not None:
            handler.setFormatter(log_format)
        logging.basicConfig(level=log_level, handlers=[handler])
        outcome = encode_plots(_draw(fields))
    except BaseException as err:  # sent back whatever it is; this process then ends
        outcome = encode_failure(err, traceback.format_exc())
    with open(results_fd, "wb") as results:
        results.write(outcome)
    _exit_now()


def _exit_now() -> None:
    """End the worker without tearing its interpreter down: freeing matplotlib's and
    pandas's modules one by one takes a second or two at 10,000 trials, which the analysis
    would wait for.  Its files are written and closed, its result sent; what it printed is
    flushed here."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _log_setup() -> LogSetup:
    """This process's root log level and format (a plain one: the CLI's), for the worker's
    warnings to read alike."""
    root = logging.getLogger()
    formats = [handler.formatter for handler in root.handlers if type(handler.formatter) is logging.Formatter]
    return root.level, formats[0] if formats else None


_WORKER_MAIN = ("import sys; sys.path[:] = [folder for folder in sys.path if folder]; "
                "from harness.analysis.plotting import serve; serve(int(sys.argv[1]))")
"""The worker's program.  ``python -c`` puts the current folder first on ``sys.path`` (as
``''``), where a module of a study folder being analysed (a ``numpy.py`` in it) would be
imported instead of the library: it goes before anything is imported (``-P`` would need
Python 3.11)."""


def _worker_env() -> dict[str, str]:
    """This environment, with the folder this process's ``harness`` came from first on the
    worker's path: it draws with the same code, whatever put that code on this path.  An
    installed package's folder (site-packages) is on the worker's path already, and put
    first it would come before the standard library's."""
    import harness

    source = Path(harness.__file__).resolve().parent.parent
    installed = {Path(folder).resolve() for folder in (*site.getsitepackages(), site.getusersitepackages())}
    if source in installed:
        return dict(os.environ)
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(source), os.environ.get("PYTHONPATH"))))}


class PlotWorker:
    """The plots drawn in a second process (see the module docstring), started at once."""

    def __init__(self) -> None:
        results, sending_end = os.pipe()
        interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited: Ctrl-C reaches this process only
        try:
            self._process = subprocess.Popen([sys.executable, "-c", _WORKER_MAIN, str(sending_end)],
                                             stdin=subprocess.PIPE, pass_fds=(sending_end,), env=_worker_env())
        finally:
            signal.signal(signal.SIGINT, interrupt)
            os.close(sending_end)  # the worker's end only: its exit then ends the read here
        self._results = os.fdopen(results, "rb")
        self._sender: threading.Thread | None = None
        self._here: SerialPlots | None = None
        """Who draws a job the worker could not be sent."""

    def submit(self, fields: PlotFields) -> None:
        # Encoded here, not while this process goes on to read the same tables; written by a
        # thread, since the worker reads it only once it has imported matplotlib.
        try:
            job = encode_job(fields, _log_setup())
        except Unsendable as err:
            logging.getLogger(__name__).debug("plots drawn here, not by the worker: %s", err)
            self.close()
            self._here = SerialPlots()
            self._here.submit(fields)
            return
        self._sender = threading.Thread(target=self._send, args=(job,), name="snas-study plots job", daemon=True)
        self._sender.start()

    def _send(self, job: bytes) -> None:
        assert self._process.stdin is not None
        try:
            with self._process.stdin as stdin:
                stdin.write(job)
        except BrokenPipeError:
            pass  # the worker was stopped or died: plots() and close() say so

    def plots(self) -> list[Plot]:
        if self._here is not None:
            return self._here.plots()
        outcome = self._results.read()
        code = self._process.wait()
        if not outcome:
            raise RuntimeError(f"the plotting process {self._process.pid} ended (exit code {code}) "
                               f"before sending its plots")
        return decode_outcome(outcome)

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
        self._process.wait()
        if self._sender is not None:
            self._sender.join()  # done: the worker has read the job, or its end is closed
        if self._process.stdin is not None and not self._process.stdin.closed:
            self._process.stdin.close()
        self._results.close()


WORKER_MIN_TRIALS = 250
"""The fewest trial folders a study needs for its plots to be drawn by a worker.  The worker
saves about the time this process spends reading, tabulating and writing, and costs a
second interpreter (some 270 MiB): measured on two cores, 8 and 100 trials took as long
either way (within the noise of a second of a shared machine), 1,000 trials 0.5 s less
with the worker, 10,000 trials 3-4 s less (of 10-12 s serially)."""


def _trial_folders(path: Path) -> int:
    try:
        return sum(is_trial_folder_name(name) for name in os.listdir(path))
    except OSError:
        return 0  # the read that follows says what is wrong with the folder


def plotter(path: str | Path) -> Plotter:
    """A worker for the study folder ``path`` where it pays (see the module docstring and
    :data:`WORKER_MIN_TRIALS`), else this process: on one core; for a small study; off the
    main thread, where the signal disposition the worker starts with cannot be set."""
    if (len(os.sched_getaffinity(0)) > 1 and threading.current_thread() is threading.main_thread()
            and _trial_folders(Path(path).expanduser()) >= WORKER_MIN_TRIALS):
        return PlotWorker()
    return SerialPlots()
