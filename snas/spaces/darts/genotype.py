"""DARTS genotypes: the discrete architecture a search hands to retraining.

A genotype lists, for the normal and the reduction cell, ``(op, input)`` pairs node by
node, plus which nodes the cell output concatenates.  Two forms exist:

* **DARTS form** -- two pairs per intermediate node (8 pairs for 4 steps), what the DARTS
  top-2 rule derives and what most papers publish;
* **edge_all form** -- every edge of the cell, ``n + 2`` pairs for node ``n`` (14 for 4
  steps), ``none`` included; SNAS's ``train_edge_all.py`` retrains these.

The form follows from the number of pairs.  Within a node, pairs may come in any order.

Deriving a genotype from α reads the tensors through their own methods: reading, checking
and naming genotypes (the study file, the offline analysis) loads no torch.
"""

from __future__ import annotations

import ast
import json
import math
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

from snas.genotype import GenotypeError, json_object
from snas.registry import unknown_name
from snas.spaces.darts.primitives import (
    INPUT_NODES,
    NAME,
    NONE_INDEX,
    PRIMITIVES,
    STEPS,
    cell_edges,
    check_primitive,
)

if TYPE_CHECKING:
    import torch

Pair = tuple[str, int]
DerivationRule = Literal["darts", "edge_all"]
DERIVATION_RULES: tuple[str, ...] = ("darts", "edge_all")


def derivation_rule(name: str) -> DerivationRule:
    """``name`` as the derivation rule it names; the registries' one error if it names none."""
    if name not in DERIVATION_RULES:
        raise unknown_name("derivation rule", name, DERIVATION_RULES)
    return cast(DerivationRule, name)
FORM_NAMES: dict[str, str] = {"darts": "DARTS form", "edge_all": "edge_all"}
"""A genotype's form (:attr:`Genotype.form`, named after the rule that derives it) in words."""

_DARTS_PAIRS = 2 * STEPS
_EDGE_ALL_PAIRS = sum(INPUT_NODES + n for n in range(STEPS))


def _group_by_node(pairs: tuple[Pair, ...]) -> tuple[tuple[Pair, ...], ...]:
    if len(pairs) == _DARTS_PAIRS:
        sizes = [2] * STEPS
    elif len(pairs) == _EDGE_ALL_PAIRS:
        sizes = [INPUT_NODES + n for n in range(STEPS)]
    else:
        raise GenotypeError(
            f"a cell needs {_DARTS_PAIRS} (op, input) pairs (DARTS form) or "
            f"{_EDGE_ALL_PAIRS} (edge_all form), got {len(pairs)}"
        )
    nodes, start = [], 0
    for size in sizes:
        nodes.append(pairs[start : start + size])
        start += size
    return tuple(nodes)


def _validate_cell(name: str, pairs: tuple[Pair, ...], concat: tuple[int, ...]) -> None:
    nodes = _group_by_node(pairs)
    for n, node in enumerate(nodes):
        for op, source in node:
            try:
                check_primitive(op)
            except ValueError as err:
                raise GenotypeError(f"{name}: {err}") from None
            if not 0 <= source < INPUT_NODES + n:
                raise GenotypeError(
                    f"{name}: node {INPUT_NODES + n} cannot read input {source} "
                    f"(valid inputs are 0..{INPUT_NODES + n - 1})"
                )
    valid = range(INPUT_NODES, INPUT_NODES + STEPS)
    if not concat or any(c not in valid for c in concat) or len(set(concat)) != len(concat):
        raise GenotypeError(f"{name}_concat must list distinct nodes from {list(valid)}, got {list(concat)}")


@dataclass(frozen=True)
class Genotype:
    """Normal and reduction cell of a child network."""

    normal: tuple[Pair, ...]
    normal_concat: tuple[int, ...]
    reduce: tuple[Pair, ...]
    reduce_concat: tuple[int, ...]
    space: ClassVar[str] = NAME
    """The search space (:mod:`snas.spaces`) this genotype belongs to."""

    def __post_init__(self) -> None:
        for field in ("normal", "reduce"):
            pairs = tuple((str(op), int(src)) for op, src in getattr(self, field))
            object.__setattr__(self, field, pairs)
            concat = tuple(int(c) for c in getattr(self, f"{field}_concat"))
            object.__setattr__(self, f"{field}_concat", concat)
            _validate_cell(field, pairs, concat)

    @property
    def form(self) -> DerivationRule:
        """``"darts"`` (two pairs per node) or ``"edge_all"`` (every edge)."""
        return "darts" if len(self.normal) == _DARTS_PAIRS else "edge_all"

    def nodes(self, cell: Literal["normal", "reduce"]) -> tuple[tuple[Pair, ...], ...]:
        """Pairs grouped by intermediate node (node ``INPUT_NODES + i`` at position ``i``)."""
        return _group_by_node(self.normal if cell == "normal" else self.reduce)

    def canonical(self) -> dict[str, Any]:
        """The cells as a network sees them: per node the sorted multiset of its non-``none``
        ``(op, input)`` pairs, and the set of concatenated nodes.

        Edge order within a node (strongest first, as derived, or as a paper wrote it) and
        concat order change nothing, and a ``none`` edge builds nothing (:mod:`snas.spaces.darts.childnet`),
        so an edge_all genotype with two non-``none`` edges per node is the DARTS-form
        genotype of those edges.  Isomorphic cells (nodes renumbered) stay distinct.
        """
        return {
            cell: {
                "nodes": [sorted([op, src] for op, src in node if op != "none") for node in self.nodes(cell)],
                "concat": sorted(getattr(self, f"{cell}_concat")),
            }
            for cell in ("normal", "reduce")
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "normal": [list(p) for p in self.normal],
            "normal_concat": list(self.normal_concat),
            "reduce": [list(p) for p in self.reduce],
            "reduce_concat": list(self.reduce_concat),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Genotype:
        missing = {"normal", "normal_concat", "reduce", "reduce_concat"} - set(data)
        if missing:
            raise GenotypeError(f"genotype is missing {', '.join(sorted(missing))}")
        try:
            return cls(
                normal=tuple(_flatten_pairs(data["normal"])),
                normal_concat=_concat(data["normal_concat"], "normal_concat"),
                reduce=tuple(_flatten_pairs(data["reduce"])),
                reduce_concat=_concat(data["reduce_concat"], "reduce_concat"),
            )
        except (TypeError, ValueError) as err:
            if isinstance(err, GenotypeError):
                raise
            raise GenotypeError(f"malformed genotype: {err}") from None

    @classmethod
    def from_json(cls, text: str) -> Genotype:
        return cls.from_dict(json_object(text, "an object with normal/reduce keys"))

    def __str__(self) -> str:
        """The DARTS ``repr`` form, readable by DARTS-family code and by :meth:`parse`."""
        return (
            f"Genotype(normal={list(self.normal)}, normal_concat={list(self.normal_concat)}, "
            f"reduce={list(self.reduce)}, reduce_concat={list(self.reduce_concat)})"
        )

    @classmethod
    def parse(cls, text: str) -> Genotype:
        """Parse the DARTS repr string (``Genotype(normal=[('sep_conv_3x3', 0), ...], ...)``).

        ``range(2, 6)`` concats and AutoDL's per-node nested tuples are accepted.  The text
        is parsed, never executed.  The form :meth:`__str__` writes (every epoch of every
        search reports one) is read by a pattern, without Python's parser: the analysis of a
        large study reads tens of thousands of them.
        """
        canonical = _CANONICAL.fullmatch(text.strip())
        if canonical is not None:
            return cls.from_dict({
                "normal": _pairs(canonical["normal"]), "normal_concat": _indices(canonical["normal_concat"]),
                "reduce": _pairs(canonical["reduce"]), "reduce_concat": _indices(canonical["reduce_concat"])})
        try:
            tree = ast.parse(text.strip(), mode="eval").body
        except SyntaxError as err:
            raise GenotypeError(f"cannot parse genotype text: {err.msg}") from None
        if not (isinstance(tree, ast.Call) and isinstance(tree.func, ast.Name) and tree.func.id == "Genotype"):
            raise GenotypeError("genotype text must look like Genotype(normal=[...], normal_concat=[...], ...)")
        if tree.args:
            raise GenotypeError("genotype text must use keyword arguments (normal=..., reduce=...)")
        fields = {kw.arg: _literal(kw.value) for kw in tree.keywords if kw.arg}
        return cls.from_dict(fields)


_PAIR = r"\('[a-z0-9_]+', \d+\)"
_CANONICAL = re.compile(
    rf"Genotype\(normal=\[(?P<normal>(?:{_PAIR}(?:, {_PAIR})*)?)\], normal_concat=\[(?P<normal_concat>[\d, ]*)\], "
    rf"reduce=\[(?P<reduce>(?:{_PAIR}(?:, {_PAIR})*)?)\], reduce_concat=\[(?P<reduce_concat>[\d, ]*)\]\)")
"""The text :meth:`Genotype.__str__` writes: op names and whole numbers, nothing else."""


def _pairs(text: str) -> list[tuple[str, int]]:
    return [(op, int(index)) for op, index in re.findall(r"\('([a-z0-9_]+)', (\d+)\)", text)]


def _indices(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _literal(node: ast.expr) -> Any:
    if (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range"
        and not node.keywords
    ):
        bounds = [_literal(a) for a in node.args]
        try:
            return list(range(*bounds))
        except (TypeError, ValueError) as err:
            raise GenotypeError(f"bad range in genotype text: {ast.unparse(node)} ({err})") from None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise GenotypeError(f"unsupported expression in genotype text: {ast.unparse(node)}") from None


def _index(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise GenotypeError(f"{what} must be a whole number, got {value!r}")
    return value


def _flatten_pairs(items: Any, nested: bool = False) -> Iterable[Pair]:
    """The (op, input) pairs of a cell; AutoDL nests the pairs of each node one level deep."""
    if not isinstance(items, (list, tuple)):
        raise GenotypeError(f"a cell must be a list of (op, input) pairs, got {items!r:.80}")
    for item in items:
        if isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str):
            yield (item[0], _index(item[1], f"the input of {item[0]!r}"))
        elif isinstance(item, (list, tuple)) and not nested:
            yield from _flatten_pairs(item, nested=True)
        else:
            raise GenotypeError(f"expected an (op, input) pair, got {item!r:.80}")


def _concat(value: Any, field: str) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)):
        raise GenotypeError(f"{field} must be a list of node indices, got {value!r:.80}")
    return tuple(_index(v, f"{field} entry") for v in value)


def random_cell(rule: DerivationRule, rng: random.Random) -> tuple[Pair, ...]:
    """A cell drawn uniformly from the cells ``rule`` can derive.

    ``darts``: per node two distinct inputs (every pair of the earlier nodes equally likely)
    with a non-``none`` op each, drawn independently.  ``edge_all``: every edge with any op,
    ``none`` included.  Each distinct cell is equally likely (pairs are listed by input).
    """
    if rule not in DERIVATION_RULES:
        raise unknown_name("derivation rule", rule, DERIVATION_RULES)
    ops = [op for op in PRIMITIVES if op != "none"] if rule == "darts" else list(PRIMITIVES)
    pairs: list[Pair] = []
    for n in range(STEPS):
        fan_in = INPUT_NODES + n
        sources = sorted(rng.sample(range(fan_in), 2)) if rule == "darts" else range(fan_in)
        pairs += [(rng.choice(ops), src) for src in sources]
    return tuple(pairs)


def random_genotype(rule: DerivationRule, rng: random.Random) -> Genotype:
    """A genotype whose normal and reduction cells are drawn independently by :func:`random_cell`."""
    concat = tuple(range(INPUT_NODES, INPUT_NODES + STEPS))
    return Genotype(normal=random_cell(rule, rng), normal_concat=concat,
                    reduce=random_cell(rule, rng), reduce_concat=concat)


def cell_count(rule: DerivationRule) -> int:
    """How many distinct cells ``rule`` can derive (what :func:`random_cell` draws from)."""
    if rule == "darts":
        return math.prod(math.comb(INPUT_NODES + n, 2) * (len(PRIMITIVES) - 1) ** 2 for n in range(STEPS))
    return int(len(PRIMITIVES) ** _EDGE_ALL_PAIRS)  # int(): typeshed types int ** int as Any


def derive_cell(probs: torch.Tensor, rule: DerivationRule) -> tuple[Pair, ...]:
    """Discretise one cell from its per-edge op probabilities (``num_edges × num_ops``).

    ``darts``: per node keep the two incoming edges whose strongest non-``none`` op is most
    probable, each with that op.  ``edge_all``: keep every edge with its most probable op,
    ``none`` included.  Ties go to the lower source / op index (a stable sort, as in DARTS);
    kept edges are listed strongest first.
    """
    rows = probs.detach().cpu().double().tolist()
    pairs: list[Pair] = []
    start = 0
    for n in range(STEPS):
        fan_in = INPUT_NODES + n
        node = rows[start : start + fan_in]
        start += fan_in
        if rule == "darts":
            candidates = [[p if k != NONE_INDEX else float("-inf") for k, p in enumerate(r)] for r in node]
            keep = 2
        elif rule == "edge_all":
            candidates = node
            keep = fan_in
        else:
            raise unknown_name("derivation rule", rule, DERIVATION_RULES)
        order = sorted(range(fan_in), key=lambda src: -max(candidates[src]))[:keep]
        for src in order:
            best = max(range(len(PRIMITIVES)), key=lambda k: (candidates[src][k], -k))
            pairs.append((PRIMITIVES[best], src))
    return tuple(pairs)


def derive_genotype(alpha_normal: torch.Tensor, alpha_reduce: torch.Tensor, rule: DerivationRule) -> Genotype:
    """The genotype α describes under ``rule`` (α are per-edge logits)."""
    concat = tuple(range(INPUT_NODES, INPUT_NODES + STEPS))
    return Genotype(
        normal=derive_cell(alpha_normal.detach().float().softmax(dim=-1), rule),
        normal_concat=concat,
        reduce=derive_cell(alpha_reduce.detach().float().softmax(dim=-1), rule),
        reduce_concat=concat,
    )


_LARGEST_CELL = tuple(("sep_conv_5x5", source) for source, _ in cell_edges())
LARGEST_GENOTYPE = Genotype(normal=_LARGEST_CELL, normal_concat=tuple(range(INPUT_NODES, INPUT_NODES + STEPS)),
                            reduce=_LARGEST_CELL, reduce_concat=tuple(range(INPUT_NODES, INPUT_NODES + STEPS)))
"""The largest child a search can derive (every edge kept, every op the largest): the
evaluation-scale genotype is not known before the search, so its profile is checked with this."""
