import pytest

from bench.search_step import VariantProcess, make_step, paired_ratio


def test_paired_ratio_is_the_median_of_same_round_ratios():
    # rounds 2 and 3 ran while the machine was slow; the ratio of medians would say 4.0
    assert paired_ratio([2.0, 4.0, 9.0], [1.0, 1.0, 3.0]) == 3.0


def test_a_variant_process_that_dies_is_named():
    """A worker that cannot build its variant exits; the parent says which one, not a BrokenPipe."""
    with pytest.raises(SystemExit, match=r"the nonexistent process died \(exit code 1"):
        VariantProcess("nonexistent", "a", "cpu", True, False)


@pytest.mark.parametrize("variant", ["snas", "gdas", "darts"])
def test_the_timed_step_is_the_searchs_own_public_step(monkeypatch, variant):
    """The benchmark times Search.train_step (so DARTS runs α first), with both batches."""
    from snas.search import Search

    calls = []
    monkeypatch.setattr(Search, "train_step", lambda self, batch, val_batch, tau, stats=None:
                        calls.append((self.method.name, val_batch is not None, tau)) or True)
    step, search = make_step(variant, "a", "cpu", True, False)
    step()
    assert calls == [(variant, True, 1.0)]
    assert search.config.resource.method == "none"  # timed like the baseline: no penalty


@pytest.mark.slow
def test_regions_of_one_shape_share_a_graph_and_none_runs_eagerly(monkeypatch):
    """3 cells (normal C, reduction 2C, reduction 4C): 15 node mixes, 12 graphs -- per cell
    one for the two input nodes (4 edges each, alike) and one for each inner node (3, 2, 1
    edges); the cells' shapes differ, so none is shared across cells here.  12 is past
    Dynamo's default recompile limit (8), where it would run the rest eagerly without a
    word.  A second step compiles nothing, and the state dict keeps its names."""
    import torch
    import torch._dynamo
    from torch._dynamo.testing import CompileCounter

    from bench.search_step import compile_node_regions
    from snas.methods import METHODS
    from snas.spaces.darts.supernet import SuperNet

    torch._dynamo.reset()
    counter, real_compile = CompileCounter(), torch.compile
    monkeypatch.setattr(torch, "compile", lambda fn, mode, dynamic: real_compile(fn, backend=counter, dynamic=dynamic))
    torch.manual_seed(0)
    net = SuperNet(4, 4, 3).train()
    names = list(net.state_dict())
    compile_node_regions(net, "default")
    normal, reduce = (METHODS["snas"].sample(torch.randn(14, 8, requires_grad=True), 0.7, torch.Generator())
                      for _ in range(2))
    x = torch.randn(2, 3, 8, 8)
    net(x, [normal], [reduce]).sum().backward()
    assert counter.frame_count == 12
    net(x, [normal], [reduce])
    assert counter.frame_count == 12
    assert list(net.state_dict()) == names
    torch._dynamo.reset()


def test_nas_bench_201_cells_of_one_stage_share_a_graph_that_equals_the_eager_cell(monkeypatch):
    """2 cells per stage, 3 stages: 6 cells, 3 graphs (one per stage's shape), captured by
    Dynamo and AOTAutograd without Inductor; in float64 one SNAS step's loss and gradients
    agree with an eager twin's to 1e-12.  A second step, a GDAS sample and evaluation
    compile nothing more (the hard path and evaluation run the cells eagerly)."""
    import torch
    import torch._dynamo
    import torch.nn.functional as F
    from torch._dynamo.testing import CompileCounterWithBackend

    from bench.search_step import compile_regions
    from snas.methods import METHODS
    from snas.spaces.nas_bench_201.supernet import SearchNetwork

    torch._dynamo.reset()
    counter, real_compile = CompileCounterWithBackend("aot_eager"), torch.compile
    monkeypatch.setattr(torch, "compile", lambda fn, mode, dynamic: real_compile(fn, backend=counter, dynamic=dynamic))
    torch.manual_seed(0)
    eager, regional = (SearchNetwork(4, 4, 2).double().train() for _ in range(2))
    regional.load_state_dict(eager.state_dict())
    compile_regions("nas-bench-201", regional, "default")
    alpha = torch.randn(6, 5, dtype=torch.float64, requires_grad=True)
    x, y = torch.randn(3, 3, 8, 8, dtype=torch.float64), torch.tensor([0, 1, 3])
    grads = []
    for net in (eager, regional):
        sample = METHODS["snas"].sample(alpha, 0.7, torch.Generator().manual_seed(1))
        loss = F.cross_entropy(net(x, [sample], 0.2, torch.Generator().manual_seed(2)), y)
        grads.append(torch.autograd.grad(loss, [alpha, *net.parameters()]))
    assert counter.frame_count == 3
    for g, h in zip(*grads):
        torch.testing.assert_close(h, g, rtol=0, atol=1e-12)
    regional(x, [METHODS["snas"].sample(alpha, 0.7, torch.Generator())], 0.2, torch.Generator())
    regional(x, [METHODS["gdas"].sample(alpha, 0.7, torch.Generator())])
    regional.eval()(x, [METHODS["snas"].sample(alpha, 0.7, torch.Generator())])
    assert counter.frame_count == 3
    torch._dynamo.reset()
