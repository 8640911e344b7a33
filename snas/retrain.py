"""Training a genotype from scratch, resumable like :class:`snas.search.Search`.

``Retrain(config)`` builds the evaluation network of the genotype, its data and its
optimiser; ``run_epoch()`` trains one epoch (SGD, cosine learning rate, auxiliary loss,
drop path ramped from 0 to ``drop_path``, gradient clipping, optional label smoothing),
evaluates on the validation part and the test split, and returns the metrics of
:data:`snas.metrics.RETRAIN_METRICS`.  ``state_dict`` / ``save`` / ``restore`` (from
:class:`snas.run.EpochRun`) capture the model, the optimiser, the random generators and
the history.

With a process group of several ranks (Ray Train's workers, ``snas-study train
--workers N``) it trains data-parallel exactly as :class:`snas.search.Search` does, with
:mod:`snas.distributed`'s helpers: ``batch_size`` is the global batch, each rank trains on
its shard of it with its own drop-path stream (seeded by (seed, rank), every rank's in
the checkpoint), gradients are averaged before clipping, BatchNorm normalises per rank
and its running statistics are averaged after each epoch, and the losses and accuracies
are sums over the ranks, so ``val_acc`` and ``test_acc`` are over the whole splits.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from snas.config import RetrainConfig
from snas.data.batches import Batches
from snas.data.loading import RetrainData, check_image_size, retrain_data
from snas.data.sets import InputSpec
from snas.device import autocast, memory_format, resolve_device, warn_unused_bf16
from snas.distributed import (
    RankGenerators,
    average_buffers,
    average_gradients,
    check_batch_split,
    current_ranks,
    shard,
    sum_means_over_ranks,
    sum_over_ranks,
)
from snas.memory import SHRINK_HINT, check_fits
from snas.run import EpochRun, StepCallback
from snas.spaces import space_of
from snas.spaces.base import AnyGenotype
from snas.training import Generators, RunningMean, build_model, correct, cosine_lr, set_lr


def check_retrain_input(cfg: RetrainConfig, inputs: InputSpec) -> None:
    """Refuse images the network cannot process (each of its stride-2 stages halves them):
    a study checks every trial's data with this before Ray starts."""
    halvings = space_of(cfg.resolved_genotype).halvings(cfg.network, cfg.layers)
    check_image_size(inputs.height, inputs.width, halvings, f"a {cfg.layers}-cell {cfg.network} network")


def check_retrain_fits(cfg: RetrainConfig, inputs: InputSpec, device: torch.device) -> None:
    """Refuse a retraining of ``cfg`` on ``inputs`` whose network does not fit ``device`` for training."""
    genotype = cfg.resolved_genotype
    space = space_of(genotype)
    net = space.child_memory(genotype, family=cfg.network, channels=cfg.init_channels, layers=cfg.layers,
                             num_classes=inputs.classes, in_channels=inputs.channels, image_size=inputs.side,
                             auxiliary=cfg.auxiliary)
    check_fits(net.training_bytes(cfg.batch_size, optimizer_slots=1), device,
               f"a {space.describe_child(cfg.network, cfg.layers)} with C={cfg.init_channels} "
               f"at batch {cfg.batch_size}", SHRINK_HINT)


class Retrain(EpochRun[RetrainConfig]):
    """One from-scratch training run of a genotype (see the module docstring)."""

    KIND = "retrain"
    MUTABLE_SETTINGS = RetrainConfig.MUTABLE_SETTINGS
    """The learning rate (the cosine schedule at its position, from the new base) and the drop
    path ramp's end are read afresh every epoch."""
    NOUN = "training"
    config: RetrainConfig

    def __init__(self, config: RetrainConfig, data: RetrainData | None = None):
        super().__init__(config)
        cfg = config
        self._genotype = cfg.resolved_genotype
        self.device = resolve_device(cfg.device)
        self.ranks = current_ranks()
        check_batch_split(cfg.batch_size, self.ranks)
        warn_unused_bf16(self.device, cfg.bf16)
        self.data = data or retrain_data(cfg.data, seed=cfg.seed, batch_size=cfg.batch_size, device=self.device,
                                         val_fraction=cfg.val_fraction)
        channels, height, width = self.data.image_shape
        self.space = space_of(self._genotype)
        check_retrain_input(cfg, self.data.inputs)
        shard_config = cfg.model_copy(update={"batch_size": cfg.batch_size // self.ranks.world})
        check_retrain_fits(shard_config, self.data.inputs, self.device)
        self.memory_format = memory_format(cfg.channels_last)
        network = dict(family=cfg.network, channels=cfg.init_channels, layers=cfg.layers,
                       num_classes=self.data.num_classes, in_channels=channels, image_size=height)
        self.model = build_model(cfg.seed, lambda: self.space.child_network(
            self.genotype, auxiliary=cfg.auxiliary, **network))
        # Module.to takes memory_format (torch's own stubs leave it out of the overloads)
        self.model.to(self.device, memory_format=self.memory_format)  # type: ignore[call-overload]
        self.model.compile_training(cfg.compile)
        self.profile = self.space.profile(self.genotype, **network)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                                         weight_decay=cfg.weight_decay)
        self.generators: Generators | RankGenerators = (
            RankGenerators(cfg.seed, ("data",), ("drop_path",), self.ranks) if self.ranks.parallel
            else Generators(cfg.seed, ("data", "drop_path")))

    @property
    def genotype(self) -> AnyGenotype:
        return self._genotype

    def _stateful(self) -> dict[str, Any]:
        return {"model": self.model, "optimizer": self.optimizer, "generators": self.generators}

    def drop_prob(self, epoch: int) -> float:
        """DARTS's linear ramp: epoch ``e`` (0-based) drops with ``p · e / epochs``."""
        return self.config.drop_path * epoch / self.config.epochs

    def loss(self, x: torch.Tensor, y: torch.Tensor, drop: float) -> tuple[torch.Tensor, torch.Tensor]:
        """(training loss, logits) of one batch: cross-entropy plus the weighted auxiliary
        head's, with drop path ``drop`` drawn from this rank's stream."""
        cfg = self.config
        with autocast(self.device, cfg.bf16):
            logits, logits_aux = self.model(x, drop, self.generators["drop_path"])
        loss = F.cross_entropy(logits.float(), y, label_smoothing=cfg.label_smoothing)
        if logits_aux is not None:
            loss = loss + cfg.auxiliary_weight * F.cross_entropy(
                logits_aux.float(), y, label_smoothing=cfg.label_smoothing)
        return loss, logits

    def _train_epoch(self, on_step: StepCallback | None) -> dict[str, float]:
        cfg = self.config
        self.model.train()
        lr = cosine_lr(cfg.lr, cfg.lr_min, self.epoch, cfg.epochs)
        set_lr(self.optimizer, lr)
        drop = self.drop_prob(self.epoch)
        loss_mean, acc_mean = RunningMean(), RunningMean()
        steps = self.data.train.train_steps()
        params = list(self.model.parameters())
        for step, batch in enumerate(self.data.train.train_epoch(self.generators["data"])):
            x, y = shard(batch, self.ranks)
            x = x.contiguous(memory_format=self.memory_format)
            self.optimizer.zero_grad(set_to_none=True)
            loss, logits = self.loss(x, y, drop)
            finite = bool(torch.isfinite(loss))
            if finite:
                loss.backward()
            if not average_gradients(params, finite):  # every rank skips the step if one diverged
                self.diverged = True
                break
            nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            self.optimizer.step()
            loss_mean.add(loss.item(), len(y))
            acc_mean.add(100.0 * correct(logits, y) / len(y), len(y))
            if on_step is not None:
                on_step(step + 1, steps)
        average_buffers(self.model)
        sum_means_over_ranks([loss_mean, acc_mean], self.device)
        return {"train_loss": loss_mean.mean, "train_acc": acc_mean.mean, "lr": lr, "drop_path": drop}

    @torch.no_grad()
    def accuracy(self, batches: Batches | None) -> float:
        """Top-1 accuracy (%) on ``batches``; NaN when there are none.  With several ranks each
        evaluates every ``world``-th batch and the counts are summed: the accuracy is over
        the whole split."""
        if batches is None:
            return math.nan
        self.model.eval()
        hits = total = 0
        for index, (x, y) in enumerate(batches.eval_epoch()):
            if index % self.ranks.world != self.ranks.rank:
                continue
            with autocast(self.device, self.config.bf16):
                logits, _ = self.model(x.contiguous(memory_format=self.memory_format))
            hits += correct(logits, y)
            total += len(y)
        summed_hits, seen = sum_over_ranks([hits, total], self.device)
        return 100.0 * summed_hits / seen

    def _epoch(self, on_step: StepCallback | None) -> dict[str, Any]:
        train = self._train_epoch(on_step)
        val_acc, test_acc = self.accuracy(self.data.val), self.accuracy(self.data.test)
        return {**train, "val_acc": val_acc, "test_acc": test_acc,
                "params_m": self.profile.params_m, "macs_m": self.profile.macs_m}
