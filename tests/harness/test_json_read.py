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
    "[" * 600 + "]" * 600,  # nested deeper than msgspec reads, not json
    "18446744073709551616", "-9223372036854775809",  # integers past 64 bits: ints, not floats
    "1e-400", "5e-324", "0.30000000000000004", "1.7976931348623157e308",  # floats at their edges
    '{"a": "\\u00e9\\u0000", "\\u00e9": 1}',  # escapes, in values and names
    '"\ud800"',  # a raw lone surrogate, not an escape
]


def _outcome(read, text):
    try:
        return "value", json.dumps(read(text))  # NaN != NaN: compared as JSON text
    except (ValueError, RecursionError) as err:
        return type(err), str(err)


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_loads_reads_and_refuses_as_json_loads_does(text):
    assert _outcome(loads, text) == _outcome(json.loads, text)


@pytest.mark.parametrize("text", [TEXTS[0], TEXTS[2], TEXTS[4], TEXTS[-1], "\ufeff{}", "{"], ids=range(6))
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_loads_reads_bytes_as_json_loads_does(text, encoding):
    """The analysis cache is read from bytes; json.loads reads UTF-8, -16 and -32 (and a BOM)."""
    data = text.encode(encoding, "surrogatepass")
    assert _outcome(loads, data) == _outcome(json.loads, data)


@pytest.mark.parametrize("data", [b'"\xed\xa0\x80"', b'{"a": "\xff"}', b'"\xc3"'], ids=range(3))
def test_loads_reads_bytes_not_utf_8_as_json_loads_does(data):
    """A surrogate encoded as UTF-8 (which json reads), bytes that are not UTF-8 (its error)."""
    assert _outcome(loads, data) == _outcome(json.loads, data)


def test_the_refusals_are_json_loads_own():
    assert _outcome(loads, '{"a": 1} x') == (json.JSONDecodeError, "Extra data: line 1 column 10 (char 9)")
    assert math.isnan(loads('{"a": NaN}')["a"])
