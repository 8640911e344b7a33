"""Data-parallel search on 2 gloo ranks (torch.multiprocessing, no Ray): the averaged
gradient equals one process's average over the same shards, the ranks stay identical,
runs repeat exactly and a resumed run equals an uninterrupted one."""

import pytest
import torch
from distributed_ranks import (
    assert_every_rank_has,
    one_step_gradients,
    resumed_and_repeated,
    run_ranks,
    shard_gradients_averaged,
)
from search_helpers import tiny_search_settings

from snas.config import SearchConfig
from snas.distributed import Ranks, check_batch_split, shard
from snas.errors import UserInputError
from snas.methods.steps import accumulate
from snas.search import Search


@pytest.fixture(scope="module")
def one_step(tmp_path_factory):
    return run_ranks(one_step_gradients, tmp_path_factory.mktemp("one_step"))


def _shard_gradients_averaged() -> list[torch.Tensor | None]:
    """One process: the first global batch, each rank's shard with that rank's Gumbel
    stream (BatchNorm over the shard alone), the two gradients averaged."""
    search = Search(SearchConfig.model_validate(tiny_search_settings(drop_path=0.2)))
    batch = next(iter(search.data.train.train_epoch(search.generators["data"])))
    params = search.learner.weights + search.learner.alphas
    search.model.train()

    def backward(rank: int) -> None:
        assert accumulate(search.learner, shard(batch, Ranks(rank, 2)), 1.0, params, None)

    return shard_gradients_averaged(params, search.generators, "arch", backward)


def test_averaged_gradient_equals_the_average_of_the_shards(one_step):
    assert_every_rank_has(one_step, _shard_gradients_averaged())


@pytest.mark.parametrize("method", ["snas", "gdas"])
def test_every_rank_holds_the_same_weights_and_alphas(one_step, method):
    first, second = (rank[method] for rank in one_step)
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key
    assert one_step[0][f"{method}_history"] == one_step[1][f"{method}_history"]


def test_the_two_ranks_train_on_different_shards_and_noise(one_step):
    """Two ranks that drew the same shard and noise would agree trivially."""
    single = Search(SearchConfig.model_validate(tiny_search_settings(epochs=1, drop_path=0.2)))
    single.run_epoch()
    assert not torch.equal(single.alphas.normal, one_step[0]["snas"]["alpha.normal"])


def test_data_parallel_refusals(one_step):
    assert "second_order" in one_step[0]["second_order_refused"]
    assert "multiple of 2" in one_step[0]["odd_batch_refused"]
    assert one_step[0]["cpu_sync_batchnorm_refused"] == (
        "sync_batchnorm needs CUDA (torch's SyncBatchNorm runs on GPUs only), but this search runs on cpu; there "
        "each of the 2 workers normalises its own shard: drop sync_batchnorm")
    with pytest.raises(UserInputError, match="global batch"):
        check_batch_split(33, Ranks(0, 2))


@pytest.mark.slow
def test_repeated_and_resumed_runs_equal_the_uninterrupted_one(tmp_path):
    ranks = run_ranks(resumed_and_repeated, tmp_path)
    for runs in ranks:
        history, genotype, state = runs["first"]
        for other in ("again", "resumed"):
            other_history, other_genotype, other_state = runs[other]
            assert other_history == history, other
            assert other_genotype == genotype, other
            for key in state:
                assert torch.equal(state[key], other_state[key]), (other, key)
    assert ranks[0]["first"][0] == ranks[1]["first"][0]
