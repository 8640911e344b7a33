"""Time one CIFAR-shaped search epoch and plan a full CIFAR-10 search from it.

The data are synthetic with CIFAR-10's shape and size (50,000 training images of 3×32×32,
10 classes, 10,000 test images; half the training set trains, half validates, as the
search's default split), so a machine that cannot download CIFAR-10 times what a search of
it would do: ``Search.run_epoch()`` -- 390 training steps of batch 64 at the paper's 8 cells,
C = 16, then the evaluation passes -- with the settings given.  The first epoch of a compiled
search includes compiling; the script times a second epoch when ``--epochs 2`` is given and
plans with the last one (``first_epoch_extra_s``: what the first cost more, the
compile when compiled, warm-up otherwise).  Prints one JSON line per epoch and a plan line::

    {"plan_epochs": 150, "epoch_s": ..., "plan_hours": ..., "first_epoch_extra_s": ...}

    python bench/search_epoch.py --device cuda --bf16 --compile reduce-overhead --epochs 2
    python bench/search_epoch.py --layers 3 --init-channels 4 --train-images 256 --test-images 64  # CPU dry run
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit, header  # noqa: E402
from snas.compilation import COMPILE_MODES  # noqa: E402
from snas.config import SearchConfig  # noqa: E402
from snas.methods import METHODS  # noqa: E402
from snas.search import Search  # noqa: E402

CIFAR10 = {"classes": 10, "image_size": 32, "train_images": 50_000, "test_images": 10_000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", default="snas", choices=sorted(METHODS))
    parser.add_argument("--device", default="auto")
    parser.add_argument("--bf16", action="store_true")
    parser.add_argument("--no-channels-last", dest="channels_last", action="store_false")
    parser.add_argument("--compile", default="off", choices=COMPILE_MODES)
    parser.add_argument("--epochs", type=int, default=1, help="epochs to time (the plan uses the last)")
    parser.add_argument("--plan-epochs", type=int, default=150, help="the full search's epochs (SNAS: 150)")
    parser.add_argument("--layers", type=int, default=8, help="cells (the paper's search: 8)")
    parser.add_argument("--init-channels", type=int, default=16, help="first cell's channels (paper: 16)")
    parser.add_argument("--train-images", type=int, default=CIFAR10["train_images"])
    parser.add_argument("--test-images", type=int, default=CIFAR10["test_images"])
    args = parser.parse_args()
    synthetic = {**CIFAR10, "train_images": args.train_images, "test_images": args.test_images}
    config = SearchConfig(method=args.method, epochs=args.plan_epochs, device=args.device, bf16=args.bf16,
                          layers=args.layers, init_channels=args.init_channels,
                          channels_last=args.channels_last, compile=args.compile,
                          data={"dataset": "synthetic", "synthetic": synthetic})
    start = time.perf_counter()
    search = Search(config)
    build_s = time.perf_counter() - start
    epoch_times = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        metrics = search.run_epoch()
        epoch_times.append(time.perf_counter() - start)
        emit({**header("search_epoch"), "method": args.method, "device": str(search.device), "bf16": args.bf16,
              "channels_last": args.channels_last, "compile": args.compile, "epoch": metrics["epoch"],
              "epoch_s": epoch_times[-1], "steps": search.data.train.train_steps(),
              "images_per_s": metrics["images_per_s"], "layers": config.layers,
              "init_channels": config.init_channels, "batch_size": config.batch_size, **synthetic})
    epoch_s = epoch_times[-1]
    emit({**header("search_epoch"), "plan": True, "method": args.method, "device": str(search.device),
          "compile": args.compile, "bf16": args.bf16, "plan_epochs": args.plan_epochs, "build_s": build_s,
          "epoch_s": epoch_s, "plan_hours": (build_s + sum(epoch_times[:1]) + (args.plan_epochs - 1) * epoch_s) / 3600,
          "first_epoch_extra_s": epoch_times[0] - epoch_s if len(epoch_times) > 1 else None})


if __name__ == "__main__":
    main()
