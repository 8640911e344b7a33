"""The generated reference pages of the documentation site (docs/hooks/) miss nothing.

The keys and flags are collected here independently of the generators, straight from the
pydantic models and the argparse parsers, so a key or flag added to the code that a
generator does not render fails this test rather than vanishing from the site.
"""

from __future__ import annotations

import argparse
import re
import typing

import pytest
from pydantic import BaseModel

from docs.hooks.cli_page import cli_page, verb_parsers
from docs.hooks.study_page import study_page
from harness.cli import COMMANDS
from harness.kinds import KINDS
from harness.policies import SCHEDULERS, SEARCHERS
from harness.study.schema import Study


def _entry_models(annotation: typing.Any) -> list[tuple[str, type[BaseModel]]]:
    """The pydantic models a field holds, each with how the page writes the way into it: ``""``
    for a section (also one that may be null), ``.<key>`` for each entry of a mapping of
    sections (``space``), ``[]`` for each item of a list of them (``scheduler.schedule``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [("", annotation)]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    entry = {dict: ".<key>", list: "[]"}.get(origin, "")
    held = args[1:] if origin is dict else args
    return [(entry + inner, model) for arg in held for inner, model in _entry_models(arg)]


def _keys(model: type[BaseModel], prefix: str, skip: tuple[str, ...] = ()) -> set[str]:
    """The model's keys under ``prefix``, nested models' recursively, as dotted paths."""
    found = set()
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        key = f"{prefix}.{field.alias or name}"
        found.add(key)
        for entry, nested in _entry_models(field.annotation):
            found |= _keys(nested, key + entry)
    return found


def _schema_keys() -> set[str]:
    """Every key a study can hold: its sections', the trials' settings (whose ``data`` is the
    study's top-level one) and every searcher's and scheduler's."""
    keys = {name for name in Study.model_fields}
    for name, field in Study.model_fields.items():
        for entry, model in _entry_models(field.annotation):
            if name not in ("searcher", "scheduler"):  # validated as the policy ``name`` chooses
                keys |= _keys(model, name + entry)
    for kind in KINDS.values():
        keys |= _keys(kind.config_model(), kind.section, skip=("data",))
    for section, registry in (("searcher", SEARCHERS), ("scheduler", SCHEDULERS)):
        for cls in registry.values():
            keys |= _keys(cls, section)
    return keys


@pytest.fixture(scope="module")
def study_reference() -> str:
    return study_page()


def test_every_study_key_has_a_row_of_the_study_file_reference(study_reference: str) -> None:
    documented = set(re.findall(r"^\| `([^`]+)` \|", study_reference, flags=re.MULTILINE))
    keys = _schema_keys()
    assert {"search.temperature.initial", "space.<key>.grid", "scheduler.schedule[].epoch",
            "faults.kill_worker_once.rank", "retrain.settings.genotype"} <= keys  # the walk reaches every kind of key
    missing = keys - documented
    assert not missing, f"keys of the schema missing from the study file reference: {sorted(missing)}"


def test_a_row_gives_the_type_default_and_constraints_the_schema_declares(study_reference: str) -> None:
    rows = {line.split(" | ")[0].strip("| `"): line for line in study_reference.splitlines() if line.startswith("| `")}
    assert rows["search.temperature.anneal_rate"].startswith(
        "| `search.temperature.anneal_rate` | float | `0.95` | > 0; ≤ 1 | Per-epoch factor")
    assert rows["search.resource.lambda"].startswith("| `search.resource.lambda` | float | `0.0` | ≥ 0 |")
    assert "| int or null | `null` | ≥ 1 | Default: the trials' epoch count. |" in rows["scheduler.max_t"]
    assert "| required | ≥ 1 |" in rows["scheduler.perturbation_interval"]
    assert "one of `snas`, `gdas`, `darts`" in rows["search.method"]
    assert rows["space.<key>.loguniform"].startswith("| `space.<key>.loguniform` | [float, float] or null | `null` |")


def test_the_method_defaults_table_gives_each_method_its_own_values(study_reference: str) -> None:
    row = [line for line in study_reference.splitlines() if line.startswith("| `search.epochs` |")][-1]
    assert row == "| `search.epochs` | – | `250` | `50` |"  # snas keeps the schema's 150; GDAS 250, DARTS 50


def test_the_data_key_of_the_trial_settings_is_not_offered(study_reference: str) -> None:
    """Every trial takes the top-level ``data``; ``search.data`` would be refused."""
    assert "`data.dataset`" in study_reference
    assert "`search.data" not in study_reference and "`retrain.settings.data" not in study_reference


def test_every_command_and_flag_is_on_the_command_line_reference() -> None:
    page = cli_page()
    parsers = verb_parsers()
    assert list(parsers) == list(COMMANDS)
    for verb, parser in parsers.items():
        section = page.split(f"## `snas-study {verb}`\n", 1)[1].split("\n## ", 1)[0]
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            names = action.option_strings or [action.metavar or action.dest]
            for name in names:
                assert f"`{name}" in section, f"{verb}: {name} missing from the command-line reference"


def test_a_flag_row_shows_the_help_with_its_default() -> None:
    page = cli_page()
    assert "| `--top TOP` |" in page
    assert "| `--epochs EPOCHS` | search epochs (default: 150) |" in page
