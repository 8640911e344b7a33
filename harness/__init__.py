"""The Ray Tune layer of snas-study.

Importing it first makes OpenMP's idle threads wait passively (see :mod:`snas.threads`):
every ``snas-study`` process and every Ray trial worker imports this package before
``torch``, which is when the OpenMP runtime reads its settings.
"""

from snas.threads import wait_passively

wait_passively()
