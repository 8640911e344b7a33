"""``--set key.path=value`` overrides: parsed once, applied to plain nested dicts."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from harness.arguments import load_yaml
from snas.errors import UserInputError


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"search.temperature.initial=0.5"`` -> (["search", "temperature", "initial"], 0.5).

    The value is read as YAML, so ``1e-3``, ``true``, ``[1, 2]`` and ``null`` have their
    natural types and anything else is a string.
    """
    key, sep, raw = text.partition("=")
    path = key.strip().split(".")
    if not sep or not all(path):
        raise UserInputError(f"override {text!r} must look like key.path=value (e.g. search.epochs=10)")
    try:
        value = load_yaml(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return path, value


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """A copy of ``data`` with every override set (intermediate mappings are created)."""
    result = copy.deepcopy(data)
    for text in overrides:
        path, value = parse_override(text)
        _set(result, path, value, f"override {text!r}")
    return result


def with_values(data: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` with each dotted key of ``values`` set to its value as it is (a
    trial's varied settings: already typed, so not read as text like an override)."""
    result = copy.deepcopy(data)
    for key, value in values.items():
        _set(result, key.split("."), copy.deepcopy(value), f"setting {key!r}")
    return result


def _set(node: dict[str, Any], path: list[str], value: Any, shown: str) -> None:
    for i, part in enumerate(path[:-1]):
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            raise UserInputError(f"{shown}: {'.'.join(path[: i + 1])} is a value, not a section")
        node = child
    node[path[-1]] = value
