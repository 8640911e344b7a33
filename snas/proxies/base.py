"""What a zero-cost proxy is: a score of a genotype's untrained network from one mini-batch.

A proxy scores the network a genotype builds at a stated scale (:class:`ProxySetup`: the
network's cells, width and input, one seeded batch of the study's training data and the
seed of the weights), without training it.  The gradient proxies (Abdelfattah et al.,
*Zero-Cost Proxies for Lightweight NAS*, ICLR 2021) sum a per-weight saliency over the
weights of every convolution and linear layer, as the authors' ``get_layer_metric_array``
does (SamsungLabs/zero-cost-nas, ``foresight/pruners/p_utils.py``): BatchNorm's affine
parameters and biases are not scored.  Every proxy here reads "higher is better".

Each network is built afresh, with its weights drawn from ``setup.seed`` (as a retraining
with that seed draws them: :func:`snas.training.build_model`), in training mode (the
authors' code scores networks in ``train()`` mode: BatchNorm normalises with the batch's
statistics), without the auxiliary head and without drop path.  The score is a
deterministic function of (genotype, setup) on the CPU.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from snas.spaces import space_of
from snas.spaces.base import AnyGenotype, EvalNetwork
from snas.training import build_model


@dataclass(frozen=True)
class ProxySetup:
    """Everything a proxy's score depends on besides the genotype."""

    network: EvalNetwork
    """The network the genotype is scored in (cells, width, input, classes)."""
    images: torch.Tensor
    """One mini-batch ``(N, C, H, W)`` of normalised training images (:func:`snas.proxies.batch.proxy_batch`)."""
    labels: torch.Tensor
    seed: int
    """Seeds the network's initial weights."""

    @property
    def batch_size(self) -> int:
        return len(self.images)


class Proxy:
    """One zero-cost proxy; subclasses set the attributes and :meth:`score`."""

    name: str
    title: str
    """What it measures, in a few words (the table's legend)."""
    source: str
    """The paper that defines it and where its definition was checked."""
    spaces: frozenset[str] | None = None
    """The search spaces it is defined for; ``None``: every space (all the shipped proxies)."""

    def defined_for(self, space: str) -> bool:
        return self.spaces is None or space in self.spaces

    def score(self, genotype: AnyGenotype, setup: ProxySetup) -> float:
        raise NotImplementedError


class NetworkProxy(Proxy):
    """A proxy computed on the built, untrained network (the gradient and activation proxies)."""

    def score(self, genotype: AnyGenotype, setup: ProxySetup) -> float:
        return self.score_network(build_network(genotype, setup), setup.images, setup.labels)

    def score_network(self, network: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
        """The score of ``network`` (in training mode, returning ``(logits, aux)``) on the batch."""
        raise NotImplementedError


def build_network(genotype: AnyGenotype, setup: ProxySetup) -> nn.Module:
    """The genotype's network at ``setup``'s scale, weights from ``setup.seed``, in training mode."""
    space, net = space_of(genotype), setup.network
    network = build_model(setup.seed, lambda: space.child_network(
        genotype, family=net.family, channels=net.channels, layers=net.layers, num_classes=net.num_classes,
        in_channels=net.in_channels, image_size=net.image_size, auxiliary=False))
    return network.train()


def logits(network: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The classifier's output (the networks return ``(logits, auxiliary logits or None)``)."""
    return cast(torch.Tensor, network(images)[0])


def scored_layers(network: nn.Module) -> Iterator[nn.Conv2d | nn.Linear]:
    """The layers whose weights the gradient proxies score: every convolution and linear layer
    (the depthwise and pointwise convolutions of :mod:`snas.ops` are ``nn.Conv2d``)."""
    return (layer for layer in network.modules() if isinstance(layer, (nn.Conv2d, nn.Linear)))
