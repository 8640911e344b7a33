"""Running a study with Ray Tune: start, continue, and account for how it ended.

``start`` freezes the resolved study (with provenance) to ``<experiment>/study.yaml``
before any trial runs; ``resume`` reads it back.  Both end in ``finish``: it writes the
analysis, prints the best trial, its genotype and where everything is, and returns the
exit code -- 0, 1 when a trial errored, 2 when a trial could not read the data
(:mod:`harness.data_stop`), 130 when the run was interrupted (Tune's ``fit()``
returns normally after Ctrl-C, so an unfinished or missing trial is what tells; see
:func:`unfinished_trials`).
"""

from __future__ import annotations

import fnmatch
import json
import os
import sys
import warnings
from collections.abc import Callable, Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import storage
from harness.analysis.tune_state import (
    STATE_PATTERN,
    DamagedState,
    TuneTrial,
    newest_state_file,
    newest_state_name,
    parse_tune_state,
    read_tune_state,
)
from harness.cluster import check_resources, check_storage, ray_session
from harness.folder_entries import STATE_FILE_CAP
from harness.policies import Searcher
from harness.study import Study, check_trial_count
from harness.studyfolder import (
    SEARCHER_STATE_GLOBS,
    STUDY_FILE,
    TUNER_FILE,
    frozen_study_text,
    has_experiment,
    is_trial_folder_name,
    provenance,
    read_study,
    study_file,
    trial_id_of,
)
from harness.tracking.trackers import check_tracking, tracked
from snas.data.sets import DATASETS, check_present
from snas.errors import UserInputError

if TYPE_CHECKING:
    from harness.data_stop import DataFailureStop

EXIT_TRIAL_ERRORS = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def check_data(study: Study, address: str | None) -> None:
    """On this machine, refuse a study whose data files are plainly missing, before Ray starts.

    Only for local runs: on a cluster (``address``) the trials read the data on their own
    nodes, where this machine cannot look; there a missing set fails each trial with the
    same message.
    """
    if address is None:
        for cfg in study.data_configs():
            check_present(cfg)


def _storage_root(experiment_path: str) -> str:
    return experiment_path.rstrip("/").rsplit("/", 1)[0]


def _empty_local_folder(path: str) -> bool:
    return not storage.is_uri(path) and Path(path).is_dir() and not any(Path(path).iterdir())


NEVER_STARTED = "Tune wrote no state: the run that made it stopped before Tune began"


def _never_started(experiment_path: str) -> bool:
    """Whether a local study folder holds its study file but nothing of Tune's (no
    ``tuner.pkl``, experiment or searcher state) and no trial folder, so that no trial can
    have run in it (a folder that lost its Tune files but holds results is damaged instead)."""
    if storage.is_uri(experiment_path):
        return False
    folder = Path(experiment_path)
    try:
        names = os.listdir(folder)
    except OSError:
        return False
    tune_files = (TUNER_FILE in names or newest_state_file(folder) is not None
                  or any(fnmatch.fnmatch(name, pattern) for name in names for pattern in SEARCHER_STATE_GLOBS))
    return not tune_files and not any(is_trial_folder_name(name) for name in names)


def launch(study: Study, argv: list[str], address: str | None, quiet: bool, *, resume_existing: bool = False,
           overwrite: bool = False, allow_many_trials: bool = False) -> int:
    """Start ``study`` -- or continue it when it exists and ``resume_existing`` says so.

    An existing study of the same name is never silently replaced: it needs ``overwrite``.
    A new study of more than :data:`harness.study.MANY_TRIALS` trials needs ``allow_many_trials``.
    """
    check_data(study, address)  # before an --overwrite removes anything
    check_tracking(study)
    is_study = check_target(study, resume_existing=resume_existing, overwrite=overwrite)
    if resume_existing:
        if is_study:
            check_same_settings(study, study.experiment_path())
        return resume(study.experiment_path(), address, quiet)
    check_trial_count(study, allow_many_trials)
    return start(study, argv, address, quiet, replace=overwrite and is_study)


SETTINGS_RESUME_IGNORES = ("provenance", "storage", "description", "source.study", "source.selection",
                           "scheduler.source")
"""What may differ between a study folder's frozen study and the study a command would start
in it, none of which changes what its trials compute: who ran it, when and how
(provenance), where the folder lives (it was found where this study would be written), its
description, where a retrain's or replay's source study was read from (a folder copied or
reached by another path), and what picking a retrain's proxy genotypes took (seconds)."""


def _setting_differences(there: Any, here: Any, ignored: Collection[str],
                         key: str = "") -> Iterator[tuple[str, Any, Any]]:
    if isinstance(there, dict) and isinstance(here, dict):
        for part in dict.fromkeys([*there, *here]):
            dotted = f"{key}.{part}" if key else str(part)
            if dotted not in ignored:
                yield from _setting_differences(there.get(part), here.get(part), ignored, dotted)
    elif there != here:
        yield key, there, here


def _unread_root(study: Study) -> tuple[str, ...]:
    """``data.root`` where no trial reads it (a generated or bundled set, the data not varied):
    a default root is the working folder's ``data/``, which differs from folder to folder."""
    varies_data = any(key.startswith("data.") for key in study.space)
    return () if varies_data or DATASETS[study.data.dataset].reads_root else ("data.root",)


def _shown(value: Any, most: int = 40) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= most else text[:most - 1] + "…"


def check_same_settings(study: Study, experiment_path: str) -> None:
    """Refuse to continue the study at ``experiment_path`` as ``study`` when their settings
    differ: ``resume`` continues a study with the settings it started with, so an override or
    an edited study file given with ``--resume`` would be silently ignored."""
    frozen = read_study(experiment_path)
    there = frozen.resolved().model_dump(mode="json", by_alias=True)
    here = study.resolved().model_dump(mode="json", by_alias=True)
    changes = list(_setting_differences(there, here, (*SETTINGS_RESUME_IGNORES, *_unread_root(frozen))))
    if not changes:
        return
    shown = "; ".join(f"{key} {_shown(old)} there, {_shown(new)} here" for key, old, new in changes[:4])
    more = f"; and {len(changes) - 4} more" if len(changes) > 4 else ""
    raise UserInputError(
        f"{experiment_path} holds study {study.name!r} with other settings than this command's ({shown}{more}); "
        f"a study continues with the settings it started with: drop the changes, continue it as it started "
        f"with `snas-study resume {experiment_path}`, start it afresh with --overwrite, or give this one another "
        f"name (--set name=NAME)")


def check_target(study: Study, *, resume_existing: bool, overwrite: bool) -> bool:
    """Refuse the folder ``study`` would be written to, unless it is free, or a study that
    ``resume_existing`` continues or ``overwrite`` replaces; whether a study is there."""
    experiment = study.experiment_path()
    storage.make_local_root(_storage_root(experiment))
    is_study = has_experiment(experiment)
    if is_study or storage.exists(experiment):
        if resume_existing:
            return is_study
        if not is_study and not _empty_local_folder(experiment):
            raise UserInputError(
                f"{experiment} exists but is not a study folder (no {STUDY_FILE}); it is left alone: "
                f"move it away, or give the study another name or storage path")
        if not overwrite and is_study and _never_started(experiment):
            raise UserInputError(f"{experiment} holds a study named {study.name!r} that never started "
                                 f"({NEVER_STARTED}); start it afresh with --overwrite")
        if not overwrite:
            raise UserInputError(
                f"{experiment} already holds a study named {study.name!r}; continue it with "
                f"`snas-study resume {experiment}` (or --resume), start over with --overwrite, or give this "
                f"one another name (--set name=NAME)")
    elif resume_existing:
        raise UserInputError(f"there is no study at {experiment} to resume")
    return is_study


def start(study: Study, argv: list[str], address: str | None, quiet: bool, *, replace: bool = False) -> int:
    """Run ``study`` from scratch; ``replace`` removes the old study of that name, but only
    once every check has passed, so a refused run keeps it."""
    from harness.console import silent_tune
    from harness.tuner import build_tuner

    experiment_path = study.experiment_path()
    if 0 < study.resources.gpu < 1:
        warnings.warn(f"resources.gpu: {study.resources.gpu} puts {int(1 / study.resources.gpu)} trials on one GPU; "
                      "they share its memory, so each must fit in its share", stacklevel=1)
    with ray_session(address, state_api=study.resources.workers > 1):
        check_storage(study, experiment_path)  # before anything is written: a refusal leaves no trace
        check_resources(study, address)
        if replace:
            storage.remove_tree(experiment_path)
        frozen = study.model_copy(update={"provenance": provenance(argv)})
        storage.write_text(study_file(experiment_path), frozen_study_text(frozen))
        with tracked(frozen, experiment_path) as tracking, silent_tune():
            return tracking.ended(_fit_and_finish(study, experiment_path, lambda data_stop: build_tuner(
                study, _storage_root(experiment_path), quiet, tracking, data_stop)))


def _looks_pickled(path: Path) -> bool:
    """Whether ``path`` has the frame of a pickle (protocol 2 or later): its opening protocol
    mark and its closing STOP.  Checked without unpickling anything, so that a missing or
    garbled Tune file is refused in one line instead of a traceback from inside Tune."""
    with path.open("rb") as handle:
        head = handle.read(2)
        handle.seek(0, 2)
        if handle.tell() < 3:
            return False
        handle.seek(-1, 2)
        tail = handle.read(1)
    return head[:1] == b"\x80" and 2 <= head[1] <= 5 and tail == b"."


def check_resumable(experiment_path: str, searcher: Searcher) -> None:
    """Refuse, before Ray starts, a local study folder Tune cannot restore: its ``tuner.pkl``,
    its newest experiment state or its searcher's state missing or damaged.  (Whether a pickle
    that looks whole runs what it should is what only a trusted folder guarantees: see
    ``snas-study resume --help``.)"""
    if storage.is_uri(experiment_path):
        return
    folder = Path(experiment_path)
    reading = "`snas-study status`, `analyze` and `report` still read what it holds"
    tuner = folder / TUNER_FILE
    if _never_started(experiment_path):
        raise UserInputError(f"cannot resume {folder}: the study never started ({NEVER_STARTED}); start it afresh: "
                             f"run the command that made it (run, retrain or replay) again with --overwrite")
    if not tuner.is_file():
        raise UserInputError(f"cannot resume {folder}: Tune's {TUNER_FILE} is missing (Tune restores a study from "
                             f"it); {reading}")
    state = newest_state_file(folder)
    if state is None:
        raise UserInputError(f"cannot resume {folder}: Tune's experiment state ({STATE_PATTERN}) is missing, so it "
                             f"is unknown which trials ended; {reading}")
    try:
        read_tune_state(state)
    except DamagedState as err:
        raise UserInputError(f"cannot resume {folder}: Tune's experiment state {state.name} is damaged ({err}); "
                             f"{reading}") from None
    pickles = [tuner] + [files[-1] for files in (sorted(folder.glob(g)) for g in SEARCHER_STATE_GLOBS) if files]
    for path in pickles:
        if not path.is_file() or not _looks_pickled(path):
            raise UserInputError(f"cannot resume {folder}: Tune's {path.name} is damaged (not a whole pickle); "
                                 f"{reading}")
    if searcher.state_glob is not None:
        saved = sorted(folder.glob(searcher.state_glob))
        if not saved:
            raise UserInputError(f"cannot resume {folder}: its {searcher.title} searcher's state "
                                 f"({searcher.state_glob}) is missing (a study started by a version before 0.2 "
                                 f"cannot be continued); {reading}")
        try:
            state = json.loads(saved[-1].read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as err:  # not UTF-8, not JSON, too long or deep
            raise UserInputError(f"cannot resume {folder}: its searcher's state {saved[-1].name} is damaged "
                                 f"({err}); {reading}") from None
        if not isinstance(state, dict):
            raise UserInputError(f"cannot resume {folder}: its searcher's state {saved[-1].name} is damaged (not a "
                                 f"JSON object); {reading}")
        try:
            searcher.check_saved_state(state)
        except ValueError as err:
            raise UserInputError(f"cannot resume {folder}: its searcher's state {saved[-1].name} cannot be "
                                 f"continued from ({err}); {reading}") from None


def resume(experiment_path: str, address: str | None, quiet: bool) -> int:
    from harness.console import silent_tune
    from harness.tuner import restore_tuner

    study = read_study(experiment_path)
    check_resumable(experiment_path, study.searcher)
    ended = ended_trials(experiment_path)
    if len(ended) >= study.expected_trials():
        again = "" if storage.is_uri(experiment_path) else "; its analysis is written again"
        print(f"study {study.name} had finished: all {len(ended)} trials ended, so none is continued{again}",
              flush=True)
        write_and_describe(study, experiment_path)
        return 0
    check_data(study, address)
    check_tracking(study)
    with ray_session(address, state_api=study.resources.workers > 1):
        check_storage(study, experiment_path)
        check_resources(study, address)
        with tracked(study, experiment_path, resuming=True) as tracking, silent_tune():
            return tracking.ended(_fit_and_finish(study, experiment_path, lambda data_stop: restore_tuner(
                study, experiment_path, quiet, tracking, data_stop)))


def ended_trials(experiment_path: str) -> set[str]:
    """The trials Tune's newest saved experiment state lists as TERMINATED, in a local folder
    or in remote storage (none when the state cannot be read).

    Read after ``fit()``, this is what tells which trials ended: Tune saves the state once
    more when its loop stops and only then, in its cleanup, stops the trials a Ctrl-C left
    running and marks them TERMINATED in the grid it returns; the saved state still lists
    those as running (``resume`` continues them) and an errored trial as ERROR (``resume``
    retries it)."""
    try:
        listed = _saved_trials(experiment_path)
    except (DamagedState, OSError, UserInputError):
        return set()
    return {trial.trial_id for trial in listed if trial.state == "TERMINATED"}


def _saved_trials(experiment_path: str) -> list[TuneTrial]:
    if not storage.is_uri(experiment_path):
        state = newest_state_file(Path(experiment_path))
        return read_tune_state(state) if state is not None else []
    name = newest_state_name(storage.uri_file_names(experiment_path))
    if name is None:
        return []
    return parse_tune_state(storage.read_text(f"{experiment_path.rstrip('/')}/{name}", STATE_FILE_CAP))


def _fit_and_finish(study: Study, experiment_path: str, tuner_of: Callable[[DataFailureStop], Any]) -> int:
    """Run the tuner ``tuner_of`` builds around this run's stop at a failure on the data, and
    account for how it ended (:func:`finish`; 130 when a second Ctrl-C cut it short)."""
    from harness.data_stop import DataFailureStop

    data_stop = DataFailureStop()
    try:
        results = _fit(tuner_of(data_stop), experiment_path)
        return EXIT_INTERRUPTED if results is None else finish(study, experiment_path, results, data_stop)
    finally:
        data_stop.close()


def _fit(tuner: Any, experiment_path: str) -> Any:
    """Tune's ``fit()``, or None when a second Ctrl-C cut it short.

    Tune answers the first Ctrl-C by stopping the trials and saving the experiment; it
    then gives SIGINT back to Python, so a second one raises ``KeyboardInterrupt`` out of
    that last save.  The study is still resumable from the state and checkpoints saved
    before, so say how instead of a traceback.
    """
    try:
        return tuner.fit()
    except KeyboardInterrupt:
        print(f"the study was interrupted before its final state was saved; continue it with: "
              f"snas-study resume {experiment_path}", file=sys.stderr)
        return None


def _trial_id(result: Any) -> str | None:
    """The id of the trial behind one of Tune's results, from its folder's name: the result's
    metrics can be another trial's (a population-based trial restored from a donor's
    checkpoint starts from the donor's last result)."""
    name = str(result.path).rstrip("/").rsplit("/", 1)[-1] if result.path else ""
    return trial_id_of(name) if is_trial_folder_name(name) else result.metrics.get("trial_id")


def unfinished_trials(results: Any, ended: Collection[str] = frozenset()) -> int:
    """How many trials of Tune's ``ResultGrid`` neither ended nor errored.

    A trial has ended when its trainable returned (all its epochs, or diverged) or the
    scheduler stopped it.  The states in the grid cannot tell this: after Ctrl-C, Tune's
    cleanup stops the trials it was still running and marks them TERMINATED there.  Two
    signs can: the saved experiment state (``ended``, :func:`ended_trials`) and ``done`` in
    a trial's last result.  Either is enough, and neither alone suffices: Tune may save a
    finished trial's last result before it says ``done`` (a resumed study restores it
    without), and a population-based trial's last result has been seen without ``done``
    although the trial ran all its epochs and the state lists it TERMINATED (Ray 2.60, one
    run in a few under load).  A trial waiting to be retried after a failure has an error
    but is not ERROR yet: it is unfinished too.
    """
    finished = sum(1 for result in results if result.error is None and (
        result.metrics.get("done") or _trial_id(result) in ended))
    return len(results) - finished - results.num_errors


def write_and_describe(study: Study, experiment_path: str) -> None:
    """Write a local study's analysis and report, and print its summary; for one in remote
    storage, say how to analyse it."""
    from harness.analysis.report import render_report
    from harness.analysis.summary import write_analysis

    if storage.is_uri(experiment_path):
        print(f"results are in {experiment_path}; copy the folder to this machine and run "
              f"`snas-study report FOLDER` for the tables, plots and report", flush=True)
        return
    summary = write_analysis(experiment_path, study=study, page=render_report)
    print(summary.describe(), flush=True)
    print(f"report: {summary.report}", flush=True)


def _failed_line(errored: int, experiment_path: str) -> str:
    return (f"{errored} trial(s) failed; see `snas-study status {experiment_path}` for their errors "
            f"(`snas-study resume {experiment_path}` retries them)")


def finish(study: Study, experiment_path: str, results: Any, data_stop: DataFailureStop | None = None) -> int:
    errored = results.num_errors
    finished = len(results) - unfinished_trials(results, ended_trials(experiment_path))
    interrupted = finished < len(results) or len(results) < study.expected_trials()
    write_and_describe(study, experiment_path)
    stopped = data_stop.message(experiment_path) if data_stop is not None else None
    if stopped is not None:
        if errored:
            print(_failed_line(errored, experiment_path), file=sys.stderr)
        print(stopped, file=sys.stderr)
        return EXIT_BAD_INPUT
    if interrupted:
        print(f"the study was interrupted ({finished} of {study.expected_trials()} trials ended); "
              f"continue it with: snas-study resume {experiment_path}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if errored:
        print(_failed_line(errored, experiment_path), file=sys.stderr)
        return EXIT_TRIAL_ERRORS
    return 0
