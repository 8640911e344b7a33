"""Write one self-contained HTML page for a study: summary, winners with their cells, plots,
the trials table and the study file (everything inline, so the file travels on its own).

Refreshes the analysis first (tables and plots), like `analyze`; no Ray needed.

  snas-study report results/quickstart
  snas-study report results/quickstart --metric child_val_acc --out quickstart.html
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.analysis.summary import write_analysis
from harness.arguments import add_scoring_arguments
from harness.outputs import check_output_files


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_scoring_arguments(parser)
    parser.add_argument("--out", type=Path, help="where to write the page (default: RESULTS/report.html)")
    parser.add_argument("--overwrite", action="store_true",
                        help="let --out replace a file that is not an earlier report")


def run(args: argparse.Namespace) -> int:
    from harness.analysis.report import is_report, render_report, write_report  # matplotlib: only when writing

    if args.out is not None:
        check_output_files([args.out], overwrite=args.overwrite, ours=is_report)
    summary = write_analysis(args.results, args.metric, args.scope, args.top,
                             page=render_report if args.out is None else None)
    path = summary.report if args.out is None else write_report(summary, args.out)
    print(summary.describe())
    print(f"report: {path}")
    return 0
