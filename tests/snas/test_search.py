import dataclasses
import math

import pytest
import torch
from search_helpers import tiny_search_settings

from snas.config import SearchConfig
from snas.methods.steps import step_arch, step_weights
from snas.metrics import SEARCH_METRICS
from snas.search import Search
from snas.spaces.darts.genotype import Genotype
from snas.spaces.darts.primitives import PRIMITIVES
from snas.training import RunningMean


def run(settings, epochs):
    search = Search(SearchConfig.model_validate(settings))
    return search, [search.run_epoch() for _ in range(epochs)]


def comparable(metrics):
    return [{k: v for k, v in m.items() if k not in ("epoch_time_s", "images_per_s")} for m in metrics]


def test_metrics_follow_the_contract():
    _, (metrics,) = run(tiny_search_settings(epochs=1), 1)
    assert set(metrics) == set(SEARCH_METRICS)
    assert metrics["epoch"] == 1
    assert 0 <= metrics["search_val_acc"] <= 100 and 0 <= metrics["child_val_acc"] <= 100
    assert 0 < metrics["arch_entropy"] <= math.log(8) + 1e-6
    assert metrics["eval_params_m"] > metrics["child_params_m"] > 0
    assert metrics["genotype"].startswith("Genotype(normal=[")
    assert metrics["arch_entropy_normalized"] == pytest.approx(metrics["arch_entropy"] / math.log(8))
    assert metrics["supernet_child_gap"] == metrics["search_val_acc"] - metrics["child_val_acc"]
    normal = [op for op, _ in Genotype.parse(metrics["genotype"]).normal]
    assert metrics["normal_skip_connect"] == normal.count("skip_connect")
    assert metrics["normal_param_free"] == sum(op in ("skip_connect", "max_pool_3x3", "avg_pool_3x3") for op in normal)


def test_collapse_metrics_count_the_derived_normal_cell_only():
    search = Search(SearchConfig.model_validate(tiny_search_settings(epochs=1)))
    with torch.no_grad():
        search.alphas["normal"].zero_()
        search.alphas["normal"][:, PRIMITIVES.index("skip_connect")] = 5.0  # a normal cell of skips
        search.alphas["reduce"].zero_()
        search.alphas["reduce"][:, PRIMITIVES.index("sep_conv_3x3")] = 5.0
    metrics = search._architecture_metrics(search.genotype)
    assert (metrics["normal_skip_connect"], metrics["normal_param_free"]) == (8, 8)  # 2 edges × 4 nodes
    with torch.no_grad():
        search.alphas["normal"][:, PRIMITIVES.index("avg_pool_3x3")] = 5.0  # ties go to the lower op: avg pool
    metrics = search._architecture_metrics(search.genotype)
    assert (metrics["normal_skip_connect"], metrics["normal_param_free"]) == (0, 8)


def test_search_val_acc_avg3_averages_the_last_three_epochs():
    _, metrics = run(tiny_search_settings(epochs=4), 4)
    acc = [m["search_val_acc"] for m in metrics]
    expected = [acc[0], (acc[0] + acc[1]) / 2, sum(acc[:3]) / 3, sum(acc[1:4]) / 3]
    assert [m["search_val_acc_avg3"] for m in metrics] == pytest.approx(expected, abs=1e-12)
    assert len(set(acc)) > 1  # the epochs differ, so the windows are really checked


@pytest.mark.parametrize("method", ["snas", "gdas", "darts"])
def test_same_seed_same_search(method):
    settings = tiny_search_settings(method=method, epochs=2, drop_path=0.2 if method == "snas" else 0.0,
                                    resource={"method": "reparametrization" if method != "darts" else "discrete"})
    first, a = run(settings, 2)
    torch.manual_seed(999)  # global RNG state must not leak into the run
    second, b = run(settings, 2)
    assert comparable(a) == comparable(b)
    assert torch.equal(first.alphas.normal, second.alphas.normal)
    different, c = run({**settings, "seed": 1}, 2)
    assert not torch.equal(first.alphas.normal, different.alphas.normal)


@pytest.mark.parametrize("extra", [
    {"method": "snas", "drop_path": 0.3, "nsample": 2, "resample_per_cell": True,
     "temperature": {"schedule": "exponential", "per": "step"}, "resource": {"method": "policy_gradient"}},
    {"method": "gdas", "arch": {"name": "adam", "lr": 0.01}},
    {"method": "darts", "second_order": True},
])
def test_resume_equals_uninterrupted(tmp_path, extra):
    settings = tiny_search_settings(epochs=4, **extra)
    straight, straight_metrics = run(settings, 4)

    first, first_metrics = run(settings, 2)
    first.save(tmp_path / "checkpoint.pt")
    del first
    resumed = Search.restore(tmp_path / "checkpoint.pt")
    assert resumed.epoch == 2
    rest = [resumed.run_epoch() for _ in range(2)]

    assert comparable(first_metrics + rest) == comparable(straight_metrics)
    assert resumed.history == first_metrics + rest
    assert torch.equal(resumed.alphas.normal, straight.alphas.normal)
    assert torch.equal(resumed.alphas.reduce, straight.alphas.reduce)
    for a, b in zip(resumed.model.parameters(), straight.model.parameters()):
        assert torch.equal(a, b)


def test_a_checkpoint_of_two_workers_resumed_on_one_says_so_not_damaged(tmp_path):
    from snas.checkpoint import load_checkpoint, save_checkpoint
    from snas.errors import UserInputError

    search, _ = run(tiny_search_settings(epochs=2), 1)
    search.save(tmp_path / "checkpoint.pt")
    record = load_checkpoint(tmp_path / "checkpoint.pt")
    streams = record["state"]["generators"]
    record["state"]["generators"] = {"shared": streams, "ranks": [streams, streams]}  # as two ranks write it
    kind = record.pop("kind")
    save_checkpoint(tmp_path / "checkpoint.pt", kind, {k: v for k, v in record.items() if k not in ("format",
                                                                                                   "version")})
    with pytest.raises(UserInputError) as refused:
        Search.restore(tmp_path / "checkpoint.pt")
    assert str(refused.value) == (f"{tmp_path / 'checkpoint.pt'}: it was written by 2 workers, not 1; resume it "
                                  f"with 2 workers")


def test_finished_search_refuses_more_epochs():
    search, _ = run(tiny_search_settings(epochs=1), 1)
    assert search.finished
    with pytest.raises(RuntimeError, match="finished"):
        search.run_epoch()


def test_diverging_loss_ends_the_search_cleanly():
    settings = tiny_search_settings(epochs=20, weights={"lr": 1e12, "grad_clip": 1e12})
    search = Search(SearchConfig.model_validate(settings))
    while not search.finished:
        metrics = search.run_epoch()
    assert metrics["diverged"] is True
    assert search.epoch < 20
    assert [m["diverged"] for m in search.history] == [False] * (search.epoch - 1) + [True]
    # the step that produced the NaN loss was not applied
    assert all(torch.isfinite(p).all() for p in search.model.parameters())


def searched_cost(estimator, lam):
    """E[cost] before and after one 90-step epoch of a tiny search with penalty weight ``lam``."""
    settings = tiny_search_settings(
        epochs=1, arch={"name": "adam", "lr": 0.05, "weight_decay": 0.0},
        resource={"method": estimator, "lambda": lam, "log_penalty": True},
        data={"split": {"train_size": 2880, "val_size": 64},
              "synthetic": {"classes": 4, "image_size": 8, "train_images": 2944, "test_images": 64}})
    search = Search(SearchConfig.model_validate(settings))
    start = expected_cost(search)
    search.run_epoch()
    return start, expected_cost(search)


@pytest.fixture(scope="module")
def unpenalised_cost():
    """With λ = 0 every estimator takes the same path (the penalty adds nothing)."""
    return searched_cost("reparametrization", 0.0)


@pytest.mark.slow
@pytest.mark.parametrize("estimator", ["reparametrization", "discrete"])
def test_large_lambda_lowers_the_expected_cost(estimator, unpenalised_cost):
    """90 α steps with a large λ end much cheaper; with λ = 0 the cost barely moves.  (The
    score-function estimator needs far more steps than a test can afford here;
    test_resource checks that it descends, on α alone.)"""
    start, with_penalty = searched_cost(estimator, 1.0)
    _, without = unpenalised_cost
    assert with_penalty < 0.7 * start
    assert with_penalty < 0.7 * without
    assert without > 0.85 * start


def test_official_policy_gradient_changes_the_alpha_gradient_only():
    """The search hands the penalty samples that are still functions of α, so the
    ``official`` estimator's pathwise part reaches α; the objective, its cross-entropy and
    cost, and θ's gradient are the score function's (test_resource pins the difference)."""
    outcome = {}
    for estimator in ("score_function", "official"):
        settings = tiny_search_settings(resource={"method": "policy_gradient", "lambda": 1e-4,
                                                  "policy_gradient": estimator})
        search = Search(SearchConfig.model_validate(settings))
        x, y = next(search.data.train.train_epoch(search.generators["data"]))
        objective, ce, _, cost = search.loss(x, y, 1.0)
        alphas, weights = list(search.alphas.parameters()), list(search.model.parameters())
        weight_grads = torch.autograd.grad(objective, weights, retain_graph=True, allow_unused=True)
        penalty_grads = torch.autograd.grad(objective - ce, alphas)  # λ · the penalty's α gradient
        outcome[estimator] = [objective, ce, cost], penalty_grads, weight_grads
    (values, alpha_grads, weight_grads), (official_values, official_alpha, official_weight) = outcome.values()
    assert [v.item() for v in values] == [v.item() for v in official_values]
    assert all(torch.equal(a, b) for a, b in zip(weight_grads, official_weight) if a is not None)
    differences = [(a - b).abs().max() / a.abs().max() for a, b in zip(alpha_grads, official_alpha)]
    assert min(differences) > 0.3


def expected_cost(search):
    """The discrete expectation Σ softmax(α)·R of the normalised penalty."""
    penalty = search.penalty
    with torch.no_grad():
        term = dataclasses.replace(penalty, method="discrete", baseline=False)
        return term(search.alphas.ordered(), (None,) * len(penalty.costs), 1.0).cost.item()


def arch_step(search, batch):
    """The α half of the method's bilevel step, on ``batch`` as training and validation batch."""
    return step_arch(search.learner, batch, batch, 1.0, search.method.arch_gradient(search.learner))


def clipped(grads, max_norm):
    """Gradients as ``clip_grad_norm_`` leaves them (``max_norm`` None: unclipped); ``None`` for
    parameters a hard sample skipped."""
    if max_norm is None:
        return list(grads)
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads if g is not None]))
    return [None if g is None else g * min(1.0, max_norm / (float(norm) + 1e-6)) for g in grads]


@pytest.mark.parametrize("method", ["gdas", "darts"])
def test_each_bilevel_pass_gets_the_full_gradient_of_its_own_level_only(method):
    """θ and α passes freeze the other level; what they learn must not change."""
    search = Search(SearchConfig.model_validate(tiny_search_settings(method=method)))
    x, y = next(search.data.train.train_epoch(search.generators["data"]))
    weights, alphas = list(search.model.parameters()), list(search.alphas.parameters())
    for level, other, step, max_norm in [
        (weights, alphas, lambda: step_weights(search.learner, (x, y), 1.0, {n: RunningMean() for n in
                                                                              ("loss", "acc", "cost")}),
         search.config.weights.grad_clip),
        (alphas, weights, lambda: arch_step(search, (x, y)), search.config.arch.grad_clip),
    ]:
        arch_rng, model_rng = search.generators["arch"].get_state(), torch.get_rng_state()
        expected = clipped(torch.autograd.grad(search.loss(x, y, 1.0)[0], level, allow_unused=True), max_norm)
        search.generators["arch"].set_state(arch_rng)
        torch.set_rng_state(model_rng)
        for p in weights + alphas:
            p.grad = None
        assert step()
        assert all(p.grad is None for p in other)
        assert [p.grad is None for p in level] == [g is None for g in expected]
        for p, g in zip(level, expected):
            if g is not None:
                torch.testing.assert_close(p.grad, g, rtol=1e-4, atol=1e-6)  # float32 sums in another order
        assert all(p.requires_grad for p in weights + alphas)


def test_an_arch_step_whose_sample_chose_none_everywhere_leaves_alpha_unchanged():
    """No edge carries signal, so α has no gradient; the step must not fail."""
    search = Search(SearchConfig.model_validate(tiny_search_settings(method="gdas")))
    x, y = next(search.data.train.train_epoch(search.generators["data"]))
    none = PRIMITIVES.index("none")
    with torch.no_grad():
        for alpha in search.alphas.parameters():
            alpha.fill_(-50.0)
            alpha[:, none] = 50.0
    before = [a.detach().clone() for a in search.alphas.parameters()]
    assert arch_step(search, (x, y))
    assert all(a.grad is None for a in search.alphas.parameters())
    assert all(torch.equal(a, b) for a, b in zip(search.alphas.parameters(), before))


def test_a_restored_search_takes_new_mutable_settings_from_the_next_epoch(tmp_path):
    """A scheduler (PBT) continues a trial with a new anneal rate and its current τ scaled by
    1.5 (τ0 2 -> 3), a larger λ and a smaller α learning rate: the temperatures it then
    reports are the hand-computed ones, and the change is recorded with its epoch."""
    settings = tiny_search_settings(epochs=5, temperature={"schedule": "exponential", "initial": 2.0,
                                                           "anneal_rate": 0.5, "min": 0.01},
                                    resource={"method": "reparametrization", "lambda": 1e-3})
    first, metrics = run(settings, 2)
    assert [m["temperature"] for m in metrics] == [2.0, 1.0]
    first.save(tmp_path / "checkpoint.pt")
    changed = SearchConfig.model_validate(tiny_search_settings(
        epochs=5, temperature={"schedule": "exponential", "initial": 3.0, "anneal_rate": 0.8, "min": 0.01},
        resource={"method": "reparametrization", "lambda": 0.5}, arch={"lr": 1e-4}))
    resumed = Search.restore(tmp_path / "checkpoint.pt", config=changed)
    assert resumed.config == changed and resumed.resource_lambda == 0.5
    assert resumed.arch_optimizer.param_groups[0]["lr"] == 1e-4
    rest = [resumed.run_epoch()["temperature"] for _ in range(3)]
    assert rest == pytest.approx([0.5 * 1.5, 0.5 * 1.5 * 0.8, 0.5 * 1.5 * 0.8**2])  # τ(2) = 0.5 under the old rate
    assert resumed.changes == [{"epoch": 2, "settings": {
        "arch.lr": [3e-4, 1e-4], "resource.lambda": [1e-3, 0.5],
        "temperature.anneal_rate": [0.5, 0.8], "temperature.initial": [2.0, 3.0]}}]
    resumed.save(tmp_path / "later.pt")  # the anchor and the record survive a second restore
    again = Search.restore(tmp_path / "later.pt")
    assert again.changes == resumed.changes and again.temperature.at(4) == resumed.temperature.at(4)


def test_a_setting_that_cannot_change_mid_run_is_refused_naming_it(tmp_path):
    from snas.errors import UserInputError

    first, _ = run(tiny_search_settings(epochs=3), 1)
    first.save(tmp_path / "checkpoint.pt")
    wider = SearchConfig.model_validate(tiny_search_settings(epochs=3, init_channels=8))
    with pytest.raises(UserInputError, match=r"^init_channels cannot change during a search \(from 4 to 8\); "
                                             r"between epochs only temperature.initial, "):
        Search.restore(tmp_path / "checkpoint.pt", config=wider)
    same = Search.restore(tmp_path / "checkpoint.pt", config=first.config)
    assert same.changes == []
