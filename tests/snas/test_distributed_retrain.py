"""Data-parallel retraining on 2 gloo ranks (torch.multiprocessing, no Ray): the averaged
gradient equals one process's average over the same shards and drop-path streams, the
ranks hold identical weights, accuracies are over the whole splits, and a resumed
retraining equals an uninterrupted one."""

import pytest
import torch
from distributed_ranks import (
    RETRAIN,
    RETRAIN_DROP,
    assert_every_rank_has,
    comparable,
    retrain_ranks,
    retrain_weights,
    run_ranks,
    shard_gradients_averaged,
)

from snas.config import RetrainConfig
from snas.distributed import Ranks, shard
from snas.retrain import Retrain

pytestmark = pytest.mark.slow  # one 2-rank spawn for the module: about 12 s


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    return run_ranks(retrain_ranks, tmp_path_factory.mktemp("retrain_ranks"))


def _shard_gradients_averaged() -> list[torch.Tensor | None]:
    """One process: the first global batch, each rank's shard with that rank's drop-path
    stream (BatchNorm over the shard alone), the two gradients averaged."""
    run = Retrain(RetrainConfig.model_validate(RETRAIN))
    run.model.train()
    batch = next(iter(run.data.train.train_epoch(run.generators["data"])))

    def backward(rank: int) -> None:
        loss, _ = run.loss(*shard(batch, Ranks(rank, 2)), RETRAIN_DROP)
        loss.backward()

    return shard_gradients_averaged(list(run.model.parameters()), run.generators, "drop_path", backward)


def test_averaged_gradient_equals_the_average_of_the_shards(ranks):
    expected = _shard_gradients_averaged()
    assert sum(g is not None for g in expected) > 0
    assert_every_rank_has(ranks, expected)


def test_every_rank_holds_the_same_weights_after_an_epoch(ranks):
    first, second = (rank["after_one_epoch"] for rank in ranks)
    assert first.keys() == second.keys()
    for key in first:
        assert torch.equal(first[key], second[key]), key
    assert ranks[0]["uninterrupted"][0] == ranks[1]["uninterrupted"][0]  # the same (reduced) metrics


def test_accuracies_are_over_the_whole_splits(ranks):
    """Each rank's model, identical everywhere, scored on every batch on its own, gives the
    reported val_acc and test_acc: the ranks' half-splits were summed, not averaged."""
    for rank in ranks:
        last = rank["uninterrupted"][0][-1]
        assert (last["val_acc"], last["test_acc"]) == pytest.approx(rank["own_accuracy"])


def test_the_ranks_train_on_their_shards_not_the_whole_batch(ranks):
    single = Retrain(RetrainConfig.model_validate(RETRAIN))
    single.run_epoch()
    single_weights = retrain_weights(single)
    assert any(not torch.equal(single_weights[k], ranks[0]["after_one_epoch"][k]) for k in single_weights)
    assert comparable(single.history)[0]["train_loss"] != ranks[0]["uninterrupted"][0][0]["train_loss"]


def test_resumed_retraining_equals_the_uninterrupted_one(ranks):
    for rank in ranks:
        history, weights = rank["uninterrupted"]
        resumed_history, resumed_weights = rank["resumed"]
        assert resumed_history == history
        for key in weights:
            assert torch.equal(weights[key], resumed_weights[key]), key
