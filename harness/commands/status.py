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
import shlex

import pandas as pd

from harness.analysis.results import load_results
from harness.analysis.tables import best_trials
from harness.analysis.top import Ranking
from harness.endings import DONE
from harness.health import winner_warning

STATUS_ROWS = 30
"""The most trials (and errors) `status` lists without ``--all``: a screenful."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", help="the study folder (results/<name>)")
    parser.add_argument("--metric", help="metric to show (default: the study's objective)")
    parser.add_argument("--all", action="store_true",
                        help=f"list every trial and error (default: the {STATUS_ROWS} best and the first "
                             f"{STATUS_ROWS} errors)")


def _outcome(row: pd.Series) -> str:
    """How the trial ended (:mod:`harness.endings`); empty while it runs or when it failed."""
    if isinstance(row["stop_reason"], str):
        return row["stop_reason"]
    if row["state"] == "TERMINATED":
        return DONE
    return ""


def run(args: argparse.Namespace) -> int:
    results = load_results(args.results)
    metric = results.study.metric if args.metric is None else args.metric
    results.study.check_ranking_metric(metric)
    ranking = Ranking.of(results, metric, "best")
    if not len(ranking):
        print(f"study {results.study.name}: no trials yet")
        return 0
    rows = None if args.all else STATUS_ROWS
    table = ranking.table(rows)
    names = list(results.study.trial_kind.short_names(list(results.study.space)).values())
    searcher = {title: table[column].astype(str).replace("<NA>", "")
                for column, title in results.study.searcher.column_titles.items() if column in table}
    scheduler = {title: table[column] for column, title in results.study.scheduler.column_titles.items()
                 if column in table}
    shown = pd.DataFrame({
        "trial": table["trial_id"], **searcher, **{n: table[n] for n in names}, **scheduler,
        "state": table["state"], "epochs": table["epochs"].astype(str) + "/" + table["configured_epochs"].astype(str),
        "stopped": table.apply(_outcome, axis=1), f"best {metric}": table["score"].round(2),
        "failures": table["num_failures"],
    })
    if table["damaged"].any():
        shown.insert(shown.columns.get_loc("failures"), "files", table["damaged"].map({True: "damaged", False: ""}))
    hidden = len(ranking) - len(table)
    every = f"`snas-study status {shlex.quote(str(results.path))} --all`"
    print(f"study {results.study.name} ({results.path}): {len(ranking)} of {results.study.expected_trials()} trials")
    for note in results.notes:
        print(f"note: {note}")
    if hidden:
        states = pd.Series([t.state for t in ranking.order]).value_counts()
        print("states: " + ", ".join(f"{count} {state}" for state, count in states.items())
              + f"; the {len(table)} best by best {metric}:")
    print(shown.to_string(index=False))
    if hidden:
        print(f"... {hidden} more trials not shown: {every} lists every one")
    errors = [(t.trial_id, t.error) for t in ranking.order if t.error is not None]
    listed = errors[:rows]
    for trial_id, error in listed:
        print(f"error of trial {trial_id}: {error}")  # in full, below the table: it may name a long path
    if len(errors) > len(listed):
        more = len(errors) - len(listed)
        print(f"... and {more} more error{'s' if more > 1 else ''}: {every} shows every one")
    table, ranked = ranking.ranked(1)
    for winner in best_trials(table, ranked, 1):
        warning = winner_warning(results.study, winner, results.data_of(winner["trial_id"]))
        if warning:
            print(warning)
    return 0
