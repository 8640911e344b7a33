"""``macs``: multiply-accumulates of one forward pass of one image (the papers' FLOPs), a size baseline.

Abdelfattah et al., ICLR 2021, Table 1, report FLOPs beside the zero-cost proxies as the
baseline they must beat.  Counted by :mod:`snas.profile` (convolutions and linear layers; one
MAC per multiply-add), at the proxies' network scale and input size; the batch is not used.
"""

from __future__ import annotations

from snas.proxies.base import Proxy, ProxySetup
from snas.proxies.size import network_profile
from snas.spaces.base import AnyGenotype


class Macs(Proxy):
    name = "macs"
    title = "multiply-accumulates for one image (papers' FLOPs)"
    source = "baseline of Abdelfattah et al., ICLR 2021, Table 1; counted by snas.profile"

    def score(self, genotype: AnyGenotype, setup: ProxySetup) -> float:
        return float(network_profile(genotype, setup).macs)
