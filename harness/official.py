"""The official SNAS, DARTS and GDAS scripts' flags, accepted by ``snas-study search`` and ``train``.

Users arrive with commands such as SNAS's ``train_search.py --snas --layer 8
--init_channels 16 --temp 1 --temp_min 0.03 --temp_annealing --resource_efficient
--resource_lambda 1e-2 --log_penalty --drop_path_prob 3e-1 --method 'reparametrization'
--remark ...`` or DARTS's ``train.py --auxiliary --cutout --arch DARTS_V2``.  Each flag
below becomes the setting (a dotted key of :class:`snas.config.SearchConfig` or
:class:`snas.config.RetrainConfig`) it means in those scripts; flags with no meaning
here are accepted and named in one note; the equivalent native command is printed once.
Only flags the user gives are translated: the configurations' own defaults already
reproduce the official single-GPU SNAS search and the DARTS/SNAS evaluation.
"""

from __future__ import annotations

import argparse
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snas.resource import PENALTIES

GENOTYPE = "GENOTYPE"
"""``train``'s positional argument (DARTS's ``--arch``)."""
TAKES_VALUE = object()
"""The setting takes the flag's argument (otherwise the flag is a switch and sets ``value``)."""


@dataclass(frozen=True)
class OfficialFlag:
    """One flag of the official scripts and the setting it means here, per command."""

    flags: tuple[str, ...]
    search: str | None = None
    """Dotted key in the search settings, or None when ``search`` has no such setting."""
    train: str | None = None
    value: Any = TAKES_VALUE
    type: type = str
    meaning: str = ""
    ignored: str = ""
    """Why the flag has no effect here (it is accepted and named in one note)."""

    @property
    def dest(self) -> str:
        return "official_" + self.flags[0].lstrip("-")

    def key(self, command: str) -> str | None:
        return self.search if command == "search" else self.train


OFFICIAL_PENALTIES = tuple(m for m in PENALTIES if m != "none")
"""What SNAS's ``--method`` names: the resource constraint's estimator."""
OFFICIAL_FLAGS: tuple[OfficialFlag, ...] = (
    OfficialFlag(("--init_channels",), "init_channels", "init_channels", type=int),
    OfficialFlag(("--layer",), "layers", "layers", type=int, meaning="cells (SNAS's spelling of --layers)"),
    OfficialFlag(("--batch_size",), "batch_size", "batch_size", type=int),
    OfficialFlag(("--learning_rate",), "weights.lr", "lr", type=float),
    OfficialFlag(("--learning_rate_min",), "weights.lr_min", "lr_min", type=float),
    OfficialFlag(("--momentum",), "weights.momentum", "momentum", type=float),
    OfficialFlag(("--weight_decay",), "weights.weight_decay", "weight_decay", type=float),
    OfficialFlag(("--grad_clip",), "weights.grad_clip", "grad_clip", type=float),
    OfficialFlag(("--arch_learning_rate",), "arch.lr", type=float),
    OfficialFlag(("--arch_weight_decay",), "arch.weight_decay", type=float),
    OfficialFlag(("--unrolled",), "second_order", value=True, meaning="DARTS's second-order α gradient"),
    OfficialFlag(("--drop_path_prob",), "drop_path", "drop_path", type=float),
    OfficialFlag(("--cutout",), "data.cutout", "data.cutout", value=16, meaning="cutout of 16 pixels"),
    OfficialFlag(("--cutout_length",), "data.cutout", "data.cutout", type=int,
                 meaning="cutout size (implies --cutout)"),
    OfficialFlag(("--auxiliary",), None, "auxiliary", value=True),
    OfficialFlag(("--auxiliary_weight",), None, "auxiliary_weight", type=float),
    OfficialFlag(("--arch",), None, GENOTYPE, meaning="the genotype to train (e.g. DARTS_V2, SNAS_mild)"),
    OfficialFlag(("--train_portion",), "data.split.train_fraction", type=float),
    OfficialFlag(("--data", "--data_path"), "data.root", "data.root", meaning="where the data sets live"),
    OfficialFlag(("--snas",), "method", value="snas"),
    OfficialFlag(("--temp", "--tau_max"), "temperature.initial", type=float,
                 meaning="initial Gumbel-softmax temperature (SNAS --temp, GDAS --tau_max)"),
    OfficialFlag(("--temp_min", "--tau_min"), "temperature.min", type=float),
    OfficialFlag(("--temp_annealing",), "temperature.schedule", value="linear",
                 meaning="linear annealing from --temp to --temp_min"),
    OfficialFlag(("--nsample",), "nsample", type=int),
    OfficialFlag(("--resample_layer",), "resample_per_cell", value=True),
    OfficialFlag(("--resource_efficient",), "resource.method", value="policy_gradient",
                 meaning="the resource constraint (policy_gradient unless --method names another)"),
    OfficialFlag(("--resource_lambda",), "resource.lambda", type=float),
    OfficialFlag(("--log_penalty",), "resource.log_penalty", value=True),
    OfficialFlag(("--separation",), "resource.separation"),
    OfficialFlag(("--ratio",), "resource.ratio", type=float),
    OfficialFlag(("--minus_baseline",), "resource.baseline", value=True),
    OfficialFlag(("--rand_seed",), "seed", "seed", type=int, meaning="GDAS's --seed"),
    OfficialFlag(("--remark",), meaning="the run's label: names the output folder runs/REMARK (without --out)"),
    OfficialFlag(("--save", "--save_dir"), meaning="the output folder (without --out)"),
    OfficialFlag(("--loss",), value=True, ignored="the resource term is always part of the loss here"),
    OfficialFlag(("--gpu",), type=str, ignored="the device is --device (auto picks the GPU)"),
    OfficialFlag(("--report_freq",), type=float, ignored="every epoch is reported"),
    OfficialFlag(("--distributed",), value=True, ignored="data-parallel searches take --workers N (search) or "
                                                          "resources.workers (a study)"),
    OfficialFlag(("--fix_seedcudnn",), value=True, ignored="runs are seeded and deterministic on CPU"),
    OfficialFlag(("--local_rank",), type=int, ignored="one device per run"),
    OfficialFlag(("--port",), type=int, ignored="one device per run"),
    OfficialFlag(("--model_path",), ignored="checkpoint.pt is written into the output folder"),
    OfficialFlag(("--workers",), type=int, ignored="data sets live on the device as tensors"),
)
_BY_DEST = {flag.dest: flag for flag in OFFICIAL_FLAGS}
_PENALTY_METHOD = "resource.method"


def add_official_arguments(parser: argparse.ArgumentParser, command: str) -> None:
    """The official scripts' flags that mean something to ``command``, in their own help group."""
    group = parser.add_argument_group(
        "flags of the official SNAS / DARTS / GDAS scripts",
        "accepted as written in their READMEs; each becomes the setting shown (the native command is "
        "printed once). --method reparametrization|discrete|policy_gradient selects the resource constraint's "
        "estimator, as in SNAS's train_search.py")
    for flag in OFFICIAL_FLAGS:
        key = flag.key(command)
        if any(option in parser._option_string_actions for option in flag.flags):
            continue  # the command's own flag of that name (search --workers) wins
        if key is None and not flag.ignored and flag.flags[0] not in ("--remark", "--save"):
            continue
        text = _help(flag, key)
        if flag.value is TAKES_VALUE:
            group.add_argument(*flag.flags, dest=flag.dest, type=flag.type, help=text, metavar="X")
        else:
            group.add_argument(*flag.flags, dest=flag.dest, action="store_const", const=flag.value, help=text)


def _help(flag: OfficialFlag, key: str | None) -> str:
    if flag.ignored:
        return f"ignored: {flag.ignored}"
    if key is None:
        return flag.meaning
    value = "…" if flag.value is TAKES_VALUE else _yaml(flag.value)
    target = "= GENOTYPE" if key == GENOTYPE else f"= --set {key}={value}"
    return f"{flag.meaning}; {target}" if flag.meaning else target


def _yaml(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def given_official_flags(args: argparse.Namespace) -> list[str]:
    return [flag.flags[0] for flag in OFFICIAL_FLAGS if getattr(args, flag.dest, None) is not None]


@dataclass(frozen=True)
class Translation:
    overrides: list[str]
    """``key=value`` settings, before the user's own ``--set`` (so those win)."""
    out: Path | None
    ignored: list[str]


def translate(args: argparse.Namespace, command: str) -> Translation:
    """The settings the official flags in ``args`` mean for ``command``.

    SNAS's ``--method`` names the resource estimator; ours names the relaxation.  A
    penalty estimator given to ``--method`` is therefore taken as SNAS's meaning.
    """
    settings: dict[str, Any] = {}
    penalty = getattr(args, "method", None)
    if penalty in OFFICIAL_PENALTIES:
        args.method = None
    for flag in OFFICIAL_FLAGS:
        value = getattr(args, flag.dest, None)
        key = flag.key(command)
        if value is None or flag.ignored or key is None:
            continue
        if key == GENOTYPE:
            args.genotype = args.genotype or value
            continue
        settings[key] = value
    ignored = [flag.flags[0] for flag in OFFICIAL_FLAGS if flag.ignored and getattr(args, flag.dest, None) is not None]
    if penalty in OFFICIAL_PENALTIES and _PENALTY_METHOD in settings:
        settings[_PENALTY_METHOD] = penalty
    elif penalty in OFFICIAL_PENALTIES:  # as in SNAS: the estimator alone switches nothing on
        ignored.append(f"--method {penalty}")
    if command == "search" and _PENALTY_METHOD not in settings and (
            penalty in OFFICIAL_PENALTIES or getattr(args, "official_snas", None)):
        # SNAS's script runs unconstrained unless --resource_efficient; our snas default
        # switches the constraint on, so a pasted command without the flag says "none".
        settings[_PENALTY_METHOD] = "none"
    out = getattr(args, "official_save", None)
    remark = getattr(args, "official_remark", None)
    if out is None and remark is not None:
        out = str(Path("runs") / remark)
    overrides = [f"{key}={_yaml(value)}" for key, value in settings.items()]
    return Translation(overrides, Path(out) if out else None, ignored)


def _why_ignored(name: str) -> str:
    if name.startswith("--method "):
        return "SNAS applies the estimator only with --resource_efficient"
    return _BY_DEST["official_" + name.lstrip("-")].ignored


def notes(translation: Translation, native: list[str]) -> list[str]:
    """The one note about ignored flags and the native command, for printing once."""
    lines = []
    if translation.ignored:
        why = "; ".join(f"{name}: {_why_ignored(name)}" for name in translation.ignored)
        lines.append(f"note: no effect here: {why}")
    lines.append("note: the same run with native flags: snas-study " + " ".join(shlex.quote(part) for part in native))
    return lines
