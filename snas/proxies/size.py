"""The network of a genotype at the proxies' scale, counted once (:meth:`snas.spaces.base.SearchSpace.profile`)."""

from __future__ import annotations

from snas.profile import Profile
from snas.proxies.base import ProxySetup
from snas.spaces import space_of
from snas.spaces.base import AnyGenotype


def network_profile(genotype: AnyGenotype, setup: ProxySetup) -> Profile:
    """Parameters and MACs of ``genotype``'s network at ``setup``'s scale (auxiliary head excluded)."""
    net = setup.network
    return space_of(genotype).profile(genotype, family=net.family, channels=net.channels, layers=net.layers,
                                      num_classes=net.num_classes, in_channels=net.in_channels,
                                      image_size=net.image_size)
