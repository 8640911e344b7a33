"""The roofline benchmark's FLOP count: backward = forward per gradient, grouped or not."""

import pytest
import torch
import torch.nn.functional as F

from bench.roofline import step_flops
from snas.ops import depthwise_conv2d


@pytest.mark.parametrize("channels, groups, kernel, dilation, threads, weight_gradient", [
    (8, 8, 5, 2, 2, 1.0),   # depthwise, dilated (the sub-grid form on the CPU)
    (8, 8, 3, 1, 2, 1.0),   # depthwise
    (8, 8, 5, 1, 1, 1.2),   # depthwise 5×5 whose weight gradient comes from two 5×3 blocks
    (12, 3, 1, 1, 2, 1.0),  # grouped pointwise, as for 3 stacked edges
    (6, 1, 3, 1, 2, 1.0),   # dense
])
@pytest.mark.parametrize("input_grad", [True, False])
def test_backward_costs_one_forward_per_gradient(channels, groups, kernel, dilation, threads, weight_gradient,
                                                 input_grad, monkeypatch):
    """A gradient costs what the forward pass does, except a 5×5 depthwise weight gradient
    assembled from 5×3 blocks, whose shared middle column is computed twice (6/5)."""
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)  # which weight gradient runs
    x = torch.randn(4, channels, 16, 16, requires_grad=input_grad)
    weight = torch.randn(channels, channels // groups, kernel, kernel, requires_grad=True)
    padding = dilation * (kernel // 2)
    forward_macs = 4 * channels * 16 * 16 * (channels // groups) * kernel * kernel

    def step() -> None:
        if groups == channels:  # as the supernet runs it (dilated: on sub-grids, on the CPU)
            out = depthwise_conv2d(x, weight, 1, padding, dilation)
        else:
            out = F.conv2d(x, weight, None, 1, padding, dilation, groups)
        out.sum().backward()

    # forward, weight gradient, and the input gradient when the input needs one
    assert step_flops(step) == pytest.approx(2 * forward_macs * (1 + weight_gradient + input_grad))
