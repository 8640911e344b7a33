"""What the ranks of the data-parallel tests run: ``torch.multiprocessing`` + gloo, no Ray.

Each entry point runs in every rank of a fresh 2-rank gloo process group and saves what
it measured to ``<out>/rank<r>.pt``; the tests compare the ranks' files with each other
and with one process computing the same shards.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from harness.localgroup import run_on_ranks

WORLD = 2


def _save_entry(rank: int, entry: Callable[[Path, int], dict[str, Any]], out: Path) -> int:
    torch.save(entry(out, rank), out / f"rank{rank}.pt")
    return 0


def run_ranks(entry: Callable[[Path, int], dict[str, Any]], out: Path) -> list[dict[str, Any]]:
    """``entry(out, rank)`` on each of 2 gloo ranks, started as ``--workers 2`` starts them
    (:func:`harness.localgroup.run_on_ranks`); what each returned, by rank."""
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    assert run_on_ranks(WORLD, False, functools.partial(_save_entry, entry=entry, out=out)) == 0
    return [torch.load(out / f"rank{r}.pt", weights_only=False) for r in range(WORLD)]


def comparable(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in h.items() if k not in ("epoch_time_s", "images_per_s")} for h in history]


def weights_and_alphas(search: Any) -> dict[str, torch.Tensor]:
    state = {f"model.{k}": v.detach().clone() for k, v in search.model.state_dict().items()}
    state.update({f"alpha.{k}": v.detach().clone() for k, v in search.alphas.state_dict().items()})
    return state


def one_step_gradients(out: Path, rank: int) -> dict[str, Any]:
    """The averaged θ and α gradients of the first SNAS step, then the state after two
    steps of each method (SNAS single level, GDAS bilevel)."""
    from search_helpers import tiny_search_settings

    from snas.config import SearchConfig
    from snas.distributed import average_gradients, current_ranks, shard
    from snas.errors import UserInputError
    from snas.methods.steps import accumulate
    from snas.search import Search

    result: dict[str, Any] = {}
    search = Search(SearchConfig.model_validate(tiny_search_settings(drop_path=0.2)))
    batch = next(iter(search.data.train.train_epoch(search.generators["data"])))
    params = search.learner.weights + search.learner.alphas
    search.model.train()
    assert accumulate(search.learner, shard(batch, current_ranks()), 1.0, params, None)
    assert average_gradients(params, True)
    result["grads"] = [None if p.grad is None else p.grad.clone() for p in params]
    for method in ("snas", "gdas"):
        run = Search(SearchConfig.model_validate(tiny_search_settings(method=method, epochs=1, drop_path=0.2)))
        run.run_epoch()
        result[method] = weights_and_alphas(run)
        result[f"{method}_history"] = comparable(run.history)
    try:
        Search(SearchConfig.model_validate(tiny_search_settings(method="darts", second_order=True)))
    except UserInputError as err:
        result["second_order_refused"] = str(err)
    try:
        Search(SearchConfig.model_validate(tiny_search_settings(batch_size=33)))
    except UserInputError as err:
        result["odd_batch_refused"] = str(err)
    try:
        Search(SearchConfig.model_validate(tiny_search_settings(sync_batchnorm=True)))
    except UserInputError as err:
        result["cpu_sync_batchnorm_refused"] = str(err)
    return result


def resumed_and_repeated(out: Path, rank: int) -> dict[str, Any]:
    """Three 2-epoch SNAS searches: one uninterrupted, the same again, and one saved after
    epoch 1 (rank 0 writes), restored on every rank and finished."""
    from search_helpers import tiny_search_settings

    from snas.config import SearchConfig
    from snas.search import Search

    settings = tiny_search_settings(epochs=2, drop_path=0.2)
    runs: dict[str, Any] = {}
    for name in ("first", "again"):
        search = Search(SearchConfig.model_validate(settings))
        search.run_epoch()
        search.run_epoch()
        runs[name] = (comparable(search.history), str(search.genotype), weights_and_alphas(search))
    interrupted = Search(SearchConfig.model_validate(settings))
    interrupted.run_epoch()
    checkpoint = out / "checkpoint.pt"
    interrupted.save(checkpoint, write=rank == 0)  # every rank gathers the generators' states
    dist.barrier()
    resumed = Search.restore(checkpoint)
    resumed.run_epoch()
    runs["resumed"] = (comparable(resumed.history), str(resumed.genotype), weights_and_alphas(resumed))
    return runs


RETRAIN = {
    "genotype": "DARTS_V2", "layers": 3, "init_channels": 4, "batch_size": 32, "epochs": 2, "seed": 0,
    "device": "cpu", "drop_path": 0.2, "auxiliary": True, "label_smoothing": 0.1, "val_fraction": 0.25,
    "data": {"dataset": "synthetic", "synthetic": {"classes": 4, "image_size": 8, "train_images": 256,
                                                   "test_images": 96}},
}
"""A tiny retraining: 6 steps of 32 a training epoch, 64 validation images (2 batches) and
96 test images (3 batches: the ranks evaluate unequal parts)."""

RETRAIN_DROP = 0.2
"""The drop-path probability of the gradient check (the ramp starts epoch 0 at 0)."""


def retrain_weights(run: Any) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in run.model.state_dict().items()}


def whole_split_accuracy(run: Any, batches: Any) -> float:
    """The accuracy of this rank's model over every batch of the split, not reduced."""
    from snas.training import correct

    run.model.eval()
    hits = total = 0
    with torch.no_grad():
        for x, y in batches.eval_epoch():
            hits += correct(run.model(x)[0], y)
            total += len(y)
    return 100.0 * hits / total


def retrain_ranks(out: Path, rank: int) -> dict[str, Any]:
    """The averaged gradient of a first retraining step (drop path on), then a 2-epoch
    retraining uninterrupted and one saved after epoch 1 (rank 0 writes), restored and
    finished, with each rank's own accuracy of the final model over the whole splits."""
    from snas.config import RetrainConfig
    from snas.distributed import average_gradients, current_ranks, shard
    from snas.retrain import Retrain

    config = RetrainConfig.model_validate(RETRAIN)
    result: dict[str, Any] = {}
    run = Retrain(config)
    run.model.train()
    batch = next(iter(run.data.train.train_epoch(run.generators["data"])))
    loss, _ = run.loss(*shard(batch, current_ranks()), RETRAIN_DROP)
    loss.backward()
    params = list(run.model.parameters())
    assert average_gradients(params, True)
    result["grads"] = [None if p.grad is None else p.grad.clone() for p in params]

    uninterrupted = Retrain(config)
    uninterrupted.run_epoch()
    result["after_one_epoch"] = retrain_weights(uninterrupted)
    uninterrupted.run_epoch()
    result["uninterrupted"] = (comparable(uninterrupted.history), retrain_weights(uninterrupted))
    result["own_accuracy"] = (whole_split_accuracy(uninterrupted, uninterrupted.data.val),
                              whole_split_accuracy(uninterrupted, uninterrupted.data.test))

    interrupted = Retrain(config)
    interrupted.run_epoch()
    checkpoint = out / "retrain.pt"
    interrupted.save(checkpoint, write=rank == 0)
    dist.barrier()
    resumed = Retrain.restore(checkpoint)
    resumed.run_epoch()
    result["resumed"] = (comparable(resumed.history), retrain_weights(resumed))
    return result


def run_of_config(out: Path, rank: int) -> dict[str, Any]:
    """The run ``<out>/config.json`` describes (``{"kind": "search" | "retrain", "config": ...}``),
    to the end on one thread per rank, as a Ray Train worker with ``resources.cpu: 1`` runs
    it: its history, model weights and genotype (as JSON)."""
    import json

    from snas.config import RetrainConfig, SearchConfig
    from snas.retrain import Retrain
    from snas.search import Search

    torch.set_num_threads(1)
    spec = json.loads((out / "config.json").read_text())
    loop_class, config_class = {"search": (Search, SearchConfig), "retrain": (Retrain, RetrainConfig)}[spec["kind"]]
    run = loop_class(config_class.model_validate(spec["config"]))
    while not run.finished:
        run.run_epoch()
    return {"history": comparable(run.history), "weights": retrain_weights(run),
            "genotype": json.loads(json.dumps(run.genotype.to_dict()))}


def shard_gradients_averaged(params: list[torch.Tensor], generators: Any, stream: str,
                             backward: Callable[[int], None]) -> list[torch.Tensor | None]:
    """What 2 ranks' averaged gradient should be, computed in one process: for each rank,
    its own ``stream`` seeded as that rank's, ``backward(rank)`` on its shard, and the two
    gradients averaged (``None`` where neither had one)."""
    from snas.distributed import rank_stream
    from snas.training import derive_seed

    sums: list[torch.Tensor | None] = [None] * len(params)
    for rank in range(WORLD):
        generators.streams[stream] = torch.Generator().manual_seed(derive_seed(0, rank_stream(stream, rank)))
        for p in params:
            p.grad = None
        backward(rank)
        for i, p in enumerate(params):
            if p.grad is not None:
                sums[i] = p.grad.clone() if sums[i] is None else sums[i] + p.grad
    return [None if s is None else s / WORLD for s in sums]


def assert_every_rank_has(ranks: list[dict[str, Any]], expected: list[torch.Tensor | None]) -> None:
    """Every rank's averaged gradients (``"grads"``) are ``expected``, to float tolerance."""
    for rank in ranks:
        assert len(rank["grads"]) == len(expected)
        for got, want in zip(rank["grads"], expected, strict=True):
            assert (got is None) == (want is None)
            if want is not None:
                torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-6)  # threads sum in another order
