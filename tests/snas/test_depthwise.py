"""Depthwise convolution on the CPU (:func:`snas.ops.depthwise_conv2d`): every path it takes
gives the plain call's values and gradients, and the rule that picks a weight gradient
picks what ``bench/depthwise_gradient.py`` measured."""

import pytest
import torch
import torch.nn.functional as F

import snas.ops as ops
from snas.ops import (
    depthwise_conv2d,
    first_sub_grid,
    weight_gradient_by_column_blocks,
    weight_gradient_by_planes,
    weight_gradient_method,
)

CHANNELS_LAST = torch.channels_last


@pytest.mark.parametrize("kernel, stride, dilation", [
    (3, 1, 2), (5, 1, 2), (5, 2, 2), (3, 1, 3), (3, 2, 1), (3, 1, 1), (5, 1, 1), (5, 2, 1), (3, 2, 3),
])
@pytest.mark.parametrize("size", [40, 12, 11, 4, 2, 1])
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("threads", [1, 2])  # the weight gradient's choice depends on them
def test_depthwise_conv_equals_the_plain_call_in_value_and_gradients(kernel, stride, dilation, size, channels_last,
                                                                     threads, monkeypatch):
    """Every path: sub-grids (40, 12), the first sub-grid of a stride equal to the dilation,
    the plain call with stride 1 at an odd size (11) and with sub-grids narrower than the
    kernel (4), a kernel dilated in place and strided (stride 2, dilation 3), the planes'
    weight gradient on small grids (≤ 16×16), the column blocks' for 5×5 kernels (40: the grid
    and its 20×20 sub-grids), and kernels cropped to grids narrower than their reach (4, 2, 1)."""
    torch.manual_seed(0)
    x = torch.randn(3, 6, size, size, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=CHANNELS_LAST)
    x.requires_grad_()
    weight = torch.randn(6, 1, kernel, kernel, dtype=torch.float64, requires_grad=True)
    padding = dilation * (kernel // 2)
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
    ours = depthwise_conv2d(x, weight, stride, padding, dilation)
    plain = F.conv2d(x, weight, None, stride, padding, dilation, groups=6)
    assert ours.shape == plain.shape
    torch.testing.assert_close(ours, plain, rtol=0, atol=1e-12)
    upstream = torch.randn_like(plain)
    ours_grads = torch.autograd.grad(ours, (x, weight), upstream)
    plain_grads = torch.autograd.grad(plain, (x, weight), upstream)
    for a, b in zip(ours_grads, plain_grads):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    assert ours_grads[0].is_contiguous(memory_format=CHANNELS_LAST if channels_last else torch.contiguous_format)


@pytest.mark.parametrize("rows, cols, kernel, padding, dilation", [
    (8, 2, 5, 2, 1), (2, 8, 5, 2, 1), (9, 1, 3, 2, 2),  # narrow along one axis only: no crop
    (2, 2, 5, 3, 1), (1, 1, 5, 3, 1), (1, 1, 3, 2, 1),  # padding other than "same": no crop
    (2, 2, 5, 2, 1), (3, 2, 5, 4, 2),  # "same" and narrower than the reach along both axes: cropped
])
@pytest.mark.parametrize("threads", [1, 2])
def test_depthwise_conv_crops_only_taps_that_reach_neither_axis(rows, cols, kernel, padding, dilation, threads,
                                                               monkeypatch):
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
    torch.manual_seed(0)
    x = torch.randn(2, 3, rows, cols, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(3, 1, kernel, kernel, dtype=torch.float64, requires_grad=True)
    ours = depthwise_conv2d(x, weight, 1, padding, dilation)
    plain = F.conv2d(x, weight, None, 1, padding, dilation, groups=3)
    torch.testing.assert_close(ours, plain, rtol=0, atol=1e-12)
    upstream = torch.randn_like(plain)
    ours_grads = torch.autograd.grad(ours, (x, weight), upstream)
    for a, b in zip(ours_grads, torch.autograd.grad(plain, (x, weight), upstream)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def _method(kernel: int, stride: int, dilation: int, channels: int, size: int, threads: int,
            monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(torch, "get_num_threads", lambda: threads)
    return weight_gradient_method(kernel, stride, dilation, channels, size, size)


@pytest.mark.parametrize("kernel, stride, dilation, channels, size, method", [
    (5, 1, 1, 32, 32, "blocks"), (5, 2, 1, 64, 32, "blocks"), (5, 1, 1, 32, 16, "blocks"),  # ≥ 8,192 values
    (5, 1, 1, 128, 8, "blocks"), (7, 1, 1, 8, 32, "blocks"),
    (5, 1, 1, 16, 16, "onednn"), (5, 1, 1, 64, 8, "onednn"), (5, 2, 1, 8, 16, "onednn"),  # fewer values
    (3, 1, 1, 64, 32, "onednn"), (3, 2, 1, 64, 32, "onednn"),  # 3×3: oneDNN's gradient is fast
    (3, 1, 2, 16, 16, "onednn"), (3, 1, 3, 16, 9, "onednn"),  # dilated on a grid it fits
    (3, 1, 2, 16, 5, "onednn"),  # dilated in place, its 5-pixel span inside the grid
    (5, 1, 2, 16, 8, "planes"), (3, 1, 2, 16, 4, "planes"),  # dilated in place, spanning past the grid
    (3, 2, 3, 16, 8, "planes"),  # dilated in place and strided
    (5, 1, 2, 16, 32, "onednn"),  # … but not on grids over 16×16
])
def test_with_two_threads_blocks_for_large_5x5_kernels_and_planes_for_dilated_kernels_strided_or_past_small_grids(
        kernel, stride, dilation, channels, size, method, monkeypatch):
    """The two-thread rule (``bench/depthwise_gradient.py --threads 2``): column blocks for an
    undilated kernel wider than 3 from 8,192 values per image, where they were 1.1-1.7×
    faster than oneDNN's gradient; the planes only for a kernel still dilated that is strided
    or spans past a small grid."""
    assert _method(kernel, stride, dilation, channels, size, 2, monkeypatch) == method


@pytest.mark.parametrize("kernel, stride, dilation, channels, size, method", [
    (5, 1, 1, 32, 8, "blocks"), (5, 2, 1, 16, 32, "blocks"), (7, 1, 1, 8, 16, "blocks"),  # ≥ 2,048 values
    (5, 1, 1, 16, 8, "onednn"), (5, 2, 1, 16, 16, "onednn"), (5, 1, 1, 1, 32, "onednn"),  # fewer values
    (5, 1, 1, 128, 4, "planes"),  # a grid under 8×8 and narrower than the kernel
    (3, 1, 1, 8, 2, "planes"),  # wider than the grid
    (5, 1, 2, 8, 8, "planes"), (3, 2, 3, 8, 8, "planes"),  # dilated in place
    (3, 1, 1, 8, 8, "onednn"), (3, 2, 1, 8, 16, "onednn"),  # 3×3 (dilated ones run so on sub-grids)
])
def test_with_one_thread_blocks_for_5x5_kernels_from_8x8_and_planes_for_dilated_or_wide_ones(
        kernel, stride, dilation, channels, size, method, monkeypatch):
    assert _method(kernel, stride, dilation, channels, size, 1, monkeypatch) == method


@pytest.mark.parametrize("method, size, dilation, padding", [("planes", 4, 2, 4), ("blocks", 8, 1, 2)])
@pytest.mark.parametrize("needs", ["input", "weight"])
def test_own_weight_gradients_give_only_the_gradients_asked_for(method, size, dilation, padding, needs, monkeypatch):
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    torch.manual_seed(0)
    x = torch.randn(4, 32, size, size, dtype=torch.float64, requires_grad=needs == "input")
    weight = torch.randn(32, 1, 5, 5, dtype=torch.float64, requires_grad=needs == "weight")
    wanted = x if needs == "input" else weight
    ours = depthwise_conv2d(x, weight, 1, padding, dilation)
    own = type(ours.grad_fn).__name__ == "_DepthwiseWithOwnWeightGradientBackward"
    assert own == (needs == "weight")  # without a weight gradient, oneDNN's call
    if own:
        assert ours.grad_fn.method == method
    plain = F.conv2d(x, weight, None, 1, padding, dilation, groups=32)
    (ours_grad,) = torch.autograd.grad(ours.square().sum(), wanted)
    (plain_grad,) = torch.autograd.grad(plain.square().sum(), wanted)
    torch.testing.assert_close(ours_grad, plain_grad, rtol=0, atol=1e-12)


def _aten_weight_gradient(x, grad, weight, stride, padding, dilation):
    return torch.ops.aten.convolution_backward(grad, x, weight, None, [stride] * 2, [padding] * 2, [dilation] * 2,
                                               False, [0, 0], weight.shape[0], [False, True, False])[1]


@pytest.mark.parametrize("kernel, stride, padding, rows, cols", [
    (5, 1, 2, 9, 9), (5, 2, 2, 9, 10), (5, 1, 2, 3, 7), (5, 1, 1, 6, 6), (5, 2, 0, 11, 8),
    (7, 1, 3, 9, 12), (7, 2, 3, 10, 9),
])
@pytest.mark.parametrize("layout", [torch.contiguous_format, CHANNELS_LAST])
@pytest.mark.parametrize("weight_gradient", [weight_gradient_by_column_blocks, weight_gradient_by_planes])
def test_own_weight_gradients_equal_atens(weight_gradient, kernel, stride, padding, rows, cols, layout):
    """Column blocks (two for 5×5, three for 7×7, shifts into and out of the grid, padding
    other than ``kernel // 2``, odd sizes and strides) and planes against ATen's gradient."""
    torch.manual_seed(0)
    x = torch.randn(3, 4, rows, cols, dtype=torch.float64).contiguous(memory_format=layout)
    weight = torch.randn(4, 1, kernel, kernel, dtype=torch.float64)
    grad = torch.randn_like(F.conv2d(x, weight, None, stride, padding, 1, 4))
    ours = weight_gradient(x, grad, weight, stride, padding, 1)
    torch.testing.assert_close(ours, _aten_weight_gradient(x, grad, weight, stride, padding, 1), rtol=0, atol=1e-12)


def test_column_blocks_refuse_a_dilated_kernel():
    x = torch.randn(1, 2, 8, 8)
    with pytest.raises(ValueError, match="undilated"):
        weight_gradient_by_column_blocks(x, torch.randn(1, 2, 8, 8), torch.randn(2, 1, 5, 5), 1, 4, 2)


@pytest.mark.parametrize("shift, width, expected", [
    (2, 6, [0, 0, 1, 2, 3, 4]),  # zeros shifted in on the left
    (1, 6, [0, 1, 2, 3, 4, 0]),  # … and past the end
    (0, 3, [1, 2, 3]),
    (-1, 4, [2, 3, 4, 0]),  # a negative shift drops the first columns
    (-2, 2, [3, 4]),
    (5, 3, [0, 0, 0]), (-5, 3, [0, 0, 0]),  # shifted off the window entirely
])
@pytest.mark.parametrize("layout", [torch.contiguous_format, CHANNELS_LAST])
def test_shifted_columns_move_the_columns_and_zero_the_rest(shift, width, expected, layout):
    x = torch.tensor([1.0, 2, 3, 4]).view(1, 1, 1, 4).repeat(2, 3, 2, 1).contiguous(memory_format=layout)
    shifted = ops._shifted_columns(x, shift, width)
    assert shifted.is_contiguous(memory_format=layout)
    assert torch.equal(shifted, torch.tensor(expected, dtype=x.dtype).view(1, 1, 1, width).expand(2, 3, 2, width))


@pytest.mark.parametrize("layout", [torch.contiguous_format, CHANNELS_LAST])
@pytest.mark.parametrize("d", [2, 3])
def test_first_sub_grid_is_the_strided_slice_with_its_gradient_in_the_input_layout(layout, d):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 7, 6, dtype=torch.float64).contiguous(memory_format=layout).requires_grad_()
    ours = first_sub_grid(x, d)
    sliced = x[:, :, ::d, ::d]
    assert torch.equal(ours, sliced)
    assert ours.is_contiguous(memory_format=layout)
    upstream = torch.randn_like(sliced)
    (ours_grad,) = torch.autograd.grad(ours, x, upstream)
    (sliced_grad,) = torch.autograd.grad(sliced, x, upstream)
    assert torch.equal(ours_grad, sliced_grad)
    assert ours_grad.is_contiguous(memory_format=layout)


def test_first_sub_grid_without_a_gradient_is_a_view():
    x = torch.randn(2, 3, 8, 8)
    assert first_sub_grid(x, 2)._base is x
    with torch.no_grad():
        assert first_sub_grid(x.requires_grad_(), 2)._base is x
