"""Choosing the training device and the CUDA-only speed options (the settings' spelling,
:data:`snas.config.DEVICE_PATTERN`, is the configuration's)."""

from __future__ import annotations

import contextlib
import logging
import re
from contextlib import AbstractContextManager

import torch

from snas.config import DEVICE_PATTERN
from snas.errors import UserInputError

log = logging.getLogger(__name__)


def resolve_device(spec: str) -> torch.device:
    """``auto`` picks the first GPU when there is one; an absent GPU asked for is an error."""
    if not re.match(DEVICE_PATTERN, spec):
        raise UserInputError(f"device must be auto, cpu, cuda or cuda:N, got {spec!r}")
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(spec)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UserInputError(f"device {spec!r} was asked for, but no CUDA GPU is visible; use device: auto or cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UserInputError(f"device {spec!r} does not exist: {torch.cuda.device_count()} GPU(s) visible")
    return device


def autocast(device: torch.device, bf16: bool) -> AbstractContextManager[object]:
    """bf16 autocast on CUDA when asked for; a no-op otherwise."""
    if bf16 and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def memory_format(channels_last: bool) -> torch.memory_format:
    return torch.channels_last if channels_last else torch.contiguous_format


def warn_unused_bf16(device: torch.device, bf16: bool) -> None:
    if bf16 and device.type != "cuda":
        log.warning("bf16 autocast is only used on CUDA; running in float32 on %s", device)
