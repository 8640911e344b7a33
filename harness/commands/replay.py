"""Replay the temperature schedule (any settings' schedule) a PBT or PB2 study discovered.

The winner's lineage recorded every change of its settings with its epoch; the replay
study runs a fresh search from epoch 0 that starts at the winner's first settings and
takes each change at its epoch, with --seeds seeds as replicates (the searches' seed
varied), every trial to its end.  The new study lives in <storage>/<name>-replay/.

  snas-study replay results/pbt_temperature --seeds 3
"""

from __future__ import annotations

import argparse
import sys

from harness import studyrun
from harness.analysis.results import load_results
from harness.arguments import positive_int
from harness.commands.run import add_launch_arguments, overrides_of
from harness.replaying import describe_schedule, replay_study


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", help="the PBT or PB2 study's folder (results/<name>)")
    parser.add_argument("--seeds", type=positive_int, default=3, help="seeds to replay it with (default: 3)")
    add_launch_arguments(parser, example="search.epochs=10")


def run(args: argparse.Namespace) -> int:
    study = replay_study(load_results(args.results), args.seeds, overrides_of(args))
    studyrun.check_target(study, resume_existing=args.resume, overwrite=args.overwrite)  # before the plan
    print(f"{study.name}: {study.description}", flush=True)
    print("\n".join(describe_schedule(study)) or "  (no change of settings: the winner kept its first ones)",
          flush=True)
    return studyrun.launch(study, sys.argv[1:], args.address, args.quiet, resume_existing=args.resume,
                           overwrite=args.overwrite, allow_many_trials=args.allow_many_trials)
