"""The predictor leaderboard's picture: every signal against the retrained accuracy, one panel each."""

from __future__ import annotations

import math
import textwrap

import matplotlib.pyplot as plt
import numpy as np

from harness.analysis.plots.common import Plot, PlotInput, save

PANEL_COLUMNS = 4
"""Panels per row."""


def plot_predictors(data: PlotInput) -> Plot | None:
    """One panel per predictor (leaderboard order): each genotype's value against its mean retrained
    score, titled with τ, ρ and n, or with why it cannot be ranked."""
    values, board = data.tables.get("predictor_values"), data.tables.get("predictors")
    if values is None or board is None:
        return None
    count = len(board)
    columns = min(PANEL_COLUMNS, count)
    rows = math.ceil(count / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.9 * rows), squeeze=False)
    for ax, (_, row) in zip(axes.flat, board.iterrows()):
        known = values[[row["predictor"], "retrained"]].dropna()
        if not len(known):  # nothing to draw: say why instead of an empty frame
            ax.set_axis_off()
            ax.set_title(f"{row['predictor']} (n=0)", fontsize=8)
            ax.text(0.5, 0.5, textwrap.fill(str(row["note"]), 34), ha="center", va="center", fontsize=8,
                    transform=ax.transAxes)
            continue
        ax.scatter(known[row["predictor"]], known["retrained"], s=24, color="tab:blue")
        if math.isnan(row["kendall_tau"]):
            title = f"{row['predictor']} (n={int(row['n'])}): not ranked"
        else:
            title = (f"{row['predictor']} (n={int(row['n'])})\nτ={row['kendall_tau']:.2f} "
                     f"[{row['tau_ci95_low']:.2f}, {row['tau_ci95_high']:.2f}], ρ={row['spearman_rho']:.2f}")
        ax.set_title(title, fontsize=8)
        ax.set_xlabel(row["predictor"], fontsize=8)
        ax.set_ylabel(f"retrained {data.metric} (%)", fontsize=8)
        ax.tick_params(labelsize=7)
        x = known[row["predictor"]].to_numpy(float)
        if len(x) and np.all(x > 0) and x.max() / x.min() > 1e3:
            ax.set_xscale("log")  # synflow spans orders of magnitude across genotypes
    for ax in list(axes.flat)[count:]:
        ax.set_visible(False)
    fig.suptitle("which signal predicts the retrained accuracy?", fontsize=10)
    fig.tight_layout()
    return Plot(save(fig, data.folder, "predictors"),
                f"each candidate predictor of the retrained {data.metric} against each genotype's mean over seeds, "
                f"ranked by Kendall's τ with its 95% bootstrap interval and Spearman's ρ over the n genotypes that "
                f"have both (analysis/predictors.csv; proxies from analysis/proxies.csv, written by "
                f"`snas-study proxies` on this study)")
