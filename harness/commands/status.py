"""Show the trials of a study: state, epochs reached, early stops, best metric, errors.

Reads the study folder without starting Ray, so it works while the study runs (states
then lag by a few seconds: Tune saves them periodically) and on a laptop after copying
the folder from a cluster.  Tune calls trials that completed and trials ASHA stopped
both TERMINATED; the `stopped` column tells them apart (`done`, `ASHA`, `diverged`, or a
search stopped by the study's `stop: {max_skip_connect: k}`: `collapse (skip_connect 4 > 2)`).  Below it, one
warning line when the best trial looks unhealthy (harness.health: a collapsed normal
cell, near-uniform α, a child at chance).  An Optuna study shows each
trial's Optuna number (as optuna-dashboard lists them) beside its Tune trial id.  A trial with a damaged file is
shown `damaged` (each file is named once in a warning; analysis/trials.csv says what is
wrong in its `damage` column).  Below the table, each failed trial's last error (the
last line of its error.txt) in full.

A study of more than STATUS_ROWS trials shows its states counted, the STATUS_ROWS best
trials and the first STATUS_ROWS errors, and says how many it left out; `--all` shows every
one (a 10,000-line table scrolls the summary away and takes long to build).

  snas-study status results/quickstart
  snas-study status results/big-random-search --all
"""

from __future__ import annotations

import argparse
import collections
import math
import shlex
from collections.abc import Callable
from typing import Any

from harness.analysis.results import StudyResults, load_results
from harness.analysis.top import Ranking
from harness.analysis.trial_rows import Row
from harness.endings import DONE
from harness.health import winner_warning

STATUS_ROWS = 30
"""The most trials (and errors) `status` lists without ``--all``: a screenful."""
_MOST_DECIMALS = 6
_LARGEST_FIXED = 1e15
"""A number from which on a column is shown in scientific notation (its digits past 15 are noise)."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", help="the study folder (results/<name>)")
    parser.add_argument("--metric", help="metric to show (default: the study's objective)")
    parser.add_argument("--all", action="store_true",
                        help=f"list every trial and error (default: the {STATUS_ROWS} best and the first "
                             f"{STATUS_ROWS} errors)")


def _outcome(row: Row) -> str:
    """How the trial ended (:mod:`harness.endings`); empty while it runs or when it failed."""
    if isinstance(row["stop_reason"], str):
        return row["stop_reason"]
    if row["state"] == "TERMINATED":
        return DONE
    return ""


def _column_texts(values: list[Any]) -> list[str]:
    """A column's values as text.  A column of numbers shares the fewest decimals (at most
    six) that show each of them, or scientific notation where six would hide one (a λ of
    1e-7); a missing number (``None``, NaN) reads ``NaN``.  Anything else as ``str`` gives it."""
    if not all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in values):
        return [str(v) for v in values]
    finite = [v for v in values if isinstance(v, float) and math.isfinite(v)]
    shown: Callable[[float], str] = str  # whole numbers (and infinities) as they are
    if any((v != 0 and round(v, _MOST_DECIMALS) == 0) or abs(v) >= _LARGEST_FIXED for v in finite):
        shown = f"{{:.{_MOST_DECIMALS}e}}".format
    elif finite:
        decimals = next(d for d in range(1, _MOST_DECIMALS + 1) if d == _MOST_DECIMALS
                        or all(round(v, d) == v for v in finite))
        shown = f"{{:.{decimals}f}}".format
    return ["NaN" if v is None or (isinstance(v, float) and math.isnan(v)) else shown(v) for v in values]


def _text_table(columns: dict[str, list[Any]]) -> str:
    """The columns right-aligned under their titles, two spaces apart."""
    texts = {title: _column_texts(values) for title, values in columns.items()}
    widths = {title: max([len(title), *map(len, cells)]) for title, cells in texts.items()}
    lines = ["  ".join(title.rjust(widths[title]) for title in texts)]
    lines += ["  ".join(texts[title][i].rjust(widths[title]) for title in texts)
              for i in range(len(next(iter(texts.values()), [])))]
    return "\n".join(lines)


def _shown(rows: list[Row], results: StudyResults, metric: str) -> dict[str, list[Any]]:
    """The status table's columns: the trial, its searcher's and scheduler's columns, its
    varied settings, how far it got and how it ended, its best ``metric``, its failures."""
    study = results.study
    names = list(study.trial_kind.short_names(list(study.space)).values())
    columns: dict[str, list[Any]] = {"trial": [row["trial_id"] for row in rows]}
    columns.update({title: ["" if row[column] is None else str(row[column]) for row in rows]
                    for column, title in study.searcher.column_titles.items() if rows and column in rows[0]})
    columns.update({name: [row[name] for row in rows] for name in names})
    columns.update({title: [row[column] for row in rows]
                    for column, title in study.scheduler.column_titles.items() if rows and column in rows[0]})
    columns["state"] = [row["state"] for row in rows]
    columns["epochs"] = [f"{row['epochs']}/{'?' if row['configured_epochs'] is None else row['configured_epochs']}"
                         for row in rows]
    columns["stopped"] = [_outcome(row) for row in rows]
    columns[f"best {metric}"] = [round(row["score"], 2) for row in rows]
    if any(row["damaged"] for row in rows):
        columns["files"] = ["damaged" if row["damaged"] else "" for row in rows]
    columns["failures"] = [row["num_failures"] for row in rows]
    return columns


WENT_ON = {"PENDING": "waits to be retried (PENDING)", "PAUSED": "waits to be retried (PAUSED)",
           "RUNNING": "is being retried (RUNNING)", "TERMINATED": "was retried (TERMINATED since)"}
"""Tune's states of a trial that is not failed, and what each says of a failure it had: a
trial with an error in such a state has a failure behind it that Tune retries or retried
(after a stop, such as the one at a failure on the data, ``resume`` retries it)."""


def run(args: argparse.Namespace) -> int:
    results = load_results(args.results)
    metric = results.study.metric if args.metric is None else args.metric
    results.study.check_ranking_metric(metric)
    ranking = Ranking.of(results, metric, "best")
    if not len(ranking):
        print(f"study {results.study.name}: no trials yet")
        return 0
    rows = None if args.all else STATUS_ROWS
    shown = ranking.rows(rows)
    hidden = len(ranking) - len(shown)
    every = f"`snas-study status {shlex.quote(str(results.path))} --all`"
    print(f"study {results.study.name} ({results.path}): {len(ranking)} of {results.study.expected_trials()} trials")
    for note in results.notes:
        print(f"note: {note}")
    if hidden:
        states = collections.Counter(t.state for t in ranking.order)
        print("states: " + ", ".join(f"{count} {state}" for state, count in states.most_common())
              + f"; the {len(shown)} best by best {metric}:")
    print(_text_table(_shown(shown, results, metric)))
    if hidden:
        print(f"... {hidden} more trials not shown: {every} lists every one")
    errors = [(t.trial_id, t.state, t.error) for t in ranking.order if t.error is not None]
    listed = errors[:rows]
    for trial_id, state, error in listed:  # in full, below the table: it may name a long path
        if state in WENT_ON:  # Tune keeps the error of a failure it retried
            print(f"trial {trial_id} failed and {WENT_ON[state]}; the failure: {error}")
        else:
            print(f"error of trial {trial_id}: {error}")
    if len(errors) > len(listed):
        more = len(errors) - len(listed)
        print(f"... and {more} more error{'s' if more > 1 else ''}: {every} shows every one")
    for winner in ranking.winners(1):
        warning = winner_warning(results.study, winner, results.data_of(winner["trial_id"]))
        if warning:
            print(warning)
    return 0
