"""Tiny search settings shared by the tests."""

from __future__ import annotations

from typing import Any


def tiny_search_settings(**overrides: Any) -> dict[str, Any]:
    """A search that trains 2 steps per epoch on 8×8 synthetic images in about a second."""
    settings: dict[str, Any] = {
        "layers": 3, "init_channels": 4, "epochs": 4, "batch_size": 32, "seed": 0, "device": "cpu",
        "eval_layers": 5, "eval_channels": 8, "drop_path": 0.0,
        "data": {"dataset": "synthetic",
                 "synthetic": {"classes": 4, "image_size": 8, "train_images": 128, "test_images": 64}},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(settings.get(key), dict):
            settings[key] = {**settings[key], **value}
        else:
            settings[key] = value
    return settings
