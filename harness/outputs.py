"""May a command write here?  The one check every writer makes before doing any work.

A command asks before it computes anything, so a refusal leaves no half-written output and
costs nothing; the writes themselves stay atomic (:mod:`snas.atomic`).  Two rules:

- The place must be writable: the target is not a folder (or, for an output folder, not a
  file), no parent of it is a file, and a file can really be created in the nearest folder
  that exists (a probe file, removed at once: permission bits say nothing on a read-only
  mount, in ``/proc`` or for root).
- An existing file is replaced only when this tool wrote it, or with ``--overwrite``.  How
  the tool knows a file is its own depends on the file:

  * cell drawings (``draw``, ``inspect --draw``): a marker in the PNG/SVG metadata
    (:func:`snas.draw.is_drawing`);
  * a report page given to ``report --out``: its title (:func:`harness.analysis.report.is_report`);
  * inside a study folder (one holding the ``study.yaml`` the tool froze at ``run``), the
    names ``analysis/``, ``plots/`` and ``report.html`` belong to the tool by their place:
    every ``analyze``, ``report`` and ``run`` rewrites them, as a set, keeping the entries of
    the two folders that are not its tables and plots (:func:`check_study_outputs`,
    :mod:`harness.analysis.output_set`);
  * an output folder of ``search``/``train`` that holds a run, and a study folder of
    ``run``/``retrain``, have their own rules (continue it or ``--overwrite``), in
    :mod:`harness.localrun` and :mod:`harness.studyrun`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from snas.errors import UserInputError


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_writable_folder(folder: Path, what: str) -> None:
    """Refuse, naming ``what``, unless files can be created in ``folder`` (made if missing)."""
    base = _nearest_existing(folder)
    if not base.is_dir():
        raise UserInputError(f"{what}: {base} is a file, so no folder can be made there")
    try:
        handle, probe = tempfile.mkstemp(prefix=".snas-study-probe-", dir=base)
    except OSError as err:
        raise UserInputError(f"{what}: cannot write in {base} ({err.strerror})") from None
    os.close(handle)
    os.unlink(probe)


def check_output_folder(path: Path, flag: str = "--out") -> None:
    """An output folder (``search --out DIR``): a writable folder, or a place where one can be made."""
    if path.exists() and not path.is_dir():
        raise UserInputError(f"{flag} {path} is a file; name a folder for the outputs")
    check_writable_folder(path, f"{flag} {path}")


def check_output_files(paths: Iterable[Path], *, overwrite: bool, ours: Callable[[Path], bool] | None = None,
                       flag: str | None = "--out") -> None:
    """Files a command is about to write: each writable, and none an existing file the tool did
    not write (``ours`` recognises the tool's own) unless ``overwrite``.  ``flag`` is the option
    that named them (None: the command chose the names itself)."""
    for path in paths:
        shown = f"{flag} {path}" if flag else str(path)
        if path.is_dir():
            raise UserInputError(f"{shown} is a folder; name the file to write")
        check_writable_folder(path.parent, shown)
        if path.exists() and not overwrite and not (ours is not None and ours(path)):
            raise UserInputError(f"{shown} exists and was not written by this command; it is left alone: "
                                 f"remove it, name another file, or replace it with --overwrite")


def check_drawing_outputs(out: Path, *, overwrite: bool, given: bool) -> None:
    """The PNG and SVG that a cell drawing for ``out`` writes (:func:`snas.draw.drawing_paths`);
    ``given``: the user named ``out`` with ``--out`` (so the messages quote it)."""
    from snas.draw import drawing_paths, is_drawing  # matplotlib: imported only for drawings

    if given:
        if out.is_dir():
            raise UserInputError(f"--out {out} is a folder; name the file to write (cells.png writes "
                                 f"cells.png and cells.svg)")
        check_writable_folder(out.parent, f"--out {out}")
    check_output_files(drawing_paths(out), overwrite=overwrite, ours=is_drawing, flag=None)


def check_study_outputs(study: Path, folders: Iterable[str], files: Iterable[str] = ()) -> None:
    """The analysis of the study folder ``study`` may be written: its own ``folders`` and
    ``files`` (named by :mod:`harness.studyfolder`) are folders and files, none a link, and
    writable.  What the tool wrote in them is replaced (see the module docstring); a link is
    refused rather than followed, since the analysis replaces each of them whole."""
    what = f"the analysis of {study}"
    check_writable_folder(study, what)
    for name, kind in [*((name, "folder") for name in folders), *((name, "file") for name in files)]:
        path = study / name
        if path.is_symlink():
            raise UserInputError(f"{what}: {path} is a symbolic link; the analysis replaces its own {kind} whole "
                                 f"and follows no link: remove the link")
        if path.exists() and path.is_dir() != (kind == "folder"):
            raise UserInputError(f"{what}: {path} is a {'file' if kind == 'folder' else 'folder'}, "
                                 f"not the {kind} the analysis writes")
        if kind == "folder":
            check_writable_folder(path, what)
