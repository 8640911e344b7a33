"""Gradients stay in the activations' memory format (a CPU speed property, checked by layout)."""

import copy

import pytest
import torch
import torch.nn.functional as F
from dispatch_helpers import Recorded
from torch.utils._python_dispatch import TorchDispatchMode

from snas.layout import BatchNorm2d, batch_norm, fold_factor, grad_in_input_layout, layout_of
from snas.methods import METHODS
from snas.ops import depthwise_conv2d, factorized_reduce
from snas.spaces.darts.supernet import SuperNet

CL = torch.channels_last


def channels_last_input(*shape, dtype=torch.float32):
    return torch.randn(*shape, dtype=dtype).contiguous(memory_format=CL).requires_grad_()


def test_layout_of_tells_channels_last_from_plain_and_from_neither():
    assert layout_of(torch.randn(2, 3, 4, 4).contiguous(memory_format=CL)) is CL
    assert layout_of(torch.randn(2, 3, 4, 4)) is torch.contiguous_format
    assert layout_of(torch.randn(2, 1, 4, 4).contiguous(memory_format=CL)) is torch.contiguous_format  # both at once
    assert layout_of(torch.randn(3, 4)) is torch.contiguous_format


def test_grad_in_input_layout_is_the_identity_with_a_channels_last_gradient():
    x = channels_last_input(2, 6, 4, 4)
    y = grad_in_input_layout(x)
    assert torch.equal(y, x)
    grad_out = torch.randn(2, 6, 4, 4)  # NCHW, as a slice's or a pool's backward gives
    (grad,) = torch.autograd.grad(y, x, grad_out)
    assert torch.equal(grad, grad_out)
    assert layout_of(grad) is CL
    plain = torch.randn(2, 6, 4, 4, requires_grad=True)
    assert grad_in_input_layout(plain) is plain  # nothing to fix: no autograd node


@pytest.mark.parametrize("channels_last", [True, False])
def test_factorized_reduce_equals_two_offset_strided_convolutions(channels_last):
    x = torch.randn(3, 4, 6, 6, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=CL)
    x.requires_grad_()
    first, second = (torch.randn(3, 4, 1, 1, dtype=torch.float64) for _ in range(2))
    expected = torch.cat([F.conv2d(x, first, stride=2), F.conv2d(x[:, :, 1:, 1:], second, stride=2)], dim=1)
    ours = factorized_reduce(x, first, second)
    assert torch.allclose(ours, expected)
    grad_out = torch.randn_like(expected)
    (expected_grad,) = torch.autograd.grad(expected, x, grad_out)
    (our_grad,) = torch.autograd.grad(ours, x, grad_out)
    assert torch.allclose(our_grad, expected_grad)
    assert layout_of(our_grad) is layout_of(x)


def test_depthwise_conv_on_a_small_grid_hands_back_a_channels_last_input_gradient():
    x = channels_last_input(2, 4, 8, 8)
    weight = torch.randn(4, 1, 5, 5, requires_grad=True)  # 5×5 on 8×8: the custom weight-gradient path
    y = depthwise_conv2d(x, weight, 1, 2, 1)
    (grad,) = torch.autograd.grad(y, x, torch.randn_like(y))
    assert layout_of(grad) is CL


def folded(bn: torch.nn.Module, x: torch.Tensor) -> bool:
    """Whether a copy of ``bn`` normalises ``x`` folded (its statistics by ``batch_norm_update_stats``);
    a copy, so that ``bn``'s statistics stay."""
    with Recorded() as record:
        copy.deepcopy(bn)(x)
    return "batch_norm_update_stats" in record.ops


# channels, grid, how it is normalised: folded (k pixels into the channels), in NCHW, or as it is
SHAPES = [(8, (6, 6), "nchw"), (8, (32, 32), "folded"), (4, (32, 32), "folded"), (12, (32, 34), "folded"),
          (6, (32, 34), "nchw"), (8, (32, 33), "nchw"), (16, (6, 6), "plain")]


@pytest.mark.parametrize("channels, grid, how", SHAPES)
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("momentum", [0.1, None])  # None: a cumulative average
def test_batch_norm_module_equals_torchs_in_values_gradients_and_statistics(channels, grid, how, affine, momentum):
    torch.manual_seed(0)
    ours = BatchNorm2d(channels, affine=affine, momentum=momentum).double()
    torchs = torch.nn.BatchNorm2d(channels, affine=affine, momentum=momentum).double()
    if affine:
        with torch.no_grad():
            ours.weight.normal_(), ours.bias.normal_()
    torchs.load_state_dict(ours.state_dict())
    for mode in ("train", "train", "eval"):
        x = (3 * channels_last_input(4, channels, *grid, dtype=torch.float64) + 2).detach().requires_grad_()
        grad_out = torch.randn(4, channels, *grid, dtype=torch.float64).contiguous(memory_format=CL)
        getattr(ours, mode)(), getattr(torchs, mode)()
        assert folded(ours, x) is (how == "folded" and mode == "train")
        y_ours, y_torch = ours(x), torchs(x)
        torch.testing.assert_close(y_ours, y_torch, rtol=0, atol=1e-12)
        assert layout_of(y_ours) is CL
        g_ours = torch.autograd.grad(y_ours, [x, *ours.parameters()], grad_out)
        g_torch = torch.autograd.grad(y_torch, [x, *torchs.parameters()], grad_out)
        for a, b in zip(g_ours, g_torch):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
        assert layout_of(g_ours[0]) is CL
        for name, buffer in torchs.state_dict().items():
            torch.testing.assert_close(ours.state_dict()[name], buffer, rtol=0, atol=1e-12, msg=name)


@pytest.mark.parametrize("threads, channels, grid, fold", [
    (2, 8, (32, 32), 2), (2, 8, (24, 24), 1), (2, 4, (32, 32), 4), (2, 12, (32, 32), 2),  # from 1024 pixels
    (1, 8, (16, 16), 2), (1, 4, (16, 16), 1), (1, 4, (24, 24), 4),  # from 2048 values per image
    (2, 8, (32, 31), 1), (1, 6, (32, 32), 1),  # the folded pixels must tile a row
    (2, 1, (64, 64), 1), (2, 16, (64, 64), 1),  # one channel is plain NCHW too; 16 take the fast kernels
])
def test_fold_factor_folds_large_grids_by_thread_count(threads, channels, grid, fold):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        assert fold_factor(torch.empty(2, channels, *grid).contiguous(memory_format=CL)) == fold
    finally:
        torch.set_num_threads(before)


def test_an_in_place_op_may_follow_a_folded_batch_norm_as_it_may_torchs():
    torch.manual_seed(0)
    ours, torchs = BatchNorm2d(8).double(), torch.nn.BatchNorm2d(8).double()
    x = channels_last_input(4, 8, 32, 32, dtype=torch.float64)
    grad_out = torch.randn(4, 8, 32, 32, dtype=torch.float64)
    grads = []
    for bn in (ours, torchs):
        y = bn(x)
        y += 0.5
        grads.append(torch.autograd.grad(torch.nn.ReLU(inplace=True)(y), [x, bn.weight, bn.bias], grad_out))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_a_folded_batch_norm_refuses_a_second_derivative():
    x = channels_last_input(4, 8, 32, 32, dtype=torch.float64)
    (grad,) = torch.autograd.grad(batch_norm(x, None, None, True, 0.1, 1e-5).square().sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="differentiate twice"):
        grad.sum().backward()
    with pytest.raises(RuntimeError, match="not have been used in the graph"):  # torch's words for it here
        torch.autograd.grad(grad.sum(), x)


def test_a_folded_batch_norm_takes_a_gradient_in_any_layout():
    x = channels_last_input(4, 8, 32, 32, dtype=torch.float64)
    grad_out = torch.randn(4, 8, 32, 32, dtype=torch.float64)  # NCHW, as a slice's backward gives
    ours = torch.autograd.grad(batch_norm(x, None, None, True, 0.1, 1e-5), x, grad_out)[0]
    torchs = torch.autograd.grad(F.batch_norm(x, None, None, training=True), x, grad_out)[0]
    torch.testing.assert_close(ours, torchs, rtol=0, atol=1e-12)
    assert layout_of(ours) is CL


@pytest.mark.parametrize("grid", [(5, 5), (32, 32)])  # in NCHW / folded
def test_batch_norm_function_updates_a_slice_of_the_running_statistics(grid):
    bn = torch.nn.BatchNorm2d(12, affine=False).double()
    x = channels_last_input(4, 4, *grid, dtype=torch.float64)
    channels = slice(4, 8)
    out = batch_norm(x, bn.running_mean[channels], bn.running_var[channels], True, bn.momentum, bn.eps)
    expected = torch.nn.functional.batch_norm(x, None, None, training=True)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-12)
    assert layout_of(out) is CL
    mean, var = x.detach().mean(dim=(0, 2, 3)), x.detach().var(dim=(0, 2, 3))  # the running variance is unbiased
    torch.testing.assert_close(bn.running_mean[channels], 0.1 * mean, rtol=0, atol=1e-15)
    torch.testing.assert_close(bn.running_var[channels], 0.9 + 0.1 * var, rtol=0, atol=1e-15)
    assert torch.count_nonzero(bn.running_mean[:4]) == 0 and torch.count_nonzero(bn.running_mean[8:]) == 0


class MixedLayoutBackward(TorchDispatchMode):
    """Records backward kernels fed a gradient whose layout differs from their saved input's."""

    WATCHED = ("native_batch_norm_backward", "threshold_backward")

    def __init__(self):
        super().__init__()
        self.mixed: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.__name__.split(".")[0]
        if name in self.WATCHED:
            grad, saved = args[0], args[1]
            if grad.dim() == 4 and not grad.is_contiguous(memory_format=layout_of(saved)):
                self.mixed.append(f"{name}{tuple(grad.shape)}")
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("method", ["snas", "gdas"])
@pytest.mark.parametrize("size", [16, 32])  # the first cells' 4 channels normalised in NCHW / folded
def test_a_channels_last_search_step_never_mixes_layouts_in_backward(method, size):
    """Mixed layouts take PyTorch's slow CPU kernels (3-10× for these ops)."""
    torch.manual_seed(0)
    net = SuperNet(4, 5, 5).to(memory_format=CL)
    x = torch.randn(2, 3, size, size).contiguous(memory_format=CL)
    gen = torch.Generator().manual_seed(0)
    alphas = [torch.randn(14, 8, requires_grad=True) for _ in range(2)]
    normal, reduce = (METHODS[method].sample(a, 1.0, gen) for a in alphas)
    loss = F.cross_entropy(net(x, [normal], [reduce]), torch.tensor([0, 1]))
    with MixedLayoutBackward() as watch:
        loss.backward()
    assert watch.mixed == []
