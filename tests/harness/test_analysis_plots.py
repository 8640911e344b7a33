"""Which plots and tables a study's results get, and what their captions promise, on
fabricated trials tables (no Ray, no training)."""

from __future__ import annotations

import io
import math
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from study_helpers import tiny_study

from harness.analysis.plots import PlotInput, draw_plots, pareto_front
from harness.analysis.plots.bands import epoch_view
from harness.analysis.results import StudyResults
from harness.analysis.summary import EXTRA_TABLES
from harness.analysis.tables import distinct_genotypes, random_baseline
from harness.policies.asha import AshaScheduler
from harness.study import validate_study


def _trials(rows: list[dict]) -> pd.DataFrame:
    base = {"state": "TERMINATED", "stopped_early": False, "diverged": False, "epochs": 2, "configured_epochs": 2,
            "eval_params_m": 0.2, "eval_macs_m": 2.0, "genotype": None}
    table = pd.DataFrame([{**base, **row} for row in rows])
    table.insert(0, "trial_id", [f"t_{i:05d}" for i in range(len(table))])
    return table


def _curves(trials: pd.DataFrame, **metrics: float) -> pd.DataFrame:
    rows = [{"trial_id": row["trial_id"], "training_iteration": epoch, "search_val_acc": row["score"],
             "temperature": 1.0 / epoch, "cost": 120.0, **metrics,
             **{k: row[k] for k in ("method", "seed", "tau0", "anneal_rate") if k in row}}
            for _, row in trials.iterrows() for epoch in range(1, int(row["epochs"]) + 1)]
    return pd.DataFrame(rows)


def _settings(study, trials: pd.DataFrame) -> dict:
    """What each trial's config.json holds: the settings its row's varied values give it."""
    names = study.trial_kind.short_names(list(study.space))
    return {row["trial_id"]: study.trial_config_of({key: row[name] for key, name in names.items() if name in row})
            .model_dump(mode="json", by_alias=True) for _, row in trials.iterrows()}


def _draw(tmp_path, space, trials, curves, **changes):
    study = validate_study(tiny_study("p", tmp_path, space=space, **changes))
    return {plot.path.stem: plot.caption for plot in draw_plots(
        PlotInput(study, trials, curves, "search_val_acc", tmp_path / "plots", settings=_settings(study, trials)))}


def test_importing_the_plots_changes_no_matplotlib_setting():
    """The backend and the theme are set when the first plot is drawn, not by an import (a
    notebook importing the analysis keeps its own)."""
    script = ("import matplotlib; before = dict(matplotlib.rcParams); import harness.analysis.plots; "
              "changed = [k for k, v in matplotlib.rcParams.items() if before[k] != v]; print(changed)")
    assert subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          check=True).stdout.strip() == "[]"


def test_the_pareto_front_keeps_the_trials_no_other_beats_on_both_cost_and_accuracy():
    cost = np.array([3.0, 1.0, 2.0, 4.0, 2.0])
    accuracy = np.array([90.0, 80.0, 85.0, 88.0, 84.0])  # trial 3 costs more than 0 for less; 4 ties 2's cost
    assert pareto_front(cost, accuracy).tolist() == [1, 2, 0]


def test_the_asha_rungs_grow_by_the_reduction_factor_up_to_the_budget():
    assert AshaScheduler(grace_period=1, reduction_factor=2).rungs(10) == [1, 2, 4, 8, 10]
    assert AshaScheduler(grace_period=1, reduction_factor=3).rungs(9) == [1, 3, 9]
    assert AshaScheduler(grace_period=2, reduction_factor=2, max_t=6).rungs(20) == [2, 4, 6]


METHOD_SEEDS = {"search.method": {"grid": ["snas", "gdas"]}, "search.seed": {"grid": [0, 1, 2]}}


@pytest.fixture
def method_seed_trials():
    # snas - gdas per seed: 10, 11, 12
    return _trials([{"method": m, "seed": s, "score": 50.0 + (10 + s) * (m == "snas") + s}
                    for m in ("snas", "gdas") for s in range(3)])


def test_a_method_seed_study_gets_levels_with_intervals_not_a_seed_heatmap(tmp_path, method_seed_trials):
    plots = _draw(tmp_path, METHOD_SEEDS, method_seed_trials, _curves(method_seed_trials))
    assert "levels_method" in plots and "95% Student-t interval" in plots["levels_method"]
    assert not any(name.startswith(("heatmap", "score_vs_seed")) for name in plots)
    assert "stopped" not in plots["levels_method"]  # FIFO: nothing to mark
    assert "health" not in plots  # the trials reported no collapse metrics


def test_the_resource_cost_is_drawn_only_when_a_penalty_is_on(tmp_path, method_seed_trials):
    curves = _curves(method_seed_trials)
    plots = _draw(tmp_path / "on", METHOD_SEEDS, method_seed_trials, curves)  # SNAS's default penalty
    assert plots["trajectories"] == "temperature (log scale) and resource cost per epoch; colour: method"
    plots = _draw(tmp_path / "off", METHOD_SEEDS, method_seed_trials, curves, search={"resource": {"method": "none"}})
    assert plots["trajectories"] == "temperature (log scale) per epoch; colour: method"


def test_the_temperature_of_darts_trials_is_not_drawn(tmp_path):
    trials = _trials([{"method": m, "seed": s, "score": 50.0 + s} for m in ("snas", "darts") for s in range(2)])
    no_penalty = {"resource": {"method": "none"}}
    plots = _draw(tmp_path / "mixed", {"search.method": {"grid": ["snas", "darts"]}, "search.seed": {"grid": [0, 1]}},
                  trials, _curves(trials), search=no_penalty)
    assert plots["trajectories"] == ("temperature (log scale) per epoch; colour: method; the temperature of the 2 "
                                     "DARTS-like trial(s) is not drawn (their softmax has none)")
    darts = trials[trials["method"] == "darts"].drop(columns=["method"])
    plots = _draw(tmp_path / "darts", {"search.seed": {"grid": [0, 1]}}, darts, _curves(darts),
                  search={"method": "darts", **no_penalty})
    assert "trajectories" not in plots  # the study's one method has no temperature, no penalty is on


def test_the_health_plot_draws_the_metrics_the_trials_reported(tmp_path, method_seed_trials):
    curves = _curves(method_seed_trials, normal_skip_connect=2, arch_entropy_normalized=0.97)
    plots = _draw(tmp_path, METHOD_SEEDS, method_seed_trials, curves)
    assert plots["health"] == ("search health per epoch: skip_connect ops in the normal cell; "
                               "α entropy / ln(#ops) (1 = uniform); colour: method")


def test_asha_stopped_runs_are_marked_and_left_out_of_the_heatmap_means(tmp_path):
    trials = _trials([{"tau0": t, "anneal_rate": a, "score": 40.0 + 10 * t + a}
                      for t in (1.0, 2.0) for a in (0.6, 0.9)])
    trials.loc[0, ["stopped_early", "epochs"]] = [True, 1]
    plots = _draw(tmp_path, {"search.temperature.initial": {"grid": [1.0, 2.0]},
                             "search.temperature.anneal_rate": {"grid": [0.6, 0.9]}}, trials, _curves(trials))
    assert "stopped early by ASHA" in plots["heatmap_tau0_anneal_rate"]
    assert "hollow markers: stopped early by ASHA" in plots["score_vs_tau0"]
    assert "one per setting (no seed varies, so no mean over seeds and no interval)" in plots["score_vs_tau0"]


def test_the_replicates_and_paired_tables_of_a_method_seed_study(tmp_path, method_seed_trials):
    results = StudyResults(validate_study(tiny_study("p", tmp_path, space=METHOD_SEEDS)), tmp_path, [])
    replicates = EXTRA_TABLES["replicates"](method_seed_trials, results, {}).set_index("method")
    assert replicates.loc["snas", ["n", "mean", "best"]].tolist() == [3, 62.0, 64.0]
    paired = EXTRA_TABLES["paired"](method_seed_trials, results, {}).iloc[0]
    assert (paired["level_a"], paired["level_b"], paired["pairs"], paired["mean_difference"]) == ("gdas", "snas",
                                                                                                  3, -11.0)


def test_each_searched_genotype_is_ranked_among_the_random_ones():
    runs = [("A", "searched", 90.0), ("A", "searched", 92.0), ("R0", "random", 80.0), ("R0", "random", 82.0),
            ("R1", "random", 95.0), ("R1", "random", 93.0), ("R2", "random", 85.0)]
    trials = _trials([{"arch": arch, "origin": origin, "score": score} for arch, origin, score in runs])
    table = random_baseline(trials).set_index("arch")
    assert table.loc["A", ["origin", "n", "mean"]].tolist() == ["searched", 2, 91.0]
    assert table.loc["A", "rank_among_random"] == "rank 2 of 4 (beats 2 of 3 random)"
    assert list(table.index) == ["A", "R1", "R2", "R0"]  # searched first, then best first
    assert random_baseline(trials[trials["origin"] == "random"]).empty
    tie = trials.assign(score=trials["score"].where(trials["arch"] != "R2", 91.0))  # R2's mean = A's
    assert random_baseline(tie).set_index("arch").loc["A", "rank_among_random"] == (
        "rank 2 of 4 (beats 1, ties 1 of 3 random)")
    minimising = random_baseline(tie, mode="min").set_index("arch").loc["A", "rank_among_random"]
    assert minimising == "rank 2 of 4 (beats 1, ties 1 of 3 random)"  # R0 (81) is better when smaller wins


def test_distinct_genotypes_per_setting():
    trials = _trials([{"method": m, "genotype_id": g, "score": 1.0}
                      for m, g in (("snas", "aa"), ("snas", "aa"), ("snas", "bb"), ("gdas", "cc"))])
    table = distinct_genotypes(trials, ["method"])
    assert table.drop(columns=["method"]).to_dict("records") == [
        {"scope": "setting", "trials": 1, "distinct_genotypes": 1, "most_frequent": "cc", "its_trials": 1},
        {"scope": "setting", "trials": 3, "distinct_genotypes": 2, "most_frequent": "aa", "its_trials": 2},
        {"scope": "all trials", "trials": 4, "distinct_genotypes": 3, "most_frequent": "aa", "its_trials": 2}]
    assert table["method"].tolist()[:2] == ["gdas", "snas"] and pd.isna(table["method"].iloc[2])
    table.to_parquet(io.BytesIO())  # the overall row keeps the setting's column type
    assert distinct_genotypes(trials.drop(columns=["genotype_id"]), ["method"]).empty
    assert distinct_genotypes(trials, []).to_dict("records") == [
        {"scope": "all trials", "trials": 4, "distinct_genotypes": 3, "most_frequent": "aa", "its_trials": 2}]


def test_the_summary_gives_the_mean_over_seeds_of_the_finished_trials(tmp_path):
    from study_folders import write_study_folder

    from harness.analysis.summary import write_analysis

    # Seeds 0 and 1 finished at 89.99 and 78.72; seed 2 stopped after one epoch and is left out.
    # sd = 11.27 / sqrt 2; t(0.975, 1 df) = 12.7062: half width 12.7062 * 11.27 / 2 = 71.60.
    summary = write_analysis(write_study_folder(tmp_path), plots=False)
    row = summary.tables["replicates"].iloc[0]
    assert (row["n"], row["stopped_left_out"]) == (2, 1)
    assert row["ci95_high"] == pytest.approx(84.355 + 12.706204736 * 11.27 / 2)
    line = next(line for line in summary.describe().splitlines() if line.startswith("mean "))
    assert line == (f"mean search_val_acc over seeds, 95% Student-t interval: all {row['mean']:.2f} "
                    f"[{row['ci95_low']:.2f}, {row['ci95_high']:.2f}], best 89.99 (n=2)")
    assert (summary.path / "analysis" / "replicates.csv").is_file()
    assert not (summary.path / "analysis" / "paired.csv").exists()  # no factor besides the seed


def test_the_summary_of_settings_drawn_once_each_says_there_is_no_mean_over_seeds(tmp_path):
    """A random or Optuna search draws each τ0 once: no setting has seeds to average."""
    from study_folders import write_study_folder

    from harness.analysis.summary import write_analysis

    summary = write_analysis(write_study_folder(tmp_path), plots=False)
    columns = {"tau0": [0.5888518753760855, 2.003241830982197], "n": [1, 0], "mean": [23.09, math.nan],
               "sd": [math.nan] * 2, "ci95_low": [math.nan] * 2, "ci95_high": [math.nan] * 2,
               "best": [23.09, math.nan], "stopped_left_out": [0, 1]}
    summary.tables["replicates"] = pd.DataFrame(columns)
    assert summary._replicate_lines() == ["no setting ran with more than one seed to its last epoch, so there is no "
                                          "mean over seeds (replicates.csv lists each setting's run)"]
    columns.update(n=[2, 0], ci95_low=[20.0, math.nan], ci95_high=[26.18, math.nan])
    summary.tables["replicates"] = pd.DataFrame(columns)
    summary.tables["paired"] = pd.DataFrame({"level_a": ["a", "a"], "level_b": ["b", "c"],
                                             "mean_difference": [-0.69, 2.5], "p_paired_t": [math.nan, 0.0312],
                                             "verdict": ["no test at n = 1", "significant at the 5% level, n = 3"]})
    assert summary._replicate_lines() == [
        "mean search_val_acc over seeds, 95% Student-t interval: tau0=0.5889 23.09 [20.00, 26.18], best 23.09 (n=2); "
        "tau0=2.003: no run to its last epoch (n=0)",
        "paired a - b: -0.69, no test at n = 1", "paired a - c: +2.50 (p = 0.031), significant at the 5% level, n = 3"]


@pytest.mark.parametrize("tau, low, high, first", [
    (0.81, 0.35, 0.97, "best predictor of the retrained search_val_acc: synflow, "),
    (-0.32, -1.0, 0.93, "no predictor ranks the retrained search_val_acc better than chance; the highest τ is "
                        "synflow's: "),
    (0.40, -0.20, 0.85, "no predictor ranks the retrained search_val_acc better than chance; the highest τ is "
                        "synflow's: "),
])
def test_the_summary_names_a_best_predictor_only_when_its_interval_is_above_zero(tmp_path, tau, low, high, first):
    from study_folders import write_study_folder

    from harness.analysis.summary import write_analysis

    summary = write_analysis(write_study_folder(tmp_path), plots=False)
    summary.tables["predictors"] = pd.DataFrame({
        "predictor": ["synflow", "params_m"], "kendall_tau": [tau, -0.5], "tau_ci95_low": [low, -1.0],
        "tau_ci95_high": [high, 0.2], "spearman_rho": [tau, -0.6], "n": [6, 6], "note": ["", ""]})
    line = summary._predictor_lines()[0]
    assert line == (f"{first}Kendall τ = {tau:.2f} [{low:.2f}, {high:.2f}], Spearman ρ = {tau:.2f}, n = 6 "
                    f"(all 2: predictors.csv)")


def test_the_best_predictor_is_the_highest_tau_above_chance_not_the_highest_tau(tmp_path):
    """Predictors are ranked on different n (search signals on the searched genotypes only):
    a high τ on 5 genotypes may not rule out chance where a lower one on 20 does."""
    from study_folders import write_study_folder

    from harness.analysis.summary import write_analysis

    summary = write_analysis(write_study_folder(tmp_path), plots=False)
    summary.tables["predictors"] = pd.DataFrame({
        "predictor": ["search_val_acc", "synflow"], "kendall_tau": [0.60, 0.52], "tau_ci95_low": [0.0, 0.29],
        "tau_ci95_high": [1.0, 0.72], "spearman_rho": [0.7, 0.6], "n": [5, 20], "note": ["", ""]})
    assert summary._predictor_lines()[0] == (
        "best predictor of the retrained search_val_acc: synflow, Kendall τ = 0.52 [0.29, 0.72], Spearman ρ = 0.60, "
        "n = 20 (all 2: predictors.csv)")


def test_the_summary_counts_one_trial_in_the_singular(tmp_path):
    from study_folders import TrialSpec, write_study_folder

    from harness.analysis.summary import write_analysis

    lines = write_analysis(write_study_folder(tmp_path, trials=(TrialSpec(0, (41.5, 70.25, 89.99)),)),
                           plots=False).describe().splitlines()
    assert lines[0].startswith("study crafted: 1 trial (1 terminated;")
    assert "1 distinct genotype among 1 trial (each found once; per setting: genotypes.csv)" in lines


def test_the_retrain_comparison_gives_each_genotypes_interval_over_seeds():
    from harness.analysis.tables import retrain_comparison

    trials = _trials([{"arch": "A", "final_val_acc": v, "final_test_acc": v - 1, "params_m": 0.1, "macs_m": 1.0}
                      for v in (1.0, 2.0, 3.0)] + [{"arch": "B", "final_val_acc": 5.0, "final_test_acc": 4.0,
                                                     "params_m": 0.2, "macs_m": 2.0}])
    table = retrain_comparison(trials, {"scores": {"A": 70.0}}).set_index("arch")
    assert table.loc["A", ["seeds", "searched_score", "val_acc_mean", "val_acc_std"]].tolist() == [3, 70.0, 2.0, 1.0]
    assert table.loc["A", "test_acc_ci95_high"] == pytest.approx(1.0 + 4.302652729749464 / 3 ** 0.5)
    assert table.loc["B", "seeds"] == 1 and pd.isna(table.loc["B", "val_acc_ci95_low"])


def test_a_retrain_with_random_genotypes_gets_the_random_baseline_plot(tmp_path):
    runs = [("DARTS_V2", "searched", 90.0), ("DARTS_V2", "searched", 92.0), ("DARTS_V1", "random", 80.0),
            ("DARTS_V1", "random", 84.0), ("SNAS_mild", "random", 95.0), ("SNAS_mild", "random", 93.0)]
    trials = _trials([{"arch": arch, "origin": origin, "seed": i % 2, "score": score, "params_m": 0.2, "macs_m": 2.0}
                      for i, (arch, origin, score) in enumerate(runs)])
    study = validate_study(tiny_study("r", tmp_path, kind="retrain", space={
        "retrain.settings.genotype": {"grid": ["DARTS_V2", "DARTS_V1", "SNAS_mild"]},
        "retrain.settings.seed": {"grid": [0, 1]}}))
    plots = {plot.path.stem: plot.caption for plot in draw_plots(
        PlotInput(study, trials, pd.DataFrame(columns=["trial_id", "training_iteration"]), "val_acc", tmp_path / "p"))}
    assert "ranks among the random ones" in plots["random_baseline"]
    assert "levels_arch" in plots  # each genotype's mean over its seeds


def test_a_new_analysis_removes_the_plots_an_earlier_one_drew_for_another_metric(tmp_path):
    """The plots folder is the analysis's own: a curves plot of the previous ranking metric
    would otherwise stay beside the new one and be embedded in the report as current."""
    from study_folders import write_study_folder

    from harness.analysis.summary import write_analysis

    folder = write_study_folder(tmp_path)
    first = {plot.path.name for plot in write_analysis(folder, metric="child_val_acc").plots}
    assert "curves_child_val_acc.png" in first
    second = {plot.path.name for plot in write_analysis(folder, metric="search_val_acc").plots}
    assert "curves_search_val_acc.png" in second
    assert {path.name for path in (folder / "plots").glob("*.png")} == second
    assert {path.stem for path in (folder / "plots").glob("*.pdf")} == {name[:-4] for name in second}


def test_a_population_study_gets_no_plot_or_table_per_setting(tmp_path):
    """Its trials copy each other's settings as they run: a trial's final τ0 is not what it ran with."""
    space = {"search.temperature.initial": {"grid": [0.5, 2.0]}, "search.temperature.anneal_rate": {"grid": [0.6, 0.9]}}
    trials = _trials([{"tau0": t, "anneal_rate": r, "score": 40.0 + 10 * t + r}
                      for t in (0.5, 2.0) for r in (0.6, 0.9)])
    fixed = _draw(tmp_path / "fifo", space, trials, _curves(trials))
    assert any(name.startswith("heatmap") for name in fixed) and any(name.startswith("score_vs_") for name in fixed)
    pbt = {"name": "pbt", "perturbation_interval": 1,
           "mutations": {"search.temperature.initial": {"uniform": [0.1, 4]}}}
    population = _draw(tmp_path / "pbt", space, trials, _curves(trials), scheduler=pbt)
    assert not any(name.startswith(("heatmap", "score_vs_", "levels_")) for name in population), population
    study = validate_study(tiny_study("p", tmp_path, space=space, scheduler=pbt))
    results = SimpleNamespace(study=study)
    assert EXTRA_TABLES["replicates"](trials, results, {}).empty and EXTRA_TABLES["paired"](trials, results, {}).empty


def test_the_population_plot_draws_a_row_per_seed_with_its_winner_and_control(tmp_path):
    space = {"search.temperature.initial": {"grid": [0.5, 2.0]}, "search.seed": {"grid": [0, 1]},
             "population.control": {"grid": [False, True]}}
    rows = [{"tau0": t, "seed": s, "control": c, "score": 40.0 + 10 * t + s + (5 if c else 0), "exploits": 0}
            for t in (0.5, 2.0) for s in (0, 1) for c in (False, True)]
    trials = _trials(rows)
    curves = _curves(trials)
    curves["epoch"] = curves["training_iteration"]
    pbt = {"name": "pbt", "perturbation_interval": 1,
           "mutations": {"search.temperature.initial": {"uniform": [0.1, 4]}}}
    study = validate_study(tiny_study("p", tmp_path, space=space, scheduler=pbt))
    winners = {s: trials[(trials["seed"] == s) & ~trials["control"] & (trials["tau0"] == 2.0)]["trial_id"].item()
               for s in (0, 1)}
    plots = {plot.path.stem: plot.caption for plot in draw_plots(PlotInput(
        study, trials, curves, "search_val_acc", tmp_path / "plots", settings=_settings(study, trials)))}
    caption = plots["population"]
    assert "one row per population" in caption and "grey dashed: the control trials" in caption
    # each seed's winner is its best population trial, not a control trial scoring higher
    assert f"seed 0: {winners[0]}; seed 1: {winners[1]}" in caption


def test_proxy_picked_genotypes_join_the_random_baseline_with_what_each_selection_cost(tmp_path):
    runs = [("DARTS_V2", "searched", 90.0), ("proxy_0", "proxy", 88.0), ("proxy_1", "proxy", 80.0),
            ("random_0", "random", 85.0), ("random_1", "random", 82.0)]
    trials = _trials([{"arch": arch, "origin": origin, "seed": 0, "score": score, "params_m": 0.2, "macs_m": 2.0}
                      for arch, origin, score in runs])
    selection = {"searched": {"hours": 1.5, "what": "search trials' wall time, summed"},
                 "proxy": {"seconds": 2.25, "what": "synflow on a pool of 10 (batch 64, seed 0), CPU"},
                 "random": {"seconds": 0.0, "what": "uniform draws"}}
    table = random_baseline(trials, "max", selection)
    assert list(table["arch"]) == ["DARTS_V2", "proxy_0", "proxy_1", "random_0", "random_1"]
    assert list(table["rank_among_random"]) == ["rank 1 of 3 (beats 2 of 2 random)",
                                                "rank 1 of 3 (beats 2 of 2 random)",
                                                "rank 3 of 3 (beats 0 of 2 random)", "", ""]
    assert list(table["selection_cost"].unique()) == ["1.5 h (search trials' wall time, summed)",
                                                      "2.25 s (synflow on a pool of 10 (batch 64, seed 0), CPU)",
                                                      "0 s (uniform draws)"]
    study = validate_study(tiny_study("r", tmp_path, kind="retrain", space={  # the plot reads the labels only
        "retrain.settings.genotype": {"grid": ["DARTS_V2", "DARTS_V1", "SNAS_mild", "SNAS_moderate", "GDAS_V1"]}}))
    plots = {plot.path.stem: plot.caption for plot in draw_plots(
        PlotInput(study, trials, pd.DataFrame(columns=["trial_id", "training_iteration"]), "val_acc", tmp_path / "p",
                  tables={"random_baseline": table}))}
    assert "of the searched, proxy, random genotypes" in plots["random_baseline"]
    assert "searched or proxy-picked genotype ranks" in plots["random_baseline"]


_PBT = {"name": "pbt", "perturbation_interval": 1, "mutations": {"search.temperature.initial": {"uniform": [0.1, 4]}}}
_POPULATION_SPACE = {"search.temperature.initial": {"grid": [0.5, 2.0]},
                     "search.temperature.anneal_rate": {"grid": [0.6, 0.9]},
                     "population.control": {"grid": [False, True]}}


def _population_input(tmp_path, perturbed: bool) -> PlotInput:
    """A PBT study's plot input whose first population trial, when ``perturbed``, ran epoch 2
    with a τ0 PBT drew (the curves carry the value in force at each epoch)."""
    rows = [{"tau0": t, "anneal_rate": r, "control": c, "score": 40.0 + 10 * t + r, "exploits": 0}
            for t in (0.5, 2.0) for r in (0.6, 0.9) for c in (False, True)]
    trials = _trials(rows)
    curves = _curves(trials)
    curves["control"] = curves["trial_id"].map(trials.set_index("trial_id")["control"])
    if perturbed:
        curves.loc[(curves["trial_id"] == "t_00000") & (curves["training_iteration"] == 2), "tau0"] = 1.4724136691264986
    study = validate_study(tiny_study("p", tmp_path, space=_POPULATION_SPACE, scheduler=_PBT))
    return PlotInput(study, trials, curves, "search_val_acc", tmp_path / "plots", settings=_settings(study, trials))


def test_a_setting_pbt_changed_mid_run_colours_no_line_and_the_arms_do(tmp_path):
    """A line coloured by τ0 would change colour where PBT perturbed it (and seaborn would
    split it in two): the arms colour the lines instead, each trial one colour throughout."""
    data = _population_input(tmp_path, perturbed=True)
    assert not data.held("tau0") and data.held("anneal_rate")
    view = epoch_view(data, panel="anneal_rate")
    assert view.hue == "control" and view.panel == "anneal_rate"
    assert list(view.colours) == ["population", "control (fixed)"]
    assert view.curves.groupby("trial_id")["control"].nunique().eq(1).all()
    assert view.curves.set_index("trial_id")["control"].loc["t_00001"].eq("control (fixed)").all()
    assert "tau0 changes within trials (perturbed by PBT), so no colour or panel stands for it" in view.notes
    captions = {plot.path.stem: plot.caption for plot in draw_plots(data)}
    for name in ("curves_search_val_acc", "trajectories", "health"):
        if name in captions:
            assert "colour: control;" in captions[name] and "tau0 changes within trials" in captions[name], name


def test_a_setting_no_trial_changed_still_colours_a_population_study(tmp_path):
    view = epoch_view(_population_input(tmp_path, perturbed=False), panel="anneal_rate")
    assert (view.hue, view.panel, view.notes) == ("tau0", "anneal_rate", ())


def test_a_setting_changed_mid_run_makes_no_panels(tmp_path):
    data = _population_input(tmp_path, perturbed=False)
    data.curves.loc[data.curves["trial_id"] == "t_00002", "anneal_rate"] = [0.9, 0.7]
    view = epoch_view(data, panel="anneal_rate")
    assert view.hue == "tau0" and view.panel is None
    assert view.notes == ("anneal_rate changes within trials (perturbed by PBT), so no colour or panel stands for it",)


def test_drawn_values_colour_the_lines_in_four_significant_digits(tmp_path):
    """A random search's τ0 is a drawn float: its legend reads 1.472, not 1.4724136691264986;
    the groups keep the numbers' order."""
    space = {"search.temperature.initial": {"loguniform": [0.1, 8.0]}}
    trials = _trials([{"tau0": tau, "score": 50.0 + tau} for tau in (1.4724136691264986, 0.5, 4.362982591332891)])
    study = validate_study(tiny_study("p", tmp_path, space=space, searcher={"name": "random", "seed": 0,
                                                                                "num_samples": 3}))
    view = epoch_view(PlotInput(study, trials, _curves(trials), "search_val_acc", tmp_path / "plots"))
    assert view.hue == "tau0" and list(view.colours) == ["0.5", "1.472", "4.363"]
    grid = epoch_view(_population_input(tmp_path, perturbed=False))
    assert pd.api.types.is_float_dtype(grid.curves["tau0"])  # grid values print whole already


def test_the_population_plot_says_which_control_lines_lie_on_a_population_trials(tmp_path):
    """A population trial never copied ran the same computation as its control twin: its
    line hides the twin's, which the caption says (and the dashes are drawn on top)."""
    space = {"search.temperature.initial": {"grid": [0.5, 2.0]}, "population.control": {"grid": [False, True]}}
    trials = _trials([{"tau0": t, "control": c, "score": 40.0 + 10 * t + (5 if c and t == 0.5 else 0),
                       "exploits": 0} for t in (0.5, 2.0) for c in (False, True)])
    curves = _curves(trials)
    curves["epoch"] = curves["training_iteration"]
    study = validate_study(tiny_study("p", tmp_path, space=space, scheduler=_PBT))
    plots = {plot.path.stem: plot.caption for plot in draw_plots(PlotInput(
        study, trials, curves, "search_val_acc", tmp_path / "plots", settings=_settings(study, trials)))}
    assert "1 of them coincide with a population trial never copied" in plots["population"]


def test_the_best_trials_line_gives_a_drawn_setting_in_four_significant_digits(tmp_path):
    """A perturbed or drawn anneal rate of 0.9649571709535181 reads 0.965 (best.json keeps it whole)."""
    from study_folders import write_study_folder

    from harness.analysis.summary import write_analysis

    summary = write_analysis(write_study_folder(tmp_path), plots=False)
    key = next(iter(summary.results.study.space))
    summary.best[0]["config"][key] = 0.9649571709535181
    line = next(line for line in summary.describe().splitlines() if line.startswith("best trial"))
    assert line.endswith("=0.965") or "=0.965," in line, line
