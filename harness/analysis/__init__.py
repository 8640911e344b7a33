"""Analysis of a study folder: tables, plots, the winners, the report.  Never starts Ray."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from harness.analysis.plots import Plot, PlotInput, draw_plots
from harness.analysis.results import StudyResults, load_results
from harness.analysis.tables import (
    Scope,
    best_trials,
    curves_table,
    retrain_comparison,
    trials_table,
)
from harness.health import winner_warning
from harness.outputs import check_study_outputs
from harness.study import Study
from harness.studyfolder import ANALYSIS_DIR, BEST_FILE, PLOTS_DIR
from snas.atomic import atomic_write, atomic_write_text

EXTRA_TABLES: dict[str, Callable[[pd.DataFrame, Study], pd.DataFrame]] = {
    "retrain_vs_search": lambda trials, study: retrain_comparison(trials, study.source),
}
"""Tables written beside trials and curves for the kinds that name them (:attr:`TrialKind.tables`)."""


@dataclass
class AnalysisSummary:
    results: StudyResults
    trials: pd.DataFrame
    best: list[dict]
    plots: list[Plot] = field(default_factory=list)
    metric: str = ""
    scope: Scope = "last"

    @property
    def path(self) -> Path:
        return self.results.path

    def describe(self) -> str:
        study, table = self.results.study, self.trials
        states = table["state"].value_counts().to_dict() if len(table) else {}
        counts = [f"{n} {s.lower()}" for s, n in states.items()] or ["none yet"]
        reasons = table["stop_reason"].astype(str) if len(table) else pd.Series(dtype=str)
        outcomes = [f"{int(table['diverged'].sum()) if len(table) else 0} diverged"]
        if study.scheduler.name == "asha":
            outcomes.insert(0, f"{int((reasons == 'ASHA').sum())} stopped early by ASHA")
        if study.stop.max_skip_connect is not None:
            outcomes.append(f"{int(reasons.str.startswith('collapse').sum())} stopped for collapse "
                            f"(skip_connect > {study.stop.max_skip_connect})")
        lines = [f"study {study.name}: {len(table)} trials ({', '.join(counts)}; {', '.join(outcomes)})"]
        lines += [f"note: {note}" for note in self.results.notes]
        if self.best:
            top = self.best[0]
            names = study.trial_kind.short_names(list(study.space))
            settings = ", ".join(f"{names[k]}={v}" for k, v in top["config"].items() if k in names)
            lines.append(f"best trial {top['trial_id']}: {self.metric} = {top['score']:.2f} "
                         f"({self.scope} epoch){' with ' + settings if settings else ''}")
            lines.append(f"genotype: {top['genotype']}")
            warning = winner_warning(study, top)
            if warning:
                lines.append(warning)
        else:
            lines.append(f"no trial has reported {self.metric} yet")
        tables = ", ".join(["trials.csv", "curves.csv", BEST_FILE,
                            *(f"{name}.csv" for name in study.trial_kind.tables)])
        lines.append(f"tables: {self.path / ANALYSIS_DIR} ({tables})")
        lines.append(f"plots:  {self.path / PLOTS_DIR} ({len(self.plots)} plots)")
        return "\n".join(lines)


def _write_table(table: pd.DataFrame, stem: Path) -> None:
    atomic_write_text(stem.with_suffix(".csv"), table.to_csv(index=False))
    atomic_write(stem.with_suffix(".parquet"), lambda handle: table.to_parquet(handle, index=False))


def _json_default(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


def write_analysis(path: str | Path, metric: str | None = None, scope: Scope = "last", top: int = 3,
                   plots: bool = True, study: Study | None = None) -> AnalysisSummary:
    """Write ``analysis/`` (tables, best.json) and ``plots/`` for the study folder ``path``
    (whose study is ``study`` when the caller has read it already)."""
    results = load_results(path, study)
    metric = results.study.metric if metric is None else metric
    results.study.check_ranking_metric(metric)  # before anything is rewritten
    check_study_outputs(results.path, (ANALYSIS_DIR, PLOTS_DIR))
    trials = trials_table(results, metric, scope)
    curves = curves_table(results)
    best = best_trials(trials, results, top)
    out = results.path / ANALYSIS_DIR
    _write_table(trials, out / "trials")
    _write_table(curves, out / "curves")
    for name in results.study.trial_kind.tables:
        _write_table(EXTRA_TABLES[name](trials, results.study), out / name)
    atomic_write_text(out / BEST_FILE, json.dumps(
        {"metric": metric, "scope": scope, "partial": results.partial, "notes": results.notes, "trials": best},
        indent=2, default=_json_default) + "\n")
    summary = AnalysisSummary(results, trials, best, metric=metric, scope=scope)
    if plots and len(trials):
        summary.plots = draw_plots(PlotInput(results.study, trials, curves, metric, results.path / PLOTS_DIR, best))
    return summary
