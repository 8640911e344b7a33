"""Draw a genotype's normal and reduction cells as PNG and SVG (pure matplotlib, no graphviz).

GENOTYPE is a catalogue name (DARTS_V2, SNAS_mild_edge_all, ...), a genotype JSON file
(e.g. the genotype.json a search wrote, or the run or trial folder holding it) or
Genotype(...) text.  Inputs c_{k-2} and
c_{k-1} are green, intermediate nodes blue, the output c_{k} (the concatenation) yellow;
every edge is labelled with its op and `none` edges are left out.

  snas-study draw DARTS_V2 --out cells/darts_v2.png      # writes darts_v2.png and darts_v2.svg
  snas-study draw runs/snas-digits/genotype.json

An existing PNG or SVG of that name is replaced only if it is an earlier drawing of this
command (its metadata says so), or with --overwrite.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.outputs import check_drawing_outputs
from snas.catalogue import genotype_name, resolve_genotype


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("genotype",
                        help="catalogue name, genotype JSON file (or the run or trial folder holding genotype.json), "
                             "Genotype(...) text or |op~input|+... string")
    parser.add_argument("--out", type=Path,
                        help="where to write (PNG and SVG with this stem; default: ./<genotype name>.png)")
    parser.add_argument("--title", help="title above the cells (default: the genotype's name)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing files of those names")


def run(args: argparse.Namespace) -> int:
    from snas.draw import draw_genotype  # matplotlib: imported only when drawing

    name = genotype_name(args.genotype)
    out = args.out or Path(f"{name}.png")
    check_drawing_outputs(out, overwrite=args.overwrite, given=args.out is not None)
    genotype = resolve_genotype(args.genotype)
    for path in draw_genotype(genotype, out, title=args.title or name):
        print(path)
    return 0
