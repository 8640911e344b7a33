"""Python's cycle collector held off while a study folder is read into memory.

Reading a study of 10,000 trials creates millions of small dicts, lists and floats, and
none of them forms a reference cycle.  The collector, triggered every few hundred new
objects, walks the ever-growing heap of these survivors again and again: at 10,000 trials
that is about half of the time spent decoding them.  Paused around the read, it runs
once afterwards; reference counting still frees everything as usual meanwhile.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """The block runs with the cycle collector off (as it was, afterwards: a caller that
    turned it off itself keeps it off)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
