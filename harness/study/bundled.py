"""The example study files that ship inside the package, so that ``snas-study run quickstart``
works after ``pip install`` with no source tree.

They are the repository's ``studies/*.yaml``: ``harness/studies`` is a link to that folder,
and setup.cfg's package data copies them into the sdist and wheel as plain files.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from snas.errors import UserInputError

SUFFIX = ".yaml"


def bundled_studies() -> dict[str, Path]:
    """Each bundled study's name (its file name without ``.yaml``) and its file, sorted."""
    folder = Path(str(resources.files("harness") / "studies"))
    return {path.stem: path for path in sorted(folder.glob(f"*{SUFFIX}"))}


def study_file(argument: str) -> Path:
    """The study file ``argument`` names: a path, or else the name of a bundled study
    (``quickstart``).  A file of that name in the working folder always wins."""
    path = Path(argument)
    if path.exists():
        return path
    bundled = bundled_studies()
    if argument in bundled:
        return bundled[argument]
    raise UserInputError(f"study file {argument} does not exist, and no bundled study has that name "
                         f"(bundled: {', '.join(bundled)})")
