"""Run one architecture search on this machine, without Ray.

Writes into --out: config.yaml (the resolved configuration), metrics.jsonl (one line per
epoch), genotype.json (the derived genotype, updated every epoch) and checkpoint.pt
(updated every epoch).  An interrupted run continues with --resume DIR exactly where its
last finished epoch left it.

  snas-study search --dataset digits --epochs 5 --layers 5 --init-channels 8 \\
      --method snas --seed 0 --out runs/snas-digits
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.arguments import read_yaml_mapping
from harness.localrun import RunKind, add_run_arguments, given_flags, open_run, run_epochs, validated_settings
from snas.config import SearchConfig
from snas.errors import UserInputError

# flag -> dotted config key
_FLAGS = {
    "dataset": "data.dataset", "epochs": "epochs", "layers": "layers", "init_channels": "init_channels",
    "method": "method", "seed": "seed", "batch_size": "batch_size", "device": "device",
}
KIND = RunKind(verb="search", noun="search")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="YAML file with search settings (the `search` keys of a study)")
    parser.add_argument("--dataset", help="data set name (digits, synthetic, cifar10, cifar100, svhn, imagefolder)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--layers", type=int, help="cells in the supernet (space nas-bench-201: cells per stage)")
    parser.add_argument("--init-channels", dest="init_channels", type=int)
    parser.add_argument("--method", help="snas, gdas or darts")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--batch-size", dest="batch_size", type=int)
    parser.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    add_run_arguments(parser, KIND)


def _config_from(args: argparse.Namespace) -> SearchConfig:
    data: dict[str, Any] = {}
    if args.config is not None:
        data = read_yaml_mapping(args.config, f"--config {args.config}", "search settings", empty_ok=True)
        if "search" in data and "space" in data:
            raise UserInputError(f"--config {args.config} is a study file; run it with `snas-study run "
                                 f"{args.config}`, or give --config the search settings alone")
    return validated_settings(SearchConfig, data, args, _FLAGS, "search settings")


def run(args: argparse.Namespace) -> int:
    from snas.search import Search

    given = given_flags(args, _FLAGS) + ["--config"] * bool(args.config)
    out, search = open_run(args, KIND, given, lambda: Search(_config_from(args)), Search.restore)
    cfg = search.config
    header = (f"search: {cfg.method} on {cfg.data.dataset}, {cfg.layers} cells × {cfg.init_channels} channels, "
              f"epochs {search.epoch + 1}..{cfg.epochs} on {search.device}; writing to {out}")
    code = run_epochs(search, out, KIND, header, args.quiet)
    if code == 0:
        print(f"genotype: {search.genotype}")
        print(f"results: {out / 'genotype.json'}, {out / 'metrics.jsonl'}, {out / 'checkpoint.pt'}")
    return code
