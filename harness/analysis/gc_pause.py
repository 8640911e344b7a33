"""Python's cycle collector kept off the objects of a study folder read into memory.

Reading a study of 10,000 trials creates millions of small dicts, lists and floats, none
of them part of a reference cycle.  The collector, triggered every few hundred new
objects, would walk the growing heap of these survivors again and again while they are
read (about half of the decoding time at 10,000 trials), and then again at each of its
later full collections.  So it is paused around the read, and what is alive at its end is
frozen (:func:`gc.freeze`): never walked again.  Reference counting still frees every one
of these objects as usual.  The collector runs once before the read (some 50 ms), so
that no garbage cycle of earlier work is frozen with them and kept forever.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """The block runs with the cycle collector off; what it leaves alive is frozen, and the
    collector then back as it was (a caller that turned it off itself keeps it off)."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()
