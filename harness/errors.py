"""Turning validation failures into the one clear message a user sees."""

from __future__ import annotations

from pydantic import ValidationError

from snas.errors import UserInputError


def describe(err: ValidationError, prefix: str = "") -> str:
    """One line per problem: ``key.path: what is wrong``."""
    lines = []
    for problem in err.errors():
        path = ".".join(str(p) for p in (prefix.split(".") if prefix else []) + list(problem["loc"]))
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see the study files in studies/ for the keys)"
        lines.append(f"{path or '(top level)'}: {message}")
    return "; ".join(lines)


def invalid(err: ValidationError, what: str, prefix: str = "") -> UserInputError:
    return UserInputError(f"invalid {what}: {describe(err, prefix)}")
