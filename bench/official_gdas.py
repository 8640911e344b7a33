"""The official GDAS search network for the DARTS space (D-X-Y/AutoDL-Projects,
``xautodl/models/cell_searchs/search_model_gdas_nasnet.py``), loaded from a checkout the
user names, for timing our GDAS step against it.

Nothing of that code is copied here: :func:`load_official_gdas` imports ``xautodl`` from
the checkout.  Its network has ``N`` normal cells per stage and a reduction cell between
stages, ``3N`` cells in all, with the reductions where our supernet puts them for the same
count (``⌊L/3⌋``, ``⌊2L/3⌋``), so it is compared at a multiple of 3 cells.  Its step is
``search_func`` of ``exps/NAS-Bench-201-algos/GDAS.py`` (the script the NASNet-space GDAS
search runs): θ on a training batch, then α on a validation batch, with the optimisers of
``configs/search-opts/GDAS-NASNet-CIFAR.config`` and the script's α optimiser.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

OFFICIAL_GDAS_FILES = ("xautodl/models/cell_searchs/search_model_gdas_nasnet.py",
                       "xautodl/models/cell_operations.py")
"""The files of the checkout the network is imported from."""


def missing_gdas_files(checkout: Path) -> list[str]:
    """The official files ``checkout`` lacks (empty when it can be loaded)."""
    return [name for name in OFFICIAL_GDAS_FILES if not (checkout / name).is_file()]


def load_official_gdas(checkout: Path, layers: int, init_channels: int, num_classes: int) -> torch.nn.Module:
    """``NASNetworkGDAS`` of ``checkout`` with ``layers / 3`` cells per stage, the DARTS
    space, affine-free BatchNorm with running statistics, 4 steps, stem multiplier 3."""
    if layers % 3:
        raise ValueError(f"the official GDAS network has a multiple of 3 cells, not {layers}")
    sys.path.insert(0, str(checkout))
    network = importlib.import_module("xautodl.models.cell_searchs.search_model_gdas_nasnet").NASNetworkGDAS
    space = importlib.import_module("xautodl.models.cell_operations").DARTS_SPACE
    return network(init_channels, layers // 3, 4, 4, 3, num_classes, space, False, True)


def official_gdas_step(net: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor],
                       val_batch: tuple[torch.Tensor, torch.Tensor]) -> Callable[[], None]:
    """One step of ``search_func``: θ by Nesterov SGD (lr 0.025, momentum 0.9, weight decay
    5e-4, gradient clipped at 5) on ``batch``, then α by Adam (lr 3e-4, betas (0.5, 0.999),
    weight decay 1e-3) on ``val_batch``; τ stays at the network's initial 10."""
    weight_opt = torch.optim.SGD(net.get_weights(), lr=0.025, momentum=0.9, weight_decay=5e-4, nesterov=True)
    arch_opt = torch.optim.Adam(net.get_alphas(), lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)

    def step() -> None:
        weight_opt.zero_grad()
        F.cross_entropy(net(batch[0])[1], batch[1]).backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        weight_opt.step()
        arch_opt.zero_grad()
        F.cross_entropy(net(val_batch[0])[1], val_batch[1]).backward()
        arch_opt.step()

    return step
