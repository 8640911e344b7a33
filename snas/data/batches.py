"""Serving a split as batches, from device memory or streamed from disk.

:class:`DeviceBatches` keeps the whole split on the training device as uint8 and builds
each batch with a gather plus :func:`augment_batch`; this is the path for every set that
fits (digits, synthetic, CIFAR, SVHN, small image folders).  :class:`StreamedBatches`
decodes images in DataLoader workers and applies the very same batched augmentation on
the device, for image folders too large to hold.

Training epochs take their order and augmentation draws from a generator the caller owns;
evaluation walks the split in order, unaugmented.  A training epoch drops the last partial
batch (BatchNorm needs more than one image, and a step-wise schedule needs a fixed number
of steps per epoch).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal, Protocol

import torch
from torch.utils.data import DataLoader, Dataset

from snas.data.augment import Augmentation, augment_batch, normalize
from snas.data.sets import ImageFiles, ImageSet
from snas.errors import DataError, UserInputError

Sampling = Literal["uniform", "balanced"]
Batch = tuple[torch.Tensor, torch.Tensor]


class Batches(Protocol):
    """A split served as (float images, int64 labels) batches on the training device."""

    num_images: int
    batch_size: int

    def train_epoch(self, generator: torch.Generator) -> Iterator[Batch]: ...

    def eval_epoch(self) -> Iterator[Batch]: ...

    def train_steps(self) -> int: ...


def epoch_order(labels: torch.Tensor, sampling: Sampling, generator: torch.Generator) -> torch.Tensor:
    """Indices for one training epoch: a permutation, or class-balanced draws with replacement."""
    n = len(labels)
    if sampling == "uniform":
        return torch.randperm(n, generator=generator)
    counts = torch.bincount(labels)
    weights = 1.0 / counts[labels].double()
    return torch.multinomial(weights, n, replacement=True, generator=generator)


class DeviceBatches:
    """A split held on the training device."""

    def __init__(
        self, data: ImageSet, batch_size: int, device: torch.device, mean: torch.Tensor, std: torch.Tensor,
        augmentation: Augmentation, sampling: Sampling = "uniform",
    ):
        self.images = data.images.to(device)
        self.labels = data.labels.to(device)
        self._cpu_labels = data.labels
        self.num_images = len(data)
        self.batch_size = batch_size
        self.mean, self.std = mean.to(device), std.to(device)
        self.augmentation = augmentation
        self.sampling = sampling

    def train_steps(self) -> int:
        return self.num_images // self.batch_size

    def train_epoch(self, generator: torch.Generator) -> Iterator[Batch]:
        order = epoch_order(self._cpu_labels, self.sampling, generator).to(self.images.device)
        for step in range(self.train_steps()):
            idx = order[step * self.batch_size : (step + 1) * self.batch_size]
            # index_select is a plain row copy; ``images[idx]`` goes through the general
            # advanced-indexing kernel and is about three times slower on CPU.
            x = augment_batch(self.images.index_select(0, idx), self.augmentation, self.mean, self.std, generator)
            yield x, self.labels.index_select(0, idx)

    def eval_epoch(self) -> Iterator[Batch]:
        for start in range(0, self.num_images, self.batch_size):
            sl = slice(start, start + self.batch_size)
            yield normalize(self.images[sl], self.mean, self.std), self.labels[sl]


class _FileDataset(Dataset[tuple[torch.Tensor, torch.Tensor, int]]):
    """Decodes one image per item; ``failed`` is -1, or the item's index if it cannot be read.

    A file that cannot be read is reported as data, not raised: a DataLoader worker would
    re-raise the error with its whole traceback pasted into the message, and the user
    should see one line naming the file.
    """

    def __init__(self, files: ImageFiles):
        self.files = files

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        try:
            return self.files.load(index), self.files.labels[index], -1
        except UserInputError:
            return torch.zeros(self.files.shape, dtype=torch.uint8), self.files.labels[index], index


class StreamedBatches:
    """A split decoded from disk by DataLoader workers, augmented on the device."""

    def __init__(
        self, data: ImageFiles, batch_size: int, device: torch.device, mean: torch.Tensor, std: torch.Tensor,
        augmentation: Augmentation, sampling: Sampling = "uniform", workers: int = 2,
    ):
        self.data = data
        self.num_images = len(data)
        self.batch_size = batch_size
        self.device = device
        self.mean, self.std = mean.to(device), std.to(device)
        self.augmentation = augmentation
        self.sampling = sampling
        self.workers = workers

    def train_steps(self) -> int:
        return self.num_images // self.batch_size

    def _decoded(self, order: list[int], drop_last: bool) -> Iterator[Batch]:
        """uint8 images and labels on the device, in ``order``, ``batch_size`` at a time."""
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        if drop_last and batches and len(batches[-1]) < self.batch_size:
            batches.pop()
        # Our own generator for the loader's worker seeds: iterating must not advance
        # torch's global random state (the workers draw nothing random).
        loader = DataLoader(_FileDataset(self.data), batch_sampler=batches, num_workers=self.workers,
                            pin_memory=self.device.type == "cuda", generator=torch.Generator().manual_seed(0))
        for images, labels, failed in loader:
            if bool((failed >= 0).any()):
                index = int(failed[failed >= 0][0])
                self.data.load(index)  # raises the reader's one-line message in this process
                raise DataError(f"cannot read image {self.data.paths[index]}")
            yield images.to(self.device, non_blocking=True), labels.to(self.device)

    def train_epoch(self, generator: torch.Generator) -> Iterator[Batch]:
        order = epoch_order(self.data.labels, self.sampling, generator).tolist()
        for images, labels in self._decoded(order, drop_last=True):
            yield augment_batch(images, self.augmentation, self.mean, self.std, generator), labels

    def eval_epoch(self) -> Iterator[Batch]:
        for images, labels in self._decoded(list(range(self.num_images)), drop_last=False):
            yield normalize(images, self.mean, self.std), labels

