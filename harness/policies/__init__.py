"""The registries of searchers and schedulers (:mod:`harness.policies.base` says what each is).

Adding one is a module defining a :class:`~harness.policies.base.Searcher` or
:class:`~harness.policies.base.Scheduler` subclass (its settings as fields, a ``name``
literal) and one entry below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from harness.policies.asha import AshaScheduler
from harness.policies.base import Policy, Scheduler, Searcher
from harness.policies.fifo import FifoScheduler
from harness.policies.grid import GridSearcher
from harness.policies.moasha import MoAshaScheduler
from harness.policies.optuna import OptunaSearcher
from harness.policies.pb2 import Pb2Scheduler
from harness.policies.pbt import PbtScheduler
from harness.policies.random import RandomSearcher
from harness.policies.replay import ReplayScheduler
from snas.registry import Registry

SEARCHERS: Registry[type[Searcher]] = Registry("searcher", {
    "grid": GridSearcher,
    "random": RandomSearcher,
    "optuna": OptunaSearcher,
})
SCHEDULERS: Registry[type[Scheduler]] = Registry("scheduler", {
    "fifo": FifoScheduler,
    "asha": AshaScheduler,
    "moasha": MoAshaScheduler,
    "pbt": PbtScheduler,
    "pb2": Pb2Scheduler,
    "replay": ReplayScheduler,
})
DEFAULT_SEARCHER = "grid"
DEFAULT_SCHEDULER = "asha"


def chosen_policy(registry: Mapping[str, type[Policy]], default: str) -> Callable[[Any, Any], Policy]:
    """A pydantic wrap validator for a study's ``searcher:`` / ``scheduler:`` section: the
    registry's class its ``name`` (else ``default``) names, validated with the section's keys,
    so that an error names ``scheduler.grace_period``, not a union member."""
    def validate(value: Any, handler: Any) -> Policy:
        if isinstance(value, Policy):
            return value
        if not isinstance(value, Mapping):
            return handler(value)  # pydantic's own "Input should be a valid dictionary"
        name = value.get("name", default)
        return registry[name].model_validate({**value, "name": name})
    return validate


def foreign_keys(registry: Mapping[str, type[Policy]], section: Mapping[str, Any],
                 default: str) -> dict[str, list[str]]:
    """The keys of a study's policy section that its named policy does not read, each with the
    policies that do (a key no policy reads is left to the schema's did-you-mean)."""
    name = section.get("name", default)
    if name not in registry:
        return {}
    own = registry[name].model_fields
    return {key: [other for other, cls in registry.items() if key in cls.model_fields]
            for key in section if key not in own and any(key in cls.model_fields for cls in registry.values())}


__all__ = ["SEARCHERS", "SCHEDULERS", "DEFAULT_SEARCHER", "DEFAULT_SCHEDULER", "Policy", "Searcher", "Scheduler",
           "chosen_policy", "foreign_keys"]
