"""JSON texts decoded as :func:`json.loads` decodes them, minus its per-call layers.

A first read of a study of 10,000 trials decodes some 125,000 JSON texts (report lines,
settings, genotypes, Tune's entries), most of them a few hundred bytes.  ``json.loads``
spends microseconds of each in Python around the C scanner that does the work (its own
call, ``JSONDecoder.decode``, ``raw_decode`` and two whitespace matches): a third of a
second in all.  :func:`loads` hands the text to the same scanner directly, and whenever
that does not yield one value spanning the whole text, returns what ``json.loads`` does
with it, so that what is accepted, what is refused and every error message are
``json.loads``'s own.
"""

from __future__ import annotations

import json
from json.scanner import make_scanner
from typing import Any

_SCAN = make_scanner(json.JSONDecoder())  # type: ignore[arg-type]  # typeshed's TODO: it reads a decoder's options
"""The scanner of a decoder with ``json.loads``' defaults."""
_SPACE = " \t\n\r"
"""What JSON allows around a value (``json.decoder.WHITESPACE``)."""


def loads(text: str) -> Any:
    """``json.loads(text)``: the same value, or the same exception."""
    body = text.strip(_SPACE)
    try:
        value, end = _SCAN(body, 0)
    except (StopIteration, ValueError, RecursionError):  # not a value: json.loads says what is wrong
        return json.loads(text)
    return value if end == len(body) else json.loads(text)
