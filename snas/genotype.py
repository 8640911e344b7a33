"""What every space's genotypes share: the error for one that is not valid, reading one from
JSON, and the id that names equal cells equally.

Each search space defines its genotype type (:mod:`snas.spaces.darts.genotype`,
:mod:`snas.spaces.nas_bench_201.genotype`); :func:`snas.spaces.genotype_from_dict` turns
any mapping into the genotype of its space.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from snas.errors import UserInputError


class GenotypeError(UserInputError):
    """A genotype text, file or structure that does not describe a valid cell pair."""


def json_object(text: str, expected: str) -> dict[str, Any]:
    """The JSON object ``text`` holds; :class:`GenotypeError` naming ``expected`` otherwise."""
    try:
        data = json.loads(text)
    except ValueError as err:  # JSONDecodeError, or an integer of over 4,300 digits
        raise GenotypeError(f"genotype JSON is invalid: {err}") from None
    except RecursionError:
        raise GenotypeError("genotype JSON is nested too deeply to be a genotype") from None
    if not isinstance(data, dict):
        raise GenotypeError(f"genotype JSON must be {expected}")
    return data


def genotype_id(genotype: Any) -> str:
    """One name per genotype: 12 hex digits of the SHA-256 of its space and canonical form
    (``genotype.canonical()``), so equal cells get equal ids however they were written."""
    text = json.dumps({"space": genotype.space, "cells": genotype.canonical()}, sort_keys=True,
                      separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
