"""A population-based study's trajectories: τ and the ranking metric per epoch, one row per
population (seed), every exploit marked, each population's winner's lineage drawn on top, its
control trials in grey (a plot PBT and PB2 add to their studies).

A trial's curve is its state's history: up to an exploit it is its donor's, so the winner's
line is its lineage -- the path through the population that the winning state took.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from harness.analysis.plots.common import Plot, PlotInput, epoch_axis, readable_log_ticks, save
from harness.domain import CONTROL_KEY, is_seed_key

_WINNER = "black"
_CONTROL = "0.55"
MOST_ROWS = 6
"""The most populations (seeds) drawn, one row each."""


def _value_at(curve: pd.DataFrame, metric: str, epoch: int) -> float | None:
    rows = curve.loc[curve["epoch"] == epoch, metric]
    return float(rows.iloc[0]) if len(rows) else None


def _draw_panel(ax: plt.Axes, data: PlotInput, curves: pd.DataFrame, metric: str, winner: str | None,
                palette: dict[str, Any]) -> None:
    """Every population trial's curve of ``metric``: dotted up to its last exploit (those
    epochs are its donors'), solid from there (its own); each exploit a triangle where the copy
    continued from (the donor's value at the epoch it was copied); the winner's whole lineage
    thick black.  A control trial (a fixed setting, never copied) is a thin grey dashed line."""
    for trial_id, curve in curves.groupby("trial_id", sort=True):
        curve = curve.sort_values("epoch")
        if str(trial_id) not in palette:  # a control trial, over the population's lines: see _twins
            ax.plot(curve["epoch"], curve[metric], color=_CONTROL, lw=0.9, ls="--", zorder=4)
            continue
        copies = data.lineages.get(str(trial_id), [])
        if str(trial_id) == winner:
            ax.plot(curve["epoch"], curve[metric], color=_WINNER, lw=2.6, zorder=3)
            colour, size = _WINNER, 10
        else:
            colour, size = palette[str(trial_id)], 8
            copied = copies[-1]["epoch"] if copies else 0
            inherited, own = curve[curve["epoch"] <= copied], curve[curve["epoch"] >= copied]
            ax.plot(inherited["epoch"], inherited[metric], color=colour, lw=1.0, ls=":", zorder=2)
            ax.plot(own["epoch"], own[metric], color=colour, lw=1.4, zorder=2)
        for exploit in copies:
            value = _value_at(curve, metric, exploit["epoch"])
            if value is not None:
                ax.plot([exploit["epoch"]], [value], marker="v", ms=size, ls="none", color=colour,
                        markeredgecolor="black", markeredgewidth=0.6, zorder=5)


def _populations(data: PlotInput) -> list[tuple[str, pd.DataFrame, pd.DataFrame]]:
    """``(label, population trials, control trials)`` per population (one per seed), in seed
    order; the trials table's rows."""
    names = data.study.trial_kind.short_names(list(data.study.space))
    seeds = [name for key, name in names.items() if is_seed_key(key) and name in data.trials]
    control = names.get(CONTROL_KEY)
    is_control = (data.trials[control].astype(bool) if control in data.trials
                  else pd.Series(False, index=data.trials.index))
    if not seeds:
        return [("", data.trials[~is_control], data.trials[is_control])]
    found = []
    for key, rows in data.trials.groupby(seeds, sort=True):
        values = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{name} {value}" for name, value in zip(seeds, values))
        found.append((label, rows[~is_control[rows.index]], rows[is_control[rows.index]]))
    return found


def _twins(curves: pd.DataFrame, population: list[str], control: list[str], metric: str) -> int:
    """How many of the ``control`` trials have the very curve of ``metric`` of one of the
    ``population`` trials: a population trial never copied ran its start and seed untouched,
    the same computation as its control twin, and their lines coincide."""
    def series(trial_id: str) -> tuple:
        rows = curves[curves["trial_id"].astype(str) == trial_id].sort_values("epoch")
        return tuple(zip(rows["epoch"].tolist(), rows[metric].tolist()))

    members = {series(trial_id) for trial_id in population}
    return sum(series(trial_id) in members for trial_id in control)


def _population_winner(population: pd.DataFrame, mode: str) -> str | None:
    scored = population.dropna(subset=["score"])
    if not len(scored):
        return None
    best = scored["score"].idxmax() if mode == "max" else scored["score"].idxmin()
    return str(scored.loc[best, "trial_id"])


def plot_population(data: PlotInput) -> Plot | None:
    """τ (log scale, when reported) and the ranking metric per epoch, one row per population
    (seed), its control trials in grey; at most :data:`MOST_ROWS` rows."""
    if not len(data.curves) or "epoch" not in data.curves or not len(data.trials):
        return None
    metrics = [m for m in ("temperature", data.metric) if m in data.curves]
    if not metrics:
        return None
    populations = _populations(data)
    shown = populations[:MOST_ROWS]
    fig, axes = plt.subplots(len(shown), len(metrics), figsize=(5.4 * len(metrics), 3.4 * len(shown) + 0.6),
                             squeeze=False)
    last_epoch = int(data.curves["epoch"].max())
    winners, twins = [], 0
    for row, (label, population, control) in zip(axes, shown):
        members = sorted(population["trial_id"].astype(str))
        palette = dict(zip(members, sns.color_palette("tab10" if len(members) <= 10 else "husl", len(members))))
        winner = _population_winner(population, data.study.mode)
        winners.append((label, winner))
        fixed = sorted(control["trial_id"].astype(str))
        curves = data.curves[data.curves["trial_id"].astype(str).isin({*members, *fixed})]
        twins += _twins(curves, members, fixed, data.metric) if data.metric in curves else 0
        for ax, metric in zip(row, metrics):
            _draw_panel(ax, data, curves, metric, winner, palette)
            ax.margins(y=0.08)  # the exploit markers at the extremes stay whole
            epoch_axis(ax, last_epoch)
            ax.set_ylabel("temperature τ" if metric == "temperature" else metric)
            if metric == "temperature":
                ax.set_yscale("log")
                readable_log_ticks(ax.yaxis, pd.to_numeric(data.curves[metric], errors="coerce"))
        row[0].set_title(label or "the population", loc="left", fontsize=10)
    for ax in axes[-1]:
        ax.set_xlabel("epoch")
    handles = [plt.Line2D([], [], color=_WINNER, lw=2.6, label="the population's winner"),
               plt.Line2D([], [], color="grey", lw=1.4, label="a trial's own epochs"),
               plt.Line2D([], [], color="grey", lw=1.0, ls=":", label="copied from its donors"),
               plt.Line2D([], [], marker="v", ls="none", color="grey", markeredgecolor="black",
                          label="exploit (copied here)")]
    controls = sum(len(control) for _, _, control in populations)
    if controls:
        handles.append(plt.Line2D([], [], color=_CONTROL, lw=0.9, ls="--", label="fixed setting (control)"))
    axes[0][-1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    exploits = int(data.trials["exploits"].sum()) if "exploits" in data.trials else 0
    size = len(data.trials) - controls
    fig.suptitle(f"{data.study.scheduler.title}: {len(populations)} population{'s' if len(populations) > 1 else ''}"
                 f" ({size} trials, {exploits} exploit{'' if exploits == 1 else 's'})"
                 + (f" and {controls} control trials" if controls else ""))
    lineages = "; ".join(
        (f"{label}: " if label else "") + " → ".join([e["donor"] for e in data.lineages.get(winner, [])] + [winner])
        for label, winner in winners if winner is not None)
    left_out = f"; the first {MOST_ROWS} of {len(populations)} populations are drawn" \
        if len(populations) > MOST_ROWS else ""
    return Plot(save(fig, data.folder, "population"),
                f"{' and '.join(metrics)} per epoch of every trial, one row per population, dotted where its epochs "
                f"are its donors' (a trial's own epochs before its exploits are replaced); ▼: an exploit, where the "
                f"copy continued from; black: each population's winner, whose curve is its lineage ({lineages})"
                + ("; grey dashed: the control trials, each a starting setting run untouched" if controls else "")
                + (f"; {twins} of them coincide with a population trial never copied (the same start and seed, "
                   f"so the same computation): dashed over its line" if twins else "")
                + left_out)
