"""The offline commands stay instant: ``status``, ``best`` and every verb's ``--help`` load
neither torch nor Ray nor matplotlib (each takes seconds to import; none is needed to read a
study folder or to list flags).

Each command runs in a fresh interpreter: this test process has imported all three already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from study_folders import write_study_folder

from harness.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "ray", "matplotlib")
TABLES = ("pandas", "pyarrow", "scipy")
"""What the full analysis builds its tables with; `status` and `best` print a few rows without them."""

# Runs the command line as ``snas-study`` would, then prints which heavy packages it loaded.
DRIVER = f"""
import json, sys
from harness.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}} & set({HEAVY!r}))))
"""


def heavy_imports(*argv: str, among: tuple[str, ...] = HEAVY) -> list[str]:
    """The packages of ``among`` that ``snas-study argv`` imports, run from the source tree."""
    driver = DRIVER.replace(repr(HEAVY), repr(among))
    done = subprocess.run([sys.executable, "-c", driver, *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("verb", [*COMMANDS, None])
def test_help_imports_no_heavy_package(verb):
    assert heavy_imports(*([verb] if verb else []), "--help") == []


@pytest.mark.parametrize("verb", ["status", "best"])
def test_reading_a_study_imports_no_heavy_package(tmp_path, verb):
    folder = write_study_folder(tmp_path)
    assert heavy_imports(verb, str(folder)) == []


@pytest.mark.parametrize("verb", ["status", "best"])
def test_reading_a_study_builds_no_table_library(tmp_path, verb):
    folder = write_study_folder(tmp_path)
    assert heavy_imports(verb, str(folder), among=TABLES) == []
    assert heavy_imports("analyze", str(folder), among=TABLES) == list(TABLES)  # the check sees them


def test_the_check_sees_a_heavy_import():
    """The driver reports what a command loads (``inspect`` of a checkpoint reads it with torch)."""
    assert heavy_imports("inspect", str(ROOT / "no-such-checkpoint.pt")) == ["torch"]
