"""Checkpoint files: written atomically, recognised on load, refused clearly when foreign.

A checkpoint is a ``torch.save`` of a plain dict (tensors, numbers, strings, lists) and
loads with ``weights_only=True``, so opening a file never runs code from it.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

import torch

from snas.atomic import atomic_write
from snas.errors import UserInputError

FORMAT = "snas-study-checkpoint"
VERSION = 1


def save_checkpoint(path: str | os.PathLike[str], kind: str, payload: dict[str, Any]) -> Path:
    """Write ``payload`` as a ``kind`` checkpoint: to a temporary file, then renamed into place."""
    record = {"format": FORMAT, "version": VERSION, "kind": kind, **payload}
    return atomic_write(path, lambda handle: torch.save(record, handle))


def checkpoint_file(path: str | os.PathLike[str]) -> Path:
    """``path`` itself, or the ``checkpoint.pt`` in it when it is a folder."""
    path = Path(path)
    return path / "checkpoint.pt" if path.is_dir() else path


def load_checkpoint(path: str | os.PathLike[str], kind: str | None = None) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`; ``kind`` restricts what is accepted."""
    path = checkpoint_file(path)
    if not path.is_file():
        raise UserInputError(f"checkpoint {path} does not exist")
    try:
        record = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle, zip and torch errors all mean "not ours / damaged"
        raise UserInputError(f"{path} is not a readable checkpoint (corrupt or not a torch file): "
                             f"{_first_line(err, path)}") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise UserInputError(f"{path} is a torch file but not an snas-study checkpoint")
    if record.get("version") != VERSION:
        raise UserInputError(f"{path} has checkpoint version {record.get('version')}; this snas-study reads {VERSION}")
    if kind is not None and record.get("kind") != kind:
        raise UserInputError(f"{path} is a {record.get('kind')} checkpoint, expected a {kind} checkpoint")
    return record


def _first_line(err: Exception, path: Path) -> str:
    """A loader error in one line (torch's safe-load refusal is a page of advice that does not
    apply here: our checkpoints hold plain data only, so a file needing more is not ours).
    torch gives the same refusal for a file that is no archive at all (text, JSON), which it
    tried to read in its pre-1.6 format."""
    text = str(err).strip()
    if text.startswith("Weights only load failed"):
        if not zipfile.is_zipfile(path):
            return "it is not the zip archive torch.save writes"
        return "it holds Python objects, not the plain data of an snas-study checkpoint"
    return text.splitlines()[0] if text else type(err).__name__
