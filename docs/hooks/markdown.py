"""Docstring and help text as Markdown: what both generated reference pages share."""

from __future__ import annotations

import re

_ROLE = re.compile(r":(?:mod|class|func|data|attr|meth|exc):`~?([^`]+)`")
_CODE = re.compile(r"(`[^`]*`)")


def escaped(text: str) -> str:
    """``text`` with placeholders such as ``results/<name>`` outside code shown as written,
    not taken for HTML tags (inside a code span Markdown shows them as they are)."""
    return "".join(part if part.startswith("`") else part.replace("<", "&lt;") for part in _CODE.split(text))


def inline(text: str) -> str:
    """Docstring text as Markdown: Sphinx roles and double backticks become code spans."""
    return escaped(_ROLE.sub(r"`\1`", text).replace("``", "`"))


def cell(text: str) -> str:
    """Text as one table cell: one line, its pipes escaped."""
    return " ".join(inline(text).split()).replace("|", "\\|")
