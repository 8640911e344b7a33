"""``grad_norm``: the sum over layers of the L2 norm of the loss gradient of each layer's weights.

Abdelfattah et al., *Zero-Cost Proxies for Lightweight NAS*, ICLR 2021, §3 (the "grad_norm"
baseline).  Checked against the authors' ``foresight/pruners/measures/grad_norm.py``
(SamsungLabs/zero-cost-nas): cross-entropy on one batch, one backward pass, ``weight.grad.norm()``
of every convolution and linear layer (one Frobenius norm per layer, not per element),
summed; BatchNorm stays in (their ``bn=True``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from snas.proxies.base import NetworkProxy, logits, scored_layers


class GradNorm(NetworkProxy):
    name = "grad_norm"
    title = "Σ over layers of ‖∂L/∂W‖₂"
    source = "Abdelfattah et al., ICLR 2021; checked against SamsungLabs/zero-cost-nas measures/grad_norm.py"

    def score_network(self, network: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
        F.cross_entropy(logits(network, images), labels).backward()
        return sum(float(layer.weight.grad.norm()) for layer in scored_layers(network)
                   if layer.weight.grad is not None)
