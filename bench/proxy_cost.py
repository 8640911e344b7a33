"""What a zero-cost proxy costs per genotype against one search epoch, at two scales.

The question a proxy baseline answers is "does the searched cell beat a cell picked in
seconds?"; this measures the seconds.  Per scale, the proxies score ``--genotypes`` random
DARTS genotypes (the ``darts`` derivation rule, seeded), each on a freshly built untrained
network and one batch of 64 training images (what ``snas-study proxies`` does: each proxy
rebuilds the network it scores), and one search epoch is timed with the same data shape:

* ``quickstart``: studies/quickstart.yaml's search (its first grid point: digits 1×8×8, 3
  cells, C = 8, batch 32), one whole epoch; the proxies score the 8-cell, C = 16 network the
  study sizes genotypes at (its ``eval_layers`` / ``eval_channels``).
* ``official``: the papers' search network, 8 cells, C = 16, batch 64, on synthetic data of
  CIFAR-10's shape (3×32×32, 10 classes; 25,000 training and 25,000 validation images, so
  390 training steps an epoch).  A CPU takes most of an hour for that epoch, so ``--steps``
  training steps (and as many validation batches) are timed and scaled to 390 (``epoch_s``
  is then an estimate: ``estimated: true``); ``--steps 0`` runs the whole epoch.  The
  proxies score the same 8-cell, C = 16 network on 32×32 images.

Prints one JSON line per (scale, proxy) with the median ms per genotype, and one per scale
with the epoch's seconds and ``ratio`` = (all proxies of one genotype) / (one epoch): how
small a fraction of one search epoch picking a cell by proxy costs.  ``params`` and ``macs``
share one count (:mod:`snas.profile` caches it): the first of the two pays for both.

    flock /tmp/heavy.lock python bench/proxy_cost.py --genotypes 3 --steps 2
    python bench/proxy_cost.py --scales quickstart --genotypes 5
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit, header  # noqa: E402
from harness.study import validate_study  # noqa: E402
from snas.config import SearchConfig  # noqa: E402
from snas.proxies import PROXIES, ProxySetup, timed_scores  # noqa: E402
from snas.proxies.batch import proxy_batch  # noqa: E402
from snas.search import Search  # noqa: E402
from snas.spaces import SPACES  # noqa: E402
from snas.spaces.base import EvalNetwork  # noqa: E402

QUICKSTART = Path(__file__).resolve().parent.parent / "studies" / "quickstart.yaml"
PROXY_BATCH = 64
OFFICIAL_STEPS = 390
"""Training steps of one official search epoch: 25,000 training images in batches of 64."""


def quickstart_search() -> SearchConfig:
    study = validate_study(yaml.safe_load(QUICKSTART.read_text()))
    first = {key: domain.probe_values()[0] for key, domain in study.space.items()}
    return study.trial_config_of(first)


def official_search(steps: int) -> SearchConfig:
    """The 8-cell, C = 16 search on CIFAR-shaped data; ``steps`` > 0: that many steps' worth of images."""
    train = 2 * 64 * (steps or OFFICIAL_STEPS)
    synthetic = {"classes": 10, "image_size": 32, "train_images": train, "test_images": 64}
    return SearchConfig(method="snas", layers=8, init_channels=16, batch_size=64, device="cpu",
                        eval_layers=8, eval_channels=16, resource={"method": "none"},
                        data={"dataset": "synthetic", "synthetic": synthetic})


def epoch_seconds(config: SearchConfig) -> float:
    search = Search(config)
    start = time.perf_counter()
    search.run_epoch()
    return time.perf_counter() - start


def proxy_milliseconds(config: SearchConfig, genotypes: int) -> tuple[EvalNetwork, dict[str, float]]:
    """The scored network (``config``'s evaluation scale, its data's images) and each proxy's median ms
    per genotype over ``genotypes`` random DARTS genotypes (after one warm-up genotype)."""
    space, rng = SPACES["darts"], random.Random(0)
    batch = proxy_batch(config.data, seed=0, size=PROXY_BATCH)
    network = EvalNetwork("cifar", config.eval_layers, config.eval_channels, batch.side, batch.num_classes,
                          batch.channels)
    setup = ProxySetup(network, batch.images, batch.labels, seed=0)
    timed_scores(PROXIES, space.random_genotype("darts", rng), setup)  # first calls: allocator, caches
    runs = [timed_scores(PROXIES, space.random_genotype("darts", rng), setup) for _ in range(genotypes)]
    return network, {name: 1000 * statistics.median(run[name][1] for run in runs) for name in PROXIES}


def measure(scale: str, args: argparse.Namespace) -> None:
    if scale == "quickstart":
        config, steps = quickstart_search(), None
    else:
        config, steps = official_search(args.steps), args.steps or None
    network, proxy_ms = proxy_milliseconds(config, args.genotypes)
    measured_s = epoch_seconds(config)
    epoch_s = measured_s * OFFICIAL_STEPS / steps if steps else measured_s
    scale_facts = {"scale": scale, "search_layers": config.layers, "search_channels": config.init_channels,
                   "search_batch": config.batch_size, "proxy_layers": network.layers,
                   "proxy_channels": network.channels,
                   "input": f"{network.in_channels}x{network.image_size}x{network.image_size}",
                   "proxy_batch": PROXY_BATCH, "genotypes": args.genotypes}
    for name, ms in proxy_ms.items():
        emit({**header("proxy_cost"), **scale_facts, "proxy": name, "ms_per_genotype": ms,
              "ratio_to_epoch": ms / 1000 / epoch_s})
    all_ms = sum(proxy_ms.values())
    emit({**header("proxy_cost"), **scale_facts, "proxy": "all", "ms_per_genotype": all_ms,
          "epoch_s": epoch_s, "estimated": steps is not None, "timed_steps": steps, "measured_s": measured_s,
          "ratio": all_ms / 1000 / epoch_s, "genotypes_per_epoch": epoch_s / (all_ms / 1000)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", nargs="+", choices=("quickstart", "official"), default=["quickstart", "official"])
    parser.add_argument("--genotypes", type=int, default=3, help="random genotypes to time the proxies on")
    parser.add_argument("--steps", type=int, default=2,
                        help="official scale: training steps timed and scaled to an epoch (0: the whole epoch)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for scale in args.scales:
        measure(scale, args)


if __name__ == "__main__":
    main()
