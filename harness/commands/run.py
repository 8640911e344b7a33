"""Run a study file with Ray Tune.

Validates the study (and every value its space can take) before Ray starts, freezes the
resolved study to <storage>/<name>/study.yaml, runs the trials, writes the analysis and
prints the best trial, its genotype and where the results are.  Exit code 1 when a trial
failed, 2 when a trial could not read the data (an image that does not decode: the study
stops there), 130 when the run was interrupted (continue either with `snas-study resume DIR`).

  snas-study run studies/quickstart.yaml
  snas-study run quickstart          # a study bundled with the package, by name
  snas-study run studies/temperature_sweep.yaml --address auto --storage /nfs/studies \\
      --set search.epochs=50
"""

from __future__ import annotations

import argparse
import sys

from harness import studyrun
from harness.cluster import add_address_argument
from harness.study import load_study
from harness.study.bundled import study_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("study", help="study file (YAML), or the name of a bundled study (quickstart, "
                                      "temperature_sweep, ...: the files of the repository's studies/)")
    add_launch_arguments(parser)


def add_launch_arguments(parser: argparse.ArgumentParser, example: str = "search.epochs=10") -> None:
    """Flags shared by the commands that launch a study (run, retrain); ``example`` is a key
    the command reads."""
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help=f"override a study setting, e.g. --set {example} (repeatable); a key the study "
                             f"would not read is refused")
    add_address_argument(parser)
    parser.add_argument("--storage", help="results root folder or s3:// / gs:// URI (default: storage.path)")
    parser.add_argument("--quiet", action="store_true", help="print only the summary and errors (no progress lines)")
    parser.add_argument("--allow-many-trials", action="store_true",
                        help="start a study of more than 10,000 trials (refused otherwise, as a likely typo)")
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument("--resume", action="store_true", help="continue the study if it exists")
    existing.add_argument("--overwrite", action="store_true", help="delete an existing study of this name first")


def overrides_of(args: argparse.Namespace) -> list[str]:
    return list(args.overrides) + ([f"storage.path={args.storage}"] if args.storage else [])


def run(args: argparse.Namespace) -> int:
    study = load_study(study_file(args.study), overrides_of(args)).resolved()
    return studyrun.launch(study, sys.argv[1:], args.address, args.quiet, resume_existing=args.resume,
                           overwrite=args.overwrite, allow_many_trials=args.allow_many_trials)
