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
