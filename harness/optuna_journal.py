"""The study's Optuna journal: its file name, and the Optuna trial number of each Tune trial.

Optuna numbers its trials 0, 1, 2, ...; Tune names them ``<run>_00000``, ...  The
searcher records on every Optuna trial the Tune trial it became (``tune_trial_id``), so
``status`` and ``trials.csv`` can show both, as optuna-dashboard shows the first.
"""

from __future__ import annotations

import logging
from pathlib import Path

from harness.folder_entries import Refused, is_file

log = logging.getLogger(__name__)
JOURNAL_FILE = "optuna.journal"
"""Optuna's history of the study, in its folder (optuna-dashboard opens it)."""
TUNE_TRIAL_ID = "tune_trial_id"


def optuna_trial_numbers(folder: Path, study_name: str) -> dict[str, int]:
    """Tune trial id -> Optuna trial number; empty when the study has no journal (a damaged
    one is named in a warning)."""
    journal = folder / JOURNAL_FILE
    try:
        if not is_file(journal):
            return {}
    except Refused as err:
        log.warning("%s: %s; Optuna trial numbers are not shown", journal, err)
        return {}
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    try:
        stored = optuna.load_study(study_name=study_name, storage=JournalStorage(JournalFileBackend(str(journal))))
    except (OSError, ValueError, KeyError, TypeError, optuna.exceptions.OptunaError) as err:
        log.warning("%s could not be read (%s); Optuna trial numbers are not shown", journal, err)
        return {}
    return {t.user_attrs[TUNE_TRIAL_ID]: t.number for t in stored.trials if TUNE_TRIAL_ID in t.user_attrs}
