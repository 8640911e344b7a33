"""Tune's experiment state, read as plain JSON: a study folder may come from anywhere.

Tune saves its experiment as ``experiment_state-<session>.json``, but every value JSON
cannot hold is stored in it as a hex-encoded cloudpickle (``{"_type":
"CLOUDPICKLE_FALLBACK", "value": ...}``, and a few hex fields of each trial such as
``placement_group_factory``); the folder also holds pickles outright (``tuner.pkl``,
``basic-variant-state-*.json``, searcher states, ``params.pkl``).  Ray's readers
(``ExperimentAnalysis``, ``ResultGrid``, ``Tuner.restore``) unpickle them, and unpickling
runs whatever code the file names -- so opening a folder copied from elsewhere through them
runs that folder's code.  The analysis needs only a few plain fields per trial (id, state,
config, folder name, failure count); this module parses the state with :mod:`json` alone,
never imports Ray, and takes a field only when it is a plain JSON value of the expected
type.  Anything else is left for the trial's own folder (``params.json``) to supply -- but
a trial folder named anywhere but directly inside the study folder (``..``, a path, an
absolute one) makes the whole state damaged: it is never followed.  The file itself is
read only as a plain file of at most :data:`~harness.folder_entries.STATE_FILE_CAP` bytes.
``resume`` is the one command that reads a folder through Tune, and says so in its help.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from harness.analysis.json_read import loads
from harness.folder_entries import STATE_FILE_CAP, Refused, read_file
from harness.studyfolder import is_trial_folder_name, trial_folder_name

STATE_PATTERN = "experiment_state-*.json"
TRIAL_STATES = ("PENDING", "RUNNING", "PAUSED", "TERMINATED", "ERROR")
UNKNOWN_STATE = "UNKNOWN"
_PICKLED_MARKER = "_type"  # Tune's wrapper of a cloudpickled value: {"_type": "CLOUDPICKLE_FALLBACK", "value": hex}


class DamagedState(ValueError):
    """The experiment state file cannot be read as Tune writes it."""


@dataclass(frozen=True)
class TuneTrial:
    """What the experiment state says of one trial; ``None`` where it holds nothing plain."""

    trial_id: str
    state: str
    dir_name: str | None
    config: dict[str, Any] | None
    num_failures: int


def newest_state_name(names: Iterable[str]) -> str | None:
    """Of a folder's file ``names``, the state file Tune itself would restore from: the latest
    session's (sessions are named by their start time, so the last by name)."""
    return max((name for name in names if fnmatch(name, STATE_PATTERN)), default=None)


def newest_state_file(folder: Path) -> Path | None:
    """:func:`newest_state_name` in a local ``folder``."""
    name = newest_state_name(path.name for path in folder.glob(STATE_PATTERN))
    return None if name is None else folder / name


def _is_plain(value: Any) -> bool:
    """Whether ``value`` holds no pickled value anywhere inside."""
    if isinstance(value, dict):
        return _PICKLED_MARKER not in value and all(_is_plain(v) for v in value.values())
    if isinstance(value, list):
        return all(_is_plain(v) for v in value)
    return True


def _parse(text: str, what: str) -> Any:
    try:
        return loads(text)
    except (ValueError, RecursionError) as err:  # JSONDecodeError, or an integer of over 4,300 digits
        raise DamagedState(f"{what} is not JSON ({err})") from None


def _folder_name(value: Any, number: int) -> str | None:
    """The trial's folder as the state names it (``None``: it names none, the default
    ``trial_<id>`` applies); a name that is not a trial folder directly inside the study
    folder (``..``, a path, an absolute one) is damage, never followed."""
    if value is None:
        return None
    if not isinstance(value, str) or not is_trial_folder_name(value):
        raise DamagedState(f"trial entry {number} names its folder {value!r}, not a trial folder "
                           f"directly inside the study folder")
    return value


def _failures(metadata: Any) -> int:
    count = metadata.get("num_failures") if isinstance(metadata, dict) else None
    return count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else 0


def _trial(entry: Any, number: int) -> TuneTrial:
    if not (isinstance(entry, list) and len(entry) == 2 and all(isinstance(part, str) for part in entry)):
        raise DamagedState(f"trial entry {number} is not the pair of JSON texts Tune writes")
    state, metadata = _parse(entry[0], f"trial entry {number}"), _parse(entry[1], f"trial entry {number}'s metadata")
    if not isinstance(state, dict) or not isinstance(state.get("trial_id"), str) or not state["trial_id"]:
        raise DamagedState(f"trial entry {number} has no trial_id")
    if not is_trial_folder_name(trial_folder_name(state["trial_id"])):
        raise DamagedState(f"trial entry {number} has the trial_id {state['trial_id']!r}, which cannot "
                           f"name a trial folder")
    config = state.get("config")
    status = state.get("status")
    return TuneTrial(
        trial_id=state["trial_id"],
        state=status if status in TRIAL_STATES else UNKNOWN_STATE,
        dir_name=_folder_name(state.get("relative_logdir"), number),
        config=config if isinstance(config, dict) and _is_plain(config) else None,
        num_failures=_failures(metadata),
    )


def read_tune_state(path: Path) -> list[TuneTrial]:
    """The trials listed in the state file ``path``, in Tune's order; :class:`DamagedState`
    when the file is not what Tune writes (its message says what is wrong)."""
    try:
        text = (read_file(path, STATE_FILE_CAP) or b"").decode("utf-8")
    except UnicodeDecodeError:
        raise DamagedState("not UTF-8 text") from None
    except Refused as err:
        raise DamagedState(str(err)) from None
    return parse_tune_state(text)


def parse_tune_state(text: str) -> list[TuneTrial]:
    """The trials listed in the text of a state file (:func:`read_tune_state` without the
    reading: a study in remote storage reads its own)."""
    state = _parse(text, "the file")
    if not isinstance(state, dict) or not isinstance(state.get("trial_data"), list):
        raise DamagedState("has no trial_data list")
    return [_trial(entry, number) for number, entry in enumerate(state["trial_data"], 1)]
