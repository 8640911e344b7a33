"""How far a search step is from this machine's arithmetic limit.

Measures, in one run, the GFLOP/s of a large float32 matrix multiply (what the hardware
can do) and the GFLOP/s a search training step achieves: the FLOPs of its forward and
backward pass counted by ``torch.utils.flop_counter.FlopCounterMode`` (convolutions and
matrix products, 2 FLOPs per multiply-accumulate) divided by the median time of steps
that draw the same Gumbel noise.  Prints one JSON line per method and the fraction
of the matmul rate.

``FlopCounterMode``'s formula for the convolution backward pass ignores ``groups``: it
prices the weight gradient of a depthwise convolution as if every channel met every
other, ``groups`` times too many.  The supernet is mostly depthwise and grouped
convolutions, so the count here replaces that formula with :func:`conv_backward_flop`.

    python bench/roofline.py [--config a|b] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit, header, seconds_of, time_call  # noqa: E402
from bench.search_step import CONFIGS, make_step  # noqa: E402


def matmul_gflops(device: torch.device, size: int = 2048, repeats: int = 10) -> float:
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    median = time_call(lambda: a @ b, repeats, sync=device.type == "cuda")["median_s"]
    return 2 * size**3 / median / 1e9


def conv_backward_flop(grad_out_shape: list[int], x_shape: list[int], w_shape: list[int], _bias: object,
                       _stride: object, _padding: object, _dilation: object, transposed: bool,
                       _output_padding: object, _groups: int, output_mask: list[bool], **_: object) -> int:
    """FLOPs of a convolution's backward pass: each gradient asked for (input, weight)
    costs what the forward pass costs, one multiply-add per (output element, weight
    element of its group)."""
    outputs = x_shape if transposed else grad_out_shape  # the forward pass's output
    forward_macs = math.prod(outputs) * math.prod(w_shape[1:])
    return 2 * forward_macs * (int(output_mask[0]) + int(output_mask[1]))


def step_flops(step) -> int:
    mapping = {torch.ops.aten.convolution_backward: conv_backward_flop}
    with FlopCounterMode(display=False, custom_mapping=mapping) as counter:
        step()
    return counter.get_total_flops()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="a", choices=sorted(CONFIGS))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    device = torch.device(args.device)
    peak = matmul_gflops(device)
    for method in ("snas", "gdas", "darts"):
        step, search = make_step(method, args.config, args.device, True, False)
        # Every counted and timed step draws the same Gumbel noise, so a GDAS step samples
        # the same ops (unless a few optimiser steps flip an argmax): its work depends on them.
        arch = search.generators["arch"]
        sample_state = arch.get_state()
        flops = step_flops(step)
        arch.set_state(sample_state)
        step()
        times = []
        for _ in range(args.repeats):
            arch.set_state(sample_state)
            times.append(seconds_of(step, sync=device.type == "cuda"))
        achieved = flops / statistics.median(times) / 1e9
        emit({**header("roofline"), "config": args.config, "device": args.device, "method": method,
              "step_gflop": flops / 1e9, "step_s": statistics.median(times), "achieved_gflops": achieved,
              "matmul_gflops": peak, "fraction_of_matmul": achieved / peak})


if __name__ == "__main__":
    main()
