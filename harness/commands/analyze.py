"""Write a study's analysis: tables, the winners and the plots (also run at the end of `run`).

Reads the study folder without starting Ray: works after copying results from a cluster,
and on a study that is still running or was killed (the output then says it is partial).

  snas-study analyze results/quickstart --metric child_val_acc --scope best
"""

from __future__ import annotations

import argparse

from harness.analysis import write_analysis
from harness.arguments import positive_int


def add_scoring_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", help="the study folder (results/<name>)")
    parser.add_argument("--metric", help="rank trials by this metric (default: the study's objective), "
                                         "e.g. search_val_acc or child_val_acc")
    parser.add_argument("--scope", choices=("last", "best"), default="last",
                        help="score a trial by its last epoch (default) or its best epoch")
    parser.add_argument("--top", type=positive_int, default=3, help="how many winners to keep (default 3)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_scoring_arguments(parser)


def run(args: argparse.Namespace) -> int:
    summary = write_analysis(args.results, args.metric, args.scope, args.top)
    print(summary.describe())
    return 0
