"""Trying a new study's trials before Ray starts: every value the space can take, built
into the real trial configuration, checked against the data's images and the memory of
the device it asks for.

Only for a study a user hands in (``run``, ``retrain``): a study folder's frozen study
was probed when it was run, and reading it needs neither torch's networks nor its data.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from pydantic import ValidationError

from harness.errors import invalid
from harness.study.checks import first_trial_config
from harness.study.schema import Study
from snas.catalogue import CATALOGUE
from snas.config import RetrainConfig
from snas.data.config import DataConfig
from snas.data.sets import DATASETS, InputSpec
from snas.errors import UserInputError

if TYPE_CHECKING:
    from harness.kinds import TrialConfig

_MAX_COMBINATIONS_CHECKED = 512


def probe_trials(study: Study) -> None:
    """Build the trial configuration for the base and for every value the space can take."""
    prefix = study.trial_kind.section
    for key in study.trial_kind.required:
        if key not in study.trial_base and f"{prefix}.{key}" not in study.space:
            raise UserInputError(f"a {study.kind} study needs {prefix}.{key} or a space entry for it")
    first_config = first_trial_config(study)  # problems of the shared settings are reported as such
    keys = list(study.space)
    probes = [study.space[k].probe_values() for k in keys]
    combos = 1
    for values in probes:
        combos *= len(values)
    if combos <= _MAX_COMBINATIONS_CHECKED:
        candidates = (dict(zip(keys, values)) for values in itertools.product(*probes))
    else:  # too many to try together: each key's values against the base
        candidates = ({k: v} for k, values in zip(keys, probes) for v in values)
    inputs_of = functools.cache(_readable_inputs)  # an image folder is listed once, not per combination
    _check_trial_fits(study, first_config, "the first trial's settings", inputs_of)
    for trial in candidates if keys else ():
        shown = ", ".join(f"{k}={v!r}" for k, v in trial.items())
        try:
            config = study.trial_config_of(trial)
        except ValidationError as err:
            raise invalid(err, f"trial settings ({shown})", prefix, ("data",), study_model=Study) from None
        _check_trial_fits(study, config, f"trial settings ({shown})", inputs_of)


def _local_device(spec: str) -> torch.device | None:
    """The device of this machine a trial asking for ``spec`` would get, or None when this
    machine has no such GPU (the study's driver need not be on a GPU node)."""
    if spec == "cpu" or (spec == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    device = torch.device("cuda" if spec == "auto" else spec)
    index = device.index or 0
    return device if torch.cuda.is_available() and index < torch.cuda.device_count() else None


def _readable_inputs(data: DataConfig) -> InputSpec | None:
    """What trials on ``data`` will see, or None where this machine cannot read it (an image
    folder that is not here: a cluster's, or a study folder's read elsewhere).  ``run``
    reports a missing folder just after (``check_present``); a trial checks its memory
    again once it has loaded the data."""
    try:
        return DATASETS[data.dataset].inputs(data)
    except UserInputError:
        return None


def _check_trial_fits(study: Study, config: TrialConfig, which: str,
                      inputs_of: Callable[[DataConfig], InputSpec | None]) -> None:
    """Each trial's network must be able to process its data's images and fit in the memory
    of the device it asks for, as far as this machine can tell (:mod:`snas.memory`): found
    now, not after Ray has started every trial."""
    inputs = inputs_of(config.data)
    if inputs is None:
        return
    device = _local_device(config.device)
    if study.resources.workers > 1:  # each worker holds its shard of the global batch
        config = config.model_copy(update={"batch_size": config.batch_size // study.resources.workers})
    try:
        study.trial_kind.check_input()(config, inputs)
        if device is not None:
            study.trial_kind.check_fits()(config, inputs, device)
    except UserInputError as err:
        raise UserInputError(f"{which}: {err}") from None


def probe_retrain_settings(study: Study) -> None:
    """A search study's ``retrain`` section is used only after the search, by `snas-study
    retrain`; a typo there must not wait days to be found.  The winners' genotypes are not
    known yet, so a catalogue cell stands in for them."""
    if not study.trial_kind.derives_genotype:
        return
    fields = {"genotype": CATALOGUE["DARTS_V2"].genotype.to_dict(), **study.retrain.settings}
    try:
        RetrainConfig.model_validate({**fields, "data": study.data.model_dump(mode="json")})
    except ValidationError as err:
        raise invalid(err, "retrain settings", "retrain.settings", ("data",), study_model=Study) from None
