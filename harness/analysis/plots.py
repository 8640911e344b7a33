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
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

from harness.analysis.replicates import (
    INTERVAL,
    factor_columns,
    finished,
    replicate_table,
    seed_columns,
    summarize,
)
from harness.analysis.scale import Scale, describe_scales
from harness.analysis.tables import random_baseline
from harness.kinds import TrialKind
from harness.study import Study
from snas.atomic import atomic_write
from snas.draw import genotype_figure
from snas.methods import METHODS
from snas.spaces import parse_genotype

MACS_LABEL = "MACs (M)"
PARAMS_LABEL = "parameters (M)"
SIZE_CONVENTIONS = "MACs: multiply-accumulates per image; parameters: auxiliary head excluded"
HOLLOW_NOTE = ("hollow markers: stopped early by ASHA, their score is from fewer epochs "
               "and is left out of every mean")


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
    scales: dict[str, list[Scale]] = field(default_factory=dict)
    """The networks the size metrics were counted on, by metric prefix (:mod:`.scale`)."""

    @property
    def varied(self) -> dict[str, str]:
        """Short names of the varied settings, in study order."""
        return self.kind.short_names(list(self.study.space))

    def has(self, name: str) -> bool:
        return name in self.varied.values() and name in self.trials and self.trials[name].nunique() > 1

    @property
    def kind(self) -> TrialKind:
        return self.study.trial_kind

    @property
    def factors(self) -> list[str]:
        """The varied settings that are not seeds and took more than one value."""
        return [name for name in factor_columns(self.study, self.trials) if self.has(name)]

    @property
    def seeds(self) -> list[str]:
        return [name for name in seed_columns(self.study) if name in self.trials]

    @property
    def any_stopped(self) -> bool:
        return bool((~finished(self.trials)).any())

    def interval_note(self) -> str:
        """What the dots and diamonds of a plot over settings are (a caption's start)."""
        if not self.seeds:
            return "dots = runs, one per setting (no seed varies, so no mean over seeds and no interval)"
        return (f"dots = runs; diamonds = the mean over seeds ({', '.join(self.seeds)}) with its {INTERVAL} "
                f"(none where n = 1)")


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


def _epoch_axis(ax: plt.Axes, last_epoch: int) -> None:
    """Whole epochs; every one ticked when there are few (a one-epoch run shows one tick, at 1)."""
    if last_epoch <= 12:
        ax.set_xticks(range(1, last_epoch + 1))
        ax.set_xlim(0.5, last_epoch + 0.5)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def plot_curves(data: PlotInput) -> Plot | None:
    """Accuracy per epoch (the ranking one, when it is an accuracy), a line per trial (seed 000's
    Figure 1), faceted by anneal rate."""
    ranking = (data.metric,) if data.metric in data.curves and data.metric.endswith("_acc") else ()
    metric = next((m for m in (*ranking, *data.kind.curve_metrics) if m in data.curves), None)
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
        _epoch_axis(ax, int(data.curves["training_iteration"].max()))
    grid.figure.suptitle(f"{metric} per epoch, one line per trial", y=1.03)
    return Plot(_save(grid.figure, data.folder, f"curves_{metric}"),
                f"{metric} per epoch; colour: {hue}" + (f"; panels: {col}" if col else ""))


def _numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _group_labels(table: pd.DataFrame, others: list[str]) -> pd.Series:
    """Each trial's values of the ``others`` settings, as one legend label."""
    if not others:
        return pd.Series("all", index=table.index)
    return table[others].apply(lambda row: ", ".join(f"{k}={v}" for k, v in row.items()), axis=1)


def _colours(table: pd.DataFrame, others: list[str], labels: pd.Series) -> dict[str, Any]:
    """A colour per label, in the order of the settings' values (τ0 = 2 before τ0 = 10)."""
    levels = list(labels.loc[table.sort_values(others).index].unique()) if others else list(labels.unique())
    return dict(zip(levels, sns.color_palette("deep" if len(levels) <= 10 else "husl", len(levels))))


def _runs(ax: plt.Axes, x: Any, table: pd.DataFrame, colour: Any) -> None:
    """Every run as a dot: filled when it ran its full budget, hollow when ASHA stopped it."""
    complete = finished(table).to_numpy()
    xs, ys = np.asarray(x, dtype=float), table["score"].to_numpy(float)
    ax.scatter(xs[complete], ys[complete], color=colour, s=22, alpha=0.75, zorder=3, linewidths=0)
    if (~complete).any():
        ax.scatter(xs[~complete], ys[~complete], facecolors="none", edgecolors=colour, s=26, zorder=3)


def _mean_bars(ax: plt.Axes, x: Any, table: pd.DataFrame, colour: Any, label: str | None, line: bool) -> None:
    """Means with their t-interval as error bars, where there are at least two runs (one run is
    its own dot); ``line`` joins the means."""
    xs, means = np.asarray(x, dtype=float), table["mean"].to_numpy(float)
    replicated = (table["n"] >= 2).to_numpy()
    if line:
        ax.plot(xs, means, color=colour, lw=1.6, label=label, zorder=2)
    elif not replicated.any() and label:
        ax.scatter([], [], color=colour, s=22, label=label)  # the legend entry of its dots
    if replicated.any():
        low = (table["mean"] - table["ci95_low"]).to_numpy(float)[replicated]
        high = (table["ci95_high"] - table["mean"]).to_numpy(float)[replicated]
        ax.errorbar(xs[replicated], means[replicated], yerr=[low, high], color=colour, marker="D", ms=6,
                    capsize=4, lw=1.6, linestyle="none", label=None if line else label, zorder=4)


def _numeric_axis(ax: plt.Axes, name: str, values: list[float]) -> None:
    """λ and τ0 on a log axis (symmetric-log when 0 is among them), each value ticked when few."""
    if name in ("lambda", "tau0", "arch_lr", "lr") and values[-1] > 0:
        positive = [v for v in values if v > 0]
        if values[0] > 0:
            ax.set_xscale("log")
        else:
            ax.set_xscale("symlog", linthresh=positive[0])
    if len(values) <= 10:
        ax.xaxis.set_major_locator(FixedLocator(values))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_locator(NullLocator())
        if len(values) > 5:
            ax.tick_params(axis="x", labelrotation=45)


def _percent_limits(ax: plt.Axes) -> None:
    """Keep an accuracy axis within 0-100 %: a t-interval knows no bounds, the reader does."""
    low, high = ax.get_ylim()
    ax.set_ylim(max(low, -1.0), min(high, 101.0))


def _legend_notes(ax: plt.Axes, data: PlotInput) -> None:
    handles, labels = ax.get_legend_handles_labels()
    if data.any_stopped:
        handles.append(Line2D([], [], marker="o", color="0.3", markerfacecolor="none", linestyle="none"))
        labels.append("stopped early (ASHA)")
    if handles:
        ax.legend(handles, labels, fontsize=8, bbox_to_anchor=(1.02, 1), loc="upper left", frameon=False)


def _budget_note(data: PlotInput) -> str:
    return f"; {HOLLOW_NOTE}" if data.any_stopped else ""


def _finish_score_axes(ax: Any, data: PlotInput, name: str, title: str, others: list[str]) -> str:
    """The common end of a score-per-setting plot: percent limits, labels, title and legend
    notes; returns the caption's note on what the colours stand for (``others``)."""
    _percent_limits(ax)
    ax.set_xlabel(name)
    ax.set_ylabel(f"{data.metric} (%)")
    ax.set_title(title)
    _legend_notes(ax, data)
    return f"; colour: {', '.join(others)}" if others else ""


def plot_final_vs_setting(data: PlotInput) -> list[Plot]:
    """Final score against each numeric factor: every run, and the mean over seeds per setting,
    one colour per combination of the other factors (never folded into the bar)."""
    plots = []
    for name in data.factors:
        if not _numeric(data.trials[name]):
            continue
        others = [f for f in data.factors if f != name]
        labels = _group_labels(data.trials, others)
        fig, ax = plt.subplots(figsize=(6.4 if others else 5.5, 3.9))
        for label, colour in _colours(data.trials, others, labels).items():
            group = data.trials[labels == label]
            _runs(ax, group[name], group, colour)
            table = replicate_table(group, [name], data.study.objective.mode).dropna(subset=["mean"])
            _mean_bars(ax, table[name], table, colour, label if others else None, line=True)
        _numeric_axis(ax, name, sorted(data.trials[name].dropna().unique()))
        colour_note = _finish_score_axes(ax, data, name, f"{data.metric} vs {name}", others)
        plots.append(Plot(_save(fig, data.folder, f"score_vs_{name}"),
                          f"final {data.metric} against {name}: {data.interval_note()}"
                          f"{colour_note}{_budget_note(data)}"))
    return plots


def plot_levels(data: PlotInput) -> list[Plot]:
    """Score per level of each categorical factor (method, penalty, log penalty, schedule, ...):
    every run, the mean over seeds with its interval, n under each level."""
    plots = []
    mode = data.study.objective.mode
    for name in data.factors:
        if _numeric(data.trials[name]):
            continue
        others = [f for f in data.factors if f != name]
        labels = _group_labels(data.trials, others)
        colours = _colours(data.trials, others, labels)
        levels = sorted(data.trials[name].dropna().unique(), key=str)
        position = {level: i for i, level in enumerate(levels)}
        fig, ax = plt.subplots(figsize=(max(4.5, 1.4 * len(levels) + 1.5) + (2 if others else 0), 4))
        counts: dict[Any, list[str]] = {level: [] for level in levels}
        width = 0.7 / len(colours)
        for i, (label, colour) in enumerate(colours.items()):
            offset = (i - (len(colours) - 1) / 2) * width
            group = data.trials[labels == label]
            rank = group.groupby(name, sort=False).cumcount().to_numpy(float)
            size = group.groupby(name, sort=False)[name].transform("size").to_numpy(float)
            jitter = ((rank + 0.5) / size - 0.5) * 0.35 * width  # the runs side by side, left of their mean
            shift = 0.2 * width if data.seeds else 0.0  # runs left of their mean; without seeds a run is its mean
            _runs(ax, group[name].map(position).to_numpy(float) + offset - shift + jitter, group, colour)
            table = replicate_table(group, [name], mode)
            for _, row in table.iterrows():
                counts[row[name]].append(str(row["n"]))
            table = table.dropna(subset=["mean"])
            _mean_bars(ax, table[name].map(position).to_numpy(float) + offset + shift, table, colour,
                       label if others else None, line=False)
        ax.set_xticks(range(len(levels)), [f"{level}\n(n = {', '.join(counts[level])})" for level in levels])
        ax.set_xlim(-0.6, len(levels) - 0.4)
        colour_note = _finish_score_axes(ax, data, name, f"{data.metric} by {name}", others)
        plots.append(Plot(_save(fig, data.folder, f"levels_{name}"),
                          f"final {data.metric} by {name}: {data.interval_note()}; "
                          f"n = finished runs per level{colour_note}{_budget_note(data)}; "
                          f"the numbers are in analysis/replicates.csv, the paired differences in paired.csv"))
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


def scale_note(data: PlotInput, prefix: str) -> str:
    """``counted on <network>`` for the size metrics with ``prefix``, or nothing when unknown."""
    scales = data.scales.get(prefix)
    return f"counted on {describe_scales(scales)}" if scales else ""


def plot_pareto(data: PlotInput) -> Plot | None:
    """Accuracy against MACs and parameters at evaluation scale, Pareto front of the finished runs."""
    macs, params, scale = data.kind.pareto
    table = data.trials.dropna(subset=[macs, params, "score"])
    if len(table) < 2:
        return None
    complete = finished(table).to_numpy()
    accuracy_values = table["score"].to_numpy(float)
    fig, axes = plt.subplots(1, 2, figsize=(10.5, 3.9), sharey=True)
    for ax, cost, label in ((axes[0], macs, MACS_LABEL), (axes[1], params, PARAMS_LABEL)):
        values = table[cost].to_numpy(float)
        ax.scatter(values[complete], accuracy_values[complete], color="0.55", s=22, label="trials")
        if (~complete).any():
            ax.scatter(values[~complete], accuracy_values[~complete], facecolors="none", edgecolors="0.4", s=26,
                       label="stopped early (ASHA)")
        if complete.sum() >= 2:
            front = np.flatnonzero(complete)[pareto_front(values[complete], accuracy_values[complete])]
            ax.plot(values[front], accuracy_values[front], "-o", color="tab:red", ms=5, label="Pareto front")
        ax.set_xlabel(label)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.legend(loc="lower right", fontsize=8)
    axes[0].set_ylabel(f"{data.metric} (%)")
    counted = scale_note(data, macs.removesuffix("macs_m"))
    fig.suptitle(f"{data.metric} against the size of the derived network{scale}\n"
                 f"{counted + '; ' if counted else ''}{SIZE_CONVENTIONS}", fontsize=10)
    return Plot(_save(fig, data.folder, "pareto"),
                f"accuracy against MACs and parameters{scale}{' (' + counted + ')' if counted else ''}; "
                f"red: the Pareto front of the finished trials{_budget_note(data)}")


def plot_heatmap(data: PlotInput) -> Plot | None:
    """Mean score over seeds of the finished runs, over the first two factors with few values."""
    candidates = [n for n in data.factors if data.trials[n].nunique() <= 12]
    if len(candidates) < 2:
        return None
    rows, cols = candidates[:2]
    complete = data.trials[finished(data.trials)]
    index = sorted(data.trials[rows].dropna().unique())
    columns = sorted(data.trials[cols].dropna().unique())
    means = complete.pivot_table(index=rows, columns=cols, values="score", aggfunc="mean")
    means = means.reindex(index=index, columns=columns)
    counts = complete.pivot_table(index=rows, columns=cols, values="score", aggfunc="count")
    counts = counts.reindex(index=index, columns=columns).fillna(0).astype(int)
    stopped = data.trials[~finished(data.trials)]
    early = stopped.pivot_table(index=rows, columns=cols, values="score", aggfunc="mean")
    early = early.reindex(index=index, columns=columns)
    reached = stopped.pivot_table(index=rows, columns=cols, values="epochs", aggfunc="max")
    reached = reached.reindex(index=index, columns=columns)
    text = np.full(means.shape, "", dtype=object)
    fig, ax = plt.subplots(figsize=(1.25 * len(columns) + 3, 0.75 * len(index) + 2))
    for i, j in np.argwhere(means.notna().to_numpy()):
        text[i, j] = f"{means.iat[i, j]:.1f}" + (f"\nn={counts.iat[i, j]}" if data.seeds else "")
    sns.heatmap(means, annot=text, fmt="", cmap="viridis", ax=ax, cbar_kws={"label": f"mean {data.metric} (%)"})
    ax.tick_params(axis="y", labelrotation=0)  # "reparametrization" read sideways otherwise
    hatched = np.argwhere(means.isna().to_numpy() & early.notna().to_numpy())
    for i, j in hatched:  # out of the colour scale: a shorter budget's score
        ax.add_patch(plt.Rectangle((j, i), 1, 1, facecolor="0.93", hatch="//", edgecolor="0.8", lw=0))
        ax.text(j + 0.5, i + 0.5, f"({early.iat[i, j]:.1f})\nstopped at\nepoch {int(reached.iat[i, j])}",
                ha="center", va="center", fontsize=9, color="0.2")
    rest = [f for f in data.factors if f not in (rows, cols)]
    over = f"; averaged over {', '.join(rest)}" if rest else ""
    ax.set_title(f"mean {data.metric} over {rows} × {cols}")
    note = ("; grey, hatched, in parentheses: every run of the cell was stopped early by ASHA, its score is "
            "from the epoch shown (not comparable with the finished cells, and outside the colour scale)"
            if len(hatched) else "")
    return Plot(_save(fig, data.folder, f"heatmap_{rows}_{cols}"),
                f"mean final {data.metric} of the finished runs over {rows} × {cols}"
                f"{' (n = runs per cell)' if data.seeds else ''}{over}{note}")


def _readable_log_ticks(axis: Any, values: pd.Series) -> None:
    """Ticks at 1, 2 and 5 × powers of ten and at both ends of the data (two significant
    digits), none crowding another, labelled as plain numbers (0.5, not 5×10⁻¹)."""
    positive = values[values > 0]
    if not len(positive):
        return
    low, high = float(positive.min()), float(positive.max())
    ends = [float(f"{low:.2g}"), float(f"{high:.2g}")]
    decades = range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1)
    steps = [m * 10.0**e for e in decades for m in (1, 2, 5) if low <= m * 10.0**e <= high]
    ticks = list(ends)
    for tick in steps:
        if all(max(tick, t) / min(tick, t) >= 1.4 for t in ticks):
            ticks.append(tick)
    axis.set_major_locator(FixedLocator(sorted(set(ticks))))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_locator(NullLocator())


def _penalty_on(study: Study) -> bool:
    """Whether any trial's loss has a resource term (a method other than ``none``, λ > 0).  The
    ``cost`` metric is reported either way: without a penalty it is a number no trial used."""
    sampled = {key: domain.probe_values() for key, domain in study.space.items() if domain.kind != "grid"}
    first = {key: values[0] for key, values in sampled.items()}
    probes = [first] + [{**first, key: value} for key, values in sampled.items() for value in values[1:]]
    for combination in study.grid_combinations():
        for probe in probes:
            resource = getattr(study.trial_config_of({**probe, **combination}), "resource", None)
            if resource is not None and resource.method != "none" and resource.lambda_ > 0:
                return True
    return False


def _tempered(data: PlotInput) -> pd.DataFrame:
    """The curves of the trials whose method samples with a temperature (not DARTS's softmax)."""
    if "method" in data.curves:
        methods = data.curves["method"]
    else:
        methods = pd.Series(data.kind.settings(data.study).get("method", "snas"), index=data.curves.index)
    uses = {name: METHODS[name].uses_temperature for name in methods.dropna().unique() if name in METHODS}
    return data.curves[methods.map(uses).fillna(True).astype(bool)]


def plot_trajectories(data: PlotInput) -> Plot | None:
    """Temperature (and the resource cost, when a penalty is on) per epoch for every trial."""
    if not len(data.curves) or "temperature" not in data.curves:
        return None
    hue = _hue(data)
    tempered = _tempered(data)
    penalty = "cost" in data.curves and _penalty_on(data.study)
    panels = ([("temperature", "temperature τ", tempered)] if len(tempered) else []) + (
        [("cost", "resource cost", data.curves)] if penalty else [])
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.6), squeeze=False)
    last_epoch = int(data.curves["training_iteration"].max())
    for ax, (metric, label, curves) in zip(axes[0], panels):
        sns.lineplot(data=curves, x="training_iteration", y=metric, hue=hue, units="trial_id",
                     estimator=None, ax=ax, legend=ax is axes[0][-1], palette=_ordered_palette(data.curves[hue]))
        ax.set_xlabel("epoch")
        _epoch_axis(ax, last_epoch)
        ax.set_ylabel(label)
    if panels[0][0] == "temperature":
        axes[0][0].set_yscale("log")
        _readable_log_ticks(axes[0][0].yaxis, pd.to_numeric(tempered["temperature"], errors="coerce"))
    if axes[0][-1].get_legend() is not None:
        sns.move_legend(axes[0][-1], "upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    shown = [name for name, _, _ in panels]
    what = " and ".join({"temperature": "temperature (log scale)", "cost": "resource cost"}[name] for name in shown)
    fig.suptitle(f"{what.replace(' (log scale)', '')} per epoch")
    untempered = data.curves["trial_id"].nunique() - tempered["trial_id"].nunique()
    note = (f"; the temperature of the {untempered} DARTS-like trial(s) is not drawn (their softmax has none)"
            if untempered and "temperature" in shown else "")
    return Plot(_save(fig, data.folder, "trajectories"), f"{what} per epoch; colour: {hue}{note}")


HEALTH_METRICS = (
    ("normal_skip_connect", "skip_connect ops in the normal cell"),
    ("normal_param_free", "parameter-free ops in the normal cell"),
    ("arch_entropy_normalized", "α entropy / ln(#ops) (1 = uniform)"),
    ("supernet_child_gap", "supernet − child accuracy (points)"),
)
"""The per-epoch collapse metrics, each drawn when the trials reported it."""


def plot_health(data: PlotInput) -> Plot | None:
    """The search's health per epoch: skip and parameter-free op counts of the derived normal
    cell (DARTS's collapse is a cell of skips), α's normalised entropy (near 1: no preference
    between ops) and the supernet-child accuracy gap."""
    present = [(m, label) for m, label in HEALTH_METRICS
               if m in data.curves and pd.to_numeric(data.curves[m], errors="coerce").notna().any()]
    if not present:
        return None
    hue = _hue(data)
    columns = min(2, len(present))
    rows = -(-len(present) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 3.2 * rows), squeeze=False)
    last_epoch = int(data.curves["training_iteration"].max())
    for ax, (metric, label) in zip(axes.flat, present):
        sns.lineplot(data=data.curves, x="training_iteration", y=metric, hue=hue, units="trial_id", estimator=None,
                     ax=ax, legend=ax is axes.flat[0], palette=_ordered_palette(data.curves[hue]), marker="o",
                     markersize=4)
        ax.set_xlabel("epoch")
        ax.set_ylabel("")
        ax.set_title(label, fontsize=10)
        _epoch_axis(ax, last_epoch)
        if metric.startswith("normal_"):
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if metric == "arch_entropy_normalized":
            ax.set_ylim(0, 1.05)
    for ax in list(axes.flat)[len(present):]:
        ax.set_visible(False)
    fig.suptitle("search health per epoch, one line per trial")
    fig.tight_layout()
    if axes.flat[0].get_legend() is not None:
        sns.move_legend(axes.flat[0], "upper left", bbox_to_anchor=(2.25 if columns == 2 else 1.05, 1), title=hue,
                        frameon=False, fontsize=8)
    return Plot(_save(fig, data.folder, "health"),
                "search health per epoch: " + "; ".join(label for _, label in present) + f"; colour: {hue}")


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
    ax.set_ylim(0, max(counts) * 1.15 + 0.5)  # room for the counts above the bars
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
    # The size in the legend, not as dot areas: seaborn scales areas from the smallest to the
    # largest, so two cells of 0.045M and 0.049M parameters would look five times apart.
    table["genotype (params)"] = [f"{arch} ({params:.3g}M)" for arch, params in zip(table["arch"], table["params_m"])]
    sns.scatterplot(data=table, x="searched", y="score", hue="genotype (params)", s=60, ax=ax)
    ax.set_xlabel(f"searched {source.get('metric', 'accuracy')} (%)")
    ax.set_ylabel(f"retrained {data.metric} (%)")
    ax.set_title("retrained vs searched accuracy")
    ax.legend(fontsize=8, bbox_to_anchor=(1.02, 1), loc="upper left", frameon=False, title="genotype (parameters)",
              title_fontsize=8)
    counted = scale_note(data, "")
    return Plot(_save(fig, data.folder, "retrain_vs_search"),
                "retrained accuracy of each genotype (and seed) against the accuracy its search reported; "
                f"parameters in M{' ' + counted if counted else ''}")


def plot_random_baseline(data: PlotInput) -> Plot | None:
    """Searched genotypes against random ones of the same space (Yang et al., ICLR 2020): each
    genotype's runs and mean over seeds, each origin's mean over its genotypes with its interval,
    and where each searched genotype ranks among the random ones."""
    table = random_baseline(data.trials, data.study.objective.mode)
    if not len(table):
        return None
    fig, ax = plt.subplots(figsize=(6.8, 4.2))
    colours = {"searched": "tab:red", "random": "tab:gray"}
    ranks = []
    for position, origin in enumerate(("searched", "random")):
        genotypes = table[table["origin"] == origin].reset_index(drop=True)
        offsets = np.linspace(-0.28, 0.28, len(genotypes)) if len(genotypes) > 1 else np.zeros(1)
        width = 0.56 / max(1, len(genotypes))
        for offset, (_, row) in zip(offsets, genotypes.iterrows()):
            runs = data.trials[data.trials["arch"] == row["arch"]]
            _runs(ax, np.full(len(runs), position + offset - 0.25 * width), runs, colours[origin])
            _mean_bars(ax, [position + offset + 0.1 * width], pd.DataFrame([row]), colours[origin], None, line=False)
            if origin == "searched":
                ranks.append(f"{row['arch']}: {row['rank_among_random']}")
        overall = summarize(genotypes["mean"], data.study.objective.mode)
        if overall.n >= 2:
            ax.errorbar([position + 0.42], [overall.mean], yerr=[[overall.mean - overall.low],
                                                                  [overall.high - overall.mean]],
                        color="black", marker="s", ms=7, capsize=5, lw=2, zorder=5,
                        label="mean over the genotypes" if position else None)
    _percent_limits(ax)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    ax.text(1.02, 0.0, "rank by mean, among the random:\n" + "\n".join(ranks), transform=ax.transAxes,
            fontsize=8, va="bottom")
    counts = {origin: int((table["origin"] == origin).sum()) for origin in ("searched", "random")}
    ax.set_xticks([0, 1], [f"{origin}\n({n} genotype{'s' if n != 1 else ''})" for origin, n in counts.items()])
    ax.set_xlim(-0.6, 1.8)
    ax.set_ylabel(f"retrained {data.metric} (%)")
    ax.set_title("searched against random genotypes of the same space")
    return Plot(_save(fig, data.folder, "random_baseline"),
                f"retrained {data.metric} of the searched and the random genotypes: dots = runs; diamonds = each "
                f"genotype's mean over seeds with its {INTERVAL}; black squares = each origin's mean over its "
                f"genotypes with its {INTERVAL}; labels: where each searched genotype ranks among the random ones "
                f"(analysis/random_baseline.csv)")


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
    "curves": plot_curves, "final_vs_setting": plot_final_vs_setting, "levels": plot_levels, "pareto": plot_pareto,
    "heatmap": plot_heatmap, "trajectories": plot_trajectories, "health": plot_health, "asha_rungs": plot_asha_rungs,
    "retrain_vs_search": plot_retrain_vs_search, "random_baseline": plot_random_baseline,
    "best_cells": plot_best_cells,
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
