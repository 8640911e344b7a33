"""Run one architecture search on this machine, without Ray.

Writes into --out: config.yaml (the resolved configuration), metrics.jsonl (one line per
epoch), genotype.json (the derived genotype, updated every epoch), checkpoint.pt (updated
every epoch) and TensorBoard event files (`tensorboard --logdir DIR`).  An interrupted
run continues with --resume DIR exactly where its last finished epoch left it.

  snas-study search --dataset digits --epochs 5 --layers 5 --init-channels 8 \\
      --method snas --seed 0 --out runs/snas-digits

--workers N runs it data-parallel on N local processes (gloo on the CPU; one GPU each
with NCCL on CUDA), --batch-size being the global batch they split; a study's trials
use resources.workers instead (on Ray Train).  Resume such a run with the same --workers.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.arguments import read_yaml_mapping
from harness.kinds import KINDS
from harness.localrun import (
    RunCommand,
    add_run_arguments,
    add_workers_argument,
    check_workers,
    default_help,
    given_flags,
    open_run,
    run_epochs,
    validated_settings,
)
from harness.official import OFFICIAL_PENALTIES
from harness.studyfolder import CHECKPOINT_FILE, GENOTYPE_FILE, METRICS_FILE
from snas.config import SearchConfig
from snas.errors import UserInputError
from snas.methods import METHODS

# flag -> dotted config key
_FLAGS = {
    "dataset": "data.dataset", "epochs": "epochs", "layers": "layers", "init_channels": "init_channels",
    "method": "method", "seed": "seed", "batch_size": "batch_size", "device": "device", "compile": "compile",
}
COMMAND = RunCommand(KINDS["search"], _FLAGS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="YAML file with search settings (the `search` keys of a study)")
    default = lambda flag, text="": default_help(SearchConfig, _FLAGS[flag], text)  # noqa: E731
    parser.add_argument("--dataset", help=default("dataset", "data set name (digits, synthetic, cifar10, cifar100, "
                                                             "svhn, imagefolder)"))
    parser.add_argument("--epochs", type=int, help=default("epochs", "search epochs"))
    parser.add_argument("--layers", type=int, help=default("layers", "cells in the supernet")
                        + "; in space nas-bench-201, cells per stage (default there: 5)")
    parser.add_argument("--init-channels", dest="init_channels", type=int,
                        help=default("init_channels", "channels of the first cell"))
    parser.add_argument("--method", choices=[*METHODS, *OFFICIAL_PENALTIES], metavar="METHOD",
                        help=default("method", "relaxation: snas, gdas or darts (or, as SNAS's train_search.py "
                                               "means it, the resource estimator: reparametrization, discrete or "
                                               "policy_gradient)"))
    parser.add_argument("--seed", type=int, help=default("seed"))
    parser.add_argument("--batch-size", dest="batch_size", type=int, help=default("batch_size"))
    parser.add_argument("--device", help=default("device", "auto, cpu, cuda or cuda:N"))
    parser.add_argument("--compile", help=default("compile", "torch.compile mode: off, default, reduce-overhead or "
                                                             "max-autotune (minutes to compile; snas.compilation)"))
    add_workers_argument(parser, "search")
    add_run_arguments(parser, COMMAND)


def _config_from(args: argparse.Namespace) -> SearchConfig:
    data: dict[str, Any] = {}
    if args.config is not None:
        data = read_yaml_mapping(args.config, f"--config {args.config}", "search settings", empty_ok=True)
        if "search" in data and "space" in data:
            raise UserInputError(f"--config {args.config} is a study file; run it with `snas-study run "
                                 f"{args.config}`, or give --config the search settings alone")
    return validated_settings(COMMAND, data, args, "search settings")


def _finish(search: Any, out: Path, quiet: bool) -> int:
    cfg = search.config
    header = (f"search: {cfg.method} on {cfg.data.dataset}, {cfg.layers} cells × {cfg.init_channels} channels, "
              f"epochs {search.epoch + 1}..{cfg.epochs} on {search.device}"
              f"{f' × {search.ranks.world} workers' if search.ranks.parallel else ''}; writing to {out}")
    code = run_epochs(search, out, COMMAND, header, quiet)
    if code == 0:
        print(f"genotype: {search.genotype}")
        print(f"results: {out / GENOTYPE_FILE}, {out / METRICS_FILE}, {out / CHECKPOINT_FILE}")
    return code


def run(args: argparse.Namespace) -> int:
    from snas.search import Search

    check_workers(args.workers)
    given = given_flags(args, _FLAGS) + ["--config"] * bool(args.config)
    if args.workers > 1:
        from harness.localgroup import run_loop_on_workers

        return run_loop_on_workers(args, COMMAND, given, lambda: _config_from(args), Search, _finish)
    out, search = open_run(args, COMMAND, given, lambda: Search(_config_from(args)), Search.restore)
    return _finish(search, out, args.quiet)
