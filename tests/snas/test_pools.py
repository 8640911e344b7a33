"""snas.pools: ATen's pools, opaque to torch.compile, with ATen's values and gradients.

Graphs are captured with Dynamo and AOTAutograd alone (no Inductor): seconds, not minutes.
"""

import pytest
import torch
from functorch.compile import make_boxed_func
from torch import nn
from torch._dynamo.backends.common import aot_autograd

from snas.pools import AvgPool2d, MaxPool2d, avg_pool2d, max_pool2d
from snas.spaces.darts.ops import build_op
from snas.spaces.nas_bench_201.ops import OPS as NB201_OPS
from snas.spaces.nas_bench_201.supernet import SearchCell as NB201SearchCell

WINDOWS = [(3, 1, 1), (3, 2, 1), (2, 2, 0)]


def inputs(channels_last: bool) -> torch.Tensor:
    x = torch.randn(3, 5, 9, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def pairs(kernel, stride, padding):
    """Ours and torch's module for one window."""
    return [(MaxPool2d(kernel, stride, padding), nn.MaxPool2d(kernel, stride, padding)),
            (AvgPool2d(kernel, stride, padding, count_include_pad=False),
             nn.AvgPool2d(kernel, stride, padding, count_include_pad=False)),
            (AvgPool2d(kernel, stride, padding), nn.AvgPool2d(kernel, stride, padding))]


def loss(y: torch.Tensor) -> torch.Tensor:
    """A loss whose gradient differs at every output position (a plain sum would not tell
    two windows' gradients apart)."""
    return (y * torch.arange(1.0, 1 + y.numel(), dtype=y.dtype).view_as(y)).sum()


def capturing_backend(graphs: dict[str, list[torch.fx.GraphModule]]):
    """An AOTAutograd backend that keeps the forward and backward graphs it is given."""

    def keep(kind):
        def compiler(gm, _inputs):
            graphs[kind].append(gm)
            return make_boxed_func(gm.forward)
        return compiler
    return aot_autograd(fw_compiler=keep("forward"), bw_compiler=keep("backward"))


def targets(graphs: list[torch.fx.GraphModule]) -> set[str]:
    return {str(n.target) for g in graphs for n in g.graph.nodes if n.op == "call_function"}


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_the_custom_operators_pass_torchs_operator_checks(window, channels_last, dtype):
    """Schema, fake (meta) outputs with ATen's strides, autograd registration, AOT dispatch,
    forward and backward operators."""
    x = inputs(channels_last).to(dtype).requires_grad_()
    out, indices = max_pool2d(x, *window, channels_last)
    grad = torch.randn_like(out)
    torch.library.opcheck(max_pool2d, (x, *window, channels_last))
    torch.library.opcheck(torch.ops.snas.max_pool2d_backward, (grad, x.detach(), indices, *window, channels_last))
    for count_include_pad in (False, True):
        torch.library.opcheck(avg_pool2d, (x, *window, count_include_pad, channels_last))
        torch.library.opcheck(torch.ops.snas.avg_pool2d_backward,
                              (grad, x.detach(), *window, count_include_pad, channels_last))


@pytest.mark.parametrize("window", WINDOWS)
@pytest.mark.parametrize("channels_last", [False, True])
def test_eagerly_and_compiled_they_equal_torchs_pools_bit_for_bit(window, channels_last):
    torch._dynamo.reset()
    for ours, theirs in pairs(*window):
        x_ref = inputs(channels_last).requires_grad_()
        expected = theirs(x_ref)
        loss(expected).backward()
        for run in (ours, torch.compile(ours, backend="aot_eager", fullgraph=True)):
            x = inputs(channels_last).requires_grad_()
            y = run(x)
            loss(y).backward()
            assert torch.equal(y, expected), (type(ours).__name__, window)
            assert torch.equal(x.grad, x_ref.grad), (type(ours).__name__, window)
            assert y.stride() == expected.stride() and x.grad.stride() == x_ref.grad.stride()


def test_a_compiled_graph_calls_them_forward_and_backward_instead_of_atens_pools():
    """What Inductor would lower: the graphs hold the opaque operators and no ATen pool."""
    torch._dynamo.reset()
    graphs: dict[str, list[torch.fx.GraphModule]] = {"forward": [], "backward": []}
    net = nn.Sequential(MaxPool2d(3, 1, 1), AvgPool2d(3, 2, 1, count_include_pad=False))
    x = inputs(True).requires_grad_()
    loss(torch.compile(net, backend=capturing_backend(graphs), fullgraph=True)(x)).backward()
    forward, backward = targets(graphs["forward"]), targets(graphs["backward"])
    assert {"snas.max_pool2d.default", "snas.avg_pool2d.default"} <= forward
    assert {"snas.max_pool2d_backward.default", "snas.avg_pool2d_backward.default"} <= backward
    assert not [t for t in forward | backward if t.startswith("aten.") and "pool" in t]


def test_the_search_spaces_pools_are_these():
    """Every 3×3 pool a DARTS or NAS-Bench-201 network builds (cells, child networks)."""
    for stride in (1, 2):
        assert isinstance(build_op("max_pool_3x3", 4, stride), MaxPool2d)
        assert isinstance(build_op("avg_pool_3x3", 4, stride), AvgPool2d)
    assert isinstance(NB201_OPS["avg_pool_3x3"](4, False), AvgPool2d)
    assert isinstance(NB201SearchCell(4).pool, AvgPool2d)


def test_an_input_inductor_laid_out_otherwise_is_pooled_in_the_traced_layout():
    """Inductor may pass a traced channels_last tensor as NCHW (and back): the operators pool
    in the traced layout, forward and backward, so the output strides are the traced ones."""
    x = inputs(True)
    for traced_channels_last, given in ((True, x.contiguous()), (False, x)):
        layout = torch.channels_last if traced_channels_last else torch.contiguous_format
        out, indices = max_pool2d(given, 3, 2, 1, traced_channels_last)
        mean = avg_pool2d(given, 3, 2, 1, False, traced_channels_last)
        assert out.is_contiguous(memory_format=layout) and mean.is_contiguous(memory_format=layout)
        assert torch.equal(out, nn.functional.max_pool2d(x, 3, 2, 1))
        assert torch.equal(mean, nn.functional.avg_pool2d(x, 3, 2, 1, count_include_pad=False))
        grad = torch.ones_like(out).contiguous()
        max_grad = torch.ops.snas.max_pool2d_backward(grad, given, indices.contiguous(), 3, 2, 1,
                                                      traced_channels_last)
        avg_grad = torch.ops.snas.avg_pool2d_backward(grad, given, 3, 2, 1, False, traced_channels_last)
        assert max_grad.is_contiguous(memory_format=layout) and avg_grad.is_contiguous(memory_format=layout)
        assert torch.equal(max_grad, torch.ops.aten.max_pool2d_with_indices_backward(
            grad, x, [3, 3], [2, 2], [1, 1], [1, 1], False, indices))
        assert torch.equal(avg_grad, torch.ops.aten.avg_pool2d_backward(
            grad, x, [3, 3], [2, 2], [1, 1], False, False, None))


def test_a_channel_slice_of_a_channels_last_tensor_is_pooled_channels_last_as_aten_does():
    x = inputs(True)[:, :3]
    for pool in (MaxPool2d(3, 1, 1), AvgPool2d(3, 1, 1)):
        y = torch.compile(pool, backend="aot_eager", fullgraph=True)(x)
        assert y.stride() == pool(x).stride() and torch.equal(y, pool(x))


def test_eagerly_they_keep_atens_autograd_so_a_second_derivative_works():
    for pool in (MaxPool2d(3, 1, 1), AvgPool2d(3, 2, 1, count_include_pad=False)):
        x = inputs(True).requires_grad_()
        (g,) = torch.autograd.grad(loss(pool(x) ** 2), x, create_graph=True)
        (gg,) = torch.autograd.grad(g.sum(), x)
        x_ref = inputs(True).requires_grad_()
        reference = (nn.MaxPool2d(3, 1, 1) if isinstance(pool, MaxPool2d)
                     else nn.AvgPool2d(3, 2, 1, count_include_pad=False))
        (g_ref,) = torch.autograd.grad(loss(reference(x_ref) ** 2), x_ref, create_graph=True)
        assert torch.equal(gg, torch.autograd.grad(g_ref.sum(), x_ref)[0])


def test_compiled_they_follow_changed_attributes_and_leave_what_they_do_not_implement_to_inductor():
    """The window is read when the pool runs; ceil mode, dilation and a divisor override go
    to torch's own pools (lowered by Inductor), with torch's results."""
    x = inputs(True)
    changed = MaxPool2d(3, 1, 1)
    changed.stride = 2
    cases = [(changed, nn.MaxPool2d(3, 2, 1), "snas.max_pool2d.default"),
             (MaxPool2d(3, 2, 1, ceil_mode=True), nn.MaxPool2d(3, 2, 1, ceil_mode=True), "aten."),
             (MaxPool2d(3, 1, 1, dilation=2), nn.MaxPool2d(3, 1, 1, dilation=2), "aten."),
             (AvgPool2d(3, 1, 1, divisor_override=4), nn.AvgPool2d(3, 1, 1, divisor_override=4), "aten."),
             (AvgPool2d((3, 3), (2, 2), (1, 1)), nn.AvgPool2d(3, 2, 1), "snas.avg_pool2d.default")]
    for ours, theirs, op in cases:
        torch._dynamo.reset()
        graphs: dict[str, list[torch.fx.GraphModule]] = {"forward": [], "backward": []}
        y = torch.compile(ours, backend=capturing_backend(graphs), fullgraph=True)(x.clone().requires_grad_())
        assert torch.equal(y, theirs(x)), ours
        pools = [t for t in targets(graphs["forward"]) if "pool" in t]
        assert pools and all(t.startswith(op) for t in pools), (ours, pools)
