"""The effect of the numeric settings on the final score: the score against each one, and the
mean score over a grid of two settings (the heat map)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from harness.analysis.plots.common import Plot, PlotInput, budget_note, save
from harness.analysis.plots.marks import (
    finish_score_axes,
    group_labels,
    label_colours,
    mean_bars,
    numeric,
    run_dots,
)
from harness.analysis.replicates import finished, replicate_table


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


def plot_final_vs_setting(data: PlotInput) -> list[Plot]:
    """Final score against each numeric factor: every run, and the mean over seeds per setting,
    one colour per combination of the other factors (never folded into the bar)."""
    plots = []
    for name in data.factors:
        if not numeric(data.trials[name]):
            continue
        others = [f for f in data.factors if f != name]
        labels = group_labels(data.trials, others)
        fig, ax = plt.subplots(figsize=(6.4 if others else 5.5, 3.9))
        for label, colour in label_colours(data.trials, others, labels).items():
            group = data.trials[labels == label]
            run_dots(ax, group[name], group, colour)
            table = replicate_table(group, [name], data.study.objective.mode).dropna(subset=["mean"])
            mean_bars(ax, table[name], table, colour, label if others else None, line=True)
        _numeric_axis(ax, name, sorted(data.trials[name].dropna().unique()), data.kind.log_settings)
        colour_note = finish_score_axes(ax, data, name, f"{data.metric} vs {name}", others)
        plots.append(Plot(save(fig, data.folder, f"score_vs_{name}"),
                          f"final {data.metric} against {name}: {data.interval_note()}"
                          f"{colour_note}{budget_note(data)}"))
    return plots


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
    return Plot(save(fig, data.folder, f"heatmap_{rows}_{cols}"),
                f"mean final {data.metric} of the finished runs over {rows} × {cols}"
                f"{' (n = runs per cell)' if data.seeds else ''}{over}{note}")
