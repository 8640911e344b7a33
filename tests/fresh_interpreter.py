"""A short script run in a fresh interpreter, for tests of signal handling: dispositions and
handlers are process-wide, and the test process's own (pytest's, xdist's) must not decide."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run_script(prelude: str, script: str, timeout: float) -> subprocess.CompletedProcess:
    """``prelude`` then ``script`` (dedented) under ``python -c``, output captured as text."""
    return subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(script)], capture_output=True,
                          text=True, timeout=timeout)
