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
import json
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from harness.errors import invalid
from harness.overrides import apply_overrides
from harness.progress import EpochProgress
from snas.atomic import atomic_write_text
from snas.config import SearchConfig
from snas.errors import UserInputError

# flag -> dotted config key
_FLAGS = {
    "dataset": "data.dataset", "epochs": "epochs", "layers": "layers", "init_channels": "init_channels",
    "method": "method", "seed": "seed", "batch_size": "batch_size", "device": "device",
}
OUTPUTS = ("config.yaml", "metrics.jsonl", "genotype.json", "checkpoint.pt")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="YAML file with search settings (the `search` keys of a study)")
    parser.add_argument("--dataset", help="data set name (digits, synthetic, cifar10, cifar100, svhn, imagefolder)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--layers", type=int, help="cells in the supernet")
    parser.add_argument("--init-channels", dest="init_channels", type=int)
    parser.add_argument("--method", help="snas, gdas or darts")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--batch-size", dest="batch_size", type=int)
    parser.add_argument("--device", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="any other setting, e.g. --set temperature.initial=0.5 (repeatable)")
    parser.add_argument("--out", type=Path, help="output folder")
    parser.add_argument("--resume", type=Path, metavar="DIR", help="continue the interrupted search in DIR")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing search in --out")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _config_from(args: argparse.Namespace) -> SearchConfig:
    data: dict[str, Any] = {}
    if args.config is not None:
        if not args.config.is_file():
            raise UserInputError(f"--config {args.config} does not exist")
        try:
            data = yaml.safe_load(args.config.read_text()) or {}
        except yaml.YAMLError as err:
            raise UserInputError(f"--config {args.config} is not valid YAML: {err}") from None
        if not isinstance(data, dict):
            raise UserInputError(f"--config {args.config} must be a mapping of search settings")
    flags = [f"{key}={getattr(args, flag)}" for flag, key in _FLAGS.items() if getattr(args, flag) is not None]
    data = apply_overrides(data, flags + args.overrides)
    try:
        return SearchConfig.model_validate(data)
    except ValidationError as err:
        raise invalid(err, "search settings") from None


def _write_outputs(out: Path, history: list[dict[str, Any]], genotype: dict[str, Any]) -> None:
    atomic_write_text(out / "metrics.jsonl", "".join(json.dumps(m) + "\n" for m in history))
    atomic_write_text(out / "genotype.json", json.dumps(genotype, indent=2) + "\n")


def run(args: argparse.Namespace) -> int:
    from snas.search import Search

    if args.resume is not None:
        given = [f"--{flag.replace('_', '-')}" for flag in _FLAGS if getattr(args, flag) is not None]
        if given or args.config or args.overrides or args.out:
            dropped = ", ".join(given) or "--config/--set/--out"
            raise UserInputError(f"--resume continues the run exactly as it was configured; drop {dropped}")
        out = args.resume
        search = Search.restore(out / "checkpoint.pt")
    else:
        if args.out is None:
            raise UserInputError("say where to write the search with --out DIR (or continue one with --resume DIR)")
        out = args.out
        existing = [name for name in OUTPUTS if (out / name).exists()]
        if existing and not args.overwrite:
            raise UserInputError(
                f"{out} already holds a search ({', '.join(existing)}); continue it with --resume {out} "
                f"or replace it with --overwrite")
        search = Search(_config_from(args))
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "config.yaml", yaml.safe_dump(
            search.config.model_dump(mode="json", by_alias=True), sort_keys=False))
        search.save(out / "checkpoint.pt")
        _write_outputs(out, search.history, search.genotype.to_dict())

    cfg = search.config
    if search.finished:
        print(f"the search in {out} has already finished ({search.epoch} epochs)")
        return 0
    print(f"search: {cfg.method} on {cfg.data.dataset}, {cfg.layers} cells × {cfg.init_channels} channels, "
          f"epochs {search.epoch + 1}..{cfg.epochs} on {search.device}; writing to {out}", flush=True)
    progress = EpochProgress(enabled=not args.quiet)
    try:
        while not search.finished:
            with progress.epoch(search.epoch + 1, cfg.epochs, search.data.train.train_steps()) as on_step:
                metrics = search.run_epoch(on_step)
            search.save(out / "checkpoint.pt")
            _write_outputs(out, search.history, search.genotype.to_dict())
            print(progress.summary(metrics), flush=True)
    except KeyboardInterrupt:
        print(f"\ninterrupted after epoch {search.epoch}; continue with: snas-study search --resume {out}",
              file=sys.stderr)
        return 130
    if search.diverged:
        print(f"the loss became NaN/inf in epoch {search.epoch}; the search stopped (see {out / 'metrics.jsonl'})")
        return 1
    print(f"genotype: {search.genotype}")
    print(f"results: {out / 'genotype.json'}, {out / 'metrics.jsonl'}, {out / 'checkpoint.pt'}")
    return 0
