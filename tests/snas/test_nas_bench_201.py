"""The NAS-Bench-201 space: genotype strings, the benchmark's network sizes, searches of every method."""

import random
from collections import Counter

import pytest
import torch
from search_helpers import tiny_search_settings

from snas.catalogue import CATALOGUE, resolve_genotype
from snas.config import RetrainConfig, SearchConfig
from snas.genotype import GenotypeError, genotype_id
from snas.relax import EdgeSample
from snas.retrain import Retrain
from snas.search import Search
from snas.spaces import SPACES, genotype_from_dict, parse_genotype
from snas.spaces.nas_bench_201.childnet import InferCell, TinyNetwork, profile_tiny
from snas.spaces.nas_bench_201.costs import official_costs
from snas.spaces.nas_bench_201.genotype import CellGenotype
from snas.spaces.nas_bench_201.primitives import PRIMITIVES, cell_edges
from snas.spaces.nas_bench_201.supernet import SearchNetwork

ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
ALL_SKIP = "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"
RESNET = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|"
MIXED = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|skip_connect~1|skip_connect~2|"


@pytest.mark.parametrize("text", [ALL_CONV3, ALL_NONE, ALL_SKIP, RESNET, MIXED])
def test_strings_round_trip_through_text_and_mapping(text):
    genotype = CellGenotype.parse(text)
    assert str(genotype) == text
    assert genotype_from_dict(genotype.to_dict()) == genotype
    assert parse_genotype(text) == genotype == resolve_genotype(text)


def test_the_edges_follow_the_benchmark_order():
    genotype = CellGenotype.parse(MIXED)
    assert genotype.edges() == ("nor_conv_3x3",) * 3 + ("skip_connect",) * 3
    assert CellGenotype.from_edges(genotype.edges()) == genotype


def test_inputs_written_out_of_order_mean_the_same_cell():
    shuffled = CellGenotype.parse("|nor_conv_3x3~0|+|none~1|nor_conv_3x3~0|+|skip_connect~2|none~0|none~1|")
    assert str(shuffled) == "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|skip_connect~2|"
    assert genotype_id(shuffled) == genotype_id(CellGenotype.parse(str(shuffled)))
    assert genotype_id(shuffled) != genotype_id(CellGenotype.parse(MIXED))


def test_collapse_counts_of_the_one_cell():
    space = SPACES["nas-bench-201"]
    assert [(space.skip_connect_count(CellGenotype.parse(t)), space.parameter_free_count(CellGenotype.parse(t)))
            for t in (ALL_SKIP, RESNET, MIXED, ALL_NONE)] == [(6, 6), (1, 1), (3, 3), (0, 0)]
    pools = CellGenotype.from_edges(["avg_pool_3x3"] * 4 + ["none", "skip_connect"])
    assert (space.skip_connect_count(pools), space.parameter_free_count(pools)) == (1, 5)


def test_random_cells_are_uniform_over_the_benchmarks_15625():
    space, rng, draws = SPACES["nas-bench-201"], random.Random(3), 5000
    assert space.genotype_count("edge_all") == 15625
    ops = Counter(op for _ in range(draws) for op in space.random_genotype("edge_all", rng).edges())
    expected = draws * 6 / 5
    assert set(ops) == set(PRIMITIVES)
    assert sum((n - expected) ** 2 / expected for n in ops.values()) < 18.5  # χ², 4 dof, p = 0.001
    assert space.random_genotype("edge_all", random.Random(5)) == space.random_genotype("edge_all", random.Random(5))
    with pytest.raises(ValueError, match="derivation rule 'darts'"):
        space.random_genotype("darts", rng)


@pytest.mark.parametrize("text, named", [
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|conv_9x9~1|+|none~0|none~1|none~2|", "'conv_9x9~1'"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3|+|none~0|none~1|none~2|", "'nor_conv_3x3'"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~2|+|none~0|none~1|none~2|", "'nor_conv_3x3~2'"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|", "3 nodes"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|+|none~0|none~1|none~2|", "node 2 needs one edge from each of nodes 0..1"),
    ("|nor_conv_3x3~0|+nor_conv_3x3~0|none~1|+|none~0|none~1|none~2|", "node 2"),
])
def test_a_malformed_string_is_refused_naming_the_bad_part(text, named):
    with pytest.raises(GenotypeError) as err:
        resolve_genotype(text)
    assert named in str(err.value)


def test_params_and_macs_of_named_cells_are_the_benchmarks():
    """NAS-Bench-201's CIFAR-10 figures span 0.073306-1.531546 M parameters and 7.78305-220.11969 M
    FLOPs (the benchmark file's extremes; e.g. EvoXBench's NASBench201 min/max table).  The
    benchmark counts the classifier's 10 biases as 10 more FLOPs; we count multiply-accumulates."""
    largest, smallest = profile_tiny(CellGenotype.parse(ALL_CONV3)), profile_tiny(CellGenotype.parse(ALL_NONE))
    assert (largest.params, largest.macs + 10) == (1_531_546, 220_119_690)
    assert (smallest.params, smallest.macs + 10) == (73_306, 7_783_050)
    assert profile_tiny(CellGenotype.parse(ALL_SKIP)) == smallest
    # by hand: two 3×3 convolutions (9C² weights + 2C BN) per cell, 5 cells at C = 16, 32, 64
    resnet = profile_tiny(CellGenotype.parse(RESNET))
    assert resnet.params == 73_306 + 5 * 2 * sum(9 * c * c + 2 * c for c in (16, 32, 64)) == 559_386


def test_the_network_runs_on_8x8_digits_sized_images():
    net = TinyNetwork(CellGenotype.parse(MIXED), channels=8, layers=2, num_classes=10, in_channels=1)
    logits, aux = net(torch.zeros(2, 1, 8, 8))
    assert logits.shape == (2, 10) and aux is None


def test_official_costs_of_each_op():
    c, h = 8, 4
    assert official_costs("none", c, h, h) == (0, 0, 0)
    assert official_costs("skip_connect", c, h, h) == (0, 0, 2 * c * h * h)
    assert official_costs("avg_pool_3x3", c, h, h) == (0, 9 * c * h * h, 2 * c * h * h)
    assert official_costs("nor_conv_1x1", c, h, h) == (c * c, c * c * h * h, 2 * c * h * h + c * c)
    assert official_costs("nor_conv_3x3", c, h, h) == (9 * c * c, 9 * c * c * h * h, 2 * c * h * h + 9 * c * c)


def nb201_search(**overrides):
    return SearchConfig.model_validate(tiny_search_settings(space="nas-bench-201", layers=3, epochs=2, **overrides))


def test_space_defaults_are_the_benchmarks_and_the_darts_rule_is_refused():
    cfg = SearchConfig.model_validate({"space": "nas-bench-201"})
    assert (cfg.layers, cfg.init_channels, cfg.eval_layers, cfg.eval_channels, cfg.genotype_rule) == \
        (5, 16, 5, 16, "edge_all")
    with pytest.raises(ValueError, match="genotype_rule darts does not apply to space nas-bench-201"):
        SearchConfig.model_validate({"space": "nas-bench-201", "genotype_rule": "darts"})
    with pytest.raises(ValueError, match="unknown search space 'nb'"):
        SearchConfig.model_validate({"space": "nb"})


@pytest.mark.parametrize("settings", [
    {"method": "snas"},
    {"method": "snas", "nsample": 2, "resource": {"method": "policy_gradient"}},
    {"method": "gdas"},
    {"method": "darts"},
    {"method": "darts", "second_order": True},
    {"method": "gdas", "resample_per_cell": True, "resource": {"method": "discrete", "lambda": 0.1}},
])
def test_every_method_searches_and_resumes_exactly(tmp_path, settings):
    cfg = nb201_search(**settings)
    straight = Search(cfg)
    assert tuple(straight.alphas) == ("cell",) and straight.alphas["cell"].shape == (6, 5)
    first = straight.run_epoch()
    path = straight.save(tmp_path / "checkpoint.pt")
    last = straight.run_epoch()
    resumed = Search.restore(path)
    again = resumed.run_epoch()
    assert torch.equal(resumed.alphas["cell"], straight.alphas["cell"])
    assert {k: v for k, v in again.items() if "time" not in k and k != "images_per_s"} == \
        {k: v for k, v in last.items() if "time" not in k and k != "images_per_s"}
    assert isinstance(CellGenotype.parse(first["genotype"]), CellGenotype)
    assert last["genotype"] == str(straight.genotype)
    assert last["eval_params_m"] == profile_tiny(straight.genotype, channels=8, layers=5, num_classes=4,
                                                in_channels=3, image_size=8).params_m


def test_the_penalty_counts_the_real_15_cells():
    search = Search(SearchConfig.model_validate(tiny_search_settings(space="nas-bench-201", layers=5)))
    (costs,) = search.penalty.costs
    assert costs.shape == (15, 3, 6, 5) and search.penalty.official_counts == (15,)
    assert SPACES["nas-bench-201"].official_cell_counts(search.model.cell_counts) == (15,)


def test_retraining_a_cell_trains_the_benchmark_network():
    cfg = RetrainConfig.model_validate({"genotype": "NB201_GDAS", "epochs": 1, "batch_size": 32, "device": "cpu",
                                        "layers": 3, "init_channels": 4, "data": tiny_search_settings()["data"]})
    assert (cfg.auxiliary, cfg.drop_path) == (False, 0.0)
    run = Retrain(cfg)
    assert isinstance(run.model, TinyNetwork) and run.genotype == CATALOGUE["NB201_GDAS"].genotype
    metrics = run.run_epoch()
    assert metrics["params_m"] == run.profile.params_m
    with pytest.raises(ValueError, match="no auxiliary head"):
        RetrainConfig.model_validate({"genotype": "NB201_ResNet", "auxiliary": True})


def test_catalogue_cells_carry_their_published_accuracy():
    assert CATALOGUE["NB201_GDAS"].benchmark.test_accuracy == "93.51 ± 0.13"
    assert CATALOGUE["NB201_DARTS_all_skip"].benchmark.test_accuracy == "54.30"
    assert str(CATALOGUE["NB201_DARTS_all_skip"].genotype) == ALL_SKIP
    assert str(CATALOGUE["NB201_ResNet"].genotype) == RESNET


def test_the_supernet_under_a_one_hot_sample_computes_the_child_network():
    """Search cells mixing with the one-hot weights of a cell compute that cell's network,
    given the same weights (search BN has no affine parameters: the child's start at 1, 0)."""
    torch.manual_seed(0)
    genotype = CellGenotype.parse(
        "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
    supernet = SearchNetwork(4, 10, 2, in_channels=1).double()
    child = TinyNetwork(genotype, channels=4, layers=2, num_classes=10, in_channels=1).double()
    own = child.state_dict()
    shared = {k: v for k, v in supernet.state_dict().items() if k in own and own[k].shape == v.shape}
    for b, block in enumerate(child.blocks):
        if isinstance(block, InferCell):
            for n, (ops, sources) in enumerate(zip(block.ops, block.sources)):
                for j, (op, source) in enumerate(zip(ops, sources)):
                    if isinstance(op, torch.nn.Sequential):  # a ReLU-conv-BN
                        edge = cell_edges().index((source, n + 1))
                        name = genotype.nodes[n][source][0]
                        shared[f"blocks.{b}.ops.{n}.{j}.1.weight"] = supernet.blocks[b].convs[edge][name][1].weight
    child.load_state_dict({**own, **shared})
    index = torch.tensor([PRIMITIVES.index(op) for op in genotype.edges()])
    weights = torch.nn.functional.one_hot(index, len(PRIMITIVES)).double()
    x = torch.randn(3, 1, 8, 8, dtype=torch.float64)
    soft = supernet(x, [EdgeSample(weights)])
    hard = supernet(x, [EdgeSample(weights, tuple(index.tolist()))])
    expected, _ = child(x)
    assert torch.allclose(soft, expected, atol=1e-10) and torch.allclose(hard, expected, atol=1e-10)
