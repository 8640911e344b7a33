"""The marks of the plots of a score per setting (effects, levels, the random baseline).

Every run is a dot, hollow when ASHA stopped it (its score is from fewer epochs); the mean
over seeds is a diamond with its interval, drawn only where there are two runs or more; the
other factors' combinations each get a colour, so no factor is silently averaged into a bar.

A large study (:mod:`.crowding`) draws its dots small and translucent (:class:`Dots`),
rasterised in the PDF, and colours by one other factor, its values binned when many, when
the combinations would need more than :data:`~.crowding.MAX_COLOURS` colours; the caption
names what was averaged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D

from harness.analysis.plots import crowding
from harness.analysis.plots.common import PlotInput, ordered_palette
from harness.analysis.replicates import finished


def numeric(values: pd.Series) -> bool:
    """Whether a setting is drawn along an axis (numbers) rather than as levels (the rest)."""
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def group_labels(table: pd.DataFrame, others: list[str]) -> pd.Series:
    """Each trial's values of the ``others`` settings, as one legend label."""
    if not others:
        return pd.Series("all", index=table.index)
    return table[others].apply(lambda row: ", ".join(f"{k}={v}" for k, v in row.items()), axis=1)


def label_colours(table: pd.DataFrame, others: list[str], labels: pd.Series) -> dict[str, Any]:
    """A colour per label, in the order of the settings' values (τ0 = 2 before τ0 = 10)."""
    levels = list(labels.loc[table.sort_values(others).index].unique()) if others else list(labels.unique())
    return dict(zip(levels, sns.color_palette("deep" if len(levels) <= 10 else "husl", len(levels))))


def colour_groups(data: PlotInput, others: list[str]) -> tuple[pd.Series, dict[str, Any], str]:
    """Each trial's colour label, the colour of each label, and the caption's note on them:
    a colour per combination of the ``others`` settings (:func:`group_labels`) when there are
    at most :data:`~.crowding.MAX_COLOURS`, else per value (or bin) of the first of them, the
    rest averaged over."""
    combinations = len(data.trials[others].drop_duplicates()) if others else 1
    if combinations <= crowding.MAX_COLOURS:
        labels = group_labels(data.trials, others)
        return labels, label_colours(data.trials, others, labels), f"; colour: {', '.join(others)}" if others else ""
    first, rest = others[0], others[1:]
    grouping = crowding.group_values(data.trials[first], crowding.MAX_COLOURS, crowding.COLOUR_BINS, first)
    values = grouping.labels
    order = (list(values.cat.categories) if isinstance(values.dtype, pd.CategoricalDtype)
             else sorted(values.dropna().unique()))
    labels = values.map(lambda value: f"{first}={value}").astype(object)
    palette = ordered_palette(values) or sns.color_palette("deep", len(order))
    colours = dict(zip((f"{first}={value}" for value in order), palette))
    how = f" ({grouping.note})" if grouping.note else ""
    averaged = f"; averaged over {', '.join(rest)} ({combinations} combinations)" if rest else ""
    return labels, colours, f"; colour: {first}{how}{averaged}, so a colour's means pool several settings"


@dataclass(frozen=True)
class Dots:
    """How a plot's runs are dotted."""

    size: float = 22
    alpha: float = 0.75
    hollow_alpha: float | None = None
    """The stopped runs' rings (opaque when ``None``)."""
    rasterized: bool = False
    """Drawn as pixels in the PDF: ten thousand vector markers make a PDF of megabytes that
    a viewer renders slowly, for no gain in a cloud of dots."""

    @property
    def hollow_size(self) -> float:
        return self.size + 4


SOLID = Dots()
"""The dots of a study with few runs."""


def dots_for(data: PlotInput) -> Dots:
    """:data:`SOLID` dots for a small study; small, translucent, rasterised ones for a large."""
    if not data.crowded:
        return SOLID
    alpha = crowding.dot_alpha(len(data.trials), data.every_trial_limit)
    return Dots(size=8, alpha=alpha, hollow_alpha=alpha, rasterized=True)


def run_dots(ax: plt.Axes, x: Any, table: pd.DataFrame, colour: Any, dots: Dots = SOLID) -> None:
    """Every run as a dot: filled when it ran its full budget, hollow when ASHA stopped it."""
    complete = finished(table).to_numpy()
    xs, ys = np.asarray(x, dtype=float), table["score"].to_numpy(float)
    ax.scatter(xs[complete], ys[complete], color=colour, s=dots.size, alpha=dots.alpha, zorder=3, linewidths=0,
               rasterized=dots.rasterized)
    if (~complete).any():
        ax.scatter(xs[~complete], ys[~complete], facecolors="none", edgecolors=colour, s=dots.hollow_size, zorder=3,
                   alpha=dots.hollow_alpha, rasterized=dots.rasterized)


def mean_bars(ax: plt.Axes, x: Any, table: pd.DataFrame, colour: Any, label: str | None, line: bool) -> None:
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


def percent_limits(ax: plt.Axes) -> None:
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


def finish_score_axes(ax: Any, data: PlotInput, name: str, title: str) -> None:
    """The common end of a score-per-setting plot: percent limits, labels, title and legend notes."""
    percent_limits(ax)
    ax.set_xlabel(name)
    ax.set_ylabel(f"{data.metric} (%)")
    ax.set_title(title)
    _legend_notes(ax, data)
