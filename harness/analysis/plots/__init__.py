"""The study's plots, each drawn only when the study varied what it needs.

Every plot is written as PNG (for the report and quick looks) and PDF (for papers) into
``plots/``.  ``draw_plots`` returns the PNG paths in a stable order with a caption each.
Which plots a study can have is its trial kind's (:attr:`harness.kinds.TrialKind.plots`);
each then draws only when the study varied what it needs.  One module per plot family,
named for what it shows; :mod:`.common` holds what they share.  Importing this package
changes no matplotlib setting: the file backend and the theme are set when the first plot
is drawn.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import matplotlib
import seaborn as sns

from harness.analysis.plots.asha import plot_asha_rungs
from harness.analysis.plots.cells import plot_best_cells
from harness.analysis.plots.common import Plot, PlotInput, scale_note
from harness.analysis.plots.curves import plot_curves
from harness.analysis.plots.effects import plot_final_vs_setting, plot_heatmap
from harness.analysis.plots.front import plot_front
from harness.analysis.plots.health import HEALTH_METRICS, plot_health
from harness.analysis.plots.levels import plot_levels
from harness.analysis.plots.pareto import pareto_front, plot_pareto
from harness.analysis.plots.population import plot_population
from harness.analysis.plots.predictors import plot_predictors
from harness.analysis.plots.retraining import plot_random_baseline, plot_retrain_vs_search
from harness.analysis.plots.trajectories import plot_trajectories

__all__ = ["HEALTH_METRICS", "PLOTS", "Plot", "PlotInput", "draw_plots", "pareto_front", "scale_note"]

PLOTS: dict[str, Callable[[PlotInput], Plot | list[Plot] | None]] = {
    "front": plot_front,
    "curves": plot_curves, "final_vs_setting": plot_final_vs_setting, "levels": plot_levels, "pareto": plot_pareto,
    "heatmap": plot_heatmap, "trajectories": plot_trajectories, "health": plot_health, "asha_rungs": plot_asha_rungs,
    "retrain_vs_search": plot_retrain_vs_search, "random_baseline": plot_random_baseline,
    "predictors": plot_predictors,
    "best_cells": plot_best_cells, "population": plot_population,
}
"""Every plot by name, in the order they are drawn (and shown in the report)."""

SETTING_PLOTS = frozenset({"final_vs_setting", "levels", "heatmap"})
"""Plots that group trials by their varied settings: not drawn for a population-based study,
whose trials copy each other's settings as they run (a trial's settings are a trajectory,
its final ones not what it ran with; the comparison is ``population_vs_control``)."""


@functools.cache
def _prepare_figures() -> None:
    """Draw into files (no window, no display needed) in the plots' theme; once per process."""
    matplotlib.use("Agg")
    sns.set_theme(style="whitegrid", context="notebook")


def draw_plots(data: PlotInput) -> list[Plot]:
    """The plots of ``data``'s study that its results allow: its trial kind's and its scheduler's."""
    _prepare_figures()
    plots: list[Plot] = []
    wanted = set(data.kind.plots) | set(data.study.scheduler.plots)
    if data.study.multi_objective:
        wanted.add("front")
    if data.study.scheduler.copies_trials:
        wanted -= SETTING_PLOTS
    for name, plot in PLOTS.items():
        if name not in wanted:
            continue
        made = plot(data)
        if isinstance(made, Plot):
            plots.append(made)
        elif made:
            plots.extend(made)
    return plots
