"""How much a plot can draw and stay readable, and what it draws beyond that.

A plot of a small study draws every trial: a line per trial and epoch, a dot per run, a
colour per value of a setting, a panel per value of another.  That is what a reader of a
paper's figure expects, and what the quickstart (8 trials) and a method-by-seed study (9
trials) draw.  Two things break it at scale, and each has its own rule:

* **Many trials.**  Above :data:`EVERY_TRIAL_LIMIT` trials, a thousand lines are a tangle
  and a thousand dots a blot, and drawing them costs minutes.  The per-epoch plots then draw
  each colour group's median and quantile bands (:mod:`.bands`) instead of a line per
  trial, and the plots of a score per setting draw translucent dots (rasterised in the PDF,
  which would otherwise hold every marker as a vector path) and means per bin.
* **Many values of a setting.**  A random or Optuna search gives every trial its own τ0.
  A colour per value makes a legend of a hundred entries, a panel per value a figure of a
  hundred panels (and a layout matplotlib never finishes).  So however few the trials, a
  setting gets at most :data:`MAX_COLOURS` colours, :data:`MAX_PANELS` panels and
  :data:`MAX_LEVELS` rows or columns of a heat map; beyond that its values are cut into a few
  quantile bins (:func:`group_values`), each holding about as many trials and labelled by
  the range it covers, so the legend still reads as the setting's scale.

Plots say in their caption which rule applied, with the number it applied at.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

EVERY_TRIAL_LIMIT = 50
"""The most trials a plot draws one by one (a line or a full-strength dot each); a study with
more is drawn as aggregates.  Fifty lines in five colours can still be followed by eye; a
hundred cannot, and a quantile band of fifty trials is already a fair picture of them."""

MAX_COLOURS = 10
"""The most colours (legend entries) a setting gets; more values are :data:`COLOUR_BINS`
quantile bins.  Ten is as many hues as a reader tells apart, and seaborn's default palette."""
COLOUR_BINS = 5

MAX_PANELS = 6
"""The most panels a setting gets; more values are :data:`PANEL_BINS` quantile bins (one row
of panels)."""
PANEL_BINS = 3

MAX_LEVELS = 12
"""The most values a setting keeps along an axis of means (a heat map's rows or columns, the
means of a score-vs-setting plot); more are :data:`LEVEL_BINS` quantile bins."""
LEVEL_BINS = 8

OTHER = "other"
"""The group of the rarer values of a setting that is not numeric (a genotype, a method)."""


@dataclass(frozen=True)
class Grouping:
    """A setting's values as at most a few groups."""

    labels: pd.Series
    """Each entry's group, aligned with the values given: the value itself when there are few,
    else its bin's label (a categorical, its categories in the order to draw them)."""
    note: str
    """How the values were grouped, for a caption; empty when each value is its own group."""

    def of(self, keys: pd.Series) -> pd.Series:
        """The group of each entry of ``keys``, the index of :attr:`labels` (a trial id) --
        the groups of a per-epoch table's rows from its trials' settings."""
        mapped = keys.map(self.labels)
        if isinstance(self.labels.dtype, pd.CategoricalDtype):
            mapped = pd.Series(pd.Categorical(mapped, categories=self.labels.cat.categories,
                                              ordered=self.labels.cat.ordered), index=keys.index)
        return mapped


def group_values(values: pd.Series, most: int, bins: int, name: str) -> Grouping:
    """``values`` (one per trial) as they are when at most ``most`` are distinct; else, for a
    numeric setting, ``bins`` quantile bins (equal counts, so a skewed draw of τ0 still gets
    bins with trials in them), and for any other, its ``most - 1`` most frequent values and
    :data:`OTHER`."""
    distinct = values.nunique()
    if distinct <= most:
        return Grouping(values, "")
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        labels = _quantile_bins(values.astype(float), bins)
        return Grouping(labels, f"{name} in {len(labels.cat.categories)} quantile bins of {distinct} values")
    kept = values.value_counts().index[:most - 1]
    labels = values.astype(object).where(values.isin(kept), OTHER).where(values.notna())
    order = [*kept, OTHER]
    return Grouping(pd.Series(pd.Categorical(labels, categories=order), index=values.index),
                    f"{name}: its {most - 1} most frequent of {distinct} values, the rest as {OTHER}")


def _quantile_bins(values: pd.Series, bins: int) -> pd.Series:
    """Each value's quantile bin, labelled ``low–high`` by the values the bin holds, with as
    many digits as it takes to tell the labels apart."""
    codes = pd.qcut(values, bins, labels=False, duplicates="drop")
    spans = values.groupby(codes).agg(["min", "max"])
    for digits in range(3, 10):
        names = [f"{low:.{digits}g}–{high:.{digits}g}" if low != high else f"{low:.{digits}g}"
                 for low, high in spans.itertuples(index=False)]
        if len(set(names)) == len(names):
            break
    by_code = dict(zip(spans.index, names))
    labels = codes.map(by_code)
    return pd.Series(pd.Categorical(labels, categories=names, ordered=True), index=values.index)


def dot_alpha(runs: int, limit: int = EVERY_TRIAL_LIMIT) -> float:
    """The opacity of one dot among ``runs``, fading with their number so that about ``limit``
    dots stacked on one spot look solid (never quite invisible, never more than a small
    study's 0.75)."""
    return float(np.clip(limit / max(runs, 1), 0.15, 0.75))
