"""harness.analysis.json_read.loads is json.loads: the same value for every text json.loads
reads, and the same exception, message included, for every text it refuses."""

from __future__ import annotations

import json
import math

import pytest

from harness.analysis.json_read import loads

TEXTS = [
    '{"epoch": 1, "search_val_acc": 33.4, "genotype": "Genotype(...)", "diverged": false}',
    ' \t{"a": [1, 2.5, null, true]}\r\n',  # what JSON allows around a value
    '{"a": NaN, "b": Infinity, "c": -Infinity, "d": 1e400}',  # Python's extensions, and an overflow
    '{"a": 1, "a": 2}',  # a name given twice: its last value
    '{"a": "\\ud800"}',  # a lone surrogate
    '[1, 2]', '"text"', "7", "true ",
    "", "   ", "{", '{"a":', "tru", "\x0c{}",  # no value, or half of one
    '{"a": 1} trailing', '{"a": 1}{"b": 2}',  # more after the value
    "\ufeff{}",  # a byte-order mark
    "1" * 5000,  # an integer of over 4,300 digits
    "[" * 100_000,  # nested past the recursion limit
]


def _outcome(read, text):
    try:
        return "value", json.dumps(read(text))  # NaN != NaN: compared as JSON text
    except (ValueError, RecursionError) as err:
        return type(err), str(err)


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_loads_reads_and_refuses_as_json_loads_does(text):
    assert _outcome(loads, text) == _outcome(json.loads, text)


def test_the_refusals_are_json_loads_own():
    assert _outcome(loads, '{"a": 1} x') == (json.JSONDecodeError, "Extra data: line 1 column 10 (char 9)")
    assert math.isnan(loads('{"a": NaN}')["a"])
