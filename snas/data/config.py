"""What data a run uses and how it is split, sampled and augmented."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator

from snas.configmodel import Frozen
from snas.data.sets import DATASETS, SyntheticConfig
from snas.registry import registered


class SplitConfig(Frozen):
    """How the search divides data between θ updates and held-out evaluation.

    ``val_source: train`` (default) carves a validation part out of the training set:
    ``train_fraction`` of it trains, the rest validates, unless ``train_size`` /
    ``val_size`` give counts (seed 000's 5000/5000).  ``val_source: test`` trains on
    the whole training set and evaluates on the test set, as the official SNAS code
    does.  The division is a seeded permutation of the training set.
    """

    val_source: Literal["train", "test"] = "train"
    train_fraction: float = Field(0.5, gt=0.0, lt=1.0)
    train_size: int | None = Field(None, gt=0)
    val_size: int | None = Field(None, gt=0)


def default_root() -> Path:
    """``$SNAS_DATA_ROOT`` if set, else ``./data``."""
    return Path(os.environ.get("SNAS_DATA_ROOT", "data"))


class DataConfig(Frozen):
    """The data set and everything about serving it."""

    dataset: Annotated[str, registered(DATASETS)] = "digits"
    root: Path = Field(default_factory=default_root, validate_default=True)
    """Where downloadable sets live (CIFAR: ``<root>/cifar-10-batches-py``) or the image folder."""
    download: bool = False
    split: SplitConfig = SplitConfig()
    sampling: Literal["uniform", "balanced"] = "uniform"
    """``balanced`` draws training batches with per-class weights ∝ 1/frequency."""
    image_size: int = Field(32, ge=4)
    """Side length image folders are resized to (other sets have a fixed size)."""
    crop_padding: int | None = Field(None, ge=0)
    """Random-crop padding; ``None`` takes the data set's default (CIFAR 4, digits 1)."""
    flip: bool | None = None
    """Random horizontal flips; ``None`` takes the data set's default (off for digits, SVHN)."""
    cutout: int = Field(0, ge=0)
    """Cutout square side in pixels, 0 for none."""
    in_memory: Literal["auto", "yes", "no"] = "auto"
    """Hold an image folder on the training device as uint8 (``auto``: if it fits ``memory_limit_gb``)
    or stream it from disk through DataLoader workers (``no``).  The other sets always fit
    and are always held."""
    memory_limit_gb: float = Field(4.0, gt=0)
    workers: int = Field(2, ge=0)
    """DataLoader workers for sets streamed from disk."""
    synthetic: SyntheticConfig = SyntheticConfig()

    @field_validator("in_memory", mode="before")
    @classmethod
    def _yes_or_no_as_yaml_reads_them(cls, value: object) -> object:
        """YAML 1.1 reads an unquoted ``yes``/``no`` as a boolean: take it as the word written."""
        return {True: "yes", False: "no"}.get(value, value) if isinstance(value, bool) else value

    @field_validator("root")
    @classmethod
    def _absolute_root(cls, root: Path) -> Path:
        return root.expanduser().absolute()
