"""The analysis's outputs, replaced as a set: written beside the old ones, then swapped in.

An analysis writes ``analysis/`` (tables, ``best.json``), ``plots/`` and, for ``report``
and ``run``, ``report.html``.  A failure half-way -- a plot that cannot be drawn, a full
disk, Ctrl-C -- must leave the previous analysis whole, not new tables beside old plots.
So every output is first written into a staging folder inside the study folder (the same
file system, so a rename moves it) and only then swapped in: per output, the old one is
renamed into the staging folder and the new one into its place; the staging folder, now
holding the old outputs, is removed last.

A crash can still strike between those renames.  The staging folder is marked committed
before the first of them, and the next analysis settles whatever staging folder it finds
before it starts: an uncommitted one is removed (the old outputs never moved), a committed
one is finished (its new outputs moved in) and then removed.  One analysis at a time
writes a study folder (a lock file), so a staging folder found is never one being written.

An entry of the old ``analysis/`` or ``plots/`` that the analysis does not claim as its
own (a user's notes) is hard-linked -- copied where the file system has no hard links --
into the new folder before the swap, so it outlives the swap.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.studyfolder import ANALYSIS_DIR, ANALYSIS_LOCK, PLOTS_DIR, REPORT_FILE, STAGING_PREFIX
from snas.atomic import atomic_write_text
from snas.errors import UserInputError

OUTPUTS = (ANALYSIS_DIR, PLOTS_DIR, REPORT_FILE)
"""Everything an analysis may replace in the study folder."""
_NEW, _OLD, _COMMITTED = "new", "old", "committed"


def _is_real_folder(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError:
        shutil.copy2(source, target, follow_symlinks=False)


def _carry(source: Path, target: Path) -> None:
    """Put the user's entry ``source`` at ``target``, following no link."""
    if _is_real_folder(source):
        shutil.copytree(source, target, symlinks=True, copy_function=_link_or_copy)
    else:
        _link_or_copy(str(source), str(target))


class OutputSet:
    """The outputs one analysis writes, staged in ``staging`` until :meth:`commit`."""

    def __init__(self, study: Path, staging: Path) -> None:
        self.study, self.staging = study, staging
        self.names: list[str] = []
        (staging / _NEW).mkdir()

    def _staged(self, name: str) -> Path:
        if name not in OUTPUTS or name in self.names:
            raise ValueError(f"{name!r} is not an output of the analysis, or is staged already")
        self.names.append(name)
        return self.staging / _NEW / name

    def folder(self, name: str, ours: Callable[[Path], bool]) -> Path:
        """The folder to write the output folder ``name`` into, holding already every entry of
        the current one that is not ``ours`` (the analysis's own, replaced)."""
        folder = self._staged(name)
        folder.mkdir()
        current = self.study / name
        if _is_real_folder(current):
            for entry in sorted(current.iterdir()):
                if not ours(entry):
                    _carry(entry, folder / entry.name)
        return folder

    def file(self, name: str) -> Path:
        """Where to write the output file ``name``."""
        return self._staged(name)

    def commit(self) -> None:
        """Swap the staged outputs in and remove the old ones."""
        atomic_write_text(self.staging / _COMMITTED, "".join(f"{name}\n" for name in self.names))
        _finish(self.study, self.staging)


def _finish(study: Path, staging: Path) -> None:
    """Move the new outputs of the committed ``staging`` in (those not moved yet), the old
    ones out into it, then remove it."""
    (staging / _OLD).mkdir(exist_ok=True)
    with open(staging / _COMMITTED, "rb") as marker:
        names = marker.read(1024).decode("utf-8", errors="replace").split()  # three names at most
    for name in (name for name in names if name in OUTPUTS):  # a crafted list names nothing else
        new, current, old = staging / _NEW / name, study / name, staging / _OLD / name
        if not os.path.lexists(new):
            continue  # moved in before a crash
        if os.path.lexists(current) and not os.path.lexists(old):
            os.rename(current, old)
        if not os.path.lexists(current):
            os.rename(new, current)
    shutil.rmtree(staging)


def _committed(staging: Path) -> bool:
    """Whether ``staging`` holds a committed set as :meth:`OutputSet.commit` leaves it; a
    staging folder in any other shape (a crafted one included) is removed, never followed."""
    try:
        marked = stat.S_ISREG(os.lstat(staging / _COMMITTED).st_mode)
    except FileNotFoundError:
        return False
    return marked and _is_real_folder(staging / _NEW) and (
        not os.path.lexists(staging / _OLD) or _is_real_folder(staging / _OLD))


def settle(study: Path) -> None:
    """Finish or remove what an analysis that crashed left in the study folder."""
    for entry in study.glob(f"{STAGING_PREFIX}*"):
        if not _is_real_folder(entry):
            entry.unlink()
        elif _committed(entry):
            _finish(study, entry)
        else:
            shutil.rmtree(entry)


@contextmanager
def _locked(study: Path) -> Iterator[None]:
    try:
        fd = os.open(study / ANALYSIS_LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o666)
    except OSError as err:
        raise UserInputError(f"the analysis of {study}: cannot lock {study / ANALYSIS_LOCK} ({err.strerror})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextmanager
def replacing_outputs(study: Path) -> Iterator[OutputSet]:
    """The outputs of one analysis of ``study``, swapped in as a set when the block ends
    without an exception and discarded when it raises."""
    with _locked(study):
        settle(study)
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=study))
        try:
            outputs = OutputSet(study, staging)
            yield outputs
        except BaseException:
            shutil.rmtree(staging)
            raise
        outputs.commit()
