"""Data sets by name: where their images come from and their defaults.

Every loader returns the images of one split (``train`` or ``test``) either in memory
(:class:`ImageSet`, uint8 ``N×C×H×W``) or, for image folders too large to hold, as
:class:`ImageFiles` decoded on demand.  Sets without an official test split (``digits``,
flat image folders) hold out a fixed, stratified 20% that does not depend on any run's
seed, so every run tests on the same images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import torch
from pydantic import Field

from snas.configmodel import Frozen
from snas.errors import UserInputError
from snas.registry import Registry

Split = Literal["train", "test"]
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm"}
_HOLDOUT_FRACTION = 0.2


class SyntheticConfig(Frozen):
    """Shape of the generated ``synthetic`` set (class patterns plus noise)."""

    classes: int = Field(10, ge=2)
    image_size: int = Field(16, ge=4)
    train_images: int = Field(2000, ge=10)
    test_images: int = Field(500, ge=10)
    noise: float = Field(0.35, ge=0.0)


class SetSettings(Protocol):
    """What loading a set reads of its settings (:class:`snas.data.config.DataConfig`,
    which validates the set's name against :data:`DATASETS` and so cannot be imported here)."""

    dataset: str
    root: Path
    download: bool
    image_size: int
    in_memory: Literal["auto", "yes", "no"]
    memory_limit_gb: float
    synthetic: SyntheticConfig


@dataclass(frozen=True)
class ImageSet:
    """A labelled image set in memory."""

    images: torch.Tensor
    """uint8, ``N×C×H×W``."""
    labels: torch.Tensor
    """int64, ``N``."""
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def subset(self, indices: torch.Tensor) -> ImageSet:
        return ImageSet(self.images[indices], self.labels[indices], self.classes)


@dataclass(frozen=True)
class ImageFiles:
    """A labelled image set on disk, decoded and resized image by image when served."""

    paths: tuple[Path, ...]
    labels: torch.Tensor
    classes: tuple[str, ...]
    size: int

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def shape(self) -> tuple[int, int, int]:
        return (3, self.size, self.size)

    def subset(self, indices: torch.Tensor) -> ImageFiles:
        return ImageFiles(tuple(self.paths[i] for i in indices.tolist()), self.labels[indices], self.classes, self.size)

    def load(self, index: int) -> torch.Tensor:
        return read_image(self.paths[index], self.size)


ImageSource = ImageSet | ImageFiles


@dataclass(frozen=True)
class DatasetSpec:
    """How to load a data set and how to serve it by default."""

    load: Callable[[SetSettings, Split], ImageSource]
    mean: tuple[float, ...] | None
    """Per-channel normalisation mean in [0, 1]; ``None``: measured on the training images."""
    std: tuple[float, ...] | None
    crop_padding: int
    flip: bool
    needs_download: bool = False
    present: Callable[[SetSettings], None] | None = None
    """A cheap check that the files are where ``root`` says, without reading them; raises
    the same :class:`UserInputError` the loader would.  ``None``: nothing to look for."""
    shape: Callable[[SetSettings], tuple[int, int, int]] = lambda cfg: (3, 32, 10)
    """(channels, image side, classes) known without loading, for the memory estimate of a
    study's trials (:mod:`snas.memory`); an image folder's classes are not counted, so it
    claims 1000 (the classifier is a small part of a network)."""


def check_present(cfg: SetSettings) -> None:
    """Fail now, with the loader's message, when the data set's files are plainly absent.

    Commands that start many trials call this first, so a missing CIFAR folder is one
    message and exit code 2 rather than every trial erroring.  A set that may still be
    downloaded (``download: true``) passes: only the download itself can tell.
    """
    spec = DATASETS[cfg.dataset]
    if spec.present is not None and not (spec.needs_download and cfg.download):
        spec.present(cfg)


def read_image(path: Path, size: int) -> torch.Tensor:
    """Decode ``path`` as RGB, resize to ``size × size``; uint8 ``3×size×size``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img = img.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
            array = np.asarray(img, dtype=np.uint8)
    # PIL reports broken files as OSError (truncated), UnidentifiedImageError, SyntaxError
    # (bad PNG chunks), ValueError or DecompressionBombError, depending on the format.
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise UserInputError(f"cannot read image {path}: {err}") from None
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


def stratified_holdout(labels: torch.Tensor, fraction: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (kept, held out) with ``fraction`` of every class held out, fixed by ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    kept, held = [], []
    for label in torch.unique(labels).tolist():
        members = torch.nonzero(labels == label).flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        n_held = int(round(len(members) * fraction))
        held.append(members[:n_held])
        kept.append(members[n_held:])
    return torch.sort(torch.cat(kept)).values, torch.sort(torch.cat(held)).values


def _pick(split: Split, whole: ImageSet) -> ImageSet:
    kept, held = stratified_holdout(whole.labels, _HOLDOUT_FRACTION)
    return whole.subset(kept if split == "train" else held)


def _load_digits(cfg: SetSettings, split: Split) -> ImageSet:
    from sklearn.datasets import load_digits

    digits = load_digits()
    # 8×8 grey levels 0..16 -> uint8 0..255, one channel.
    images = torch.from_numpy(np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8))[:, None]
    whole = ImageSet(images.contiguous(), torch.from_numpy(digits.target.astype(np.int64)),
                     tuple(str(d) for d in range(10)))
    return _pick(split, whole)


def _load_synthetic(cfg: SetSettings, split: Split) -> ImageSet:
    """Class-specific coloured 4×4 patterns, upsampled, randomly shifted, plus noise.

    Learnable (accuracy well above chance after a few epochs of a tiny network) but not
    trivial; the patterns are the same for both splits, the draws are not.
    """
    opts = cfg.synthetic
    size, n = opts.image_size, opts.train_images if split == "train" else opts.test_images
    patterns = torch.rand(opts.classes, 3, 4, 4, generator=torch.Generator().manual_seed(1234))
    templates = torch.nn.functional.interpolate(patterns, size=(size, size), mode="nearest")
    generator = torch.Generator().manual_seed(0 if split == "train" else 1)
    labels = torch.randint(opts.classes, (n,), generator=generator)
    images = templates[labels]
    shift = max(1, size // 8)
    dy = torch.randint(-shift, shift + 1, (n,), generator=generator)
    dx = torch.randint(-shift, shift + 1, (n,), generator=generator)
    rows = (torch.arange(size)[None, :] - dy[:, None]).clamp(0, size - 1)
    cols = (torch.arange(size)[None, :] - dx[:, None]).clamp(0, size - 1)
    images = images[torch.arange(n)[:, None, None], :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    images = images + opts.noise * torch.randn(images.shape, generator=generator)
    images = (images.clamp(0, 1) * 255).round().to(torch.uint8).contiguous()
    return ImageSet(images, labels, tuple(f"class{k}" for k in range(opts.classes)))


def _torchvision_error(
    title: str, cfg: SetSettings, expected: str, url: str, archive: bool, err: Exception,
) -> UserInputError:
    """Say where the files go and where they come from; ``archive``: ``url`` must be extracted."""
    where = cfg.root / expected
    fetch = f"extract {url} into {cfg.root}" if archive else f"save {url} as {where}"
    if cfg.download:
        return UserInputError(
            f"could not download {title} into {cfg.root} ({type(err).__name__}: {err}). "
            f"Without network here, download and {fetch} from another machine, then set data.download: false."
        )
    return UserInputError(
        f"{title} not found (or incomplete) at {where}. Download and {fetch}, "
        f"point data.root at the folder that holds {expected}, or set data.download: true "
        f"on a machine with network access."
    )


def _cifar_loader(class_name: str, title: str, folder: str) -> Callable[[SetSettings, Split], ImageSet]:
    def load(cfg: SetSettings, split: Split) -> ImageSet:
        from torchvision import datasets

        cls = getattr(datasets, class_name)
        try:
            ds = cls(root=str(cfg.root), train=split == "train", download=cfg.download)
        except Exception as err:  # torchvision raises RuntimeError, URLError, OSError, ...
            raise _torchvision_error(title, cfg, folder, cls.url, True, err) from None
        images = torch.from_numpy(np.ascontiguousarray(ds.data)).permute(0, 3, 1, 2).contiguous()
        return ImageSet(images, torch.as_tensor(ds.targets, dtype=torch.int64), tuple(ds.classes))

    return load


def _file_present(title: str, expected: str, url: Callable[[], str], archive: bool) -> Callable[[SetSettings], None]:
    """A presence check for ``<root>/<expected>``; ``url`` is looked up only for the message."""
    def present(cfg: SetSettings) -> None:
        if not (cfg.root / expected).exists():
            raise _torchvision_error(title, cfg, expected, url(), archive, FileNotFoundError(cfg.root / expected))

    return present


def _torchvision_url(class_name: str, split: Split | None = None) -> Callable[[], str]:
    def url() -> str:
        from torchvision import datasets

        cls = getattr(datasets, class_name)
        return cls.split_list[split][0] if split else cls.url

    return url


def _load_svhn(cfg: SetSettings, split: Split) -> ImageSet:
    from torchvision import datasets

    try:
        ds = datasets.SVHN(root=str(cfg.root), split=split, download=cfg.download)
    except Exception as err:
        url = datasets.SVHN.split_list[split][0]
        raise _torchvision_error("SVHN", cfg, f"{split}_32x32.mat", url, False, err) from None
    # torchvision has already turned X (H×W×C×N) into N×C×H×W and label 10 into digit 0
    images = torch.from_numpy(np.ascontiguousarray(ds.data))
    return ImageSet(images, torch.as_tensor(ds.labels, dtype=torch.int64), tuple(str(d) for d in range(10)))


def _class_folders(root: Path) -> list[Path]:
    """Sub-folders of ``root`` (hidden ones aside) holding at least one image, by name."""
    def has_images(folder: Path) -> bool:
        return any(f.suffix.lower() in IMAGE_SUFFIXES and f.is_file() for f in folder.rglob("*"))

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


def _scan_folder(root: Path, classes: tuple[str, ...]) -> tuple[list[Path], list[int]]:
    """Image paths under ``root/<class>/`` and their labels (the class's index in ``classes``).

    A test folder may lack some training classes; a class the training folder does not
    have would get no label the network knows, so it is refused.
    """
    if not root.is_dir():
        raise UserInputError(f"image folder {root} does not exist")
    unknown = sorted(d.name for d in _class_folders(root) if d.name not in classes)
    if unknown:
        raise UserInputError(
            f"image folder {root} has classes the training folder lacks: {', '.join(unknown)}; "
            f"every test class needs a training folder of the same name"
        )
    paths, labels = [], []
    for label, name in enumerate(classes):
        folder = root / name
        if not folder.is_dir():
            continue
        for f in sorted(folder.rglob("*")):
            if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES:
                paths.append(f)
                labels.append(label)
    return paths, labels


def _imagefolder_present(cfg: SetSettings) -> None:
    root = cfg.root
    _folder_classes(root / "train" if (root / "train").is_dir() else root)


def _load_imagefolder(cfg: SetSettings, split: Split) -> ImageSource:
    """``root/<class>/*`` (20% held out as test) or ``root/{train,test|val}/<class>/*``.

    In the second layout the class list (and so every label) comes from ``train/``.
    """
    root = cfg.root
    test_dir = root / "test" if (root / "test").is_dir() else root / "val"
    presplit = (root / "train").is_dir()
    if presplit and not test_dir.is_dir():
        raise UserInputError(
            f"image folder {root} has a train/ folder but no test/ or val/ beside it; add one with the "
            f"same class sub-folders, or put the class folders directly in {root}"
        )
    classes = _folder_classes(root / "train" if presplit else root)
    folder = (root / "train" if split == "train" else test_dir) if presplit else root
    paths, labels = _scan_folder(folder, classes)
    label_tensor = torch.as_tensor(labels, dtype=torch.int64)
    if not presplit:
        kept, held = stratified_holdout(label_tensor, _HOLDOUT_FRACTION)
        chosen = kept if split == "train" else held
        paths, label_tensor = [paths[i] for i in chosen.tolist()], label_tensor[chosen]
    if not paths:  # a test part only: the training classes have images
        raise UserInputError(
            f"image folder {folder} has no test images of the training classes; add some"
            if presplit else
            f"image folder {root} has too few images to hold out a test part (20% of each class); add images "
            f"or split them into {root}/train/<class>/ and {root}/test/<class>/"
        )
    size = cfg.image_size
    fits = len(paths) * 3 * size * size <= cfg.memory_limit_gb * 2**30
    if cfg.in_memory == "no" or (cfg.in_memory == "auto" and not fits):
        return ImageFiles(tuple(paths), label_tensor, classes, size)
    return ImageSet(torch.stack([read_image(p, size) for p in paths]), label_tensor, classes)


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_CIFAR_FLIP = dict(crop_padding=4, flip=True, needs_download=True)

DATASETS: Registry[DatasetSpec] = Registry("data set", {
    "digits": DatasetSpec(_load_digits, None, None, crop_padding=1, flip=False, shape=lambda cfg: (1, 8, 10)),
    "synthetic": DatasetSpec(_load_synthetic, None, None, crop_padding=2, flip=False,
                             shape=lambda cfg: (3, cfg.synthetic.image_size, cfg.synthetic.classes)),
    "cifar10": DatasetSpec(
        _cifar_loader("CIFAR10", "CIFAR-10", "cifar-10-batches-py"),
        (0.49139968, 0.48215827, 0.44653124), (0.24703233, 0.24348505, 0.26158768), **_CIFAR_FLIP,
        shape=lambda cfg: (3, 32, 10),
        present=_file_present("CIFAR-10", "cifar-10-batches-py", _torchvision_url("CIFAR10"), True)),
    "cifar100": DatasetSpec(
        _cifar_loader("CIFAR100", "CIFAR-100", "cifar-100-python"),
        (0.50707516, 0.48654887, 0.44091784), (0.26733429, 0.25643846, 0.27615047), **_CIFAR_FLIP,
        shape=lambda cfg: (3, 32, 100),
        present=_file_present("CIFAR-100", "cifar-100-python", _torchvision_url("CIFAR100"), True)),
    "svhn": DatasetSpec(_load_svhn, (0.4376821, 0.4437697, 0.47280442), (0.19803012, 0.20101562, 0.19703614),
                        crop_padding=4, flip=False, needs_download=True, shape=lambda cfg: (3, 32, 10),
                        present=_file_present("SVHN", "train_32x32.mat", _torchvision_url("SVHN", "train"), False)),
    # ImageNet statistics rather than measured ones: a streamed folder cannot be measured
    # without decoding it all, and both paths must serve identical batches.
    "imagefolder": DatasetSpec(_load_imagefolder, IMAGENET_MEAN, IMAGENET_STD, crop_padding=4, flip=True,
                               present=_imagefolder_present, shape=lambda cfg: (3, cfg.image_size, 1000)),
})
"""The data-set registry."""
