"""How to normalise a channels_last CPU tensor with fewer than 16 channels: PyTorch's own
channels_last kernel, a round trip through NCHW, or folded (:mod:`snas.layout`)?

:func:`snas.layout.batch_norm` folds on large grids (:func:`snas.layout.fold_factor`, by
thread count) and takes the NCHW round trip on small ones.  This times a training-mode forward and backward of
each way, side by side in alternating rounds, each timing over ``--passes`` passes in a
row, for the channel counts a search meets below 16 (4-12: the first cells at small
``init_channels``) on square grids (32 images by default).  Each row prints the three
medians, ``round trip / folded`` (above 1: folding is faster), which of the two the rule
picks, and whether that is the faster one (within ``--tolerance``).

    python bench/few_channel_batch_norm.py --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import snas.layout as layout  # noqa: E402
from bench.common import emit, header  # noqa: E402


def _passes(normalise: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, upstream: torch.Tensor,
            passes: int) -> None:
    for _ in range(passes):
        x.grad = None
        normalise(x).backward(upstream)


def compare(images: int, channels: int, grid: int, rounds: int, passes: int) -> dict[str, float | str]:
    """Median milliseconds of a forward and backward pass each way, and the rule's pick."""
    x = torch.randn(images, channels, grid, grid).contiguous(memory_format=torch.channels_last).requires_grad_()
    upstream = torch.randn_like(x)
    mean, var = torch.zeros(channels), torch.ones(channels)
    rule = layout.fold_factor
    k = layout.fold_width(channels)

    def ours(fold: int) -> Callable[[torch.Tensor], torch.Tensor]:
        def normalise(t: torch.Tensor) -> torch.Tensor:
            layout.fold_factor = lambda x: fold
            return layout.batch_norm(t, mean, var, True, 0.1, 1e-5)
        return normalise

    ways = {"channels_last_kernel": lambda t: F.batch_norm(t, mean, var, None, None, True, 0.1, 1e-5),
            "round_trip": ours(1), "folded": ours(k)}
    times: dict[str, list[float]] = {name: [] for name in ways}
    try:
        for normalise in ways.values():  # untimed passes first
            _passes(normalise, x, upstream, passes)
        names = list(ways)
        for r in range(rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                start = time.perf_counter()
                _passes(ways[name], x, upstream, passes)
                times[name].append((time.perf_counter() - start) / passes)
    finally:
        layout.fold_factor = rule
    picks = "folded" if rule(x) > 1 else "round_trip"
    return {**{f"{name}_ms": 1000 * statistics.median(t) for name, t in times.items()}, "picks": picks}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--channels", type=int, nargs="+", default=[4, 8, 12])
    parser.add_argument("--grids", type=int, nargs="+", default=[16, 24, 32, 48])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--passes", type=int, default=10, help="forward and backward passes per timing")
    parser.add_argument("--tolerance", type=float, default=0.1,
                        help="a pick within this fraction of the faster one counts as right")
    args = parser.parse_args()
    if any(not 1 < c < layout.PLAIN_BATCH_NORM_BELOW for c in args.channels):
        parser.error(f"--channels: each must be 2-{layout.PLAIN_BATCH_NORM_BELOW - 1}, the counts that are not "
                     "normalised as they are (one channel is plain NCHW as well)")
    for channels in args.channels:
        k = layout.fold_width(channels)
        if any(grid % k for grid in args.grids):
            parser.error(f"--grids: {channels} channels fold {k} pixels of a row, so each grid must be a multiple "
                         f"of {k}")
    torch.set_num_threads(args.threads)
    wrong = rows = 0
    for channels in args.channels:
        for grid in args.grids:
            result = compare(args.images, channels, grid, args.rounds, args.passes)
            ratio = float(result["round_trip_ms"]) / float(result["folded_ms"])
            faster = "folded" if ratio > 1 else "round_trip"
            right = result["picks"] == faster or max(ratio, 1 / ratio) - 1 <= args.tolerance
            wrong += not right
            rows += 1
            emit({**header("few_channel_batch_norm"), "threads": args.threads, "images": args.images,
                  "channels": channels, "grid": grid, **result, "round_trip_over_folded": ratio,
                  "picks_the_faster": right})
    emit({**header("few_channel_batch_norm"), "summary": True, "rows": rows, "wrong_picks": wrong,
          "tolerance": args.tolerance})


if __name__ == "__main__":
    main()
