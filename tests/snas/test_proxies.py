"""The zero-cost proxies against values worked out by hand on tiny networks, their determinism,
and the registry's refusals."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from snas.catalogue import CATALOGUE
from snas.data.config import DataConfig
from snas.errors import UserInputError
from snas.proxies import PROXIES, Proxy, ProxySetup, check_defined, score_genotype
from snas.proxies.batch import ProxyBatch, proxy_batch
from snas.proxies.grad_norm import GradNorm
from snas.proxies.naswot import Naswot, hamming_kernel
from snas.proxies.snip import Snip
from snas.proxies.synflow import Synflow
from snas.registry import UnknownName
from snas.spaces import space_of
from snas.spaces.base import EvalNetwork


class Net(nn.Module):
    """A hand-made network returning ``(logits, None)`` like the genotypes' networks."""

    def __init__(self, *layers: nn.Module):
        super().__init__()
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.body(x), None


def linear(weight: list[list[float]], bias: list[float] | None = None) -> nn.Linear:
    layer = nn.Linear(len(weight[0]), len(weight), bias=bias is not None)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight))
        if bias is not None:
            layer.bias.copy_(torch.tensor(bias))
    return layer


def test_synflow_of_a_linear_chain_is_its_depth_times_the_path_sum_of_absolute_weights():
    # R = 1ᵀ|W2||W1|1 = |W2|·(3, 3.5, 2) = 2·3 + 1·3.5 + 0.5·2 = 10.5.  R is linear in each
    # layer's weights, so Σ |w ∂R/∂w| over one layer is R itself (Euler): synflow = 2·R = 21.
    # The BatchNorm between them is taken out, the negative weights count by their size.
    net = Net(linear([[1, -2], [3, 0.5], [-1, 1]]), nn.BatchNorm1d(3), linear([[2, -1, 0.5]]))
    images = torch.randn(4, 2, generator=torch.Generator().manual_seed(0))  # only their shape is used
    assert Synflow().score_network(net, images, torch.zeros(4, dtype=torch.long)) == pytest.approx(21.0, abs=1e-12)


def test_grad_norm_and_snip_of_one_linear_layer_by_hand():
    # W = [[1, 2], [0, -1]], x = (1, 1), label 0: logits (3, -1), ∂L/∂z = p - e0 = (-q, q) with
    # q = softmax(z)_1 = 1/(1 + e⁴); ∂L/∂W = (p - e0) xᵀ = [[-q, -q], [q, q]].
    # grad_norm = ‖∂L/∂W‖_F = 2q; snip = Σ|W ⊙ ∂L/∂W| = (1 + 2 + 0 + 1)·q = 4q.  The bias
    # has a gradient too, (-q, q), and is not scored.  (float32: to 1e-5.)
    q = 1 / (1 + math.exp(4))
    x, y = torch.tensor([[1.0, 1.0]]), torch.tensor([0])
    assert GradNorm().score_network(Net(linear([[1, 2], [0, -1]], [0, 0])), x, y) == pytest.approx(2 * q, rel=1e-5)
    assert Snip().score_network(Net(linear([[1, 2], [0, -1]], [0, 0])), x, y) == pytest.approx(4 * q, rel=1e-5)


def test_the_naswot_kernel_counts_the_units_two_codes_agree_on():
    codes = torch.tensor([[1, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=torch.bool)
    assert hamming_kernel(codes).tolist() == [[3, 1, 2], [1, 3, 0], [2, 0, 3]]


class _DeadBranch(nn.Module):
    """Linear → ReLU → Linear, and a second ReLU whose output the logits never use."""

    def __init__(self):
        super().__init__()
        self.first, self.relu, self.last = linear([[1, 0], [0, 1], [1, -1]]), nn.ReLU(), linear([[1, 1, 1]])
        self.dead = nn.ReLU()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
        self.dead(-x)
        return self.last(self.relu(self.first(x))), None


def test_naswot_of_a_hand_made_batch_is_the_log_determinant_of_its_codes_kernel():
    # Pre-activations of (1, 1), (1, -1), (-1, 2): (1, 1, 0), (1, -1, 2), (-1, 2, -3), so the
    # codes are 110, 101, 010 and K = [[3, 1, 2], [1, 3, 0], [2, 0, 3]], det K = 27 - 3 - 12 = 12.
    # The ReLU that does not reach the output is left out, as the authors' backward-visit rule does.
    images = torch.tensor([[1.0, 1.0], [1.0, -1.0], [-1.0, 2.0]])
    assert Naswot().score_network(_DeadBranch(), images, torch.zeros(3)) == pytest.approx(math.log(12))


def test_naswot_of_a_batch_the_network_cannot_tell_apart_is_minus_infinity():
    images = torch.tensor([[1.0, 1.0], [1.0, 1.0], [-1.0, 2.0]])
    assert Naswot().score_network(_DeadBranch(), images, torch.zeros(3)) == -math.inf


@pytest.fixture(scope="module")
def digits_batch() -> ProxyBatch:
    return proxy_batch(DataConfig(dataset="digits"), seed=0, size=16)


def _setup(genotype, batch, seed: int = 0) -> ProxySetup:
    layers = 3 if genotype.space == "darts" else 1
    return ProxySetup(EvalNetwork("cifar", layers, 4, 8, 10, 1), batch.images, batch.labels, seed=seed)


@pytest.mark.parametrize("name", ["DARTS_V2", "NB201_GDAS"])
def test_every_proxy_gives_the_same_score_twice_and_the_weights_seed_matters(name, digits_batch):
    genotype = CATALOGUE[name].genotype
    for proxy in PROXIES:
        first = score_genotype(proxy, genotype, _setup(genotype, digits_batch))
        assert math.isfinite(first) and score_genotype(proxy, genotype, _setup(genotype, digits_batch)) == first
    for proxy in ("grad_norm", "snip", "synflow", "naswot"):
        assert (score_genotype(proxy, genotype, _setup(genotype, digits_batch, seed=1))
                != score_genotype(proxy, genotype, _setup(genotype, digits_batch)))


def test_the_batch_is_a_seeded_draw_of_normalised_training_images():
    first, again = (proxy_batch(DataConfig(dataset="digits"), seed=3, size=8) for _ in range(2))
    other = proxy_batch(DataConfig(dataset="digits"), seed=4, size=8)
    assert first.images.shape == (8, 1, 8, 8) and first.num_classes == 10
    assert torch.equal(first.images, again.images) and torch.equal(first.labels, again.labels)
    assert not torch.equal(first.images, other.images)


def test_params_and_macs_are_the_profile_of_the_network_at_the_proxies_scale(digits_batch):
    genotype = CATALOGUE["DARTS_V1"].genotype
    setup = _setup(genotype, digits_batch)
    profile = space_of(genotype).profile(genotype, family="cifar", channels=4, layers=3, num_classes=10,
                                         in_channels=1, image_size=8)
    assert score_genotype("params", genotype, setup) == profile.params
    assert score_genotype("macs", genotype, setup) == profile.macs


def test_an_unknown_proxy_names_the_choices(digits_batch):
    genotype = CATALOGUE["DARTS_V2"].genotype
    with pytest.raises(UnknownName, match="unknown proxy 'zico'; choose from grad_norm, snip, synflow, naswot, "
                                          "params, macs"):
        score_genotype("zico", genotype, _setup(genotype, digits_batch))


def test_a_proxy_is_refused_for_a_space_it_is_not_defined_for():
    class DartsOnly(Proxy):
        name, spaces = "darts_only", frozenset({"darts"})

    check_defined(DartsOnly(), CATALOGUE["DARTS_V2"].genotype)
    with pytest.raises(UserInputError, match="proxy 'darts_only' is not defined for NAS-Bench-201 genotypes "
                                             r"\(only for DARTS\)"):
        check_defined(DartsOnly(), CATALOGUE["NB201_GDAS"].genotype)
