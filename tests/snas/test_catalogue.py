"""The catalogue's genotypes in their evaluation networks: sizes measured, papers compared, MACs cross-checked."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from snas.catalogue import (
    CATALOGUE,
    catalogue_name,
    genotype_name,
    resolve_genotype,
)
from snas.genotype import GenotypeError
from snas.spaces.darts.childnet import ChildNetwork, profile_child
from snas.spaces.darts.networks import EVAL_NETWORKS

# parameters of the CIFAR-10 evaluation network (20 cells, C = 36, auxiliary head excluded)
MEASURED_PARAMS = {
    "DARTS_V1": 3_169_414,
    "DARTS_V2": 3_349_342,
    "SNAS_mild": 2_661_382,
    "SNAS_mild_edge_all": 2_661_382,
    "SNAS_moderate": 2_847_358,
    "SNAS_moderate_edge_all": 2_847_358,
    "SNAS_aggressive": 2_313_622,
    "SNAS_aggressive_edge_all": 2_313_622,
    "GDAS_V1": 3_368_782,
}


def params_of(name: str, dataset: str = "cifar10") -> int:
    """Parameter count without running the network (built on the meta device: no memory, no init)."""
    net = EVAL_NETWORKS[dataset]
    with torch.device("meta"):
        model = ChildNetwork(CATALOGUE[name].genotype, family=net.family, channels=net.channels, layers=net.layers,
                             num_classes=net.num_classes, image_size=net.image_size)
    return sum(p.numel() for p in model.parameters())


def test_darts_v2_counts_the_published_3_35m():
    """The one count the reference design pins down exactly (DARTS README: 3.35M)."""
    params_m = profile_child(CATALOGUE["DARTS_V2"].genotype).params_m
    assert params_m == pytest.approx(3.35, rel=0.01)


def test_every_darts_catalogue_genotype_has_its_measured_count():
    darts = {name for name, entry in CATALOGUE.items() if entry.genotype.space == "darts"}
    assert set(MEASURED_PARAMS) == darts
    assert {name: params_of(name) for name in darts} == MEASURED_PARAMS


@pytest.mark.parametrize("name, agree", [
    ("DARTS_V2", True), ("SNAS_moderate", True), ("SNAS_aggressive", True), ("GDAS_V1", True),
    ("SNAS_mild", False), ("DARTS_V1", False),
])
def test_published_params_agree_only_where_the_genotype_gives_them(name, agree):
    """Papers print 0.1M steps: 2.85M is 'about 2.8', but SNAS_mild's 2.66M is not 2.9 (nor DARTS_V1's 3.17M 3.3)."""
    published = CATALOGUE[name].published
    measured_m = MEASURED_PARAMS[name] / 1e6
    assert published.params_agree(measured_m) is agree
    if not agree:
        assert abs(measured_m - published.params_m) > 0.1


def test_imagenet_mobile_network_matches_darts_but_not_snas_mild():
    darts, mild = params_of("DARTS_V2", "imagenet"), params_of("SNAS_mild", "imagenet")
    assert (darts, mild) == (4_718_752, 3_939_328)
    assert CATALOGUE["DARTS_V2"].imagenet.params_agree(darts / 1e6)
    assert not CATALOGUE["SNAS_mild"].imagenet.params_agree(mild / 1e6)


@pytest.mark.parametrize("name, kind, image_size", [
    ("DARTS_V2", "cifar", 32), ("GDAS_V1", "cifar", 32), ("SNAS_mild_edge_all", "cifar", 32),
    ("SNAS_aggressive", "cifar", 32), ("SNAS_moderate_edge_all", "imagenet", 224),
])
def test_macs_equal_half_the_flops_pytorch_counts(name, kind, image_size):
    """FlopCounterMode counts 2 FLOPs per multiply-accumulate of convolutions and linear layers."""
    profile, executed_flops = nominal_and_executed(name, kind, image_size)
    assert executed_flops == 2 * profile.macs
    assert profile.macs > 0


def test_macs_count_every_kernel_tap_even_where_the_network_crops_kernels_to_a_small_grid():
    """The papers' convention counts taps that read only padding; the network skips them.

    At 64×64 ImageNet-style input the last cells run on 2×2 grids, where a 5×5 kernel is
    cropped to 3×3 and a dilated one to a per-channel scale, so fewer FLOPs execute.
    """
    profile, executed_flops = nominal_and_executed("SNAS_moderate_edge_all", "imagenet", 64)
    assert executed_flops < 2 * profile.macs


def nominal_and_executed(name: str, kind: str, image_size: int):
    genotype = CATALOGUE[name].genotype
    network = dict(family=kind, channels=8, layers=5, num_classes=10, image_size=image_size)
    profile = profile_child(genotype, **network)
    torch.manual_seed(0)
    model = ChildNetwork(genotype, **network).eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.randn(1, 3, image_size, image_size))
    return profile, counter.get_total_flops()


@pytest.mark.slow
def test_evaluation_scale_macs():
    """Full-size MACs (a forward of the 20-cell network): DARTS_V2 in both settings, under ImageNet's 600M limit."""
    darts = CATALOGUE["DARTS_V2"].genotype
    assert profile_child(darts).macs == 528_359_040
    imagenet = EVAL_NETWORKS["imagenet"]
    macs_m = profile_child(darts, family="imagenet", channels=imagenet.channels, layers=imagenet.layers,
                           num_classes=imagenet.num_classes, image_size=imagenet.image_size).macs_m
    assert 500 < macs_m < 600


def test_genotype_arguments_resolve_from_name_json_file_and_darts_text(tmp_path):
    genotype = CATALOGUE["SNAS_mild_edge_all"].genotype
    (tmp_path / "g.json").write_text(genotype.to_json())
    (tmp_path / "g.txt").write_text(str(genotype))
    for spec in ("SNAS_mild_edge_all", str(tmp_path / "g.json"), str(tmp_path / "g.txt"), str(genotype)):
        assert resolve_genotype(spec) == genotype
    assert catalogue_name(genotype) == "SNAS_mild_edge_all"
    assert catalogue_name(CATALOGUE["SNAS_mild"].genotype) == "SNAS_mild"
    assert [genotype_name(s) for s in ("DARTS_V2", str(tmp_path / "g.json"), str(genotype))] == \
        ["DARTS_V2", "g", "genotype"]


def test_unknown_genotype_argument_names_the_catalogue():
    with pytest.raises(GenotypeError, match="'DARTS_V3' is not a catalogue name.*; catalogue names: DARTS_V1"):
        resolve_genotype("DARTS_V3")
    with pytest.raises(GenotypeError, match="string; did you mean SNAS_mild\\? catalogue names: "):
        resolve_genotype("snas_mild")


def test_a_folder_holding_genotype_json_resolves_to_its_genotype(tmp_path):
    """A search run's --out folder or a study's trial folder, as `draw` and `profile` are given them."""
    genotype = CATALOGUE["SNAS_mild"].genotype
    (tmp_path / "trial_ab_00000").mkdir()
    (tmp_path / "trial_ab_00000" / "genotype.json").write_text(genotype.to_json())
    assert resolve_genotype(str(tmp_path / "trial_ab_00000")) == genotype
    with pytest.raises(GenotypeError, match="is not a catalogue name"):
        resolve_genotype(str(tmp_path))  # a folder without one


def test_gdas_imagenet_figures_are_its_own_c50_network():
    """GDAS's 5.3M / 581M are for C = 50; at the DARTS/SNAS width C = 48 they do not hold."""
    published = CATALOGUE["GDAS_V1"].imagenet
    network = published.network(EVAL_NETWORKS["imagenet"])
    assert (network.layers, network.channels) == (14, 50)
    assert CATALOGUE["DARTS_V2"].imagenet.network(EVAL_NETWORKS["imagenet"]) == EVAL_NETWORKS["imagenet"]
    for channels, agree in ((50, True), (48, False)):
        size = profile_child(CATALOGUE["GDAS_V1"].genotype, family="imagenet", channels=channels, layers=14,
                             num_classes=1000, image_size=224)
        assert published.params_agree(size.params_m) is agree and published.macs_agree(size.macs_m) is agree
