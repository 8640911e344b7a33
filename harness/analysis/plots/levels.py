"""The final score per level of each categorical setting (method, penalty, schedule, genotype, ...)."""

from __future__ import annotations

import textwrap
from typing import Any

import matplotlib.pyplot as plt

from harness.analysis.plots.common import Plot, PlotInput, budget_note, save
from harness.analysis.plots.marks import (
    colour_groups,
    dots_for,
    finish_score_axes,
    mean_bars,
    numeric,
    run_dots,
)
from harness.analysis.replicates import replicate_table


def plot_levels(data: PlotInput) -> list[Plot]:
    """Score per level of each categorical factor (method, penalty, log penalty, schedule, ...):
    every run, the mean over seeds with its interval, n under each level."""
    plots = []
    mode = data.study.mode
    dots = dots_for(data)
    for name in data.factors:
        if numeric(data.trials[name]):
            continue
        others = [f for f in data.factors if f != name]
        labels, colours, colour_note = colour_groups(data, others)
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
            run_dots(ax, group[name].map(position).to_numpy(float) + offset - shift + jitter, group, colour, dots)
            table = replicate_table(group, [name], mode)
            for _, row in table.iterrows():
                counts[row[name]].append(str(row["n"]))
            table = table.dropna(subset=["mean"])
            mean_bars(ax, table[name].map(position).to_numpy(float) + offset + shift, table, colour,
                      label if others else None, line=False)
        ax.set_xticks(range(len(levels)), [f"{level}\n" + textwrap.fill(f"(n = {', '.join(counts[level])})", 20)
                                           for level in levels])  # many colours' counts in lines under the level
        ax.set_xlim(-0.6, len(levels) - 0.4)
        finish_score_axes(ax, data, name, f"{data.metric} by {name}")
        plots.append(Plot(save(fig, data.folder, f"levels_{name}"),
                          f"final {data.metric} by {name}: {data.interval_note()}; "
                          f"{_crowd_note(data)}"
                          f"n = finished runs per level{colour_note}{budget_note(data)}; "
                          f"the numbers are in analysis/replicates.csv, the paired differences in paired.csv"))
    return plots


def _crowd_note(data: PlotInput) -> str:
    """What a large study's dots are (their means stay per level)."""
    if not data.crowded:
        return ""
    return (f"{len(data.trials)} runs, more than {data.every_trial_limit}: dots translucent, rasterised in the "
            f"PDF; ")
