"""``synflow``: synaptic flow, Σ |θ ⊙ ∂R/∂θ| with R the output sum of the |θ|-network on an all-ones input.

Tanaka et al., *Pruning neural networks without any data by iteratively conserving synaptic
flow*, NeurIPS 2020, eq. 2 and Algorithm 1 (R = 1ᵀ(Π|W|)1, no data); as a NAS proxy,
Abdelfattah et al., ICLR 2021.  Checked against ``foresight/pruners/measures/synflow.py``
(SamsungLabs/zero-cost-nas): every parameter replaced by its absolute value, the network in
double precision (R grows with depth as a product of weight sums), one input of ones of one
image's shape, ``sum(output).backward()``, |w · ∂R/∂w| of convolutions and linear layers.
BatchNorm is taken out (their ``synflow`` is registered with ``bn=False``, which turns every
BatchNorm's forward into the identity): with batch statistics the single constant image
would be normalised to zero.  The labels and images of the batch are not used, only its shape.
"""

from __future__ import annotations

import torch
from torch import nn

from snas.proxies.base import NetworkProxy, logits, scored_layers


class Synflow(NetworkProxy):
    name = "synflow"
    title = "Σ |θ ⊙ ∂R/∂θ|, R = Σ output of |θ| on ones (no BN, float64)"
    source = ("Tanaka et al., NeurIPS 2020; Abdelfattah et al., ICLR 2021; "
              "checked against zero-cost-nas measures/synflow.py")

    def score_network(self, network: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
        without_batchnorm(network)
        network.double()
        with torch.no_grad():
            for parameter in network.parameters():
                parameter.abs_()
        ones = torch.ones((1, *images.shape[1:]), dtype=torch.float64)
        logits(network, ones).sum().backward()
        return sum(float((layer.weight.detach() * layer.weight.grad).abs().sum()) for layer in scored_layers(network)
                   if layer.weight.grad is not None)


def without_batchnorm(network: nn.Module) -> None:
    """Replace every BatchNorm layer of ``network`` by the identity, in place."""
    for parent in list(network.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(parent, name, nn.Identity())
