"""The winner's cells, drawn for papers and quick looks."""

from __future__ import annotations

from harness.analysis.plots.common import Plot, PlotInput, save
from snas.draw import genotype_figure
from snas.spaces import parse_genotype

BEST_CELLS = "best_cells"
"""The file name (in ``plots/``) of the winner's cells; the report shows them with the
winner's genotype, so not again among the plots."""


def plot_best_cells(data: PlotInput) -> Plot | None:
    """The winner's cells (normal and reduction, or its space's one cell)."""
    if not data.best or not data.best[0].get("genotype"):
        return None
    top = data.best[0]
    genotype = parse_genotype(str(top["genotype"]))
    assert genotype is not None  # the table's genotypes were validated when read, and print parseably
    fig = genotype_figure(genotype, f"best trial {top['trial_id']}: {data.metric} = {top['score']:.2f}")
    return Plot(save(fig, data.folder, BEST_CELLS),
                f"cells of the best genotype (trial {top['trial_id']}, ranked by {data.metric})")
