"""What every plot family shares: its input (:class:`PlotInput`) and output (:class:`Plot`),
saving, the colours and epoch axis of the per-epoch plots, readable log-scale ticks, and caption
notes several plots give.

Importing this module changes no matplotlib setting (:func:`harness.analysis.plots.draw_plots`
sets the file backend and the theme before the first plot).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

from harness.analysis.plot_record import Plot as Plot  # defined where it imports no matplotlib
from harness.analysis.plots.crowding import EVERY_TRIAL_LIMIT
from harness.analysis.replicates import INTERVAL, factor_columns, finished, seed_columns
from harness.analysis.scale import Scale, describe_scales
from harness.domain import CONTROL_KEY
from harness.kinds import TrialKind
from harness.study import Study
from snas.atomic import atomic_write

HOLLOW_NOTE = ("hollow markers: stopped early by ASHA, their score is from fewer epochs "
               "and is left out of every mean")


@dataclass
class PlotInput:
    study: Study
    trials: pd.DataFrame
    curves: pd.DataFrame
    metric: str
    folder: Path
    best: list[dict[str, Any]] = field(default_factory=list)
    """The winners (``best.json``'s trials), best first."""
    scales: dict[str, list[Scale]] = field(default_factory=dict)
    """The networks the size metrics were counted on, by metric prefix (:mod:`harness.analysis.scale`)."""
    settings: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    """The settings each trial ran with, by trial id (:meth:`harness.analysis.results.StudyResults.settings_of`)."""
    lineages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """The copies each trial's final state went through under population-based training
    (:mod:`harness.lineage`), by trial id."""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    """The analysis's extra tables, by name (:data:`harness.analysis.summary.EXTRA_TABLES`)."""
    every_trial_limit: int = EVERY_TRIAL_LIMIT
    """The most trials drawn one by one (:mod:`harness.analysis.plots.crowding`)."""

    @property
    def crowded(self) -> bool:
        """Whether the study has too many trials to draw one by one."""
        return len(self.trials) > self.every_trial_limit

    @property
    def varied(self) -> dict[str, str]:
        """Short names of the varied settings, in study order."""
        return self.kind.short_names(list(self.study.space))

    def has(self, name: str) -> bool:
        return name in self.varied.values() and name in self.trials and self.trials[name].nunique() > 1

    def held(self, name: str) -> bool:
        """Whether every trial ran all its epochs with one value of ``name``: not so for a
        setting population-based training perturbed, or a replay changed, mid-run.  Such a
        setting cannot colour or panel a per-epoch line, which would change colour or panel
        at the change (the curves carry the value in force at each epoch)."""
        if name not in self.curves:
            return True
        return bool(self.curves.groupby("trial_id", sort=False)[name].nunique(dropna=False).le(1).all())

    @property
    def arm(self) -> str | None:
        """The column saying which trials are a population study's control arm, when it varies."""
        name = self.varied.get(CONTROL_KEY)
        return name if name is not None and self.has(name) else None

    @property
    def kind(self) -> TrialKind:
        return self.study.trial_kind

    @property
    def factors(self) -> list[str]:
        """The varied settings that are not seeds and took more than one value."""
        return [name for name in factor_columns(self.study, self.trials) if self.has(name)]

    @property
    def seeds(self) -> list[str]:
        return [name for name in seed_columns(self.study) if name in self.trials]

    @property
    def any_stopped(self) -> bool:
        return bool((~finished(self.trials)).any())

    def interval_note(self) -> str:
        """What the dots and diamonds of a plot over settings are (a caption's start)."""
        if not self.seeds:
            return "dots = runs, one per setting (no seed varies, so no mean over seeds and no interval)"
        return (f"dots = runs; diamonds = the mean over seeds ({', '.join(self.seeds)}) with its {INTERVAL} "
                f"(none where n = 1)")


PNG_DPI = 130


def save(fig: plt.Figure, folder: Path, name: str) -> Path:
    """Write the figure as PNG and PDF, each atomically (a report read meanwhile never
    embeds half a picture), both cropped to the figure's tight box.

    The box is found once, for both: ``savefig(bbox_inches="tight")`` lays the figure out
    and measures it in a draw of its own before each file's draw, which at 10,000 trials
    costs about a second over the eight plots of a study."""
    dpi = fig.dpi
    fig.set_dpi(PNG_DPI)  # measured as the PNG draws it, to the pixel
    fig.draw_without_rendering()  # the layout, as savefig's own first pass makes it
    box = fig.get_tightbbox().padded(plt.rcParams["savefig.pad_inches"])
    fig.set_dpi(dpi)
    png = atomic_write(folder / f"{name}.png", lambda handle: fig.savefig(handle, format="png", dpi=PNG_DPI,
                                                                          bbox_inches=box))
    atomic_write(folder / f"{name}.pdf", lambda handle: fig.savefig(handle, format="pdf", bbox_inches=box))
    plt.close(fig)
    return png


def colour_setting(data: PlotInput) -> str:
    """The setting that colours the per-epoch lines: the first varied of the kind's colour
    settings (a search's τ0, λ, penalty, method; a retraining's genotype) that every trial
    held throughout (:meth:`PlotInput.held`), else a population study's arm (population or
    control), else the trial."""
    candidates = (*data.kind.colour_settings, data.arm)
    return next((name for name in candidates if name is not None and data.has(name) and data.held(name)),
                "trial_id")


def changed_mid_run(data: PlotInput, names: tuple[str | None, ...]) -> str:
    """The caption's note on those of ``names`` that varied but colour or panel nothing, since
    trials changed them mid-run ("" when none)."""
    changed = [name for name in names if name is not None and data.has(name) and not data.held(name)]
    if not changed:
        return ""
    scheduler = data.study.scheduler
    by = f" (perturbed by {scheduler.title})" if scheduler.copies_trials else ""
    return (f"{' and '.join(changed)} {'change' if len(changed) > 1 else 'changes'} within trials{by}, "
            f"so no colour or panel stands for {'them' if len(changed) > 1 else 'it'}")


def ordered_palette(values: pd.Series) -> list | None:
    """Viridis for a numeric setting (or its quantile bins), without its last (yellow,
    near-invisible) shade."""
    if isinstance(values.dtype, pd.CategoricalDtype) and values.cat.ordered:
        levels = len(values.cat.categories)
    elif pd.api.types.is_numeric_dtype(values):
        levels = values.nunique()
    else:
        return None
    return sns.color_palette("viridis", levels + 1)[:levels]


def epoch_axis(ax: plt.Axes, last_epoch: int) -> None:
    """Whole epochs; every one ticked when there are few (a one-epoch run shows one tick, at 1)."""
    if last_epoch <= 12:
        ax.set_xticks(range(1, last_epoch + 1))
        ax.set_xlim(0.5, last_epoch + 0.5)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def budget_note(data: PlotInput) -> str:
    """The caption's note on hollow markers, when ASHA stopped any trial."""
    return f"; {HOLLOW_NOTE}" if data.any_stopped else ""


def scale_note(data: PlotInput, prefix: str) -> str:
    """``counted on <network>`` for the size metrics with ``prefix``, or nothing when unknown."""
    scales = data.scales.get(prefix)
    return f"counted on {describe_scales(scales)}" if scales else ""


def readable_log_ticks(axis: Any, values: pd.Series) -> None:
    """Ticks at 1, 2 and 5 × powers of ten and at both ends of the data (two significant
    digits), none crowding another, labelled as plain numbers (0.5, not 5×10⁻¹)."""
    positive = values[values > 0]
    if not len(positive):
        return
    low, high = float(positive.min()), float(positive.max())
    ends = [float(f"{low:.2g}"), float(f"{high:.2g}")]
    decades = range(int(np.floor(np.log10(low))), int(np.ceil(np.log10(high))) + 1)
    steps = [m * 10.0**e for e in decades for m in (1, 2, 5) if low <= m * 10.0**e <= high]
    ticks = list(ends)
    for tick in steps:
        if all(max(tick, t) / min(tick, t) >= 1.4 for t in ticks):
            ticks.append(tick)
    axis.set_major_locator(FixedLocator(sorted(set(ticks))))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_locator(NullLocator())
