"""Score genotypes with zero-cost proxies, without training: one row per genotype, one column per proxy.

Each GENOTYPE is a catalogue name (DARTS_V2, SNAS_mild, NB201_GDAS, ...), a genotype JSON
file, Genotype(...) text, a NAS-Bench-201 |op~input|+... string, or a study folder: a search
study's distinct derived genotypes (naming the trials), a retrain study's retrained genotypes
(what its analysis's predictor leaderboard reads back from analysis/proxies.csv).  Every genotype's network
is built untrained, its weights drawn from --seed, and scored on one batch of --batch-size
training images drawn from --seed (snas.proxies: grad_norm, snip, synflow, naswot, and the
params and MACs baselines; each proxy's module cites its definition).  Higher is better for
every proxy.

The network: --layers cells of width --init-channels; by default a search study's evaluation
scale (its eval_layers, eval_channels), a retrain study's own network, for named genotypes
their space's evaluation network
(DARTS: 20 cells, C=36; NAS-Bench-201: 5 cells per stage, C=16).  The images: a study's
own data set, for named genotypes --dataset (default digits, bundled).

  snas-study proxies DARTS_V1 DARTS_V2 SNAS_mild --layers 8 --init-channels 16
  snas-study proxies results/quickstart                 # writes results/quickstart/analysis/proxies.csv
  snas-study proxies NB201_GDAS NB201_ResNet --proxy synflow --proxy naswot --out tables/

The table is printed, and written as proxies.csv to --out FOLDER, or, given one study
folder and no --out, to the study's analysis folder.  An existing proxies.csv is replaced
only if this command wrote it, or with --overwrite.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.arguments import positive_int
from harness.outputs import check_output_files, check_output_folder, check_study_outputs
from harness.proxy_table import KEY_COLUMNS, TABLE_FILE, is_proxy_table
from harness.studyfolder import ANALYSIS_DIR, STUDY_FILE
from snas.catalogue import genotype_name, resolve_genotype
from snas.errors import UserInputError
from snas.genotype import genotype_id
from snas.registry import UnknownName
from snas.spaces import genotype_from_dict, space_of
from snas.spaces.base import AnyGenotype, EvalNetwork, NetworkFamily

if TYPE_CHECKING:
    import pandas as pd

    from harness.analysis.results import StudyResults, TrialRecord
    from snas.data.config import DataConfig
    from snas.proxies.batch import ProxyBatch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("genotypes", nargs="+", metavar="GENOTYPE",
                        help="catalogue name, genotype JSON file (or the run or trial folder holding "
                             "genotype.json), Genotype(...) text, |op~input|+... string, or a study folder (search "
                             "or retrain)")
    parser.add_argument("--proxy", action="append", dest="proxies", metavar="NAME",
                        help="a proxy to score (repeat for several; default: every proxy)")
    parser.add_argument("--dataset", default="digits",
                        help="the images for genotypes given by name (a study uses its own data)")
    parser.add_argument("--layers", type=positive_int, help="cells of the scored networks (default: see above)")
    parser.add_argument("--init-channels", dest="init_channels", type=positive_int,
                        help="width C of the scored networks' first cells (default: see above)")
    parser.add_argument("--batch-size", dest="batch_size", type=positive_int, default=64,
                        help="images in the one batch (zero-cost-nas's NAS-Bench-201 default)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the batch and the networks' weights")
    parser.add_argument("--out", type=Path, help="folder to write proxies.csv in")
    parser.add_argument("--overwrite", action="store_true", help="replace a proxies.csv this command did not write")


@dataclass(frozen=True)
class Candidate:
    """A genotype to score, with the data and scale its source suggests."""

    name: str
    genotype: AnyGenotype
    data: DataConfig
    trials: tuple[str, ...] = ()
    layers: int | None = None
    """A search study's evaluation scale or a retrain study's network; ``None``: the space's
    evaluation network."""
    channels: int | None = None
    family: NetworkFamily | None = None
    """A retrain study's network family; ``None``: the space's evaluation network's."""


def run(args: argparse.Namespace) -> int:
    from snas.proxies import PROXIES, check_defined

    names = _proxy_names(args.proxies, PROXIES)
    if args.batch_size < 2:
        raise UserInputError(f"--batch-size must be at least 2 (BatchNorm's batch statistics and NASWOT's kernel "
                             f"compare images), got {args.batch_size}")
    candidates = [candidate for spec in args.genotypes for candidate in _candidates(spec, args.dataset)]
    for candidate in candidates:
        for name in names:
            check_defined(PROXIES[name], candidate.genotype)
    table_path = _table_path(args)
    batches: dict[str, ProxyBatch] = {}
    rows = [_row(candidate, names, args, batches) for candidate in candidates]
    table = _table(rows, names)
    if table_path is not None:
        from snas.atomic import atomic_write_text

        table_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(table_path, table.to_csv(index=False))
    print(_text(table, names, rows, PROXIES))
    if table_path is not None:
        print(f"wrote {table_path}")
    return 0


def _proxy_names(chosen: list[str] | None, proxies: Any) -> list[str]:
    try:
        return list(dict.fromkeys(proxies.check(name) for name in chosen)) if chosen else list(proxies)
    except UnknownName as err:
        raise UserInputError(f"--proxy: {err}") from None


def is_study_folder(spec: str) -> bool:
    return (Path(spec).expanduser() / STUDY_FILE).is_file()


def _candidates(spec: str, dataset: str) -> list[Candidate]:
    if is_study_folder(spec):
        return _study_candidates(Path(spec).expanduser())
    from snas.data.config import DataConfig
    from snas.data.sets import DATASETS

    genotype = resolve_genotype(spec)
    try:
        DATASETS.check(dataset)
    except UnknownName as err:
        raise UserInputError(f"--dataset: {err}") from None
    return [Candidate(genotype_name(spec), genotype, DataConfig(dataset=dataset))]


def _study_candidates(folder: Path) -> list[Candidate]:
    """One candidate per distinct (genotype, data, scale) among the study's ranked trials, in the
    order of their first trial: a search study's derived genotypes at its evaluation scale
    (eval_layers, eval_channels), a retrain study's retrained genotypes in the network they
    were trained in (what the predictor leaderboard compares them on)."""
    from harness.analysis.results import load_results

    results = load_results(folder)
    of_trial = _searched if results.study.trial_kind.derives_genotype else _retrained
    found: dict[tuple[str, str, int, int], Candidate] = {}
    for trial in results.trials:
        candidate = of_trial(results, trial) if trial.ranked else None
        if candidate is None:
            continue
        key = (genotype_id(candidate.genotype), candidate.data.model_dump_json(), candidate.layers or 0,
               candidate.channels or 0)
        if key in found:
            found[key] = dataclasses.replace(found[key], trials=(*found[key].trials, *candidate.trials))
        else:
            found[key] = candidate
    if not found:
        raise UserInputError(f"no trial of {folder} has written an intact genotype yet; nothing to score")
    return list(found.values())


def _searched(results: StudyResults, trial: TrialRecord) -> Candidate | None:
    """The genotype a search trial derived, at the study's evaluation scale, named by the trial
    (the first to find it, when several did: ``trials`` lists them all)."""
    from snas.data.config import DataConfig

    settings = results.settings_of(trial.trial_id)
    if trial.genotype_json is None or settings is None:
        return None
    return Candidate(trial.trial_id, genotype_from_dict(trial.genotype_json),
                     DataConfig.model_validate(settings["data"]), (trial.trial_id,), settings["eval_layers"],
                     settings["eval_channels"])


def _retrained(results: StudyResults, trial: TrialRecord) -> Candidate | None:
    """The genotype a retrain trial trained, in its network, under the study's label for it."""
    from pydantic import ValidationError

    from snas.config import RetrainConfig

    try:
        config = results.study.trial_config_of(trial.config)
    except (UserInputError, ValidationError):  # named as the trial's damage by the analysis
        return None
    if not isinstance(config, RetrainConfig):
        return None
    label = trial.config.get(f"{results.study.trial_kind.section}.genotype", results.study.name)
    return Candidate(str(label), config.resolved_genotype, config.data, (trial.trial_id,), config.layers,
                     config.init_channels, config.network)


def _table_path(args: argparse.Namespace) -> Path | None:
    """Where the table goes (checked before any scoring); ``None``: printed only."""
    if args.out is not None:
        check_output_folder(args.out)
        path = args.out / TABLE_FILE
        check_output_files([path], overwrite=args.overwrite, ours=is_proxy_table, flag=None)
        return path
    studies = [Path(spec).expanduser() for spec in args.genotypes if is_study_folder(spec)]
    if len(studies) != 1:
        return None
    check_study_outputs(studies[0], [ANALYSIS_DIR])
    path = studies[0] / ANALYSIS_DIR / TABLE_FILE
    check_output_files([path], overwrite=args.overwrite, ours=is_proxy_table, flag=None)
    return path


def _network(candidate: Candidate, batch: ProxyBatch, args: argparse.Namespace) -> EvalNetwork:
    from snas.data.loading import check_image_size

    space = space_of(candidate.genotype)
    network = space.evaluation_network("cifar10")
    layers = args.layers or candidate.layers or network.layers
    channels = args.init_channels or candidate.channels or network.channels
    if channels % 2:
        raise UserInputError(f"--init-channels must be even (reduction cells split channels in two), got {channels}")
    network = dataclasses.replace(network, family=candidate.family or network.family, layers=layers,
                                  channels=channels, image_size=batch.side,
                                  in_channels=batch.channels, num_classes=batch.num_classes)
    check_image_size(batch.side, batch.side, space.halvings(network.family, layers),
                     f"the {space.describe_child(network.family, layers)}", "give fewer --layers")
    return network


def _check_fits(genotype: AnyGenotype, network: EvalNetwork, batch_size: int) -> None:
    import torch

    from snas.memory import check_fits

    space = space_of(genotype)
    needed = space.child_memory(genotype, auxiliary=False, **dataclasses.asdict(network))
    check_fits(needed.training_bytes(batch_size, optimizer_slots=0), torch.device("cpu"),
               f"a {space.describe_child(network.family, network.layers)} with C={network.channels} at batch "
               f"{batch_size}", "use fewer --layers, --init-channels or a smaller --batch-size")


def _row(candidate: Candidate, names: list[str], args: argparse.Namespace,
         batches: dict[str, ProxyBatch]) -> dict[str, Any]:
    from snas.proxies import ProxySetup, timed_scores
    from snas.proxies.batch import proxy_batch

    key = candidate.data.model_dump_json()
    if key not in batches:
        batches[key] = proxy_batch(candidate.data, seed=args.seed, size=args.batch_size)
    batch = batches[key]
    network = _network(candidate, batch, args)
    _check_fits(candidate.genotype, network, args.batch_size)
    setup = ProxySetup(network, batch.images, batch.labels, args.seed)
    scores = timed_scores(names, candidate.genotype, setup)
    return {
        "genotype": candidate.name, "genotype_id": genotype_id(candidate.genotype),
        "space": candidate.genotype.space, "trials": " ".join(candidate.trials),
        "dataset": candidate.data.dataset, "layers": network.layers, "channels": network.channels,
        "input": f"{network.in_channels}x{network.image_size}x{network.image_size}",
        "batch_size": args.batch_size, "seed": args.seed,
        **{name: score for name, (score, _) in scores.items()},
        "_seconds": {name: seconds for name, (_, seconds) in scores.items()},
    }


def _table(rows: list[dict[str, Any]], names: list[str]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame([{key: row[key] for key in (*KEY_COLUMNS, *names)} for row in rows])


def _text(table: pd.DataFrame, names: list[str], rows: list[dict[str, Any]], proxies: Any) -> str:
    shown = table[["genotype", "genotype_id", "layers", "channels", *names]].copy()
    for name in names:
        shown[name] = shown[name].map(lambda value: f"{value:.4g}")
    lines = [shown.to_string(index=False), ""]
    first = rows[0]
    lines.append(f"one batch of {first['batch_size']} {first['dataset']} training images and the networks' weights "
                 f"drawn from seed {first['seed']}; untrained networks, auxiliary head excluded; higher is better")
    for name in names:
        mean_ms = 1000 * sum(row["_seconds"][name] for row in rows) / len(rows)
        lines.append(f"  {name}: {proxies[name].title} ({mean_ms:.0f} ms per genotype)")
    return "\n".join(lines)
