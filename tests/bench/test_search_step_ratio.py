import pytest

from bench.search_step import VariantProcess, paired_ratio


def test_paired_ratio_is_the_median_of_same_round_ratios():
    # rounds 2 and 3 ran while the machine was slow; the ratio of medians would say 4.0
    assert paired_ratio([2.0, 4.0, 9.0], [1.0, 1.0, 3.0]) == 3.0


def test_a_variant_process_that_dies_is_named():
    """A worker that cannot build its variant exits; the parent says which one, not a BrokenPipe."""
    with pytest.raises(SystemExit, match=r"the nonexistent process died \(exit code 1"):
        VariantProcess("nonexistent", "a", "cpu", True, False)
