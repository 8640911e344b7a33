"""Drawings of a genotype's cells, written as PNG and SVG.

Each space draws its genotypes (:meth:`snas.spaces.base.SearchSpace.figure`; the look they
share: :mod:`snas.drawstyle`); this module writes the drawing to files, each marked as
ours, so a later drawing may replace a file this code wrote and leave anyone else's alone.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

from matplotlib.figure import Figure

from snas.atomic import atomic_write
from snas.spaces import space_of
from snas.spaces.base import AnyGenotype


def genotype_figure(genotype: AnyGenotype, title: str | None = None) -> Figure:
    """The drawing of a genotype of any space."""
    return space_of(genotype).figure(genotype, title)


MARKER = "snas-study cell drawing"
"""Written into every drawing's metadata (PNG ``Software``, SVG ``Creator``), so a later
drawing may replace a file this code wrote and leave anyone else's alone."""
_METADATA_KEY = {"png": "Software", "svg": "Creator"}
_MARKER_WITHIN = 4096  # bytes: both formats put the metadata before the picture


def is_drawing(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a drawing this module wrote."""
    try:
        with open(path, "rb") as handle:
            return MARKER.encode("ascii") in handle.read(_MARKER_WITHIN)
    except OSError:
        return False


def drawing_paths(out: str | os.PathLike[str]) -> list[Path]:
    """The PNG and the SVG that :func:`draw_genotype` writes for ``out``.

    ``out`` may name either format or none (``cells``, ``cells.png``, ``cells.svg`` all mean
    ``cells.png`` and ``cells.svg``).
    """
    out = Path(out)
    stem = out.with_suffix("") if out.suffix.lower() in (".png", ".svg") else out
    return [stem.with_name(f"{stem.name}.{fmt}") for fmt in _METADATA_KEY]


def draw_genotype(genotype: AnyGenotype, out: str | os.PathLike[str], title: str | None = None) -> list[Path]:
    """Write the genotype's drawing to :func:`drawing_paths` of ``out``, each file atomically
    and marked as ours (:data:`MARKER`); return both paths."""
    fig = genotype_figure(genotype, title)
    for path in drawing_paths(out):
        fmt = path.suffix[1:]
        atomic_write(path, partial(fig.savefig, format=fmt, dpi=150, metadata={_METADATA_KEY[fmt]: MARKER}))
    return drawing_paths(out)
