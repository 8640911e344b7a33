"""The predictor leaderboard: rank correlations by hand and against scipy, the bootstrap, the
refusal below four genotypes, and the values it ranks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from harness.analysis.predictors import (
    BOOTSTRAP_RESAMPLES,
    kendall_tau_b,
    leaderboard,
    predictor_values,
    rank_predictor,
    spearman_rho,
)


def test_tau_and_rho_of_two_swapped_pairs_by_hand():
    # 10 pairs, 2 discordant ((1,2) and (3,4)): τ = (8 - 2) / 10; rank differences ±1 four
    # times: ρ = 1 - 6·4 / (5·(25 - 1)) = 0.8.
    x, y = np.array([1.0, 2, 3, 4, 5]), np.array([2.0, 1, 4, 3, 5])
    assert kendall_tau_b(x, y) == pytest.approx(0.6) and spearman_rho(x, y) == pytest.approx(0.8)


def test_tau_b_and_rho_agree_with_scipy_on_tied_data_row_by_row():
    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 4, size=(20, 9)).astype(float), rng.integers(0, 5, size=(20, 9)).astype(float)
    taus, rhos = kendall_tau_b(x, y), spearman_rho(x, y)
    for i in range(20):
        assert taus[i] == pytest.approx(stats.kendalltau(x[i], y[i]).statistic, abs=1e-12)
        assert rhos[i] == pytest.approx(stats.spearmanr(x[i], y[i]).statistic, abs=1e-12)


def test_a_row_gives_tau_rho_their_bootstrap_intervals_and_n():
    target = pd.Series([91.0, 90, 93, 92, 95, 94], index=list("abcdef"))
    predictor = pd.Series([1.0, 2, 3, 4, 5, math.nan], index=list("abcdef"))  # f unknown: n = 5
    row = rank_predictor("p", predictor, target)  # the two swapped pairs of the first test
    assert row["n"] == 5 and row["note"] == ""
    assert row["kendall_tau"] == pytest.approx(0.6) and row["spearman_rho"] == pytest.approx(0.8)
    assert -1 <= row["tau_ci95_low"] < 0.6 < row["tau_ci95_high"] <= 1
    assert rank_predictor("p", predictor, target) == row  # the resamples are seeded
    assert BOOTSTRAP_RESAMPLES >= 1000


def test_fewer_than_four_genotypes_or_a_constant_signal_is_not_ranked_and_says_why():
    three = rank_predictor("p", pd.Series([1.0, 2, 3]), pd.Series([3.0, 1, 2]))
    assert three["n"] == 3 and math.isnan(three["kendall_tau"])
    assert three["note"].startswith("cannot rank: 3 genotype(s) with both values, at least 4 needed")
    flat = rank_predictor("p", pd.Series([1.0, 1, 1, 1]), pd.Series([3.0, 1, 2, 4]))
    assert flat["note"] == "cannot rank: every genotype has the same value"


def test_the_values_join_seeds_search_size_and_proxies_and_the_board_is_best_first():
    trials = pd.DataFrame({
        "arch": ["A", "A", "B", "C", "D", "E"], "score": [90.0, 92.0, 80.0, 85.0, 70.0, 95.0],
        "params_m": [3.0, 3.0, 2.0, 2.5, 1.0, 3.5], "macs_m": [1.0, 1.0, 3.0, 2.0, 4.0, 0.5],
        "genotype_id": ["a", "a", "b", "c", "d", "e"],
    })
    search = pd.DataFrame({"search_val_acc": [60.0, 50.0], "child_val_acc": [40.0, 45.0]}, index=["A", "B"])
    # retrained order D < B < C < A < E; synflow swaps B and C: τ = (9 - 1) / 10
    proxies = pd.DataFrame({"synflow": [5.0, 2.0, 1.0, 0.5, 9.0]}, index=["a", "b", "c", "d", "e"])
    values = predictor_values(trials, search, proxies)
    assert values.loc["A"].tolist() == [91.0, 60.0, 40.0, 3.0, 1.0, 5.0]
    assert values.loc["E", "retrained"] == 95.0 and math.isnan(values.loc["E", "search_val_acc"])
    board = leaderboard(values)
    assert list(board["predictor"]) == ["params_m", "synflow", "macs_m", "search_val_acc", "child_val_acc"]
    assert board.set_index("predictor").loc[["params_m", "synflow", "macs_m"], "kendall_tau"].tolist() == [
        pytest.approx(1.0), pytest.approx(0.8), pytest.approx(-1.0)]
    assert board.set_index("predictor").loc["search_val_acc", "n"] == 2


def test_a_retrain_study_gets_the_leaderboard_tables_and_plot_with_the_proxies_written_for_it(tmp_path):
    from study_helpers import tiny_study

    from harness.analysis.plots import PlotInput, draw_plots
    from harness.analysis.results import StudyResults
    from harness.analysis.summary import EXTRA_TABLES
    from harness.proxy_table import KEY_COLUMNS
    from harness.study import validate_study

    archs = ["DARTS_V2", "DARTS_V1", "SNAS_mild", "SNAS_moderate", "GDAS_V1"]
    scores = [92.0, 91.0, 90.0, 89.0, 88.0]
    trials = pd.DataFrame({"trial_id": [f"t{i}" for i in range(5)], "arch": archs, "score": scores,
                           "params_m": [0.5, 0.4, 0.3, 0.2, 0.1], "macs_m": [1.0, 2.0, 3.0, 4.0, 5.0],
                           "genotype_id": [f"id{i}" for i in range(5)], "state": "TERMINATED", "stopped_early": False,
                           "diverged": False, "epochs": 2, "seed": 0})
    (tmp_path / "analysis").mkdir()
    rows = [",".join([arch, f"id{i}", "darts", "", "digits", "3", "4", "1x8x8", "8", "0", str(10.0 - i)])
            for i, arch in enumerate(archs)]
    (tmp_path / "analysis" / "proxies.csv").write_text(",".join([*KEY_COLUMNS, "synflow"]) + "\n" + "\n".join(rows))
    study = validate_study(tiny_study("r", tmp_path, kind="retrain", space={
        "retrain.settings.genotype": {"grid": archs}}))
    results, tables = StudyResults(study, tmp_path, []), {}
    for name in ("predictor_values", "predictors"):
        tables[name] = EXTRA_TABLES[name](trials, results, tables)
    board = tables["predictors"].set_index("predictor")
    assert board.loc["synflow", ["n", "kendall_tau", "spearman_rho"]].tolist() == [5, 1.0, 1.0]
    assert board.loc["macs_m", "kendall_tau"] == -1.0
    assert board.loc["search_val_acc", "note"] == ("cannot rank: the study names no search study (not made by "
                                                   "`snas-study retrain`): no search signals")
    plots = {plot.path.stem: plot.caption for plot in draw_plots(
        PlotInput(study, trials, pd.DataFrame(columns=["trial_id", "training_iteration"]), "val_acc",
                  tmp_path / "plots", tables=tables))}
    assert "ranked by Kendall's τ" in plots["predictors"] and (tmp_path / "plots" / "predictors.pdf").is_file()
