"""The per-epoch plots of a large study: each colour group's median and quantile bands.

A line per trial shows a small study faithfully; above
:data:`~harness.analysis.plots.crowding.EVERY_TRIAL_LIMIT` trials the lines hide one another,
and what a reader wants from them -- where most trials are at each epoch, how far the
spread reaches, whether one setting's trials sit above another's -- is what a median with a
25-75 % and a 10-90 % band says, per colour group.  Each epoch's quantiles are over the
trials that reached it: under ASHA the later epochs hold the survivors only, which the
caption says.  Drawing a few polygons instead of thousands of lines also keeps the PDF small
and the plot fast.

:func:`epoch_view` decides, once per plot, what colours (and panels) a per-epoch plot of
``data`` gets and whether it draws lines or bands; the plot then draws lines with seaborn
as it always has, or calls :func:`draw_bands`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.patches import Patch

from harness.analysis.plots import crowding
from harness.analysis.plots.common import PlotInput, changed_mid_run, colour_setting, ordered_palette

BANDS = ((0.10, 0.90, 0.14), (0.25, 0.75, 0.30))
"""The quantile ranges drawn around each median, widest first, with their opacity."""
MARKED_EPOCHS = 12
"""Up to this many epochs the medians carry a marker at each epoch (as the lines do)."""
ALL_TRIALS = "all trials"
"""The one group of a study whose colour setting did not vary."""
GROUP_BANDS = 3
"""The most colour groups that each get their own bands; behind more, one grey band of all
trials (the spread), with each group's median in its colour (where the groups differ)."""
SHARED_BAND_COLOUR = "0.45"


@dataclass(frozen=True)
class EpochView:
    """What a per-epoch plot draws: its rows, colour column and colours, and how."""

    curves: pd.DataFrame
    """The per-epoch rows, their colour (and panel) column holding the groups drawn."""
    hue: str
    panel: str | None
    """The column of the panels (``None``: one panel)."""
    palette: list | None
    """The palette of the lines (seaborn's default when ``None``)."""
    bands: bool
    """Medians and quantile bands, instead of a line per trial."""
    legend: bool
    """Whether the colours get a legend (not for a line per trial of many trials)."""
    notes: tuple[str, ...]
    """What was grouped and why, for the caption."""

    def caption_notes(self) -> str:
        return "".join(f"; {note}" for note in self.notes)

    @cached_property
    def colours(self) -> dict:
        """Each colour group's colour, in the order the legend lists them."""
        column = self.curves[self.hue]
        if isinstance(column.dtype, pd.CategoricalDtype):
            groups = [g for g in column.cat.categories if (column == g).any()]
        else:
            groups = sorted(column.dropna().unique())
        return dict(zip(groups, self.palette or sns.color_palette(n_colors=len(groups))))

    @property
    def shared_bands(self) -> bool:
        """Whether one grey band of all trials stands behind the colours' medians, as more than
        :data:`GROUP_BANDS` groups' bands would hide one another."""
        return len(self.colours) > GROUP_BANDS


def _binned(data: PlotInput, curves: pd.DataFrame, name: str, most: int, bins: int) -> tuple[pd.DataFrame, str]:
    """``curves`` with ``name`` as groups when it has more than ``most`` values (from its
    trials' values, so every trial counts once however many epochs it ran)."""
    per_trial = data.trials.drop_duplicates("trial_id").set_index("trial_id")[name]
    grouping = crowding.group_values(per_trial, most, bins, name)
    if not grouping.note:
        return curves, ""
    return curves.assign(**{name: grouping.of(curves["trial_id"])}), grouping.note


def epoch_view(data: PlotInput, panel: str | None = None) -> EpochView:
    """The colours (the kind's colour setting, else the trial) and, given ``panel`` (a
    setting, used when it varies and every trial held it), the panels of a per-epoch plot of
    ``data``, each grouped when it has too many values, and whether the study has too many
    trials for a line each."""
    hue = colour_setting(data)
    panel = panel if panel is not None and data.has(panel) and data.held(panel) else None
    curves = data.curves
    changed = changed_mid_run(data, (*data.kind.colour_settings, data.kind.facet_setting))
    notes = [changed] if changed else []
    for name, most, bins in ((hue, crowding.MAX_COLOURS, crowding.COLOUR_BINS),
                             (panel, crowding.MAX_PANELS, crowding.PANEL_BINS)):
        if name is not None and name != "trial_id":
            curves, note = _binned(data, curves, name, most, bins)
            if note:
                notes.append(note)
            curves = _readable(curves, name)
    if hue == data.arm:
        curves = curves.assign(**{hue: curves[hue].map(_ARMS).astype(pd.CategoricalDtype(list(_ARMS.values())))})
    legend = True
    if hue == "trial_id" and data.crowded:
        hue = ALL_TRIALS
        curves = curves.assign(**{ALL_TRIALS: f"{curves['trial_id'].nunique()} trials"})
    elif hue == "trial_id" and curves["trial_id"].nunique() > crowding.MAX_COLOURS:
        legend = False
        notes.append(f"no legend for more than {crowding.MAX_COLOURS} trials")
    palette = None if hue == data.arm else ordered_palette(curves[hue])
    view = EpochView(curves, hue, panel, palette, data.crowded, legend, ())
    if not view.bands:
        return replace(view, notes=tuple(notes))
    whose = "of all trials (grey bands)" if view.shared_bands else "of its trials (bands)"
    notes.insert(0, f"{len(data.trials)} trials, more than {data.every_trial_limit}, so instead of a line per "
                    f"trial: each colour's median (line) and the 25–75 % and 10–90 % ranges {whose}, at each "
                    f"epoch over the trials that reached it")
    return replace(view, notes=tuple(notes))


_ARMS = {False: "population", True: "control (fixed)"}
"""The legend's names of a population study's two arms (:attr:`PlotInput.arm`)."""


def _readable(curves: pd.DataFrame, name: str) -> pd.DataFrame:
    """``curves`` with the numbers of ``name`` as 4 significant digits, when any has more (a
    drawn value's 16 digits in a legend), as groups in numeric order."""
    column = curves[name]
    if not pd.api.types.is_float_dtype(column):
        return curves
    labels = {value: f"{value:.4g}" for value in sorted(column.dropna().unique())}
    if all(float(label) == value for value, label in labels.items()):
        return curves
    order = pd.CategoricalDtype(list(dict.fromkeys(labels.values())), ordered=True)
    return curves.assign(**{name: column.map(labels).astype(order)})


def quantile_table(curves: pd.DataFrame, metric: str, by: list[str]) -> pd.DataFrame:
    """Per group of ``by`` and epoch: the median and the :data:`BANDS` quantiles of ``metric``."""
    levels = sorted({q for low, high, _ in BANDS for q in (low, high)} | {0.5})
    values = curves.assign(**{metric: pd.to_numeric(curves[metric], errors="coerce")}).dropna(subset=[metric])
    table = values.groupby([*by, "training_iteration"], observed=True)[metric].quantile(levels).unstack()
    return table.reset_index()


def _fill(ax: plt.Axes, rows: pd.DataFrame, colour: object) -> None:
    epochs = rows["training_iteration"].to_numpy(float)
    for low, high, alpha in BANDS:
        ax.fill_between(epochs, rows[low], rows[high], color=colour, alpha=alpha, lw=0)


def draw_bands(ax: plt.Axes, curves: pd.DataFrame, metric: str, view: EpochView) -> None:
    """Each colour group's median of ``metric`` per epoch, over its quantile bands (or, with
    many groups, over the grey bands of all ``curves``' trials)."""
    colours = view.colours
    medians = quantile_table(curves, metric, [view.hue])
    if view.shared_bands:
        _fill(ax, quantile_table(curves, metric, []), SHARED_BAND_COLOUR)
    marker = "o" if curves["training_iteration"].nunique() <= MARKED_EPOCHS else None
    for group, colour in colours.items():
        rows = medians[medians[view.hue] == group]
        if not len(rows):
            continue
        if not view.shared_bands:
            _fill(ax, rows, colour)
        ax.plot(rows["training_iteration"].to_numpy(float), rows[0.5], color=colour, lw=1.8, marker=marker, ms=4,
                label=f"{group:.4g}" if isinstance(group, float) else str(group))


def band_legend(ax: plt.Axes, view: EpochView, **placement: Any) -> None:
    """The colour groups' medians and the bands' widths, as one legend on ``ax``."""
    whose = "all trials" if view.shared_bands else "a colour's trials"
    colour = SHARED_BAND_COLOUR if view.shared_bands else "0.5"
    keys = [Patch(color=colour, alpha=min(1.0, alpha + 0.1), label=f"{low:.0%}–{high:.0%} of {whose}")
            for low, high, alpha in BANDS]
    handles, labels = ax.get_legend_handles_labels()
    ax.legend([*handles, *keys], [*labels, *(str(key.get_label()) for key in keys)], title=view.hue, fontsize=8,
              title_fontsize=9, frameon=False, **placement)
