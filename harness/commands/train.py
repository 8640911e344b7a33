"""Train one genotype from scratch on this machine, without Ray (the papers' evaluation step).

GENOTYPE is a catalogue name (DARTS_V2, SNAS_mild, NB201_GDAS, ...), a genotype JSON file (e.g.
the genotype.json a search wrote, or the run or trial folder holding it), Genotype(...) text
or a NAS-Bench-201 |op~input|+... string (trained in the benchmark's network: 3 stages of 5
cells, C=16, no auxiliary head, no drop path, unless told otherwise).  Defaults are the
DARTS/SNAS CIFAR-10 evaluation (20 cells, C=36, auxiliary head 0.4, drop path 0.2 ramped up,
600 epochs, batch 96, SGD 0.025 cosine);
change any setting with --set, e.g. --set data.cutout=16, --set network=imagenet
--set label_smoothing=0.1, --set auxiliary=false.

Writes into --out: config.yaml (the resolved configuration, genotype included),
metrics.jsonl (one line per epoch), genotype.json and checkpoint.pt (updated every epoch),
and TensorBoard event files (`tensorboard --logdir DIR`).
An interrupted run continues with --resume DIR exactly where its last finished epoch left it.

--workers N trains data-parallel on N local processes (gloo on the CPU; one GPU each with
NCCL on CUDA), --batch-size being the global batch they split; a retrain study's trials
use resources.workers instead (on Ray Train).  Resume such a run with the same --workers.

  snas-study train DARTS_V2 --dataset digits --epochs 3 --layers 8 --init-channels 16 --out runs/darts-v2
  snas-study train --resume runs/darts-v2
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

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
from harness.studyfolder import CHECKPOINT_FILE, METRICS_FILE
from snas.catalogue import catalogue_name, resolve_genotype
from snas.config import RetrainConfig
from snas.errors import UserInputError
from snas.spaces import space_of

# flag -> dotted config key
_FLAGS = {
    "dataset": "data.dataset", "epochs": "epochs", "layers": "layers", "init_channels": "init_channels",
    "batch_size": "batch_size", "seed": "seed", "device": "device", "compile": "compile",
}
COMMAND = RunCommand(KINDS["retrain"], _FLAGS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("genotype", nargs="?",
                        help="catalogue name, genotype JSON file (or the run or trial folder holding "
                             "genotype.json), Genotype(...) text or |op~input|+... string (not with --resume)")
    default = lambda flag, text="": default_help(RetrainConfig, _FLAGS[flag], text)  # noqa: E731
    parser.add_argument("--dataset", help=default("dataset", "data set name (digits, synthetic, cifar10, cifar100, "
                                                             "svhn, imagefolder)"))
    parser.add_argument("--epochs", type=int, help=default("epochs", "training epochs"))
    parser.add_argument("--layers", type=int, help=default("layers", "cells in the network"))
    parser.add_argument("--init-channels", dest="init_channels", type=int,
                        help=default("init_channels", "channels of the first cell"))
    parser.add_argument("--batch-size", dest="batch_size", type=int, help=default("batch_size"))
    parser.add_argument("--seed", type=int, help=default("seed"))
    parser.add_argument("--device", help=default("device", "auto, cpu, cuda or cuda:N"))
    parser.add_argument("--compile", help=default("compile", "torch.compile mode: off, default, reduce-overhead or "
                                                             "max-autotune (minutes to compile; snas.compilation)"))
    add_workers_argument(parser, "training")
    add_run_arguments(parser, COMMAND)


def _config_from(args: argparse.Namespace) -> RetrainConfig:
    if args.genotype is None:
        raise UserInputError("say which genotype to train: a catalogue name (e.g. DARTS_V2), a genotype JSON file "
                             "or Genotype(...) text (or continue a run with --resume DIR)")
    genotype = resolve_genotype(args.genotype).to_dict()
    return validated_settings(COMMAND, {"genotype": genotype}, args, "training settings")


def _finish(retrain: Any, out: Path, quiet: bool) -> int:
    cfg, profile = retrain.config, retrain.profile
    name = catalogue_name(retrain.genotype) or "genotype"
    network = space_of(retrain.genotype).describe_network(cfg.network, cfg.layers)
    header = (f"train: {name} on {cfg.data.dataset}, {network} × "
              f"{cfg.init_channels} channels ({profile.params_m:.3f}M params, {profile.macs_m:.1f}M MACs), "
              f"epochs {retrain.epoch + 1}..{cfg.epochs} on {retrain.device}"
              f"{f' × {retrain.ranks.world} workers' if retrain.ranks.parallel else ''}; writing to {out}")
    code = run_epochs(retrain, out, COMMAND, header, quiet)
    if code == 0:
        last = retrain.history[-1] if retrain.history else {}
        accuracy = ", ".join(f"{label} {last[key]:.2f}%" for key, label in (("val_acc", "val"), ("test_acc", "test"))
                             if not math.isnan(last.get(key, math.nan)))
        print(f"finished {retrain.epoch} epoch{'' if retrain.epoch == 1 else 's'}: "
              f"{accuracy or 'no accuracy recorded'}")
        print(f"results: {out / METRICS_FILE}, {out / CHECKPOINT_FILE}")
    return code


def run(args: argparse.Namespace) -> int:
    from snas.retrain import Retrain

    check_workers(args.workers)
    given = given_flags(args, _FLAGS) + ["GENOTYPE"] * (args.genotype is not None)
    if args.workers > 1:
        from harness.localgroup import run_loop_on_workers

        return run_loop_on_workers(args, COMMAND, given, lambda: _config_from(args), Retrain, _finish)
    out, retrain = open_run(args, COMMAND, given, lambda: Retrain(_config_from(args)), Retrain.restore)
    return _finish(retrain, out, args.quiet)
