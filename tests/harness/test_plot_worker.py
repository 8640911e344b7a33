"""The plots drawn by a second process (:mod:`harness.analysis.plotting`): the same files
and summary as drawn serially, the same errors, and serial where a worker does not pay."""

from __future__ import annotations

import errno
import io
import logging
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from study_folders import write_study_folder

from harness.analysis import summary as summary_module
from harness.analysis.plot_wire import Unsendable, decode_outcome, encode_failure, encode_job, read_job
from harness.analysis.plotting import WORKER_MIN_TRIALS, PlotWorker, SerialPlots, plotter
from harness.analysis.summary import write_analysis
from harness.studyfolder import read_study
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


class _Captured(SerialPlots):
    """A drawer that keeps the job and draws nothing."""

    def plots(self) -> list:
        return []

    def close(self) -> None:
        pass


def _job(tmp_path: Path, monkeypatch) -> dict:
    """What an analysis of a small study hands its drawer."""
    captured = _Captured()
    monkeypatch.setattr(summary_module, "plotter", lambda path: captured)
    write_analysis(write_study_folder(tmp_path))
    assert captured._fields is not None
    return captured._fields


def test_an_error_drawing_in_the_worker_is_raised_here_as_drawing_here_raises_it(tmp_path, monkeypatch):
    fields = _job(tmp_path, monkeypatch)
    fields["folder"] = tmp_path / "a file"  # where the plots cannot be saved
    fields["folder"].write_text("")
    serial = SerialPlots()
    serial.submit(fields)
    with pytest.raises(OSError) as here:
        serial.plots()
    worker = PlotWorker()
    try:
        worker.submit(fields)
        with pytest.raises(OSError) as there:
            worker.plots()
    finally:
        worker.close()
    assert type(there.value) is type(here.value) and str(there.value) == str(here.value)
    assert there.value.filename == here.value.filename and "a file" in str(here.value)
    assert "Traceback" in str(there.value.__cause__) and "savefig" in str(there.value.__cause__)
    assert worker._process.returncode == 0  # the worker sent the error and ended; it was reaped


def _sent_back(error: Exception) -> BaseException:
    with pytest.raises(Exception) as raised:
        decode_outcome(encode_failure(error, "Traceback (the worker's)"))
    assert str(raised.value.__cause__) == "Traceback (the worker's)"
    return raised.value


@pytest.mark.parametrize("error", [
    UserInputError("study folder x does not exist"),  # the CLI: its message, exit code 2
    DiskFull("the disk filled up while saving"),  # exit code 1
    OSError(errno.ENOSPC, "No space left on device", "/s/plots/curves.png"),  # the CLI reads errno and file
    KeyError("search_val_acc"),
    UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
    OSError("cannot write mode RGBA as JPEG"),  # no errno, as libraries raise them
])
def test_an_error_comes_back_from_the_worker_as_the_cli_reads_it(error):
    back = _sent_back(error)
    assert type(back) is type(error) and back.args == error.args and str(back) == str(error)
    assert (getattr(back, "exit_code", None), getattr(back, "errno", None), getattr(back, "filename", None)) == \
           (getattr(error, "exit_code", None), getattr(error, "errno", None), getattr(error, "filename", None))


def test_an_error_of_another_type_comes_back_named():
    class PlotBug(Exception):  # not ours, not built in: never rebuilt from what the worker says
        pass

    back = _sent_back(PlotBug("the axes ran out"))
    assert type(back) is RuntimeError and str(back) == "PlotBug: the axes ran out"


def test_an_error_whose_arguments_cannot_be_sent_comes_back_with_its_message():
    back = _sent_back(ValueError(Path("/study/plots")))
    assert type(back) is ValueError and back.args == ("/study/plots",)
    back = _sent_back(ValueError(2**70))  # beyond MessagePack's integers
    assert type(back) is ValueError and str(back) == str(2**70)
    back = _sent_back(OSError(errno.ENOSPC, Path("/study/plots")))  # the CLI still reads the full disk
    assert type(back) is OSError and back.errno == errno.ENOSPC and "plots" in str(back)


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


def test_the_tables_reach_the_worker_as_they_are(tmp_path):
    """Arrow keeps dtypes and index; a column of mixed values (a key trials wrote differently)
    and one of dicts travel as values; the study is the same study."""
    folder = write_study_folder(tmp_path)
    study = read_study(str(folder))
    trials = pd.DataFrame({"trial_id": pd.array(["a", "b", None], dtype="str"), "epoch": [1, 2, 3],
                           "score": [0.5, float("nan"), 1e-300], "stopped": [True, False, True],
                           "state": pd.Categorical(["done", "stopped", "done"]),
                           "arch": pd.array(["x", None, "y"], dtype="string[pyarrow]"),  # held in Arrow chunks
                           "extra": [1, "two", None], "resource": [{"lambda": 0.1}, None, {"lambda": [1, 2]}]})
    by_arch = pd.DataFrame({"seeds": [2, 3]}, index=pd.Index(["x", "y"], name="arch"))
    fields = {"study": study, "trials": trials, "curves": trials.iloc[:0], "metric": "search_val_acc",
              "folder": tmp_path / "plots", "best": [{"score": np.float64(0.5), "rank": np.int64(1)}],
              "scales": {}, "settings": {"a": {"tau0": 5.0}, "b": None}, "lineages": {"a": [{"donor": "b"}]},
              "tables": {"retrain_vs_search": by_arch, "empty": pd.DataFrame(),
                         "notes": pd.DataFrame({"note": [None, "x"]})}}  # only an object column
    level, formatter = logging.WARNING, logging.Formatter("%(levelname)s %(name)s: %(message)s")
    received, log_format, log_level = read_job(io.BytesIO(encode_job(fields, (level, formatter))))
    assert received["study"] == study and received["folder"] == fields["folder"]
    for name in ("trials", "curves"):
        pd.testing.assert_frame_equal(received[name], fields[name], check_exact=True)
    assert [type(value) for value in received["trials"]["extra"]] == [int, str, type(None)]
    for name, table in fields["tables"].items():
        pd.testing.assert_frame_equal(received["tables"][name], table, check_exact=True)
    assert received["best"] == [{"score": 0.5, "rank": 1}]
    assert (received["settings"], received["lineages"]) == (fields["settings"], fields["lineages"])
    assert (log_level, log_format.format(logging.makeLogRecord({"msg": "m", "levelname": "WARNING", "name": "x"}))) \
        == (level, "WARNING x: m")


@pytest.mark.parametrize("value", [
    object(),  # no data type
    2**70,  # beyond MessagePack's integers
    ("a", 1),  # would come back a list, which cannot be grouped by
    np.float32(0.1),  # would come back a Python float, formatted differently
])
def test_a_value_the_wire_would_not_carry_as_it_is_is_refused(value):
    trials = pd.DataFrame({"extra": [value, "text"]})  # a column of Python objects
    with pytest.raises(Unsendable):
        encode_job({"trials": trials, "curves": trials}, (logging.WARNING, None))


def test_a_job_the_wire_cannot_carry_is_drawn_here(tmp_path, monkeypatch):
    fields = _job(tmp_path, monkeypatch)
    serial = SerialPlots()
    serial.submit(fields)
    drawn_here = serial.plots()
    fields["trials"] = fields["trials"].assign(extra=[2**70] * len(fields["trials"]))
    with pytest.raises(Unsendable):
        encode_job(fields, (logging.WARNING, None))
    worker = PlotWorker()
    try:
        worker.submit(fields)
        assert worker._process.returncode is not None  # stopped and reaped at once
        assert worker.plots() == drawn_here
    finally:
        worker.close()


def test_the_worker_imports_nothing_from_the_folder_it_starts_in(tmp_path, monkeypatch):
    """``cd`` into a copied study folder and ``analyze .``: a ``msgspec.py`` there is not run."""
    fields = _job(tmp_path / "study", monkeypatch)
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / "msgspec.py").write_text(f"open({str(planted / 'ran')!r}, 'w').close()\n")
    monkeypatch.chdir(planted)
    worker = PlotWorker()
    try:
        worker.submit(fields)
        assert len(worker.plots()) >= 4
    finally:
        worker.close()
    assert not (planted / "ran").exists()
