import math

import torch

from snas.methods import METHODS
from snas.relax import argmax_sample, gumbel_noise, gumbel_softmax, straight_through


def test_gumbel_softmax_equals_formula_for_fixed_noise():
    logits = torch.tensor([0.5, -1.0, 2.0])
    u = torch.tensor([0.3, 0.9, 0.05])
    tau = 0.7
    g = [-math.log(-math.log(v)) for v in u.tolist()]
    scores = [(a + b) / tau for a, b in zip(logits.tolist(), g)]
    expected = [math.exp(s) / sum(math.exp(t) for t in scores) for s in scores]
    noise = -torch.log(-torch.log(u))
    assert torch.allclose(gumbel_softmax(logits, tau, noise), torch.tensor(expected), atol=1e-6)


def test_gumbel_noise_is_the_double_log_of_the_generators_uniforms():
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    u = torch.rand(4, 8, generator=g2)
    assert torch.allclose(gumbel_noise((4, 8), g1), -torch.log(-torch.log(u)))


def test_hard_sample_is_one_hot_with_the_soft_gradient():
    alpha = torch.tensor([[0.1, 0.4, -0.2, 0.0], [1.0, 0.0, 0.0, -1.0]], requires_grad=True)
    noise = torch.tensor([[0.2, -0.1, 0.5, 0.0], [0.0, 0.3, -0.2, 0.1]])
    upstream = torch.tensor([[1.0, -2.0, 0.5, 3.0], [0.0, 1.0, 2.0, -1.0]])

    soft = gumbel_softmax(alpha, 0.5, noise)
    hard, choice = straight_through(soft)
    assert choice == tuple(soft.argmax(-1).tolist())
    assert torch.equal(hard.detach(), torch.nn.functional.one_hot(torch.tensor(choice), 4).float())
    (grad_hard,) = torch.autograd.grad((hard * upstream).sum(), alpha)
    (grad_soft,) = torch.autograd.grad((gumbel_softmax(alpha, 0.5, noise) * upstream).sum(), alpha)
    assert torch.allclose(grad_hard, grad_soft)


def test_hard_sample_is_exactly_one_hot_in_value():
    """The θ pass of GDAS uses chosen ops unscaled, which needs weights of exactly 1.0."""
    soft = torch.softmax(torch.randn(4096, 8, generator=torch.Generator().manual_seed(0)), -1)
    hard, choice = straight_through(soft.requires_grad_())
    assert torch.equal(hard.detach(), torch.nn.functional.one_hot(torch.tensor(choice), 8).float())


def test_methods_sample_what_they_promise():
    alpha = torch.randn(14, 8)
    gen = torch.Generator().manual_seed(0)
    snas = METHODS["snas"].sample(alpha, 1.0, gen)
    assert snas.choice is None and torch.allclose(snas.weights.sum(-1), torch.ones(14))
    assert not torch.allclose(snas.weights, torch.softmax(alpha, -1))
    gdas = METHODS["gdas"].sample(alpha, 1.0, gen)
    assert gdas.choice is not None and torch.equal(gdas.weights.sum(-1), torch.ones(14))
    darts = METHODS["darts"].sample(alpha, 1.0, gen)
    assert darts.choice is None and torch.allclose(darts.weights, torch.softmax(alpha, -1))
    mode = argmax_sample(alpha)
    assert mode.choice == tuple(alpha.argmax(-1).tolist())


def test_samples_come_only_from_the_given_generator():
    alpha = torch.randn(14, 8)
    a = METHODS["snas"].sample(alpha, 0.5, torch.Generator().manual_seed(1)).weights
    torch.manual_seed(123)  # the global RNG must not matter
    b = METHODS["snas"].sample(alpha, 0.5, torch.Generator().manual_seed(1)).weights
    assert torch.equal(a, b)
