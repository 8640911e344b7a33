"""Command-line argument checks shared by the verbs: counts, and where outputs may be written."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from snas.errors import UserInputError


def positive_int(text: str) -> int:
    """A count such as --top or --seeds: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _blocking_file(path: Path) -> Path | None:
    """The first existing non-folder among ``path``'s parents, which would stop a mkdir."""
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def check_output_folder(path: Path) -> None:
    """``--out DIR`` of a run: a folder, or a place where one can be made."""
    if path.exists() and not path.is_dir():
        raise UserInputError(f"--out {path} is a file; name a folder for the outputs")
    blocking = _blocking_file(path)
    if blocking is not None:
        raise UserInputError(f"--out {path}: {blocking} is a file, so no folder can be made there")


def check_output_file(path: Path, replaceable: Callable[[Path], bool] | None = None) -> None:
    """``--out FILE``: not a folder, under a folder that is or can be made, and not an
    existing file unless ``replaceable`` says this command wrote it."""
    if path.is_dir():
        raise UserInputError(f"--out {path} is a folder; name the file to write")
    blocking = _blocking_file(path)
    if blocking is not None:
        raise UserInputError(f"--out {path}: {blocking} is a file, so no folder can be made there")
    if replaceable is not None and path.exists() and not replaceable(path):
        raise UserInputError(f"--out {path} exists and was not written by this command; it is left alone: "
                             f"remove it or name another file")
