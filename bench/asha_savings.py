"""How many epochs ASHA saves on a temperature sweep, and whether it still finds the best.

A grid of 12 SNAS searches on digits (initial temperature 0.5, 1, 2, 4 × anneal rate 0.5,
0.7, 0.9; 27 epochs each; the quickstart's tiny supernet: 3 cells, C=8, batch 32) runs
twice through ``snas-study run``: to completion (FIFO) and under ASHA (grace period 3,
reduction factor 3: rungs at 3 and 9 epochs).  Searches are deterministic on the CPU, so
a configuration ASHA lets finish reaches exactly the accuracy it reaches under FIFO.
Prints one JSON line per run and a summary with ``epoch_fraction`` = ASHA's epochs /
FIFO's (target ≤ 0.40) and ``best_gap`` = FIFO's best − ASHA's best search_val_acc (in
points; "within 1 point" means ≤ 1).

Why these settings: a rung can only judge what the epochs before it show, and an
earlier version of this benchmark (C=4, 9 epochs, a rung after epoch 1) judged trials
whose accuracy was still at chance.  ``rung_spearman`` gives, for every epoch, the rank
correlation across trials of search_val_acc then and at the end: how much a rung there
can know.

Both studies start the grid in the harness's default order, shuffled with seed 0:
asynchronous halving judges a trial only against those that reached the rung before it,
so a grid listed from worst to best values (as this one is: high temperatures win) would
pass nearly every trial.  Because the searches are deterministic, ASHA's rule can also
be replayed on the FIFO curves for other grace periods and reduction factors; each
``what_if`` line gives a setting's epoch fraction and gap for trials arriving one at a
time in the study's order (it starts them two at a time) and in Tune's listed order, and
averaged over random arrival orders, for search_val_acc and for its 3-epoch mean
search_val_acc_avg3 (each judged by itself).  The ``curves`` line keeps every FIFO
trial's settings and per-epoch search_val_acc; ``--replay RESULTS_JSON`` redoes the
replays from it without running a study.

    python bench/asha_savings.py
    python bench/asha_savings.py --replay results/bench/2026-11-23.json
    python bench/asha_savings.py --objective search_val_acc_avg3
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit, header  # noqa: E402
from harness.kinds import KINDS  # noqa: E402
from harness.study import validate_study  # noqa: E402
from snas.metrics import trailing_mean  # noqa: E402

STUDY = {
    "data": {"dataset": "digits", "split": {"train_fraction": 0.5}},
    "search": {"method": "snas", "layers": 3, "init_channels": 8, "epochs": 27, "batch_size": 32, "drop_path": 0.0,
               "temperature": {"schedule": "exponential", "min": 0.03},
               "arch": {"name": "adam", "lr": 0.003, "weight_decay": 0.001},
               "eval_layers": 5, "eval_channels": 8, "device": "cpu"},
    "space": {"search.temperature.initial": {"grid": [0.5, 1.0, 2.0, 4.0]},
              "search.temperature.anneal_rate": {"grid": [0.5, 0.7, 0.9]}},
    "resources": {"cpu": 1},
}
SCHEDULERS = {"fifo": {"name": "fifo"}, "asha": {"name": "asha", "grace_period": 3, "reduction_factor": 3}}
RANDOM_ORDERS = 200


def scores(curves: pd.DataFrame) -> pd.DataFrame:
    """search_val_acc per trial (rows, in id order = the order the study started them) and epoch."""
    return curves.pivot(index="trial_id", columns="training_iteration", values="search_val_acc")


def replay_asha(curves: pd.DataFrame, grace: int, rf: int, max_t: int,
                order: list[int] | None = None) -> dict[str, float]:
    """ASHA's stop rule applied to complete curves, trials arriving in ``order`` (default:
    id order): at each rung a trial stops unless its score reaches the top 1/rf of the
    scores recorded there before it."""
    score = scores(curves)
    arrivals = [score.index[i] for i in order] if order is not None else list(score.index)
    reached = {trial: max_t for trial in arrivals}
    rung = grace
    while rung < max_t:
        recorded: list[float] = []
        for trial in arrivals:
            if reached[trial] < rung:
                continue
            value = float(score.loc[trial, rung])
            if recorded and value < np.percentile(recorded, (1 - 1 / rf) * 100):
                reached[trial] = rung
            recorded.append(value)
        rung *= rf
    final = {trial: float(score.loc[trial, epochs]) for trial, epochs in reached.items()}
    winner = score[max_t].idxmax()
    return {"epoch_fraction": sum(reached.values()) / (len(reached) * max_t),
            "best_gap": float(score[max_t].max()) - max(final.values()),
            "winner_rank_at_first_rung": int(score[grace].rank(ascending=False)[winner])}


def replay_random_orders(curves: pd.DataFrame, grace: int, rf: int, max_t: int) -> dict[str, float]:
    """:func:`replay_asha` averaged over seeded random arrival orders."""
    rng = np.random.default_rng(0)
    trials = curves["trial_id"].nunique()
    runs = [replay_asha(curves, grace, rf, max_t, list(rng.permutation(trials))) for _ in range(RANDOM_ORDERS)]
    return {"mean_epoch_fraction": float(np.mean([r["epoch_fraction"] for r in runs])),
            "p_within_1_point": float(np.mean([r["best_gap"] <= 1.0 for r in runs]))}


def rung_spearman(curves: pd.DataFrame, max_t: int) -> dict[int, float]:
    """Rank correlation, across trials, of search_val_acc after each epoch with the final one."""
    score = scores(curves)
    return {epoch: float(score[epoch].corr(score[max_t], method="spearman")) for epoch in score.columns}


def listed_order(settings: pd.DataFrame) -> list[int]:
    """Positions in ``settings`` (one row per trial, in id order) of the trials in the order
    Tune lists the grid."""
    study = validate_study({**STUDY, "name": "order", "scheduler": SCHEDULERS["fifo"]})
    position = {tuple(row): i for i, row in enumerate(settings[list(STUDY["space"])].itertuples(index=False))}
    return [position[tuple(combo[key] for key in STUDY["space"])] for combo in study.grid_combinations()]


def run_study(kind: str, folder: Path, objective: str = "search_val_acc") -> tuple[Path, float]:
    study = {**STUDY, "name": f"sweep-{kind}", "scheduler": SCHEDULERS[kind],
             "objective": {"metric": objective, "mode": "max"}, "storage": {"path": str(folder / "results")}}
    path = folder / f"{kind}.yaml"
    path.write_text(yaml.safe_dump(study))
    env = {**os.environ, "RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", "disabled"),
           "SNAS_STUDY_RAY_TMPDIR": tempfile.mkdtemp(prefix="r", dir="/tmp")}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "harness.cli", "run", str(path), "--quiet"], env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"the {kind} study failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return folder / "results" / f"sweep-{kind}" / "analysis", seconds


def smoothed(curves: pd.DataFrame) -> pd.DataFrame:
    """The curves with search_val_acc replaced by search_val_acc_avg3 as the search loop
    reports it (:func:`snas.metrics.trailing_mean` after each epoch)."""
    ordered = curves.sort_values(["trial_id", "training_iteration"])
    mean = ordered.groupby("trial_id")["search_val_acc"].transform(
        lambda s: [trailing_mean(s.iloc[:epoch].tolist()) for epoch in range(1, len(s) + 1)])
    return ordered.assign(search_val_acc=mean)


def curves_from_record(path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The FIFO curves and trial settings kept in the ``curves`` line of a results file."""
    records = json.loads(path.read_text())["records"]
    kept = [r["curves"] for r in records if r.get("bench") == "asha_savings" and "curves" in r]
    if not kept:
        raise SystemExit(f"{path} holds no asha_savings curves record")
    trials = kept[-1]
    curves = pd.DataFrame([{"trial_id": trial, "training_iteration": epoch, "search_val_acc": value}
                           for trial, entry in trials.items()
                           for epoch, value in enumerate(entry["search_val_acc"], start=1)])
    settings = pd.DataFrame({trial: {k: v for k, v in entry.items() if k != "search_val_acc"}
                             for trial, entry in trials.items()}).T.sort_index()
    return curves, settings


def emit_replays(base: dict, curves: pd.DataFrame, settings: pd.DataFrame) -> None:
    """Rank correlations and ASHA's rule replayed on the FIFO curves, for the study's
    objective and for its 3-epoch mean."""
    epochs = STUDY["search"]["epochs"]
    listed = listed_order(settings)
    for metric, table in (("search_val_acc", curves), ("search_val_acc_avg3", smoothed(curves))):
        emit({**base, "metric": metric,
              "rung_spearman": {str(k): round(v, 3) for k, v in rung_spearman(table, epochs).items()}})
        for grace in (1, 2, 3):
            for rf in (2, 3, 4):
                as_listed = replay_asha(table, grace, rf, epochs, listed)
                emit({**base, "what_if": True, "metric": metric, "grace_period": grace, "reduction_factor": rf,
                      **replay_asha(table, grace, rf, epochs),
                      "listed_epoch_fraction": as_listed["epoch_fraction"],
                      "listed_best_gap": as_listed["best_gap"],
                      **replay_random_orders(table, grace, rf, epochs)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objective", default="search_val_acc", choices=["search_val_acc", "search_val_acc_avg3"],
                        help="the metric ASHA and the ranking use (default: search_val_acc)")
    parser.add_argument("--replay", type=Path, metavar="RESULTS_JSON",
                        help="run no studies: redo the replays from the curves kept in an earlier results file")
    args = parser.parse_args()
    base = header("asha_savings")
    if args.replay:
        curves, settings = curves_from_record(args.replay)
        emit_replays(base, curves, settings)
        return
    with tempfile.TemporaryDirectory() as folder:
        fifo_dir, fifo_s = run_study("fifo", Path(folder), args.objective)
        asha_dir, asha_s = run_study("asha", Path(folder), args.objective)
        fifo, asha = pd.read_csv(fifo_dir / "trials.csv"), pd.read_csv(asha_dir / "trials.csv")
        curves = pd.read_csv(fifo_dir / "curves.csv")
    names = KINDS["search"].short_names(list(STUDY["space"]))
    settings = (fifo.set_index("trial_id").sort_index()[list(names.values())]
                .rename(columns={v: k for k, v in names.items()}))
    base["objective"] = args.objective
    for kind, table, seconds in (("fifo", fifo, fifo_s), ("asha", asha, asha_s)):
        emit({**base, "scheduler": kind, "trials": len(table), "epochs": int(table["epochs"].sum()),
              "stopped_early": int(table["stopped_early"].sum()), "best": float(table["score"].max()),
              "seconds": seconds})
    gap = float(fifo["score"].max() - asha["score"].max())
    emit({**base, "summary": True, "epoch_fraction": asha["epochs"].sum() / fifo["epochs"].sum(),
          "best_gap": gap, "within_1_point": gap <= 1.0, "time_fraction": asha_s / fifo_s, "target": 0.40})
    emit({**base, "curves": {trial: {**settings.loc[trial].to_dict(), "search_val_acc": [round(v, 3) for v in row]}
                             for trial, row in scores(curves).iterrows()}})
    emit_replays(base, curves, settings)


if __name__ == "__main__":
    main()
