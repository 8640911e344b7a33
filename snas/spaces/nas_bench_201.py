"""The NAS-Bench-201 search space (Dong & Yang, ICLR 2020): one cell, six edges, five ops.

The cell is a DAG of 4 nodes: node 0 is the cell input, node ``i`` (1..3) sums one edge
from every earlier node, and the cell output is node 3, so the cell has 6 edges.  The
edge order everywhere (rows of α, cost tables, the genotype string) is target-major, as in
the benchmark: 0→1, 0→2, 1→2, 0→3, 1→3, 2→3.  Each edge holds one of

``none`` (zeros), ``skip_connect`` (identity), ``nor_conv_1x1`` and ``nor_conv_3x3``
(ReLU → convolution → BatchNorm), ``avg_pool_3x3`` (stride 1, padding not counted).

Every cell keeps its channels and resolution.  The benchmark's macro network (AutoDL's
``TinyNetwork``): a 3×3 convolution stem to C channels + BN, three stages of N cells at
C, 2C, 4C with a residual reduction block between stages (the ResNet basic block at
stride 2: ReLU-conv3×3(s2)-BN, ReLU-conv3×3-BN, shortcut 2×2 average pool + 1×1 conv), then
BN-ReLU, global average pooling and a linear classifier.  The benchmark trains C = 16,
N = 5 on 32×32 CIFAR; 8×8 digits work too (the two reductions give 8 → 4 → 2).

All 15 cells of a network share one architecture; a search learns one α (6 × 5).  The
resource penalty's ``official`` normalisation divides by the real number of cells (the
official SNAS code, whose fixed 6 / 2 divisors belong to its DARTS network, has no
network of this space).  A
genotype picks one op per edge (no top-2 rule: the derived cell is the argmax of every
edge, ``none`` included) and is written as the benchmark writes it:
``|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|skip_connect~2|``
(``op~source`` per edge, nodes 1..3 separated by ``+``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from snas.compilation import CompileMode, compiled
from snas.genotype import GenotypeError
from snas.layout import BatchNorm2d
from snas.ops import ReLUConvBN, Zero
from snas.profile import Profile, count_forward
from snas.registry import Registry, unknown_name
from snas.relax import EdgeSample
from snas.resource import RESOURCES, CellGeometry
from snas.spaces.base import SearchSpace

NAME = "nas-bench-201"

PRIMITIVES: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
"""Candidate ops of every edge, in the benchmark's order (the columns of α)."""

NODES = 4
"""Nodes of a cell: the input (0) and three computed ones."""

NONE_INDEX = PRIMITIVES.index("none")
SKIP_INDEX = PRIMITIVES.index("skip_connect")
CONV_KERNELS: dict[str, int] = {"nor_conv_1x1": 1, "nor_conv_3x3": 3}

Pair = tuple[str, int]


@cache
def cell_edges() -> tuple[tuple[int, int], ...]:
    """Every edge ``(source, target)`` in α row order (target-major)."""
    return tuple((source, target) for target in range(1, NODES) for source in range(target))


NUM_EDGES = len(cell_edges())
_EDGE_INDEX = {edge: e for e, edge in enumerate(cell_edges())}


# --------------------------------------------------------------------------- genotype
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


# --------------------------------------------------------------------------- ops
class ResNetReduction(nn.Module):
    """The residual block between stages: stride-2 ResNet basic block with an avg-pool + 1×1 shortcut."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, stride=2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


OpBuilder = Callable[[int, bool], nn.Module]
"""``(channels, affine) -> module`` (stride 1: cells never change resolution)."""

OPS: Registry[OpBuilder] = Registry("NAS-Bench-201 op", {
    "none": lambda c, affine: Zero(1),
    "skip_connect": lambda c, affine: nn.Identity(),
    "nor_conv_1x1": lambda c, affine: ReLUConvBN(c, c, 1, 1, 0, affine=affine),
    "nor_conv_3x3": lambda c, affine: ReLUConvBN(c, c, 3, 1, 1, affine=affine),
    "avg_pool_3x3": lambda c, affine: nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
})
assert tuple(OPS) == PRIMITIVES


def stage_channels(channels: int, cells_per_stage: int) -> list[tuple[int, bool]]:
    """``(channels, is a reduction block)`` for every block after the stem, in order."""
    blocks = []
    for stage in range(3):
        if stage:
            blocks.append((channels * 2**stage, True))
        blocks += [(channels * 2**stage, False)] * cells_per_stage
    return blocks


class _MacroNetwork(nn.Module):
    """Stem, three stages of cells with reduction blocks between them, BN-ReLU, pooling, classifier."""

    def __init__(self, channels: int, cells_per_stage: int, num_classes: int, in_channels: int,
                 make_cell: Callable[[int], nn.Module]):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
                                  BatchNorm2d(channels))
        blocks, c_prev = [], channels
        for c, reduction in stage_channels(channels, cells_per_stage):
            blocks.append(ResNetReduction(c_prev, c) if reduction else make_cell(c))
            c_prev = c
        self.blocks = nn.ModuleList(blocks)
        self.last = nn.Sequential(BatchNorm2d(c_prev), nn.ReLU(inplace=False))
        self.classifier = nn.Linear(c_prev, num_classes)

    def head(self, state: torch.Tensor) -> torch.Tensor:
        return self.classifier(F.adaptive_avg_pool2d(self.last(state), 1).flatten(1))


# --------------------------------------------------------------------------- search network
def _search_conv(channels: int, kernel: int) -> ReLUConvBN:
    """ReLU-conv-BN of a search edge.  Its BN has neither affine parameters nor running
    statistics, as in the benchmark's search cells: it normalises with the statistics of
    the batch also in evaluation, since running means over a stream of sampled
    architectures describe none of them (evaluated with them, a SNAS or GDAS supernet
    scores at chance on held-out data while its training accuracy climbs)."""
    layer = ReLUConvBN(channels, channels, kernel, 1, kernel // 2, affine=False)
    layer[2] = BatchNorm2d(channels, affine=False, track_running_stats=False)
    return layer


class SearchCell(nn.Module):
    """A cell whose every edge mixes the five ops (search BN: see :func:`_search_conv`)."""

    def __init__(self, channels: int):
        super().__init__()
        self.convs = nn.ModuleList(
            nn.ModuleDict({name: _search_conv(channels, k) for name, k in CONV_KERNELS.items()})
            for _ in cell_edges())
        self.pool = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor, sample: EdgeSample, drop_masks: torch.Tensor | None) -> torch.Tensor:
        """The cell output; under a hard sample only the chosen op of each edge runs.

        A node's ReLU (read by both convolutions of each edge leaving it) and its average
        pool (the same on every edge leaving it: search pools have no BN) run once.
        """
        states: list[torch.Tensor] = [x]
        relus: dict[int, torch.Tensor] = {}
        pools: dict[int, torch.Tensor] = {}
        for target in range(1, NODES):
            total: torch.Tensor | None = None
            for source in range(target):
                e = _EDGE_INDEX[source, target]
                out = self._edge(e, source, states[source], relus, pools, sample)
                if out is None:
                    continue
                if drop_masks is not None and not (sample.choice is not None and sample.choice[e] == SKIP_INDEX):
                    out = out * drop_masks[e].view(-1, 1, 1, 1)
                total = out if total is None else total + out
            states.append(total if total is not None else torch.zeros_like(x))
        return states[-1]

    def _edge(self, e: int, source: int, inp: torch.Tensor, relus: dict[int, torch.Tensor],
              pools: dict[int, torch.Tensor], sample: EdgeSample) -> torch.Tensor | None:
        def op(k: int) -> torch.Tensor:
            name = PRIMITIVES[k]
            if name == "skip_connect":
                return inp
            if name == "avg_pool_3x3":
                if source not in pools:
                    pools[source] = self.pool(inp)
                return pools[source]
            if source not in relus:
                relus[source] = F.relu(inp)
            return self.convs[e][name].after_relu(relus[source])

        weights = sample.weights[e]
        if sample.choice is not None:
            k = sample.choice[e]
            if k == NONE_INDEX:
                return None
            return op(k) * weights[k] if weights.requires_grad else op(k)
        total = None
        for k in range(len(PRIMITIVES)):
            if k != NONE_INDEX:
                term = weights[k] * op(k)
                total = term if total is None else total + term
        return total


class SearchNetwork(_MacroNetwork):
    """The benchmark's macro network with search cells; every cell reads the one α."""

    def __init__(self, channels: int, num_classes: int, layers: int, in_channels: int = 3):
        super().__init__(channels, layers, num_classes, in_channels, SearchCell)
        self.channels = channels
        self.cells_per_stage = layers
        self._compiled_blocks: Callable[..., torch.Tensor] | None = None

    @property
    def cell_counts(self) -> tuple[int]:
        return (3 * self.cells_per_stage,)

    def geometry(self, height: int, width: int) -> list[CellGeometry]:
        """What each search cell's ops see (cells keep their resolution)."""
        out = []
        for c, reduction in stage_channels(self.channels, self.cells_per_stage):
            if reduction:
                height, width = (height + 1) // 2, (width + 1) // 2
            else:
                out.append(CellGeometry(c, height, width, False))
        return out

    def compile_training(self, mode: CompileMode) -> None:
        """Compile the forward of soft samples in training, as
        :meth:`snas.supernet.SuperNet.compile_training` does."""
        self._compiled_blocks = compiled(self._blocks, mode) if mode != "off" else None

    def forward(self, x: torch.Tensor, cells: list[EdgeSample], drop_prob: float = 0.0,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Logits; ``cells`` holds one sample for all cells or one per cell."""
        kept = None
        if self.training and drop_prob > 0.0:  # drawn cell by cell, as the cells use them
            kept = [torch.rand(NUM_EDGES, x.shape[0], generator=generator) < 1.0 - drop_prob
                    for _ in range(sum(self.cell_counts))]
        blocks = self._blocks
        if self._compiled_blocks is not None and self.training and all(s.choice is None for s in cells):
            blocks = self._compiled_blocks
        return blocks(x, cells, kept, 1.0 - drop_prob)

    def _blocks(self, x: torch.Tensor, cells: list[EdgeSample], kept: list[torch.Tensor] | None,
                keep: float) -> torch.Tensor:
        """Stem to logits with the drop-path draws already made (what is compiled)."""
        state = self.stem(x)
        i = 0
        for block in self.blocks:
            if isinstance(block, SearchCell):
                masks = None if kept is None else kept[i].to(state.device, state.dtype) / keep
                state = block(state, cells[i] if len(cells) > 1 else cells[0], masks)
                i += 1
            else:
                state = block(state)
        return self.head(state)


# --------------------------------------------------------------------------- child network
class InferCell(nn.Module):
    """A cell of a genotype: each node sums its edges' ops (``none`` edges are not built)."""

    def __init__(self, genotype: CellGenotype, channels: int):
        super().__init__()
        self.ops = nn.ModuleList()
        self.sources: list[list[int]] = []
        self.identity: list[list[bool]] = []
        for node in genotype.nodes:
            ops = [(op, s) for op, s in node if op != "none"]
            self.ops.append(nn.ModuleList(OPS[op](channels, True) for op, _ in ops))
            self.sources.append([s for _, s in ops])
            self.identity.append([op == "skip_connect" for op, _ in ops])

    @property
    def dropped_edges(self) -> int:
        """The edges drop path applies to (all but the identities)."""
        return sum(not i for node in self.identity for i in node)

    def forward(self, x: torch.Tensor, kept: list[torch.Tensor] | None = None, keep: float = 1.0) -> torch.Tensor:
        """The cell's output; ``kept``: drop path's draws (:func:`snas.childnet.draw_kept`)."""
        from snas.childnet import node_sum

        states = [x]
        draws = None if kept is None else iter(kept)
        for ops, sources, identity in zip(self.ops, self.sources, self.identity):
            total = node_sum(ops, sources, identity, states, draws, keep)
            states.append(total if total is not None else torch.zeros_like(x))
        return states[-1]


class TinyNetwork(_MacroNetwork):
    """The benchmark's network for one genotype (C = 16, N = 5 in the benchmark)."""

    def __init__(self, genotype: CellGenotype, *, channels: int = 16, layers: int = 5, num_classes: int = 10,
                 in_channels: int = 3):
        super().__init__(channels, layers, num_classes, in_channels, lambda c: InferCell(genotype, c))
        self.genotype = genotype
        self._compiled_body: Callable[..., tuple[torch.Tensor, None]] | None = None

    def compile_training(self, mode: CompileMode) -> None:
        """Compile the training forward, as :meth:`snas.childnet.ChildNetwork.compile_training` does."""
        self._compiled_body = compiled(self._body, mode) if mode != "off" else None

    def forward(self, x: torch.Tensor, drop_prob: float = 0.0,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, None]:
        """(logits, ``None``): the benchmark's network has no auxiliary head."""
        from snas.childnet import draw_kept

        kept = None
        if self.training and drop_prob > 0.0:
            cells = [block for block in self.blocks if isinstance(block, InferCell)]
            kept = draw_kept([cell.dropped_edges for cell in cells], x.shape[0], drop_prob, generator)
        body = self._compiled_body if self._compiled_body is not None and self.training else self._body
        return body(x, kept, 1.0 - drop_prob)

    def _body(self, x: torch.Tensor, kept: list[list[torch.Tensor]] | None, keep: float) -> tuple[torch.Tensor, None]:
        """Stem to logits with drop path's draws already made (what is compiled)."""
        state = self.stem(x)
        i = 0
        for block in self.blocks:
            if isinstance(block, InferCell):
                state = block(state, None if kept is None else kept[i], keep)
                i += 1
            else:
                state = block(state)
        return self.head(state), None


@lru_cache(maxsize=256)
def profile_tiny(genotype: CellGenotype, *, channels: int = 16, layers: int = 5, num_classes: int = 10,
                 in_channels: int = 3, image_size: int = 32) -> Profile:
    """Parameters and MACs of one image through :class:`TinyNetwork`."""
    with torch.device("meta"):
        net = TinyNetwork(genotype, channels=channels, layers=layers, num_classes=num_classes,
                          in_channels=in_channels)
    params = sum(p.numel() for p in net.parameters())
    macs, memory = count_forward(net.eval(), (in_channels, image_size, image_size))
    return Profile(params, macs, memory)


# --------------------------------------------------------------------------- resource costs
def official_costs(primitive: str, channels: int, height: int, width: int) -> tuple[int, int, int]:
    """(params, MACs, memory accesses) of one op, in the official SNAS formulas' terms.

    The SNAS code has no NAS-Bench-201 ops; these follow its conventions for the DARTS ones
    (:mod:`snas.costs`): a ReLU-conv-BN counts its k²·C² weights, weights·y² MACs and
    ``in + out`` maps plus its weights of memory (the DilConv formula with one k×k
    convolution instead of depthwise + pointwise); the 3×3 average pool 9·y²·C MACs and
    2·y²·C memory, the identity 2·C·y² memory, ``none`` nothing.
    """
    area, c = height * width, channels
    if primitive in CONV_KERNELS:
        size = CONV_KERNELS[primitive] ** 2 * c * c
        return size, size * area, 2 * c * area + size
    return {"none": (0, 0, 0), "skip_connect": (0, 0, 2 * c * area),
            "avg_pool_3x3": (0, 9 * area * c, 2 * area * c)}[primitive]


def measured_costs(primitive: str, channels: int, height: int, width: int) -> tuple[int, int, int]:
    """What the op as built (search BN, no affine) counts with :func:`snas.profile.count_forward`."""
    with torch.device("meta"):
        op = OPS[primitive](channels, False)
    params = sum(p.numel() for p in op.parameters())
    macs, memory = count_forward(op.eval(), (channels, height, width))
    return params, macs, memory


COST_MODELS: Registry[Callable[[str, int, int, int], tuple[int, int, int]]] = Registry("cost model", {
    "official": official_costs,
    "measured": measured_costs,
})


def cell_cost_table(cell: CellGeometry, cost_model: str = "official") -> torch.Tensor:
    """Costs ``[resource, edge, op]`` of one search cell (every edge sees the cell's input shape)."""
    costs = COST_MODELS[cost_model]
    table = torch.zeros(len(RESOURCES), NUM_EDGES, len(PRIMITIVES), dtype=torch.float64)
    for k, primitive in enumerate(PRIMITIVES):
        table[:, :, k] = torch.tensor(costs(primitive, cell.channels, cell.height, cell.width),
                                      dtype=torch.float64)[:, None]
    return table


# --------------------------------------------------------------------------- the space
class NasBench201Space(SearchSpace):
    name = NAME
    primitives = PRIMITIVES
    num_edges = NUM_EDGES
    cell_types = ("cell",)
    ratio_weighted = (False,)
    derivation_rules = ("edge_all",)
    defaults: Mapping[str, Any] = {
        "layers": 5, "init_channels": 16, "eval_layers": 5, "eval_channels": 16,
        "genotype_rule": "edge_all", "drop_path": 0.0,
    }
    """The benchmark's network (N = 5 cells per stage, C = 16) and derivation (argmax per
    edge); its searches (GDAS, DARTS in AutoDL) use no drop path."""
    parameter_free = frozenset({"skip_connect", "avg_pool_3x3"})

    def normal_cell_ops(self, genotype: CellGenotype) -> tuple[str, ...]:
        return tuple(op for op in genotype.edges() if op != "none")

    def random_genotype(self, rule: str, rng: random.Random) -> CellGenotype:
        """Every edge any of the five ops: the benchmark's 15,625 cells, equally likely."""
        self._check_rule(rule)
        return CellGenotype.from_edges([rng.choice(PRIMITIVES) for _ in cell_edges()])

    def genotype_count(self, rule: str) -> int:
        self._check_rule(rule)
        return len(PRIMITIVES) ** NUM_EDGES

    def _check_rule(self, rule: str) -> None:
        if rule not in self.derivation_rules:
            raise unknown_name(f"{NAME} derivation rule", rule, self.derivation_rules)

    def supernet(self, channels: int, num_classes: int, layers: int, in_channels: int) -> nn.Module:
        return SearchNetwork(channels, num_classes, layers, in_channels)

    def edges(self) -> tuple[tuple[int, int], ...]:
        return cell_edges()

    def cost_table(self, cell: CellGeometry, cost_model: str) -> torch.Tensor:
        return cell_cost_table(cell, cost_model)

    def derive(self, alphas: tuple[torch.Tensor, ...], rule: str) -> CellGenotype:
        self._check_rule(rule)
        (alpha,) = alphas
        return derive_cell(alpha)

    def parse(self, text: str) -> CellGenotype | None:
        return CellGenotype.parse(text) if text.lstrip().startswith("|") else None

    def genotype_from_dict(self, data: Mapping[str, Any]) -> CellGenotype:
        return CellGenotype.from_dict(data)

    def child_network(self, genotype: CellGenotype, *, kind: str, channels: int, layers: int, num_classes: int,
                      in_channels: int, image_size: int, auxiliary: bool) -> nn.Module:
        return TinyNetwork(genotype, channels=channels, layers=layers, num_classes=num_classes,
                           in_channels=in_channels)

    def profile(self, genotype: CellGenotype, *, kind: str, channels: int, layers: int, num_classes: int,
                in_channels: int, image_size: int) -> Profile:
        return profile_tiny(genotype, channels=channels, layers=layers, num_classes=num_classes,
                            in_channels=in_channels, image_size=image_size)

    def describe_cells(self, layers: int) -> str:
        return f"3 stages of {layers} cells"

    def describe_network(self, kind: str, layers: int) -> str:
        return f"NAS-Bench-201 network, {self.describe_cells(layers)}"

    def halvings(self, kind: str, layers: int) -> int:
        return 2
