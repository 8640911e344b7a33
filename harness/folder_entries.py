"""The entries of a study folder, judged before they are read and never by following them.

A study folder may come from anywhere (copied from a cluster, unpacked from an archive,
crafted), so its structure is trusted no more than its contents: a ``trial_*`` entry may
be a symbolic link to anywhere, a file where a folder belongs, a named pipe where a file
belongs (reading one blocks for ever), or a file of many gigabytes.  The analysis reads
only plain files and real folders, each checked with ``lstat`` (which does not follow a
link); a file is opened without following a link (``O_NOFOLLOW``), without blocking (a
pipe swapped in after the check cannot hang the read) and checked again on the open file.
Anything else is :class:`Refused` with a sentence saying what it is, which the callers
record as damage; nothing outside the study folder is read.

A file larger than its cap is refused unread: the caps sit far above what a real study
writes (a 1000-epoch search writes about 1 MB of ``metrics.jsonl`` and 2 MB of
``result.json``; Tune's experiment state holds a few kB per trial) and far below what
would exhaust memory once parsed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MiB = 2**20
TRIAL_FILE_CAP = 64 * MiB
"""The largest file of a trial folder that is read."""
STATE_FILE_CAP = 256 * MiB
"""The largest experiment state (Tune's ``experiment_state-*.json``) that is read."""
STUDY_FILE_CAP = 1 * MiB
"""The largest ``study.yaml`` of a study folder that is read (a resolved study is a few kB)."""

_KINDS = (
    (stat.S_ISREG, "file"), (stat.S_ISDIR, "folder"), (stat.S_ISLNK, "symbolic link"),
    (stat.S_ISFIFO, "named pipe"), (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "character device"),
    (stat.S_ISBLK, "block device"),
)


class Refused(Exception):
    """An entry that is not what the study folder may hold in its place; the message says what it is."""


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "special file")


def _refusal(path: Path | str, info: os.stat_result, wanted: str) -> Refused:
    if stat.S_ISLNK(info.st_mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return Refused(f"a symbolic link (to {target}); links are not followed")
    return Refused(f"a {_kind(info.st_mode)}, not a {wanted}")


def _entry(path: Path | str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as err:
        raise Refused(f"unreadable ({err.strerror})") from None


def is_folder(path: Path) -> bool:
    """Whether ``path`` is a real folder; ``False`` when absent, :class:`Refused` when it is
    anything else (a link to a folder included)."""
    info = _entry(path)
    if info is not None and not stat.S_ISDIR(info.st_mode):
        raise _refusal(path, info, "folder")
    return info is not None


def is_file(path: Path) -> bool:
    """Whether ``path`` is a plain file; ``False`` when absent, :class:`Refused` when it is
    anything else (a link to a file included).  For files the analysis names but does not
    read (checkpoints); :func:`read_file` checks what it reads."""
    info = _entry(path)
    if info is not None and not stat.S_ISREG(info.st_mode):
        raise _refusal(path, info, "file")
    return info is not None


def _too_big(size: int, cap: int) -> Refused:
    return Refused(f"{size:,} bytes, over the {cap // MiB} MiB cap for such a file; not read")


_GROWTH_CHUNK = MiB


def _read_open(fd: int, size: int, cap: int) -> bytes:
    """The bytes of the open file ``fd`` of ``size`` bytes, to its end or to ``cap`` + 1 of
    them (it may grow while read).  Asking for the size and a byte more, rather than for
    ``cap`` + 1 bytes at once, spares allocating the cap first: 15 µs of the 17 µs it took to
    read a small file, and a study of 10,000 trials reads 60,000 of them.  A read that
    returns less than it asked for, once the ``size`` bytes are in, found the end: the
    read that would return nothing is not made."""
    parts, total, want = [], 0, size + 1
    while total <= cap:
        asked = min(want, cap + 1 - total)
        part = os.read(fd, asked)
        if not part:
            break
        parts.append(part)
        total += len(part)
        if len(part) < asked and total >= size:
            break
        want = _GROWTH_CHUNK
    return b"".join(parts)


def read_file(path: Path | str, cap: int, found: dict[str, os.stat_result] | None = None) -> bytes | None:
    """The bytes of the plain file ``path`` (at most ``cap`` of them); ``None`` when it is
    absent, :class:`Refused` when it is anything else or larger.  ``found``: where to note
    what the entry was when opened (its ``lstat``, under its name; nothing when absent), so
    that the caller knows which version of it was read without examining it again."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as err:
        info = _entry(path)
        if info is not None and found is not None:
            found[os.path.basename(path)] = info
        if info is None or stat.S_ISREG(info.st_mode):
            raise Refused(f"unreadable ({err.strerror})") from None
        raise _refusal(path, info, "file") from None
    try:
        info = os.fstat(fd)  # the entry opened, not followed: what lstat says of it
        if found is not None:
            found[os.path.basename(path)] = info
        if not stat.S_ISREG(info.st_mode):
            raise _refusal(path, info, "file")
        if info.st_size > cap:
            raise _too_big(info.st_size, cap)
        data = _read_open(fd, info.st_size, cap)
    except OSError as err:
        raise Refused(f"unreadable ({err.strerror})") from None
    finally:
        os.close(fd)
    if len(data) > cap:  # grew after the check
        raise _too_big(len(data), cap)
    return data
