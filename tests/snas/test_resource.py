import math

import pytest
import torch

from snas.relax import gumbel_noise, gumbel_softmax
from snas.resource import CellGeometry, ResourcePenalty, concrete_log_prob, default_lambda
from snas.spaces.darts.costs import cell_cost_table, darts_penalty
from snas.spaces.darts.primitives import PRIMITIVES, edge_index

# One edge, three ops; resources are (params, MACs, memory accesses).
NORMAL = torch.tensor([[0.0, 10.0, 100.0], [0.0, 1000.0, 8000.0], [0.0, 200.0, 400.0]])[None, :, None, :]
REDUCE = 2 * NORMAL
Z_N = torch.tensor([[[0.2, 0.3, 0.5]]])
Z_R = torch.tensor([[[0.6, 0.3, 0.1]]])


def penalty(method="reparametrization", separation="params", log=False, ratio=0.5, baseline=False,
            policy_gradient="score_function"):
    """One cell of each type, combined by their mean: the values of that cell itself."""
    return ResourcePenalty(method, separation, log, ratio, baseline, (NORMAL, REDUCE), (False, True), (6, 2),
                           normalisation="mean", policy_gradient=policy_gradient)


def alphas():
    return torch.tensor([[0.1, -0.3, 0.4]]), torch.tensor([[0.0, 0.5, -0.5]])


def test_concrete_log_density_equals_torch_distributions():
    logits = torch.tensor([0.3, -1.0, 2.0, 0.0, 0.7])
    tau = 0.6
    z = torch.distributions.RelaxedOneHotCategorical(torch.tensor(tau), logits=logits).sample((6,))
    z = z.clamp_min(1e-3)
    z = z / z.sum(-1, keepdim=True)
    expected = torch.distributions.RelaxedOneHotCategorical(torch.tensor(tau), logits=logits).log_prob(z)
    assert torch.allclose(concrete_log_prob(logits, z, tau), expected, atol=1e-4)


def test_concrete_log_density_by_hand_for_two_categories():
    # n = 2: log 1! + log τ + a1 + a2 − (τ+1)(log z1 + log z2) − 2 log(e^a1 z1^−τ + e^a2 z2^−τ)
    a, z, tau = (0.5, -0.5), (0.25, 0.75), 2.0
    by_hand = (math.log(tau) + sum(a) - (tau + 1) * (math.log(z[0]) + math.log(z[1]))
               - 2 * math.log(math.exp(a[0]) * z[0] ** -tau + math.exp(a[1]) * z[1] ** -tau))
    assert concrete_log_prob(torch.tensor(a), torch.tensor(z), tau).item() == pytest.approx(by_hand, rel=1e-5)


def test_reparametrization_params_by_hand():
    an, ar = alphas()
    term = penalty()((an, ar), (Z_N, Z_R), 1.0)
    normal = 0.3 * 10 + 0.5 * 100
    reduce = 0.3 * 20 + 0.1 * 200
    assert term.cost.item() == pytest.approx(normal + 0.5 * reduce)
    assert term.loss.item() == pytest.approx(normal + 0.5 * reduce)


def test_all_resources_combined_as_the_official_code():
    an, ar = alphas()
    term = penalty(separation="all", ratio=1.0)((an, ar), (Z_N, Z_R), 1.0)
    normal = 0.43 * (2 * 53 + 4300 / 4000 + 260 / 100)
    reduce = 0.43 * (2 * 26 + 2200 / 4000 + 200 / 100)
    assert term.cost.item() == pytest.approx(normal + reduce, rel=1e-5)


def test_log_penalty_averages_logs_and_clamps_below_one():
    an, ar = alphas()
    term = penalty(separation="all", log=True, ratio=1.0)((an, ar), (Z_N, Z_R), 1.0)
    normal = (math.log(53) + math.log(4300) + math.log(260)) / 3
    reduce = (math.log(26) + math.log(2200) + math.log(200)) / 3
    assert term.cost.item() == pytest.approx(normal + reduce, rel=1e-5)
    only_none = torch.tensor([[[1.0, 0.0, 0.0]]])
    assert penalty(log=True)((an, ar), (only_none, only_none), 1.0).cost.item() == pytest.approx(0.0)


def test_discrete_uses_softmax_of_alpha():
    an, ar = alphas()
    term = penalty(method="discrete", ratio=1.0)((an, ar), (Z_N, Z_R), 1.0)
    pn, pr = torch.softmax(an, -1)[0], torch.softmax(ar, -1)[0]
    expected = pn[1] * 10 + pn[2] * 100 + pr[1] * 20 + pr[2] * 200
    assert term.cost.item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize("baseline", [False, True])
def test_policy_gradient_is_log_density_times_detached_cost(baseline):
    an, ar = alphas()
    an.requires_grad_(True)
    tau = 0.5
    term = penalty(method="policy_gradient", ratio=1.0, baseline=baseline)((an, ar), (Z_N, Z_R), tau)
    cost_n, cost_r = 53.0, 26.0
    base_n, base_r = (110 / 3, 220 / 3) if baseline else (0.0, 0.0)
    dist = lambda a: torch.distributions.RelaxedOneHotCategorical(torch.tensor(tau), logits=a[0])
    expected = dist(an).log_prob(Z_N[0, 0]) * (cost_n - base_n) + dist(ar).log_prob(Z_R[0, 0]) * (cost_r - base_r)
    assert term.loss.item() == pytest.approx(expected.item(), rel=1e-4)
    assert term.cost.item() == pytest.approx(cost_n + cost_r)
    (grad,) = torch.autograd.grad(term.loss, an)
    (expected_grad,) = torch.autograd.grad(expected, an)
    assert torch.allclose(grad, expected_grad, rtol=1e-4)


def sampled_alphas(tau, draws=1):
    """Leaf alphas and ``draws`` Concrete samples of each, still functions of α (fixed noise)."""
    an, ar = (a.requires_grad_(True) for a in alphas())
    generator = torch.Generator().manual_seed(3)
    zn, zr = (gumbel_softmax(a, tau, gumbel_noise((draws, 1, 3), generator)) for a in (an, ar))
    return an, ar, zn, zr


@pytest.mark.parametrize("baseline", [False, True])
def test_official_policy_gradient_is_the_score_function_plus_a_pathwise_term(baseline):
    """Both take the Concrete density at the sample ``z = softmax((α + g)/τ)``; ours
    detaches it, so per op ``∂_α log p = 1 − n·softmax(α − τ log z)``, while the official
    code's total derivative through ``z(α)`` is ``(n·z − 1)/τ``.  The difference is the
    gradient that flows through ``z`` inside ``log p``."""
    tau, n = 0.5, 3
    an, ar, zn, zr = sampled_alphas(tau)
    terms = {estimator: penalty(method="policy_gradient", ratio=0.5, baseline=baseline,
                                policy_gradient=estimator)((an, ar), (zn, zr), tau)
             for estimator in ("score_function", "official")}
    ours, official = (torch.autograd.grad(terms[e].loss, (an, ar), retain_graph=True) for e in terms)
    assert terms["official"].loss.item() == terms["score_function"].loss.item()
    assert terms["official"].cost.item() == terms["score_function"].cost.item()

    weight = (1.0, 0.5)  # ratio weights the reduction cell
    rewards = [(costs[0, 0, 0] * z.detach()[0, 0]).sum() - (costs[0, 0].mean() if baseline else 0.0)
               for costs, z in ((NORMAL, zn), (REDUCE, zr))]
    for a, z, w, r, g_ours, g_official in zip((an, ar), (zn, zr), weight, rewards, ours, official, strict=True):
        z = z.detach()[0]
        score = 1 - n * torch.softmax(a.detach() - tau * torch.log(z), -1)
        assert torch.allclose(g_ours, w * r * score, rtol=1e-5, atol=1e-5)
        assert torch.allclose(g_official, w * r * (n * z - 1) / tau, rtol=1e-5, atol=1e-5)

    pathwise_surrogate = sum(w * r * concrete_log_prob(a.detach(), z, tau).sum()
                             for a, z, w, r in zip((an, ar), (zn, zr), weight, rewards, strict=True))
    pathwise = torch.autograd.grad(pathwise_surrogate, (an, ar))
    for g_ours, g_official, g_path in zip(ours, official, pathwise, strict=True):
        assert torch.allclose(g_official, g_ours + g_path, rtol=1e-5, atol=1e-5)
        assert g_path.abs().max() > 0.5 * g_ours.abs().max()  # not a rounding-size difference


def test_only_the_score_function_is_unbiased():
    """Averaged over 10⁵ samples (one per "cell", combined by their mean), the score
    function agrees with the pathwise gradient of ``E_z[cost]`` with or without the
    baseline; the official estimator does not, and its baseline moves its mean, because
    ``E[(n·z − 1)/τ] ≠ 0`` where ``E[∂_α log p] = 0``."""
    tau, draws = 1.0, 100_000

    def mean_gradient(method, estimator="score_function", baseline=False):
        an, ar, zn, zr = sampled_alphas(tau, draws)
        cells = tuple(c.expand(draws, -1, -1, -1) for c in (NORMAL, REDUCE))
        pen = ResourcePenalty(method, "params", False, 1.0, baseline, cells, (False, True), (6, 2),
                              normalisation="mean", policy_gradient=estimator)
        return torch.cat([g.flatten() for g in torch.autograd.grad(pen((an, ar), (zn, zr), tau).loss, (an, ar))])

    truth = mean_gradient("reparametrization")
    scale = truth.abs().max()
    for baseline in (False, True):
        assert (mean_gradient("policy_gradient", baseline=baseline) - truth).abs().max() < 0.03 * scale
    official, official_baseline = (mean_gradient("policy_gradient", "official", b) for b in (False, True))
    assert (official - truth).abs().max() > 0.3 * scale
    assert (official - official_baseline).abs().max() > 0.3 * scale
    assert (official * truth < 0).any()  # it even moves some α the wrong way


def test_unknown_policy_gradient_estimator_is_refused():
    with pytest.raises(ValueError, match="unknown policy-gradient estimator 'pathwise'; choose from "
                                         "score_function, official"):
        darts_penalty([CellGeometry(8, 8, 8, False), CellGeometry(16, 8, 8, True)],
                                        method="policy_gradient", separation="all", log_penalty=True, ratio=1.0,
                                        baseline=False, device=torch.device("cpu"), policy_gradient="pathwise")


def test_none_method_reports_cost_but_adds_nothing():
    an, ar = alphas()
    term = penalty(method="none")((an, ar), (Z_N, Z_R), 1.0)
    assert term.loss.item() == 0.0 and term.cost.item() > 0


def test_default_lambdas_are_the_official_ones():
    assert default_lambda("reparametrization", True) == 1e-2
    assert default_lambda("reparametrization", False) == 1e-5
    assert default_lambda("policy_gradient", True) == 1e-4
    assert default_lambda("policy_gradient", False) == 1e-5
    assert default_lambda("discrete", True) == 1e-2
    assert default_lambda("discrete", False) == 1e-4


def test_measured_costs_follow_the_real_input_shape_of_each_edge():
    c, h = 8, 16
    normal = cell_cost_table(CellGeometry(c, h, h, reduction=False), "measured")
    reduce = cell_cost_table(CellGeometry(c, h, h, reduction=True), "measured")
    sep3 = PRIMITIVES.index("sep_conv_3x3")
    size = 2 * (c * 9 + c * c)  # two depthwise 3×3 + two pointwise 1×1
    e_in, e_mid = edge_index(0, 2), edge_index(2, 3)
    # params, MACs (size × output pixels), memory (official: H²·(7C + C) + size at stride 1)
    assert normal[:, e_in, sep3].tolist() == [size, size * h * h, h * h * 8 * c + size]
    # stride 2 from a cell input: output 8×8, memory (official) y²·(10C + C) + size with y = 8
    assert reduce[:, e_in, sep3].tolist() == [size, size * 64, 64 * 11 * c + size]
    # intermediate nodes of a reduction cell are already 8×8 and stride 1
    assert reduce[:, e_mid, sep3].tolist() == [size, size * 64, 64 * 8 * c + size]
    pool = PRIMITIVES.index("max_pool_3x3")
    assert normal[:, e_in, pool].tolist() == [0, 0, 2 * c * h * h]
    assert reduce[:, e_in, pool].tolist() == [0, 0, 5 * c * 64]
    skip = PRIMITIVES.index("skip_connect")
    assert normal[:, e_in, skip].tolist() == [0, 0, 0]
    assert reduce[:, e_in, skip].tolist()[:2] == [c * c, c * c * 64]
    assert normal[:, :, PRIMITIVES.index("none")].abs().sum() == 0


@pytest.mark.parametrize(("method", "baseline", "at_most"), [
    ("reparametrization", False, 0.1),
    ("policy_gradient", True, 0.5),
    ("policy_gradient", False, 0.9),  # the plain score function is noisy: slow but downhill
])
def test_descending_the_penalty_alone_lowers_the_expected_cost(method, baseline, at_most):
    """Each estimator's gradient, followed on α alone, lowers E_{softmax(α)}[cost]."""
    torch.manual_seed(0)
    cells = [CellGeometry(8, 8, 8, False), CellGeometry(16, 8, 8, True), CellGeometry(16, 4, 4, False)]
    pen = darts_penalty(cells, method=method, separation="all", log_penalty=True, ratio=1.0,
                                    baseline=baseline, device=torch.device("cpu"))
    expectation = ResourcePenalty("discrete", "all", True, 1.0, False, pen.costs, pen.ratio_weighted,
                                  pen.official_counts)
    normal, reduce = (torch.full((14, 8), 1e-3, requires_grad=True) for _ in range(2))
    optimizer = torch.optim.Adam([normal, reduce], lr=0.05, betas=(0.5, 0.999))

    def expected_cost():
        with torch.no_grad():
            return expectation((normal, reduce), (None, None), 1.0).cost.item()

    start = expected_cost()
    for _ in range(600):
        pathwise = method == "reparametrization"
        z_normal, z_reduce = (torch.nn.functional.gumbel_softmax((a if pathwise else a.detach())[None], tau=1.0)
                              for a in (normal, reduce))
        optimizer.zero_grad()
        pen((normal, reduce), (z_normal, z_reduce), 1.0).loss.backward()
        optimizer.step()
    assert expected_cost() < at_most * start
