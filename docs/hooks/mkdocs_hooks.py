"""MkDocs hooks (``hooks:`` in mkdocs.yml): the pages generated from the code join the site.

The command-line and study-file references are rendered from the parsers and the schema at
every build (:mod:`docs.hooks.cli_page`, :mod:`docs.hooks.study_page`), so they cannot fall
behind the code; the figures of real runs kept in ``results/readme/`` are served under ``figures/``
rather than copied.  MkDocs loads this file by path, so the repository root is put on
``sys.path`` for the generators' imports.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from docs.hooks.cli_page import cli_page  # noqa: E402
from docs.hooks.study_page import study_page  # noqa: E402

GENERATED: dict[str, Callable[[], str]] = {"reference/cli.md": cli_page, "reference/study-file.md": study_page}
FIGURES = ROOT / "results" / "readme"
_ROLE = re.compile(r":(?:mod|class|func|data|attr|meth|exc):(<code>)~?")


def on_files(files: Files, config: Any) -> Files:
    for uri, render in GENERATED.items():
        files.append(File.generated(config, uri, content=render()))
    for figure in sorted(FIGURES.glob("*.png")):
        files.append(File.generated(config, f"figures/{figure.name}", abs_src_path=str(figure)))
    return files


def on_page_content(html: str, page: Any, config: Any, files: Files) -> str:
    """Sphinx roles of the docstrings (``:mod:`snas.search```) shown as the code they name."""
    return _ROLE.sub(r"\1", html)
