"""The search's health per epoch: the signs of DARTS's collapse, a line per trial."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from harness.analysis.plots.bands import band_legend, draw_bands, epoch_view
from harness.analysis.plots.common import Plot, PlotInput, epoch_axis, save

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
    view = epoch_view(data)
    columns = min(2, len(present))
    rows = -(-len(present) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 3.2 * rows), squeeze=False)
    last_epoch = int(data.curves["training_iteration"].max())
    for ax, (metric, label) in zip(axes.flat, present):
        if view.bands:
            draw_bands(ax, view.curves, metric, view)
        else:
            sns.lineplot(data=view.curves, x="training_iteration", y=metric, hue=view.hue, units="trial_id",
                         estimator=None, ax=ax, legend=ax is axes.flat[0] and view.legend, palette=view.palette,
                         marker="o", markersize=4)
        ax.set_xlabel("epoch")
        ax.set_ylabel("")
        ax.set_title(label, fontsize=10)
        epoch_axis(ax, last_epoch)
        if metric.startswith("normal_"):
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if metric == "arch_entropy_normalized":
            ax.set_ylim(0, 1.05)
    for ax in list(axes.flat)[len(present):]:
        ax.set_visible(False)
    fig.suptitle("search health per epoch, " + (f"median and quantile bands of {len(data.trials)} trials"
                                                if view.bands else "one line per trial"))
    fig.tight_layout()
    beside: dict[str, Any] = {"loc": "upper left", "bbox_to_anchor": (2.25 if columns == 2 else 1.05, 1)}
    if view.bands:
        band_legend(axes.flat[0], view, **beside)
    elif axes.flat[0].get_legend() is not None:
        sns.move_legend(axes.flat[0], title=view.hue, frameon=False, fontsize=8, **beside)
    return Plot(save(fig, data.folder, "health"),
                "search health per epoch: " + "; ".join(label for _, label in present) + f"; colour: {view.hue}"
                + view.caption_notes())
