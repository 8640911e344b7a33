"""One self-contained ``report.html`` per study: the answer first, then the evidence.

The page holds everything inline -- plots and cell drawings as base64 PNG, tables as HTML,
the frozen study file as text -- so it can be mailed, attached to a paper's supplement or
opened on a laptop with no results folder and no network.  No script, no external style.

A table longer than :data:`REPORT_ROWS` rows (the trials of a 10,000-trial study, the
per-setting means of a random search where every setting ran once) shows its first rows by
what a reader looks for -- the best trials, the best means, the smallest p -- says how many
it leaves out, and links its CSV in ``analysis/``: a page of 40,000 table rows is tens of
megabytes that a browser opens slowly, and nobody reads row 9,000 of it there.
"""

from __future__ import annotations

import base64
import functools
import html
import io
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import pandas as pd
import yaml

from harness.analysis.front import constraint_text, empty_front_note, front_of
from harness.analysis.plots.cells import BEST_CELLS
from harness.analysis.population import winning_schedule
from harness.analysis.replicates import INTERVAL
from harness.analysis.scale import SCALE_TITLES, describe_scales
from harness.analysis.summary import AnalysisSummary
from harness.folder_entries import STUDY_FILE_CAP, Refused, read_file
from harness.health import winner_warning
from harness.studyfolder import ANALYSIS_DIR, STUDY_FILE
from snas.atomic import atomic_write_text
from snas.draw import genotype_figure
from snas.spaces import parse_genotype
from snas.spaces.base import AnyGenotype

REPORT_ROWS = 50
"""The most rows the report shows of one table; the CSV beside it keeps every row."""

# Columns of the trials table worth a reader's eye; the CSV keeps everything.
_HIDDEN_COLUMNS = ("genotype", "checkpoint", "trial_path", "configured_epochs")
_OUTCOME_COLUMNS = ("state", "stopped_early", "stop_reason", "diverged", "epochs", "score")
"""Trials-table columns shown first (after the trial id and its varied settings), then the
kind's :attr:`~harness.kinds.TrialKind.report_columns` and ``damaged``; the rest fold."""
_WINNER_METRICS = (
    ("search_val_acc", "search val acc (%)"), ("child_val_acc", "child val acc (%)"),
    ("val_acc", "val acc (%)"), ("test_acc", "test acc (%)"),
    ("eval_params_m", "eval params (M)"), ("eval_macs_m", "eval MACs (M)"),
    ("child_params_m", "child params (M)"), ("child_macs_m", "child MACs (M)"),
    ("params_m", "params (M)"), ("macs_m", "MACs (M)"), ("epoch", "epochs run"),
)

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1150px; padding: 0 1em; color: #222; }
h1 { margin-bottom: .2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
.meta { color: #666; } .warning { background: #fff3cd; border: 1px solid #e0c36c; padding: .6em 1em; }
table { border-collapse: collapse; font-size: 13px; margin: .5em 0; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: right; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; }
pre { background: #f7f7f7; border: 1px solid #e3e3e3; padding: .7em; overflow-x: auto; font-size: 12.5px; }
pre.genotype { white-space: pre-wrap; overflow-wrap: anywhere; } .scroll { overflow-x: auto; }
figure { margin: 1.2em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 13px; }
.winner { border-left: 4px solid #4c72b0; padding-left: 1em; margin: 1.5em 0; }
"""


def _png_data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _figure(src: str, caption: str) -> str:
    text = html.escape(caption)
    return f'<figure><img src="{src}" alt="{text}"><figcaption>{text}</figcaption></figure>'


def _cells_png(genotype: AnyGenotype) -> bytes:
    buffer = io.BytesIO()
    genotype_figure(genotype).savefig(buffer, format="png", dpi=110)
    return buffer.getvalue()


def _format(value: Any) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4g}"
    return "" if value is None or value is pd.NA else str(value)


def _key_value_table(rows: list[tuple[str, Any]]) -> str:
    body = "".join(f'<tr><th class="text">{html.escape(k)}</th><td>{html.escape(_format(v))}</td></tr>'
                   for k, v in rows)
    return f"<table>{body}</table>"


def _summary_section(summary: AnalysisSummary) -> str:
    lines = [html.escape(line) for line in summary.describe().splitlines()
             if not line.startswith(("tables:", "plots:", "note:", "genotype:", "warning:"))]
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in summary.results.notes)
    warning = (f'<div class="warning"><strong>Partial results.</strong><ul>{notes}</ul></div>'
               if summary.results.partial or notes else "")
    items = "".join(f"<li>{line}</li>" for line in lines)
    return f"<h2>Summary</h2>{warning}<ul>{items}</ul>"


def _winners_section(summary: AnalysisSummary) -> str:
    if not summary.best:
        return f"<h2>Best genotypes</h2><p>No trial has reported {html.escape(summary.metric)} yet.</p>"
    names = summary.results.study.trial_kind.short_names(list(summary.results.study.space))
    parts = [f"<h2>Best genotypes</h2><p>Ranked by {html.escape(summary.metric)} "
             f"({html.escape(summary.scope)} epoch of each trial).</p>"]
    for winner in summary.best:
        settings = [(names[k], v) for k, v in winner["config"].items() if k in names]
        metrics = [(_scaled(label, key, summary), winner["metrics"][key]) for key, label in _WINNER_METRICS
                   if key in winner["metrics"]]
        block = [f'<div class="winner"><h3>#{winner["rank"]}: trial {html.escape(winner["trial_id"])}, '
                 f'{html.escape(summary.metric)} = {winner["score"]:.2f}</h3>',
                 _key_value_table(settings + metrics)]
        warning = winner_warning(summary.results.study, winner, summary.results.data_of(winner["trial_id"]))
        if warning:
            block.append(f'<p class="warning">{html.escape(warning)}</p>')
        if winner.get("genotype"):
            genotype = parse_genotype(str(winner["genotype"]))
            assert genotype is not None  # the table's genotypes were validated when read, and print parseably
            block.append(f'<pre class="genotype">{html.escape(str(genotype))}</pre>')
            block.append(_figure(_png_data_uri(_cells_png(genotype)),
                                 f"cells of trial {winner['trial_id']}"))
        if winner.get("checkpoint"):
            block.append(f'<p class="meta">checkpoint: {html.escape(str(winner["checkpoint"]))}</p>')
        parts.append("".join(block) + "</div>")
    return "".join(parts)


def _front_section(summary: AnalysisSummary, page_folder: Path | None) -> str:
    """A multi-objective study's answer: its front as a table (each point's objectives,
    settings and genotype id), its hypervolume and, when seeds vary, each seed's."""
    study = summary.results.study
    front = front_of(summary.trials, study)
    note = empty_front_note(front, study)
    if note:
        return f"<h2>Pareto front</h2><p>{html.escape(note[0].upper() + note[1:])}.</p>"
    objectives = ", ".join(f"{term.metric} ({term.mode})" for term in study.objectives)
    constrained = f" meeting {constraint_text(study)}" if study.constraints else ""
    text = (f"The finished trials{constrained} that no other is at least as good as on every objective "
            f"({objectives}) and better on one, best first by {study.objectives[0].metric}; every point with its "
            f"genotype is in best.json. Hypervolume {front.hypervolume:.4g} against the reference point "
            f"({front.reference_text(study)}).")
    table = summary.tables.get("front", pd.DataFrame())
    shown = table[table["scope"] == "all trials"].drop(columns=["scope", "genotype"]) if len(table) else table
    shown, capped = _capped(shown, lambda rows: rows, "the best by the first objective",
                            _csv_link(summary, "front", page_folder))
    parts = [f"<h2>Pareto front</h2><p>{html.escape(text)}</p>{capped}{_html_table(shown)}"]
    volumes = summary.tables.get("hypervolume")
    if volumes is not None and len(volumes) > 1:
        parts.append(f"<h3>Hypervolume per seed</h3><p>Each seed's own front against the same reference point, "
                     f"and their mean with its {INTERVAL}; each seed's front is in "
                     f"{_csv_link(summary, 'front', page_folder)}.</p>{_html_table(volumes)}")
    return "".join(parts)


def _scheduler_section(summary: AnalysisSummary) -> str:
    """What a population-based scheduler found: the discovered schedule; nothing for others."""
    scheduler = summary.results.study.scheduler
    if not (scheduler.copies_trials and summary.best):
        return ""
    winner = summary.best[0]
    paragraph = winning_schedule(summary.results, winner["trial_id"], summary.metric, winner["score"])
    if paragraph is None:
        return ""
    return f"<h2>What {html.escape(scheduler.title)} found</h2><p>{html.escape(paragraph)}</p>"


def _scaled(label: str, key: str, summary: AnalysisSummary) -> str:
    """A size metric's label with the network and input it was counted on."""
    if not key.endswith(("params_m", "macs_m")):
        return label
    prefix = key.removesuffix("params_m").removesuffix("macs_m")
    scales = summary.scales.get(prefix)
    return f"{label} on {describe_scales(scales)}" if scales else label


def _scales_section(summary: AnalysisSummary) -> str:
    """Which network and input every size figure was counted on, and the command that prints it."""
    if not summary.scales:
        return ""
    items = []
    for prefix, scales in summary.scales.items():
        commands = "; ".join(f"snas-study profile GENOTYPE {scale.profile_arguments()}" for scale in scales)
        items.append(f"<li>{html.escape(SCALE_TITLES.get(prefix, prefix))}: {html.escape(describe_scales(scales))} "
                     f"(<code>{html.escape(commands)}</code> prints the same figures for a genotype, "
                     f"e.g. a trial's genotype.json)</li>")
    return ("<h2>Sizes</h2><p>Parameters exclude the auxiliary head (DARTS convention); MACs are "
            f"multiply-accumulates per image (the papers' FLOPs).</p><ul>{''.join(items)}</ul>")


def _best_means_first(table: pd.DataFrame, mode: str) -> pd.DataFrame:
    return table.sort_values("mean", ascending=mode == "min", na_position="last", kind="stable")


def _smallest_p_first(table: pd.DataFrame, mode: str) -> pd.DataFrame:
    return table.sort_values("p_paired_t", na_position="last", kind="stable")


def _overall_then_most_repeated(table: pd.DataFrame, mode: str) -> pd.DataFrame:
    """The row over all trials, then the settings whose trials found one cell most often."""
    overall = table["scope"] != "setting"
    return pd.concat([table[overall], table[~overall].sort_values("its_trials", ascending=False, kind="stable")])


class FirstRows(Protocol):
    """A table's rows in the order a capped table shows them (``mode``: the objective's)."""

    def __call__(self, table: pd.DataFrame, mode: str) -> pd.DataFrame: ...


@dataclass(frozen=True)
class ComparisonTable:
    """A table of the Comparisons section: its file stem, title, explanation, and which rows
    a capped table shows first (:data:`REPORT_ROWS`)."""

    name: str
    title: str
    text: str
    first: FirstRows
    which: str
    """What the rows shown first are, for the note above a capped table."""


_COMPARISON_TABLES = (
    ComparisonTable(
        "replicates", "Score per setting over seeds",
        f"Finished runs grouped by every varied setting except seeds: n, mean, sd, the {INTERVAL} of the mean "
        "(none at n = 1) and the best of n; runs stopped early are left out and counted. analysis/replicates.csv.",
        _best_means_first, "the settings with the best means"),
    ComparisonTable(
        "paired", "Paired differences between levels",
        f"Runs of two levels that share every other setting and the seed, compared pairwise: mean difference "
        f"(first minus second), its {INTERVAL}, the paired t-test's p. analysis/paired.csv.",
        _smallest_p_first, "the pairs with the smallest p"),
    ComparisonTable(
        "population_vs_control", "The population against fixed settings",
        f"Seed by seed, the population's winner against the best of the same seed's control trials (their "
        f"starting settings run to the end, untouched) and against the one fixed setting with the best mean over "
        f"the seeds -- same trials, epochs and seeds on both sides; means with their {INTERVAL}, differences "
        f"paired by seed with the paired t-test's p. The fixed setting is picked on these very seeds, which "
        f"favours it. analysis/population_vs_control.csv.",
        lambda table, mode: table, "all rows"),
    ComparisonTable(
        "random_baseline", "Searched against random genotypes",
        f"Each retrained genotype's mean over seeds with its {INTERVAL}, where each searched (and proxy-picked) "
        "genotype ranks among the random genotypes of the same space (Yang et al., ICLR 2020), and what choosing "
        "each cost: the search's summed wall time, the proxy's seconds on its pool. analysis/random_baseline.csv.",
        lambda table, mode: table, "the first rows (searched, proxy-picked, then random, best mean first)"),
    ComparisonTable(
        "predictors", "Which signal predicts the retrained accuracy",
        "Every signal available before retraining (the search's search_val_acc and child_val_acc, the size, each "
        "zero-cost proxy of analysis/proxies.csv) ranked by Kendall's τ-b and Spearman's ρ against the genotypes' "
        "mean retrained score, with 95% bootstrap intervals over genotypes and the n each is computed on; none is "
        "ranked on fewer than 4 genotypes. analysis/predictors.csv, values per genotype in "
        "analysis/predictor_values.csv.",
        lambda table, mode: table, "the best τ first"),
    ComparisonTable(
        "genotypes", "Distinct genotypes",
        "How many distinct cells (by canonical hash) the trials of each setting derived: a sweep that lands on "
        "the same cell again and again has found less than its trial count suggests. analysis/genotypes.csv.",
        _overall_then_most_repeated, "all trials, then the settings whose trials repeated a cell most"),
)


def _csv_link(summary: AnalysisSummary, name: str, page_folder: Path | None) -> str:
    """A link to ``analysis/<name>.csv`` from the page in ``page_folder`` (the study folder's own
    report when ``None``), relative so that the folder may move with its report."""
    target = summary.path / ANALYSIS_DIR / f"{name}.csv"
    href = Path(os.path.relpath(target, page_folder or summary.path)).as_posix()
    return f'<a href="{html.escape(quote(href))}">{html.escape(f"{ANALYSIS_DIR}/{name}.csv")}</a>'


def _capped(table: pd.DataFrame, first: Callable[[pd.DataFrame], pd.DataFrame], what: str,
            link: str) -> tuple[pd.DataFrame, str]:
    """``table`` as shown, and the note on it: all of it when it has at most :data:`REPORT_ROWS`
    rows (no note); else its first rows by ``first``, and a note naming ``what`` they are, how
    many are left out and where the rest are."""
    rows = REPORT_ROWS
    if len(table) <= rows:
        return table, ""
    note = (f'<p class="meta">Showing {rows} of {len(table):,} rows: {html.escape(what)}. '
            f"The other {len(table) - rows:,} are in {link}.</p>")
    return first(table).head(rows), note


def _comparisons_section(summary: AnalysisSummary, page_folder: Path | None = None) -> str:
    parts = []
    mode = summary.results.study.mode
    for table in _COMPARISON_TABLES:
        if table.name not in summary.tables:
            continue
        shown, note = _capped(summary.tables[table.name], functools.partial(table.first, mode=mode), table.which,
                              _csv_link(summary, table.name, page_folder))
        parts.append(f"<h3>{html.escape(table.title)}</h3><p>{html.escape(table.text)}</p>{note}"
                     f"{_html_table(shown)}")
    return f"<h2>Comparisons</h2>{''.join(parts)}" if parts else ""


def _plots_section(summary: AnalysisSummary) -> str:
    """Every plot but the winner's cells, which the winners' section shows with its genotype."""
    if not summary.plots:
        return "<h2>Plots</h2><p>No plot: no trial has reported yet.</p>"
    figures = "".join(_figure(_png_data_uri(plot.path.read_bytes()), plot.caption) for plot in summary.plots
                      if plot.path.stem != BEST_CELLS)
    return f"<h2>Plots</h2>{figures}"


def _html_table(table: pd.DataFrame) -> str:
    header = "".join(f'<th class="text">{html.escape(str(c))}</th>' for c in table.columns)
    rows = []
    for _, row in table.iterrows():
        cells = "".join(
            f'<td class="text">{html.escape(_format(v))}</td>' if isinstance(v, str)
            else f"<td>{html.escape(_format(v))}</td>" for v in row)
        rows.append(f"<tr>{cells}</tr>")
    return f'<div class="scroll"><table><thead><tr>{header}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _trials_section(trials: pd.DataFrame, study: Any, link: str = "analysis/trials.csv") -> str:
    """The key columns (trial, varied settings, outcome, score) in view; the rest folded; at
    most :data:`REPORT_ROWS` trials, the best (``link``: the full table)."""
    total = len(trials)
    trials = trials.head(REPORT_ROWS)
    shown = trials.drop(columns=[c for c in _HIDDEN_COLUMNS if c in trials.columns])
    if "error" in shown and shown["error"].isna().all():
        shown = shown.drop(columns=["error"])
    key = ["trial_id", *study.trial_kind.short_names(list(study.space)).values(), *_OUTCOME_COLUMNS,
           *study.trial_kind.report_columns, "damaged"]
    key = [c for c in dict.fromkeys(key) if c in shown.columns]
    rest = shown.drop(columns=key[1:])
    folded = (f"<details><summary>the other {len(rest.columns) - 1} columns</summary>{_html_table(rest)}</details>"
              if len(rest.columns) > 1 else "")
    which = ("Best first; every column is in analysis/trials.csv." if total <= REPORT_ROWS else
             f"The {REPORT_ROWS} best of {total:,} trials, best first; every trial and column is in {link}.")
    return f"<h2>Trials</h2><p>{which}</p>{_html_table(shown[key])}{folded}"


def _without_unset(value: Any) -> Any:
    """``value`` without the keys whose value is null (a domain's unused kinds, unset options)."""
    if isinstance(value, dict):
        return {k: _without_unset(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_unset(v) for v in value]
    return value


def _study_section(folder: Path) -> str:
    path = folder / STUDY_FILE
    try:
        data = read_file(path, STUDY_FILE_CAP)
        text = "(study.yaml is missing)" if data is None else data.decode("utf-8", errors="replace")
    except Refused as err:
        text = f"(study.yaml is {err})"
    try:
        text = yaml.safe_dump(_without_unset(yaml.safe_load(text)), sort_keys=False, allow_unicode=True)
    except yaml.YAMLError:
        pass  # shown as it is: the reader sees what is wrong with it
    meta = f"{html.escape(str(path))} (keys left unset not shown)"
    return f'<h2>Study file</h2><p class="meta">{meta}</p><pre>{html.escape(text)}</pre>'


def _objective_text(summary: AnalysisSummary) -> str:
    study = summary.results.study
    if not study.multi_objective:
        return f"objective {html.escape(summary.metric)} ({html.escape(study.mode)})"
    return "objectives " + html.escape(", ".join(f"{term.metric} ({term.mode})" for term in study.objectives))


def render_report(summary: AnalysisSummary, page_folder: Path | None = None) -> str:
    """The report page of an analysed study, to be written in ``page_folder`` (the study
    folder when ``None``; the links to its tables are relative to it)."""
    study = summary.results.study
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    title = f"snas-study report: {study.name}"
    body = "".join([
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">{html.escape(study.kind)} study in {html.escape(str(summary.path))}; '
        f"{_objective_text(summary)}; "
        f"generated {generated}</p>",
        _summary_section(summary),
        _front_section(summary, page_folder) if study.multi_objective else _winners_section(summary),
        _scheduler_section(summary),
        _comparisons_section(summary, page_folder),
        _plots_section(summary),
        _scales_section(summary),
        _trials_section(summary.trials, study, _csv_link(summary, "trials", page_folder)),
        _study_section(summary.path),
    ])
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body>{body}</body></html>\n")


def is_report(path: Path) -> bool:
    """Whether ``path`` is a page this module wrote (so a new report may replace it)."""
    try:
        with open(path, "rb") as page:
            head = page.read(4096)
    except OSError:
        return False
    return b"<title>snas-study report: " in head


def write_report(summary: AnalysisSummary, out: Path) -> Path:
    """Write the report of ``summary`` to ``out``, a page outside the study folder, atomically
    (the study folder's own ``report.html`` is written with the analysis:
    ``write_analysis(..., page=render_report)``)."""
    atomic_write_text(out, render_report(summary, out.absolute().parent))
    return out
