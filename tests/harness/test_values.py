"""Which values a metric can take: every metric has its expectation, and a value is refused
only when no run can report it (NaN where a run does report NaN is a measurement)."""

from __future__ import annotations

import math

import pytest

from harness.analysis.values import EXPECTED, row_problem, value_problem
from snas.catalogue import resolve_genotype
from snas.metrics import METRIC_VALUES, RETRAIN_METRICS, SEARCH_METRICS

NAN = math.nan


def test_every_metric_of_both_loops_has_its_expectation():
    assert set(METRIC_VALUES) == set(SEARCH_METRICS) | set(RETRAIN_METRICS)


# (metric, value, the epoch diverged, the problem or None)
CASES = [
    ("search_val_acc", 0, False, None),
    ("search_val_acc", 100.0, False, None),
    ("search_val_acc", 100.01, False, "search_val_acc is 100.01, above 100"),
    ("search_val_acc", NAN, True, "search_val_acc is NaN"),  # evaluated after the failed step: never NaN
    ("supernet_child_gap", -12.5, False, None),
    ("supernet_child_gap", -100.5, False, "supernet_child_gap is -100.5, below -100"),
    ("train_loss", NAN, True, None),  # a diverged epoch's mean of no batch
    ("train_loss", None, True, None),  # the same, from an encoder without NaN
    ("train_loss", NAN, False, "train_loss is NaN on an epoch that did not diverge"),
    ("cost", None, False, "cost is null on an epoch that did not diverge"),
    ("val_acc", NAN, False, None),  # no validation split
    ("test_acc", NAN, True, "test_acc is NaN"),
    ("images_per_s", NAN, False, None),
    ("normal_skip_connect", 3, False, None),
    ("normal_skip_connect", True, False, "normal_skip_connect is true, not a whole number"),
    ("epoch", 2**63 - 1, False, None),
    ("epoch", 2**63, False, "epoch is 9223372036854775808, beyond what a 64-bit number holds"),
    ("lr", math.inf, False, "lr is Infinity, not a finite number"),
    ("drop_path", 1.5, False, "drop_path is 1.5, above 1"),
    ("arch_entropy_normalized", 1.0000001, False, None),  # a float32 entropy may round past 1
    ("params_m", "0.2", False, 'params_m is "0.2", not a number'),
    ("params_m", [0.2], False, "params_m is [0.2], not a number"),
    ("genotype", str(resolve_genotype("DARTS_V2")), False, None),
    ("genotype", "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|skip_connect~0|none~1|avg_pool_3x3~2|", False, None),
    ("genotype", "", False, 'genotype is "", not a genotype of any search space'),
    ("diverged", 0, False, "diverged is 0, not true or false"),
    ("checkpoint_dir_name", None, False, None),
    ("time_total_s", -0.5, False, "time_total_s is -0.5, below 0"),
    ("hostname", 7, False, "hostname is 7, not text"),
]


@pytest.mark.parametrize("name, value, diverged, problem", CASES,
                         ids=[f"{name}={value!r:.30}" for name, value, _, _ in CASES])
def test_a_value_is_refused_only_when_no_run_can_report_it(name, value, diverged, problem):
    assert value_problem(name, value, EXPECTED[name], diverged) == problem


def test_a_line_is_judged_by_its_known_keys_and_its_own_diverged_flag():
    assert row_problem({"epoch": 2, "train_loss": NAN, "diverged": True, "config": {"search.seed": [0]},
                        "perf": {"cpu": "x"}}) is None  # keys Ray adds are not judged
    assert row_problem({"epoch": 2, "train_loss": NAN, "diverged": "yes"}) == (
        "train_loss is NaN on an epoch that did not diverge")


TRICKY = [0, 1, -1, 2**63 - 1, 2**63, -(2**63), 10**400, 0.5, 1.5, 100.0, 100.5, -0.5, -100.5, NAN, math.inf,
          -math.inf, 1e300, True, False, None, "x", "", [1], {"a": 1}, str(resolve_genotype("DARTS_V2"))]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_row_judges_each_value_as_value_problem_does(name):
    """row_problem judges numbers, texts and flags inline, by their bounds and names: for every
    value it must say what value_problem says."""
    for value in TRICKY:
        for diverged in (False, True):
            assert row_problem({name: value}, diverged) == value_problem(name, value, EXPECTED[name], diverged), value
