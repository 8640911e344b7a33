"""ASHA's survival: how many trials reached each rung."""

from __future__ import annotations

import matplotlib.pyplot as plt

from harness.analysis.plots.common import Plot, PlotInput, save
from harness.policies.asha import AshaScheduler


def plot_asha_rungs(data: PlotInput) -> Plot | None:
    """How many trials reached each ASHA rung (a plot the ASHA scheduler adds to its studies)."""
    scheduler = data.study.scheduler
    if not isinstance(scheduler, AshaScheduler) or not len(data.trials):
        return None
    rungs = scheduler.rungs(data.study.epochs)
    counts = [int((data.trials["epochs"] >= r).sum()) for r in rungs]
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.bar([str(r) for r in rungs], counts, color="tab:blue")
    ax.set_ylim(0, max(counts) * 1.15 + 0.5)  # room for the counts above the bars
    for i, c in enumerate(counts):
        ax.text(i, c, str(c), ha="center", va="bottom")
    ax.set_xlabel("rung (epochs)")
    ax.set_ylabel("trials reaching it")
    ax.set_title(f"ASHA survival ({len(data.trials)} trials)")
    return Plot(save(fig, data.folder, "asha_rungs"), "number of trials that reached each ASHA rung")
