"""The learning curves: accuracy per epoch, a line per trial (or, for many trials, each
colour's median and quantile bands: :mod:`.bands`)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from harness.analysis.plots.bands import EpochView, band_legend, draw_bands, epoch_view
from harness.analysis.plots.common import Plot, PlotInput, epoch_axis, save

_PANEL_HEIGHT, _PANEL_ASPECT, _PANELS_PER_ROW = 3.4, 1.3, 3


def plot_curves(data: PlotInput) -> Plot | None:
    """Accuracy per epoch (the ranking one, when it is an accuracy), a line per trial (seed 000's
    Figure 1), in panels by the kind's facet setting (a search's anneal rate) when it varies."""
    ranking = (data.metric,) if data.metric in data.curves and data.metric.endswith("_acc") else ()
    metric = next((m for m in (*ranking, *data.kind.curve_metrics) if m in data.curves), None)
    if not len(data.curves) or metric is None:
        return None
    view = epoch_view(data, panel=data.kind.facet_setting)
    col = view.panel
    last_epoch = int(data.curves["training_iteration"].max())
    if view.bands:
        figure = _banded_panels(view, metric, col, last_epoch)
        title = f"{metric} per epoch, median and quantile bands of {len(data.trials)} trials"
    else:
        panels = min(_PANELS_PER_ROW, view.curves[col].nunique()) if col else None
        grid = sns.relplot(data=view.curves, x="training_iteration", y=metric, hue=view.hue, units="trial_id",
                           estimator=None, kind="line", col=col, col_wrap=panels, height=_PANEL_HEIGHT,
                           aspect=_PANEL_ASPECT, palette=view.palette, marker="o", markersize=5,
                           legend="auto" if view.legend else False)
        grid.set_axis_labels("epoch", f"{metric} (%)")
        for ax in grid.axes.flat:
            epoch_axis(ax, last_epoch)
        figure, title = grid.figure, f"{metric} per epoch, one line per trial"
    figure.suptitle(title, y=1.03)
    return Plot(save(figure, data.folder, f"curves_{metric}"),
                f"{metric} per epoch; colour: {view.hue}" + (f"; panels: {col}" if col else "")
                + view.caption_notes())


def _banded_panels(view: EpochView, metric: str, col: str | None, last_epoch: int) -> plt.Figure:
    """The bands of each colour group, a panel per group of ``col`` (at most a row and a bit:
    ``col`` has few values or was binned), the legend beside the first row."""
    column = view.curves[col] if col else pd.Series(0, index=view.curves.index)
    groups = (list(column.cat.categories) if isinstance(column.dtype, pd.CategoricalDtype)
              else sorted(column.dropna().unique()))
    columns = min(_PANELS_PER_ROW, len(groups))
    rows = -(-len(groups) // columns)
    figure, axes = plt.subplots(rows, columns, squeeze=False, sharex=True, sharey=True,
                                figsize=(_PANEL_HEIGHT * _PANEL_ASPECT * columns, _PANEL_HEIGHT * rows))
    for i, (ax, group) in enumerate(zip(axes.flat, groups)):
        rows_of = view.curves[column == group]
        draw_bands(ax, rows_of, metric, view)
        if i == columns - 1:
            band_legend(ax, view, loc="upper left", bbox_to_anchor=(1.02, 1))
        if col:
            ax.set_title(f"{col} = {group} ({rows_of['trial_id'].nunique()} trials)", fontsize=11)
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"{metric} (%)" if i % columns == 0 else "")
        epoch_axis(ax, last_epoch)
    for ax in list(axes.flat)[len(groups):]:
        ax.set_visible(False)
    figure.tight_layout()
    return figure
