"""Small study files for the harness tests."""

from __future__ import annotations

from typing import Any

import yaml

FAULT_DATA = {"synthetic": {"classes": 4, "image_size": 8, "train_images": 192, "test_images": 64}}
"""Half the tiny study's training images, for the fault campaigns' studies: each compares a
study interrupted and resumed with an uninterrupted run of the same settings, so the curves
need not learn anything, and their CPU time was half in the trials' epochs."""


def tiny_study(name: str, root, **changes: Any) -> dict[str, Any]:
    """A study of tiny SNAS searches on synthetic 8×8 data (about a second per trial-epoch)."""
    study: dict[str, Any] = {
        "name": name,
        "data": {"dataset": "synthetic",
                 "synthetic": {"classes": 4, "image_size": 8, "train_images": 384, "test_images": 64}},
        "search": {"method": "snas", "drop_path": 0.0, "layers": 3, "init_channels": 4, "epochs": 3, "batch_size": 32,
                   "device": "cpu", "eval_layers": 5, "eval_channels": 8},
        "space": {"search.seed": {"grid": [0, 1]}},
        "scheduler": {"name": "fifo"},
        "storage": {"path": str(root)},
        "retrain": {"settings": {"layers": 5, "init_channels": 4, "epochs": 2, "batch_size": 32,
                                 "auxiliary": False, "device": "cpu"}},
    }
    if changes.get("kind") == "retrain" and "search" not in changes:
        del study["search"]  # a retrain study reads none (giving it one is refused)
    for key, value in changes.items():
        study[key] = {**study[key], **value} if isinstance(value, dict) and key in ("search", "data") else value
    return study


def write_study(path, study: dict[str, Any]):
    path.write_text(yaml.safe_dump(study))
    return path
