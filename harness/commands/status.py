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

  snas-study status results/quickstart
"""

from __future__ import annotations

import argparse

import pandas as pd

from harness.analysis.results import load_results
from harness.analysis.tables import best_trials, trials_table
from harness.endings import DONE
from harness.health import winner_warning


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", help="the study folder (results/<name>)")
    parser.add_argument("--metric", help="metric to show (default: the study's objective)")


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
    table = trials_table(results, metric, "best")
    if not len(table):
        print(f"study {results.study.name}: no trials yet")
        return 0
    names = list(results.study.trial_kind.short_names(list(results.study.space)).values())
    searcher = {title: table[column].astype(str).replace("<NA>", "")
                for column, title in results.study.searcher.column_titles.items() if column in table}
    shown = pd.DataFrame({
        "trial": table["trial_id"], **searcher, **{n: table[n] for n in names},
        "state": table["state"], "epochs": table["epochs"].astype(str) + "/" + table["configured_epochs"].astype(str),
        "stopped": table.apply(_outcome, axis=1), f"best {metric}": table["score"].round(2),
        "failures": table["num_failures"],
    })
    if table["damaged"].any():
        shown.insert(shown.columns.get_loc("failures"), "files", table["damaged"].map({True: "damaged", False: ""}))
    print(f"study {results.study.name} ({results.path}): {len(table)} of {results.study.expected_trials()} trials")
    for note in results.notes:
        print(f"note: {note}")
    print(shown.to_string(index=False))
    for trial_id, error in table.loc[table["error"].notna(), ["trial_id", "error"]].itertuples(index=False):
        print(f"error of trial {trial_id}: {error}")  # in full, below the table: it may name a long path
    for winner in best_trials(table, results, 1):
        warning = winner_warning(results.study, winner, results.data_of(winner["trial_id"]))
        if warning:
            print(warning)
    return 0
