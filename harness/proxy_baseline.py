"""The proxy baseline of a retrain study: cells picked in seconds by a zero-cost proxy.

Beside the searched cells and the random ones, ``snas-study retrain --random K --proxy NAME
--pool N`` draws N cells uniformly from the search's space under its derivation rule (a
stream of its own, seeded by the random seed, so the pool is not the random arms again),
scores each with the proxy (:mod:`snas.proxies`) in the network it will be retrained in,
on one batch of the search study's training data, and retrains the K best-scoring ones with
the same settings and seeds: does the searched cell beat a cell picked without training
(Abdelfattah et al., ICLR 2021; Mellor et al., ICML 2021)?  What each selection cost is
recorded beside it: the proxy's seconds, and the search's wall time summed over its trials.

A pool cell the study retrains already (a searched or random genotype, by
:func:`snas.genotype.genotype_id`, which ignores edge order) is not picked again: the next
best score takes its place, and the skip is recorded (``source.selection.proxy.skipped``),
printed and shown in the selection's cost text.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.retrain_arms import Arm
from snas.errors import UserInputError
from snas.genotype import genotype_id
from snas.registry import UnknownName
from snas.spaces import SPACES

if TYPE_CHECKING:
    from harness.analysis.results import StudyResults
    from snas.spaces.base import AnyGenotype

PROXY_LABEL = "proxy_{}"
"""Labels of the proxy-picked genotypes (by rank of their score: proxy_0 scored best)."""
PROXY_BATCH = 64
"""Images in the batch the pool is scored on (zero-cost-nas's NAS-Bench-201 default)."""


@dataclass(frozen=True)
class ProxyPick:
    """The picked arms and what picking them cost."""

    arms: list[Arm]
    seconds: float
    """Wall time of drawing the batch and scoring the whole pool."""
    skipped: list[dict[str, Any]]
    """The better-scored pool cells not picked because the study retrains them already: each
    one's ``pool_index``, ``genotype_id``, ``proxy_score`` and ``duplicate_of`` (the label that retrains it)."""


def check_proxy_baseline(proxy: str | None, pool: int, count: int) -> None:
    """Refuse a proxy baseline that cannot be drawn, before anything is scored."""
    if proxy is None:
        if pool:
            raise UserInputError(f"--pool {pool} needs --proxy NAME: the pool is what the proxy picks from")
        return
    from snas.proxies import PROXIES

    try:
        PROXIES.check(proxy)
    except UnknownName as err:
        raise UserInputError(f"--proxy: {err}") from None
    if count < 1:
        raise UserInputError(f"--proxy {proxy} picks as many cells as --random K retrains at random; give --random K "
                             f"(at least 1)")
    if pool < count:
        raise UserInputError(f"--pool {pool} is smaller than the {count} cell(s) the proxy must pick (--random "
                             f"{count}); give --pool N with N >= {count}")


def proxy_arms(source: StudyResults, space_name: str, rule: str, *, proxy: str, count: int, pool: int,
               seed: int, retrained: dict[str, str]) -> ProxyPick:
    """The ``count`` best of ``pool`` distinct cells drawn from ``space_name`` under ``rule``, by
    ``proxy``'s score in the retrain network (ties: the earlier drawn first), leaving out the
    cells ``retrained`` already (genotype id → the label of the arm that retrains it)."""
    from snas.config import RetrainConfig
    from snas.proxies import PROXIES, ProxySetup, check_defined, score_genotype
    from snas.proxies.batch import proxy_batch
    from snas.spaces.base import EvalNetwork
    from snas.training import derive_seed

    space = SPACES[space_name]
    if pool > space.genotype_count(rule):
        raise UserInputError(f"--pool {pool}: the {space_name} space has only {space.genotype_count(rule)} "
                             f"genotypes under the {rule} rule")
    rng, seen = random.Random(derive_seed(seed, "proxy_pool")), set()
    drawn: list[AnyGenotype] = []
    while len(drawn) < pool:
        genotype = space.random_genotype(rule, rng)
        if genotype_id(genotype) not in seen:
            seen.add(genotype_id(genotype))
            drawn.append(genotype)
    check_defined(PROXIES[proxy], drawn[0])
    start = time.perf_counter()
    study = source.study
    batch = proxy_batch(study.data, seed=seed, size=PROXY_BATCH)
    scores = []
    for genotype in drawn:
        config = RetrainConfig.model_validate({**study.retrain.settings, "genotype": genotype.to_dict(),
                                               "data": study.data.model_dump(mode="json")})
        network = EvalNetwork(config.network, config.layers, config.init_channels, batch.side, batch.num_classes,
                              batch.channels)
        scores.append(score_genotype(proxy, genotype, ProxySetup(network, batch.images, batch.labels, seed)))
    seconds = time.perf_counter() - start
    picked: list[int] = []
    skipped: list[dict[str, Any]] = []
    for i in sorted(range(pool), key=lambda i: -scores[i]):
        if len(picked) == count:
            break
        ident = genotype_id(drawn[i])
        if ident in retrained:
            skipped.append({"pool_index": i, "genotype_id": ident, "proxy_score": scores[i],
                            "duplicate_of": retrained[ident]})
        else:
            picked.append(i)
    if len(picked) < count:
        raise UserInputError(f"--pool {pool}: only {len(picked)} of its cells are not retrained already (as "
                             f"{', '.join(s['duplicate_of'] for s in skipped)}), and the proxy must pick {count} "
                             f"(--random {count}); give a larger --pool")
    arms = [Arm(PROXY_LABEL.format(rank), drawn[i].to_dict(), origin={
        "origin": "proxy", "genotype_id": genotype_id(drawn[i]), "proxy": proxy, "proxy_score": scores[i],
        "pool_index": i}) for rank, i in enumerate(picked)]
    return ProxyPick(arms, seconds, skipped)


def search_hours(source: StudyResults) -> float:
    """The search study's compute: its trials' wall times summed (hours; one trial per worker)."""
    return sum(float(t.last.get("time_total_s") or 0.0) for t in source.trials) / 3600


def selection_costs(pick: ProxyPick | None, source: StudyResults, proxy: str | None, pool: int,
                    seed: int) -> dict[str, Any]:
    """What ``source.selection`` records: each origin's cost of choosing its cells."""
    costs: dict[str, Any] = {"searched": {"hours": search_hours(source), "what": "search trials' wall time, summed"},
                             "random": {"seconds": 0.0, "what": "uniform draws"}}
    if pick is not None:
        skips = "".join(f"; pool #{s['pool_index']} skipped, retrained as {s['duplicate_of']}" for s in pick.skipped)
        costs["proxy"] = {"seconds": pick.seconds, "skipped": pick.skipped,
                          "what": f"{proxy} on a pool of {pool} (batch {PROXY_BATCH}, seed {seed}), CPU{skips}"}
    return costs
