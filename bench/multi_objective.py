"""Accuracy against MACs on digits: a λ × penalty grid against NSGA-II and multi-objective TPE.

Each searcher runs the same number of trials of the same epochs over the same settings
(SNAS's resource constraint: λ and the penalty estimator), once per replicate seed (the
search's seed and the searcher's), as a study of two objectives (``child_val_acc`` max,
``eval_macs_m`` min).  The grid tries ``--trials`` fixed points: λ geometric over the range
crossed with the estimators; the Optuna samplers search λ log-uniformly over the same range
and the estimator as a choice.  Every front is measured against one reference point, the
worst value any finished trial of any run reached on each axis (each study's own default
would make their hypervolumes incomparable), and each searcher's hypervolumes over the
seeds give a mean with its 95% Student-t interval.

Both samplers start at random (TPE's start-up trials, NSGA-II's first generation), from
Optuna's ``RandomSampler`` with the same seed: at Optuna's defaults (10 and 50) a study of
a dozen trials never leaves that start, and the two run the very same trials.  So the
benchmark gives NSGA-II a small population and TPE few start-up trials (``--population``,
``--startup``; 4 each against the default 12 trials: both search on their own after a
third of the budget), and prints how many settings the two ran alike on each seed.

A run whose study file is what this benchmark writes again is reused; one whose file
differs (another budget) is run again over it.

  python bench/multi_objective.py                     # 12 trials × 3 epochs × 3 seeds per searcher
  python bench/multi_objective.py --trials 4 --epochs 1 --seeds 1   # a smoke run
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness.analysis.front import hypervolume, minimised, non_dominated  # noqa: E402
from harness.analysis.replicates import INTERVAL, summarize  # noqa: E402
from harness.cli import main  # noqa: E402

LAMBDAS = (1.0e-4, 1.0e-1)
"""The range of λ every searcher covers."""
ESTIMATORS = ("reparametrization", "discrete")
OBJECTIVES = [{"metric": "child_val_acc", "mode": "max"}, {"metric": "eval_macs_m", "mode": "min"}]
SEARCHERS = ("grid", "nsga2", "tpe")
SETTINGS = ("lambda", "penalty")
"""The ``trials.csv`` columns of the two space entries (``search.resource.lambda``, ``.method``)."""


def study(name: str, searcher: str, seed: int, args: argparse.Namespace) -> dict:
    """One run: ``args.trials`` trials of ``args.epochs`` epochs, seeded by ``seed``."""
    trials, epochs = args.trials, args.epochs
    per_estimator = trials // len(ESTIMATORS)
    grid_lambdas = np.geomspace(*LAMBDAS, per_estimator).round(6).tolist()
    space = ({"search.resource.lambda": {"grid": grid_lambdas}, "search.resource.method": {"grid": list(ESTIMATORS)}}
             if searcher == "grid" else
             {"search.resource.lambda": {"loguniform": list(LAMBDAS)},
              "search.resource.method": {"choice": list(ESTIMATORS)}})
    start = {"grid": {}, "nsga2": {"population_size": args.population}, "tpe": {"startup_trials": args.startup}}
    chosen = ({"name": "grid", "seed": seed} if searcher == "grid" else
              {"name": "optuna", "sampler": searcher, "seed": seed, "num_samples": trials, **start[searcher]})
    return {
        "name": name,
        "data": {"dataset": "digits", "split": {"train_fraction": 0.5}},
        "search": {"method": "snas", "layers": 3, "init_channels": 8, "epochs": epochs, "batch_size": 32,
                   "drop_path": 0.0, "resource": {"method": "reparametrization"}, "eval_layers": 8,
                   "eval_channels": 16, "seed": seed, "device": "cpu"},
        "space": space, "objective": OBJECTIVES, "searcher": chosen, "scheduler": {"name": "fifo"},
        "resources": {"cpu": 1}, "storage": {"path": str(args.root)},
    }


def finished_points(folder: Path) -> np.ndarray:
    """Each finished trial's (child_val_acc, eval_macs_m)."""
    trials = pd.read_csv(folder / "analysis" / "trials.csv")
    done = trials[~trials["stopped_early"].astype(bool)].dropna(subset=["child_val_acc", "eval_macs_m"])
    return done[["child_val_acc", "eval_macs_m"]].to_numpy(float)


def settings_run(folder: Path) -> set[tuple]:
    """The distinct (λ, estimator) settings the run's trials ran."""
    trials = pd.read_csv(folder / "analysis" / "trials.csv")
    return set(trials[list(SETTINGS)].itertuples(index=False, name=None))


def run(name: str, searcher: str, seed: int, args: argparse.Namespace) -> bool:
    """Write the run's study file and run it, unless a run of that very file finished; False
    when the run failed."""
    path = args.root / f"{name}.yaml"
    text = yaml.safe_dump(study(name, searcher, seed, args))
    finished = (args.root / name / "analysis" / "trials.csv").exists()
    if finished and path.exists() and path.read_text() == text:
        return True
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return main(["run", str(path), "--quiet", *(["--overwrite"] if (args.root / name).exists() else [])]) == 0


def main_(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--population", type=int, default=4, help="NSGA-II's population_size")
    parser.add_argument("--startup", type=int, default=4, help="TPE's startup_trials")
    parser.add_argument("--root", type=Path, default=Path("results/bench/multi_objective"))
    args = parser.parse_args(argv)
    points: dict[tuple[str, int], np.ndarray] = {}
    ran: dict[tuple[str, int], set[tuple]] = {}
    for seed in range(args.seeds):
        for searcher in SEARCHERS:
            name = f"mo-{searcher}-s{seed}"
            if not run(name, searcher, seed, args):
                return 1
            points[searcher, seed] = finished_points(args.root / name)
            ran[searcher, seed] = settings_run(args.root / name)
    modes = [o["mode"] for o in OBJECTIVES]
    every = np.vstack(list(points.values()))
    reference = minimised(every, modes).max(axis=0)  # the worst finished value on each axis
    volumes = {key: hypervolume(minimised(p, modes)[non_dominated(minimised(p, modes))], reference)
               for key, p in points.items()}
    shown = minimised(reference[None, :], modes)[0]
    print(f"hypervolume against (child_val_acc {shown[0]:g}, eval_macs_m {shown[1]:g}); "
          f"{args.trials} trials × {args.epochs} epochs, {args.seeds} seeds; NSGA-II population "
          f"{args.population}, TPE start-up {args.startup}; mean and {INTERVAL}")
    rows = {}
    for searcher in SEARCHERS:
        values = [volumes[searcher, seed] for seed in range(args.seeds)]
        spread = summarize(values)
        rows[searcher] = {"per_seed": values, "mean": spread.mean, "low": spread.low, "high": spread.high}
        print(f"{searcher:6s} {spread.mean:8.4g}  [{spread.low:.4g}, {spread.high:.4g}]  per seed "
              + ", ".join(f"{v:.4g}" for v in values))
    shared = [len(ran["nsga2", seed] & ran["tpe", seed]) for seed in range(args.seeds)]
    print("(λ, estimator) settings both nsga2 and tpe ran, per seed: "
          + ", ".join(f"{n} of {len(ran['nsga2', seed])} and {len(ran['tpe', seed])}" for seed, n in enumerate(shared)))
    print(json.dumps({"reference": shown.tolist(), "searchers": rows, "shared_settings": shared}))
    return 0


if __name__ == "__main__":
    sys.exit(main_())
