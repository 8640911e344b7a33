"""Faults in a data-parallel study (1 trial × 2 gloo workers, 3 epochs), compared with the
same trial run uninterrupted on 2 local ranks: rank 1's worker process SIGKILLed mid-epoch
(Ray Train restarts both workers from the last checkpoint), then the study's driver
interrupted with Ctrl-C after epoch 2, then ``snas-study resume``."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import pytest
import torch
from study_helpers import FAULT_DATA, tiny_study, write_study
from test_data_parallel import on_local_ranks
from test_faults import curves, driving, epochs

from harness.study import validate_study
from harness.studyfolder import KILLED_WORKER_MARKER
from snas.errors import UserInputError

EPOCHS = 3
TRAIN_NOTICES = ("Requesting resources", "Started training worker group", "Setting up process group",
                 "Reporting training result", "Checkpoint successfully created", "PreemptionWatcher")
"""What Ray Train printed on a study's console at every data-parallel trial's start, report and checkpoint."""


def _study(name: str, root: Path, **changes: Any) -> dict[str, Any]:
    return tiny_study(name, root, search={"epochs": EPOCHS, "batch_size": 32}, space={"search.seed": {"grid": [0]}},
                      data=FAULT_DATA,
                      **{"resources": {"workers": 2, "cpu": 1}, "failures": {"max_failures": 1}, **changes})


def _trial(folder: Path) -> Path:
    (trial,) = folder.glob("trial_*")
    return trial


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, Any]:
    """The uninterrupted run both faults are compared with: the study's one trial on 2 local
    gloo ranks, which a trial on 2 Ray Train workers equals bit for bit (test_data_parallel)."""
    root = tmp_path_factory.mktemp("dp_reference")
    (rank_0, _) = on_local_ranks(_study("reference", root), {"search.seed": 0}, root / "ranks")
    assert len(rank_0["history"]) == EPOCHS
    return rank_0


def _checkpoint_epoch(path: Path) -> int | None:
    """The epoch of a checkpoint, or None while Train is still moving it into place."""
    try:
        return int(torch.load(path, weights_only=True)["epoch"])
    except Exception:
        return None


def _assert_matches(folder: Path, reference: dict[str, Any]) -> None:
    """The study's trial has the reference's curve (wall-clock figures left out) and genotype."""
    assert curves(folder) == {0: reference["history"]}
    assert json.loads((_trial(folder) / "genotype.json").read_text()) == reference["genotype"]


@pytest.mark.slow
def test_rank_1_killed_mid_epoch_then_ctrl_c_and_resume_give_the_uninterrupted_curve(ray_local, tmp_path, reference):
    """Both faults in one study (each Ray study here costs a minute): rank 1's process dies
    after step 2 of epoch 2 and Train restarts both workers from epoch 1's checkpoint; once
    epoch 2 is checkpointed the driver gets Ctrl-C; ``resume`` finishes epoch 3."""
    study = _study("faults", tmp_path / "results", faults={"kill_worker_once": {"rank": 1, "epoch": 2, "step": 2}})
    path = write_study(tmp_path / "s.yaml", study)
    folder = tmp_path / "results" / "faults"
    with driving() as start:
        run = start("run", str(path))

        def killed_then_epoch_2_checkpointed() -> bool:  # metrics.jsonl: rank 0 writes it at once, result.json lags
            trials = list(folder.glob("trial_*"))
            done = trials[0] / "metrics.jsonl" if len(trials) == 1 else None
            return (done is not None and (trials[0] / KILLED_WORKER_MARKER).is_file() and done.is_file()
                    and len(done.read_text().splitlines()) == 2
                    and 2 in map(_checkpoint_epoch, trials[0].glob("checkpoint_*/checkpoint.pt")))

        run.watch(killed_then_epoch_2_checkpointed)
        run.process.send_signal(signal.SIGINT)
        code, out, err = run.ended()
        assert code == 130, out + err
        trial = _trial(folder)
        assert (trial / KILLED_WORKER_MARKER).read_text().startswith("rank 1 (pid ")  # it really died, in epoch 2
        before = epochs(trial)
        assert before == list(range(1, len(before) + 1)) and len(before) < EPOCHS  # nothing repeated; cut short

        code, out, err = start("resume", str(folder)).ended()
        assert code == 0, out + err
        # Train's INFO lines and its preemption watcher's ERROR line stay off a user's console (its
        # warnings do not: one that the machine was too busy to request resources in 5 s may come)
        assert not [line for line in (out + err).splitlines() if any(notice in line for notice in TRAIN_NOTICES)]
    _assert_matches(folder, reference)
    # Tune keeps no checkpoint of a data-parallel trial, so it restarts it afresh (a new
    # result.json); Train restores the run from its last checkpoint: the reports after the
    # resume are epoch 3's, or none when epoch 3 was checkpointed before Ctrl-C took effect.
    # From scratch they would start at epoch 1.
    assert set(epochs(_trial(folder))) <= {EPOCHS}


@pytest.mark.parametrize(("workers", "rank", "message"), [(2, 2, "has ranks 0 to 1"), (1, 0, "run in one process")])
def test_study_refuses_a_worker_kill_it_cannot_do(tmp_path, workers, rank, message):
    study = _study("bad", tmp_path, resources={"workers": workers, "cpu": 1},
                   faults={"kill_worker_once": {"rank": rank, "epoch": 1, "step": 1}})
    with pytest.raises(UserInputError, match=message):
        validate_study(study)
