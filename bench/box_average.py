"""Which eager 3×3 average pool (stride 1, padding 1 not counted) is faster on the CPU:
ATen's, or :func:`snas.pools.box_average` (shifted whole-tensor sums)?

:func:`snas.pools.box_average_applies` decides per call.  This times a forward and backward
pass of each, side by side in alternating rounds, on the channel counts and grids of the
DARTS and NAS-Bench-201 cells (32 images by default), channels_last and NCHW.  Each row
prints the medians, ATen's time over the box sums', which one the rule picks, and whether
that is within ``--tolerance`` of the faster one.

    python bench/box_average.py --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit, header  # noqa: E402
from snas.pools import box_average, box_average_applies  # noqa: E402


def _aten(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)


def compare(images: int, channels: int, grid: int, channels_last: bool, rounds: int) -> dict[str, object]:
    """Median milliseconds of a forward and backward pass of each pool, and the rule's pick."""
    layout = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(images, channels, grid, grid).contiguous(memory_format=layout).requires_grad_()
    upstream = torch.randn_like(x)
    pools = {"aten": _aten, "box": box_average}

    def step(pool: str) -> None:
        x.grad = None
        pools[pool](x).backward(upstream)

    for name in pools:  # one untimed pass each
        step(name)
    times: dict[str, list[float]] = {name: [] for name in pools}
    order = list(pools)
    for r in range(rounds):
        for name in (order if r % 2 == 0 else order[::-1]):
            start = time.perf_counter()
            step(name)
            times[name].append(time.perf_counter() - start)
    medians = {name: 1000 * statistics.median(t) for name, t in times.items()}
    return {"aten_ms": medians["aten"], "box_ms": medians["box"], "aten_over_box": medians["aten"] / medians["box"],
            "picks": "box" if box_average_applies(x) else "aten"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--channels", type=int, nargs="+", default=[8, 16, 32, 64, 128, 256])
    parser.add_argument("--grids", type=int, nargs="+", default=[32, 16, 8, 4])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--tolerance", type=float, default=0.1,
                        help="a pick within this fraction of the faster one counts as right")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    wrong = rows = 0
    for channels_last in (True, False):
        for channels in args.channels:
            for grid in args.grids:
                result = compare(args.images, channels, grid, channels_last, args.rounds)
                medians = {"aten": float(result["aten_ms"]), "box": float(result["box_ms"])}  # type: ignore[arg-type]
                right = medians[str(result["picks"])] <= min(medians.values()) * (1 + args.tolerance)
                wrong += not right
                rows += 1
                emit({**header("box_average"), "images": args.images, "channels": channels, "grid": grid,
                      "channels_last": channels_last, **result, "picks_the_faster": right})
    emit({**header("box_average"), "summary": True, "rows": rows, "wrong_picks": wrong, "tolerance": args.tolerance})


if __name__ == "__main__":
    main()
