"""Reading a study: a user's study file (with ``--set`` overrides), or a study folder's
frozen study.yaml, into a validated :class:`~harness.study.schema.Study`.

A study a user hands in is validated strictly and its trials probed (every value tried on
the real trial configuration, :mod:`harness.study.probe`) before anything runs.  A frozen
study was all that when it was run: reading one checks the model only, and accepts what
older versions wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from harness.arguments import load_yaml, read_yaml_mapping, yaml_what
from harness.errors import invalid
from harness.overrides import apply_overrides
from harness.policies import DEFAULT_SCHEDULER, DEFAULT_SEARCHER, SCHEDULERS, SEARCHERS, foreign_keys
from harness.study.checks import check_sections
from harness.study.schema import Domain, Study
from snas.catalogue import named_genotype, resolve_genotype
from snas.errors import UserInputError
from snas.genotype import GenotypeError

POLICY_SECTIONS = (("searcher", SEARCHERS, DEFAULT_SEARCHER), ("scheduler", SCHEDULERS, DEFAULT_SCHEDULER))
"""The study's policy sections: their registry and the policy a section naming none gets."""


def load_study(path: str | Path, overrides: list[str] | None = None) -> Study:
    """Read, override, validate and probe a study file; every problem is a UserInputError."""
    from harness.study.probe import probe_retrain_settings

    data = read_yaml_mapping(Path(path), f"study file {path}", "study sections (name:, data:, search:, space:, ...)")
    study = validate_study(apply_study_overrides(data, overrides or []), str(path))
    probe_retrain_settings(study)  # here, not for study folders: their analysis must stay readable
    refuse_unread_settings(study, str(path))
    check_name_length(study, str(path))
    return study


def validate_study(data: dict[str, Any], source: str = "study", *, frozen: bool = False) -> Study:
    """The study ``data`` describes.  A user's (``frozen`` false) is refused where it gives a
    key its searcher or scheduler does not read, and its trials are probed; a study folder's
    frozen study (``frozen``) is read as written, keys of policies it does not use dropped
    (versions before 0.2 wrote every policy's settings into it)."""
    data = _policy_sections(data, source, frozen)
    try:
        study = Study.model_validate(_read_genotypes(data, source))
    except ValidationError as err:
        raise invalid(err, f"study {source}", study_model=Study) from None
    study = _scheduler_checkpoints(study)
    try:
        check_sections(study, frozen)
    except UserInputError:  # a trial setting's own problem, worded as the probe of the trials words it
        raise
    except ValueError as err:
        raise UserInputError(f"invalid study {source}: {err}") from None
    if not frozen:
        from harness.study.probe import probe_trials

        probe_trials(study)
    return study


def _scheduler_checkpoints(study: Study) -> Study:
    """A study that names no ``checkpoint_every`` checkpoints as its scheduler needs (PBT: at
    every perturbation); one that names it is checked against the scheduler instead.  Under a
    scheduler that copies trials, one naming no ``keep_checkpoints`` keeps every checkpoint:
    Tune deletes a trial's older ones, a donor's included, while a trial that is to copy it may
    not have restored it yet (Ray's PBT guide warns of ``num_to_keep`` <= 2)."""
    interval = study.scheduler.checkpoint_interval()
    given = study.model_fields_set
    update: dict[str, int] = {}
    if interval is not None and "checkpoint_every" not in given:
        update["checkpoint_every"] = interval
    if study.scheduler.copies_trials and "keep_checkpoints" not in given:
        update["keep_checkpoints"] = -(-study.epochs // update.get("checkpoint_every", study.checkpoint_every)) + 1
    return study.model_copy(update=update) if update else study


def _policy_sections(data: dict[str, Any], source: str, frozen: bool) -> dict[str, Any]:
    for section, registry, default in POLICY_SECTIONS:
        settings = data.get(section)
        if not isinstance(settings, Mapping):
            continue
        foreign = foreign_keys(registry, settings, default)
        if foreign and frozen:
            data = {**data, section: {k: v for k, v in settings.items() if k not in foreign}}
        elif foreign:
            key, readers = next(iter(foreign.items()))
            names = [registry[name].title for name in readers]
            titles = " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)
            keys = ", ".join(f"{section}.{k}" for k in foreign)
            raise UserInputError(f"invalid study {source}: {keys}: read by {titles} only, and {section}.name is "
                                 f"{settings.get('name', default)}; set {section}.name={readers[0]} or drop {keys}")
    return data


MANY_TRIALS = 10_000
"""Trials above which ``run`` asks for ``--allow-many-trials``: a grid of 1,000 × 1,000 values
is a typo more often than a plan, and Tune spends minutes listing its trials before starting
any (and minutes saving its state after Ctrl-C)."""


def check_trial_count(study: Study, allowed: bool) -> None:
    """Refuse a study of more than :data:`MANY_TRIALS` trials unless the user confirmed it."""
    count = study.expected_trials()
    if count > MANY_TRIALS and not allowed:
        sizes = " × ".join(str(len(d.bounds)) for d in study.space.values() if d.variation == "grid") or "1"
        raise UserInputError(f"study {study.name} has {count:,} trials (grid {sizes}, num_samples "
                             f"{study.searcher.num_samples}), more than {MANY_TRIALS:,}: check the space, or "
                             f"confirm with --allow-many-trials")


NAME_MAX_LENGTH = 200
"""Characters of a new study's name: its folder, and the ``<name>-retrain`` study made from it,
must fit the 255-byte file names of common file systems (a longer name failed with a
traceback when Tune created the folder)."""


RETRAIN_SUFFIX = "-retrain"
"""What ``snas-study retrain`` appends to the search study's name to name its retrain study."""


def check_name_length(study: Study, source: str, longest: int = NAME_MAX_LENGTH) -> None:
    """Refuse a new study whose name makes folder names too long (study folders that exist
    already are read whatever their name); ``longest``: more for the name a command derives."""
    if len(study.name) > longest:
        raise UserInputError(f"invalid study {source}: name is {len(study.name)} characters long; at most "
                             f"{longest} make folder names the file system accepts: choose a shorter name")


def refuse_unread_settings(study: Study, source: str) -> None:
    """Refuse settings given (in the file or by ``--set``) that this study would not read
    (a search study's ``genotypes``; a policy's keys under another policy are refused while
    reading, :func:`validate_study`).

    Only for studies a user hands in: a frozen study.yaml writes out every default, so
    there "given" cannot be told from "defaulted"."""
    if study.trial_kind.derives_genotype and study.genotypes:
        raise UserInputError(f"invalid study {source}: genotypes: read by retrain studies only (their "
                             f"retrain.settings.genotype names one); `snas-study retrain` takes the search's "
                             f"winners, so drop genotypes here")


def apply_study_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """``--set`` for study files.  Space keys contain dots themselves, so
    ``space.<dotted key>=<domain>`` and ``space.<dotted key>.<grid|choice|...>=<values>``
    address a space entry; every other key is an ordinary dotted path."""
    plain, result = [], dict(data)
    for text in overrides:
        key, _, raw = text.partition("=")
        if not key.startswith("space."):
            plain.append(text)
            continue
        entry = key.removeprefix("space.")
        variation = entry.rsplit(".", 1)[-1]
        try:
            value = load_yaml(raw) if raw.strip() else None
        except yaml.YAMLError as err:
            raise UserInputError(f"--set {text}: the value is not valid YAML ({yaml_what(err)})") from None
        space = dict(result.get("space") or {})
        if variation in Domain.model_fields:
            space[entry.rsplit(".", 1)[0]] = {variation: value}
        else:
            space[entry] = value
        result["space"] = space
    return apply_overrides(result, plain)


def _read_genotypes(data: dict[str, Any], source: str) -> dict[str, Any]:
    """``data`` with each ``genotypes:`` entry given as text (a catalogue name, a file,
    Genotype(...) text) read into its mapping, and a genotype file named directly by
    ``retrain.settings.genotype`` read too (a label, a catalogue name or text stays as
    written: the configuration resolves those without opening a file)."""
    genotypes = data.get("genotypes")
    read = {}
    for label, spec in (genotypes.items() if isinstance(genotypes, dict) else ()):
        if not isinstance(spec, (str, dict)):
            raise UserInputError(f"invalid study {source}: genotypes.{label}: give a catalogue name, a genotype "
                                 f"file, Genotype(...) text or the genotype's mapping, not {spec!r}")
        read[label] = _read_genotype(spec, source, f"genotypes.{label}") if isinstance(spec, str) else spec
    if isinstance(genotypes, dict):
        data = {**data, "genotypes": read}
    retrain = data.get("retrain")
    settings = retrain.get("settings") if isinstance(retrain, dict) else None
    spec = settings.get("genotype") if isinstance(settings, dict) else None
    if (isinstance(retrain, dict) and isinstance(settings, dict) and isinstance(spec, str)
            and spec not in read and named_genotype(spec) is None):
        mapping = _read_genotype(spec, source, "retrain.settings.genotype")
        data = {**data, "retrain": {**retrain, "settings": {**settings, "genotype": mapping}}}
    return data


def _read_genotype(spec: str, source: str, key: str) -> dict[str, Any]:
    try:
        return resolve_genotype(spec).to_dict()
    except GenotypeError as err:
        raise UserInputError(f"invalid study {source}: {key}: {err}") from None
