"""The one mini-batch the proxies score networks on: a training batch of the study's data set,
drawn with ``seed`` (shuffled, augmented and normalised as training batches are), on the CPU.

Abdelfattah et al. and Mellor et al. both score on one batch drawn from the training
loader (zero-cost-nas ``get_some_data``: the first batch of a shuffled, augmented CIFAR
loader; nas-without-training: the first batch of theirs).  Drawing it through the study's
own data pipeline (:func:`snas.data.loading.retrain_data`, no validation part carved out)
makes the proxies see the images the retrained networks train on.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from snas.data.config import DataConfig
from snas.data.loading import retrain_data
from snas.training import fresh_generator


@dataclass(frozen=True)
class ProxyBatch:
    images: torch.Tensor
    """``(N, C, H, W)`` normalised float images."""
    labels: torch.Tensor
    num_classes: int
    """Classes of the data set (the classifier's width), not only those in the batch."""

    @property
    def channels(self) -> int:
        return self.images.shape[1]

    @property
    def side(self) -> int:
        return self.images.shape[2]


def proxy_batch(cfg: DataConfig, *, seed: int, size: int) -> ProxyBatch:
    """``size`` images of ``cfg``'s training split with their labels, drawn from ``seed``."""
    data = retrain_data(cfg, seed=seed, batch_size=size, device=torch.device("cpu"), val_fraction=0.0)
    images, labels = next(iter(data.train.train_epoch(fresh_generator(seed, "proxy_batch"))))
    return ProxyBatch(images, labels, data.num_classes)
