"""A run's data: the seeded split of a data set into training, validation and test images,
served as batches on the training device (:mod:`snas.data.batches`)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any

import torch

from snas.data.augment import Augmentation
from snas.data.batches import Batches, DeviceBatches, StreamedBatches
from snas.data.config import DataConfig, SplitConfig
from snas.data.sets import DATASETS, ImageSet, ImageSource, InputSpec, Split
from snas.errors import UserInputError


@dataclass(frozen=True)
class SplitRecord:
    """Which images a run trained and evaluated on, for metrics and checkpoints."""

    seed: int
    val_source: str
    train_images: int
    val_images: int
    fingerprint: str
    """Short hash of the chosen indices: two runs with equal fingerprints used the same split."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _LoadedImages:
    """What the networks built on loaded data need of it: its input shape and class count."""

    num_classes: int
    image_shape: tuple[int, int, int]

    @property
    def inputs(self) -> InputSpec:
        return InputSpec(*self.image_shape, self.num_classes)


@dataclass
class SearchData(_LoadedImages):
    train: Batches
    val: Batches
    num_classes: int
    image_shape: tuple[int, int, int]
    split: SplitRecord


@dataclass
class RetrainData(_LoadedImages):
    train: Batches
    val: Batches | None
    test: Batches
    num_classes: int
    image_shape: tuple[int, int, int]
    split: SplitRecord


def load_split(cfg: DataConfig, split: Split) -> ImageSource:
    """The images of ``split`` (``train`` or ``test``) of the configured data set."""
    return DATASETS[cfg.dataset].load(cfg, split)


def check_image_size(height: int, width: int, halvings: int, what: str,
                     remedy: str = "resize the images (data.image_size for image folders) or use fewer cells") -> None:
    """Refuse images a network with ``halvings`` stride-2 stages cannot process.

    FactorizedReduce concatenates two offset stride-2 branches, so every stage must see an
    even size: the image must be a multiple of ``2**halvings``.  ``remedy`` says what to change.
    """
    factor = 2**halvings
    if height % factor or width % factor:
        raise UserInputError(
            f"images of {height}×{width} pixels are too small or oddly sized for {what}: it halves the "
            f"resolution {halvings} times, so height and width must be multiples of {factor} "
            f"(at least {factor}); {remedy}"
        )


def _normalization(cfg: DataConfig, train: ImageSource) -> tuple[torch.Tensor, torch.Tensor]:
    spec = DATASETS[cfg.dataset]
    if spec.mean is not None and spec.std is not None:
        return torch.tensor(spec.mean), torch.tensor(spec.std)
    # Streamed sets cannot be measured without decoding them all: their spec fixes the statistics.
    assert isinstance(train, ImageSet), f"{cfg.dataset}: a set that can be streamed needs mean/std in its spec"
    pixels = train.images.float().div_(255.0)
    mean = pixels.mean(dim=(0, 2, 3))
    std = pixels.std(dim=(0, 2, 3)).clamp_min(1e-3)
    return mean, std


def _augmentation(cfg: DataConfig) -> Augmentation:
    spec = DATASETS[cfg.dataset]
    padding = spec.crop_padding if cfg.crop_padding is None else cfg.crop_padding
    flip = spec.flip if cfg.flip is None else cfg.flip
    return Augmentation(crop_padding=padding, flip=flip, cutout=cfg.cutout)


def _batches(
    cfg: DataConfig, source: ImageSource, batch_size: int, device: torch.device,
    norm: tuple[torch.Tensor, torch.Tensor], training: bool,
) -> Batches:
    """Batches of one split.  Every split can serve augmented training epochs (bilevel
    methods train α on augmented validation batches, as DARTS does); only the split θ
    trains on uses the configured class-balanced sampling."""
    augmentation = _augmentation(cfg)
    sampling = cfg.sampling if training else "uniform"
    if isinstance(source, ImageSet):
        return DeviceBatches(source, batch_size, device, *norm, augmentation, sampling)
    return StreamedBatches(source, batch_size, device, *norm, augmentation, sampling, cfg.workers)


def _fingerprint(dataset: str, *parts: tuple[torch.Tensor, ImageSource]) -> str:
    """Hash of the data set's name, each part's indices and its labels.

    The labels make a re-labelled or reordered data set of the same size show up as a
    different split when a checkpoint is restored.
    """
    digest = hashlib.sha1(dataset.encode())
    for indices, source in parts:
        for values in (indices, source.labels):
            digest.update(b"|")
            digest.update(values.to(torch.int64).numpy().tobytes())
    return digest.hexdigest()[:12]


def _carve(n: int, split: SplitConfig, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded (train, val) indices into a training set of ``n`` images."""
    if split.train_size is not None or split.val_size is not None:
        n_train = split.train_size if split.train_size is not None else n - (split.val_size or 0)
        n_val = split.val_size if split.val_size is not None else n - n_train
    else:
        n_train = int(round(n * split.train_fraction))
        n_val = n - n_train
    if n_train < 1 or n_val < 1 or n_train + n_val > n:
        raise UserInputError(
            f"data.split asks for {n_train} training and {n_val} validation images, but the training set "
            f"has {n}; choose sizes that add up to at most {n}"
        )
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order[:n_train], order[n_train : n_train + n_val]


def _subsample(n: int, size: int | None, seed: int, what: str) -> torch.Tensor:
    if size is None:
        return torch.arange(n)
    if size > n:
        raise UserInputError(f"data.split.{what} is {size}, but only {n} images are available")
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:size]


def _checked_classes(train: ImageSource) -> int:
    classes = len(train.classes)
    if len(train) == 0:
        raise UserInputError("the training split has no images")
    return classes


def search_data(cfg: DataConfig, *, seed: int, batch_size: int, device: torch.device) -> SearchData:
    """Training and held-out batches for a search, divided as ``cfg.split`` says."""
    train_set = load_split(cfg, "train")
    num_classes = _checked_classes(train_set)
    if cfg.split.val_source == "train":
        train_idx, val_idx = _carve(len(train_set), cfg.split, seed)
        train_part, val_part = train_set.subset(train_idx), train_set.subset(val_idx)
    else:
        test_set = load_split(cfg, "test")
        train_idx = _subsample(len(train_set), cfg.split.train_size, seed, "train_size")
        val_idx = _subsample(len(test_set), cfg.split.val_size, seed + 1, "val_size")
        train_part, val_part = train_set.subset(train_idx), test_set.subset(val_idx)
    if len(train_part) < batch_size:
        raise UserInputError(
            f"the search's training split has {len(train_part)} images, fewer than one batch of {batch_size}; "
            f"lower the batch size or give the split more training images"
        )
    norm = _normalization(cfg, train_part)
    fingerprint = _fingerprint(cfg.dataset, (train_idx, train_part), (val_idx, val_part))
    record = SplitRecord(seed, cfg.split.val_source, len(train_part), len(val_part), fingerprint)
    return SearchData(
        train=_batches(cfg, train_part, batch_size, device, norm, training=True),
        val=_batches(cfg, val_part, batch_size, device, norm, training=False),
        num_classes=num_classes, image_shape=train_set.shape, split=record,
    )


def retrain_data(
    cfg: DataConfig, *, seed: int, batch_size: int, device: torch.device, val_fraction: float,
) -> RetrainData:
    """Training, optional validation (``val_fraction`` of train, seeded) and test batches."""
    train_set = load_split(cfg, "train")
    num_classes = _checked_classes(train_set)
    test_set = load_split(cfg, "test")
    if val_fraction > 0:
        train_idx, val_idx = _carve(len(train_set), SplitConfig(train_fraction=1.0 - val_fraction), seed)
    else:
        train_idx, val_idx = torch.arange(len(train_set)), torch.zeros(0, dtype=torch.int64)
    train_part = train_set.subset(train_idx)
    if len(train_part) < batch_size:
        raise UserInputError(
            f"the training split has {len(train_part)} images, fewer than one batch of {batch_size}; "
            f"lower the batch size"
        )
    norm = _normalization(cfg, train_part)
    val_part = train_set.subset(val_idx)
    val = _batches(cfg, val_part, batch_size, device, norm, training=False) if len(val_idx) else None
    fingerprint = _fingerprint(cfg.dataset, (train_idx, train_part), (val_idx, val_part))
    record = SplitRecord(seed, "train", len(train_idx), len(val_idx), fingerprint)
    return RetrainData(
        train=_batches(cfg, train_part, batch_size, device, norm, training=True),
        val=val, test=_batches(cfg, test_set, batch_size, device, norm, training=False),
        num_classes=num_classes, image_shape=train_set.shape, split=record,
    )
