"""The official SNAS cost formulas, pinned on a few shapes with values worked out by hand."""

import pytest
import torch

from snas.resource import CellGeometry
from snas.spaces.darts.costs import COST_MODELS, cell_cost_table, darts_penalty, official_costs
from snas.spaces.darts.primitives import PRIMITIVES, edge_index
from snas.spaces.darts.supernet import SuperNet


def test_a_3x3_pool_counts_nine_macs_per_output_element():
    # y = 8, C = 16: MACs 9·64·16, memory 2·64·16 at stride 1; stride 2 from a 16×16 input: 5·64·16
    assert official_costs("max_pool_3x3", 16, 1, 8, 8) == (0, 9216, 2048)
    assert official_costs("avg_pool_3x3", 16, 2, 16, 16) == (0, 9216, 5120)


def test_an_identity_reads_and_writes_its_input():
    assert official_costs("skip_connect", 16, 1, 8, 8) == (0, 0, 2 * 16 * 64)


def test_a_stride_2_skip_reads_four_y_squared_pixels_per_branch():
    # FactorizedReduce(16, 16) to y = 8: size 2·16·8 = 256; MACs 256·64;
    # memory 2·64·(4·16 + 8) + 256 = 9472 (ours as executed: 16·(256 + 225) + 16·64 + 256 = 8976)
    assert official_costs("skip_connect", 16, 2, 16, 16) == (256, 16384, 9472)
    assert COST_MODELS["measured"]("skip_connect", 16, 2, 16, 16) == (256, 16384, 8976)


def test_a_sep_conv_at_both_strides():
    # sep_conv_3x3, C = 16: size 2·16·9 + 2·16² = 800; stride 1 on 8×8: memory 64·(7·16 + 16) + 800
    assert official_costs("sep_conv_3x3", 16, 1, 8, 8) == (800, 51200, 8992)
    # stride 2 from 16×16 (y = 8): memory 64·(10·16 + 16) + 800
    assert official_costs("sep_conv_3x3", 16, 2, 16, 16) == (800, 51200, 12064)
    # dil_conv_5x5: size 16·25 + 16² = 656; memory 64·(3·16 + 16) + 656
    assert official_costs("dil_conv_5x5", 16, 1, 8, 8) == (656, 41984, 4752)


@pytest.mark.parametrize("primitive", PRIMITIVES)
def test_the_models_agree_on_convolutions_and_parameters(primitive):
    """Where the op executes what the formula counts, official and measured are the same."""
    for stride, side in ((1, 8), (2, 16)):
        official = official_costs(primitive, 16, stride, side, side)
        measured = COST_MODELS["measured"](primitive, 16, stride, side, side)
        assert official[0] == measured[0]
        if "conv" in primitive or primitive == "none":
            assert official == measured


def test_cell_tables_use_the_official_formulas_by_default():
    c, h = 8, 16
    normal = cell_cost_table(CellGeometry(c, h, h, reduction=False))
    pool, skip = PRIMITIVES.index("max_pool_3x3"), PRIMITIVES.index("skip_connect")
    e_in = edge_index(0, 2)
    assert normal[:, e_in, pool].tolist() == [0, 9 * c * h * h, 2 * c * h * h]
    assert normal[:, e_in, skip].tolist() == [0, 0, 2 * c * h * h]


def cells(layers):
    """The cell geometries of a ``layers``-cell search network on 8×8 inputs (C = 4)."""
    return SuperNet(4, 10, layers).geometry(8, 8)


@pytest.mark.parametrize("layers, normal, reduce", [(5, 3, 2), (20, 18, 2)])
def test_the_official_normalisation_divides_by_6_and_2_at_any_depth(layers, normal, reduce):
    geometry = cells(layers)
    assert [c.reduction for c in geometry].count(False) == normal and len(geometry) == normal + reduce
    weights = torch.full((1, 14, 8), 1 / 8)
    alpha = torch.zeros(14, 8)
    by_rule = {}
    for rule in ("official", "mean"):
        pen = darts_penalty(geometry, method="discrete", separation="params", log_penalty=False,
                                              ratio=0.5, baseline=False, device=torch.device("cpu"),
                                              normalisation=rule)
        by_rule[rule] = pen((alpha, alpha), (weights, weights), 1.0).cost.item()
        per_cell = {kind: (costs[:, 0] * weights).sum(dim=(-1, -2)) for kind, costs in
                    (("normal", pen.costs[0]), ("reduce", pen.costs[1]))}
    official = per_cell["normal"].sum() / 6 + 0.5 * per_cell["reduce"].sum() / 2
    mean = per_cell["normal"].sum() / normal + 0.5 * per_cell["reduce"].sum() / reduce
    assert by_rule["official"] == pytest.approx(official.item(), rel=1e-6)
    assert by_rule["mean"] == pytest.approx(mean.item(), rel=1e-6)
    assert by_rule["official"] != pytest.approx(by_rule["mean"], rel=0.05)
