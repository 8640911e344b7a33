"""Zero-cost proxies: scores of a genotype's untrained network, by name (:data:`PROXIES`).

One module per proxy, each citing its definition and where it was checked against the
authors' code; :mod:`snas.proxies.base` says what they share (the network's scale, the one
seeded batch, training mode, which layers are scored).  :func:`score_genotype` is the one
entry point: ``snas-study proxies`` and the benchmark call it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from snas.errors import UserInputError
from snas.proxies.base import Proxy, ProxySetup
from snas.proxies.grad_norm import GradNorm
from snas.proxies.macs import Macs
from snas.proxies.naswot import Naswot
from snas.proxies.params import Params
from snas.proxies.snip import Snip
from snas.proxies.synflow import Synflow
from snas.registry import Registry
from snas.spaces import SPACES, space_of
from snas.spaces.base import AnyGenotype

PROXIES: Registry[Proxy] = Registry("proxy", {
    proxy.name: proxy for proxy in (GradNorm(), Snip(), Synflow(), Naswot(), Params(), Macs())
})


def check_defined(proxy: Proxy, genotype: AnyGenotype) -> None:
    """Refuse a proxy that is not defined for the genotype's space."""
    space = space_of(genotype)
    if not proxy.defined_for(space.name):
        spaces = ", ".join(SPACES[name].title for name in sorted(proxy.spaces or ()))
        raise UserInputError(f"proxy {proxy.name!r} is not defined for {space.title} genotypes "
                             f"(only for {spaces}); leave it out with --proxy")


def score_genotype(name: str, genotype: AnyGenotype, setup: ProxySetup) -> float:
    """Proxy ``name``'s score of ``genotype`` at ``setup`` (an unknown name: the registry's error)."""
    proxy = PROXIES[name]
    check_defined(proxy, genotype)
    return proxy.score(genotype, setup)


def timed_scores(names: Iterable[str], genotype: AnyGenotype, setup: ProxySetup) -> dict[str, tuple[float, float]]:
    """``{proxy: (score, seconds)}`` of ``genotype`` at ``setup`` for each proxy of ``names``."""
    scores = {}
    for name in names:
        start = time.perf_counter()
        score = score_genotype(name, genotype, setup)
        scores[name] = (score, time.perf_counter() - start)
    return scores


__all__ = ["PROXIES", "Proxy", "ProxySetup", "check_defined", "score_genotype", "timed_scores"]
