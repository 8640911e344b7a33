"""The study folder: every name in it, and its ``study.yaml``, in one place.

``snas-study run`` makes ``<storage>/<study name>/``::

    study.yaml            the resolved study, frozen before any trial runs (with provenance)
    optuna.journal        Optuna's trial history (optuna searcher, local storage only)
    compile_cache/        Inductor's caches the trials share (``compile`` set, local storage only;
                          :func:`snas.compilation.share_compile_cache`)
    experiment_state-*.json, tuner.pkl, ...   Tune's own files, left as Tune writes them
    trial_<id>/           one folder per trial:
        params.json       the trial's varied settings (Tune)
        result.json       Tune's reports, one line per report
        metrics.jsonl     the loop's history, one line per epoch (the curves are read from it)
        genotype.json     the trial's genotype (a search's, rewritten every epoch)
        config.json       the trial's resolved configuration and its changes mid-run
                          (:mod:`harness.trialconfig`); under PBT/PB2 its lineage and exploits
        error.txt         why the trial failed (Tune)
        injected_fault.txt   marks the one fault ``faults.fail_once_at_epoch`` injected
        killed_worker.txt    marks the one worker ``faults.kill_worker_once`` killed
        checkpoint_*/checkpoint.pt   the loop's full state
        checkpoint_*/lineage.json    under PBT/PB2: the trial that saved it, the copies its
                                     state went through (:mod:`harness.lineage`)
    analysis/             tables (trials, curves, best.json, ...)
    plots/                PNG and PDF figures
    report.html           the self-contained report
    wandb/                W&B's run folders (``tracking.wandb``: :mod:`harness.tracking`), and
                          snas-steps.json: each run's last epoch, for ``resume``
    .analysis.lock        held while an analysis writes the three above
    .analysis-staging-*/  an analysis being written (:mod:`harness.analysis.output_set`)

A run folder of ``snas-study search`` / ``train`` holds a trial folder's own files
(``metrics.jsonl``, ``genotype.json``, ``checkpoint.pt``) and its ``config.yaml``.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
from collections.abc import Iterable
from importlib import metadata
from typing import Any

import yaml

from harness import storage
from harness.arguments import load_yaml, yaml_problem
from harness.folder_entries import STUDY_FILE_CAP
from harness.study import Study, validate_study
from snas.catalogue import GENOTYPE_FILE as GENOTYPE_FILE  # the genotype a trial writes, as a search run does
from snas.errors import UserInputError

STUDY_FILE = "study.yaml"
COMPILE_CACHE_DIR = "compile_cache"
ANALYSIS_DIR = "analysis"
PLOTS_DIR = "plots"
REPORT_FILE = "report.html"
ANALYSIS_LOCK = ".analysis.lock"
STAGING_PREFIX = ".analysis-staging-"
BEST_FILE = "best.json"

TUNER_FILE = "tuner.pkl"
SEARCHER_STATE_GLOBS = ("basic-variant-state-*.json", "searcher-state-*.pkl")
"""Tune's pickled searcher states (a variant generator's despite its ``.json``; a searcher's)."""

TRIAL_PREFIX = "trial_"
PARAMS_FILE = "params.json"
RESULT_FILE = "result.json"
METRICS_FILE = "metrics.jsonl"
TRIAL_CONFIG_FILE = "config.json"
ERROR_FILE = "error.txt"
FAULT_MARKER = "injected_fault.txt"
KILLED_WORKER_MARKER = "killed_worker.txt"
CHECKPOINT_FILE = "checkpoint.pt"
CHECKPOINT_PREFIX = "checkpoint_"
TRAIN_CHECKPOINT_RECORD = "checkpoint_manager_snapshot.json"
"""Ray Train's record of a data-parallel trial's checkpoints, in the trial's folder beside
them: it shares their prefix but is Train's file, not a checkpoint folder."""
RUN_CONFIG_FILE = "config.yaml"

_VERSIONED = ("snas-study", "torch", "torchvision", "ray", "optuna", "pydantic", "numpy")



def error_line(text: str) -> str | None:
    """The line of an ``error.txt`` that says what failed: its last non-empty one (the
    exception's type and message, after the traceback); None for a blank file."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else None


def checkpoint_folder_names(names: Iterable[str]) -> list[str]:
    """The names among ``names`` (a trial folder's entries) of its checkpoint folders, sorted:
    those with Tune's and Train's prefix, Train's own record apart."""
    return sorted(name for name in names if name.startswith(CHECKPOINT_PREFIX) and name != TRAIN_CHECKPOINT_RECORD)

def metrics_jsonl(history: list[dict[str, Any]]) -> str:
    """A loop's history as ``metrics.jsonl`` text, one epoch per line.

    Written after every epoch from the loop's own state, so after a restart from a
    checkpoint the file holds exactly the epochs that led to the current state -- unlike
    Tune's ``result.json``, which can lose or repeat reports around a failure."""
    return "".join(json.dumps(metrics) + "\n" for metrics in history)


def trial_folder_name(trial_id: str) -> str:
    """Short trial folders (``trial_<id>``) keep paths well under OS limits."""
    return f"{TRIAL_PREFIX}{trial_id}"


def is_trial_folder_name(name: str) -> bool:
    """Whether ``name`` can name a trial folder: ``trial_<id>``, one entry directly inside
    the study folder (what Tune's experiment state says is checked against this)."""
    return name.startswith(TRIAL_PREFIX) and len(name) > len(TRIAL_PREFIX) and not {"/", "\0"} & set(name)


def trial_id_of(folder_name: str) -> str:
    return folder_name.removeprefix(TRIAL_PREFIX)


def provenance(argv: list[str]) -> dict[str, Any]:
    """What made a study: when, by which command, on which host, with which versions."""
    versions: dict[str, str | None] = {}
    for package in _VERSIONED:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    versions["python"] = platform.python_version()
    return {
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": "snas-study " + " ".join(argv),
        "host": platform.node(),
        "versions": versions,
    }


def frozen_study_text(study: Study) -> str:
    """``study`` as the ``study.yaml`` a study folder keeps: every value in a form that
    :func:`read_study` reads back to the same study (tested for every shipped study)."""
    return yaml.safe_dump(study.model_dump(mode="json", by_alias=True), sort_keys=False, allow_unicode=True)


def study_file(experiment_path: str) -> str:
    return experiment_path.rstrip("/") + "/" + STUDY_FILE


def has_experiment(experiment_path: str) -> bool:
    return storage.exists(study_file(experiment_path))


def read_study(experiment_path: str) -> Study:
    """The frozen study of a study folder (local or URI), validated."""
    path = study_file(experiment_path)
    if not storage.exists(path):
        raise UserInputError(f"{experiment_path} is not a study folder (no {STUDY_FILE}); "
                             f"give the folder `snas-study run` created, e.g. results/<study name>")
    try:
        data = load_yaml(storage.read_text(path, STUDY_FILE_CAP))
    except yaml.YAMLError as err:
        raise UserInputError(f"{path} is damaged (not YAML): {yaml_problem(err)}") from None
    return validate_study(data, path, frozen=True)

