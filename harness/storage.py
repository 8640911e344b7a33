"""Reading and writing the harness's files in a study folder on a local path or a URI."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from harness.folder_entries import Refused, read_file
from harness.outputs import check_writable_folder
from snas.atomic import atomic_write_text
from snas.errors import UserInputError

if TYPE_CHECKING:
    import pyarrow.fs


def _filesystem(path: str) -> pyarrow.fs.FileSystem:
    import pyarrow.fs

    return pyarrow.fs.FileSystem.from_uri(path)


def is_uri(path: str) -> bool:
    return "://" in path


def make_local_root(path: str) -> None:
    """Create the local folder that will hold a study, or refuse with the reason (a file in
    the way, no permission) before Ray starts; URIs are left to their file system."""
    if is_uri(path):
        return
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UserInputError(f"storage.path: cannot use {path} for results: it is a file, not a folder") from None
    except OSError as err:
        raise UserInputError(f"storage.path: cannot create the results folder {path}: {err.strerror}") from None
    check_writable_folder(Path(path), f"storage.path: cannot use {path} for results")


def exists(path: str) -> bool:
    if not is_uri(path):
        return Path(path).exists()
    import pyarrow.fs

    fs, inner = _filesystem(path)
    return fs.get_file_info(inner).type != pyarrow.fs.FileType.NotFound


def uri_file_names(uri: str) -> list[str]:
    """The names of the files directly in the folder at ``uri`` (none where it does not exist).
    A local folder's are listed by whoever reads them, through :mod:`harness.folder_entries`."""
    import pyarrow.fs

    fs, inner = _filesystem(uri)
    listed = fs.get_file_info(pyarrow.fs.FileSelector(inner, allow_not_found=True))
    return sorted(info.base_name for info in listed if info.type == pyarrow.fs.FileType.File)


def write_text(path: str, text: str) -> None:
    if not is_uri(path):
        atomic_write_text(path, text)
        return
    fs, inner = _filesystem(path)
    fs.create_dir(inner.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(inner) as stream:
        stream.write(text.encode("utf-8"))


def read_text(path: str, cap: int) -> str:
    """The UTF-8 text of a file.  A local one must be a plain file of at most ``cap`` bytes,
    read without following a link (:mod:`harness.folder_entries`); anything else in its place
    is the user's to fix."""
    try:
        if not is_uri(path):
            data = read_file(Path(path), cap)
            if data is None:
                raise UserInputError(f"{path} does not exist")
            return data.decode("utf-8")
        fs, inner = _filesystem(path)
        with fs.open_input_stream(inner) as stream:
            return stream.read().decode("utf-8")
    except Refused as err:
        raise UserInputError(f"{path} is {err}") from None
    except UnicodeDecodeError:
        raise UserInputError(f"{path} is damaged: not UTF-8 text") from None


def remove_tree(path: str) -> None:
    if not is_uri(path):
        shutil.rmtree(path)
        return
    fs, inner = _filesystem(path)
    fs.delete_dir(inner)
