"""Command-line argument checks shared by the verbs: counts and YAML files given on the command
line (where outputs may be written is :mod:`harness.outputs`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from snas.errors import UserInputError


def _whole_number(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
    return value


def positive_int(text: str) -> int:
    """A count such as --top or --seeds: a whole number of at least 1."""
    return _whole_number(text, 1)


def non_negative_int(text: str) -> int:
    """A count that may be zero (--random) or a seed: a whole number of at least 0."""
    return _whole_number(text, 0)


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a mapping that names a key twice.

    PyYAML keeps the last of two equal keys, so ``epochs: 2`` followed by ``epochs: 3``, or
    two ``search:`` sections, would silently drop what the user wrote first."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # ``<<: *defaults`` may repeat keys on purpose
                continue
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (list, dict)):
                continue  # unhashable: the constructor below refuses it with its own message
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark,
                    f"duplicate key {key!r} (first given on line {seen[key].line + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str) -> Any:
    """YAML text as plain data, like ``yaml.safe_load``, but a key given twice in one mapping
    is an error (:class:`yaml.YAMLError`) naming its line.  Every YAML file a user hands the
    tool is read with this."""
    loader = _UniqueKeyLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def yaml_what(err: yaml.YAMLError) -> str:
    """What is wrong, in one line: a parse error's ``problem``; the first line of the text of
    an error that has none (a :class:`yaml.reader.ReaderError`: a character YAML does not allow)."""
    return getattr(err, "problem", None) or str(err).splitlines()[0]


def yaml_problem(err: yaml.YAMLError) -> str:
    """A YAML error in one line: what is wrong and where (PyYAML's own text spans several)."""
    mark = getattr(err, "problem_mark", None)
    problem = yaml_what(err)
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else problem


def read_yaml_mapping(path: Path, what: str, holds: str, *, empty_ok: bool = False) -> dict[str, Any]:
    """A YAML file given on the command line, read as a mapping.  ``what`` names it in the
    messages (``study file X``, ``--config X``), ``holds`` says what the mapping should hold."""
    if path.is_dir():
        raise UserInputError(f"{what} is a folder; give a YAML file")
    if not path.is_file():
        raise UserInputError(f"{what} does not exist")
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise UserInputError(f"{what} is not valid YAML: {yaml_problem(err)}") from None
    except UnicodeDecodeError:
        raise UserInputError(f"{what} is not a text file (not UTF-8)") from None
    if data is None and empty_ok:
        return {}
    if not isinstance(data, dict):
        raise UserInputError(f"{what} must be a mapping of {holds}")
    return data


def add_scoring_arguments(parser: argparse.ArgumentParser) -> None:
    """The study folder and how to rank its trials: `analyze`, `best` and `report` take them."""
    parser.add_argument("results", help="the study folder (results/<name>)")
    parser.add_argument("--metric", help="rank trials by this metric (default: the study's objective), "
                                         "e.g. search_val_acc or child_val_acc")
    parser.add_argument("--scope", choices=("last", "best"), default="last",
                        help="score a trial by its last epoch (default) or its best epoch")
    parser.add_argument("--top", type=positive_int, default=3, help="how many winners to keep (default 3)")
