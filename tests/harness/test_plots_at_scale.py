"""Plots stay readable at scale (harness.analysis.plots.crowding): a line per trial up to the
limit and bands above it, bounded legends and panels, a heat map of a setting with many
values in quantile bins -- on fabricated trials tables (no Ray, no training)."""

from __future__ import annotations

import random

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection, PolyCollection, QuadMesh
from study_helpers import tiny_study

from harness.analysis.plots import PlotInput, curves, draw_plots, effects, health, pareto, trajectories
from harness.analysis.plots.crowding import MAX_COLOURS, OTHER, group_values
from harness.study import validate_study

TAU0, RATE = "search.temperature.initial", "search.temperature.anneal_rate"
GRID = {TAU0: {"grid": [0.5, 1.0, 2.0]}, RATE: {"grid": [0.5, 0.6, 0.8, 0.9]}}  # 12 trials
CONTINUOUS = {TAU0: {"uniform": [0.5, 4.0]}, RATE: {"uniform": [0.5, 0.95]}}


def _study(tmp_path, space):
    searcher = {"name": "random", "num_samples": 60} if "uniform" in space[TAU0] else {"name": "grid"}
    return validate_study(tiny_study("scale", tmp_path, space=space, searcher=searcher,
                                     search={"resource": {"method": "none"}}))


def _trials(settings: list[dict]) -> pd.DataFrame:
    """Finished two-epoch trials, the score rising with τ0."""
    rows = [{"trial_id": f"t_{i:05d}", **s, "state": "TERMINATED", "stopped_early": False, "diverged": False,
             "epochs": 2, "configured_epochs": 2, "score": 40.0 + 10 * s["tau0"] + i % 3, "eval_params_m": 0.2 + i,
             "eval_macs_m": 2.0 + i, "genotype": None} for i, s in enumerate(settings)]
    return pd.DataFrame(rows)


def _curves(trials: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame([{"trial_id": row["trial_id"], "training_iteration": epoch,
                          "search_val_acc": row["score"] - 2 + epoch, "normal_skip_connect": epoch % 2,
                          "temperature": row["tau0"] * row["anneal_rate"] ** epoch,
                          "tau0": row["tau0"], "anneal_rate": row["anneal_rate"]}
                         for _, row in trials.iterrows() for epoch in (1, 2)])


def _grid_trials() -> pd.DataFrame:
    return _trials([{"tau0": t, "anneal_rate": a} for t in (0.5, 1.0, 2.0) for a in (0.5, 0.6, 0.8, 0.9)])


def _random_trials(n: int) -> pd.DataFrame:
    draw = random.Random(0)
    return _trials([{"tau0": draw.uniform(0.5, 4.0), "anneal_rate": draw.uniform(0.5, 0.95)} for _ in range(n)])


@pytest.fixture
def figures(monkeypatch):
    """Every figure the plots draw, by file stem, kept open for inspection and not written
    (what is drawn is tested here; the writing, by test_analysis_plots)."""
    drawn = {}

    def keep(fig, folder, name):
        drawn[name] = fig
        return folder / f"{name}.png"

    for module in (curves, effects, health, pareto, trajectories):
        monkeypatch.setattr(module, "save", keep)
    yield drawn
    for fig in drawn.values():
        plt.close(fig)


def _draw(tmp_path, space, trials, **changes):
    study = _study(tmp_path, space)
    return {plot.path.stem: plot.caption for plot in draw_plots(
        PlotInput(study, trials, _curves(trials), "search_val_acc", tmp_path / "plots", **changes))}


def _lines(ax) -> int:
    """The lines drawn on ``ax`` (not seaborn's empty legend proxies)."""
    return sum(len(line.get_xdata()) > 0 for line in ax.lines)


def _legends(fig) -> list[list[str]]:
    """The entries of each legend of ``fig`` (a seaborn figure-level plot's is the figure's)."""
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend())]
    return [[text.get_text() for text in legend.get_texts()] for legend in legends]


def test_a_study_at_the_limit_draws_a_line_per_trial_and_one_past_it_draws_bands(tmp_path, figures):
    trials = _grid_trials()
    lines = _draw(tmp_path / "at", GRID, trials, every_trial_limit=12)
    assert lines["curves_search_val_acc"] == "search_val_acc per epoch; colour: tau0; panels: anneal_rate"
    panels = figures["curves_search_val_acc"].axes
    assert [_lines(ax) for ax in panels] == [3, 3, 3, 3]  # a line per trial: 3 τ0 per anneal rate
    assert not any(isinstance(c, PolyCollection) for ax in panels for c in ax.collections)

    bands = _draw(tmp_path / "past", GRID, trials, every_trial_limit=11)
    assert bands["curves_search_val_acc"].startswith(
        "search_val_acc per epoch; colour: tau0; panels: anneal_rate; 12 trials, more than 11, so instead of a line "
        "per trial: each colour's median (line) and the 25–75 % and 10–90 % ranges of its trials (bands), at each "
        "epoch over the trials that reached it")
    panels = [ax for ax in figures["curves_search_val_acc"].axes if ax.get_visible()]
    assert [_lines(ax) for ax in panels] == [3, 3, 3, 3]  # a median per τ0
    assert [sum(isinstance(c, PolyCollection) for c in ax.collections) for ax in panels] == [6, 6, 6, 6]
    assert "12 trials, more than 11" in bands["health"] and "12 trials, more than 11" in bands["trajectories"]
    assert "12 runs, more than 11: dots = runs, translucent" in bands["score_vs_tau0"]


def test_a_setting_with_many_values_gets_binned_colours_and_panels_however_few_the_trials(tmp_path, figures):
    plots = _draw(tmp_path, CONTINUOUS, _random_trials(20))
    assert plots["curves_search_val_acc"] == ("search_val_acc per epoch; colour: tau0; panels: anneal_rate; "
                                              "tau0 in 5 quantile bins of 20 values; anneal_rate in 3 quantile "
                                              "bins of 20 values")
    curve_figure = figures["curves_search_val_acc"]
    assert len(curve_figure.axes) == 3  # not 20 panels
    assert sum(_lines(ax) for ax in curve_figure.axes) == 20  # still a line per trial
    assert [len(entries) for entries in _legends(curve_figure)] == [5]
    assert [len(entries) for entries in _legends(figures["health"])] == [5]


def test_legends_of_a_large_random_search_stay_bounded(tmp_path, figures):
    trials = _random_trials(60)
    plots = _draw(tmp_path, CONTINUOUS, trials)
    for name, figure in figures.items():
        assert all(len(entries) <= MAX_COLOURS + 2 for entries in _legends(figure)), name  # + the bands' two keys
    (entries,) = _legends(figures["curves_search_val_acc"])
    tau0 = trials["tau0"]
    assert len(entries) == 5 + 2 and entries[-2:] == ["10%–90% of all trials", "25%–75% of all trials"]  # 5 > 3
    assert entries[0].startswith(f"{tau0.min():.3g}–") and entries[4].endswith(f"–{tau0.max():.3g}")
    assert "colour: anneal_rate (anneal_rate in 5 quantile bins of 60 values)" in plots["score_vs_tau0"]
    assert "the mean of the finished runs of each quantile bin (tau0 in 8 quantile bins" in plots["score_vs_tau0"]
    dots = [c for c in figures["score_vs_tau0"].axes[0].collections if isinstance(c, PathCollection)]
    assert all(c.get_rasterized() for c in dots) and sum(len(c.get_offsets()) for c in dots) == 60
    assert "60 trials, more than 50: dots translucent" in plots["pareto"]


def test_the_heat_map_of_a_setting_with_50_values_is_drawn_in_quantile_bins(tmp_path, figures):
    trials = _trials([{"tau0": 0.5 + i / 10, "anneal_rate": 0.6 if i % 2 else 0.9} for i in range(50)])
    plots = _draw(tmp_path, CONTINUOUS, trials)
    assert plots["heatmap_tau0_anneal_rate"].endswith("; tau0 in 8 quantile bins of 50 values")
    mesh = next(c for c in figures["heatmap_tau0_anneal_rate"].axes[0].collections if isinstance(c, QuadMesh))
    means = np.asarray(mesh.get_array()).reshape(8, 2)
    # the first bin holds τ0 = 0.5 ... 1.1 (7 trials): scores 40 + 10 τ0 + i % 3 for i = 0..6
    first = [(40 + 10 * (0.5 + i / 10) + i % 3, i % 2) for i in range(7)]
    assert means[0, 0] == pytest.approx(np.mean([s for s, odd in first if odd]))  # anneal 0.6: odd i
    assert means[0, 1] == pytest.approx(np.mean([s for s, odd in first if not odd]))
    labels = [t.get_text() for t in figures["heatmap_tau0_anneal_rate"].axes[0].get_yticklabels()]
    assert labels[0] == "0.5–1.1" and labels[-1].endswith("–5.4") and len(labels) == 8


def test_quantile_bins_are_labelled_by_the_values_they_hold():
    values = pd.Series([float(v) for v in range(1, 11)], index=[f"t{v}" for v in range(1, 11)])
    grouping = group_values(values, most=6, bins=5, name="tau0")
    assert list(grouping.labels.cat.categories) == ["1–2", "3–4", "5–6", "7–8", "9–10"]
    assert grouping.note == "tau0 in 5 quantile bins of 10 values"
    keys = pd.Series(["t10", "t1", "t10"])  # a per-epoch table's rows, by trial
    assert list(grouping.of(keys)) == ["9–10", "1–2", "9–10"]
    assert group_values(values, most=10, bins=5, name="tau0").note == ""  # few enough: the values themselves


def test_a_setting_that_is_not_numeric_keeps_its_most_frequent_values_and_other():
    values = pd.Series(["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d", "e"])
    grouping = group_values(values, most=4, bins=5, name="arch")
    assert list(grouping.labels) == ["a"] * 5 + ["b"] * 4 + ["c"] * 3 + [OTHER] * 2
    assert grouping.note == f"arch: its 3 most frequent of 5 values, the rest as {OTHER}"
