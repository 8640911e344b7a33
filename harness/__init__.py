"""The Ray Tune layer of snas-study.

Importing it first sets up the process before ``torch`` is imported: how OpenMP's idle
threads wait (:mod:`snas.threads`; the OpenMP runtime reads its settings when torch loads
it) and that the C heap keeps the memory training steps free (:mod:`snas.allocator`).
Every ``snas-study`` process and every Ray trial worker imports this package first.
"""

from snas.allocator import keep_freed_memory
from snas.threads import choose_wait_policy

choose_wait_policy()
keep_freed_memory()
