"""The study's plots, each drawn only when the study varied what it needs.

Every plot is written as PNG (for the report and quick looks) and PDF (for papers) into
``plots/``.  ``draw_plots`` returns the PNG paths in a stable order with a caption each.
Which plots a study can have is its trial kind's (:attr:`harness.kinds.TrialKind.plots`);
each then draws only when the study varied what it needs.  Importing this module changes
no matplotlib setting: the file backend and the theme are set when the first plot is drawn.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator, NullLocator

from harness.kinds import TrialKind
from harness.study import Study
from snas.atomic import atomic_write
from snas.draw import genotype_figure
from snas.spaces import parse_genotype

MACS_LABEL = "MACs (M, multiply-accumulates)"
PARAMS_LABEL = "parameters (M, auxiliary head excluded)"


@dataclass(frozen=True)
class Plot:
    path: Path
    caption: str


@dataclass
class PlotInput:
    study: Study
    trials: pd.DataFrame
    curves: pd.DataFrame
    metric: str
    folder: Path
    best: list[dict[str, Any]] = field(default_factory=list)
    """The winners (``best.json``'s trials), best first."""

    @property
    def varied(self) -> dict[str, str]:
        """Short names of the varied settings, in study order."""
        return self.kind.short_names(list(self.study.space))

    def has(self, name: str) -> bool:
        return name in self.varied.values() and name in self.trials and self.trials[name].nunique() > 1

    @property
    def kind(self) -> TrialKind:
        return self.study.trial_kind


def _save(fig: plt.Figure, folder: Path, name: str) -> Path:
    """Write the figure as PNG and PDF, each atomically (a report read meanwhile never
    embeds half a picture)."""
    png = atomic_write(folder / f"{name}.png", lambda handle: fig.savefig(handle, format="png", dpi=130,
                                                                          bbox_inches="tight"))
    atomic_write(folder / f"{name}.pdf", lambda handle: fig.savefig(handle, format="pdf", bbox_inches="tight"))
    plt.close(fig)
    return png


def _hue(data: PlotInput) -> str:
    for name in ("tau0", "lambda", "penalty", "method", "arch"):
        if data.has(name):
            return name
    return "trial_id"


def _ordered_palette(values: pd.Series) -> list | None:
    """Viridis for a numeric setting, without its last (yellow, near-invisible) shade."""
    if not pd.api.types.is_numeric_dtype(values):
        return None
    levels = values.nunique()
    return sns.color_palette("viridis", levels + 1)[:levels]


def plot_curves(data: PlotInput) -> Plot | None:
    """Accuracy per epoch, a line per trial (seed 000's Figure 1), faceted by anneal rate."""
    metric = next((m for m in data.kind.curve_metrics if m in data.curves), None)
    if not len(data.curves) or metric is None:
        return None
    col = "anneal_rate" if data.has("anneal_rate") else None
    hue = _hue(data)
    panels = min(3, data.curves[col].nunique()) if col else None
    grid = sns.relplot(data=data.curves, x="training_iteration", y=metric, hue=hue, units="trial_id",
                       estimator=None, kind="line", col=col, col_wrap=panels, height=3.4, aspect=1.3,
                       palette=_ordered_palette(data.curves[hue]), marker="o", markersize=5)
    grid.set_axis_labels("epoch", f"{metric} (%)")
    for ax in grid.axes.flat:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    grid.figure.suptitle(f"{metric} per epoch, one line per trial", y=1.03)
    return Plot(_save(grid.figure, data.folder, f"curves_{metric}"),
                f"{metric} per epoch; colour: {hue}" + (f"; panels: {col}" if col else ""))


def plot_final_vs_setting(data: PlotInput) -> list[Plot]:
    """Final score against initial temperature and anneal rate: mean and spread over the rest."""
    plots = []
    for name in ("tau0", "anneal_rate", "lambda", "tau_min"):
        if not data.has(name):
            continue
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
        sns.lineplot(data=data.trials, x=name, y="score", errorbar="sd", marker="o", ax=ax)
        ax.scatter(data.trials[name], data.trials["score"], color="0.3", s=14, alpha=0.6, zorder=3)
        values = sorted(data.trials[name].dropna().unique())
        if name in ("lambda", "tau0") and values[0] > 0:
            ax.set_xscale("log")
        if len(values) <= 10:
            ax.set_xticks(values, [f"{v:g}" for v in values])
            ax.xaxis.set_minor_locator(NullLocator())
        ax.set_ylabel(f"{data.metric} (%)")
        ax.set_title(f"{data.metric} vs {name} (mean ± sd over trials)")
        plots.append(Plot(_save(fig, data.folder, f"score_vs_{name}"),
                          f"final {data.metric} against {name}: line = mean ± sd, dots = trials"))
    return plots


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
    """Accuracy against MACs and parameters at evaluation scale, Pareto front marked."""
    macs, params, scale = data.kind.pareto
    table = data.trials.dropna(subset=[macs, params, "score"])
    if len(table) < 2:
        return None
    accuracy_values = table["score"].to_numpy(float)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for ax, cost, label in ((axes[0], macs, MACS_LABEL), (axes[1], params, PARAMS_LABEL)):
        values = table[cost].to_numpy(float)
        ax.scatter(values, accuracy_values, color="0.55", s=22, label="trials")
        front = pareto_front(values, accuracy_values)
        ax.plot(values[front], accuracy_values[front], "-o", color="tab:red", ms=5, label="Pareto front")
        ax.set_xlabel(label + scale)
        ax.legend(loc="lower right", fontsize=8)
    axes[0].set_ylabel(f"{data.metric} (%)")
    fig.suptitle(f"{data.metric} against the size of the derived network")
    return Plot(_save(fig, data.folder, "pareto"), "accuracy against MACs and parameters; red: the Pareto front")


def plot_penalty_lambda(data: PlotInput) -> Plot | None:
    """Penalty estimator × λ: score distribution per combination."""
    if not (data.has("penalty") or data.has("lambda")):
        return None
    x = "lambda" if data.has("lambda") else "penalty"
    hue = "penalty" if data.has("penalty") and x != "penalty" else None
    fig, ax = plt.subplots(figsize=(6.5, 4))
    sns.boxplot(data=data.trials, x=x, y="score", hue=hue, ax=ax, fill=False)
    sns.stripplot(data=data.trials, x=x, y="score", hue=hue, dodge=hue is not None, ax=ax, size=4,
                  legend=False, palette="dark:0.3" if hue is None else None)
    ax.set_ylabel(f"{data.metric} (%)")
    ax.set_title(f"{data.metric} by {x}" + (f" and {hue}" if hue else ""))
    return Plot(_save(fig, data.folder, "penalty_lambda"), f"{data.metric} by {x}" + (f" × {hue}" if hue else ""))


def plot_heatmap(data: PlotInput) -> Plot | None:
    """Mean score over the first two varied settings with few distinct values."""
    candidates = [n for n in data.varied.values() if data.has(n) and data.trials[n].nunique() <= 12]
    if len(candidates) < 2:
        return None
    rows, cols = candidates[:2]
    table = data.trials.pivot_table(index=rows, columns=cols, values="score", aggfunc="mean")
    fig, ax = plt.subplots(figsize=(1.2 * len(table.columns) + 3, 0.6 * len(table.index) + 2))
    sns.heatmap(table, annot=True, fmt=".1f", cmap="viridis", ax=ax, cbar_kws={"label": f"mean {data.metric} (%)"})
    ax.set_title(f"mean {data.metric} over {rows} × {cols}")
    return Plot(_save(fig, data.folder, f"heatmap_{rows}_{cols}"), f"mean {data.metric} over {rows} × {cols}")


def plot_trajectories(data: PlotInput) -> Plot | None:
    """Temperature and resource cost per epoch for every trial."""
    if not len(data.curves) or "temperature" not in data.curves:
        return None
    hue = _hue(data)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, metric, label in ((axes[0], "temperature", "temperature τ"), (axes[1], "cost", "resource cost")):
        sns.lineplot(data=data.curves, x="training_iteration", y=metric, hue=hue, units="trial_id",
                     estimator=None, ax=ax, legend=ax is axes[1], palette=_ordered_palette(data.curves[hue]))
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(label)
    axes[0].set_yscale("log")
    fig.suptitle("temperature and resource-cost trajectories")
    return Plot(_save(fig, data.folder, "trajectories"),
                f"temperature (log scale) and resource cost per epoch; colour: {hue}")


def asha_rungs(grace_period: int, reduction_factor: float, max_t: int) -> list[int]:
    rungs, rung = [], float(grace_period)
    while rung < max_t:
        rungs.append(int(rung))
        rung *= reduction_factor
    return rungs + [max_t]


def plot_asha_rungs(data: PlotInput) -> Plot | None:
    """How many trials reached each ASHA rung."""
    s = data.study.scheduler
    if s.name != "asha" or not len(data.trials):
        return None
    rungs = asha_rungs(s.grace_period, s.reduction_factor, s.max_t or data.study.epochs)
    counts = [int((data.trials["epochs"] >= r).sum()) for r in rungs]
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.bar([str(r) for r in rungs], counts, color="tab:blue")
    for i, c in enumerate(counts):
        ax.text(i, c, str(c), ha="center", va="bottom")
    ax.set_xlabel("rung (epochs)")
    ax.set_ylabel("trials reaching it")
    ax.set_title(f"ASHA survival ({len(data.trials)} trials)")
    return Plot(_save(fig, data.folder, "asha_rungs"), "number of trials that reached each ASHA rung")


def plot_retrain_vs_search(data: PlotInput) -> Plot | None:
    """Retrained accuracy per genotype against the accuracy its search reported."""
    source = data.study.source or {}
    scores = source.get("scores") or {}
    if not scores or "arch" not in data.trials:
        return None
    table = data.trials.assign(searched=data.trials["arch"].map(scores)).dropna(subset=["searched"])
    if not len(table):
        return None
    fig, ax = plt.subplots(figsize=(6, 4.2))
    sns.scatterplot(data=table, x="searched", y="score", hue="arch", size="params_m", sizes=(40, 220), ax=ax)
    ax.set_xlabel(f"searched {source.get('metric', 'accuracy')} (%)")
    ax.set_ylabel(f"retrained {data.metric} (%)")
    ax.set_title("retrained vs searched accuracy (size: parameters in M)")
    ax.legend(fontsize=7, bbox_to_anchor=(1.02, 1), loc="upper left")
    return Plot(_save(fig, data.folder, "retrain_vs_search"),
                "retrained accuracy of each genotype (and seed) against the accuracy its search reported")


def plot_best_cells(data: PlotInput) -> Plot | None:
    """The winner's cells (normal and reduction, or its space's one cell)."""
    if not data.best or not data.best[0].get("genotype"):
        return None
    top = data.best[0]
    genotype = parse_genotype(str(top["genotype"]))
    fig = genotype_figure(genotype, f"best trial {top['trial_id']}: {data.metric} = {top['score']:.2f}")
    return Plot(_save(fig, data.folder, "best_cells"),
                f"cells of the best genotype (trial {top['trial_id']}, ranked by {data.metric})")


PLOTS: dict[str, Callable[[PlotInput], Plot | list[Plot] | None]] = {
    "curves": plot_curves, "final_vs_setting": plot_final_vs_setting, "pareto": plot_pareto,
    "penalty_lambda": plot_penalty_lambda, "heatmap": plot_heatmap, "trajectories": plot_trajectories,
    "asha_rungs": plot_asha_rungs, "retrain_vs_search": plot_retrain_vs_search, "best_cells": plot_best_cells,
}
"""Every plot by name, in the order they are drawn (and shown in the report)."""


@functools.cache
def _prepare_figures() -> None:
    """Draw into files (no window, no display needed) in the plots' theme; once per process."""
    matplotlib.use("Agg")
    sns.set_theme(style="whitegrid", context="notebook")


def draw_plots(data: PlotInput) -> list[Plot]:
    """The plots of ``data``'s study that its results allow."""
    _prepare_figures()
    plots: list[Plot] = []
    for name, plot in PLOTS.items():
        if name not in data.kind.plots:
            continue
        made = plot(data)
        if isinstance(made, Plot):
            plots.append(made)
        elif made:
            plots.extend(made)
    return plots
