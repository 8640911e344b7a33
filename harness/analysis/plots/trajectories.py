"""The sampling temperature and the resource cost per epoch, a line per trial (or, for many
trials, each colour's median and quantile bands: :mod:`.bands`)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from harness.analysis.plots.bands import band_legend, draw_bands, epoch_view
from harness.analysis.plots.common import Plot, PlotInput, epoch_axis, readable_log_ticks, save
from snas.methods import METHODS


def _resource_penalty_on(data: PlotInput) -> bool:
    """Whether any trial's loss had a resource term (a method other than ``none``, λ > 0), from
    the settings each ran with.  The ``cost`` metric is reported either way: without a
    penalty it is a number no trial used."""
    resources = [settings.get("resource") or {} for settings in data.settings.values() if settings is not None]
    return any(r.get("method", "none") != "none" and (r.get("lambda") or 0) > 0 for r in resources)


def _samples_with_temperature(data: PlotInput) -> pd.Series:
    """For each row of the curves, whether its trial's method samples with a temperature (SNAS,
    GDAS), not DARTS's softmax; a trial whose settings are unknown, or whose method this
    version does not define, counts as sampling (its temperature is drawn)."""
    methods = {trial_id: (settings or {}).get("method") for trial_id, settings in data.settings.items()}
    uses = {trial_id: METHODS[method].uses_temperature for trial_id, method in methods.items()
            if isinstance(method, str) and method in METHODS}
    return data.curves["trial_id"].map(lambda trial_id: uses.get(trial_id, True)).astype(bool)


def plot_trajectories(data: PlotInput) -> Plot | None:
    """Temperature (and the resource cost, when a penalty is on) per epoch for every trial."""
    if not len(data.curves) or "temperature" not in data.curves:
        return None
    view = epoch_view(data)
    tempered = view.curves[_samples_with_temperature(data)]
    penalty = "cost" in data.curves and _resource_penalty_on(data)
    panels = ([("temperature", "temperature τ", tempered)] if len(tempered) else []) + (
        [("cost", "resource cost", view.curves)] if penalty else [])
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.6), squeeze=False)
    last_epoch = int(data.curves["training_iteration"].max())
    for ax, (metric, label, curves) in zip(axes[0], panels):
        if view.bands:
            draw_bands(ax, curves, metric, view)
        else:
            sns.lineplot(data=curves, x="training_iteration", y=metric, hue=view.hue, units="trial_id",
                         estimator=None, ax=ax, legend=ax is axes[0][-1] and view.legend, palette=view.palette)
        ax.set_xlabel("epoch")
        epoch_axis(ax, last_epoch)
        ax.set_ylabel(label)
    if panels[0][0] == "temperature":
        axes[0][0].set_yscale("log")
        readable_log_ticks(axes[0][0].yaxis, pd.to_numeric(tempered["temperature"], errors="coerce"))
    if view.bands:
        band_legend(axes[0][-1], view, loc="upper left", bbox_to_anchor=(1.02, 1))
    elif axes[0][-1].get_legend() is not None:
        sns.move_legend(axes[0][-1], "upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    shown = [name for name, _, _ in panels]
    what = " and ".join({"temperature": "temperature (log scale)", "cost": "resource cost"}[name] for name in shown)
    fig.suptitle(f"{what.replace(' (log scale)', '')} per epoch")
    untempered = data.curves["trial_id"].nunique() - tempered["trial_id"].nunique()
    note = (f"; the temperature of the {untempered} DARTS-like trial(s) is not drawn (their softmax has none)"
            if untempered and "temperature" in shown else "")
    return Plot(save(fig, data.folder, "trajectories"),
                f"{what} per epoch; colour: {view.hue}{note}{view.caption_notes()}")
