import random
from collections import Counter

import pytest
import torch

from snas.genotype import GenotypeError, genotype_id
from snas.spaces.darts.genotype import (
    Genotype,
    cell_count,
    derive_cell,
    derive_genotype,
    random_cell,
    random_genotype,
)
from snas.spaces.darts.primitives import PRIMITIVES, edge_index

OPS = {name: k for k, name in enumerate(PRIMITIVES)}


def row(**probs):
    """A probability row: the named ops get their probability, the rest share what is left."""
    rest = (1.0 - sum(probs.values())) / (len(PRIMITIVES) - len(probs))
    return [probs.get(name, rest) for name in PRIMITIVES]


UNIFORM = row()
CELL = {
    (0, 2): row(sep_conv_3x3=0.5),
    (1, 2): row(none=0.9, max_pool_3x3=0.05),
    (0, 3): row(skip_connect=0.4), (1, 3): UNIFORM, (2, 3): row(dil_conv_3x3=0.6),
    (0, 4): row(avg_pool_3x3=0.3), (1, 4): row(sep_conv_5x5=0.7), (2, 4): UNIFORM, (3, 4): row(sep_conv_5x5=0.7),
    (0, 5): row(max_pool_3x3=0.3), (1, 5): UNIFORM, (2, 5): row(sep_conv_3x3=0.25, sep_conv_5x5=0.25),
    (3, 5): UNIFORM, (4, 5): row(dil_conv_5x5=0.3),
}
PROBS = torch.tensor([CELL[edge] for edge in sorted(CELL, key=lambda e: edge_index(*e))])


def test_darts_rule_keeps_two_strongest_non_none_edges_with_ties_to_lower_inputs():
    assert derive_cell(PROBS, "darts") == (
        ("sep_conv_3x3", 0), ("max_pool_3x3", 1),      # `none` never chosen
        ("dil_conv_3x3", 2), ("skip_connect", 0),
        ("sep_conv_5x5", 1), ("sep_conv_5x5", 3),      # tie between edges: lower input first
        ("max_pool_3x3", 0), ("dil_conv_5x5", 4),
    )


def test_edge_all_keeps_every_edge_with_its_argmax_op_none_included():
    assert derive_cell(PROBS, "edge_all") == (
        ("none", 1), ("sep_conv_3x3", 0),
        ("dil_conv_3x3", 2), ("skip_connect", 0), ("none", 1),          # uniform row: tie -> first op
        ("sep_conv_5x5", 1), ("sep_conv_5x5", 3), ("avg_pool_3x3", 0), ("none", 2),
        ("max_pool_3x3", 0), ("dil_conv_5x5", 4), ("sep_conv_3x3", 2),  # op tie -> first op
        ("none", 1), ("none", 3),
    )


def test_derive_genotype_reads_alpha_as_logits():
    alpha = torch.log(PROBS) + 3.0  # shift: softmax is invariant
    genotype = derive_genotype(alpha, alpha, "darts")
    assert genotype.normal == derive_cell(PROBS, "darts")
    assert genotype.normal_concat == (2, 3, 4, 5)
    assert genotype.form == "darts"
    assert derive_genotype(alpha, alpha, "edge_all").form == "edge_all"


DARTS_V2_TEXT = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
    "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
    "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], "
    "reduce_concat=[2, 3, 4, 5])"
)


def test_darts_repr_round_trip():
    genotype = Genotype.parse(DARTS_V2_TEXT)
    assert str(genotype) == DARTS_V2_TEXT
    assert genotype.nodes("normal")[3] == (("skip_connect", 0), ("dil_conv_3x3", 2))


def test_json_round_trip():
    genotype = Genotype.parse(DARTS_V2_TEXT)
    assert Genotype.from_json(genotype.to_json()) == genotype


def test_range_concat_and_autodl_nesting_are_accepted():
    text = ("Genotype(normal=[(('skip_connect', 0), ('skip_connect', 1)), (('skip_connect', 0), ('sep_conv_5x5', 2)),"
            " (('sep_conv_3x3', 3), ('skip_connect', 0)), (('sep_conv_5x5', 4), ('sep_conv_3x3', 3))],"
            " normal_concat=range(2, 6), reduce=[(('sep_conv_5x5', 0), ('sep_conv_3x3', 1)),"
            " (('sep_conv_5x5', 2), ('sep_conv_5x5', 1)), (('dil_conv_5x5', 2), ('sep_conv_3x3', 1)),"
            " (('sep_conv_5x5', 0), ('sep_conv_5x5', 1))], reduce_concat=range(2, 6))")
    genotype = Genotype.parse(text)
    assert genotype.normal[3] == ("sep_conv_5x5", 2)
    assert genotype.reduce_concat == (2, 3, 4, 5)


@pytest.mark.parametrize("text, message", [
    ("Genotype(normal=[('conv_9x9', 0)] * 8, normal_concat=[2], reduce=[], reduce_concat=[2])", "unsupported"),
    (DARTS_V2_TEXT.replace("('sep_conv_3x3', 0)", "('conv_9x9', 0)", 1), "unknown primitive 'conv_9x9'"),
    (DARTS_V2_TEXT.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"), "node 5 cannot read input 5"),
    (DARTS_V2_TEXT.replace("('dil_conv_3x3', 2)], ", "], "), "needs 8"),
    (DARTS_V2_TEXT.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=[2, 9]"), "normal_concat"),
    ("__import__('os').system('true')", "must look like Genotype"),
    ("Genotype(normal=", "cannot parse"),
    (DARTS_V2_TEXT.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=range('a')"), "bad range"),
    (DARTS_V2_TEXT.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=range(2, 6, 0)"), "bad range"),
    (DARTS_V2_TEXT.replace("normal_concat=[2, 3, 4, 5]", "normal_concat='2345'"), "normal_concat must be a list"),
    (DARTS_V2_TEXT.replace("('sep_conv_3x3', 0)", "('sep_conv_3x3', 0.5)", 1), "must be a whole number, got 0.5"),
    (DARTS_V2_TEXT.replace("('sep_conv_3x3', 0)", "('sep_conv_3x3', 0, 1)", 1), "expected an \\(op, input\\) pair"),
    ("Genotype(normal='abc', normal_concat=[2], reduce=[], reduce_concat=[2])", "a cell must be a list"),
    ("Genotype(normal=[[[('sep_conv_3x3', 0)]]], normal_concat=[2], reduce=[], reduce_concat=[2])",
     "expected an \\(op, input\\) pair"),
])
def test_bad_genotype_text_is_refused_clearly(text, message):
    with pytest.raises(GenotypeError, match=message):
        Genotype.parse(text)


def test_bad_json_is_refused():
    with pytest.raises(GenotypeError, match="invalid"):
        Genotype.from_json("{nope")
    with pytest.raises(GenotypeError, match="missing reduce"):
        Genotype.from_json('{"normal": [], "normal_concat": [2], "reduce_concat": [2]}')
    with pytest.raises(GenotypeError, match="invalid: Exceeds the limit"):  # Python's JSON refuses 5,000 digits
        Genotype.from_json('{"normal": [], "normal_concat": [' + "2" * 5000 + ']}')


def test_json_nested_too_deeply_is_refused():
    with pytest.raises(GenotypeError, match="nested too deeply"):
        Genotype.from_json("[" * 100_000 + "]" * 100_000)


def test_genotype_id_ignores_how_the_cell_was_written():
    genotype = Genotype.parse(DARTS_V2_TEXT)
    reordered = Genotype(
        normal=tuple(pair for node in genotype.nodes("normal") for pair in reversed(node)),
        normal_concat=tuple(reversed(genotype.normal_concat)), reduce=genotype.reduce,
        reduce_concat=genotype.reduce_concat)
    assert reordered != genotype and genotype_id(reordered) == genotype_id(genotype)
    assert genotype_id(Genotype.from_json(genotype.to_json())) == genotype_id(genotype)
    ident = genotype_id(genotype)
    assert len(ident) == 12 and int(ident, 16) >= 0


def test_an_edge_all_genotype_with_two_kept_edges_per_node_is_its_darts_form():
    darts = Genotype.parse(DARTS_V2_TEXT)
    edge_all = {}
    for cell in ("normal", "reduce"):
        pairs = []
        for n, node in enumerate(darts.nodes(cell)):
            kept = {src: op for op, src in node}
            assert len(kept) == 2  # distinct inputs: the cell has an edge_all form
            pairs += [(kept.get(src, "none"), src) for src in range(2 + n)]
        edge_all[cell] = tuple(pairs)
    other = Genotype(normal=edge_all["normal"], normal_concat=(2, 3, 4, 5),
                     reduce=edge_all["reduce"], reduce_concat=(2, 3, 4, 5))
    assert other.form == "edge_all" and genotype_id(other) == genotype_id(darts)


def test_genotype_id_tells_different_cells_apart():
    genotype = Genotype.parse(DARTS_V2_TEXT)
    normal = list(genotype.normal)
    normal[0] = ("sep_conv_5x5", 0)
    changed = Genotype(tuple(normal), genotype.normal_concat, genotype.reduce, genotype.reduce_concat)
    swapped = Genotype(genotype.reduce, genotype.reduce_concat, genotype.normal, genotype.normal_concat)
    shorter = Genotype(genotype.normal, (2, 3, 4), genotype.reduce, genotype.reduce_concat)
    assert len({genotype_id(g) for g in (genotype, changed, swapped, shorter)}) == 4


@pytest.mark.parametrize("rule", ["darts", "edge_all"])
def test_random_genotypes_are_valid_for_their_rule_and_seeded(rule):
    draws = [random_genotype(rule, random.Random(7)) for _ in range(2)]
    assert draws[0] == draws[1] and draws[0] != random_genotype(rule, random.Random(8))
    rng = random.Random(0)
    for _ in range(200):
        genotype = random_genotype(rule, rng)
        assert genotype.form == rule and genotype.normal_concat == genotype.reduce_concat == (2, 3, 4, 5)
        for cell in ("normal", "reduce"):
            for n, node in enumerate(genotype.nodes(cell)):
                sources = [src for _, src in node]
                if rule == "darts":  # what the top-2 rule derives: two distinct inputs, no `none`
                    assert len(set(sources)) == 2 and all(op != "none" for op, _ in node)
                else:
                    assert sources == list(range(2 + n))


def test_random_darts_cells_are_uniform_over_input_pairs_and_ops():
    """Node 4 (inputs 0..3) has 6 input pairs × 7 × 7 ops: every pair and op equally likely."""
    rng, draws = random.Random(1), 6000
    pairs, ops = Counter(), Counter()
    for _ in range(draws):
        node = random_cell("darts", rng)[4:6]
        pairs[tuple(src for _, src in node)] += 1
        ops.update(op for op, _ in node)
    assert set(pairs) == {(a, b) for a in range(4) for b in range(a + 1, 4)}
    expected_pair, expected_op = draws / 6, 2 * draws / 7
    assert sum((n - expected_pair) ** 2 / expected_pair for n in pairs.values()) < 20.5  # χ², 5 dof, p = 0.001
    assert sum((n - expected_op) ** 2 / expected_op for n in ops.values()) < 22.5  # χ², 6 dof, p = 0.001
    assert cell_count("darts") == (1 * 49) * (3 * 49) * (6 * 49) * (10 * 49)
    assert cell_count("edge_all") == 8**14
