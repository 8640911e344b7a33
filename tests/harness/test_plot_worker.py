"""The plots drawn by a second process (:mod:`harness.analysis.plotting`): the same files
and summary as drawn serially, the same errors, and serial where a worker does not pay."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import pytest
from study_folders import write_study_folder

from harness.analysis import summary as summary_module
from harness.analysis.plotting import WORKER_MIN_TRIALS, PlotWorker, SerialPlots, _sendable, plotter
from harness.analysis.summary import write_analysis
from snas.errors import DiskFull, UserInputError

_CREATED = re.compile(rb"/CreationDate \(D:\d+Z\)")
"""The one part of a PDF that differs from one drawing of it to the next."""


def _outputs(folder: Path) -> dict[str, bytes]:
    files = {path.relative_to(folder).as_posix(): path.read_bytes()
             for sub in ("analysis", "plots") for path in (folder / sub).iterdir()}
    return {name: _CREATED.sub(b"", data) if name.endswith(".pdf") else data for name, data in files.items()}


def test_the_worker_draws_the_files_and_summary_of_a_serial_analysis(tmp_path, monkeypatch):
    folder = write_study_folder(tmp_path)
    monkeypatch.setattr(summary_module, "plotter", lambda path: SerialPlots())
    serial = write_analysis(folder)
    serial_files = _outputs(folder)
    workers: list[PlotWorker] = []
    monkeypatch.setattr(summary_module, "plotter", lambda path: workers.append(PlotWorker()) or workers[-1])
    parallel = write_analysis(folder)
    assert len(workers) == 1 and workers[0]._process.returncode == 0  # ended and reaped
    assert parallel.plots == serial.plots and len(serial.plots) >= 4  # same files, captions and order
    assert parallel.describe() == serial.describe()
    worker_files = _outputs(folder)
    assert sorted(worker_files) == sorted(serial_files)
    assert any(name.endswith(".pdf") for name in serial_files)
    assert [name for name in serial_files if worker_files[name] != serial_files[name]] == []


def test_an_error_drawing_in_the_worker_is_raised_here_as_drawing_here_raises_it():
    fields = {"metric": "search_val_acc"}  # a PlotInput needs the study, tables and folder too
    serial = SerialPlots()
    serial.submit(fields)
    with pytest.raises(TypeError) as here:
        serial.plots()
    worker = PlotWorker()
    try:
        worker.submit(fields)
        with pytest.raises(TypeError) as there:
            worker.plots()
    finally:
        worker.close()
    assert str(there.value) == str(here.value) and "'study'" in str(here.value)
    assert "Traceback" in str(there.value.__cause__) and "PlotInput" in str(there.value.__cause__)
    assert worker._process.returncode == 0  # the worker sent the error and ended; it was reaped


@pytest.mark.parametrize("error", [
    UserInputError("study folder x does not exist"),  # the CLI: its message, exit code 2
    DiskFull("the disk filled up while saving"),  # exit code 1
    OSError(errno.ENOSPC, "No space left on device", "/s/plots/curves.png"),  # the CLI reads errno and file
])
def test_an_error_comes_back_from_the_worker_as_the_cli_reads_it(error):
    back = _sendable(error)
    assert type(back) is type(error) and back.args == error.args
    assert (getattr(back, "exit_code", None), getattr(back, "errno", None), getattr(back, "filename", None)) == \
           (getattr(error, "exit_code", None), getattr(error, "errno", None), getattr(error, "filename", None))


def test_an_error_that_cannot_be_pickled_comes_back_named():
    class PlotBug(Exception):  # a local class: pickle cannot find it again
        pass

    back = _sendable(PlotBug("the axes ran out"))
    assert type(back) is RuntimeError and str(back) == "PlotBug: the axes ran out"


def _study_of(tmp_path: Path, trials: int) -> Path:
    for index in range(trials):
        (tmp_path / f"trial_{index:05d}").mkdir(parents=True)
    return tmp_path


def test_a_worker_draws_only_with_a_second_core_and_enough_trials(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    big = _study_of(tmp_path, WORKER_MIN_TRIALS)
    assert isinstance(plotter(big), SerialPlots)  # one core: the processes would take turns
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert isinstance(plotter(_study_of(tmp_path / "small", WORKER_MIN_TRIALS - 1)), SerialPlots)
    assert isinstance(plotter(tmp_path / "missing"), SerialPlots)  # the read then says what is wrong
    worker = plotter(big)
    assert isinstance(worker, PlotWorker)
    worker.close()  # stopped while importing, as after an error or Ctrl-C here
    assert worker._process.returncode is not None
    with pytest.raises(ChildProcessError):
        os.waitpid(worker._process.pid, os.WNOHANG)  # reaped: no zombie


def test_ctrl_c_reaches_the_analysis_only(tmp_path):
    """The worker ignores SIGINT from its start: the analysis stops it, and removes the
    staging folder only then (the terminal sends Ctrl-C to both)."""
    worker = PlotWorker()
    try:
        status = Path(f"/proc/{worker._process.pid}/status").read_text()
        ignored = int(next(line for line in status.splitlines() if line.startswith("SigIgn:")).split()[1], 16)
        assert ignored & (1 << (2 - 1))  # SIGINT is signal 2
    finally:
        worker.close()


def test_the_worker_finds_this_processs_code_and_an_installed_one_its_own_way(monkeypatch):
    import harness
    from harness.analysis import plotting

    source = str(Path(harness.__file__).resolve().parent.parent)
    monkeypatch.setenv("PYTHONPATH", "/elsewhere")
    assert plotting._worker_env()["PYTHONPATH"] == os.pathsep.join((source, "/elsewhere"))
    monkeypatch.setattr(plotting.site, "getsitepackages", lambda: [source])  # as when harness is installed
    assert plotting._worker_env()["PYTHONPATH"] == "/elsewhere"
