"""Data sets by name: where their images come from and their defaults.

Every loader returns the images of one split (``train`` or ``test``) either in memory
(:class:`ImageSet`, uint8 ``N×C×H×W``) or, for image folders too large to hold, as
:class:`ImageFiles` decoded on demand.  Sets without an official test split (``digits``,
flat image folders) hold out a fixed, stratified 20% that does not depend on any run's
seed, so every run tests on the same images.

Naming a set, checking that its files are there and sizing its inputs need no tensor: the
study checks and the offline analysis do them without loading torch, which is imported by
the functions that build tensors (as PIL, scikit-learn and torchvision are by the loaders
that read with them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, TypedDict

import numpy as np
from pydantic import Field

from snas.configmodel import Frozen
from snas.data.folders import ImageFolder, check_folder, empty_images, labelled_images, read_folder, unreadable_error
from snas.errors import UserInputError
from snas.registry import Registry

if TYPE_CHECKING:
    import torch

Split = Literal["train", "test"]
_HOLDOUT_FRACTION = 0.2
NOT_AN_IMAGE = "not an image PIL can identify"


class SyntheticConfig(Frozen):
    """Shape of the generated ``synthetic`` set (class patterns plus noise)."""

    classes: int = Field(10, ge=2)
    image_size: int = Field(16, ge=4)
    train_images: int = Field(2000, ge=10)
    test_images: int = Field(500, ge=10)
    noise: float = Field(0.35, ge=0.0)


class SetSettings(Protocol):
    """What loading a set reads of its settings (:class:`snas.data.config.DataConfig`,
    which validates the set's name against :data:`DATASETS` and so cannot be imported here;
    read-only, as the frozen config's fields are)."""

    @property
    def dataset(self) -> str: ...

    @property
    def root(self) -> Path: ...

    @property
    def download(self) -> bool: ...

    @property
    def image_size(self) -> int: ...

    @property
    def in_memory(self) -> Literal["auto", "yes", "no"]: ...

    @property
    def memory_limit_gb(self) -> float: ...

    @property
    def synthetic(self) -> SyntheticConfig: ...


@dataclass(frozen=True)
class InputSpec:
    """What a network sees of a data set: ``channels × height × width`` images of ``classes`` labels.

    Named, because a bare tuple let an image side and a class count change places: an image
    folder's 1000 assumed classes once became a 1000-pixel side in the memory estimate.
    """

    channels: int
    height: int
    width: int
    classes: int

    @property
    def side(self) -> int:
        """The side of the square image the networks and the memory estimate are sized for."""
        return max(self.height, self.width)


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
        channels, height, width = self.images.shape[1:]
        return channels, height, width

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
    inputs: Callable[[SetSettings], InputSpec] = field(kw_only=True)
    """What the loader will serve, known without loading (an image folder is listed, not
    decoded): for the memory estimate of a study's trials (:mod:`snas.memory`), their sizes'
    input and the chance level of their accuracy."""

    @property
    def reads_root(self) -> bool:
        """Whether the set is read from files under ``data.root`` (``digits`` comes with
        scikit-learn and ``synthetic`` is generated: their ``root`` is never read)."""
        return self.present is not None


def check_present(cfg: SetSettings) -> None:
    """Fail now, with the loader's message, when the data set's files are plainly absent.

    Commands that start many trials call this first, so a missing CIFAR folder is one
    message and exit code 2 rather than every trial erroring.  A set that may still be
    downloaded (``download: true``) passes: only the download itself can tell.
    """
    spec = DATASETS[cfg.dataset]
    if spec.present is not None and not (spec.needs_download and cfg.download):
        spec.present(cfg)


class UnreadableImage(Exception):
    """PIL cannot read an image file; the message says why, without the path."""


@contextmanager
def _pil_errors() -> Iterator[None]:
    """PIL's many ways of reporting a broken file, as :class:`UnreadableImage`."""
    from PIL import Image, UnidentifiedImageError

    try:
        yield
    except UnidentifiedImageError:  # its message repeats the path
        raise UnreadableImage(NOT_AN_IMAGE) from None
    # Broken files show as OSError (truncated), SyntaxError (bad PNG chunks), ValueError or
    # DecompressionBombError, depending on the format.
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise UnreadableImage(str(err)) from None


def _decode(path: Path, size: int) -> torch.Tensor:
    """``path`` as RGB, resized to ``size × size``: uint8 ``3×size×size``."""
    import torch
    from PIL import Image

    with _pil_errors(), Image.open(path) as img:
        array = np.asarray(img.convert("RGB").resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8)
    return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


def _unidentified(paths: Iterable[Path]) -> dict[Path, str]:
    """The files among ``paths`` PIL cannot identify, by reason; it reads their headers only."""
    from PIL import Image

    bad = {}
    for path in paths:
        try:
            with _pil_errors(), Image.open(path):
                pass
        except UnreadableImage as err:
            bad[path] = str(err)
    return bad


def _decode_all(paths: list[Path], size: int) -> tuple[list[torch.Tensor], dict[Path, str]]:
    """The images of ``paths`` decoded (:func:`_decode`), and why each of the others could not be."""
    images, failed = [], {}
    for path in paths:
        try:
            images.append(_decode(path, size))
        except UnreadableImage as err:
            failed[path] = str(err)
    return images, failed


def read_image(path: Path, size: int) -> torch.Tensor:
    """Decode ``path`` as RGB, resize to ``size × size``; uint8 ``3×size×size``."""
    try:
        return _decode(path, size)
    except UnreadableImage as err:
        raise unreadable_error(path.parent, {path: str(err)}) from None


def stratified_holdout(labels: torch.Tensor, fraction: float, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (kept, held out) with ``fraction`` of every class held out, fixed by ``seed``."""
    import torch

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


DIGITS_FILE = Path("datasets") / "data" / "digits.csv.gz"
"""Where scikit-learn keeps its copy of the UCI optical digits (the test part of optdigits,
1,797 images): one row per image, its 64 grey levels 0..16 then its label."""


def digits_table() -> np.ndarray:
    """The digits as scikit-learn ships them, one row per image (:data:`DIGITS_FILE`), read
    without importing scikit-learn: its import took 1.5 s, paid by every trial process of a
    digits study (and by each worker of a data-parallel one).  scikit-learn's own loader
    reads the file where its layout differs."""
    import gzip
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    folders = spec.submodule_search_locations if spec is not None else None
    path = Path(folders[0]) / DIGITS_FILE if folders else None
    if path is not None and path.is_file():
        with gzip.open(path, "rt") as handle:
            return np.loadtxt(handle, delimiter=",")
    from sklearn.datasets import load_digits

    digits = load_digits()
    return np.column_stack([digits.data, digits.target])


def _load_digits(cfg: SetSettings, split: Split) -> ImageSet:
    import torch

    table = digits_table()
    # 8×8 grey levels 0..16 -> uint8 0..255, one channel.
    images = torch.from_numpy(np.rint(table[:, :64].reshape(-1, 1, 8, 8) * (255.0 / 16.0)).astype(np.uint8))
    whole = ImageSet(images.contiguous(), torch.from_numpy(table[:, 64].astype(np.int64)),
                     tuple(str(d) for d in range(10)))
    return _pick(split, whole)


def _load_synthetic(cfg: SetSettings, split: Split) -> ImageSet:
    """Class-specific coloured 4×4 patterns, upsampled, randomly shifted, plus noise.

    Learnable (accuracy well above chance after a few epochs of a tiny network) but not
    trivial; the patterns are the same for both splits, the draws are not.
    """
    import torch

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
        import torch
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
        return str(cls.split_list[split][0] if split else cls.url)

    return url


def _load_svhn(cfg: SetSettings, split: Split) -> ImageSet:
    import torch
    from torchvision import datasets

    try:
        ds = datasets.SVHN(root=str(cfg.root), split=split, download=cfg.download)
    except Exception as err:
        url = datasets.SVHN.split_list[split][0]
        raise _torchvision_error("SVHN", cfg, f"{split}_32x32.mat", url, False, err) from None
    # torchvision has already turned X (H×W×C×N) into N×C×H×W and label 10 into digit 0
    images = torch.from_numpy(np.ascontiguousarray(ds.data))
    return ImageSet(images, torch.as_tensor(ds.labels, dtype=torch.int64), tuple(str(d) for d in range(10)))


def _folder_split(folder: ImageFolder, split: Split) -> tuple[list[Path], torch.Tensor]:
    """The image paths and labels of ``split``: a flat folder's kept or held-out part, or the split's folder."""
    import torch

    part = folder.train if split == "train" or folder.test is None else folder.test
    paths, labels = labelled_images(part, folder.classes)
    label_tensor = torch.as_tensor(labels, dtype=torch.int64)
    if folder.test is None:
        kept, held = stratified_holdout(label_tensor, _HOLDOUT_FRACTION)
        chosen = kept if split == "train" else held
        paths, label_tensor = [paths[i] for i in chosen.tolist()], label_tensor[chosen]
    if not paths:  # a test part only: the training classes have images
        root = folder.root
        raise UserInputError(
            f"image folder {part} has no test images of the training classes; add some"
            if folder.test is not None else
            f"image folder {root} has too few images to hold out a test part (20% of each class); add images "
            f"or split them into {root}/train/<class>/ and {root}/test/<class>/"
        )
    return paths, label_tensor


def _load_imagefolder(cfg: SetSettings, split: Split) -> ImageSource:
    """The ``split`` of the image folder at ``root`` (layouts: :mod:`snas.data.folders`).

    Every image of every split is checked before any is served, and the unreadable ones
    are named together, each once: empty files always (one ``stat`` each); for a folder
    held in memory also the other split's headers and this split's pixels, as they are
    decoded.  A streamed folder is too large to open twice: an image of it that does not
    decode fails the epoch that serves it, named.
    """
    import torch

    folder = read_folder(cfg.root)
    paths, labels = _folder_split(folder, split)
    size = cfg.image_size
    fits = len(paths) * 3 * size * size <= cfg.memory_limit_gb * 2**30
    every = folder.every_image()
    bad = empty_images(every)
    if cfg.in_memory == "no" or (cfg.in_memory == "auto" and not fits):
        if bad:
            raise unreadable_error(folder.root, bad)
        return ImageFiles(tuple(paths), labels, folder.classes, size)
    chosen = set(paths)
    bad |= _unidentified(path for path in every if path not in chosen and path not in bad)
    images, failed = _decode_all([path for path in paths if path not in bad], size)
    if bad or failed:
        raise unreadable_error(folder.root, bad | failed)
    return ImageSet(torch.stack(images), labels, folder.classes)


def _folder_inputs(cfg: SetSettings) -> InputSpec:
    """RGB at ``image_size`` (what the loader converts and resizes every image to), and the
    folder's classes, counted by listing it."""
    return InputSpec(3, cfg.image_size, cfg.image_size, len(read_folder(cfg.root).classes))


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class _Serving(TypedDict):
    crop_padding: int
    flip: bool
    needs_download: bool


_CIFAR_FLIP = _Serving(crop_padding=4, flip=True, needs_download=True)

DATASETS: Registry[DatasetSpec] = Registry("data set", {
    "digits": DatasetSpec(_load_digits, None, None, crop_padding=1, flip=False,
                          inputs=lambda cfg: InputSpec(1, 8, 8, 10)),
    "synthetic": DatasetSpec(_load_synthetic, None, None, crop_padding=2, flip=False,
                             inputs=lambda cfg: InputSpec(3, cfg.synthetic.image_size, cfg.synthetic.image_size,
                                                          cfg.synthetic.classes)),
    "cifar10": DatasetSpec(
        _cifar_loader("CIFAR10", "CIFAR-10", "cifar-10-batches-py"),
        (0.49139968, 0.48215827, 0.44653124), (0.24703233, 0.24348505, 0.26158768), **_CIFAR_FLIP,
        inputs=lambda cfg: InputSpec(3, 32, 32, 10),
        present=_file_present("CIFAR-10", "cifar-10-batches-py", _torchvision_url("CIFAR10"), True)),
    "cifar100": DatasetSpec(
        _cifar_loader("CIFAR100", "CIFAR-100", "cifar-100-python"),
        (0.50707516, 0.48654887, 0.44091784), (0.26733429, 0.25643846, 0.27615047), **_CIFAR_FLIP,
        inputs=lambda cfg: InputSpec(3, 32, 32, 100),
        present=_file_present("CIFAR-100", "cifar-100-python", _torchvision_url("CIFAR100"), True)),
    "svhn": DatasetSpec(_load_svhn, (0.4376821, 0.4437697, 0.47280442), (0.19803012, 0.20101562, 0.19703614),
                        crop_padding=4, flip=False, needs_download=True, inputs=lambda cfg: InputSpec(3, 32, 32, 10),
                        present=_file_present("SVHN", "train_32x32.mat", _torchvision_url("SVHN", "train"), False)),
    # ImageNet statistics rather than measured ones: a streamed folder cannot be measured
    # without decoding it all, and both paths must serve identical batches.
    "imagefolder": DatasetSpec(_load_imagefolder, IMAGENET_MEAN, IMAGENET_STD, crop_padding=4, flip=True,
                               present=lambda cfg: check_folder(cfg.root), inputs=_folder_inputs),
})
"""The data-set registry."""
