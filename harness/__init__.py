"""The Ray Tune layer of snas-study.

Importing it first decides how OpenMP's idle threads wait (see :mod:`snas.threads`):
every ``snas-study`` process and every Ray trial worker imports this package before
``torch``, which is when the OpenMP runtime reads its settings.
"""

from snas.threads import choose_wait_policy

choose_wait_policy()
