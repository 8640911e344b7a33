"""``params``: the parameter count of the genotype's network, the trivial baseline every proxy must beat.

Abdelfattah et al., ICLR 2021, Table 1, report it (with FLOPs) as the baseline beside the
zero-cost proxies; Ning et al., *Evaluating Efficient Performance Estimators of Neural
Architectures*, NeurIPS 2021, find it hard to beat.  Counted by :mod:`snas.profile` (DARTS
convention: every parameter, auxiliary head excluded), at the proxies' network scale; the
batch is not used.
"""

from __future__ import annotations

from snas.proxies.base import Proxy, ProxySetup
from snas.proxies.size import network_profile
from snas.spaces.base import AnyGenotype


class Params(Proxy):
    name = "params"
    title = "parameters (auxiliary head excluded)"
    source = "baseline of Abdelfattah et al., ICLR 2021, Table 1; counted by snas.profile"

    def score(self, genotype: AnyGenotype, setup: ProxySetup) -> float:
        return float(network_profile(genotype, setup).params)
