"""At which network and input a study's parameter and MAC figures were counted.

A size is meaningless without its network and input: the same genotype is 3.2M MACs as an
8-cell C=16 network on digits' 1×8×8 images and 528M as DARTS's 20-cell C=36 network on
CIFAR's 3×32×32.  The trials count every size at the input they really train on (the
study's data set), so each figure here is named in words ("8 cells × C=16, 1×8×8 input,
10 classes") and as the ``snas-study profile`` arguments that print the same number.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from harness.kinds import TrialConfig
from harness.study import Study
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


def _search_scales(config: Any, data: EvalNetwork) -> dict[str, Scale]:
    def at(layers: int, channels: int) -> Scale:
        return Scale(config.space, EvalNetwork("cifar", layers, channels, data.image_size, data.num_classes,
                                               data.in_channels))
    return {"child_": at(config.layers, config.init_channels), "eval_": at(config.eval_layers, config.eval_channels)}


def _retrain_scales(config: Any, data: EvalNetwork) -> dict[str, Scale]:
    space = genotype_from_dict(config.genotype).space
    return {"": Scale(space, EvalNetwork(config.network, config.layers, config.init_channels, data.image_size,
                                         data.num_classes, data.in_channels))}


SCALES: Registry[Callable[[Any, EvalNetwork], dict[str, Scale]]] = Registry("trial kind", {
    "search": _search_scales, "retrain": _retrain_scales,
})
"""Per trial kind: its size metrics' prefixes (``eval_`` for ``eval_params_m``) and the
network each was counted on."""

SCALE_TITLES = {"child_": "search scale (child_*)", "eval_": "evaluation scale (eval_*)", "": "params_m, macs_m"}


def _inputs(data: DataConfig) -> InputSpec:
    return DATASETS[data.dataset].inputs(data)


def trial_scales(config: TrialConfig, kind: str,
                 inputs_of: Callable[[DataConfig], InputSpec] = _inputs) -> dict[str, Scale]:
    """The networks one trial's sizes were counted on, by metric prefix; ``inputs_of`` reads
    what its data set serves (a study's cached reader lists an image folder once)."""
    inputs = inputs_of(config.data)
    return SCALES[kind](config, EvalNetwork("cifar", 0, 0, inputs.side, inputs.classes, inputs.channels))


def study_scales(study: Study, configs: Iterable[dict[str, Any]]) -> dict[str, list[Scale]]:
    """By metric prefix, the distinct networks the trials' sizes were counted on (one, unless
    the study varies the network or the data)."""
    found: dict[str, dict[Scale, None]] = {}
    inputs_of = functools.cache(_inputs)  # an image folder is listed once, not per trial
    for config in configs:
        try:
            scales = trial_scales(study.trial_config_of(config), study.kind, inputs_of)
        # settings it cannot read (the trial is reported as damaged), or an image folder not at hand
        except (UserInputError, ValueError):
            continue
        for prefix, scale in scales.items():
            found.setdefault(prefix, {})[scale] = None
    return {prefix: list(scales) for prefix, scales in found.items()}


def describe_scales(scales: list[Scale]) -> str:
    """The networks in words, " or " between them when there are several."""
    return " or ".join(scale.describe() for scale in scales)
