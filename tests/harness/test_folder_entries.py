"""Reading a study folder's file (harness.folder_entries.read_file): whole, to its end even
when it grows while read, and never past its cap."""

from __future__ import annotations

import os

import pytest

from harness import folder_entries
from harness.folder_entries import MiB, Refused, read_file


@pytest.mark.parametrize("size", [0, 1, 4096, 3 * MiB + 7])
def test_a_file_is_read_whole(tmp_path, size):
    data = bytes(range(256)) * (size // 256) + b"\n" * (size % 256)
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(data)
    assert read_file(path, 4 * MiB) == data


def _stale_size(monkeypatch, size: int) -> None:
    """``os.fstat`` reports ``size`` bytes: the file grows after its size is taken."""
    real = os.fstat

    def fstat(fd: int) -> os.stat_result:
        info = list(real(fd))
        info[6] = size  # st_size
        return os.stat_result(info)

    monkeypatch.setattr(folder_entries.os, "fstat", fstat)


def test_a_file_that_grows_while_read_is_read_to_its_end(tmp_path, monkeypatch):
    data = b"0123456789" * (MiB // 4)  # 2.5 MiB, read on past the 10 bytes it had, a MiB at a time
    path = tmp_path / "result.json"
    path.write_bytes(data)
    _stale_size(monkeypatch, 10)
    assert read_file(path, 4 * MiB) == data


def test_a_file_that_grows_past_its_cap_while_read_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "result.json"
    path.write_bytes(b"x" * (2 * MiB))
    _stale_size(monkeypatch, 10)
    with pytest.raises(Refused, match=r"^1,048,577 bytes, over the 1 MiB cap for such a file; not read$"):
        read_file(path, MiB)
