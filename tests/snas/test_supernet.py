import pytest
import torch
import torch.nn.functional as F
from dispatch_helpers import Recorded
from torch.utils.flop_counter import FlopCounterMode

from bench.reference_supernet import ReferenceSuperNet, load_into
from snas.methods import METHODS
from snas.ops import DilConv, FactorizedReduce, SepConv, from_sub_grids, to_sub_grids
from snas.relax import EdgeSample, argmax_sample
from snas.spaces.darts.childnet import ChildNetwork
from snas.spaces.darts.genotype import Genotype
from snas.spaces.darts.primitives import PRIMITIVES, cell_edges
from snas.spaces.darts.supernet import SourceOps, SuperNet, _weighted_sum, _WeightedSum
from snas.stacked import StackedConvChain, StackedFactorizedReduce


def make_pair(layers=3, channels=4, classes=5):
    torch.manual_seed(0)
    reference = ReferenceSuperNet(channels, classes, layers)
    ours = SuperNet(channels, classes, layers)
    load_into(reference, ours)
    return reference, ours


@pytest.mark.parametrize("method", ["snas", "darts"])
@pytest.mark.parametrize("channels_last", [False, True])  # our CPU channels_last paths, e.g. 1×1 as matmul
def test_supernet_computes_the_reference_design(method, channels_last):
    """In float64, so that the check is of the math: in float32 the BatchNorms of 4-channel
    cells over 6 images of 4×4 amplify summation-order rounding to ~4e-6 in α's gradient,
    and by how much depends on the CPU's vector kernels."""
    reference, ours = (net.double() for net in make_pair())
    x, y = torch.randn(6, 3, 16, 16, dtype=torch.float64), torch.randint(0, 5, (6,))
    if channels_last:
        ours, x = ours.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    alphas = [torch.randn(14, 8, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    gen = torch.Generator().manual_seed(0)
    normal, reduce = (METHODS[method].sample(a, 0.8, gen) for a in alphas)
    ref_logits = reference(x, normal.weights, reduce.weights)
    ref_grads = torch.autograd.grad(F.cross_entropy(ref_logits, y), alphas, retain_graph=True)
    our_logits = ours(x, [normal], [reduce])
    our_grads = torch.autograd.grad(F.cross_entropy(our_logits, y), alphas)
    assert torch.allclose(ref_logits, our_logits, atol=1e-12)
    for a, b in zip(ref_grads, our_grads):
        assert torch.allclose(a, b, atol=1e-13)
    # the check is not vacuous: one changed weight changes the output
    with torch.no_grad():
        ours.cells[0].sources[0].convs["sep_conv_3x3"].pointwise[0][0] += 1e-6
    assert not torch.allclose(ref_logits, ours(x, [normal], [reduce]), atol=1e-12)


def test_hard_sample_matches_the_one_hot_mixture_in_value():
    _, ours = make_pair()
    x = torch.randn(4, 3, 16, 16)
    hard = [METHODS["gdas"].sample(torch.randn(14, 8), 1.0, torch.Generator().manual_seed(s)) for s in (1, 2)]
    as_mixture = [EdgeSample(h.weights) for h in hard]
    ours.eval()  # running statistics: outputs no longer depend on which ops ran before
    assert torch.allclose(ours(x, [hard[0]], [hard[1]]), ours(x, [as_mixture[0]], [as_mixture[1]]), atol=1e-5)


def test_hard_sample_trains_alpha_through_the_chosen_ops_only():
    """GDAS's α gradient: each edge's chosen op passes back ``Σ g·o_k(x)``, the ops that
    did not run pass back nothing -- the mixture of all ops whose other weights are
    constant zeros, computed in float64."""
    _, ours = make_pair()
    ours.double()
    x, y = torch.randn(4, 3, 16, 16, dtype=torch.float64), torch.randint(0, 5, (4,))
    alphas = [torch.randn(14, 8, dtype=torch.float64, requires_grad=True) for _ in range(2)]
    hard = [METHODS["gdas"].sample(a, 1.0, torch.Generator().manual_seed(s)) for s, a in enumerate(alphas)]
    chosen_only = [EdgeSample(h.weights * h.weights.detach()) for h in hard]  # ST path kept for chosen ops
    hard_grads = torch.autograd.grad(F.cross_entropy(ours(x, hard[:1], hard[1:]), y), alphas, retain_graph=True)
    mixture_grads = torch.autograd.grad(F.cross_entropy(ours(x, chosen_only[:1], chosen_only[1:]), y), alphas)
    for a, b in zip(hard_grads, mixture_grads):
        assert a.abs().max() > 0
        torch.testing.assert_close(a, b, rtol=0, atol=1e-13)


def test_hard_sample_runs_only_the_chosen_ops():
    _, ours = make_pair()
    ours.eval()
    alpha_n, alpha_r = torch.randn(14, 8), torch.randn(14, 8)
    normal, reduce = argmax_sample(alpha_n), argmax_sample(alpha_r)

    def flops(fn):
        with FlopCounterMode(display=False) as counter:
            fn()
        return counter.get_total_flops()

    x = torch.randn(1, 3, 16, 16)
    hard = flops(lambda: ours(x, [normal], [reduce]))
    soft = flops(lambda: ours(x, [EdgeSample(normal.weights)], [EdgeSample(reduce.weights)]))
    edges = cell_edges()
    genotype = Genotype(
        normal=tuple((PRIMITIVES[k], src) for k, (src, _) in zip(normal.choice, edges)), normal_concat=(2, 3, 4, 5),
        reduce=tuple((PRIMITIVES[k], src) for k, (src, _) in zip(reduce.choice, edges)), reduce_concat=(2, 3, 4, 5))
    child = ChildNetwork(genotype, channels=4, layers=3, num_classes=5, image_size=16).eval()
    assert hard == flops(lambda: child(x))  # exactly the child network's work
    assert hard < soft / 3


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
@pytest.mark.parametrize("d", [2, 3])
def test_sub_grids_stack_grid_major_and_come_back_in_the_input_layout(layout, d):
    x = torch.arange(2 * 3 * 6 * 6, dtype=torch.float32).view(2, 3, 6, 6).contiguous(memory_format=layout)
    grids = to_sub_grids(x, d)
    assert grids.shape == (2, 3 * d * d, 6 // d, 6 // d)
    for i in range(d):
        for j in range(d):
            for c in range(3):
                assert torch.equal(grids[:, (i * d + j) * 3 + c], x[:, c, i::d, j::d])
    assert grids.is_contiguous(memory_format=layout)
    back = from_sub_grids(grids, d)
    assert torch.equal(back, x) and back.is_contiguous(memory_format=layout)


@pytest.mark.parametrize("name, module", [
    ("sep_conv_5x5", lambda c, s: SepConv(c, c, 5, s, 2, affine=False)),
    ("dil_conv_3x3", lambda c, s: DilConv(c, c, 3, s, 2, 2, affine=False)),
])
@pytest.mark.parametrize("stride", [1, 2])
def test_stacked_chain_equals_separate_ops(name, module, stride):
    c, edges = 4, 3
    torch.manual_seed(0)
    spec = {"sep_conv_5x5": (5, 2, 1, 2), "dil_conv_3x3": (3, 2, 2, 1)}[name]
    chain = StackedConvChain(c, edges, spec[0], stride, spec[1], spec[2], spec[3])
    singles = [module(c, stride) for _ in range(edges)]
    with torch.no_grad():
        for e, single in enumerate(singles):
            convs = [m for m in single if isinstance(m, torch.nn.Conv2d)]
            for r in range(len(chain.depthwise)):
                chain.depthwise[r][e * c:(e + 1) * c] = convs[2 * r].weight
                chain.pointwise[r][e * c:(e + 1) * c] = convs[2 * r + 1].weight
    x = torch.randn(5, c, 8, 8)
    together = chain(torch.cat([F.relu(x)] * edges, dim=1)).split(c, dim=1)
    for e, single in enumerate(singles):
        expected = single(x)
        assert torch.allclose(together[e], expected, atol=1e-5)
        assert torch.allclose(chain.forward_edge(F.relu(x), e), expected, atol=1e-5)


@pytest.mark.parametrize("channels_last", [False, True])
def test_stacked_factorized_reduce_equals_separate_ops(channels_last):
    c, edges = 4, 3
    torch.manual_seed(0)
    stacked = StackedFactorizedReduce(c, edges)
    singles = [FactorizedReduce(c, c, affine=False) for _ in range(edges)]
    with torch.no_grad():
        for e, single in enumerate(singles):
            stacked.conv_1[e * c // 2:(e + 1) * c // 2] = single.conv_1.weight
            stacked.conv_2[e * c // 2:(e + 1) * c // 2] = single.conv_2.weight
    x = torch.randn(5, c, 8, 8)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    together = stacked(F.relu(x)).split(c, dim=1)
    for e, single in enumerate(singles):
        expected = single(x)
        assert torch.allclose(together[e], expected, atol=1e-5)
        assert torch.allclose(stacked.forward_edge(F.relu(x), e), expected, atol=1e-5)


def test_drop_path_is_seeded_and_drops_whole_edges():
    _, ours = make_pair()
    x = torch.randn(8, 3, 16, 16)
    sample = [EdgeSample(torch.softmax(torch.randn(14, 8), -1))]
    out = [ours(x, sample, sample, 0.5, torch.Generator().manual_seed(7)) for _ in range(2)]
    assert torch.equal(out[0], out[1])
    other = ours(x, sample, sample, 0.5, torch.Generator().manual_seed(8))
    assert not torch.allclose(out[0], other)


@pytest.mark.parametrize("weights_need_grad", [True, False])
def test_the_weighted_sum_node_gives_autograds_values_and_gradients_bit_for_bit(weights_need_grad):
    """One node instead of a multiply and an addcmul chain; a row not in ``ops`` (``none``) gets zeros."""
    torch.manual_seed(0)
    weights = torch.rand(4, 6, requires_grad=weights_need_grad)
    terms = [torch.randn(2, 6, 5, 5).contiguous(memory_format=torch.channels_last).requires_grad_()
             for _ in range(3)]
    ops = [1, 2, 3]
    upstream = torch.randn(2, 6, 5, 5)
    inputs = ([weights] if weights_need_grad else []) + terms
    node = _WeightedSum.apply(weights, ops, *terms)
    chain = _weighted_sum(weights, ops, terms)
    assert torch.equal(node, chain)
    for ours, autograds in zip(torch.autograd.grad(node, inputs, upstream),
                               torch.autograd.grad(chain, inputs, upstream)):
        assert torch.equal(ours, autograds)
    if weights_need_grad:
        (grad,) = torch.autograd.grad(_WeightedSum.apply(weights, ops, *terms), weights, upstream)
        assert torch.equal(grad[0], torch.zeros(6))


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("chosen, relus", [
    (["max_pool_3x3", "avg_pool_3x3", "none"], 0),  # nothing that reads ReLU(x)
    (["dil_conv_3x3", "dil_conv_5x5", "max_pool_3x3"], 1),  # two convolutions share one ReLU
])
def test_a_hard_sample_runs_the_nodes_relu_once_and_only_for_ops_that_read_it(chosen, relus, stride):
    """The ReLU of a node's state is computed once for all its edges under a hard sample,
    and not at all when no chosen op reads it (pools, the identity skip and ``none`` read
    the state itself)."""
    ops = SourceOps(4, stride, [0, 1, 2]).train()
    x = torch.randn(2, 4, 8, 8)
    weights = torch.zeros(3, len(PRIMITIVES))
    choices = [PRIMITIVES.index(name) for name in chosen]
    with Recorded() as record:
        outs = ops(x, weights, choices, None)
    assert record.ops.count("relu") == relus
    assert (outs[2] is None) == (chosen[2] == "none")
