"""The official SNAS search network (SNAS-Series/SNAS-Series, ``SNAS/model_search.py``),
loaded from a checkout the user names, for timing our steps against it.

Nothing of that code is copied here: :func:`load_official` imports its modules from the
checkout's ``SNAS`` folder.  The code is written for one GPU (``torch.device("cuda")``
and ``.cuda()`` in its constructors), so the network is built with both pointed at the
CPU for the duration of the constructor; its forward then follows the devices it was
built on.  Its settings are ``train_search.py``'s defaults with the flags of a plain
single-GPU SNAS search (``--snas``), and, as our benchmarked steps do, without the
resource constraint, drop path or activation checkpointing.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.nn.functional as F

OFFICIAL_FILES = ("SNAS/model_search.py", "SNAS/operations.py", "SNAS/genotypes.py", "SNAS/utils.py")
"""The files of the checkout the network is imported from."""


def missing_files(checkout: Path) -> list[str]:
    """The official files ``checkout`` lacks (empty when it can be loaded)."""
    return [name for name in OFFICIAL_FILES if not (checkout / name).is_file()]


def official_args(layers: int, init_channels: int) -> argparse.Namespace:
    """``train_search.py``'s defaults for what ``Network`` reads, with ``--snas``; the
    resource constraint off, drop path 0 and no checkpointing, like our timed steps."""
    return argparse.Namespace(
        snas=True, dsnas=False, layers=layers, init_channels=init_channels,
        use_ckpt=False, ckpt_false_list="[]", resample_layer=False, bn_affine=False, distributed=False,
        resource_efficient=False, resource_lambda=1e10, method="policy_gradient", separation="all",
        normalization=False, running_mean_var=False, log_penalty=False, loss=False, minus_baseline=False,
        drop_path_prob=0.0, loc_mean=1.0, loc_std=0.01, temp=1.0, nsample=1, auxiliary=False,
        auxiliary_weight=0.4, random_sample=False, random_sample_fix_temp=False, gen_max_child_flag=False,
        prox_policy_opt=False, prox_policy_epi=0.2, add_entropy_loss=False, edge_reward_norm=False,
        edge_reward_norm_mean_0=False, discrete=False,
    )


class _TorchOnCpu(types.ModuleType):
    """``torch`` as the official modules see it while the network is built: every
    ``torch.device(...)`` is the CPU."""

    def __init__(self) -> None:
        super().__init__("torch")

    def __getattr__(self, name: str) -> object:
        return getattr(torch, name)

    @staticmethod
    def device(*args: object, **kwargs: object) -> torch.device:
        return torch.device("cpu")


@contextmanager
def _built_on_cpu(modules: list[types.ModuleType]) -> Iterator[None]:
    """The official constructors' ``torch.device("cuda")`` and ``Tensor.cuda()`` name the CPU."""
    originals = [module.torch for module in modules]
    cuda = torch.Tensor.cuda
    for module in modules:
        module.torch = _TorchOnCpu()
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    try:
        yield
    finally:
        torch.Tensor.cuda = cuda
        for module, original in zip(modules, originals):
            module.torch = original


def load_official(checkout: Path, layers: int, init_channels: int, num_classes: int) -> torch.nn.Module:
    """The official SNAS ``Network`` of ``checkout``, built on the CPU (see the module docstring)."""
    sys.path.insert(0, str(checkout / "SNAS"))
    model_search = importlib.import_module("model_search")
    operations = importlib.import_module("operations")
    with _built_on_cpu([model_search, operations]):
        return model_search.Network(init_channels, num_classes, layers, torch.nn.CrossEntropyLoss(),
                                    official_args(layers, init_channels), rank=0, world_size=1)


def official_step(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
    """One training step of ``train_search.py`` (``--snas``, no resource constraint): the
    network draws its own Gumbel sample, θ by SGD (lr 0.025, momentum 0.9, weight decay
    3e-4, gradient clipped at 5), α by SGD (lr 3e-4, gradient clipped at 10).  The two
    extra backward passes the script makes only to log α's gradients are left out."""
    weight_opt = torch.optim.SGD(net.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    arch_opt = torch.optim.SGD(net.arch_parameters(), lr=3e-4)

    def step() -> None:
        weight_opt.zero_grad()
        arch_opt.zero_grad()
        logits = net(x)[0]
        F.cross_entropy(logits, y).backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        torch.nn.utils.clip_grad_norm_(net.arch_parameters(), 10.0)
        weight_opt.step()
        arch_opt.step()

    return step
