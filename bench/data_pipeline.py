"""Images per second of our training-batch pipeline against torchvision transforms in a DataLoader.

All variants serve the same in-memory data: ``--images`` random uint8 32×32 RGB images
with labels, in batches of ``--batch-size``, onto ``--device``:

* ``ours``: :class:`snas.data.batches.DeviceBatches` ``.train_epoch(generator)`` -- the
  set held on the device, each batch gathered, randomly cropped (padding 4), flipped and
  normalised there by a few tensor ops;
* ``dataloader_w0`` / ``dataloader_w2``: a map-style Dataset over the same HWC uint8 array
  that makes a PIL image per item and applies ``RandomCrop(32, padding=4)``,
  ``RandomHorizontalFlip()``, ``ToTensor()``, ``Normalize(mean, std)``, through
  ``DataLoader(batch_size, shuffle=True, num_workers=0 or 2)`` (workers persistent, so
  their start-up is not counted), each batch then moved to the device.

Before timing, an unaugmented image must normalise to the same values in both pipelines.
Each variant runs one untimed epoch, then the variants are timed in rounds (each variant
one epoch per round), so drifts of a shared machine hit all alike.  Prints one JSON line
per variant and a summary line with ``ratio`` = ours / the best DataLoader variant
(target ≥ 10 on CPU).

``--threads`` sets torch's intra-op threads for the main process (DataLoader workers use
one each, as always).  On a CPU that other processes keep busy, ``--threads 1`` is the
figure to read: batch ops of ~200k elements split over threads that the OS deschedules
wait on each other at every op, and the in-process pipeline slows down many times.

    python bench/data_pipeline.py [--device cpu|cuda] [--images 10000] [--rounds 3] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import emit, header, seconds_of  # noqa: E402
from snas.data.augment import Augmentation, normalize  # noqa: E402
from snas.data.batches import DeviceBatches  # noqa: E402
from snas.data.sets import DATASETS, ImageSet  # noqa: E402

MEAN, STD = DATASETS["cifar10"].mean, DATASETS["cifar10"].std
TARGET = 10.0


class ArrayDataset(Dataset):
    """The torchvision way: one PIL image per item, transformed image by image."""

    def __init__(self, images_hwc: np.ndarray, labels: np.ndarray, transform: Callable):
        self.images, self.labels, self.transform = images_hwc, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        return self.transform(Image.fromarray(self.images[index])), int(self.labels[index])


def torchvision_transform(padding: int) -> Callable:
    from torchvision import transforms

    return transforms.Compose([
        transforms.RandomCrop(32, padding=padding), transforms.RandomHorizontalFlip(),
        transforms.ToTensor(), transforms.Normalize(MEAN, STD),
    ])


def check_same_normalisation(images: torch.Tensor) -> float:
    """Max |Δ| between our and torchvision's normalisation of unaugmented images."""
    from torchvision import transforms

    plain = transforms.Compose([transforms.ToTensor(), transforms.Normalize(MEAN, STD)])
    theirs = torch.stack([plain(img.permute(1, 2, 0).numpy()) for img in images[:64]])
    ours = normalize(images[:64], torch.tensor(MEAN), torch.tensor(STD))
    diff = (ours - theirs).abs().max().item()
    if diff > 1e-5:
        raise SystemExit(f"the pipelines normalise differently (max |Δ| = {diff})")
    return diff


def epoch_runner(batches: Callable[[], Iterable], device: torch.device) -> Callable[[], int]:
    """One epoch: every batch on the device, waited for; returns the number of images served."""
    def run() -> int:
        served = 0
        for x, y in batches():
            x = x.to(device, non_blocking=True)
            y = y.to(device, non_blocking=True)
            served += len(y)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return served

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--images", type=int, default=10000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--padding", type=int, default=4)
    parser.add_argument("--threads", type=int, help="torch intra-op threads of this process (default: torch's)")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device is available")

    rng = np.random.default_rng(0)
    images_hwc = rng.integers(0, 256, (args.images, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, args.images)
    images = torch.from_numpy(images_hwc).permute(0, 3, 1, 2).contiguous()
    max_diff = check_same_normalisation(images)

    ours = DeviceBatches(ImageSet(images, torch.from_numpy(labels), tuple(str(k) for k in range(10))),
                         args.batch_size, device, torch.tensor(MEAN), torch.tensor(STD),
                         Augmentation(crop_padding=args.padding, flip=True))
    generator = torch.Generator().manual_seed(0)
    variants: dict[str, Callable[[], int]] = {"ours": epoch_runner(lambda: ours.train_epoch(generator), device)}
    dataset = ArrayDataset(images_hwc, labels, torchvision_transform(args.padding))
    for workers in (0, 2):
        loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True, num_workers=workers,
                            persistent_workers=workers > 0, pin_memory=device.type == "cuda")
        variants[f"dataloader_w{workers}"] = epoch_runner(lambda loader=loader: loader, device)

    served = {name: run() for name, run in variants.items()}  # warm-up: workers start, caches fill
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, run in variants.items():
            times[name].append(seconds_of(run))

    rates = {}
    for name, epoch_times in times.items():
        rates[name] = served[name] / statistics.median(epoch_times)
        emit({**header("data_pipeline"), "variant": name, "device": str(device), "images_per_s": rates[name],
              "images_per_epoch": served[name], "batch_size": args.batch_size, "epoch_median_s":
              statistics.median(epoch_times), "epoch_min_s": min(epoch_times), "epoch_max_s": max(epoch_times),
              "rounds": args.rounds})
    best = max((name for name in rates if name != "ours"), key=rates.__getitem__)
    ratio = rates["ours"] / rates[best]
    emit({**header("data_pipeline"), "summary": True, "device": str(device), "ours_images_per_s": rates["ours"],
          "best_dataloader": best, "best_dataloader_images_per_s": rates[best], "ratio": ratio,
          "target": TARGET, "meets_target": ratio >= TARGET, "normalisation_max_abs_diff": max_diff})


if __name__ == "__main__":
    main()
