"""Means over seeds with t-intervals, and paired comparisons, against hand-computed values."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from study_helpers import tiny_study

from harness.analysis.replicates import (
    factor_columns,
    paired_comparisons,
    replicate_table,
    seed_columns,
    summarize,
)
from harness.study import validate_study

T_975_DF2 = 4.302652729749464
"""The 97.5% quantile of Student's t with 2 degrees of freedom (tables: 4.303)."""


def test_three_runs_give_the_t_interval_of_their_mean():
    summary = summarize([1.0, 2.0, 3.0])
    half = T_975_DF2 * 1.0 / math.sqrt(3)  # sd 1
    assert (summary.n, summary.mean, summary.sd, summary.best) == (3, 2.0, 1.0, 3.0)
    assert summary.low == pytest.approx(2.0 - half) and summary.high == pytest.approx(2.0 + half)
    assert summarize([1.0, 2.0, 3.0], mode="min").best == 1.0


def test_one_run_has_no_interval():
    summary = summarize([7.0, math.nan])
    assert (summary.n, summary.mean, summary.best) == (1, 7.0, 7.0)
    assert math.isnan(summary.low) and math.isnan(summary.high) and math.isnan(summary.sd)


def _trials(rows):
    return pd.DataFrame([{"stopped_early": False, **row} for row in rows])


def test_groups_are_the_other_settings_and_stopped_runs_are_left_out():
    trials = _trials([
        {"method": "snas", "seed": 0, "score": 3.0}, {"method": "snas", "seed": 1, "score": 5.0},
        {"method": "snas", "seed": 2, "score": 7.0}, {"method": "gdas", "seed": 0, "score": 1.0},
        {"method": "gdas", "seed": 1, "score": 9.0, "stopped_early": True},
    ])
    table = replicate_table(trials, ["method"]).set_index("method")
    assert table.loc["snas", ["n", "mean", "sd", "best", "stopped_left_out"]].tolist() == [3, 5.0, 2.0, 7.0, 0]
    assert table.loc["snas", "ci95_high"] == pytest.approx(5.0 + T_975_DF2 * 2.0 / math.sqrt(3))
    assert table.loc["gdas", ["n", "mean", "stopped_left_out"]].tolist() == [1, 1.0, 1]
    assert math.isnan(table.loc["gdas", "ci95_low"])


def test_paired_differences_match_seeds_and_report_the_paired_t_test():
    # Differences snas - gdas per seed: 2, 1, 3 -> mean 2, sd 1, t = 2 / (1 / sqrt 3) = 3.464 on 2 df.
    # With 2 df the t CDF is 1/2 + t / (2 sqrt(2 + t^2)): p = 1 - t / sqrt(2 + t^2) = 1 - sqrt(12/14).
    trials = _trials([
        {"method": "snas", "seed": 0, "score": 3.0}, {"method": "snas", "seed": 1, "score": 5.0},
        {"method": "snas", "seed": 2, "score": 7.0}, {"method": "gdas", "seed": 2, "score": 4.0},
        {"method": "gdas", "seed": 0, "score": 1.0}, {"method": "gdas", "seed": 1, "score": 4.0},
    ])
    row = paired_comparisons(trials, "method", ["seed"]).iloc[0]
    assert (row["level_a"], row["level_b"], row["pairs"]) == ("gdas", "snas", 3)
    assert row["mean_difference"] == pytest.approx(-2.0)
    assert row["ci95_low"] == pytest.approx(-2.0 - T_975_DF2 / math.sqrt(3))
    assert row["p_paired_t"] == pytest.approx(1 - math.sqrt(12 / 14))
    assert row["verdict"] == "not significant at n = 3"


def test_levels_without_a_common_seed_are_not_paired():
    trials = _trials([{"method": "snas", "seed": 0, "score": 3.0}, {"method": "gdas", "seed": 1, "score": 1.0}])
    assert paired_comparisons(trials, "method", ["seed"]).empty


def test_seeds_are_told_from_factors(tmp_path):
    study = validate_study(tiny_study("s", tmp_path, space={"search.seed": {"grid": [0, 1]},
                                                          "search.method": {"grid": ["snas", "gdas"]}}))
    trials = pd.DataFrame({"seed": [0], "method": ["snas"], "score": [1.0]})
    assert seed_columns(study) == ["seed"]
    assert factor_columns(study, trials) == ["method"]
