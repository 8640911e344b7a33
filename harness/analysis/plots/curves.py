"""The learning curves: accuracy per epoch, a line per trial."""

from __future__ import annotations

import seaborn as sns

from harness.analysis.plots.common import Plot, PlotInput, colour_setting, epoch_axis, ordered_palette, save


def plot_curves(data: PlotInput) -> Plot | None:
    """Accuracy per epoch (the ranking one, when it is an accuracy), a line per trial (seed 000's
    Figure 1), in panels by the kind's facet setting (a search's anneal rate) when it varies."""
    ranking = (data.metric,) if data.metric in data.curves and data.metric.endswith("_acc") else ()
    metric = next((m for m in (*ranking, *data.kind.curve_metrics) if m in data.curves), None)
    if not len(data.curves) or metric is None:
        return None
    facet = data.kind.facet_setting
    col = facet if facet is not None and data.has(facet) else None
    hue = colour_setting(data)
    panels = min(3, data.curves[col].nunique()) if col else None
    grid = sns.relplot(data=data.curves, x="training_iteration", y=metric, hue=hue, units="trial_id",
                       estimator=None, kind="line", col=col, col_wrap=panels, height=3.4, aspect=1.3,
                       palette=ordered_palette(data.curves[hue]), marker="o", markersize=5)
    grid.set_axis_labels("epoch", f"{metric} (%)")
    for ax in grid.axes.flat:
        epoch_axis(ax, int(data.curves["training_iteration"].max()))
    grid.figure.suptitle(f"{metric} per epoch, one line per trial", y=1.03)
    return Plot(save(grid.figure, data.folder, f"curves_{metric}"),
                f"{metric} per epoch; colour: {hue}" + (f"; panels: {col}" if col else ""))
