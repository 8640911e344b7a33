"""torch.compile of the training forward (snas.compilation): what is compiled, its numbers, resume.

Inductor compiles for minutes on a small CPU: the one test that uses it compiles the tiniest
network (1 cell, C = 4) and runs only with ``SNAS_TEST_INDUCTOR=1``; the others capture the
graphs with Dynamo and AOTAutograd alone (``aot_eager``), which takes seconds.
"""

import os

import pytest
import torch
import torch._dynamo
import torch.nn.functional as F
from search_helpers import tiny_search_settings

from snas.compilation import CACHE_ENV, share_compile_cache
from snas.config import SearchConfig
from snas.methods import METHODS
from snas.search import Search
from snas.spaces.darts.supernet import SuperNet


@pytest.fixture(scope="module")
def compile_cache(tmp_path_factory):
    """One Inductor cache folder for this module's compiles (restored afterwards)."""
    before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("inductor"))
    yield os.environ[CACHE_ENV]
    if before is None:
        del os.environ[CACHE_ENV]
    else:
        os.environ[CACHE_ENV] = before


def counting_compile(monkeypatch, backend):
    """torch.compile replaced by one that records each call of a compiled function (by name)
    and runs it with ``backend`` (``None``: eagerly)."""
    calls, real_compile = [], torch.compile

    def fake_compile(fn, mode, dynamic):
        graph = fn if backend is None else real_compile(fn, backend=backend, dynamic=dynamic)

        def run(*args):
            calls.append(fn.__name__)
            return graph(*args)
        return run

    monkeypatch.setattr(torch, "compile", fake_compile)  # snas.compilation.compiled calls torch.compile
    return calls


@pytest.fixture
def counted_calls(monkeypatch):
    """Calls of the functions the networks compile, run eagerly."""
    return counting_compile(monkeypatch, None)


@pytest.fixture
def traced_compiles(monkeypatch):
    """Calls of the functions the networks compile, captured by Dynamo and AOTAutograd
    without Inductor (seconds, not minutes).  Dynamo's counters start from zero: its reset
    keeps them, and ``torch._dynamo.explain`` in an earlier test leaves a graph counted."""
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    yield counting_compile(monkeypatch, "aot_eager")
    torch._dynamo.reset()


def tiny_pair():
    torch.manual_seed(0)
    eager = SuperNet(4, 4, 1).double().train()
    compiled = SuperNet(4, 4, 1).double().train()
    compiled.load_state_dict(eager.state_dict())
    return eager, compiled


def soft_samples(seed=0):
    generator = torch.Generator().manual_seed(seed)
    alphas = [torch.randn(14, 8, dtype=torch.float64, generator=generator, requires_grad=True) for _ in range(2)]
    return alphas, [METHODS["snas"].sample(a, 0.7, generator) for a in alphas]


def test_compile_is_off_by_default_and_names_its_modes():
    assert SearchConfig().compile == "off"
    with pytest.raises(ValueError, match="(?s)compile.*'off', 'default', 'reduce-overhead' or 'max-autotune'"):
        SearchConfig(compile="fast")
    assert SearchConfig.model_validate({"compile": False}).compile == "off"  # YAML's reading of `compile: off`
    with pytest.raises(ValueError, match="second_order.*set compile: off"):
        SearchConfig(method="darts", second_order=True, compile="default")


@pytest.mark.slow
def test_the_soft_training_forward_is_one_graph_even_with_drop_path():
    """The drop-path draws are made before the compiled part, so no generator reaches Dynamo."""
    net, _ = tiny_pair()
    _, (normal, reduce) = soft_samples()
    kept = [torch.rand(14, 6, generator=torch.Generator().manual_seed(1)) < 0.7]
    x = torch.randn(6, 3, 8, 8, dtype=torch.float64)
    explanation = torch._dynamo.explain(net._cells)(x, [normal], [reduce], kept, 0.7)
    assert (explanation.graph_count, explanation.graph_break_count) == (1, 0)


def test_hard_samples_and_evaluation_stay_eager(counted_calls):
    """GDAS's sample is the architecture itself: a graph of it would be specialised to one."""
    net, _ = tiny_pair()
    net.compile_training("default")
    alphas, (normal, reduce) = soft_samples()
    hard = [METHODS["gdas"].sample(a, 0.7, torch.Generator().manual_seed(0)) for a in alphas]
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    net(x, [hard[0]], [hard[1]])
    net.eval()
    net(x, [normal], [reduce])
    assert counted_calls == []
    net.train()
    net(x, [normal], [reduce], 0.3, torch.Generator().manual_seed(0))
    assert counted_calls == ["_cells"]


def test_nas_bench_201_compiles_each_stages_cells_as_one_region_equal_to_the_eager_cells(traced_compiles):
    """NAS-Bench-201's cells repeat: 2 cells per stage, 3 stages give 6 cell calls through 3
    graphs (Dynamo's frame count), and in float64 one SNAS step with drop path has the loss and
    gradients of an eager twin to 1e-12.  A second step, a GDAS sample and evaluation compile
    nothing more (the hard path and evaluation run the cells eagerly); the state dict keeps its
    names, so checkpoints do not depend on the setting."""
    from torch._dynamo.utils import counters

    from snas.spaces.nas_bench_201.supernet import SearchNetwork

    torch.manual_seed(0)
    eager, regional = (SearchNetwork(4, 4, 2).double().train() for _ in range(2))
    regional.load_state_dict(eager.state_dict())
    regional.compile_training("default")
    alpha = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    x, y = torch.randn(3, 3, 8, 8, dtype=torch.float64), torch.tensor([0, 1, 3])
    grads = []
    for net in (eager, regional):
        sample = METHODS["snas"].sample(alpha, 0.7, torch.Generator().manual_seed(1))
        loss = F.cross_entropy(net(x, [sample], 0.2, torch.Generator().manual_seed(2)), y)
        grads.append(torch.autograd.grad(loss, [alpha, *net.parameters()]))
    assert traced_compiles == ["forward"] * 6
    assert counters["stats"]["unique_graphs"] == 3
    for ours, theirs in zip(*grads):
        torch.testing.assert_close(theirs, ours, rtol=0, atol=1e-12)
    regional(x, [METHODS["snas"].sample(alpha, 0.7, torch.Generator())], 0.2, torch.Generator())
    regional(x, [METHODS["gdas"].sample(alpha, 0.7, torch.Generator())])
    regional.eval()(x, [METHODS["snas"].sample(alpha, 0.7, torch.Generator())])
    assert traced_compiles == ["forward"] * 12 and counters["stats"]["unique_graphs"] == 3
    assert list(regional.state_dict()) == list(eager.state_dict())


@pytest.mark.parametrize("genotype", ["DARTS_V2", "NB201_GDAS"])
def test_a_child_network_compiles_its_training_forward_only(counted_calls, genotype):
    from snas.catalogue import resolve_genotype
    from snas.spaces import space_of

    cell = resolve_genotype(genotype)
    net = space_of(cell).child_network(cell, channels=4, layers=3, num_classes=4, in_channels=3, image_size=8,
                                        family="cifar", auxiliary=False)
    net.compile_training("max-autotune")
    x = torch.randn(2, 3, 8, 8)
    net.eval()(x)
    assert counted_calls == []
    net.train()(x, 0.2, torch.Generator().manual_seed(0))
    assert counted_calls == ["_body"]


def test_the_study_cache_folder_is_used_unless_the_user_chose_one(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, "recorded")  # monkeypatch then restores the original (absent) at the end,
    monkeypatch.delenv(CACHE_ENV)               # undoing what share_compile_cache sets
    assert share_compile_cache(tmp_path / "study" / "compile_cache") == str(tmp_path / "study" / "compile_cache")
    assert (tmp_path / "study" / "compile_cache").is_dir()
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    assert share_compile_cache(tmp_path / "other") == str(tmp_path / "mine")
    assert not (tmp_path / "other").exists()


INDUCTOR_TESTS = "SNAS_TEST_INDUCTOR"
"""Set to 1 to run the test that compiles with Inductor: 219 s on the 2-core CI machine
(cold cache) when written, 71 s since the pools became opaque to Inductor (snas.pools);
still more than the slow suite's allowance for this feature."""


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get(INDUCTOR_TESTS) != "1", reason=f"Inductor compiles for minutes; {INDUCTOR_TESTS}=1")
def test_an_inductor_compiled_training_step_equals_the_eager_one_in_float64(compile_cache):
    """Loss, every gradient and the updated weights and BatchNorm statistics of two SGD steps
    agree to 1e-12, not bitwise: Inductor fuses the BatchNorm reductions and the weighted
    sums into its own loops, which add in another order (the loss came out bitwise equal,
    gradients ~2e-15 apart)."""
    eager, compiled = tiny_pair()
    compiled.compile_training("default")
    alphas, _ = soft_samples()
    alpha_pairs = [[a.detach().clone().requires_grad_() for a in alphas] for _ in range(2)]
    nets = (eager, compiled)
    optimizers = [torch.optim.SGD(list(n.parameters()) + a, lr=0.1, momentum=0.9) for n, a in zip(nets, alpha_pairs)]
    generators = [torch.Generator().manual_seed(5) for _ in range(2)]
    x, y = torch.randn(4, 3, 8, 8, dtype=torch.float64), torch.tensor([0, 1, 2, 3])
    for _ in range(2):
        losses = []
        for net, a, optimizer, generator in zip(nets, alpha_pairs, optimizers, generators):
            optimizer.zero_grad()
            normal, reduce = (METHODS["snas"].sample(alpha, 0.7, generator) for alpha in a)
            loss = F.cross_entropy(net(x, [normal], [reduce], 0.3, generator), y)
            loss.backward()
            losses.append(loss.detach())
        torch.testing.assert_close(losses[1], losses[0], rtol=0, atol=1e-12)
        for p, q in zip(list(eager.parameters()) + alpha_pairs[0], list(compiled.parameters()) + alpha_pairs[1]):
            torch.testing.assert_close(q.grad, p.grad, rtol=0, atol=1e-12)
        for optimizer in optimizers:
            optimizer.step()
    for (name, p), q in zip(eager.state_dict().items(), compiled.state_dict().values()):
        torch.testing.assert_close(q, p, rtol=0, atol=1e-12, msg=name)


@pytest.mark.slow
def test_a_compiled_search_resumed_equals_the_uninterrupted_one(tmp_path, traced_compiles):
    """Compiling leaves the state dict and every random stream alone, so a compiled run stopped
    after an epoch and restored (compiled again) continues exactly; Dynamo and AOTAutograd
    capture the graphs here, without Inductor (whose numbers the float64 test checks).  SNAS
    with drop path; DARTS, whose θ and α passes are two graphs, took 54 s here."""
    settings = tiny_search_settings(epochs=2, method="snas", compile="default", drop_path=0.3)

    def run(search, epochs):
        return [{k: v for k, v in search.run_epoch().items() if k not in ("epoch_time_s", "images_per_s")}
                for _ in range(epochs)]

    straight = Search(SearchConfig.model_validate(settings))
    straight_metrics = run(straight, 2)
    first = Search(SearchConfig.model_validate(settings))
    first_metrics = run(first, 1)
    first.save(tmp_path / "checkpoint.pt")
    resumed = Search.restore(tmp_path / "checkpoint.pt")
    assert resumed.config.compile == "default"
    assert first_metrics + run(resumed, 1) == straight_metrics
    assert traced_compiles and set(traced_compiles) == {"_cells"}
    for a, b in zip(resumed.model.state_dict().values(), straight.model.state_dict().values()):
        assert torch.equal(a, b)
    assert torch.equal(resumed.alphas.normal, straight.alphas.normal)
