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

