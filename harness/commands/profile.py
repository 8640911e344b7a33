"""Count a genotype's parameters and MACs in its evaluation network.

GENOTYPE is a catalogue name (DARTS_V1, DARTS_V2, SNAS_mild, SNAS_moderate, SNAS_aggressive,
their *_edge_all forms, GDAS_V1, the NAS-Bench-201 cells NB201_GDAS, NB201_DARTS_all_skip,
NB201_ResNet), a genotype JSON file (or the run or trial folder holding genotype.json),
Genotype(...) text or a NAS-Bench-201 |op~input|+... string.
--dataset cifar10 (default) builds the CIFAR network (20 cells, C=36, 32×32, 10 classes; a
NAS-Bench-201 cell: the benchmark's network, 3 stages of 5 cells, C=16);
--dataset imagenet the mobile-setting ImageNet network (14 cells, C=48, 224×224, 1000
classes).  Parameters exclude the auxiliary head (DARTS convention); MACs are
multiply-accumulates for one image (what the papers call FLOPs or mult-adds).  For
catalogue genotypes the papers' figures are printed beside the measured ones: the papers
round, and some of their figures do not follow from their genotypes (the network is built
as designed, never fitted to a paper).

  snas-study profile DARTS_V2
  snas-study profile '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|skip_connect~2|'
  snas-study profile SNAS_mild --dataset imagenet
  snas-study profile runs/snas-digits/genotype.json --layers 8 --init-channels 16 --input 1x8x8 --json

--input CxHxW and --classes count the network at another input (a digits study's 1×8×8
images, 10 classes): a study's report names the command that prints its eval figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from snas.catalogue import CATALOGUE, Published, catalogue_name, genotype_name, resolve_genotype
from snas.errors import UserInputError
from snas.spaces import SPACES, space_of
from snas.spaces.base import AnyGenotype, EvalNetwork
from snas.spaces.darts.networks import EVAL_NETWORKS
from snas.spaces.nas_bench_201.networks import BENCHMARK_NETWORK

MOBILE_MACS_M = 600
"""The ImageNet mobile setting: fewer than 600M MACs."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("genotype",
                        help="catalogue name, genotype JSON file (or the run or trial folder holding genotype.json), "
                             "Genotype(...) text or |op~input|+... string")
    parser.add_argument("--dataset", choices=tuple(EVAL_NETWORKS), default="cifar10",
                        help="which evaluation network (default: cifar10)")
    parser.add_argument("--layers", type=int, help="cells (default: 20 for cifar10, 14 for imagenet)")
    parser.add_argument("--init-channels", dest="init_channels", type=int,
                        help="channels of the first cell (default: 36 for cifar10, 48 for imagenet)")
    parser.add_argument("--input", metavar="CxHxW",
                        help="the input images, e.g. 1x8x8 for digits (default: the network's, 3x32x32 for cifar10); "
                             "what a study's eval_params_m / eval_macs_m were counted at")
    parser.add_argument("--classes", type=int,
                        help="classes of the classifier (default: 10 for cifar10, 1000 for imagenet)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def parse_input(text: str) -> tuple[int, int]:
    """(channels, side) of ``--input CxHxW``; images are square, as the networks assume."""
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) != 3 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise UserInputError(f"--input must be CxHxW with positive whole numbers, e.g. 1x8x8 or 3x32x32; "
                             f"got {text!r}")
    channels, height, width = (int(p) for p in parts)
    if height != width:
        raise UserInputError(f"--input must be square (the networks take H = W), got {text!r}")
    return channels, height


def _network(args: argparse.Namespace, genotype: AnyGenotype) -> EvalNetwork:
    network = space_of(genotype).evaluation_network(args.dataset)
    if args.layers is not None:
        if args.layers < 3:
            raise UserInputError(f"--layers must be at least 3 (two of them reduce), got {args.layers}")
        network = dataclasses.replace(network, layers=args.layers)
    if args.init_channels is not None:
        if args.init_channels < 2 or args.init_channels % 2:
            raise UserInputError(f"--init-channels must be even and at least 2 (reduction cells split channels "
                                 f"in two), got {args.init_channels}")
        network = dataclasses.replace(network, channels=args.init_channels)
    if args.input is not None:
        channels, side = parse_input(args.input)
        network = dataclasses.replace(network, in_channels=channels, image_size=side)
    if args.classes is not None:
        if args.classes < 2:
            raise UserInputError(f"--classes must be at least 2, got {args.classes}")
        network = dataclasses.replace(network, num_classes=args.classes)
    return network


def _published(name: str | None, dataset: str, network: EvalNetwork) -> Published | None:
    """The paper's figures, where they describe exactly this network."""
    entry = CATALOGUE.get(name or "")
    published = None if entry is None else entry.published if dataset == "cifar10" else entry.imagenet
    if published is None or network != published.network(EVAL_NETWORKS[dataset]):
        return None
    return published


def _network_json(network: EvalNetwork) -> dict[str, Any]:
    """The network as ``--json`` writes it: its family under the key ``kind``, the name the
    output has always had (scripts read it)."""
    fields = dataclasses.asdict(network)
    return {"kind": fields.pop("family"), **fields}


def _network_of_json(data: dict[str, Any]) -> EvalNetwork:
    fields = dict(data)
    return EvalNetwork(family=fields.pop("kind"), **fields)


def profile_report(spec: str, dataset: str, network: EvalNetwork) -> dict[str, Any]:
    """What ``profile`` prints, as data (the ``--json`` output)."""
    import torch  # counting builds the network; ``profile --help`` loads no torch

    from snas.data.loading import check_image_size
    from snas.memory import check_fits

    genotype = resolve_genotype(spec)
    known = catalogue_name(genotype)
    space = space_of(genotype)
    check_image_size(network.image_size, network.image_size, space.halvings(network.family, network.layers),
                     f"the {network.family} network of {space.describe_cells(network.layers)}",
                     "give a larger --input or fewer --layers")
    sizes = dataclasses.asdict(network)  # the network's settings, as the space's methods name them
    check_fits(space.child_memory(genotype, auxiliary=False, **sizes).inference_bytes(), torch.device("cpu"),
               f"a {network.layers}-cell network with C={network.channels}", "check --layers and --init-channels")
    profile = space.profile(genotype, **sizes)
    published = _published(known, dataset, network)
    benchmark = CATALOGUE[known].benchmark if known else None
    report: dict[str, Any] = {
        "genotype": genotype_name(spec), "catalogue": known, "space": genotype.space, "form": genotype.form,
        "dataset": dataset,
        "network": _network_json(network),
        "params": profile.params, "params_m": round(profile.params_m, 4),
        "macs": profile.macs, "macs_m": round(profile.macs_m, 2),
        "published": None, "genotype_repr": str(genotype),
        "benchmark": dataclasses.asdict(benchmark) if benchmark and network == BENCHMARK_NETWORK else None,
    }
    if published is not None:
        report["published"] = {**dataclasses.asdict(published),
                               "params_agree": published.params_agree(profile.params_m),
                               "macs_agree": published.macs_agree(profile.macs_m)}
    return report


def _text(report: dict[str, Any]) -> str:
    net = report["network"]
    name = report["genotype"]
    if report["catalogue"] not in (None, name):
        name += f" = {report['catalogue']}"
    space = SPACES[report["space"]]
    form, cells = space.describe_form(report["form"]), space.describe_cells(net["layers"])
    lines = [
        f"{name} ({form}), {report['dataset']} network: {cells}, C={net['channels']}, "
        f"{_network_of_json(net).describe_input()}",
    ]
    published = report["published"]
    dash = "–"
    rows = [("", "measured", "published", "")]
    rows.append(("params (M)", f"{report['params_m']:.3f}", f"{published['params_m']}" if published else dash,
                 "auxiliary head excluded (DARTS convention)"))
    rows.append(("MACs (M)", _macs_text(report['macs'] / 1e6),
                 f"{published['macs_m']:g}" if published and published["macs_m"] is not None else dash,
                 "multiply-accumulates for one image (papers' FLOPs)"))
    if published:
        label = "top-1 / top-5 error (%)" if report["dataset"] == "imagenet" else "test error (%)"
        rows.append((label, dash, published["test_error"], ""))
    benchmark = report["benchmark"]
    if benchmark:
        rows.append(("test accuracy (%)", dash, benchmark["test_accuracy"], ""))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        lines.append(f"  {row[0]:<{widths[0]}}  {row[1]:>{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]}".rstrip())
    if report["dataset"] == "imagenet":
        verdict = "within" if report["macs_m"] < MOBILE_MACS_M else "outside"
        lines.append(f"  mobile setting (< {MOBILE_MACS_M}M MACs): {verdict}")
    if benchmark:
        lines.append(f"  published: {benchmark['source']}")
    if published:
        lines.append(f"  published: {published['source']}")
        differ = [what for what in ("params", "macs") if published[f"{what}_agree"] is False]
        if differ:
            shown = ", ".join(f"{what.replace('macs', 'MACs')} {report[f'{what}_m']:.2f}M measured vs "
                              f"{published[f'{what}_m']:g}M published" for what in differ)
            lines.append(f"  note: this genotype in this network does not give the paper's figure ({shown}); "
                         f"the network is built as designed, not fitted to the paper")
    elif report["catalogue"] and CATALOGUE[report["catalogue"]].benchmark:
        if benchmark is None:
            lines.append(f"  published: the benchmark's figures are for {BENCHMARK_NETWORK.layers} cells per stage, "
                         f"C={BENCHMARK_NETWORK.channels} only")
    elif report["catalogue"]:
        entry, reference = CATALOGUE[report["catalogue"]], EVAL_NETWORKS[report["dataset"]]
        figures = entry.published if report["dataset"] == "cifar10" else entry.imagenet
        reference = reference if figures is None else figures.network(reference)
        if (net["layers"], net["channels"]) == (reference.layers, reference.channels):
            lines.append(f"  published: the catalogue has no {report['dataset']} figures for this genotype")
        else:
            lines.append(f"  published: the papers' {report['dataset']} figures are for {reference.layers} cells, "
                         f"C={reference.channels} only")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    network = _network(args, resolve_genotype(args.genotype))
    try:
        report = profile_report(args.genotype, args.dataset, network)
    except (MemoryError, RuntimeError) as err:
        if not isinstance(err, MemoryError) and "can't allocate memory" not in str(err):
            raise
        raise UserInputError(f"a {network.layers}-cell network with C={network.channels} does not fit in this "
                             f"machine's memory for profiling; check --layers and --init-channels") from None
    print(json.dumps(report, indent=2) if args.json else _text(report))
    return 0


def _macs_text(macs_m: float) -> str:
    """Tenths of a million for a full network, three decimals for the tiny networks of a laptop study."""
    return f"{macs_m:.1f}" if macs_m >= 10 else f"{macs_m:.3f}"
