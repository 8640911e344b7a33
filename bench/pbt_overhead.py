"""What one PBT exploit costs a trial, against the time of an epoch, at the quickstart's scale.

At an exploit the donor's state goes through a checkpoint: the donor writes it (with its
``lineage.json``) and the copying trial rebuilds its search from it under the perturbed
settings (:meth:`snas.run.EpochRun.restore` with ``config``: data, networks, optimisers,
state, the schedule re-anchored).  This times that round trip in one process, one torch
thread, against the median epoch of the same search, and prints the ratio.  Tune's own
part (pausing the trial and starting it again on an actor) is not included: it depends on
the cluster, not on the search.

    python bench/pbt_overhead.py [--epochs 3] [--copies 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit, header  # noqa: E402
from harness.lineage import Lineage  # noqa: E402
from harness.study import load_study  # noqa: E402
from snas.search import Search  # noqa: E402

QUICKSTART = Path(__file__).resolve().parent.parent / "studies" / "quickstart.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3, help="epochs timed (after one untimed)")
    parser.add_argument("--copies", type=int, default=5, help="exploits timed")
    args = parser.parse_args()
    torch.set_num_threads(1)
    study = load_study(QUICKSTART)
    config = study.trial_config_of({"search.epochs": args.epochs + 1})
    perturbed = config.model_copy(update={"temperature": config.temperature.model_copy(
        update={"initial": config.temperature.initial * 1.2})})
    search = Search(config)
    search.run_epoch()
    epochs = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        search.run_epoch()
        epochs.append(time.perf_counter() - start)
    copies, saves = [], []
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = Path(folder)
        for _ in range(args.copies):
            start = time.perf_counter()
            search.save(checkpoint / "checkpoint.pt")
            Lineage("donor").save(checkpoint)
            saved = time.perf_counter()
            Search.restore(checkpoint / "checkpoint.pt", config=perturbed)
            saves.append(saved - start)
            copies.append(time.perf_counter() - start)
        size = (checkpoint / "checkpoint.pt").stat().st_size
    epoch_s, copy_s = statistics.median(epochs), statistics.median(copies)
    emit({**header("pbt_overhead"), "epoch_s": epoch_s, "copy_s": copy_s, "save_s": statistics.median(saves),
          "restore_s": copy_s - statistics.median(saves), "copy_per_epoch": copy_s / epoch_s,
          "checkpoint_bytes": size})
    print(f"one exploit (checkpoint written and restored under new settings): {copy_s:.3f} s; "
          f"one epoch: {epoch_s:.3f} s; ratio {copy_s / epoch_s:.3f} "
          f"({copy_s / epoch_s / 2:.1%} of a 2-epoch perturbation interval)")


if __name__ == "__main__":
    main()
