"""A multi-objective study's answer drawn: its Pareto front, the region it dominates up to the
reference point (whose area is the hypervolume), and each seed's front when seeds vary."""

from __future__ import annotations

from itertools import combinations
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from harness.analysis.front import candidates, feasible, front_of, minimised, seed_groups
from harness.analysis.plots.common import Plot, PlotInput, budget_note, save, scale_note
from harness.analysis.replicates import finished
from harness.study.objectives import ObjectiveTerm

SIZE_PREFIXES = ("eval_", "child_", "")
"""The prefixes of the size metrics whose network :func:`scale_note` names."""


def _label(term: ObjectiveTerm) -> str:
    return f"{term.metric} ({term.mode})"


def _corners(u: np.ndarray) -> list[tuple[float, float]]:
    """The staircase through the points ``u`` (both axes minimised, sorted along the first):
    from each point along the first axis to the next point's, then to its second coordinate."""
    corners = []
    for i, (a, b) in enumerate(u):
        corners.append((a, b))
        if i + 1 < len(u):
            corners.append((u[i + 1, 0], b))
    return corners


def _sorted_minimised(x: np.ndarray, y: np.ndarray, modes: tuple[str, str]) -> np.ndarray:
    u = minimised(np.column_stack([x, y]), modes)
    return u[np.argsort(u[:, 0], kind="stable")]


def _steps(x: np.ndarray, y: np.ndarray, modes: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
    """The front's staircase through the points ``(x, y)`` (the edge of the region it dominates)."""
    line = minimised(np.array(_corners(_sorted_minimised(x, y, modes))), modes)  # twice: the signs restored
    return line[:, 0], line[:, 1]


def _dominated(ax: plt.Axes, x: np.ndarray, y: np.ndarray, reference: tuple[float, float],
               modes: tuple[str, str], colour: str) -> None:
    """Shade the region the points dominate up to ``reference`` (its area is the hypervolume)."""
    ref = minimised(np.array([reference]), modes)[0]
    u = _sorted_minimised(x, y, modes)
    u = u[np.all(u < ref, axis=1)]
    if np.isnan(ref).any() or not len(u):
        return
    outline = [(u[0, 0], ref[1]), *_corners(u), (ref[0], u[-1, 1]), (ref[0], ref[1])]
    region = minimised(np.array(outline), modes)
    ax.fill(region[:, 0], region[:, 1], color=colour, alpha=0.12, linewidth=0, label="dominated region (hypervolume)")


def _pair_panel(ax: plt.Axes, data: PlotInput, terms: tuple[ObjectiveTerm, ObjectiveTerm],
                reference: tuple[float, float], front: pd.DataFrame) -> None:
    """Every trial with both values (hollow: stopped early; a cross: infeasible) and the front."""
    y_term, x_term = terms
    table = data.trials.dropna(subset=[x_term.metric, y_term.metric])
    done, allowed = finished(table), feasible(table, data.study)
    styles: list[tuple[pd.DataFrame, dict[str, Any]]] = [
        (table[done & allowed], {"color": "0.55", "s": 22, "label": "finished trials"}),
        (table[~done], {"facecolors": "none", "edgecolors": "0.4", "s": 26,
                        "label": f"stopped early ({data.study.scheduler.stop_label or 'ASHA'})"}),
        (table[done & ~allowed], {"color": "0.6", "marker": "x", "s": 22, "label": "infeasible (constraints)"})]
    for rows, style in styles:
        if len(rows):
            ax.scatter(rows[x_term.metric], rows[y_term.metric], **style)
    x, y = front[x_term.metric].to_numpy(float), front[y_term.metric].to_numpy(float)
    modes = (x_term.mode, y_term.mode)
    ref = (reference[1], reference[0])
    if len(front):
        _dominated(ax, x, y, ref, modes, "tab:red")
        ax.plot(*_steps(x, y, modes), color="tab:red", linewidth=1.2)
    ax.plot(*ref, marker="+", color="black", markersize=10, linestyle="none", label="reference point")
    ax.scatter(x, y, color="tab:red", s=30, zorder=3, label="Pareto front")
    ax.set_xlabel(_label(x_term))
    ax.set_ylabel(_label(y_term))
    ax.legend(fontsize=7, loc="best")


def _seed_panel(ax: plt.Axes, data: PlotInput, reference: tuple[float, float]) -> None:
    """Each seed's front, in its own colour, against the shared reference point."""
    y_term, x_term = data.study.objectives
    groups = seed_groups(data.trials, data.study)
    colours = sns.color_palette("colorblind", len(groups))
    for colour, (scope, group) in zip(colours, groups):
        front = front_of(group, data.study, reference)
        members = front.members
        if not len(members):
            continue
        x, y = members[x_term.metric].to_numpy(float), members[y_term.metric].to_numpy(float)
        ax.plot(*_steps(x, y, (x_term.mode, y_term.mode)), color=colour, linewidth=1.2)
        ax.scatter(x, y, color=colour, s=24, label=f"{scope}: hypervolume {front.hypervolume:.3g}")
    ax.plot(reference[1], reference[0], marker="+", color="black", markersize=10, linestyle="none",
            label="reference point")
    ax.set_xlabel(_label(x_term))
    ax.set_title("each seed's front", fontsize=9)
    ax.legend(fontsize=7, loc="best")


def _scales(data: PlotInput) -> str:
    """Where the size metrics among the objectives were counted."""
    notes = {scale_note(data, prefix) for term in data.study.objectives for prefix in SIZE_PREFIXES
             if term.metric.startswith(prefix) and term.metric.removeprefix(prefix) in ("params_m", "macs_m")}
    return "; ".join(sorted(note for note in notes if note))


def plot_front(data: PlotInput) -> Plot | None:
    """The Pareto front of a multi-objective study (every pair of objectives when there are
    more than two), and each seed's front beside it when seeds vary and there are two."""
    study = data.study
    if not study.multi_objective or not len(candidates(data.trials, study)):
        return None
    whole = front_of(data.trials, study)
    terms = study.objectives
    pairs = list(combinations(range(len(terms)), 2))
    per_seed = len(terms) == 2 and bool(data.seeds)
    panels = len(pairs) + per_seed
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.0), squeeze=False)
    for ax, (i, j) in zip(axes[0], pairs):
        _pair_panel(ax, data, (terms[i], terms[j]), (whole.reference[i], whole.reference[j]), whole.members)
        ax.set_title("all trials" if per_seed else "", fontsize=9)
    if per_seed:
        _seed_panel(axes[0][-1], data, (whole.reference[0], whole.reference[1]))
        axes[0][-1].sharey(axes[0][0])
    scales = _scales(data)
    fig.suptitle(f"Pareto front: {len(whole.members)} of {whole.candidates} finished trials\nhypervolume "
                 f"{whole.hypervolume:.4g} against ({whole.reference_text(study)})"
                 + (f"\n{scales}" if scales else ""), fontsize=10, y=1.08 if scales else 1.04)
    caption = (f"the Pareto front of the finished trials (red) and the region it dominates up to the reference "
               f"point ({whole.reference_text(study)}; its area is the hypervolume, {whole.hypervolume:.4g})"
               + ("; right: each seed's front against the same reference point" if per_seed else "")
               + (f"; {scales}" if scales else "") + budget_note(data))
    return Plot(save(fig, data.folder, "front"), caption)
