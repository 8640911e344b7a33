"""Whether a line of a trial's ``metrics.jsonl`` or ``result.json`` holds measurements.

Every value of a known column is judged by its expectation: the loops' metrics by
:data:`snas.metrics.METRIC_VALUES`, Tune's bookkeeping by :data:`TUNE_VALUES`.  A value
that cannot be a real measurement -- text where a number belongs, an infinity
(``Infinity``, or ``1e400``, which JSON readers take as one), an integer no 64-bit table
column holds, a nested object, an accuracy of 130, a negative time, NaN where a run
reports none -- was not written by the loop or by Tune: its line is damaged like a
garbled one, named with its number, and left out of the curve.  Keys the analysis does not
know (Ray adds its own, and its versions differ) are kept as written and not judged.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from typing import Any

from snas.genotype import GenotypeError
from snas.metrics import METRIC_VALUES, Expected
from snas.spaces import parse_genotype

LARGEST_WHOLE = 2**63 - 1
"""The largest integer a table's integer column (int64) holds."""

_TIME = Expected("real", 0)
_TEXT = Expected("text")

TUNE_VALUES: dict[str, Expected] = {
    "training_iteration": Expected("whole", 1),
    "iterations_since_restore": Expected("whole", 0),
    "time_this_iter_s": _TIME,
    "time_total_s": _TIME,
    "time_since_restore": _TIME,
    "timestamp": _TIME,
    "done": Expected("flag"),
    "should_checkpoint": Expected("flag"),
    "trial_id": _TEXT,
    "date": _TEXT,
    "hostname": _TEXT,
    "node_ip": _TEXT,
    "checkpoint_dir_name": Expected("text", absent="always"),
    "pid": Expected("whole", 0),
}
"""Tune's bookkeeping columns of ``result.json`` (Ray 2.60), which the curves table keeps."""

EXPECTED: dict[str, Expected] = {**METRIC_VALUES, **TUNE_VALUES}


def _number(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "not a number"
    if isinstance(value, int) and abs(value) > LARGEST_WHOLE:
        return "beyond what a 64-bit number holds"
    return None if math.isfinite(value) else "not a finite number"


def _whole(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return "not a whole number"
    return _number(value)


def _genotype(value: Any) -> str | None:
    if not isinstance(value, str):
        return "not text"
    try:
        return None if parse_genotype(value) is not None else "not a genotype of any search space"
    except GenotypeError as err:
        return f"not a genotype ({err})"


_KINDS: dict[str, Callable[[Any], str | None]] = {
    "real": _number,
    "whole": _whole,
    "flag": lambda value: None if isinstance(value, bool) else "not true or false",
    "text": lambda value: None if isinstance(value, str) else "not text",
    "genotype": _genotype,
}
"""Each kind of :class:`snas.metrics.Expected`: what is wrong with a present value of it."""


def _shown(value: Any) -> str:
    """``value`` as the file spells it (JSON), cut short."""
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def value_problem(name: str, value: Any, expected: Expected, diverged: bool) -> str | None:
    """What makes ``value`` of the metric ``name`` impossible; ``None`` when it may be a
    measurement.  ``diverged``: the epoch's own ``diverged`` flag."""
    if _absent(value):
        if expected.absent == "always" or (expected.absent == "diverged" and diverged):
            return None
        when = " on an epoch that did not diverge" if expected.absent == "diverged" else ""
        return f"{name} is {_shown(value)}{when}"
    problem = _KINDS[expected.kind](value)
    if problem is None and expected.kind in ("real", "whole"):
        problem = (f"below {expected.low:g}" if value < expected.low
                   else f"above {expected.high:g}" if value > expected.high else None)
    return None if problem is None else f"{name} is {_shown(value)}, {problem}"


def _plainly_fine(expected: Expected) -> Callable[[Any], bool]:
    """A quick test that accepts the values a run really writes (most of them): a float or int
    in range and finite, a flag, text, a genotype text.  What it does not accept goes to
    :func:`value_problem`, which decides (an absent value may be legitimate) and says why.
    A study of 10,000 trials has millions of values; this keeps judging them to a second."""
    low, high = expected.low, expected.high
    if expected.kind == "real":
        return lambda v: ((type(v) is float and v - v == 0) or (type(v) is int and abs(v) <= LARGEST_WHOLE)) \
            and low <= v <= high
    if expected.kind == "whole":
        return lambda v: type(v) is int and low <= v <= high and abs(v) <= LARGEST_WHOLE
    if expected.kind == "flag":
        return lambda v: type(v) is bool
    if expected.kind == "text":
        return lambda v: type(v) is str
    return lambda v: type(v) is str and _known_genotype(v)


@functools.lru_cache(maxsize=65536)
def _known_genotype(text: str) -> bool:
    """Whether ``text`` reads as a genotype (remembered: a study repeats many of them)."""
    return _genotype(text) is None


_QUICK: dict[str, Callable[[Any], bool]] = {name: _plainly_fine(expected) for name, expected in EXPECTED.items()}
_BOUNDS: dict[type, dict[str, tuple[float, float]]] = {
    float: {name: (e.low, e.high) for name, e in EXPECTED.items() if e.kind == "real"},
    int: {name: (max(e.low, -LARGEST_WHOLE), min(e.high, LARGEST_WHOLE)) for name, e in EXPECTED.items()
          if e.kind in ("real", "whole")},
}
"""Per type of JSON number, the range its values of each name may take (in 64 bits, for an integer)."""
_NOWHERE = (math.inf, -math.inf)
"""The range no number lies within: a number of a name not in :data:`_BOUNDS` goes to its quick test."""
_PLAIN: dict[type, frozenset[str]] = {kind: frozenset(name for name, e in EXPECTED.items() if e.kind == expected)
                                      for kind, expected in ((str, "text"), (bool, "flag"))}
"""The names whose every text, or every flag, is a measurement."""


def row_problem(row: dict[str, Any], diverged: bool | None = None) -> str | None:
    """The first impossible value of the report ``row`` (one JSON line), or ``None``;
    ``diverged``: the epoch's own flag, when ``row`` is a part of its line (else the row's).
    Numbers, texts and flags are judged inline (:data:`_BOUNDS`, :data:`_PLAIN`), the rest by
    their quick test: a call per value took a third of the time."""
    diverged = row.get("diverged") is True if diverged is None else diverged
    for name, value in row.items():
        kind = type(value)
        if kind is float or kind is int:
            low, high = _BOUNDS[kind].get(name, _NOWHERE)
            if low <= value <= high and value - value == 0:
                continue
        elif (kind is str or kind is bool) and name in _PLAIN[kind]:
            continue
        quick = _QUICK.get(name)
        if quick is None or quick(value):
            continue
        problem = value_problem(name, value, EXPECTED[name], diverged)
        if problem is not None:
            return problem
    return None
