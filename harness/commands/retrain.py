"""Retrain a finished search study's best genotypes from scratch, as a Ray Tune study.

The --top best distinct genotypes (by the study's objective; trials that derived the same
cell count once, and the command lists which trials found each) are each trained with
--seeds seeds, using the search study's `retrain.settings` (override any with --set
retrain.settings.KEY=VALUE).  --random K adds K genotypes drawn uniformly from the same
search space under the same derivation rule (seeded by --random-seed), trained with the
identical settings and seeds: the baseline the searched cells must beat.  --proxy NAME
--pool N adds K more: the K best of N further random genotypes by a zero-cost proxy
(snas.proxies; scored in seconds, in the retrain network, on one batch of the study's data):
does the searched cell beat a cell picked without training?  The new study
lives in <storage>/<name>-retrain/; its analysis compares searched and retrained accuracy
per genotype, with params and MACs.  Only trials that ran to their end are candidates;
--include-unfinished also considers running, pending and failed ones (at the epoch they
reached, with a warning).

  snas-study retrain results/quickstart --top 2 --seeds 2
  snas-study retrain results/quickstart --top 2 --seeds 2 --random 3
  snas-study retrain results/quickstart --top 2 --seeds 2 --random 3 --proxy synflow --pool 50
  snas-study retrain results/temperature_sweep --top 3 --seeds 2 --set retrain.settings.epochs=600
"""

from __future__ import annotations

import argparse
import sys

from harness import studyrun
from harness.analysis.results import load_results
from harness.arguments import non_negative_int, positive_int
from harness.commands.run import add_launch_arguments, overrides_of
from harness.retraining import describe_arms, retrain_study


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", help="the search study's folder (results/<name>)")
    parser.add_argument("--top", type=positive_int, help="how many genotypes (default: the study's retrain.top)")
    parser.add_argument("--seeds", type=positive_int, help="seeds per genotype (default: the study's retrain.seeds)")
    parser.add_argument("--random", type=non_negative_int, metavar="K",
                        help="also retrain K genotypes sampled uniformly from the search space (default: the "
                             "study's retrain.random, 0)")
    parser.add_argument("--random-seed", type=non_negative_int,
                        help="seed of the random genotypes (default: the study's retrain.random_seed, 0)")
    parser.add_argument("--proxy", metavar="NAME",
                        help="also retrain the K best of --pool random genotypes by this zero-cost proxy "
                             "(grad_norm, snip, synflow, naswot, params, macs; default: the study's retrain.proxy)")
    parser.add_argument("--pool", type=non_negative_int, metavar="N",
                        help="how many random genotypes the proxy scores (default: the study's retrain.pool)")
    parser.add_argument("--include-unfinished", action="store_true",
                        help="also retrain trials that have not finished (their genotype at the epoch reached)")
    add_launch_arguments(parser, example="retrain.settings.epochs=10")


def run(args: argparse.Namespace) -> int:
    source = load_results(args.results)
    top = source.study.retrain.top if args.top is None else args.top
    seeds = source.study.retrain.seeds if args.seeds is None else args.seeds
    section = source.study.retrain
    random_count = section.random if args.random is None else args.random
    random_seed = section.random_seed if args.random_seed is None else args.random_seed
    proxy = section.proxy if args.proxy is None else args.proxy
    pool = section.pool if args.pool is None else args.pool
    study = retrain_study(source, top, seeds, overrides_of(args), args.include_unfinished, random_count, random_seed,
                          proxy, pool, before_scoring=lambda planned: studyrun.check_target(
                              planned, resume_existing=args.resume, overwrite=args.overwrite))
    studyrun.check_target(study, resume_existing=args.resume, overwrite=args.overwrite)  # before the plan
    print(f"retraining {len(study.genotypes)} genotype(s) with {seeds} seed(s) each as {study.name}:", flush=True)
    print("\n".join(describe_arms(study)), flush=True)
    return studyrun.launch(study, sys.argv[1:], args.address, args.quiet, resume_existing=args.resume,
                           overwrite=args.overwrite, allow_many_trials=args.allow_many_trials)
