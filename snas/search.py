"""A resumable architecture search: one object owns everything a run needs to continue.

``Search(config)`` builds the data, the supernet, α, both optimisers and the random
generators; ``run_epoch()`` trains one epoch, evaluates and returns the metrics named in
:mod:`snas.metrics`; ``state_dict()`` / ``load_state_dict()`` (and ``save`` / ``restore``,
from :class:`snas.run.EpochRun`) capture all of it, so a run stopped after epoch ``e`` and
restored continues exactly as if it had not stopped (bit-identical on CPU).

What one training step does is the method's (:mod:`snas.methods`): SNAS steps θ and α
together on one training-batch loss; GDAS and DARTS are bilevel, α learning on validation
batches the search draws for them, in the order of their reference code.  The search
supplies the objective ``CE + λ·penalty`` of one architecture sample.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from snas.config import SearchConfig
from snas.data.batches import Batch
from snas.data.loading import SearchData, check_image_size, search_data
from snas.data.sets import InputSpec
from snas.device import autocast, memory_format, resolve_device, warn_unused_bf16
from snas.distributed import (
    RankGenerators,
    average_buffers,
    check_batch_split,
    current_ranks,
    rank_stream,
    shard,
    sum_means_over_ranks,
    sum_over_ranks,
)
from snas.errors import UserInputError
from snas.memory import SHRINK_HINT, check_fits
from snas.methods import METHODS
from snas.methods.base import ARCH_OPTIMIZERS
from snas.methods.steps import Learner, Stats
from snas.metrics import trailing_mean
from snas.relax import EdgeSample, argmax_sample
from snas.resource import ResourcePenalty
from snas.run import EpochRun, StepCallback
from snas.spaces import SPACES
from snas.spaces.base import AnyGenotype
from snas.spaces.networks import SuperNetwork
from snas.temperature import TemperatureSchedule
from snas.training import Generators, RunningMean, build_model, correct, cosine_lr, fresh_generator, set_lr


class ArchParameters(nn.ParameterDict):
    """α of each cell type of the search space (``num_edges × num_ops`` logits each), by
    type name: ``normal`` and ``reduce`` in the DARTS space, ``cell`` in NAS-Bench-201."""

    def __init__(self, alphas: dict[str, torch.Tensor]):
        super().__init__({name: nn.Parameter(alpha) for name, alpha in alphas.items()})

    def ordered(self) -> tuple[nn.Parameter, ...]:
        """The α of every cell type, in the space's order."""
        return tuple(self.values())


_ALPHAS = "alphas"
"""The key of α in a search's state (:meth:`Search.state_dict`)."""


def saved_alphas(state: Mapping[str, Any]) -> Mapping[str, torch.Tensor]:
    """α of each cell type, by type name, in the state a search saved (a checkpoint's
    ``state``); empty where it holds none."""
    alphas: Mapping[str, torch.Tensor] = state.get(_ALPHAS, {})
    return alphas


def check_search_input(cfg: SearchConfig, inputs: InputSpec) -> None:
    """Refuse images the search network cannot process (its two reduction cells halve them):
    a study checks every trial's data with this before Ray starts."""
    check_image_size(inputs.height, inputs.width, 2, f"a {cfg.layers}-cell search network")


def check_search_fits(cfg: SearchConfig, inputs: InputSpec, device: torch.device) -> None:
    """Refuse a search of ``cfg`` on ``inputs`` whose supernet does not fit ``device`` for
    training, or (where its space names its largest genotype) whose evaluation-scale child
    does not fit the CPU for profiling."""
    space = SPACES[cfg.space]
    in_channels, side, num_classes = inputs.channels, inputs.side, inputs.classes
    net = space.supernet_memory(cfg.init_channels, num_classes, cfg.layers, in_channels, side)
    steps = 2 if cfg.second_order else 1  # the unrolled gradient holds a second copy and its step
    check_fits(steps * net.training_bytes(cfg.batch_size, optimizer_slots=1), device,
               f"a {space.describe_supernet(cfg.layers)} with C={cfg.init_channels} at batch {cfg.batch_size}",
               SHRINK_HINT)
    if space.largest_genotype is None:
        return
    child = space.child_memory(space.largest_genotype, family="cifar", channels=cfg.eval_channels,
                               layers=cfg.eval_layers, num_classes=num_classes, in_channels=in_channels,
                               image_size=side, auxiliary=False)
    check_fits(child.inference_bytes(), torch.device("cpu"),
               f"profiling the {cfg.eval_layers}-cell evaluation network with C={cfg.eval_channels}",
               "use fewer eval_layers or eval_channels")


class Search(EpochRun[SearchConfig]):
    """One architecture search run (see the module docstring)."""

    KIND = "search"
    MUTABLE_SETTINGS = SearchConfig.MUTABLE_SETTINGS
    OPTIONAL_STATE = ("temperature",)  # its anchor, saved since 0.2
    NOUN = "search"
    config: SearchConfig

    def __init__(self, config: SearchConfig, data: SearchData | None = None):
        super().__init__(config)
        cfg = config
        self.device = resolve_device(cfg.device)
        self.ranks = current_ranks()
        check_batch_split(cfg.batch_size, self.ranks)
        if cfg.second_order and self.ranks.parallel:
            raise UserInputError("second_order (DARTS's unrolled α gradient) runs in one process only; "
                                 "use workers: 1 or the first-order gradient (second_order: false)")
        warn_unused_bf16(self.device, cfg.bf16)
        self.method = METHODS[cfg.method]
        self.space = SPACES[cfg.space]
        self.data = data or search_data(cfg.data, seed=cfg.seed, batch_size=cfg.batch_size, device=self.device)
        channels, height, width = self.data.image_shape
        check_search_input(cfg, self.data.inputs)
        shard_config = cfg.model_copy(update={"batch_size": cfg.batch_size // self.ranks.world})
        check_search_fits(shard_config, self.data.inputs, self.device)
        self.memory_format = memory_format(cfg.channels_last)

        self.model = build_model(cfg.seed, lambda: self.space.supernet(
            cfg.init_channels, self.data.num_classes, cfg.layers, in_channels=channels,
        ))
        # Module.to takes memory_format (torch's own stubs leave it out of the overloads)
        self.model.to(self.device, memory_format=self.memory_format)  # type: ignore[call-overload]
        if cfg.sync_batchnorm and self.ranks.parallel:
            if self.device.type != "cuda":
                raise UserInputError(f"sync_batchnorm needs CUDA (torch's SyncBatchNorm runs on GPUs only), but "
                                     f"this search runs on {self.device.type}; there each of the "
                                     f"{self.ranks.world} workers normalises its own shard: drop sync_batchnorm")
            self.model = cast(SuperNetwork, nn.SyncBatchNorm.convert_sync_batchnorm(self.model))  # the same root
        self.model.compile_training(cfg.compile)
        alpha_generator = fresh_generator(cfg.seed, "alpha")
        self.alphas = ArchParameters({
            cell_type: self.method.init_alpha(self.space.num_edges, len(self.space.primitives), alpha_generator)
            for cell_type in self.space.cell_types
        }).to(self.device)
        self.generators: Generators | RankGenerators = (
            RankGenerators(cfg.seed, ("data", "val"), ("arch",), self.ranks) if self.ranks.parallel
            else Generators(cfg.seed, ("data", "val", "arch")))

        weight_params = list(self.model.parameters())
        arch_params = list(self.alphas.parameters())
        self.weight_optimizer = torch.optim.SGD(
            weight_params, lr=cfg.weights.lr, momentum=cfg.weights.momentum,
            weight_decay=cfg.weights.weight_decay, nesterov=cfg.weights.nesterov,
        )
        a = cfg.arch
        self.arch_optimizer = ARCH_OPTIMIZERS[a.name](arch_params, lr=a.lr, betas=a.betas, weight_decay=a.weight_decay)
        self.learner = Learner(
            self.model, weight_params, arch_params, self.weight_optimizer, self.arch_optimizer,
            weight_clip=cfg.weights.grad_clip, arch_clip=a.grad_clip, nsample=cfg.nsample,
            second_order=cfg.second_order, loss=self.loss,
        )

        t = cfg.temperature
        self.temperature = TemperatureSchedule(
            t.schedule, t.initial, t.min, t.anneal_rate, t.per, cfg.epochs, self.data.train.train_steps())
        r = cfg.resource
        self.penalty = ResourcePenalty.for_cells(
            self.space.cell_geometry(self.model, height, width), cost_table=self.space.cost_table,
            ratio_weighted=self.space.ratio_weighted,
            official_counts=self.space.official_cell_counts(self.model.cell_counts),
            method=r.method, separation=r.separation,
            log_penalty=r.log_penalty, ratio=r.ratio, baseline=r.baseline, device=self.device,
            cost_model=r.cost_model, normalisation=r.normalisation,
            policy_gradient=r.policy_gradient)
        self.resource_lambda = r.lambda_

    @property
    def genotype(self) -> AnyGenotype:
        return self.space.derive(self.alphas.ordered(), self.config.genotype_rule)

    def _stateful(self) -> dict[str, Any]:
        return {"model": self.model, _ALPHAS: self.alphas, "weight_optimizer": self.weight_optimizer,
                "arch_optimizer": self.arch_optimizer, "generators": self.generators,
                "temperature": self.temperature}

    def _retune(self, config: SearchConfig, changed: dict[str, tuple[Any, Any]]) -> None:
        """τ continues from where it stands (:meth:`snas.temperature.TemperatureSchedule.retune`),
        λ and α's learning rate take their new values; the weights' learning rate (the cosine
        schedule at its position, from the new base) and drop path are read every epoch."""
        t = config.temperature
        if any(key.startswith("temperature.") for key in changed):
            self.temperature.retune(self.epoch, t.initial, t.anneal_rate, t.min)
        self.resource_lambda = config.resource.lambda_
        set_lr(self.arch_optimizer, config.arch.lr)

    # ------------------------------------------------------------------ one step
    def _samples(self, tau: float, generator: torch.Generator) -> tuple[list[EdgeSample], ...]:
        """One list of samples per cell type: one shared by its cells, or one per cell."""
        per_cell = self.config.resample_per_cell
        draw = self.method.sample
        return tuple([draw(alpha, tau, generator) for _ in range(count if per_cell else 1)]
                     for alpha, count in zip(self.alphas.ordered(), self.model.cell_counts, strict=True))

    def loss(self, x: torch.Tensor, y: torch.Tensor, tau: float,
             forward: Callable[..., torch.Tensor] | None = None,
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """(objective ``CE + λ·penalty``, cross-entropy, logits, cost) for one architecture sample.

        ``forward`` replaces the supernet call (the unrolled DARTS gradient evaluates the
        network with substituted weights).
        """
        samples = self._samples(tau, self.generators["arch"])
        with autocast(self.device, self.config.bf16):
            logits = (forward or self.model)(x, *samples, self.config.drop_path, self.generators["arch"])
        ce = F.cross_entropy(logits.float(), y)
        term = self.penalty(self.alphas.ordered(), tuple(torch.stack([s.weights for s in of_type])
                                                         for of_type in samples), tau)
        return ce + self.resource_lambda * term.loss, ce, logits, term.cost

    def train_step(self, batch: Batch, val_batch: Batch | None, tau: float, stats: Stats | None = None) -> bool:
        """One step of the method on a training batch (and, bilevel, a validation batch).

        False if a loss was NaN/inf; that update is then not applied.  ``stats`` collects
        the training loss, accuracy and cost (keys ``loss``, ``acc``, ``cost``).
        """
        return self.method.step(self.learner, batch, val_batch, tau, stats)

    # ------------------------------------------------------------------ one epoch
    def _validation_batches(self) -> Iterator[Batch]:
        """Augmented validation batches for α steps, cycling through epochs of the split."""
        while True:
            yield from self.data.val.train_epoch(self.generators["val"])

    def _train_epoch(self, on_step: StepCallback | None) -> dict[str, float]:
        cfg = self.config
        self.model.train()
        lr = cosine_lr(cfg.weights.lr, cfg.weights.lr_min, self.epoch, cfg.epochs)
        set_lr(self.weight_optimizer, lr)
        stats = {name: RunningMean() for name in ("loss", "acc", "cost")}
        steps = self.data.train.train_steps()
        val_batches = self._validation_batches() if self.method.bilevel else None
        tau = self.temperature.at(self.epoch)
        for step, batch in enumerate(self.data.train.train_epoch(self.generators["data"])):
            tau = self.temperature.at(self.epoch, step)
            x, y = shard(batch, self.ranks)
            x = x.contiguous(memory_format=self.memory_format)
            val_batch = None
            if val_batches is not None:
                xv, yv = shard(next(val_batches), self.ranks)
                val_batch = xv.contiguous(memory_format=self.memory_format), yv
            if not self.train_step((x, y), val_batch, tau, stats):
                self.diverged = True
                break
            if on_step is not None:
                on_step(step + 1, steps)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        average_buffers(self.model)
        sum_means_over_ranks(list(stats.values()), self.device)
        return {"train_loss": stats["loss"].mean, "train_acc": stats["acc"].mean, "cost": stats["cost"].mean,
                "temperature": tau, "lr": lr, "images": stats["acc"].count / max(cfg.nsample, 1)}

    @torch.no_grad()
    def evaluate(self, tau: float) -> tuple[float, float]:
        """(search_val_acc, child_val_acc) on the held-out split.

        The sampled supernet draws a fresh architecture per batch from a generator seeded
        by the epoch, so evaluation never shifts the training random streams.  With several
        ranks each evaluates every ``world``-th batch with its own stream, and the counts
        are summed: the accuracies are over the whole split.
        """
        self.model.eval()
        stream = f"eval:{self.epoch}"
        generator = fresh_generator(self.config.seed, rank_stream(stream, self.ranks.rank) if self.ranks.parallel
                                    else stream)
        child = tuple([argmax_sample(alpha)] for alpha in self.alphas.ordered())
        sampled_correct = child_correct = total = 0
        for index, (x, y) in enumerate(self.data.val.eval_epoch()):
            if index % self.ranks.world != self.ranks.rank:
                continue
            x = x.contiguous(memory_format=self.memory_format)
            with autocast(self.device, self.config.bf16):
                sampled_correct += correct(self.model(x, *self._samples(tau, generator)), y)
                child_correct += correct(self.model(x, *child), y)
            total += len(y)
        sampled, child_hits, seen = sum_over_ranks([sampled_correct, child_correct, total], self.device)
        return 100.0 * sampled / seen, 100.0 * child_hits / seen

    def _architecture_metrics(self, genotype: AnyGenotype) -> dict[str, Any]:
        cfg = self.config
        channels, height, _ = self.data.image_shape
        common = dict(family="cifar", num_classes=self.data.num_classes, in_channels=channels, image_size=height)
        child = self.space.profile(genotype, channels=cfg.init_channels, layers=cfg.layers, **common)
        full = self.space.profile(genotype, channels=cfg.eval_channels, layers=cfg.eval_layers, **common)
        probs = [torch.softmax(a.detach().float(), dim=-1) for a in self.alphas.ordered()]
        entropy = torch.cat([-(p * torch.log(p.clamp_min(1e-12))).sum(-1) for p in probs]).mean()
        return {
            "arch_entropy": float(entropy),
            "arch_entropy_normalized": float(entropy) / math.log(len(self.space.primitives)),
            "normal_skip_connect": self.space.skip_connect_count(genotype),
            "normal_param_free": self.space.parameter_free_count(genotype),
            "genotype": str(genotype),
            "child_params_m": child.params_m, "child_macs_m": child.macs_m,
            "eval_params_m": full.params_m, "eval_macs_m": full.macs_m,
        }

    def _epoch(self, on_step: StepCallback | None) -> dict[str, Any]:
        start = time.perf_counter()
        train = self._train_epoch(on_step)
        train_time = time.perf_counter() - start
        search_acc, child_acc = self.evaluate(train["temperature"])
        return {
            "train_loss": train["train_loss"], "train_acc": train["train_acc"],
            "search_val_acc": search_acc, "child_val_acc": child_acc, "supernet_child_gap": search_acc - child_acc,
            "search_val_acc_avg3": trailing_mean([float(h["search_val_acc"]) for h in self.history] + [search_acc]),
            "temperature": train["temperature"], "cost": train["cost"], "lr": train["lr"],
            **self._architecture_metrics(self.genotype),
            "images_per_s": train["images"] / train_time if train_time > 0 else math.nan,
        }
