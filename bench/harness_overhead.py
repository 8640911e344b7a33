"""What the Ray Tune harness costs on top of the searches it runs.

The same 16 tiny searches (seeds 0..15, 10 epochs each, one CPU thread each) run three
ways in one invocation:

* ``loop``: a plain Python loop in this process, one search after the other, with as many
  torch threads as the machine has cores;
* ``pool``: a plain pool of one process per core, each running searches on one thread --
  the same parallelism the harness uses, none of its machinery;
* ``harness``: ``snas-study run`` of a study with those 16 trials (FIFO, one CPU per
  trial, a checkpoint every epoch, ``reuse_actors``), as a user runs it, start to exit,
  Ray start-up and the analysis at the end included.

Prints one JSON line per way and a summary with ``overhead`` = harness / the faster plain
way (target ≤ 1.25) and ``first_result_s``, the time from launching ``snas-study run`` to
the first trial result on disk.

    python bench/harness_overhead.py [--trials 16] [--epochs 10]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit, header  # noqa: E402

SEARCH = {"method": "snas", "layers": 3, "init_channels": 4, "batch_size": 32, "drop_path": 0.0,
          "eval_layers": 5, "eval_channels": 8, "device": "cpu"}
DATA = {"dataset": "synthetic", "synthetic": {"classes": 4, "image_size": 8, "train_images": 512, "test_images": 64}}


def _search(seed: int, epochs: int) -> None:
    from snas.config import SearchConfig
    from snas.search import Search

    search = Search(SearchConfig.model_validate({**SEARCH, "epochs": epochs, "seed": seed, "data": DATA}))
    while not search.finished:
        search.run_epoch()


def _pool_worker(args: tuple[int, int]) -> None:
    torch.set_num_threads(1)
    _search(*args)


def run_loop(trials: int, epochs: int) -> float:
    torch.set_num_threads(os.cpu_count() or 1)
    start = time.perf_counter()
    for seed in range(trials):
        _search(seed, epochs)
    return time.perf_counter() - start


def run_pool(trials: int, epochs: int) -> float:
    start = time.perf_counter()
    with mp.get_context("spawn").Pool(os.cpu_count() or 1) as pool:
        pool.map(_pool_worker, [(seed, epochs) for seed in range(trials)], chunksize=1)
    return time.perf_counter() - start


def run_harness(trials: int, epochs: int, folder: Path) -> tuple[float, float, int]:
    study = {
        "name": "overhead", "data": DATA, "search": {**SEARCH, "epochs": epochs},
        "space": {"search.seed": {"grid": list(range(trials))}},
        "scheduler": {"name": "fifo"}, "resources": {"cpu": 1}, "storage": {"path": str(folder / "results")},
    }
    path = folder / "overhead.yaml"
    path.write_text(yaml.safe_dump(study))
    env = {**os.environ, "RAY_AUTH_MODE": os.environ.get("RAY_AUTH_MODE", "disabled"),
           "SNAS_STUDY_RAY_TMPDIR": tempfile.mkdtemp(prefix="r", dir="/tmp")}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "run", str(path), "--quiet"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = None
    experiment = folder / "results" / "overhead"
    while proc.poll() is None:
        if first is None and any(p.stat().st_size > 0 for p in experiment.glob("trial_*/result.json")):
            first = time.perf_counter() - start
        time.sleep(0.05)
    total = time.perf_counter() - start
    reported = sum(len(p.read_text().splitlines()) for p in experiment.glob("trial_*/result.json"))
    if proc.returncode != 0 or reported != trials * epochs:
        raise SystemExit(f"the harness run failed (exit {proc.returncode}, {reported} results)")
    return total, first if first is not None else total, reported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        harness_s, first_s, reported = run_harness(args.trials, args.epochs, Path(folder))
    loop_s = run_loop(args.trials, args.epochs)
    pool_s = run_pool(args.trials, args.epochs)
    base = {**header("harness_overhead"), "trials": args.trials, "epochs": args.epochs}
    for way, seconds in (("loop", loop_s), ("pool", pool_s), ("harness", harness_s)):
        emit({**base, "way": way, "seconds": seconds})
    emit({**base, "summary": True, "overhead": harness_s / min(loop_s, pool_s), "first_result_s": first_s,
          "harness_s": harness_s, "loop_s": loop_s, "pool_s": pool_s, "results_reported": reported,
          "target": 1.25})


if __name__ == "__main__":
    main()
