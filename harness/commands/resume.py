"""Continue an interrupted or partly failed study.

Restores Tune's experiment from DIR: unfinished trials continue from their last
checkpoint, failed ones are retried from theirs, finished ones are not run again.

Resume only a folder you trust: one your own runs wrote, on storage no one else can
write to.  Tune restores an experiment from pickles (tuner.pkl, the searcher's state,
fields of experiment_state-*.json), and loading a pickle runs whatever code it names, so
resuming a folder someone else crafted runs their code on this machine -- Ray's own
`Tuner.restore` documentation gives the same warning.  To look at a folder from
elsewhere, use `status`, `analyze`, `report` or `best`: they read only its JSON, CSV and
YAML files and never unpickle anything.

  snas-study resume results/quickstart
"""

from __future__ import annotations

import argparse

from harness import studyrun
from harness.cluster import add_address_argument
from harness.storage import is_uri


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", help="the study folder (results/<name>) or its URI")
    add_address_argument(parser)
    parser.add_argument("--quiet", action="store_true", help="no Tune progress tables")


def run(args: argparse.Namespace) -> int:
    experiment = args.results.rstrip("/")
    if not is_uri(experiment):
        from pathlib import Path

        experiment = str(Path(experiment).expanduser().absolute())
    return studyrun.resume(experiment, args.address, args.quiet)
