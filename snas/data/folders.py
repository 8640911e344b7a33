"""Image folders read from their names and file sizes alone, without decoding an image.

The loader (:mod:`snas.data.sets`), the check before a study starts Ray and the memory
estimate of its trials all read a folder through :func:`read_folder` and
:func:`labelled_images`, so they agree on what is a class and what is an image: a class
is a sub-folder (hidden ones aside) holding at least one file with an image suffix, at
any depth.

Layouts: ``root/<class>/*`` (the loader holds out a fixed 20% as test) or
``root/train/<class>/*`` beside ``root/test/`` (or ``root/val/``); in the second the
class list, and so every label, comes from ``train/``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from snas.errors import DataError, UserInputError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm"}
EMPTY = "empty file"
_NAMED = 20
"""Unreadable images named in one message; more are counted, not listed."""


def is_image(path: Path) -> bool:
    """The one rule for what counts as an image file (by suffix: nothing is opened)."""
    return path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()


def _class_folders(root: Path) -> list[Path]:
    """Sub-folders of ``root`` (hidden ones aside) holding at least one image, by name."""
    def has_images(folder: Path) -> bool:
        return any(is_image(f) for f in folder.rglob("*"))

    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and has_images(p))


def _folder_classes(root: Path) -> tuple[str, ...]:
    """The class names of an image folder; at least two, or a message saying what is wrong."""
    if not root.is_dir():
        raise UserInputError(f"image folder {root} does not exist (set data.root to a folder of class sub-folders)")
    classes = _class_folders(root)
    if not classes:
        raise UserInputError(
            f"image folder {root} has no class sub-folders with images "
            f"(expected {root}/<class>/<image>{{{','.join(sorted(IMAGE_SUFFIXES))}}})"
        )
    if len(classes) == 1:
        raise UserInputError(
            f"image folder {root} has only one class ({classes[0].name}); a classifier needs at least two"
        )
    return tuple(d.name for d in classes)


@dataclass(frozen=True)
class ImageFolder:
    """Where an image folder's splits are and which classes it has."""

    root: Path
    train: Path
    """The folder of the training classes: ``root/train``, or ``root`` itself."""
    test: Path | None
    """``root/test`` or ``root/val``; ``None``: the test part is held out of ``train``."""
    classes: tuple[str, ...]

    def every_image(self) -> list[Path]:
        """Every image of every split, each once (a flat folder's splits share its files)."""
        parts = [self.train] if self.test is None else [self.train, self.test]
        return [path for part in parts for path in labelled_images(part, self.classes)[0]]


def read_folder(root: Path) -> ImageFolder:
    """The layout and classes of the image folder at ``root``; listing only, so cheap."""
    test = root / "test" if (root / "test").is_dir() else root / "val"
    if (root / "train").is_dir():
        if not test.is_dir():
            raise UserInputError(
                f"image folder {root} has a train/ folder but no test/ or val/ beside it; add one with the "
                f"same class sub-folders, or put the class folders directly in {root}"
            )
        return ImageFolder(root, root / "train", test, _folder_classes(root / "train"))
    return ImageFolder(root, root, None, _folder_classes(root))


def labelled_images(folder: Path, classes: tuple[str, ...]) -> tuple[list[Path], list[int]]:
    """Image paths under ``folder/<class>/`` and their labels (the class's index in ``classes``).

    A test folder may lack some training classes; a class the training folder does not
    have would get no label the network knows, so it is refused.
    """
    if not folder.is_dir():
        raise UserInputError(f"image folder {folder} does not exist")
    unknown = sorted(d.name for d in _class_folders(folder) if d.name not in classes)
    if unknown:
        raise UserInputError(
            f"image folder {folder} has classes the training folder lacks: {', '.join(unknown)}; "
            f"every test class needs a training folder of the same name"
        )
    paths, labels = [], []
    for label, name in enumerate(classes):
        if (folder / name).is_dir():
            found = sorted(f for f in (folder / name).rglob("*") if is_image(f))
            paths += found
            labels += [label] * len(found)
    return paths, labels


def empty_images(paths: Iterable[Path]) -> dict[Path, str]:
    """The empty files among ``paths`` (one ``stat`` each), as :func:`unreadable_error` takes them."""
    return {path: EMPTY for path in paths if path.stat().st_size == 0}


def unreadable_error(root: Path, bad: Mapping[Path, str]) -> DataError:
    """One message naming every unreadable image once, with why: ``bad`` maps path to reason."""
    if len(bad) == 1:
        [(path, reason)] = bad.items()
        return DataError(f"cannot read image {path}: {reason}; remove or replace it")
    named = [f"{path.relative_to(root)} ({bad[path]})" for path in sorted(bad)[:_NAMED]]
    more = f" and {len(bad) - _NAMED} more" if len(bad) > _NAMED else ""
    return DataError(f"cannot read {len(bad)} images of image folder {root}: {', '.join(named)}{more}; "
                     f"remove or replace them")


def check_folder(root: Path) -> None:
    """The cheap look before a study starts: the layout, two classes, no empty image in any split."""
    folder = read_folder(root)
    empty = empty_images(folder.every_image())
    if empty:
        raise unreadable_error(root, empty)
