"""Every settings key a study file (or ``--set``) can name, for did-you-mean suggestions.

An unknown key gets the closest known one under the same section (``tempreature`` ->
``temperature``), or the setting an official script's name means (``learning_rate`` ->
``weights.lr``, from :mod:`harness.official`).
"""

from __future__ import annotations

import difflib
import functools

from pydantic import BaseModel

from harness.kinds import KINDS
from harness.policies import SCHEDULERS, SEARCHERS, Policy, Searcher


def _paths(model: type[BaseModel], prefix: str) -> set[str]:
    paths = set()
    for name, field in model.model_fields.items():
        path = f"{prefix}{field.alias or name}"
        paths.add(path)
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, Policy):  # every registered policy's keys
            registry = SEARCHERS if issubclass(annotation, Searcher) else SCHEDULERS
            for policy in registry.values():
                paths |= _paths(policy, path + ".")
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths |= _paths(annotation, path + ".")
    return paths


@functools.cache
def known_keys(study_model: type[BaseModel] | None = None) -> frozenset[str]:
    """Dotted keys of a study: its sections (the fields of ``study_model``, the study file's
    model, when given: :mod:`harness.study` passes it, so this module need not import it),
    and each trial kind's settings under its section."""
    keys = _paths(study_model, "") if study_model is not None else set()
    for kind in KINDS.values():
        keys |= {p for p in _paths(kind.config_model(), f"{kind.section}.")
                 if not p.startswith(f"{kind.section}.data")}
    return frozenset(keys)


def _official_meaning(name: str, parent: str, known: frozenset[str]) -> list[str]:
    from harness.official import OFFICIAL_FLAGS

    found = []
    for flag in OFFICIAL_FLAGS:
        if name in (f.lstrip("-") for f in flag.flags):
            found += [f"{parent}{key}" for key in (flag.search, flag.train) if key]
    return [key for key in found if key in known]


def suggestion(path: str, scope: str = "", study_model: type[BaseModel] | None = None) -> str | None:
    """The known key ``path`` (relative to ``scope``, e.g. ``search``) was probably meant to be;
    a study's own sections are known only with ``study_model``."""
    known = known_keys(study_model)
    full = f"{scope}.{path}" if scope else path
    parent, _, name = full.rpartition(".")
    parent = parent + "." if parent else ""
    siblings = sorted({key[len(parent):].split(".")[0] for key in known if key.startswith(parent)})
    meant = _official_meaning(name, parent, known) or [parent + m for m in difflib.get_close_matches(name, siblings, 1)]
    if not meant:
        return None
    return meant[0][len(scope) + 1:] if scope and meant[0].startswith(scope + ".") else meant[0]
