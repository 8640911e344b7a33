"""Turning validation failures into the one clear message a user sees."""

from __future__ import annotations

from pydantic import BaseModel, ValidationError

from harness.keys import suggestion
from snas.errors import UserInputError

FORM_TAG = "<form>"
"""How a section that takes one of several forms (:data:`harness.study.schema.ObjectiveSection`)
tags them; a key path leaves the tag out (``objective.1.mode``, not ``objective.<form>list.1.mode``)."""


def describe(err: ValidationError, prefix: str = "", unprefixed: tuple[str, ...] = (), scope: str = "",
             study_model: type[BaseModel] | None = None) -> str:
    """One ``key.path: what is wrong`` per problem; ``prefix`` is prepended to key paths
    (the section a nested config came from) except those starting with ``unprefixed``.
    ``scope`` is where the validated keys live in a study (``search``, ``retrain.settings``;
    empty when they are a study's), for the did-you-mean of an unknown key; ``study_model``
    (the study file's model) makes a study's own sections known to it."""
    lines = []
    for problem in err.errors():
        loc = [str(p) for p in problem["loc"] if not str(p).startswith(FORM_TAG)]
        if prefix and not (loc and loc[0] in unprefixed):
            loc = prefix.split(".") + loc
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            meant = suggestion(".".join(loc), "" if prefix else scope, study_model)
            message = f"unknown key; did you mean {meant}?" if meant else \
                "unknown key (check the spelling; see the study files in studies/ for the keys)"
        lines.append(f"{'.'.join(loc)}: {message}" if loc else message)  # a whole-model check names its keys
    return "; ".join(lines)


def invalid(err: ValidationError, what: str, prefix: str = "", unprefixed: tuple[str, ...] = (),
            scope: str = "", study_model: type[BaseModel] | None = None) -> UserInputError:
    return UserInputError(f"invalid {what}: {describe(err, prefix, unprefixed, scope, study_model)}")
