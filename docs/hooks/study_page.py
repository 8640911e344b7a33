"""The study-file reference page, generated from the schema so that it cannot fall behind it.

Every key of a study is a field of a pydantic model: the study's own sections
(:class:`harness.study.schema.Study`), the trials' settings under ``search`` and
``retrain.settings`` (each trial kind's configuration model, :data:`harness.kinds.KINDS`),
and the keys of each searcher and scheduler (:data:`harness.policies.SEARCHERS`,
:data:`harness.policies.SCHEDULERS`).  :func:`study_keys` walks them all and
:func:`study_page` renders one table row per dotted key: its type, default, constraints and
the field's docstring.  Nothing here imports torch or Ray.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from docs.hooks.markdown import cell
from harness.kinds import KINDS
from harness.policies import DEFAULT_SCHEDULER, DEFAULT_SEARCHER, SCHEDULERS, SEARCHERS
from harness.study.schema import Study
from snas.methods import METHODS
from snas.registry import Registry

POLICY_SECTIONS = {"searcher": (SEARCHERS, DEFAULT_SEARCHER), "scheduler": (SCHEDULERS, DEFAULT_SCHEDULER)}
"""Study sections whose keys depend on the policy their ``name`` chooses."""
TOP_LEVEL = "top level"
"""The group of the study's keys that hold no keys of their own (``name``, ``checkpoint_every``)."""


@dataclass(frozen=True)
class Key:
    """One row of the reference: a dotted study key and what its model says of it."""

    path: str
    type: str
    default: str
    constraints: str
    doc: str


def kind_sections() -> dict[str, type[BaseModel]]:
    """The study sections that hold trial settings (``search``, ``retrain.settings``), each with
    its configuration model.  Their ``data`` field is left out: every trial takes the study's
    top-level ``data`` section."""
    return {kind.section: kind.config_model() for kind in KINDS.values()}


def study_keys() -> dict[str, list[Key]]:
    """Every key a study file may hold, grouped by its top-level section (a policy section
    once per policy, as ``searcher: optuna``)."""
    sections = kind_sections()
    groups: dict[str, list[Key]] = {}
    for name, field in Study.model_fields.items():
        if name in POLICY_SECTIONS:
            registry, _ = POLICY_SECTIONS[name]
            for policy, cls in registry.items():
                groups[f"{name}: {policy}"] = [_key(name, field, Study), *_model_keys(cls, name, sections)]
            continue
        inner = list(_keys_under(name, field, sections))
        group = name if inner else TOP_LEVEL
        groups.setdefault(group, []).extend([_key(name, field, Study), *inner])
    return groups


def _keys_under(path: str, field: FieldInfo, sections: dict[str, type[BaseModel]]) -> Iterator[Key]:
    """The keys inside the field at ``path``: a trial kind's settings, a nested section's, or,
    for a mapping or list of sections (``space``, ``scheduler.schedule``), one entry's."""
    if path in sections:
        yield from _model_keys(sections[path], path, sections, skip=("data",))
        return
    for entry, model in _held_models(field.annotation):
        yield from _model_keys(model, path + entry, sections)


def _held_models(annotation: Any) -> list[tuple[str, type[BaseModel]]]:
    """The sections a field holds, each with the way into it: ``""`` for a section (also one
    that may be null), ``.<key>`` for each entry of a mapping of sections, ``[]`` for each
    item of a list of them; a field of several forms (``objective``: one section or a list)
    holds each form's."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [("", annotation)]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _held_models(args[0])
    if _is_union(annotation):
        return [held for option in args for held in _held_models(option)]
    if origin is dict:
        return [(".<key>" + entry, model) for entry, model in _held_models(args[1])]
    if origin is list:
        return [("[]" + entry, model) for entry, model in _held_models(args[0])]
    return []


def _model_keys(model: type[BaseModel], prefix: str, sections: dict[str, type[BaseModel]],
                skip: tuple[str, ...] = ()) -> Iterator[Key]:
    for name, field in model.model_fields.items():
        if name in skip:
            continue
        path = f"{prefix}.{field.alias or name}"
        yield _key(path, field, model)
        yield from _keys_under(path, field, sections)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The configuration model a field holds (also when it may be null), else None."""
    options = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
    models = [option for option in options if isinstance(option, type) and issubclass(option, BaseModel)]
    return models[0] if len(models) == 1 else None


def _section_model(annotation: Any) -> type[BaseModel] | None:
    """The model of a section, or of each entry of a mapping of sections (``space``)."""
    if typing.get_origin(annotation) is dict:
        return _model_of(typing.get_args(annotation)[1])
    return _model_of(annotation)


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _key(path: str, field: FieldInfo, model: type[BaseModel]) -> Key:
    name = next(n for n, f in model.model_fields.items() if f is field)
    return Key(path, type_name(field.annotation), _default(field), _constraints(field),
               field_docs(model).get(name, field.description or ""))


def type_name(annotation: Any) -> str:
    """A field's type as a study file writes it (``float``, ``int or null``, ``list of mapping``)."""
    if annotation is type(None):
        return "null"
    if _is_union(annotation):
        return " or ".join(type_name(option) for option in typing.get_args(annotation))
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin is Literal:
        return "string" if all(isinstance(a, str) for a in args) else " or ".join(repr(a) for a in args)
    if origin in (list, tuple):
        items = [type_name(a) for a in args if a is not Ellipsis]
        return f"list of {items[0]}" if len(set(items)) == 1 and (origin is list or Ellipsis in args) \
            else f"[{', '.join(items)}]"
    if origin is dict:
        return "mapping" if not args or args[1] is typing.Any else f"mapping of {type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    names = {str: "string", int: "int", float: "float", bool: "bool", typing.Any: "any", Path: "path"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        factory = field.default_factory
        summary = (inspect.getdoc(factory) or factory.__name__).splitlines()[0]
        return cell(summary)
    if field.default is PydanticUndefined:
        return "required"
    if isinstance(field.default, BaseModel):
        return "(section)"
    return f"`{_yaml_value(field.default)}`"


def _yaml_value(value: Any) -> str:
    if value is None:
        return "null"
    if value == "":
        return '""'
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return str(list(value))
    return str(value)


_BOUNDS = {annotated_types.Gt: ("gt", ">"), annotated_types.Ge: ("ge", "≥"), annotated_types.Lt: ("lt", "<"),
           annotated_types.Le: ("le", "≤")}


def _constraints(field: FieldInfo) -> str:
    """The field's bounds, pattern, lengths and the names it accepts."""
    found = []
    annotation = field.annotation
    for item in field.metadata:
        for bound, (attribute, sign) in _BOUNDS.items():
            if isinstance(item, bound):
                found.append(f"{sign} {getattr(item, attribute)}")
        if isinstance(item, annotated_types.MinLen):
            found.append(f"length ≥ {item.min_length}")
        if getattr(item, "pattern", None):
            found.append(f"matches `{item.pattern}`")
        registry = getattr(getattr(item, "func", None), "__self__", None)
        if isinstance(registry, Registry):
            found.append("one of " + ", ".join(f"`{name}`" for name in registry))
    if typing.get_origin(annotation) is Literal:
        found.append("one of " + ", ".join(f"`{_yaml_value(a)}`" for a in typing.get_args(annotation)))
    return "; ".join(found)


@cache
def field_docs(model: type) -> dict[str, str]:
    """The docstrings written under a model's fields (``x: int = 1`` then ``\"\"\"...\"\"\"``),
    its base classes' included; pydantic keeps none of them."""
    docs: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        if cls is object or not issubclass(cls, BaseModel) or cls is BaseModel:
            continue
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
        except (OSError, TypeError):
            continue
        body = tree.body[0].body  # type: ignore[attr-defined]
        for node, following in zip(body, body[1:]):
            if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                    and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)):
                docs[node.target.id] = inspect.cleandoc(following.value.value)
    return docs


def _method_defaults() -> list[str]:
    """The table of the settings each method fills in when a search leaves them out."""
    def flat(mapping: dict[str, Any], prefix: str = "search.") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in mapping.items():
            out.update(flat(value, f"{prefix}{key}.") if isinstance(value, dict) else {prefix + key: value})
        return out

    defaults = {name: flat(dict(method.defaults)) for name, method in METHODS.items()}
    keys = sorted({key for values in defaults.values() for key in values})
    lines = ["| key | " + " | ".join(f"`method: {name}`" for name in defaults) + " |",
             "|---|" + "---|" * len(defaults)]
    for key in keys:
        cells = [f"`{_yaml_value(values[key])}`" if key in values else "–" for values in defaults.values()]
        lines.append(f"| `{key}` | " + " | ".join(cells) + " |")
    return lines


def _table(rows: list[Key]) -> list[str]:
    lines = ["| key | type | default | constraints | meaning |", "|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| `{row.path}` | {cell(row.type)} | {row.default} | {row.constraints} | "
                     f"{cell(row.doc)} |")
    return lines


_INTRO = """\
# Study file reference

Generated from the schema when the site is built (`docs/hooks/study_page.py`): every key a
study file may hold, its type, its default and what values it accepts.  A key the schema
does not know is refused with the key it probably meant, and so is a key no trial of the
study would read ([Studies](../guide/studies.md) shows the messages).  `--set KEY=VALUE`
overrides any of them from the command line.

A *section* is a mapping of the keys listed after it.  `search` holds the settings of every
trial of a search study and `retrain.settings` those of a retrain study; their `data` key is
not read, since every trial takes the study's top-level `data` section.  `space` maps dotted
keys (`search.temperature.initial`) to how each varies; `searcher` and `scheduler` hold the
keys of the policy their `name` chooses, one table per policy below.
"""


def study_page() -> str:
    """The whole page, as Markdown."""
    lines = [_INTRO]
    for group, rows in study_keys().items():
        name, _, policy = group.partition(": ")
        if policy:
            registry, default = POLICY_SECTIONS[name]
            cls = registry[policy]
            heading = f"## `{name}: {{name: {policy}}}`" + (" (default)" if policy == default else "")
            intro = inspect.getdoc(inspect.getmodule(cls)) or ""
            lines += [heading, "", cell(intro.split("\n\n")[0]), ""]
        elif group == TOP_LEVEL:
            lines += ["## Top-level keys", ""]
        else:
            lines += [f"## `{name}`", ""]
            model = _section_model(Study.model_fields[name].annotation)
            if model is not None and model.__doc__:
                lines += [cell(inspect.cleandoc(model.__doc__).split("\n\n")[0]), ""]
        lines += _table(rows) + [""]
        if name == "search":
            lines += ["Defaults the method fills in when the study leaves them out (a setting the study "
                      "gives always wins; the resource λ, when not given, is the official code's value for "
                      "the estimator):", ""] + _method_defaults() + [""]
    return "\n".join(lines)

