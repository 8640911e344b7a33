"""Cell drawings: real PNG and SVG files of a sensible size, for both genotype forms."""

import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from snas.catalogue import CATALOGUE
from snas.draw import draw_genotype, drawing_paths, genotype_figure, is_drawing
from snas.spaces.darts.genotype import Genotype
from snas.spaces.darts.primitives import PRIMITIVES, cell_edges


def texts(genotype):
    """The strings drawn in the figure (titles, node names, edge labels)."""
    fig = genotype_figure(genotype, title="t")
    return [t.get_text() for ax in fig.axes for t in ax.texts]


@pytest.mark.parametrize("name", ["DARTS_V2", "SNAS_mild_edge_all", "SNAS_aggressive"])
def test_drawing_writes_a_png_and_an_svg(tmp_path, name):
    png, svg = draw_genotype(CATALOGUE[name].genotype, tmp_path / "cells.png", title=name)
    assert (png.name, svg.name) == ("cells.png", "cells.svg")
    with Image.open(png) as image:
        image.load()
        width, height = image.size
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert 1000 <= width <= 4000 and 400 <= height <= 2000
    assert 1.5 <= width / height <= 6  # two cells side by side
    assert colours is not None and len(colours) > 50  # not a blank canvas
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")


def test_op_labels_are_the_kept_edges_and_none_is_left_out():
    genotype = CATALOGUE["SNAS_aggressive_edge_all"].genotype
    labels = [t for t in texts(genotype) if t in PRIMITIVES]
    kept = [op for op, _ in (*genotype.normal, *genotype.reduce) if op != "none"]
    assert sorted(labels) == sorted(kept)
    assert len(kept) == 10 < len(genotype.normal) + len(genotype.reduce) == 28


def test_a_cell_with_every_edge_kept_is_drawn_with_every_label():
    ops = [p for p in PRIMITIVES if p != "none"]
    pairs = tuple((ops[k % len(ops)], source) for k, (source, _) in enumerate(cell_edges()))
    genotype = Genotype(normal=pairs, normal_concat=(2, 3, 4, 5), reduce=pairs, reduce_concat=(2, 3, 4, 5))
    assert sum(t in PRIMITIVES for t in texts(genotype)) == 2 * 14
    assert "normal cell (edge_all)" in texts(genotype)


def test_output_without_suffix_gets_both_formats(tmp_path):
    paths = draw_genotype(CATALOGUE["GDAS_V1"].genotype, tmp_path / "sub" / "gdas")
    assert [p.name for p in paths] == ["gdas.png", "gdas.svg"]
    assert all(p.stat().st_size > 1000 for p in paths)


def test_drawings_are_marked_as_ours_and_other_pictures_are_not(tmp_path):
    assert drawing_paths(tmp_path / "cells") == drawing_paths(tmp_path / "cells.SVG") == [
        tmp_path / "cells.png", tmp_path / "cells.svg"]
    for path in draw_genotype(CATALOGUE["DARTS_V2"].genotype, tmp_path / "cells.png"):
        assert is_drawing(path)
    Image.new("RGB", (8, 8)).save(tmp_path / "photo.png")
    assert not is_drawing(tmp_path / "photo.png") and not is_drawing(tmp_path / "absent.png")
    assert not is_drawing(tmp_path)


def test_every_search_space_has_a_drawing():
    import random

    from snas.spaces import SPACES

    for space in SPACES.values():
        genotype = space.random_genotype(space.derivation_rules[0], random.Random(0))
        assert genotype_figure(genotype).axes, space.name
