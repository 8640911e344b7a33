"""Which depthwise weight gradient is faster on small CPU grids: oneDNN's, or one computed as
a grouped convolution (:class:`snas.ops._DepthwiseOnSmallGrid`)?

:func:`snas.ops.weight_gradient_by_convolution` decides per call.  This times forward and
backward of :func:`snas.ops.depthwise_conv2d` (so dilated kernels first go through its
sub-grid forms, as in a search step) with that choice forced each way, side by side in
alternating rounds, for the kernels of the DARTS space's ``sep_conv`` and ``dil_conv``
(5×5, 3×3 dilated 2, 5×5 dilated 2; stride 1 and 2) on the grids and channel counts of a
search (32 images, channels_last).  Each row prints both medians, ``onednn / convolution``
(above 1: the convolutional gradient is faster), which one the rule picks, and whether
that is the faster one (within ``--tolerance``).

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


def _fixed_rule(by_convolution: bool) -> Callable[[int, int, int, int], bool]:
    return lambda kernel, stride, dilation, extent: by_convolution


def _step(x: torch.Tensor, weight: torch.Tensor, stride: int, dilation: int, upstream: torch.Tensor) -> None:
    x.grad = weight.grad = None
    out = ops.depthwise_conv2d(x, weight, stride, dilation * (weight.shape[-1] // 2), dilation)
    out.backward(upstream)


def compare(images: int, channels: int, grid: int, kernel: int, dilation: int, stride: int,
            rounds: int) -> dict[str, float]:
    """Median seconds of a forward and backward pass with each weight gradient."""
    x = torch.randn(images, channels, grid, grid).contiguous(memory_format=torch.channels_last).requires_grad_()
    weight = torch.randn(channels, 1, kernel, kernel, requires_grad=True)
    padding = dilation * (kernel // 2)
    upstream = torch.randn_like(torch.nn.functional.conv2d(x, weight, None, stride, padding, dilation, channels))
    times: dict[str, list[float]] = {"onednn": [], "convolution": []}
    rules = {"onednn": _fixed_rule(False), "convolution": _fixed_rule(True)}
    chosen = ops.weight_gradient_by_convolution
    try:
        for rule in rules.values():  # one untimed pass each
            ops.weight_gradient_by_convolution = rule
            _step(x, weight, stride, dilation, upstream)
        for r in range(rounds):
            for name in (("onednn", "convolution") if r % 2 == 0 else ("convolution", "onednn")):
                ops.weight_gradient_by_convolution = rules[name]
                start = time.perf_counter()
                _step(x, weight, stride, dilation, upstream)
                times[name].append(time.perf_counter() - start)
    finally:
        ops.weight_gradient_by_convolution = chosen
    out = ops.depthwise_conv2d(x, weight, stride, padding, dilation)
    picks_convolution = type(out.grad_fn).__name__ == "_DepthwiseOnSmallGridBackward"
    return {"onednn_ms": 1000 * statistics.median(times["onednn"]),
            "convolution_ms": 1000 * statistics.median(times["convolution"]),
            "picks": "convolution" if picks_convolution else "onednn"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--channels", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--grids", type=int, nargs="+", default=[16, 8, 4])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--tolerance", type=float, default=0.1,
                        help="a pick within this fraction of the faster one counts as right")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    wrong = 0
    rows = 0
    for channels in args.channels:
        for grid in args.grids:
            for kernel, dilation in KERNELS:
                for stride in (1, 2):
                    result = compare(args.images, channels, grid, kernel, dilation, stride, args.rounds)
                    ratio = result["onednn_ms"] / result["convolution_ms"]
                    faster = "convolution" if ratio > 1 else "onednn"
                    slower_by = max(ratio, 1 / ratio) - 1
                    right = result["picks"] == faster or slower_by <= args.tolerance
                    wrong += not right
                    rows += 1
                    emit({**header("depthwise_gradient"), "images": args.images, "channels": channels,
                          "grid": grid, "kernel": kernel, "dilation": dilation, "stride": stride, **result,
                          "onednn_over_convolution": ratio, "picks_the_faster": right})
    emit({**header("depthwise_gradient"), "summary": True, "rows": rows, "wrong_picks": wrong,
          "tolerance": args.tolerance})


if __name__ == "__main__":
    main()
