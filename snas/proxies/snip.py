"""``snip``: connection sensitivity, Σ |θ ⊙ ∂L/∂θ| over the weights of convolutions and linear layers.

Lee et al., *SNIP: Single-shot Network Pruning based on Connection Sensitivity*, ICLR 2019,
eq. 6 (the saliency |∂L/∂c| of a multiplicative mask c = 1 on each weight), used as a NAS
proxy by Abdelfattah et al., ICLR 2021 (summed over the network).  Checked against
``foresight/pruners/measures/snip.py`` (SamsungLabs/zero-cost-nas): the mask's gradient is
|w · ∂L/∂w| (the chain rule of w ⊙ c at c = 1, computed here directly), cross-entropy on one
batch, convolutions and linear layers only, BatchNorm in (``bn=True``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from snas.proxies.base import NetworkProxy, logits, scored_layers


class Snip(NetworkProxy):
    name = "snip"
    title = "Σ |θ ⊙ ∂L/∂θ| (connection sensitivity)"
    source = "Lee et al., ICLR 2019; Abdelfattah et al., ICLR 2021; checked against zero-cost-nas measures/snip.py"

    def score_network(self, network: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
        F.cross_entropy(logits(network, images), labels).backward()
        return sum(float((layer.weight.detach() * layer.weight.grad).abs().sum()) for layer in scored_layers(network)
                   if layer.weight.grad is not None)
