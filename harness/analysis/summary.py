"""The whole analysis of a study folder: its tables, plots, winners and summary (`analyze`; every run at its end)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd
import pyarrow as pa

from harness.analysis.front import (
    empty_front_note,
    front_document,
    front_of,
    front_points,
    front_table,
    hypervolume_table,
    with_front_columns,
)
from harness.analysis.output_set import OutputSet, replacing_outputs
from harness.analysis.plot_record import Plot
from harness.analysis.plotting import Plotter, SerialPlots, plotter
from harness.analysis.population import DIFFERENCE, population_vs_control
from harness.analysis.predictors import SEARCH_SIGNALS, SIZE_SIGNALS, predictor_board, predictor_values_table
from harness.analysis.replicates import (
    INTERVAL,
    factor_columns,
    paired_comparisons,
    replicate_table,
    seed_columns,
)
from harness.analysis.results import StudyResults, load_results
from harness.analysis.scale import Scale, study_scales
from harness.analysis.tables import (
    Scope,
    best_trials,
    curves_table,
    distinct_genotypes,
    random_baseline,
    retrain_comparison,
    trials_table,
    with_retrain_origins,
)
from harness.health import winner_warning
from harness.outputs import check_study_outputs
from harness.study import Study
from harness.studyfolder import ANALYSIS_DIR, BEST_FILE, PLOTS_DIR, REPORT_FILE
from snas.atomic import atomic_write, atomic_write_text


def _factors(trials: pd.DataFrame, study: Study) -> list[str]:
    return [name for name in factor_columns(study, trials) if trials[name].nunique(dropna=False) > 1]


def _paired(trials: pd.DataFrame, study: Study) -> pd.DataFrame:
    """Paired comparisons between the levels of every categorical factor, when seeds pair runs up."""
    seeds = [name for name in seed_columns(study) if name in trials]
    factors = _factors(trials, study)
    if not seeds:
        return pd.DataFrame()
    tables = [paired_comparisons(trials, name, seeds + [f for f in factors if f != name]) for name in factors
              if not pd.api.types.is_numeric_dtype(trials[name]) or pd.api.types.is_bool_dtype(trials[name])]
    tables = [table for table in tables if len(table)]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


ExtraTable = Callable[[pd.DataFrame, StudyResults, dict[str, pd.DataFrame]], pd.DataFrame]
"""A table from the trials table, the study's results and the tables made before it."""


def _per_setting(table: ExtraTable) -> ExtraTable:
    """A table over settings, which a population-based study has none of: its trials copy each
    other's settings as they run (its comparison is :func:`population_vs_control`)."""
    return lambda trials, results, tables: (pd.DataFrame() if results.study.scheduler.copies_trials
                                            else table(trials, results, tables))


EXTRA_TABLES: dict[str, ExtraTable] = {
    "retrain_vs_search": lambda trials, results, _: retrain_comparison(trials, results.study.source),
    "replicates": _per_setting(lambda trials, results, _: replicate_table(trials, _factors(trials, results.study),
                                                                          results.study.mode)),
    "paired": _per_setting(lambda trials, results, _: _paired(trials, results.study)),
    "population_vs_control": lambda trials, results, _: population_vs_control(trials, results.study),
    "genotypes": lambda trials, results, _: distinct_genotypes(trials, _factors(trials, results.study)),
    "random_baseline": lambda trials, results, _: random_baseline(trials, results.study.mode,
                                                                  (results.study.source or {}).get("selection")),
    "predictor_values": lambda trials, results, _: predictor_values_table(trials, results.study.source,
                                                                          results.path / ANALYSIS_DIR),
    "predictors": lambda trials, results, tables: predictor_board(tables.get("predictor_values")),
    "front": lambda trials, results, _: front_table(trials, results.study),
    "hypervolume": lambda trials, results, _: hypervolume_table(trials, results.study),
}
"""Tables written beside trials and curves for the kinds that name them (:attr:`TrialKind.tables`)
and, for a multi-objective study, :data:`FRONT_TABLES`, in that order; each only when the
study's results allow it (a paired table needs seeds that pair up)."""
FRONT_TABLES = ("front", "hypervolume")
"""A multi-objective study's answer (:mod:`harness.analysis.front`)."""


@dataclass
class AnalysisSummary:
    results: StudyResults
    trials: pd.DataFrame
    best: list[dict]
    plots: list[Plot] = field(default_factory=list)
    metric: str = ""
    scope: Scope = "last"
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    """The extra tables written (:data:`EXTRA_TABLES`), by name."""
    scales: dict[str, list[Scale]] = field(default_factory=dict)
    """The networks the size metrics were counted on, by metric prefix."""
    report: Path | None = None
    """The study folder's report page, when it was written with the analysis."""

    @property
    def path(self) -> Path:
        return self.results.path

    def describe(self) -> str:
        study, table = self.results.study, self.trials
        states = table["state"].value_counts().to_dict() if len(table) else {}
        counts = [f"{n} {str(s).lower()}" for s, n in states.items()] or ["none yet"]
        reasons = table["stop_reason"].astype(str) if len(table) else pd.Series(dtype=str)
        outcomes = [f"{int(table['diverged'].sum()) if len(table) else 0} diverged"]
        stopped = study.scheduler.stopped_summary(int((reasons == study.scheduler.stop_label).sum()))
        if stopped:
            outcomes.insert(0, stopped)
        if study.stop.max_skip_connect is not None:
            outcomes.append(f"{int(reasons.str.startswith('collapse').sum())} stopped for collapse "
                            f"(skip_connect > {study.stop.max_skip_connect})")
        lines = [f"study {study.name}: {counted(len(table), 'trial')} ({', '.join(counts)}; {', '.join(outcomes)})"]
        lines += [f"note: {note}" for note in self.results.notes]
        if study.multi_objective:
            lines += self._front_lines()
        elif self.best:
            top = self.best[0]
            names = study.trial_kind.short_names(list(study.space))
            settings = ", ".join(f"{names[k]}={_setting_text(v)}" for k, v in top["config"].items() if k in names)
            lines.append(f"best trial {top['trial_id']}: {self.metric} = {top['score']:.2f} "
                         f"({self.scope} epoch){' with ' + settings if settings else ''}")
            lines.append(f"genotype: {top['genotype']}")
            warning = winner_warning(study, top, self.results.data_of(top["trial_id"]))
            if warning:
                lines.append(warning)
        else:
            lines.append(f"no trial has reported {self.metric} yet")
        lines += self._replicate_lines()
        lines += self._population_lines()
        lines += self._predictor_lines()
        genotypes = self.tables.get("genotypes")
        if genotypes is not None:
            overall = genotypes.iloc[-1]
            repeats = (f"{overall['most_frequent']} found by {overall['its_trials']}" if overall["its_trials"] > 1
                       else "each found once")
            lines.append(f"{counted(overall['distinct_genotypes'], 'distinct genotype')} among "
                         f"{counted(overall['trials'], 'trial')} ({repeats}; per setting: genotypes.csv)")
        tables = ", ".join(["trials.csv", "curves.csv", BEST_FILE,
                            *(f"{name}.csv" for name in self.tables)])
        lines.append(f"tables: {self.path / ANALYSIS_DIR} ({tables})")
        lines.append(f"plots:  {self.path / PLOTS_DIR} ({len(self.plots)} plots)")
        return "\n".join(lines)


    def _predictor_lines(self) -> list[str]:
        """The leaderboard's winner, or why nothing was ranked, and how to add the proxies."""
        board = self.tables.get("predictors")
        if board is None:
            return []
        ranked = board.dropna(subset=["kendall_tau"])
        if len(ranked):
            # the highest τ among the predictors whose interval lies above zero (they are ranked on
            # different n: search signals on the searched genotypes only)
            above_chance = ranked[ranked["tau_ci95_low"] > 0]
            top = (above_chance if len(above_chance) else ranked).iloc[0]
            figures = (f"Kendall τ = {top['kendall_tau']:.2f} [{top['tau_ci95_low']:.2f}, {top['tau_ci95_high']:.2f}], "
                       f"Spearman ρ = {top['spearman_rho']:.2f}, n = {int(top['n'])} (all {len(board)}: "
                       f"predictors.csv)")
            if len(above_chance):
                lines = [f"best predictor of the retrained {self.metric}: {top['predictor']}, {figures}"]
            else:  # the highest τ, but no interval rules out chance agreement
                lines = [f"no predictor ranks the retrained {self.metric} better than chance; the highest τ is "
                         f"{top['predictor']}'s: {figures}"]
        else:
            lines = [f"predictors of the retrained {self.metric}: none ranked ({board['note'].iloc[0]}; "
                     f"predictors.csv)"]
        if set(board["predictor"]) <= {*SEARCH_SIGNALS, *SIZE_SIGNALS}:
            lines.append(f"no zero-cost proxy among the predictors: `snas-study proxies {self.path}` adds them")
        return lines

    def _front_lines(self, most: int = 6) -> list[str]:
        """The Pareto front, its hypervolume and, when seeds vary, its mean over seeds."""
        study = self.results.study
        front = front_of(self.trials, study)
        note = empty_front_note(front, study)
        if note:
            return [f"note: {note}"]
        constrained = f", {front.feasible} meet the constraints" if study.constraints else ""
        lines = [f"Pareto front: {len(front.members)} of {front.candidates} finished trials{constrained}; "
                 f"hypervolume {front.hypervolume:.4g} against the reference point ({front.reference_text(study)})"]
        for point in self.best[:most]:
            values = ", ".join(f"{metric} {value:.3g}" for metric, value in point["objectives"].items())
            lines.append(f"  trial {point['trial_id']}: {values}, genotype {point['genotype_id']}")
        if len(self.best) > most:
            lines.append(f"  ... {len(self.best) - most} more points (front.csv, best.json)")
        volumes = self.tables.get("hypervolume")
        if volumes is not None and (volumes["scope"] == "mean over seeds").any():
            row = volumes[volumes["scope"] == "mean over seeds"].iloc[0]
            interval = (f" [{row['ci95_low']:.4g}, {row['ci95_high']:.4g}]" if not math.isnan(row["ci95_low"])
                        else " (no interval)")
            lines.append(f"hypervolume of each seed's front, mean over seeds, {INTERVAL}: "
                         f"{row['hypervolume']:.4g}{interval} (n={int(row['n'])})")
        return lines

    def _replicate_lines(self, most: int = 6) -> list[str]:
        """The mean over seeds per setting and the paired verdicts, when seeds vary."""
        table = self.tables.get("replicates")
        if table is None or not seed_columns(self.results.study) or not 0 < len(table) <= most:
            return []
        if (table["n"] < 2).all():
            return ["no setting ran with more than one seed to its last epoch, so there is no mean over seeds "
                    "(replicates.csv lists each setting's run)"]
        factors = [c for c in table.columns if c not in REPLICATE_COLUMNS]
        groups = []
        for _, row in table.iterrows():
            name = ", ".join(f"{f}={_setting_text(row[f])}" for f in factors) or "all"
            if not row["n"]:
                groups.append(f"{name}: no run to its last epoch (n=0)")
                continue
            interval = (f" [{row['ci95_low']:.2f}, {row['ci95_high']:.2f}]" if not math.isnan(row["ci95_low"])
                        else " (no interval)")
            groups.append(f"{name} {row['mean']:.2f}{interval}, best {row['best']:.2f} (n={int(row['n'])})")
        lines = [f"mean {self.metric} over seeds, {INTERVAL}: " + "; ".join(groups)]
        paired = self.tables.get("paired")
        if paired is not None and len(paired) <= 3:
            lines += [f"paired {row['level_a']} - {row['level_b']}: {row['mean_difference']:+.2f}"
                      f"{_p_value(row['p_paired_t'])}, {row['verdict']}" for _, row in paired.iterrows()]
        elif paired is not None:
            significant = int(paired["verdict"].str.startswith("significant").sum())
            lines.append(f"paired differences: {significant} of {len(paired)} pairs of levels significant at the "
                         f"5% level (paired.csv)")
        baseline = self.tables.get("random_baseline")
        if baseline is not None:
            lines += [f"searched {row['arch']}: {row['rank_among_random']} by mean {self.metric}"
                      for _, row in baseline[baseline["origin"] == "searched"].iterrows()]
        return lines


    def _population_lines(self) -> list[str]:
        """The population against its control arm, seed by seed (population_vs_control.csv)."""
        table = self.tables.get("population_vs_control")
        if table is None:
            return []
        lines = []
        for _, row in table.iterrows():
            difference = row["kind"] == DIFFERENCE
            interval = (f" [{row['ci95_low']:+.3f}, {row['ci95_high']:+.3f}]" if difference else
                        f" [{row['ci95_low']:.3f}, {row['ci95_high']:.3f}]") if not math.isnan(row["ci95_low"]) \
                else " (no interval)"
            value = f"{row['mean']:+.3f}" if difference else f"{row['mean']:.3f}"
            tail = f", {row['verdict']}" if difference else f" (n={int(row['n'])})"
            lines.append(f"{row['comparison']}: {value}{interval}{tail}")
        return lines


REPLICATE_COLUMNS = ("n", "mean", "sd", "ci95_low", "ci95_high", "best", "stopped_left_out")


def counted(count: int, noun: str) -> str:
    """``1 trial``, ``8 trials``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _p_value(p: float) -> str:
    """`` (p = 0.031)``; nothing where no test was possible (the verdict says why)."""
    return "" if math.isnan(p) else f" (p = {p:.2g})"


def _setting_text(value: object) -> str:
    """A setting's value in a summary line: a float to 4 significant digits (a drawn τ0 of
    0.5888518753760855 reads 0.5889), anything else as it is."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


_TABLE_SUFFIXES = (".csv", ".parquet")
_TABLE_FILES = {BEST_FILE} | {f"{stem}{suffix}" for stem in ("trials", "curves", *EXTRA_TABLES)
                              for suffix in _TABLE_SUFFIXES}
"""Every file the analysis writes in ``analysis/``: an earlier analysis's are replaced, even
those this one does not write (a table the results no longer allow would otherwise sit
beside the new ones and be read as current); any other file there is kept."""


def _is_table(entry: Path) -> bool:
    return entry.name in _TABLE_FILES


def _is_plot(entry: Path) -> bool:
    """The analysis's own plots: every PNG, and the PDF beside one (a plot of another ranking
    metric would otherwise stay and be embedded in the report as current)."""
    return entry.suffix == ".png" or (entry.suffix == ".pdf" and os.path.lexists(entry.with_suffix(".png")))


def _one_type_per_column(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` as Parquet can hold it: a column of values of several types is text there,
    as in the CSV.  Every known metric is checked (:mod:`harness.analysis.values`), so only a
    key the analysis does not judge, written differently by different trials, makes one."""
    mixed = []
    for name in table.select_dtypes(include="object", exclude="str").columns:
        try:
            pa.array(table[name], from_pandas=True)
        except (pa.ArrowException, OverflowError):
            mixed.append(name)
    return table.assign(**{name: table[name].where(table[name].isna(), table[name].astype(str)) for name in mixed})


def _write_table(table: pd.DataFrame, stem: Path) -> None:
    atomic_write_text(stem.with_suffix(".csv"), table.to_csv(index=False))
    parquet = _one_type_per_column(table)
    atomic_write(stem.with_suffix(".parquet"), lambda handle: parquet.to_parquet(handle, index=False))


def _json_default(value: object) -> object:
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


def _write_tables(folder: Path, summary: AnalysisSummary, curves: pd.DataFrame) -> None:
    _write_table(summary.trials, folder / "trials")
    _write_table(curves, folder / "curves")
    for name, table in summary.tables.items():
        _write_table(table, folder / name)
    results = summary.results
    document = {"metric": summary.metric, "scope": summary.scope, "partial": results.partial, "notes": results.notes,
                "trials": summary.best}
    if results.study.multi_objective:
        document = {**front_document(summary.trials, results.study), **document}
    atomic_write_text(folder / BEST_FILE, json.dumps(document, indent=2, default=_json_default) + "\n")


def _write_outputs(outputs: OutputSet, summary: AnalysisSummary, curves: pd.DataFrame, plots: bool,
                   page: Callable[[AnalysisSummary], str] | None, drawer: Plotter) -> None:
    """The tables, the plots (drawn by ``drawer`` meanwhile) and the report, staged in ``outputs``."""
    results, trials = summary.results, summary.trials
    tables = outputs.folder(ANALYSIS_DIR, _is_table)
    drawn = plots and len(trials) > 0
    if drawn:
        settings = {trial.trial_id: results.settings_of(trial.trial_id) for trial in results.trials}
        lineages = {trial.trial_id: trial.resolved.lineage for trial in results.trials
                    if trial.resolved is not None and trial.resolved.lineage}
        drawer.submit({"study": results.study, "trials": trials, "curves": curves, "metric": summary.metric,
                       "folder": outputs.folder(PLOTS_DIR, _is_plot), "best": summary.best,
                       "scales": summary.scales, "settings": settings, "lineages": lineages,
                       "tables": summary.tables})
    _write_tables(tables, summary, curves)
    if drawn:
        summary.plots = drawer.plots()
    if page is not None:
        atomic_write_text(outputs.file(REPORT_FILE), page(summary))


def _analysis(path: str | Path, metric: str | None, scope: Scope, top: int, plots: bool, study: Study | None,
              page: Callable[[AnalysisSummary], str] | None, drawer: Plotter) -> AnalysisSummary:
    """:func:`write_analysis`'s work, its plots drawn by ``drawer`` while the tables are written."""
    results = load_results(path, study)
    metric = results.study.metric if metric is None else metric
    results.study.check_ranking_metric(metric)  # before anything is rewritten
    check_study_outputs(results.path, (ANALYSIS_DIR, PLOTS_DIR), () if page is None else (REPORT_FILE,))
    trials = with_retrain_origins(trials_table(results, metric, scope), results)
    several = results.study.multi_objective
    if several:
        trials = with_front_columns(trials, results.study)
    curves = curves_table(results)
    best = front_points(trials, results) if several else best_trials(trials, results, top)
    extra: dict[str, pd.DataFrame] = {}
    names = (*results.study.trial_kind.tables, *(FRONT_TABLES if several else ()))
    for name in names if len(trials) else ():
        table = EXTRA_TABLES[name](trials, results, extra)
        if len(table):
            extra[name] = table
    scales = study_scales(results.study.kind, [results.settings_of(trial.trial_id) for trial in results.trials])
    summary = AnalysisSummary(results, trials, best, metric=metric, scope=scope, tables=extra, scales=scales)
    with replacing_outputs(results.path) as outputs:
        try:
            _write_outputs(outputs, summary, curves, plots, page, drawer)
        finally:
            drawer.close()  # before a failed set's staging folder, which the worker writes into, is removed
    return summary


def write_analysis(path: str | Path, metric: str | None = None, scope: Scope = "last", top: int = 3,
                   plots: bool = True, study: Study | None = None,
                   page: Callable[[AnalysisSummary], str] | None = None) -> AnalysisSummary:
    """Write ``analysis/`` (tables, best.json), ``plots/`` and, given ``page`` (the report:
    :func:`harness.analysis.report.render_report`), ``report.html`` for the study folder
    ``path`` (whose study is ``study`` when the caller has read it already).  They replace
    the previous analysis's as a set (:mod:`harness.analysis.output_set`): when anything
    fails half-way, the previous analysis is left whole.  The plots are drawn by a second
    process while the tables are written, where that pays (:mod:`harness.analysis.plotting`)."""
    drawer: Plotter = plotter(path) if plots else SerialPlots()  # a worker imports matplotlib meanwhile
    try:
        summary = _analysis(path, metric, scope, top, plots, study, page, drawer)
    finally:
        drawer.close()
    results = summary.results
    summary.plots = [replace(plot, path=results.path / PLOTS_DIR / plot.path.name) for plot in summary.plots]
    summary.report = None if page is None else results.path / REPORT_FILE
    return summary
