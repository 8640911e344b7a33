"""Which depthwise weight gradient is fastest on the CPU: oneDNN's, one computed as a grouped
convolution of the planes (:func:`snas.ops.weight_gradient_by_planes`), or, for undilated
kernels wider than 3, one assembled from 3-column blocks
(:func:`snas.ops.weight_gradient_by_column_blocks`)?

:func:`snas.ops.weight_gradient_method` decides per call.  This times forward and backward
of :func:`snas.ops.depthwise_conv2d` (so dilated kernels first go through its sub-grid
forms, as in a search step) with each choice forced, side by side in alternating rounds,
for the kernels of the DARTS space's ``sep_conv`` and ``dil_conv`` (5×5, 3×3 dilated 2, 5×5
dilated 2; stride 1 and 2) on the grids and channel counts of a search (32 images,
channels_last).  Each row prints the medians, each method's time over the fastest one's,
which method the rule picks, and whether that is within ``--tolerance`` of the fastest.
A method that does not apply to the convolution that runs (blocks for a 3×3 or dilated
kernel) is left out of its row.

    python bench/depthwise_gradient.py --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import snas.ops as ops  # noqa: E402
from bench.common import emit, header  # noqa: E402

KERNELS = ((5, 1), (3, 2), (5, 2))
"""(kernel, dilation) of sep_conv_5x5, dil_conv_3x3 and dil_conv_5x5 (sep_conv_3x3 reaches
the choice only with one thread on grids narrower than 3, none of the grids here)."""
METHODS = ("onednn", "planes", "blocks")

Rule = Callable[[int, int, int, int, int, int], str]


def _applies(method: str, kernel: int, dilation: int) -> bool:
    return method != "blocks" or (dilation == 1 and kernel > 3)


def _forced(method: str, seen: set[bool]) -> Rule:
    """A rule that picks ``method`` wherever it applies (recording in ``seen`` whether it did)."""
    def rule(kernel: int, stride: int, dilation: int, channels: int, rows: int, cols: int) -> str:
        seen.add(_applies(method, kernel, dilation))
        return method if _applies(method, kernel, dilation) else "onednn"
    return rule


def _spy(rule: Rule, picks: list[str]) -> Rule:
    """``rule``, recording what it picks."""
    def spy(kernel: int, stride: int, dilation: int, channels: int, rows: int, cols: int) -> str:
        picks.append(rule(kernel, stride, dilation, channels, rows, cols))
        return picks[-1]
    return spy


def _step(x: torch.Tensor, weight: torch.Tensor, stride: int, dilation: int, upstream: torch.Tensor) -> None:
    x.grad = weight.grad = None
    out = ops.depthwise_conv2d(x, weight, stride, dilation * (weight.shape[-1] // 2), dilation)
    out.backward(upstream)


def compare(images: int, channels: int, grid: int, kernel: int, dilation: int, stride: int,
            rounds: int) -> dict[str, object]:
    """Median milliseconds of a forward and backward pass with each weight gradient that
    applies, and the method the rule picks."""
    x = torch.randn(images, channels, grid, grid).contiguous(memory_format=torch.channels_last).requires_grad_()
    weight = torch.randn(channels, 1, kernel, kernel, requires_grad=True)
    padding = dilation * (kernel // 2)
    upstream = torch.randn_like(torch.nn.functional.conv2d(x, weight, None, stride, padding, dilation, channels))
    chosen = ops.weight_gradient_method
    applies: dict[str, set[bool]] = {m: set() for m in METHODS}
    rules = {m: _forced(m, applies[m]) for m in METHODS}
    picks: list[str] = []
    try:
        for rule in rules.values():  # one untimed pass each
            ops.weight_gradient_method = rule
            _step(x, weight, stride, dilation, upstream)
        methods = [m for m in METHODS if m == "onednn" or True in applies[m]]
        times: dict[str, list[float]] = {m: [] for m in methods}
        for r in range(rounds):
            for name in (methods if r % 2 == 0 else methods[::-1]):
                ops.weight_gradient_method = rules[name]
                start = time.perf_counter()
                _step(x, weight, stride, dilation, upstream)
                times[name].append(time.perf_counter() - start)
        ops.weight_gradient_method = _spy(chosen, picks)
        _step(x, weight, stride, dilation, upstream)
    finally:
        ops.weight_gradient_method = chosen
    medians = {m: 1000 * statistics.median(t) for m, t in times.items()}
    return {f"{m}_ms": t for m, t in medians.items()} | {"picks": picks[-1] if picks else "onednn"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--channels", type=int, nargs="+", default=[16, 32, 64, 128])
    parser.add_argument("--grids", type=int, nargs="+", default=[32, 16, 8, 4])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--tolerance", type=float, default=0.1,
                        help="a pick within this fraction of the fastest one counts as right")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    wrong = 0
    rows = 0
    for channels in args.channels:
        for grid in args.grids:
            for kernel, dilation in KERNELS:
                for stride in (1, 2):
                    result = compare(args.images, channels, grid, kernel, dilation, stride, args.rounds)
                    medians = {m: float(result[f"{m}_ms"]) for m in METHODS if f"{m}_ms" in result}  # type: ignore[arg-type]
                    fastest = min(medians.values())
                    picked = medians[str(result["picks"])]
                    right = picked <= fastest * (1 + args.tolerance)
                    wrong += not right
                    rows += 1
                    emit({**header("depthwise_gradient"), "images": args.images, "channels": channels,
                          "grid": grid, "kernel": kernel, "dilation": dilation, "stride": stride, **result,
                          **{f"{m}_over_fastest": t / fastest for m, t in medians.items()},
                          "picks_the_fastest": right})
    emit({**header("depthwise_gradient"), "summary": True, "rows": rows, "wrong_picks": wrong,
          "tolerance": args.tolerance})


if __name__ == "__main__":
    main()
