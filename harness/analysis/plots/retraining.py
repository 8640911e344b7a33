"""The plots of a retrain study: retrained against searched accuracy, and the searched
genotypes against random ones of the same space."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from harness.analysis.plots.common import Plot, PlotInput, save, scale_note
from harness.analysis.plots.marks import mean_bars, percent_limits, run_dots
from harness.analysis.replicates import INTERVAL, summarize
from harness.analysis.tables import ORIGINS, random_baseline


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
    return Plot(save(fig, data.folder, "retrain_vs_search"),
                "retrained accuracy of each genotype (and seed) against the accuracy its search reported; "
                f"parameters in M{' ' + counted if counted else ''}")


def plot_random_baseline(data: PlotInput) -> Plot | None:
    """Searched genotypes against random ones of the same space (Yang et al., ICLR 2020), and
    against cells a zero-cost proxy picked where the study has them: each genotype's runs and
    mean over seeds, each origin's mean over its genotypes with its interval, where each
    searched or proxy-picked genotype ranks among the random ones, and what each selection cost."""
    table = data.tables.get("random_baseline")
    if table is None:
        table = random_baseline(data.trials, data.study.mode)
    if not len(table):
        return None
    origins = [origin for origin in ORIGINS if (table["origin"] == origin).any()]
    fig, ax = plt.subplots(figsize=(6.8 + 1.2 * (len(origins) - 2), 4.2))
    colours = {"searched": "tab:red", "proxy": "tab:blue", "random": "tab:gray"}
    ranks = []
    labelled = False  # the legend names the per-origin mean once
    for position, origin in enumerate(origins):
        genotypes = table[table["origin"] == origin].reset_index(drop=True)
        offsets = np.linspace(-0.28, 0.28, len(genotypes)) if len(genotypes) > 1 else np.zeros(1)
        width = 0.56 / max(1, len(genotypes))
        for offset, (_, row) in zip(offsets, genotypes.iterrows()):
            runs = data.trials[data.trials["arch"] == row["arch"]]
            run_dots(ax, np.full(len(runs), position + offset - 0.25 * width), runs, colours[origin])
            mean_bars(ax, [position + offset + 0.1 * width], pd.DataFrame([row]), colours[origin], None, line=False)
            if origin != "random":
                ranks.append(f"{row['arch']}: {row['rank_among_random']}")
        overall = summarize(genotypes["mean"], data.study.mode)
        if overall.n >= 2:
            ax.errorbar([position + 0.42], [overall.mean], yerr=[[overall.mean - overall.low],
                                                                  [overall.high - overall.mean]],
                        color="black", marker="s", ms=7, capsize=5, lw=2, zorder=5,
                        label=None if labelled else "mean over the genotypes")
            labelled = True
    percent_limits(ax)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    ax.text(1.02, 0.0, "rank by mean, among the random:\n" + "\n".join(ranks), transform=ax.transAxes,
            fontsize=8, va="bottom")
    costs = table.groupby("origin")["selection_cost"].first() if "selection_cost" in table else pd.Series(dtype=str)
    labels = []
    for origin in origins:
        n = int((table["origin"] == origin).sum())
        cost = str(costs.get(origin) or "").split(" (")[0]
        labels.append(f"{origin}\n({n} genotype{'s' if n != 1 else ''})" + (f"\nchosen in {cost}" if cost else ""))
    ax.set_xticks(range(len(origins)), labels)
    ax.set_xlim(-0.6, len(origins) - 0.2)
    ax.set_ylabel(f"retrained {data.metric} (%)")
    ax.set_title("searched against " + ("proxy-picked and " if "proxy" in origins else "")
                 + "random genotypes of the same space")
    return Plot(save(fig, data.folder, "random_baseline"),
                f"retrained {data.metric} of the {', '.join(origins)} genotypes: dots = runs; diamonds = each "
                f"genotype's mean over seeds with its {INTERVAL}; black squares = each origin's mean over its "
                f"genotypes with its {INTERVAL}; labels: where each searched"
                f"{' or proxy-picked' if 'proxy' in origins else ''} genotype ranks among the random ones, and "
                f"what choosing each origin's cells cost (analysis/random_baseline.csv)")
