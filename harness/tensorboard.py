"""TensorBoard event files: one run per trial (or per local run), our metrics only, with hparams.

``tensorboard --logdir results/<study>`` shows each trial as a run named by its short
varied settings (``tau0=4,anneal_rate=0.9,seed=0``), its scalars are the metrics of
:mod:`snas.metrics` per epoch (not Tune's bookkeeping such as ``done`` or
``should_checkpoint``), its genotype as text, and the HParams dashboard lists the varied
settings against the final metrics.  ``snas-study search --out DIR`` / ``train --out DIR``
write the same scalars into DIR.

Events are written with tensorboardX, which ``ray[tune]`` already installs, so every
installation writes them; the ``tensorboard`` package (the ``[tensorboard]`` extra) is
only needed to view them.

Resumed runs repeat epochs (a trial restarts from its last checkpoint; a local run from
its last finished epoch).  Each writer opens with ``purge_step`` at the first epoch it
will write: TensorBoard then hides every earlier event of that run from that step on, so
a curve never shows an epoch twice.
"""

from __future__ import annotations

import math
import multiprocessing.queues
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tensorboardX import FileWriter
from tensorboardX.proto.event_pb2 import Event, SessionLog
from tensorboardX.summary import hparams, scalar, text

from harness.kinds import KINDS

if TYPE_CHECKING:
    from harness.study import Study


def _hparam_value(value: Any) -> str | float | bool:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int | float):
        return float(value)
    return str(value)


class EventRun:
    """One TensorBoard run: a folder of event files, written from ``first_epoch`` on."""

    def __init__(self, folder: str | Path, kind: str, first_epoch: int,
                 settings: dict[str, Any] | None = None):
        self.kind = KINDS[kind]
        self.last_epoch = first_epoch - 1
        Path(folder).mkdir(parents=True, exist_ok=True)
        # TensorBoard reads a run's files in name order, and the name holds the second it was
        # opened: a nanosecond suffix keeps two writers opened in one second apart and in order
        self._writer = FileWriter(str(folder), flush_secs=10, filename_suffix=f".{time.time_ns()}")
        self._writer.add_event(Event(step=first_epoch, session_log=SessionLog(status=SessionLog.START)))
        if settings:
            experiment, session_start, _ = hparams({k: _hparam_value(v) for k, v in settings.items()},
                                                   dict.fromkeys(self.kind.hparam_metrics, 0.0))
            self._writer.add_summary(experiment)
            self._writer.add_summary(session_start)

    def write(self, metrics: dict[str, Any]) -> None:
        """One epoch's metrics (``metrics['epoch']`` is the step)."""
        epoch = int(metrics["epoch"])
        for name in self.kind.scalar_metrics:
            value = metrics.get(name)
            if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
                self._writer.add_summary(scalar(name, float(value)), epoch)
        if isinstance(metrics.get("genotype"), str):
            self._writer.add_summary(text("genotype", metrics["genotype"]), epoch)
        self._writer.flush()
        self.last_epoch = epoch

    def close(self) -> None:
        """Write what is queued and close the file, waiting for the writer's queue feeder.

        tensorboardX queues events on a ``multiprocessing.Queue`` whose feeder thread holds
        two of the queue's semaphores until it exits.  A ``--workers`` rank (its default start
        method is spawn, so the semaphores are registered with multiprocessing's resource
        tracker) leaves by ``os._exit`` right after closing; if the feeder has not exited by
        then, the tracker warns of "2 leaked semaphore objects" (2 to 4 runs of 8)."""
        queue = getattr(getattr(self._writer, "event_writer", None), "_event_queue", None)
        self._writer.close()  # closes the queue and drops it
        if isinstance(queue, multiprocessing.queues.Queue):
            queue.join_thread()


def run_settings(study: Study) -> tuple[dict[str, str], bool]:
    """The varied settings that name a trial's run (TensorBoard, W&B, MLflow), by their short
    names, and whether they tell the trials apart.  A setting the scheduler changes mid-run
    (PBT's mutations) names none: a run named by a trial's starting τ0 would carry it after
    PBT changed it, and a resumed study would name the trial's run by the value it had by
    then -- a second run for one trial.  Without it the trial id joins the name."""
    changing = set(study.scheduler.changing_settings())
    names = {key: name for key, name in study.trial_kind.short_names(list(study.space)).items()
             if key not in changing}
    distinct = study.searcher.settings_are_distinct(study.space) and not changing & set(study.space)
    return names, distinct


def run_name(names: dict[str, str], config: dict[str, Any], trial_id: str, distinct: bool) -> str:
    """``tau0=4,anneal_rate=0.9,seed=0``; the trial id is added when settings may repeat."""
    parts = [f"{names[key]}={_format(config[key])}" for key in names if key in config]
    if not distinct or not parts:
        parts.append(f"trial={trial_id}")
    return ",".join(parts).replace("/", "_")


def _format(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
