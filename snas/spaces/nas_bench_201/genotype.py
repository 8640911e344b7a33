"""NAS-Bench-201 genotypes: one op per edge, written as the benchmark writes them.

``|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|skip_connect~2|``
(``op~source`` per edge, nodes 1..3 separated by ``+``).  A search derives the argmax op of
every edge, ``none`` included (no top-2 rule).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from snas.genotype import GenotypeError
from snas.spaces.nas_bench_201.primitives import NAME, NODES, PRIMITIVES, cell_edges

if TYPE_CHECKING:
    import torch

Pair = tuple[str, int]


@dataclass(frozen=True)
class CellGenotype:
    """A NAS-Bench-201 cell: the op on each edge, grouped by target node (1, 2, 3).

    Within a node the pairs are kept in source order, so equal cells compare equal and
    print the same string whatever order they were written in.
    """

    nodes: tuple[tuple[Pair, ...], ...]
    space: ClassVar[str] = NAME
    form: ClassVar[str] = NAME

    def __post_init__(self) -> None:
        if len(self.nodes) != NODES - 1:
            raise GenotypeError(f"a NAS-Bench-201 cell has {NODES - 1} nodes, got {len(self.nodes)}")
        nodes = []
        for target, node in enumerate(self.nodes, start=1):
            pairs = tuple(sorted(((str(op), int(source)) for op, source in node), key=lambda p: p[1]))
            for op, source in pairs:
                if op not in PRIMITIVES:
                    raise GenotypeError(f"node {target}: unknown op {op!r} in {op}~{source}; "
                                        f"choose from {', '.join(PRIMITIVES)}")
            if [source for _, source in pairs] != list(range(target)):
                raise GenotypeError(f"node {target} needs one edge from each of nodes 0..{target - 1}, "
                                    f"got inputs {[source for _, source in pairs]}")
            nodes.append(pairs)
        object.__setattr__(self, "nodes", tuple(nodes))

    def edges(self) -> tuple[str, ...]:
        """The op of every edge, in α row order."""
        return tuple(op for node in self.nodes for op, _ in node)

    @classmethod
    def from_edges(cls, ops: tuple[str, ...] | list[str]) -> CellGenotype:
        """The cell with op ``ops[e]`` on edge ``e`` (α row order)."""
        nodes: list[list[Pair]] = [[] for _ in range(NODES - 1)]
        for op, (source, target) in zip(ops, cell_edges(), strict=True):
            nodes[target - 1].append((op, source))
        return cls(tuple(tuple(node) for node in nodes))

    def __str__(self) -> str:
        return "+".join("|" + "|".join(f"{op}~{source}" for op, source in node) + "|" for node in self.nodes)

    @classmethod
    def parse(cls, text: str) -> CellGenotype:
        """Read the benchmark's string form; a malformed one is refused naming its bad part."""
        text = text.strip()
        parts = text.split("+")
        if len(parts) != NODES - 1:
            raise GenotypeError(f"a NAS-Bench-201 genotype has {NODES - 1} nodes separated by '+', "
                                f"got {len(parts)} in {text!r:.120}")
        nodes = []
        for target, part in enumerate(parts, start=1):
            if len(part) < 2 or not (part.startswith("|") and part.endswith("|")):
                raise GenotypeError(f"node {target} of a NAS-Bench-201 genotype must look like |op~input|...|, "
                                    f"got {part!r:.80}")
            pairs = []
            for token in part[1:-1].split("|"):
                op, tilde, source = token.partition("~")
                if not tilde or not source.isdigit():
                    raise GenotypeError(f"bad token {token!r} in node {target} of a NAS-Bench-201 genotype: "
                                        f"expected op~input, e.g. nor_conv_3x3~0")
                if op not in PRIMITIVES:
                    raise GenotypeError(f"bad token {token!r} in node {target}: unknown op {op!r}; "
                                        f"choose from {', '.join(PRIMITIVES)}")
                if int(source) >= target:
                    raise GenotypeError(f"bad token {token!r}: node {target} can only read nodes 0..{target - 1}")
                pairs.append((op, int(source)))
            nodes.append(tuple(pairs))
        return cls(tuple(nodes))

    def canonical(self) -> list[str]:
        """The op of every edge in α row order (the pairs are kept in source order already)."""
        return list(self.edges())

    def to_dict(self) -> dict[str, Any]:
        return {"space": NAME, "arch": str(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CellGenotype:
        arch = data.get("arch")
        if not isinstance(arch, str):
            raise GenotypeError("a NAS-Bench-201 genotype mapping needs 'arch': the |op~input|+... string")
        return cls.parse(arch)


def derive_cell(alpha: torch.Tensor) -> CellGenotype:
    """The argmax op of every edge (``none`` included; ties to the lower op index)."""
    index = alpha.detach().float().argmax(dim=-1).tolist()
    return CellGenotype.from_edges([PRIMITIVES[k] for k in index])
