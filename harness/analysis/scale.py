"""At which network and input a study's parameter and MAC figures were counted.

A size is meaningless without its network and input: the same genotype is 3.2M MACs as an
8-cell C=16 network on digits' 1×8×8 images and 528M as DARTS's 20-cell C=36 network on
CIFAR's 3×32×32.  The trials count every size at the input they really train on (the
study's data set), so each figure here is named in words ("8 cells × C=16, 1×8×8 input,
10 classes") and as the ``snas-study profile`` arguments that print the same number.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from snas.data.config import DataConfig
from snas.data.sets import DATASETS, InputSpec
from snas.errors import UserInputError
from snas.registry import Registry
from snas.spaces import SPACES, genotype_from_dict
from snas.spaces.base import EvalNetwork


@dataclass(frozen=True)
class Scale:
    """One network a size was counted on."""

    space: str
    network: EvalNetwork

    def describe(self) -> str:
        cells = SPACES[self.space].describe_cells(self.network.layers)
        return f"{cells} × C={self.network.channels}, {self.network.describe_input()}"

    def profile_arguments(self) -> str:
        """The ``snas-study profile GENOTYPE ...`` arguments that count this network."""
        net = self.network
        dataset = " --dataset imagenet" if net.family == "imagenet" else ""
        return (f"{dataset} --layers {net.layers} --init-channels {net.channels} "
                f"--input {net.in_channels}x{net.image_size}x{net.image_size} --classes {net.num_classes}").strip()


def _search_scales(settings: Mapping[str, Any], data: EvalNetwork) -> dict[str, Scale]:
    def at(layers: int, channels: int) -> Scale:
        return Scale(settings["space"], EvalNetwork("cifar", layers, channels, data.image_size, data.num_classes,
                                                    data.in_channels))
    return {"child_": at(settings["layers"], settings["init_channels"]),
            "eval_": at(settings["eval_layers"], settings["eval_channels"])}


def _retrain_scales(settings: Mapping[str, Any], data: EvalNetwork) -> dict[str, Scale]:
    space = genotype_from_dict(settings["genotype"]).space
    return {"": Scale(space, EvalNetwork(settings["network"], settings["layers"], settings["init_channels"],
                                         data.image_size, data.num_classes, data.in_channels))}


SCALES: Registry[Callable[[Mapping[str, Any], EvalNetwork], dict[str, Scale]]] = Registry("trial kind", {
    "search": _search_scales, "retrain": _retrain_scales,
})
"""Per trial kind: its size metrics' prefixes (``eval_`` for ``eval_params_m``) and the
network each was counted on, from a trial's resolved settings."""

SCALE_TITLES = {"child_": "search scale (child_*)", "eval_": "evaluation scale (eval_*)", "": "params_m, macs_m"}


def _inputs(data: str) -> InputSpec:
    """What the data settings (as JSON text, so that a cache can key them) serve."""
    config = DataConfig.model_validate(json.loads(data))
    return DATASETS[config.dataset].inputs(config)


def trial_scales(settings: Mapping[str, Any], kind: str,
                 inputs_of: Callable[[str], InputSpec] = _inputs) -> dict[str, Scale]:
    """The networks one trial's sizes were counted on, by metric prefix, from the settings it
    ran with (:meth:`harness.analysis.results.StudyResults.settings_of`); ``inputs_of`` reads
    what its data set serves (a study's cached reader lists an image folder once)."""
    inputs = inputs_of(json.dumps(settings["data"], sort_keys=True))
    return SCALES[kind](settings, EvalNetwork("cifar", 0, 0, inputs.side, inputs.classes, inputs.channels))


def study_scales(kind: str, settings: Iterable[Mapping[str, Any] | None]) -> dict[str, list[Scale]]:
    """By metric prefix, the distinct networks the trials' sizes were counted on (one, unless
    the study varies the network or the data); ``settings``: each trial's (None: unknown)."""
    found: dict[str, dict[Scale, None]] = {}
    inputs_of = functools.cache(_inputs)  # an image folder is listed once, not per trial
    for trial in settings:
        if trial is None:
            continue
        try:
            scales = trial_scales(trial, kind, inputs_of)
        except (UserInputError, ValueError, KeyError):  # an image folder not at hand, or settings this version refuses
            continue
        for prefix, scale in scales.items():
            found.setdefault(prefix, {})[scale] = None
    return {prefix: list(scales) for prefix, scales in found.items()}


def describe_scales(scales: list[Scale]) -> str:
    """The networks in words, " or " between them when there are several."""
    return " or ".join(scale.describe() for scale in scales)
