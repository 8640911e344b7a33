"""The per-epoch record the harness writes for a training loop.

The loops are :class:`snas.run.EpochRun` subclasses (:class:`snas.search.Search`,
:class:`snas.retrain.Retrain`); the local runs (``snas-study search``/``train``) and the Tune
trainables drive them through that base class.  Both write the loop's ``history`` as
``metrics.jsonl`` after every epoch: the history comes from the loop's own state, so after
a restart from a checkpoint the file holds exactly the epochs that led to the current
state -- unlike Tune's ``result.json``, which can lose or repeat reports around a failure.
"""

from __future__ import annotations

import json
from typing import Any

METRICS_FILE = "metrics.jsonl"


def metrics_jsonl(history: list[dict[str, Any]]) -> str:
    """The history as JSON lines, one epoch per line."""
    return "".join(json.dumps(metrics) + "\n" for metrics in history)
