"""A resumable architecture search: one object owns everything a run needs to continue.

``Search(config)`` builds the data, the supernet, α, both optimisers and the random
generators; ``run_epoch()`` trains one epoch, evaluates and returns the metrics named in
:mod:`snas.metrics`; ``state_dict()`` / ``load_state_dict()`` (and ``save`` / ``restore``)
capture all of it, so a run stopped after epoch ``e`` and restored continues exactly as if
it had not stopped (bit-identical on CPU).

One training step, by method:

* ``snas`` -- single level: for each of ``nsample`` architecture samples, the loss
  ``CE + λ·penalty`` on the training batch is back-propagated; θ and α then step together.
* ``gdas`` / ``darts`` -- bilevel: θ steps on ``CE`` of a training batch and α steps on
  ``CE + λ·penalty`` of a (augmented) validation batch, in the reference order (DARTS
  updates α first, GDAS θ first).  ``second_order`` uses DARTS's unrolled gradient.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from snas.checkpoint import load_checkpoint, save_checkpoint
from snas.childnet import profile_child
from snas.config import SearchConfig
from snas.data import Batch, SearchData, check_image_size, search_data
from snas.device import autocast, memory_format, resolve_device, warn_unused_bf16
from snas.errors import UserInputError
from snas.genotype import Genotype, derive_genotype
from snas.memory import check_search_fits
from snas.metrics import trailing_mean
from snas.relax import RELAXATIONS, EdgeSample, argmax_sample
from snas.resource import ResourcePenalty
from snas.space import NUM_OPS, num_edges
from snas.supernet import SuperNet
from snas.temperature import TemperatureSchedule
from snas.training import Generators, RunningMean, build_model, correct, cosine_lr, fresh_generator, set_lr

KIND = "search"
StepCallback = Callable[[int, int], None]


class ArchParameters(nn.Module):
    """α of the normal and of the reduction cell (``num_edges × num_ops`` logits each)."""

    def __init__(self, normal: torch.Tensor, reduce: torch.Tensor):
        super().__init__()
        self.normal = nn.Parameter(normal)
        self.reduce = nn.Parameter(reduce)


@contextmanager
def frozen(params: Iterable[nn.Parameter]) -> Iterator[None]:
    """Parameters the enclosed pass does not train, excluded from its autograd graph.

    A bilevel θ pass then builds no graph towards α, and an α pass none towards θ: every
    convolution's weight gradient is skipped instead of computed and discarded (custom
    autograd functions cannot see that a gradient is unwanted, only that it is possible).
    """
    params = [p for p in params if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


class Search:
    """One architecture search run (see the module docstring)."""

    def __init__(self, config: SearchConfig, data: SearchData | None = None):
        cfg = self.config = config
        self.device = resolve_device(cfg.device)
        warn_unused_bf16(self.device, cfg.bf16)
        self.relaxation = RELAXATIONS[cfg.method]
        self.data = data or search_data(cfg.data, seed=cfg.seed, batch_size=cfg.batch_size, device=self.device)
        channels, height, width = self.data.image_shape
        check_image_size(height, width, 2, f"a {cfg.layers}-cell search network")
        check_search_fits(cfg, self.data.image_shape, self.data.num_classes, self.device)
        self.memory_format = memory_format(self.device, cfg.channels_last)

        self.model = build_model(cfg.seed, lambda: SuperNet(
            cfg.init_channels, self.data.num_classes, cfg.layers, in_channels=channels,
        )).to(self.device, memory_format=self.memory_format)
        alpha_generator = fresh_generator(cfg.seed, "alpha")
        self.alphas = ArchParameters(
            self.relaxation.init_alpha(num_edges(), NUM_OPS, alpha_generator),
            self.relaxation.init_alpha(num_edges(), NUM_OPS, alpha_generator),
        ).to(self.device)
        self.generators = Generators(cfg.seed, ("data", "val", "arch"))

        # Listed once: walking the module tree for them took ~9 ms of a 300 ms GDAS step.
        self.weight_params = list(self.model.parameters())
        self.arch_params = list(self.alphas.parameters())
        self.weight_optimizer = torch.optim.SGD(
            self.weight_params, lr=cfg.weights.lr, momentum=cfg.weights.momentum,
            weight_decay=cfg.weights.weight_decay,
        )
        if cfg.arch.name == "adam":
            self.arch_optimizer: torch.optim.Optimizer = torch.optim.Adam(
                self.arch_params, lr=cfg.arch.lr, betas=cfg.arch.betas, weight_decay=cfg.arch.weight_decay)
        else:
            self.arch_optimizer = torch.optim.SGD(
                self.arch_params, lr=cfg.arch.lr, weight_decay=cfg.arch.weight_decay)

        t = cfg.temperature
        self.temperature = TemperatureSchedule(
            t.schedule, t.initial, t.min, t.anneal_rate, t.per, cfg.epochs, self.data.train.train_steps())
        r = cfg.resource
        self.penalty = ResourcePenalty.for_cells(
            self.model.geometry(height, width), method=r.method, separation=r.separation,
            log_penalty=r.log_penalty, ratio=r.ratio, baseline=r.baseline, device=self.device)
        self.resource_lambda = r.lambda_ if r.method != "none" else 0.0

        self.epoch = 0
        self.diverged = False
        self.history: list[dict[str, Any]] = []

    # ------------------------------------------------------------------ properties
    @property
    def finished(self) -> bool:
        return self.diverged or self.epoch >= self.config.epochs

    @property
    def genotype(self) -> Genotype:
        return derive_genotype(self.alphas.normal, self.alphas.reduce, self.config.genotype_rule)

    # ------------------------------------------------------------------ one step
    def _samples(self, tau: float, generator: torch.Generator) -> tuple[list[EdgeSample], list[EdgeSample]]:
        per_cell = self.config.resample_per_cell
        draw = self.relaxation.sample
        normal = [draw(self.alphas.normal, tau, generator) for _ in range(self.model.num_normal if per_cell else 1)]
        reduce = [draw(self.alphas.reduce, tau, generator) for _ in range(self.model.num_reduce if per_cell else 1)]
        return normal, reduce

    def loss(self, x: torch.Tensor, y: torch.Tensor, tau: float,
             forward: Callable[..., torch.Tensor] | None = None) -> tuple[torch.Tensor, ...]:
        """(objective ``CE + λ·penalty``, cross-entropy, logits, cost) for one architecture sample.

        ``forward`` replaces the supernet call (the unrolled DARTS gradient evaluates the
        network with substituted weights).
        """
        normal, reduce = self._samples(tau, self.generators["arch"])
        with autocast(self.device, self.config.bf16):
            logits = (forward or self.model)(x, normal, reduce, self.config.drop_path, self.generators["arch"])
        ce = F.cross_entropy(logits.float(), y)
        term = self.penalty(
            self.alphas.normal, self.alphas.reduce,
            torch.stack([s.weights for s in normal]), torch.stack([s.weights for s in reduce]), tau)
        return ce + self.resource_lambda * term.loss, ce, logits, term.cost

    def _accumulate(self, x: torch.Tensor, y: torch.Tensor, tau: float, params: list[torch.Tensor],
                    stats: dict[str, RunningMean] | None) -> bool:
        """Back-propagate the mean objective of ``nsample`` samples into ``params``; False on NaN/inf."""
        n = self.config.nsample
        for _ in range(n):
            objective, ce, logits, cost = self.loss(x, y, tau)
            if not torch.isfinite(objective):
                return False
            if objective.requires_grad:  # not when every edge of a hard sample chose ``none``
                (objective / n).backward(inputs=params)
            if stats is not None:
                stats["loss"].add(ce.item(), len(y))
                stats["acc"].add(100.0 * correct(logits, y) / len(y), len(y))
                stats["cost"].add(cost.item(), 1)
        return True

    def _step_weights(self, x: torch.Tensor, y: torch.Tensor, tau: float, stats: dict[str, RunningMean]) -> bool:
        params = self.weight_params
        self.weight_optimizer.zero_grad(set_to_none=True)
        with frozen(self.arch_params):
            if not self._accumulate(x, y, tau, params, stats):
                return False
        nn.utils.clip_grad_norm_(params, self.config.weights.grad_clip)
        self.weight_optimizer.step()
        return True

    def _step_arch(self, x: torch.Tensor, y: torch.Tensor, tau: float, train_batch: Batch) -> bool:
        params = self.arch_params
        self.arch_optimizer.zero_grad(set_to_none=True)
        if self.config.second_order:
            from snas.unrolled import unrolled_arch_gradient

            if not unrolled_arch_gradient(self, train_batch, (x, y), tau):
                return False
        else:
            with frozen(self.weight_params):
                if not self._accumulate(x, y, tau, params, None):
                    return False
        nn.utils.clip_grad_norm_(params, self.config.arch.grad_clip)
        self.arch_optimizer.step()
        return True

    def _step_single_level(self, x: torch.Tensor, y: torch.Tensor, tau: float, stats: dict[str, RunningMean]) -> bool:
        weights, alphas = self.weight_params, self.arch_params
        self.weight_optimizer.zero_grad(set_to_none=True)
        self.arch_optimizer.zero_grad(set_to_none=True)
        if not self._accumulate(x, y, tau, weights + alphas, stats):
            return False
        nn.utils.clip_grad_norm_(weights, self.config.weights.grad_clip)
        nn.utils.clip_grad_norm_(alphas, self.config.arch.grad_clip)
        self.weight_optimizer.step()
        self.arch_optimizer.step()
        return True

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
        val_batches = self._validation_batches() if self.relaxation.bilevel else None
        tau = self.temperature.at(self.epoch)
        for step, (x, y) in enumerate(self.data.train.train_epoch(self.generators["data"])):
            tau = self.temperature.at(self.epoch, step)
            x = x.contiguous(memory_format=self.memory_format)
            if val_batches is None:
                ok = self._step_single_level(x, y, tau, stats)
            else:
                xv, yv = next(val_batches)
                xv = xv.contiguous(memory_format=self.memory_format)
                if self.relaxation.arch_first:
                    ok = self._step_arch(xv, yv, tau, (x, y)) and self._step_weights(x, y, tau, stats)
                else:
                    ok = self._step_weights(x, y, tau, stats) and self._step_arch(xv, yv, tau, (x, y))
            if not ok:
                self.diverged = True
                break
            if on_step is not None:
                on_step(step + 1, steps)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return {"train_loss": stats["loss"].mean, "train_acc": stats["acc"].mean, "cost": stats["cost"].mean,
                "temperature": tau, "lr": lr, "images": stats["acc"].count / max(cfg.nsample, 1)}

    @torch.no_grad()
    def evaluate(self, tau: float) -> tuple[float, float]:
        """(search_val_acc, child_val_acc) on the held-out split.

        The sampled supernet draws a fresh architecture per batch from a generator seeded
        by the epoch, so evaluation never shifts the training random streams.
        """
        self.model.eval()
        generator = fresh_generator(self.config.seed, f"eval:{self.epoch}")
        child = ([argmax_sample(self.alphas.normal)], [argmax_sample(self.alphas.reduce)])
        sampled_correct = child_correct = total = 0
        for x, y in self.data.val.eval_epoch():
            x = x.contiguous(memory_format=self.memory_format)
            with autocast(self.device, self.config.bf16):
                sampled_correct += correct(self.model(x, *self._samples(tau, generator)), y)
                child_correct += correct(self.model(x, *child), y)
            total += len(y)
        return 100.0 * sampled_correct / total, 100.0 * child_correct / total

    def _architecture_metrics(self, genotype: Genotype) -> dict[str, Any]:
        cfg = self.config
        channels, height, _ = self.data.image_shape
        common = dict(kind="cifar", num_classes=self.data.num_classes, in_channels=channels, image_size=height)
        child = profile_child(genotype, channels=cfg.init_channels, layers=cfg.layers, **common)
        full = profile_child(genotype, channels=cfg.eval_channels, layers=cfg.eval_layers, **common)
        probs = [torch.softmax(a.detach().float(), dim=-1) for a in (self.alphas.normal, self.alphas.reduce)]
        entropy = torch.cat([-(p * torch.log(p.clamp_min(1e-12))).sum(-1) for p in probs]).mean()
        return {
            "arch_entropy": float(entropy), "genotype": str(genotype),
            "child_params_m": child.params_m, "child_macs_m": child.macs_m,
            "eval_params_m": full.params_m, "eval_macs_m": full.macs_m,
        }

    def run_epoch(self, on_step: StepCallback | None = None) -> dict[str, Any]:
        """Train one epoch, evaluate, and return its metrics (also appended to ``history``)."""
        if self.finished:
            raise RuntimeError(f"the search is finished ({self.epoch} of {self.config.epochs} epochs)")
        start = time.perf_counter()
        train = self._train_epoch(on_step)
        train_time = time.perf_counter() - start
        search_acc, child_acc = self.evaluate(train["temperature"])
        self.epoch += 1
        metrics: dict[str, Any] = {
            "epoch": self.epoch,
            "train_loss": train["train_loss"], "train_acc": train["train_acc"],
            "search_val_acc": search_acc, "child_val_acc": child_acc,
            "search_val_acc_avg3": trailing_mean([float(h["search_val_acc"]) for h in self.history] + [search_acc]),
            "temperature": train["temperature"], "cost": train["cost"], "lr": train["lr"],
            **self._architecture_metrics(self.genotype),
            "epoch_time_s": time.perf_counter() - start,
            "images_per_s": train["images"] / train_time if train_time > 0 else math.nan,
            "diverged": self.diverged,
        }
        self.history.append(metrics)
        return metrics

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "diverged": self.diverged,
            "model": self.model.state_dict(),
            "alphas": self.alphas.state_dict(),
            "weight_optimizer": self.weight_optimizer.state_dict(),
            "arch_optimizer": self.arch_optimizer.state_dict(),
            "generators": self.generators.state_dict(),
            "history": self.history,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.alphas.load_state_dict(state["alphas"])
        self.weight_optimizer.load_state_dict(state["weight_optimizer"])
        self.arch_optimizer.load_state_dict(state["arch_optimizer"])
        self.generators.load_state_dict(state["generators"])
        self.epoch = int(state["epoch"])
        self.diverged = bool(state["diverged"])
        self.history = list(state["history"])

    def save(self, path: str | Path) -> Path:
        """Write a checkpoint holding the config, the split, the genotype and the full state."""
        return save_checkpoint(path, KIND, {
            "config": self.config.model_dump(mode="json", by_alias=True),
            "split": self.data.split.to_dict(),
            "epoch": self.epoch,
            "genotype": self.genotype.to_dict(),
            "state": self.state_dict(),
        })

    @classmethod
    def restore(cls, path: str | Path, data: SearchData | None = None) -> Search:
        """Rebuild a search from its checkpoint, ready to continue with ``run_epoch``."""
        record = load_checkpoint(path, KIND)
        search = cls(SearchConfig.model_validate(record["config"]), data=data)
        if search.data.split.fingerprint != record["split"]["fingerprint"]:
            raise UserInputError(
                f"the data split differs from the one {path} was trained on (the data set changed?); "
                f"resuming would mix validation and training images"
            )
        search.load_state_dict(record["state"])
        return search
