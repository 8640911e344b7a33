"""What the analysis read of each trial folder, remembered between analyses of a study.

A study of 10,000 trials is read file by file in several seconds; analysed again (a grown
study, another ``--metric``, ``status`` while it runs), only the trials whose files
changed since are read again.  Each trial's entry is keyed by the size, modification
time and mode of every file the analysis reads in its folder (and the names of its
checkpoint folders), and by whether it was still being written; any change, and the trial
is read afresh.  Tune's experiment state, whose 10,000 JSON texts take half a second to
parse, is remembered the same way, keyed by its name, size, modification time and mode;
a damaged one is never remembered.

The cache lives in the user's cache folder (``$SNAS_STUDY_CACHE``, else
``$XDG_CACHE_HOME/snas-study``, else ``~/.cache/snas-study``), one JSON file per study
folder, never in the study folder: a folder copied from elsewhere cannot bring entries
of its own, and what is remembered is only what this tool read and checked itself.  A
cache that cannot be read or written, or holds entries of another shape or version, is no
error: the study, or the trials concerned, are then read from their files.

A trial's curve, parameters, genotype and settings are stored as the JSON text they were
read from (:attr:`~harness.analysis.trial_files.TrialFiles.texts`), not encoded again:
writing those of 10,000 trials took a second, most of it spelling out a million floats.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from harness.analysis.json_read import loads
from harness.analysis.trial_files import Damage, FolderSeen, TrialFiles, compact_json
from harness.analysis.tune_state import TuneTrial
from harness.studyfolder import (
    ERROR_FILE,
    GENOTYPE_FILE,
    METRICS_FILE,
    PARAMS_FILE,
    RESULT_FILE,
    TRIAL_CONFIG_FILE,
    checkpoint_folder_names,
    is_trial_folder_name,
)
from harness.trialconfig import ResolvedConfig, parse_resolved_config
from snas.atomic import atomic_write

log = logging.getLogger(__name__)
VERSION = 2
"""Bumped whenever what is stored, or how a trial folder is read, changes: a cache of another
version is ignored (and replaced by the next analysis)."""
_READ_FILES = (RESULT_FILE, METRICS_FILE, PARAMS_FILE, GENOTYPE_FILE, ERROR_FILE, TRIAL_CONFIG_FILE)


def cache_folder() -> Path:
    configured = os.environ.get("SNAS_STUDY_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "snas-study"


def _cache_file(study_folder: Path) -> Path:
    digest = hashlib.sha256(str(study_folder).encode("utf-8")).hexdigest()[:20]
    return cache_folder() / f"trials-{digest}.json"


def signature(folder: Path, still_written: bool) -> list[Any] | None:
    """What an entry is valid for: ``still_written``, then each read file's size,
    modification time and mode in :data:`_READ_FILES`' order (three ``None`` for an absent
    file), then the checkpoint folders' names; None when the folder cannot be listed (it is
    read, and judged, afresh).  Flat, so that 10,000 of them decode in milliseconds."""
    try:
        with os.scandir(folder) as listing:
            entries = {entry.name: entry for entry in listing}
        found = {}
        for name in _READ_FILES:
            try:
                found[name] = entries[name].stat(follow_symlinks=False)
            except (KeyError, FileNotFoundError):
                pass
    except OSError:
        return None
    return _signature(still_written, FolderSeen(found, checkpoint_folder_names(entries)))


def _signature(still_written: bool, seen: FolderSeen) -> list[Any]:
    """:func:`signature` of a folder as ``seen``."""
    sign: list[Any] = [still_written]
    for name in _READ_FILES:
        info = seen.files.get(name)
        sign += (None, None, None) if info is None else (info.st_size, info.st_mtime_ns, info.st_mode)
    sign.append(seen.checkpoints)
    return sign


def _state_signature(state_file: Path) -> list[Any] | None:
    """What the cached experiment state is valid for: the file's name, size, modification
    time and mode; None when it cannot be examined."""
    try:
        info = os.lstat(state_file)
    except OSError:
        return None
    return [state_file.name, info.st_size, info.st_mtime_ns, info.st_mode]


def _state_to_json(trials: list[TuneTrial]) -> list[list[Any]]:
    return [[t.trial_id, t.state, t.dir_name, t.config, t.num_failures] for t in trials]


def _state_from_json(entries: list[list[Any]]) -> list[TuneTrial]:
    """The remembered trials; a ValueError for a folder name :mod:`harness.analysis.tune_state`
    would have refused (a cache is never trusted to point outside the study folder)."""
    trials = [TuneTrial(trial_id, state, dir_name, config, failures)
              for trial_id, state, dir_name, config, failures in entries]
    if any(t.dir_name is not None and not is_trial_folder_name(t.dir_name) for t in trials):
        raise ValueError("a trial folder outside the study folder")
    return trials


def _resolved_json(resolved: ResolvedConfig | None) -> dict[str, Any] | None:
    """A trial's ``config.json`` as cached when its text is not at hand; its lineage only where
    it has one (a PBT trial's)."""
    if resolved is None:
        return None
    entry = {"kind": resolved.kind, "config": resolved.config, "changes": resolved.changes}
    if resolved.lineage or resolved.exploits:
        entry.update(lineage=resolved.lineage, exploits=resolved.exploits)
    return entry


def _entry_json(sign: list[Any], files: TrialFiles, folder: Path) -> str:
    """The JSON text of a trial's entry, with the texts it was read from spliced in as they
    are (:attr:`TrialFiles.texts`)."""
    parts = {"rows": files.rows, "params": files.params, "genotype": files.genotype,
             "resolved": _resolved_json(files.resolved)}
    rest = {
        "trusted": files.curve_trusted, "error": files.error, "opened": files.opened,
        "checkpoint": None if files.checkpoint is None else str(files.checkpoint.relative_to(folder)),
        "damage": [[str(d.path.relative_to(folder)), d.problem] for d in files.damage],
    }
    spliced = "".join(f'"{name}":{files.texts[name] if name in files.texts else compact_json(value)},'
                      for name, value in parts.items())
    return f'{{"signature":{compact_json(sign)},"files":{{{spliced}{compact_json(rest)[1:]}}}'


def _from_json(entry: dict[str, Any], folder: Path) -> TrialFiles:
    """The trial's files as remembered (its settings: the ``config.json`` it was read from, or
    :func:`_resolved_json`'s, refused as :func:`parse_resolved_config` refuses a ``config.json``:
    the cache sits in a study folder a user may have copied or edited); a KeyError, TypeError or
    ValueError for an entry of another shape."""
    resolved = entry["resolved"]
    if not (resolved is None or isinstance(resolved, dict)):
        raise ValueError("settings that are not an object")
    return TrialFiles(
        rows=entry["rows"], curve_trusted=entry["trusted"], params=entry["params"], genotype=entry["genotype"],
        error=entry["error"], opened=entry["opened"],
        resolved=None if resolved is None else parse_resolved_config(resolved),
        checkpoint=None if entry["checkpoint"] is None else folder / entry["checkpoint"],
        damage=[Damage(folder / path, problem) for path, problem in entry["damage"]],
    )


class TrialCache:
    """The remembered trial folders and experiment state of one study folder
    (:func:`load`, then :meth:`save`)."""

    def __init__(self, study_folder: Path, entries: dict[str, Any], state: Any = None):
        self.study_folder = study_folder
        self._entries = entries
        self._kept: dict[str, dict[str, Any] | str] = {}
        """The entries to write: those remembered, and those read this time as JSON text."""
        self._state = state
        self._kept_state: Any = None
        self.changed = False

    @classmethod
    def load(cls, study_folder: Path) -> TrialCache:
        path = _cache_file(study_folder)
        try:
            stored = loads(path.read_bytes())
        except FileNotFoundError:
            return cls(study_folder, {})
        except (OSError, ValueError, RecursionError) as err:
            log.info("the analysis cache %s cannot be read (%s); the study is read from its files", path, err)
            return cls(study_folder, {})
        fits = isinstance(stored, dict) and stored.get("version") == VERSION and \
            stored.get("folder") == str(study_folder) and isinstance(stored.get("trials"), dict)
        return cls(study_folder, stored["trials"], stored.get("state")) if fits else cls(study_folder, {})

    def tune_state(self, state_file: Path, read: Callable[[Path], list[TuneTrial]]) -> list[TuneTrial]:
        """The trials of Tune's experiment state as ``read(state_file)`` lists them, from the
        cache when the file has not changed since; a damaged file is never remembered, so
        ``read`` raises for it every time."""
        sign = _state_signature(state_file)
        entry = self._state
        if sign is not None and isinstance(entry, dict) and entry.get("signature") == sign:
            try:
                trials = _state_from_json(entry["trials"])
            except (KeyError, TypeError, ValueError):
                trials = None  # an entry of another shape: read afresh
            if trials is not None:
                self._kept_state = entry
                return trials
        trials = read(state_file)
        if sign is not None and sign == _state_signature(state_file):  # unchanged while being read
            self._kept_state = {"signature": sign, "trials": _state_to_json(trials)}
            self.changed = True
        return trials

    def read(self, folder: Path, still_written: bool, read: Callable[[Path, bool], TrialFiles]) -> TrialFiles:
        """The trial folder's files as ``read(folder, still_written)`` gives them, from the
        cache when the folder has not changed since.  A trial never read before is keyed by
        what its read found (:attr:`TrialFiles.seen`), else by its signature taken before it
        is read: either way, a file changed while read no longer fits the entry."""
        key = folder.name
        entry = self._entries.get(key)
        if entry is None:
            fresh = read(folder, still_written)
            return self._keep(key, None if fresh.seen is None else _signature(still_written, fresh.seen), fresh,
                              folder)
        sign = signature(folder, still_written)
        if sign is not None and isinstance(entry, dict) and entry.get("signature") == sign:
            try:
                files = _from_json(entry["files"], folder)
            except (KeyError, TypeError, ValueError):
                files = None  # an entry of another shape: read afresh
            if files is not None:
                self._kept[key] = entry
                return files
        return self._keep(key, sign, read(folder, still_written), folder)

    def _keep(self, key: str, sign: list[Any] | None, files: TrialFiles, folder: Path) -> TrialFiles:
        """``files``, read just now, remembered under ``sign`` (``None``: not remembered)."""
        if sign is not None:
            self._kept[key] = _entry_json(sign, files, folder)
            self.changed = True
        return files

    def save(self) -> None:
        """Write the entries of the trials (and state) read this time, those of vanished
        folders dropped."""
        if not self.changed and set(self._kept) == set(self._entries) and self._kept_state == self._state:
            return
        path = _cache_file(self.study_folder)
        try:
            atomic_write(path, self._write)
        except OSError as err:
            log.info("the analysis cache %s cannot be written (%s)", path, err)

    def _write(self, handle: BinaryIO) -> None:
        """The cache as one JSON object, written entry by entry."""
        head = compact_json({"version": VERSION, "folder": str(self.study_folder), "state": self._kept_state})
        handle.write(f'{head[:-1]},"trials":{{'.encode())
        for index, (key, entry) in enumerate(self._kept.items()):
            text = entry if isinstance(entry, str) else compact_json(entry)
            handle.write(f'{"," if index else ""}{compact_json(key)}:{text}'.encode())
        handle.write(b"}}")
