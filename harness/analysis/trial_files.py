"""A trial folder's files, read so that a damaged one is named instead of crashing the analysis.

A trial's curve is its loop's own history (``metrics.jsonl``, one line per epoch of the
lineage that led to its last state), joined with Tune's bookkeeping columns
(``time_total_s``, ...) from ``result.json``; folders from before ``metrics.jsonl`` existed
are read from ``result.json`` alone.  Folders travel between machines and disks fill up, so
any file may be cut short or garbled: each reader here returns what is intact plus one
:class:`Damage` per damaged file.  When ``metrics.jsonl`` is damaged, the curve comes from
whichever of the two files holds more intact epochs; a curve taken from a damaged file is
marked untrusted, and the analysis keeps such a trial out of its rankings.  A line is
intact when it is a JSON object whose every known value can be a measurement
(:mod:`harness.analysis.values`); in ``metrics.jsonl``, the loop's history, the k-th line
also holds epoch k.  Only plain files of the trial folder are read, each up to a cap
(:mod:`harness.folder_entries`): a link, a pipe, a folder or an enormous file where a
file belongs is damage, named and never followed.
"""

from __future__ import annotations

import functools
import json
import operator
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from harness.analysis.json_read import loads
from harness.analysis.values import row_problem
from harness.folder_entries import TRIAL_FILE_CAP, Refused, is_file, is_folder, read_file
from harness.studyfolder import (
    CHECKPOINT_FILE,
    ERROR_FILE,
    GENOTYPE_FILE,
    METRICS_FILE,
    PARAMS_FILE,
    RESULT_FILE,
    TRIAL_CONFIG_FILE,
    checkpoint_folder_names,
    error_line,
)
from harness.trialconfig import ResolvedConfig, parse_resolved_config
from snas.spaces import genotype_from_dict

T = TypeVar("T")
Row = dict[str, Any]
Line = tuple[Row, str]
"""An intact line: its row and its JSON text (kept for the cache, :attr:`TrialFiles.texts`)."""
_JSON_SPACE = " \t\r\n"


@dataclass(frozen=True)
class Damage:
    """A file of the study folder that could not be read as written, and what is wrong with it."""

    path: Path
    problem: str

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


@dataclass(frozen=True)
class FolderSeen:
    """A trial folder as a read found it: each file it opened or tried (its ``lstat``, as
    :func:`~harness.folder_entries.read_file` notes it; an absent file is not there) and the
    names of its checkpoint folders, sorted.  A version of a file changed after it was opened
    reads as changed afterwards, so an entry of the analysis cache keyed by this is never
    taken for a newer version of the folder; the cache then needs no second look at every
    file (:func:`harness.analysis.trial_cache.signature`: a tenth of a first read)."""

    files: dict[str, os.stat_result]
    checkpoints: list[str]


@dataclass
class TrialFiles:
    """What a trial folder holds that the analysis uses."""

    rows: list[dict[str, Any]]
    """The curve: one row per epoch, every reported value (the loop's and Tune's)."""
    curve_trusted: bool
    params: dict[str, Any] | None
    genotype: dict[str, Any] | None
    error: str | None
    resolved: ResolvedConfig | None = None
    """The trial's ``config.json``: the settings it ran with (trials of versions before 0.2 have none)."""
    checkpoint: Path | None = None
    """The newest checkpoint file (a plain file in a real checkpoint folder), not read."""
    damage: list[Damage] = field(default_factory=list)
    opened: bool = True
    """False when the trial's folder is not a real folder (it was not entered)."""
    seen: FolderSeen | None = field(default=None, compare=False)
    """What this read found in the trial's real folder (``None``: none entered, or one that
    could not be listed); the analysis cache keys the trial's entry by it."""
    texts: dict[str, str] = field(default_factory=dict, compare=False)
    """The JSON text of ``rows`` (made of the lines they were read from), ``params``,
    ``genotype`` and ``resolved``, each where read: the analysis cache stores them as they
    are, where encoding the million floats of 10,000 trials again took most of a second."""


def _whole_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _decoded(text: str, known: Line | None) -> tuple[Any, Any]:
    """``json.loads(text)``, sparing what it repeats of the intact loop's line ``known``, and
    the part of it whose values are still to be judged.  Tune's report of an epoch begins
    with the members of the loop's line, and such a line is that line's object overlaid with
    the rest, parsed alone: JSON reads members in order, so this is the same object, and the
    whole is valid exactly when the rest is and holds a member.  When the rest names none of
    the loop's names, only its values are still to be judged."""
    if known is not None:
        head = "{" + _members(known[1]) + ","
        if text.startswith(head):
            rest = loads("{" + text[len(head):])
            if rest:
                return {**known[0], **rest}, rest if rest.keys().isdisjoint(known[0]) else None
    return loads(text), None


def _line_problem(raw: bytes, key: str, epoch: int | None, known: Line | None) -> tuple[Line | None, str | None]:
    """The row and text of one line, or what is wrong with it; ``epoch``: the epoch the line
    must hold (``None``: any); ``known``: a line it may begin with (:func:`_decoded`)."""
    try:
        text = raw.decode("utf-8")
        row, unjudged = _decoded(text, known)
    except UnicodeDecodeError:
        return None, "not UTF-8 text"
    except (ValueError, RecursionError):  # JSONDecodeError, or an integer of over 4,300 digits
        return None, "not JSON"
    if not isinstance(row, dict):
        return None, f"a JSON {type(row).__name__}, not an object"
    if not _whole_number(row.get(key)):
        return None, f"no whole-number {key!r}"
    problem = row_problem(row if unjudged is None else unjudged, diverged=row.get("diverged") is True)
    if problem is None and epoch is not None and row[key] != epoch:
        problem = f"{key} {row[key]} out of order (line {epoch} of a history holds {key} {epoch})"
    return ((row, text), None) if problem is None else (None, problem)


def _read_json_lines(data: bytes, key: str, still_written: bool, in_order: bool, known: list[Line]
                     ) -> tuple[list[Line], str | None]:
    """The intact rows of a JSON-lines file (each an object with a whole-number ``key``, and
    with ``in_order`` the k-th line holding ``key`` k) and what is wrong with the others;
    the k-th line may begin with ``known``'s k-th (the loop's history, which Tune's reports
    repeat).  The unterminated last line of a running trial's file is one still being
    written, not damage."""
    lines = data.split(b"\n")
    terminated = lines[-1] == b""
    if terminated:
        lines.pop()
    rows, problems, written = [], [], 0
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        written += 1
        line, problem = _line_problem(raw, key, written if in_order else None,
                                      known[written - 1] if written <= len(known) else None)
        if line is not None:
            rows.append(line)
            continue
        cut = number == len(lines) and not terminated
        if cut and still_written:
            continue
        problems.append(f"line {number}: {'cut off mid-line' if cut and problem == 'not JSON' else problem}")
    if not problems:
        return rows, None
    more = f" and {len(problems) - 1} more" if len(problems) > 1 else ""
    return rows, f"{len(problems)} of {len(lines)} lines unreadable ({problems[0]}{more})"


def _by_epoch(reports: list[Line]) -> dict[int, Line]:
    """Tune's reports by epoch: an epoch re-run after a restart was reported twice, its last report is kept."""
    return {line[0]["training_iteration"]: line for line in reports}


_COMPACT = json.JSONEncoder(check_circular=False, separators=(",", ":"))


def compact_json(value: Any) -> str:
    """``value`` as JSON without spaces (what the analysis cache stores), not checked for
    cycles: it holds only what JSON texts were parsed into.  One encoder for every call:
    ``json.dumps`` with these options builds one per call."""
    return _COMPACT.encode(value)


def _members(text: str) -> str:
    """The members of the JSON object ``text`` (its text between the braces)."""
    return text.strip(_JSON_SPACE)[1:-1].strip(_JSON_SPACE)


def _joined(report: Line | None, metrics: Line) -> Line:
    """The epoch's row: Tune's report of it overlaid with the loop's own values, and its text.

    Tune's report begins with the loop's line and adds its own names.  When it holds the
    loop's very values (the same objects: :func:`_decoded` took them from the loop's row),
    the text is the report's line with the epoch; when it begins with the loop's names, the
    loop's line followed by Tune's own names encoded; else the members of both lines in one object,
    which JSON reads as the same overlay (a name given twice keeps its first place and takes
    its last value), only longer.  Encoding whole rows took most of the time of writing
    the cache."""
    row, text = metrics
    epoch = row["epoch"]
    last = f'"training_iteration":{epoch}'
    if report is None:
        return {**row, "training_iteration": epoch}, _object(_members(text), last)
    joined = {**report[0], **row, "training_iteration": epoch}
    if row.keys() <= report[0].keys() and all(map(operator.is_, map(report[0].__getitem__, row), row.values())):
        return joined, _object(_members(report[1]), last)  # the overlay changes nothing but the epoch
    if tuple(islice(report[0], len(row))) == tuple(row):
        own = {name: joined[name] for name in islice(joined, len(row), None)}
        try:
            return joined, _object(_members(text), compact_json(own)[1:-1], last)
        except (ValueError, RecursionError):  # a value nested too deep to encode: the lines as written
            pass
    return joined, _object(_members(report[1]), _members(text), last)


def _object(*members: str) -> str:
    """The JSON object of the member lists ``members`` (empty ones left out)."""
    return "{" + ",".join(part for part in members if part) + "}"


def _read_lines_file(path: str, key: str, still_written: bool, in_order: bool, known: list[Line],
                     found: dict[str, os.stat_result]) -> tuple[list[Line], str | None] | None:
    """:func:`_read_json_lines` of the file ``path`` (noted in ``found``); ``None`` when it is
    absent.  A file that cannot be read at all has no intact rows."""
    try:
        data = read_file(path, TRIAL_FILE_CAP, found)
    except Refused as err:
        return [], str(err)
    return None if data is None else _read_json_lines(data, key, still_written, in_order, known)


def _read_curve(folder: str, still_written: bool, damage: list[Damage], found: dict[str, os.stat_result]
                ) -> tuple[list[Line], bool]:
    """The trial's curve (a row per epoch, with its text) and whether it comes from an intact file."""
    result_path, metrics_path = os.path.join(folder, RESULT_FILE), os.path.join(folder, METRICS_FILE)
    read = _read_lines_file(metrics_path, "epoch", still_written, in_order=True, known=[], found=found)
    reports, reports_problem = (_read_lines_file(result_path, "training_iteration", still_written, in_order=False,
                                                 known=[] if read is None else read[0], found=found)
                                or ([], None))
    report_of_epoch = _by_epoch(reports)
    from_reports = [report_of_epoch[epoch] for epoch in sorted(report_of_epoch)]
    if reports_problem:
        damage.append(Damage(Path(result_path), reports_problem))
    if read is None:
        return from_reports, reports_problem is None
    history, history_problem = read
    joined = [_joined(report_of_epoch.get(metrics[0]["epoch"]), metrics) for metrics in history]
    if history_problem is None:
        return joined, True
    if len(report_of_epoch) > len(history) or (reports_problem is None and len(report_of_epoch) == len(history)):
        damage.append(Damage(Path(metrics_path), f"{history_problem}; the curve is read from {RESULT_FILE} "
                                           f"({len(report_of_epoch)} epochs) instead"))
        return from_reports, reports_problem is None
    damage.append(Damage(Path(metrics_path), history_problem))
    return joined, False


def _read_bytes(path: str, damage: list[Damage], found: dict[str, os.stat_result]) -> bytes | None:
    """The bytes of the trial file ``path`` (noted in ``found``); ``None`` when it is absent
    or refused (noted in ``damage``)."""
    try:
        return read_file(path, TRIAL_FILE_CAP, found)
    except Refused as err:
        damage.append(Damage(Path(path), str(err)))
        return None


def _read_text(path: str, damage: list[Damage], found: dict[str, os.stat_result]) -> str | None:
    data = _read_bytes(path, damage, found)
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        damage.append(Damage(Path(path), "not UTF-8 text"))
        return data.decode("utf-8", errors="replace")


def _json_object(text: str) -> dict[str, Any]:
    """The object the JSON text ``text`` holds; a ValueError saying what it holds instead."""
    try:
        value = loads(text)
    except (ValueError, RecursionError) as err:  # JSONDecodeError, or an integer of over 4,300 digits
        raise ValueError(f"not JSON ({err})") from None
    if not isinstance(value, dict):
        raise ValueError(f"a JSON {type(value).__name__}, not an object")
    return value


def _read_json_object(path: str, damage: list[Damage], found: dict[str, os.stat_result],
                      check: Callable[[str], tuple[T, str]]) -> tuple[T, str] | None:
    """What ``check(text)`` makes of the text of the JSON file ``path`` (its object, as
    :func:`_json_object` reads it, and its text); ``None`` (and the damage noted) when it is
    missing, not UTF-8, not JSON, not an object or refused by ``check`` (a ValueError)."""
    data = _read_bytes(path, damage, found)
    if data is None:
        return None
    try:
        return check(data.decode("utf-8"))
    except UnicodeDecodeError:
        damage.append(Damage(Path(path), "not UTF-8 text"))
    except ValueError as err:  # a UserInputError too
        damage.append(Damage(Path(path), str(err)))
    return None


def _error_line(text: str | None) -> str | None:
    if text is None:
        return None
    return error_line(text) or "failed (empty error.txt)"


def _checked(check: Callable[[Path], bool], path: Path, damage: list[Damage]) -> bool:
    """``check(path)`` (:func:`~harness.folder_entries.is_folder` or ``is_file``); a refused
    entry is noted as damage and is ``False``."""
    try:
        return check(path)
    except Refused as err:
        damage.append(Damage(path, str(err)))
        return False


def _checkpoint_names(folder: Path) -> list[str] | None:
    """The checkpoint folders' names, sorted; ``None`` when the folder cannot be listed."""
    try:  # the names Path.glob would give, without its pattern machinery (a tenth of a second at 10,000 trials)
        return checkpoint_folder_names(os.listdir(folder))
    except PermissionError:
        return None


def latest_checkpoint(folder: Path, names: list[str], damage: list[Damage]) -> Path | None:
    """The newest ``checkpoint_*/checkpoint.pt`` of the checkpoint folders ``names``, not
    read; a checkpoint folder or file that is a link or not what its name says is damage (a
    retrain would read it)."""
    found = None
    for entry in (folder / name for name in names):
        if _checked(is_folder, entry, damage) and _checked(is_file, entry / CHECKPOINT_FILE, damage):
            found = entry / CHECKPOINT_FILE
    return found


def _as_written(text: str) -> tuple[dict[str, Any], str]:
    return _json_object(text), text


def _checked_genotype(text: str) -> tuple[dict[str, Any], str]:
    """``genotype.json``'s object as a genotype of its space writes it, and that text (a
    ValueError when it is none)."""
    written = _genotype_json(text)
    return loads(written), written


def _resolved(text: str) -> tuple[ResolvedConfig, str]:
    return parse_resolved_config(_json_object(text)), text


@functools.lru_cache(maxsize=65536)
def _genotype_json(text: str) -> str:
    """The genotype in the text of a ``genotype.json``, as its space writes it (keys sorted
    before it is read, as when the cache of checked genotypes was keyed by them); checked
    once per distinct text: the trials of a study derive many of the same cells."""
    canonical = json.dumps(_json_object(text), sort_keys=True)
    return json.dumps(genotype_from_dict(json.loads(canonical)).to_dict())


def read_trial_files(folder: Path, still_written: bool) -> TrialFiles:
    """Everything the analysis reads from one trial folder; ``still_written`` when the trial
    has not ended (its files may be mid-write).  A trial folder that is not a real folder
    is not entered: it is one damage and nothing else."""
    try:
        exists = is_folder(folder)  # absent: a trial that has not started writes nothing yet
    except Refused as err:
        return TrialFiles([], False, None, None, None, damage=[Damage(folder, str(err))], opened=False)
    damage: list[Damage] = []
    found: dict[str, os.stat_result] = {}
    where = str(folder)  # its files' paths joined as text, made Paths only to name damage (Path joins were 5%)
    curve, trusted = _read_curve(where, still_written, damage, found)
    params = _read_json_object(os.path.join(where, PARAMS_FILE), damage, found, _as_written)
    genotype = _read_json_object(os.path.join(where, GENOTYPE_FILE), damage, found, _checked_genotype)
    error = _error_line(_read_text(os.path.join(where, ERROR_FILE), damage, found))
    resolved = _read_json_object(os.path.join(where, TRIAL_CONFIG_FILE), damage, found, _resolved)
    checkpoints = _checkpoint_names(folder) if exists else None
    read = {"params": params, "genotype": genotype, "resolved": resolved}
    return TrialFiles(
        rows=[row for row, _ in curve],
        curve_trusted=trusted,
        params=None if params is None else params[0],
        genotype=None if genotype is None else genotype[0],
        error=error,
        resolved=None if resolved is None else resolved[0],
        checkpoint=latest_checkpoint(folder, checkpoints or [], damage),
        damage=damage,
        seen=None if checkpoints is None else FolderSeen(found, checkpoints),
        texts={"rows": "[" + ",".join(text for _, text in curve) + "]",
               **{name: both[1] for name, both in read.items() if both is not None}},
    )
