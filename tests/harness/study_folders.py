"""Study folders as `snas-study run` leaves them, written directly (no Ray, no training).

The experiment state follows Ray 2.60's layout (``trial_data`` pairs of JSON texts, one
for the trial, one for its run metadata; hex cloudpickles where JSON cannot hold a value),
and each trial folder holds what the trainables and Tune write.  ``payload`` puts a pickle
in every place Ray writes one; unpickled, it creates the file ``marker``.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from study_helpers import tiny_study

from harness.study import validate_study
from snas.catalogue import resolve_genotype

SESSION = "2026-12-01_09-12-35"
EPOCHS = 3


@dataclass(frozen=True)
class TrialSpec:
    seed: int
    accuracies: tuple[float, ...]
    """search_val_acc per epoch; fewer than EPOCHS means ASHA stopped it."""
    state: str = "TERMINATED"
    genotype: str = "DARTS_V2"


# The winner by the last epoch's search_val_acc is seed 0 (89.99), then seed 1 (78.72).
TRIALS = (TrialSpec(0, (41.5, 70.25, 89.99)), TrialSpec(1, (52.0, 66.5, 78.72), genotype="DARTS_V1"),
          TrialSpec(2, (30.0,)))


class Payload:
    """Creates ``marker`` when unpickled: what a crafted folder's code could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return open, (str(self.marker), "w")


def _pickled(marker: Path | None) -> bytes:
    return pickle.dumps(Payload(marker) if marker is not None else None)


def _fallback(marker: Path | None) -> dict[str, str]:
    """A value the way Tune's JSON encoder stores what JSON cannot hold."""
    return {"_type": "CLOUDPICKLE_FALLBACK", "value": _pickled(marker).hex()}


def trial_id(seed: int) -> str:
    return f"58c84_{seed:05d}"


def metrics_row(epoch: int, accuracy: float, genotype: str) -> dict[str, Any]:
    return {
        "epoch": epoch, "train_loss": 2.0 / epoch, "train_acc": accuracy - 5, "search_val_acc": accuracy,
        "child_val_acc": accuracy - 10, "search_val_acc_avg3": accuracy, "temperature": 1.0 / epoch,
        "cost": 200.0, "lr": 0.025, "arch_entropy": 2.0, "genotype": str(resolve_genotype(genotype)),
        "child_params_m": 0.02, "child_macs_m": 0.26, "eval_params_m": 0.16, "eval_macs_m": 1.7,
        "epoch_time_s": 5.0, "images_per_s": 170.0, "diverged": False,
    }


def report_row(spec: TrialSpec, metrics: dict[str, Any]) -> dict[str, Any]:
    epoch = metrics["epoch"]
    return {**metrics, "timestamp": 1796116404 + epoch, "checkpoint_dir_name": None, "should_checkpoint": False,
            "done": epoch == len(spec.accuracies), "training_iteration": epoch, "trial_id": trial_id(spec.seed),
            "date": "2026-12-01_09-13-24", "time_this_iter_s": 5.0, "time_total_s": 5.0 * epoch, "pid": 2681,
            "hostname": "vm", "node_ip": "127.0.0.1", "config": {"search.seed": spec.seed},
            "time_since_restore": 5.0 * epoch, "iterations_since_restore": epoch}


def _trial_state(spec: TrialSpec, marker: Path | None) -> tuple[str, str]:
    hexed = _pickled(marker).hex()
    state = {
        "stub": False, "trainable_name": "search_trial", "trial_id": trial_id(spec.seed),
        "storage": _fallback(marker), "config": {"search.seed": spec.seed},
        "_Trial__unresolved_config": {"search.seed": spec.seed}, "evaluated_params": {},
        "experiment_tag": str(spec.seed), "stopping_criterion": {}, "_setup_default_resource": True,
        "_default_placement_group_factory": hexed, "placement_group_factory": hexed, "log_to_file": [None, None],
        "max_failures": 1, "_default_result_or_future": None, "export_formats": [], "status": spec.state,
        "relative_logdir": f"trial_{trial_id(spec.seed)}", "trial_name_creator": None,
        "trial_dirname_creator": _fallback(marker), "custom_trial_name": None,
        "custom_dirname": f"trial_{trial_id(spec.seed)}", "restore_path": None, "_restore_checkpoint_result": None,
        "_state_json": None, "results": hexed, "extra_arg": hexed, "_resources": hexed,
        "checkpoint_manager": _fallback(marker),
    }
    last = report_row(spec, metrics_row(len(spec.accuracies), spec.accuracies[-1], spec.genotype))
    metadata = {
        "start_time": 1796116393.77, "num_failures": 0, "num_failures_after_restore": 0,
        "error_filename": None, "pickled_error_filename": None, "last_result": last,
        "last_result_time": 1796116404.18, "metric_analysis": {"search_val_acc": {"max": max(spec.accuracies)}},
        "_n_steps": [5, 10], "metric_n_steps": {"search_val_acc": {"5": _fallback(marker), "10": _fallback(marker)}},
        "checkpoint_manager": _fallback(marker),
    }
    return json.dumps(state, indent=2), json.dumps(metadata, indent=2)


def _write_trial(folder: Path, spec: TrialSpec, marker: Path | None) -> None:
    folder.mkdir(parents=True)
    history = [metrics_row(epoch, accuracy, spec.genotype) for epoch, accuracy in enumerate(spec.accuracies, 1)]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(row) + "\n" for row in history))
    (folder / "result.json").write_text("".join(json.dumps(report_row(spec, row)) + "\n" for row in history))
    (folder / "params.json").write_text(json.dumps({"search.seed": spec.seed}, indent=2))
    (folder / "params.pkl").write_bytes(_pickled(marker))
    (folder / "genotype.json").write_text(resolve_genotype(spec.genotype).to_json())
    checkpoint = folder / f"checkpoint_{len(spec.accuracies) - 1:06d}"
    checkpoint.mkdir()
    (checkpoint / "checkpoint.pt").write_bytes(_pickled(marker))
    if spec.state == "ERROR":
        (folder / "error.txt").write_text("Traceback (most recent call last):\nRuntimeError: injected\n")
        (folder / "error.pkl").write_bytes(_pickled(marker))


def write_study_folder(root: Path, name: str = "crafted", trials: tuple[TrialSpec, ...] = TRIALS,
                       payload: Path | None = None) -> Path:
    """A finished search study of ``trials`` under ``root``; with ``payload``, a pickle in every
    pickled field and file Ray writes, each creating the file ``payload`` when unpickled."""
    seeds = [spec.seed for spec in trials]
    study = validate_study(tiny_study(name, root, space={"search.seed": {"grid": seeds or [0]}})).resolved()
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "study.yaml").write_text(yaml.safe_dump(study.model_dump(mode="json", by_alias=True), sort_keys=False))
    state = {
        "trial_data": [list(_trial_state(spec, payload)) for spec in trials],
        "runner_data": {"_metric": "search_val_acc", "_iteration": 832, "_stopper": _fallback(payload),
                        "_trial_checkpoint_config": _fallback(payload), "_session_str": SESSION, "_resumed": False},
        "stats": {"start_time": 1796116355.2},
    }
    (folder / f"experiment_state-{SESSION}.json").write_text(json.dumps(state, indent=2))
    (folder / "tuner.pkl").write_bytes(_pickled(payload))
    (folder / f"basic-variant-state-{SESSION}.json").write_bytes(_pickled(payload))
    (folder / f"searcher-state-{SESSION}.pkl").write_bytes(_pickled(payload))
    for spec in trials:
        _write_trial(folder / f"trial_{trial_id(spec.seed)}", spec, payload)
    return folder
