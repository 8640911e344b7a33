"""The effect of the numeric settings on the final score: the score against each one, and the
mean score over a grid of two settings (the heat map)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from harness.analysis.plots import crowding
from harness.analysis.plots.common import Plot, PlotInput, budget_note, readable_log_ticks, save
from harness.analysis.plots.marks import (
    colour_groups,
    dots_for,
    finish_score_axes,
    mean_bars,
    numeric,
    run_dots,
)
from harness.analysis.replicates import INTERVAL, finished, replicate_table


def _numeric_axis(ax: plt.Axes, name: str, values: list[float], log_settings: tuple[str, ...]) -> None:
    """Rates and temperatures (the kind's ``log_settings``: λ, τ0, ...) on a log axis
    (symmetric-log when 0 is among them), each value ticked when few."""
    if name in log_settings and values[-1] > 0:
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
    elif ax.get_xscale() == "log":  # plain numbers (0.5, not 5×10⁻¹, typeset slowly by mathtext)
        readable_log_ticks(ax.xaxis, pd.Series(values))


def plot_final_vs_setting(data: PlotInput) -> list[Plot]:
    """Final score against each numeric factor: every run, and the mean over seeds per setting,
    one colour per combination of the other factors (never folded into the bar).  A large
    study's means are per quantile bin of a setting with many values (:func:`_mean_positions`)."""
    plots = []
    dots = dots_for(data)
    for name in data.factors:
        if not numeric(data.trials[name]):
            continue
        others = [f for f in data.factors if f != name]
        labels, colours, colour_note = colour_groups(data, others)
        positions, means_note = _mean_positions(data, name)
        fig, ax = plt.subplots(figsize=(6.4 if others else 5.5, 3.9))
        for label, colour in colours.items():
            group = data.trials[labels == label]
            run_dots(ax, group[name], group, colour, dots)
            table = replicate_table(group.assign(**{name: positions[group.index]}), [name],
                                    data.study.mode).dropna(subset=["mean"])
            mean_bars(ax, table[name], table, colour, label if others else None, line=True)
        _numeric_axis(ax, name, sorted(data.trials[name].dropna().unique()), data.kind.log_settings)
        finish_score_axes(ax, data, name, f"{data.metric} vs {name}")
        plots.append(Plot(save(fig, data.folder, f"score_vs_{name}"),
                          f"final {data.metric} against {name}: {means_note or data.interval_note()}"
                          f"{colour_note}{budget_note(data)}"))
    return plots


def _mean_positions(data: PlotInput, name: str) -> tuple[pd.Series, str]:
    """Where each trial's run enters a mean along ``name``'s axis, and the caption's note on it:
    its own value -- the mean is over its seeds -- except in a large study whose ``name`` has
    more than :data:`~.crowding.MAX_LEVELS` values, where a mean over one value's runs is a
    mean of one: there the runs are pooled in quantile bins, drawn at the bin's median."""
    values = data.trials[name]
    if not data.crowded:
        return values, ""
    grouping = crowding.group_values(values, crowding.MAX_LEVELS, crowding.LEVEL_BINS, name)
    where = "of each value"
    if grouping.note:
        values = grouping.labels.map(values.groupby(grouping.labels, observed=True).median()).astype(float)
        where = f"of each quantile bin ({grouping.note}, drawn at its median)"
    note = (f"{len(data.trials)} runs, more than {data.every_trial_limit}: dots = runs, translucent (rasterised in "
            f"the PDF); diamonds = the mean of the finished runs {where} with its {INTERVAL}")
    return values, note


def plot_heatmap(data: PlotInput) -> Plot | None:
    """Mean score over seeds of the finished runs, over the first two factors with few values,
    or numeric ones with many, in quantile bins (:func:`_heatmap_axis`)."""
    candidates = [n for n in data.factors if data.trials[n].nunique() <= crowding.MAX_LEVELS or numeric(data.trials[n])]
    if len(candidates) < 2:
        return None
    rows, cols = candidates[:2]
    trials, index, row_note = _heatmap_axis(data.trials, rows)
    trials, columns, col_note = _heatmap_axis(trials, cols)
    binned = [note for note in (row_note, col_note) if note]
    counted = bool(data.seeds or binned)
    complete = trials[finished(trials)]
    means = complete.pivot_table(index=rows, columns=cols, values="score", aggfunc="mean", observed=True)
    means = means.reindex(index=index, columns=columns)
    counts = complete.pivot_table(index=rows, columns=cols, values="score", aggfunc="count", observed=True)
    counts = counts.reindex(index=index, columns=columns).fillna(0).astype(int)
    stopped = trials[~finished(trials)]
    early = stopped.pivot_table(index=rows, columns=cols, values="score", aggfunc="mean", observed=True)
    early = early.reindex(index=index, columns=columns)
    reached = stopped.pivot_table(index=rows, columns=cols, values="epochs", aggfunc="max", observed=True)
    reached = reached.reindex(index=index, columns=columns)
    text = np.full(means.shape, "", dtype=object)
    fig, ax = plt.subplots(figsize=(1.25 * len(columns) + 3, 0.75 * len(index) + 2))
    for i, j in np.argwhere(means.notna().to_numpy()):
        text[i, j] = f"{means.iat[i, j]:.1f}" + (f"\nn={counts.iat[i, j]}" if counted else "")
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
    return Plot(save(fig, data.folder, f"heatmap_{rows}_{cols}"),
                f"mean final {data.metric} of the finished runs over {rows} × {cols}"
                f"{' (n = runs per cell)' if counted else ''}{over}{note}"
                + "".join(f"; {how}" for how in binned))


def _heatmap_axis(trials: pd.DataFrame, name: str) -> tuple[pd.DataFrame, list, str]:
    """``trials`` with ``name`` as the heat map's rows or columns, those rows or columns in
    order, and the caption's note: its values when at most :data:`~.crowding.MAX_LEVELS`, else
    quantile bins (a random search's τ0, which would otherwise be a row per trial)."""
    grouping = crowding.group_values(trials[name], crowding.MAX_LEVELS, crowding.LEVEL_BINS, name)
    if not grouping.note:
        return trials, sorted(trials[name].dropna().unique()), ""
    return trials.assign(**{name: grouping.labels}), list(grouping.labels.cat.categories), grouping.note
