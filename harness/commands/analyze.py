"""Write a study's analysis: tables, the winners and the plots (also run at the end of `run`).

Reads the study folder without starting Ray: works after copying results from a cluster,
and on a study that is still running or was killed (the output then says it is partial).

  snas-study analyze results/quickstart --metric child_val_acc --scope best
"""

from __future__ import annotations

import argparse

from harness.analysis.summary import write_analysis
from harness.arguments import add_scoring_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_scoring_arguments(parser)


def run(args: argparse.Namespace) -> int:
    summary = write_analysis(args.results, args.metric, args.scope, args.top)
    print(summary.describe())
    return 0
