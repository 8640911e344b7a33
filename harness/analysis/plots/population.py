"""A population-based study's trajectories: τ and the ranking metric per epoch, every exploit
marked, the winner's lineage drawn on top (a plot PBT and PB2 add to their studies).

A trial's curve is its state's history: up to an exploit it is its donor's, so the winner's
line is its lineage -- the path through the population that the winning state took.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from harness.analysis.plots.common import Plot, PlotInput, epoch_axis, readable_log_ticks, save

_WINNER = "black"


def _value_at(curve: pd.DataFrame, metric: str, epoch: int) -> float | None:
    rows = curve.loc[curve["epoch"] == epoch, metric]
    return float(rows.iloc[0]) if len(rows) else None


def _draw_panel(ax: plt.Axes, data: PlotInput, metric: str, winner: str | None,
                palette: dict[str, Any]) -> None:
    """Every trial's curve of ``metric``: dotted up to its last exploit (those epochs are its
    donors'), solid from there (its own); each exploit a triangle where the copy continued
    from (the donor's value at the epoch it was copied); the winner's whole lineage thick black."""
    for trial_id, curve in data.curves.groupby("trial_id", sort=True):
        curve = curve.sort_values("epoch")
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


def plot_population(data: PlotInput) -> Plot | None:
    """τ (log scale, when reported) and the ranking metric per epoch for the whole population."""
    if not len(data.curves) or "epoch" not in data.curves:
        return None
    metrics = [m for m in ("temperature", data.metric) if m in data.curves]
    if not metrics:
        return None
    winner = str(data.best[0]["trial_id"]) if data.best else None
    trial_ids = sorted(data.curves["trial_id"].astype(str).unique())
    palette = dict(zip(trial_ids, sns.color_palette("tab10" if len(trial_ids) <= 10 else "husl", len(trial_ids))))
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.4 * len(metrics), 3.8), squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        _draw_panel(ax, data, metric, winner, palette)
        ax.margins(y=0.08)  # the exploit markers at the extremes stay whole
        ax.set_xlabel("epoch")
        epoch_axis(ax, int(data.curves["epoch"].max()))
        ax.set_ylabel("temperature τ" if metric == "temperature" else metric)
        if metric == "temperature":
            ax.set_yscale("log")
            readable_log_ticks(ax.yaxis, pd.to_numeric(data.curves[metric], errors="coerce"))
    exploits = int(data.trials["exploits"].sum()) if "exploits" in data.trials else 0
    handles = [plt.Line2D([], [], color="grey", lw=1.4, label="a trial's own epochs"),
               plt.Line2D([], [], color="grey", lw=1.0, ls=":", label="copied from its donors"),
               plt.Line2D([], [], marker="v", ls="none", color="grey", markeredgecolor="black",
                          label="exploit (copied here)")]
    if winner is not None:
        handles.insert(0, plt.Line2D([], [], color=_WINNER, lw=2.6, label=f"winner {winner}"))
    axes[0][-1].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    fig.suptitle(f"{data.study.scheduler.title} population: {len(trial_ids)} trials, "
                 f"{exploits} exploit{'' if exploits == 1 else 's'}")
    lineage = " → ".join([e["donor"] for e in data.lineages.get(winner or "", [])] + ([winner] if winner else []))
    return Plot(save(fig, data.folder, "population"),
                f"{' and '.join(metrics)} per epoch of every trial, dotted where its epochs are its donors' (a "
                f"trial's own epochs before its exploits are replaced); ▼: an exploit, where the copy continued "
                f"from; black: the winner, whose curve is its lineage ({lineage})")
