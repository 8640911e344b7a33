"""Published genotypes by name, and turning any genotype argument into a :class:`Genotype`.

The genotypes are those of the papers' repositories (DARTS ``genotypes.py``, SNAS
``genotypes.py``, GDAS/AutoDL ``genotypes.py``).  ``published`` holds the papers' CIFAR-10
figures (test error %, parameters in M, search cost in GPU-days) for comparison, ``imagenet``
their ImageNet mobile-setting figures where the papers give them; the evaluation networks
those figures refer to are their space's (:meth:`snas.spaces.base.SearchSpace.evaluation_network`).
The parameter counts we *measure* for these genotypes come from their space's
:meth:`~snas.spaces.base.SearchSpace.profile` and are shown next to the published ones,
never adjusted to match them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from snas.genotype import GenotypeError, json_object
from snas.registry import Registry
from snas.spaces import genotype_from_dict, parse_genotype
from snas.spaces.base import AnyGenotype, EvalNetwork
from snas.spaces.darts.genotype import Genotype
from snas.spaces.nas_bench_201.genotype import CellGenotype

_CONCAT = (2, 3, 4, 5)


@dataclass(frozen=True)
class Published:
    """A paper's reported evaluation result for a genotype (as printed: rounded)."""

    test_error: str
    """Test error in %; ImageNet gives top-1 / top-5."""
    params_m: float
    search_gpu_days: float
    source: str
    macs_m: float | None = None
    """Multiply-accumulates in M, where the paper reports them (ImageNet tables)."""
    channels: int | None = None
    """The width C the paper measured at, where it is not its evaluation network's
    (:data:`~snas.spaces.darts.networks.EVAL_NETWORKS`): GDAS's ImageNet network is its own,
    at C = 50, not 48."""

    def network(self, evaluation: EvalNetwork) -> EvalNetwork:
        """The network these figures describe: ``evaluation`` at the paper's own width."""
        return evaluation if self.channels is None else replace(evaluation, channels=self.channels)

    def params_agree(self, measured_m: float) -> bool:
        """Whether a measured count (M) rounds to the printed one (papers print 0.1M steps)."""
        return round(measured_m, 1) == self.params_m

    def macs_agree(self, measured_m: float) -> bool | None:
        """Whether measured MACs (M) round to the printed ones; ``None`` where none are printed."""
        return None if self.macs_m is None else round(measured_m) == self.macs_m


@dataclass(frozen=True)
class BenchmarkAccuracy:
    """A NAS-Bench-201 cell's published CIFAR-10 test accuracy (%) in the benchmark's
    network (C = 16, N = 5, 200 epochs), as printed."""

    test_accuracy: str
    source: str


@dataclass(frozen=True)
class Entry:
    genotype: AnyGenotype
    published: Published | None
    """CIFAR-10 figures (20 cells, C = 36)."""
    imagenet: Published | None = None
    """ImageNet mobile-setting figures (14 cells, C = 48 unless they say otherwise, 224×224)."""
    benchmark: BenchmarkAccuracy | None = None
    """NAS-Bench-201 cells: the published accuracy of the cell in the benchmark."""


def _genotype(normal: list[tuple[str, int]], reduce: list[tuple[str, int]]) -> Genotype:
    return Genotype(normal=tuple(normal), normal_concat=_CONCAT, reduce=tuple(reduce), reduce_concat=_CONCAT)


_DARTS = "Liu et al., DARTS, ICLR 2019, Table 1"
_SNAS = "Xie et al., SNAS, ICLR 2019, Table 1"
_NB201 = "Dong & Yang, NAS-Bench-201, ICLR 2020, Table 5, CIFAR-10 test accuracy"

CATALOGUE: Registry[Entry] = Registry("catalogue genotype", {
    "DARTS_V1": Entry(_genotype(
        [("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 0), ("sep_conv_3x3", 1),
         ("skip_connect", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 2)],
        [("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 0),
         ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("avg_pool_3x3", 0)]),
        Published("3.00 ± 0.14", 3.3, 1.5, _DARTS + " (first order)")),
    "DARTS_V2": Entry(_genotype(
        [("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
         ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)],
        [("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
         ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)]),
        Published("2.76 ± 0.09", 3.3, 4.0, _DARTS + " (second order)"),
        imagenet=Published("26.7 / 8.7", 4.7, 4.0, "Liu et al., DARTS, ICLR 2019, ImageNet table", macs_m=574)),
    "SNAS_mild": Entry(_genotype(
        [("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("skip_connect", 0), ("dil_conv_3x3", 1),
         ("skip_connect", 0), ("skip_connect", 1), ("skip_connect", 0), ("sep_conv_3x3", 1)],
        [("max_pool_3x3", 0), ("max_pool_3x3", 1), ("max_pool_3x3", 1), ("skip_connect", 2),
         ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 0), ("dil_conv_5x5", 2)]),
        Published("2.98", 2.9, 1.5, _SNAS + " (mild constraint)"),
        imagenet=Published("27.3 / 9.2", 4.3, 1.5, "Xie et al., SNAS, ICLR 2019, ImageNet table", macs_m=522)),
    "SNAS_mild_edge_all": Entry(Genotype(
        normal=(("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
                ("skip_connect", 0), ("dil_conv_3x3", 1), ("none", 2),
                ("skip_connect", 0), ("skip_connect", 1), ("none", 3), ("none", 2),
                ("skip_connect", 0), ("sep_conv_3x3", 1), ("none", 4), ("none", 3), ("none", 2)),
        normal_concat=_CONCAT,
        reduce=(("max_pool_3x3", 0), ("max_pool_3x3", 1),
                ("none", 0), ("max_pool_3x3", 1), ("skip_connect", 2),
                ("none", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("none", 3),
                ("max_pool_3x3", 0), ("dil_conv_5x5", 2), ("none", 1), ("none", 3), ("none", 4)),
        reduce_concat=_CONCAT), None),
    "SNAS_moderate": Entry(_genotype(
        [("dil_conv_5x5", 0), ("skip_connect", 1), ("sep_conv_3x3", 0), ("skip_connect", 1),
         ("skip_connect", 0), ("skip_connect", 1), ("sep_conv_3x3", 0), ("dil_conv_5x5", 1)],
        [("max_pool_3x3", 0), ("max_pool_3x3", 1), ("sep_conv_5x5", 0), ("dil_conv_5x5", 1),
         ("sep_conv_5x5", 0), ("sep_conv_5x5", 1), ("sep_conv_5x5", 0), ("sep_conv_5x5", 1)]),
        Published("2.85 ± 0.02", 2.8, 1.5, _SNAS + " (moderate constraint)")),
    "SNAS_moderate_edge_all": Entry(Genotype(
        normal=(("dil_conv_5x5", 0), ("skip_connect", 1),
                ("sep_conv_3x3", 0), ("skip_connect", 1), ("none", 2),
                ("skip_connect", 0), ("none", 3), ("none", 2), ("skip_connect", 1),
                ("sep_conv_3x3", 0), ("dil_conv_5x5", 1), ("none", 4), ("none", 3), ("none", 2)),
        normal_concat=_CONCAT,
        reduce=(("max_pool_3x3", 0), ("max_pool_3x3", 1),
                ("sep_conv_5x5", 0), ("none", 2), ("dil_conv_5x5", 1),
                ("none", 3), ("none", 2), ("sep_conv_5x5", 0), ("sep_conv_5x5", 1),
                ("none", 4), ("none", 3), ("none", 2), ("sep_conv_5x5", 0), ("sep_conv_5x5", 1)),
        reduce_concat=_CONCAT), None),
    "SNAS_aggressive": Entry(_genotype(
        [("sep_conv_5x5", 0), ("skip_connect", 1), ("skip_connect", 0), ("skip_connect", 1),
         ("dil_conv_5x5", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_5x5", 1)],
        [("sep_conv_5x5", 0), ("none", 1), ("sep_conv_5x5", 0), ("none", 1),
         ("none", 1), ("none", 0), ("none", 1), ("none", 0)]),
        Published("3.10 ± 0.04", 2.3, 1.5, _SNAS + " (aggressive constraint)")),
    "SNAS_aggressive_edge_all": Entry(Genotype(
        normal=(("sep_conv_5x5", 0), ("skip_connect", 1),
                ("skip_connect", 0), ("skip_connect", 1), ("none", 2),
                ("dil_conv_5x5", 1), ("skip_connect", 0), ("none", 2), ("none", 3),
                ("skip_connect", 0), ("dil_conv_5x5", 1), ("none", 2), ("none", 3), ("none", 4)),
        normal_concat=_CONCAT,
        reduce=(("sep_conv_5x5", 0), ("none", 1),
                ("sep_conv_5x5", 0), ("none", 1), ("none", 2),
                ("none", 0), ("none", 1), ("none", 2), ("none", 3),
                ("none", 0), ("none", 1), ("none", 2), ("none", 3), ("none", 4)),
        reduce_concat=_CONCAT), None),
    "GDAS_V1": Entry(_genotype(
        [("skip_connect", 0), ("skip_connect", 1), ("skip_connect", 0), ("sep_conv_5x5", 2),
         ("sep_conv_3x3", 3), ("skip_connect", 0), ("sep_conv_5x5", 4), ("sep_conv_3x3", 3)],
        [("sep_conv_5x5", 0), ("sep_conv_3x3", 1), ("sep_conv_5x5", 2), ("sep_conv_5x5", 1),
         ("dil_conv_5x5", 2), ("sep_conv_3x3", 1), ("sep_conv_5x5", 0), ("sep_conv_5x5", 1)]),
        Published("2.93", 3.4, 0.21, "Dong & Yang, GDAS, CVPR 2019, Table 1"),
        imagenet=Published("26.0 / 8.5", 5.3, 0.21, "Dong & Yang, GDAS, CVPR 2019, ImageNet table", macs_m=581,
                           channels=50)),
    # NAS-Bench-201 cells (space nas-bench-201), trained in the benchmark's network.
    "NB201_GDAS": Entry(CellGenotype.parse(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|nor_conv_1x1~0|nor_conv_3x3~1|nor_conv_3x3~2|"), None,
        benchmark=BenchmarkAccuracy(
            "93.51 ± 0.13", _NB201 + " (GDAS, mean of its searches; the cell is the first of the three GDAS "
            "CIFAR-10 searches listed in D-X-Y/AutoDL-Projects, exps/NATS-algos/README.md)")),
    "NB201_DARTS_all_skip": Entry(CellGenotype.parse(
        "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"), None,
        benchmark=BenchmarkAccuracy(
            "54.30", _NB201 + " (DARTS-V1 and -V2 both collapse to this all-skip cell; D-X-Y/AutoDL-Projects, "
            "exps/NATS-algos/README.md lists it for every DARTS search on CIFAR-10)")),
    "NB201_ResNet": Entry(CellGenotype.parse(
        "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|"), None,
        benchmark=BenchmarkAccuracy("93.97", _NB201 + " (ResNet, the hand-designed reference row)")),
})


def catalogue_name(genotype: AnyGenotype) -> str | None:
    """The name ``genotype`` has in the catalogue, if it is one of the published ones."""
    return next((name for name, entry in CATALOGUE.items() if entry.genotype == genotype), None)


def genotype_name(spec: str) -> str:
    """A short name for a genotype argument: the catalogue name, a file's stem, or ``genotype``."""
    spec = spec.strip()
    if spec in CATALOGUE:
        return spec
    return "genotype" if spec.startswith(("Genotype(", "|")) else Path(spec).stem or "genotype"


def named_genotype(spec: str) -> AnyGenotype | None:
    """The genotype a catalogue name or a space's string form (DARTS repr text, a
    NAS-Bench-201 ``|op~input|+...`` string) spells, without reading any file; ``None``
    when ``spec`` is none of these."""
    spec = spec.strip()
    if spec in CATALOGUE:
        return CATALOGUE[spec].genotype
    return parse_genotype(spec)


GENOTYPE_FILE = "genotype.json"
"""What a search run and a study's search trial write their genotype to."""


def resolve_genotype(spec: str) -> AnyGenotype:
    """A genotype from a catalogue name, a genotype string or a JSON file, or the folder of
    a run that wrote one (in that order)."""
    named = named_genotype(spec)
    if named is not None:
        return named
    spec = spec.strip()
    path = Path(spec).expanduser()
    if path.is_dir() and (path / GENOTYPE_FILE).is_file():  # a run's or a study trial's folder
        path = path / GENOTYPE_FILE
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise GenotypeError(f"{path} is not a genotype file (not UTF-8 text: a JSON genotype or "
                                f"Genotype(...) text was expected)") from None
        try:
            return parse_genotype(text) or _from_json(text)
        except GenotypeError as err:
            raise GenotypeError(f"{path}: {err}") from None
    same_but_case = [name for name in CATALOGUE if name.lower() == spec.lower()]
    meant = f"did you mean {same_but_case[0]}? " if same_but_case else ""
    raise GenotypeError(
        f"{spec!r} is not a catalogue name, a genotype file (or a folder holding {GENOTYPE_FILE}) or a "
        f"Genotype(...) text, nor a NAS-Bench-201 |op~input|+... string; {meant}"
        f"catalogue names: {', '.join(CATALOGUE)}"
    )


def _from_json(text: str) -> AnyGenotype:
    """A genotype JSON file of any space (``Genotype.from_json``'s checks, then by space)."""
    return genotype_from_dict(json_object(text, "an object (normal/reduce keys, or space and arch)"))
