"""Accuracy against the size of the derived network, with the Pareto front of the finished runs."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from harness.analysis.plots.common import Plot, PlotInput, budget_note, save, scale_note
from harness.analysis.plots.marks import SOLID, dots_for, run_dots
from harness.analysis.replicates import finished

MACS_LABEL = "MACs (M)"
PARAMS_LABEL = "parameters (M)"
SIZE_CONVENTIONS = "MACs: multiply-accumulates per image; parameters: auxiliary head excluded"


def pareto_front(cost: np.ndarray, accuracy: np.ndarray) -> np.ndarray:
    """Indices of the trials no other trial beats on both lower cost and higher accuracy."""
    order = np.lexsort((-accuracy, cost))
    front, best = [], -np.inf
    for i in order:
        if accuracy[i] > best:
            front.append(i)
            best = accuracy[i]
    return np.array(front, dtype=int)


def plot_pareto(data: PlotInput) -> Plot | None:
    """Accuracy against MACs and parameters at evaluation scale, Pareto front of the finished runs."""
    macs, params, scale = data.kind.pareto
    table = data.trials.dropna(subset=[macs, params, "score"])
    if len(table) < 2:
        return None
    complete = finished(table).to_numpy()
    accuracy_values = table["score"].to_numpy(float)
    dots = dots_for(data)
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.9), sharey=True)
    for ax, cost, label in ((axes[0], macs, MACS_LABEL), (axes[1], params, PARAMS_LABEL)):
        values = table[cost].to_numpy(float)
        if dots is SOLID:
            ax.scatter(values[complete], accuracy_values[complete], color="0.55", s=22, label="trials")
            if (~complete).any():
                ax.scatter(values[~complete], accuracy_values[~complete], facecolors="none", edgecolors="0.4", s=26,
                           label="stopped early (ASHA)")
        else:
            run_dots(ax, values, table, "0.4", dots)
        if complete.sum() >= 2:
            front = np.flatnonzero(complete)[pareto_front(values[complete], accuracy_values[complete])]
            ax.plot(values[front], accuracy_values[front], "-o", color="tab:red", ms=5, label="Pareto front")
        ax.set_xlabel(label)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        if dots is SOLID:
            ax.legend(loc="lower right", fontsize=8)
        else:
            ax.legend(*_crowd_legend(ax, data), loc="lower right", fontsize=8)
    axes[0].set_ylabel(f"{data.metric} (%)")
    counted = scale_note(data, macs.removesuffix("macs_m"))
    fig.suptitle(f"{data.metric} against the size of the derived network{scale}\n"
                 f"{counted + '; ' if counted else ''}{SIZE_CONVENTIONS}", fontsize=10)
    return Plot(save(fig, data.folder, "pareto"),
                f"accuracy against MACs and parameters{scale}{' (' + counted + ')' if counted else ''}; "
                f"red: the Pareto front of the finished trials{budget_note(data)}"
                + (f"; {len(table)} trials, more than {data.every_trial_limit}: dots translucent, rasterised in the PDF"
                   if data.crowded else ""))


def _crowd_legend(ax: plt.Axes, data: PlotInput) -> tuple[list, list[str]]:
    """The legend of translucent dots: its keys solid (a key as faint as one dot of thousands
    is unreadable), the front's line as drawn."""
    keys = [Line2D([], [], marker="o", color="0.4", linestyle="none", markersize=5)]
    labels = ["trials"]
    if data.any_stopped:
        keys.append(Line2D([], [], marker="o", color="0.4", markerfacecolor="none", linestyle="none", markersize=5))
        labels.append("stopped early (ASHA)")
    handles, names = ax.get_legend_handles_labels()
    return keys + handles, labels + names
