"""The roofline benchmark's FLOP count: backward = forward per gradient, grouped or not."""

import pytest
import torch
import torch.nn.functional as F

from bench.roofline import step_flops
from snas.ops import depthwise_conv2d


@pytest.mark.parametrize("channels, groups, kernel, dilation", [
    (8, 8, 5, 2),   # depthwise, dilated (the sub-grid form on the CPU)
    (8, 8, 3, 1),   # depthwise
    (12, 3, 1, 1),  # grouped pointwise, as for 3 stacked edges
    (6, 1, 3, 1),   # dense
])
@pytest.mark.parametrize("input_grad", [True, False])
def test_backward_costs_one_forward_per_gradient(channels, groups, kernel, dilation, input_grad):
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
    assert step_flops(step) == 2 * forward_macs * (3 if input_grad else 2)
