"""The configuration of one architecture search, validated once when it is built.

Defaults reproduce the official single-GPU SNAS search (8 cells, C = 16, 150 epochs,
batch 64, τ 1 → 0.03 linearly, SGD θ lr 0.025 cosine to 0.001, the resource constraint
by reparametrization with log penalty and λ 1e-2).  Settings whose reference value
depends on the method are filled in when left out, and the filled-in value is what the
config (and a study's frozen ``study.yaml``) then shows:

* each method's ``defaults`` (:mod:`snas.methods`): the α optimiser and its gradient
  clip, ``drop_path``, and where the method's official search differs, its epochs,
  batch and θ optimiser (DARTS, GDAS), temperature (GDAS) and resource constraint (SNAS);
* the resource λ: the official per-estimator default (see :func:`snas.resource.default_lambda`).

Which settings go together is decided by what the method and the penalty estimator
declare (``offers_second_order``, ``soft_samples``, ``needs_soft_samples``), not by names.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from snas.catalogue import CATALOGUE, named_genotype
from snas.compilation import CompileMode, compile_mode
from snas.configmodel import Frozen
from snas.data.config import DataConfig
from snas.methods import METHODS
from snas.methods.base import ARCH_OPTIMIZERS, with_defaults
from snas.registry import registered
from snas.resource import COST_MODELS, NORMALISATIONS, PENALTIES, POLICY_GRADIENTS, SEPARATIONS
from snas.spaces import DEFAULT_SPACE, SPACES, genotype_from_dict, space_of
from snas.spaces.base import AnyGenotype, NetworkFamily
from snas.spaces.darts.genotype import DerivationRule
from snas.temperature import SCHEDULES, check_schedule

DEVICE_PATTERN = r"^(auto|cpu|cuda(:\d+)?)$"
"""What a ``device`` setting may say: ``auto`` (a GPU if there is one), ``cpu``, ``cuda`` or ``cuda:N``
(:func:`snas.device.resolve_device` chooses it)."""


class WeightOptimizerConfig(Frozen):
    """SGD with momentum on the supernet weights θ, cosine-annealed per epoch."""

    lr: float = Field(0.025, gt=0)
    lr_min: float = Field(0.001, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(3e-4, ge=0)
    grad_clip: float = Field(5.0, gt=0)
    nesterov: bool = False
    """Nesterov momentum (GDAS's search optimiser)."""

    @model_validator(mode="after")
    def _min_below_lr(self) -> WeightOptimizerConfig:
        if self.lr_min > self.lr:
            raise ValueError(f"lr_min ({self.lr_min}) must not exceed lr ({self.lr})")
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov needs a momentum above 0")
        return self


class ArchOptimizerConfig(Frozen):
    """The optimiser of the architecture logits α (constant learning rate)."""

    name: Annotated[str, registered(ARCH_OPTIMIZERS)] = "adam"
    lr: float = Field(3e-4, gt=0)
    betas: tuple[float, float] = (0.5, 0.999)
    weight_decay: float = Field(1e-3, ge=0)
    grad_clip: float | None = Field(None, gt=0)
    """Clip α's gradient norm at this value; ``None``: no clipping (DARTS's ``Architect.step``
    and GDAS do not clip, SNAS clips at 10; the method fills in its own)."""



class TemperatureConfig(Frozen):
    """The Gumbel-softmax temperature schedule (see :mod:`snas.temperature`)."""

    schedule: Annotated[str, registered(SCHEDULES)] = "linear"
    initial: float = Field(1.0, gt=0)
    min: float = Field(0.03, gt=0)
    anneal_rate: float = Field(0.95, gt=0, le=1)
    """Per-epoch factor of the ``exponential`` schedule, in (0, 1]."""
    per: Literal["epoch", "step"] = "epoch"


    @model_validator(mode="after")
    def _a_schedule(self) -> TemperatureConfig:
        check_schedule(self.schedule, self.initial, self.min, self.anneal_rate)
        return self


class ResourceConfig(Frozen):
    """The resource constraint (see :mod:`snas.resource`); ``method: none`` switches it off."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    method: Annotated[str, registered(PENALTIES)] = "none"
    lambda_: float = Field(0.0, alias="lambda", ge=0)
    """Weight of the penalty; left out, the official default for the estimator."""
    log_penalty: bool = True
    separation: Annotated[str, registered(SEPARATIONS)] = "all"
    ratio: float = Field(1.0, ge=0)
    """Weight of reduction cells' cost relative to normal cells'."""
    baseline: bool = False
    """Subtract the mean op cost in the policy-gradient estimator."""
    cost_model: Annotated[str, registered(COST_MODELS)] = "official"
    """How op costs are counted: the official SNAS formulas or ``measured`` (:data:`snas.resource.COST_MODELS`)."""
    normalisation: Annotated[str, registered(NORMALISATIONS)] = "official"
    """How cells combine: the official fixed 6 normal / 2 reduction divisors, or ``mean``."""
    policy_gradient: Annotated[str, registered(POLICY_GRADIENTS)] = "score_function"
    """The ``policy_gradient`` estimator's α gradient: the unbiased score function, or the
    ``official`` code's, which adds a biased pathwise part (:mod:`snas.resource`)."""

    @model_validator(mode="before")
    @classmethod
    def _default_lambda(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("lambda", data.get("lambda_")) is None:
            method, log_penalty = data.get("method", "none"), data.get("log_penalty", True)
            if method in PENALTIES and isinstance(log_penalty, bool):
                data = {k: v for k, v in data.items() if k != "lambda_"}
                data["lambda"] = PENALTIES[method].default_lambda(log_penalty)
        return data







class SearchConfig(Frozen):
    """Everything one search run needs; equal configs give identical runs on CPU."""

    MUTABLE_SETTINGS: ClassVar[tuple[str, ...]] = (
        "temperature.initial", "temperature.anneal_rate", "temperature.min", "resource.lambda",
        "weights.lr", "weights.lr_min", "arch.lr", "drop_path")
    """The settings a search may change between epochs (:attr:`snas.run.EpochRun.MUTABLE_SETTINGS`),
    here so that a study can be checked against them without building a search."""

    method: Annotated[str, registered(METHODS)] = "snas"
    space: Annotated[str, registered(SPACES)] = DEFAULT_SPACE
    """The search space (:mod:`snas.spaces`): ``darts`` or ``nas-bench-201``; in
    ``nas-bench-201`` ``layers`` / ``eval_layers`` count the cells of each of its 3 stages."""
    layers: int = Field(8, ge=3)
    init_channels: int = Field(16, ge=2)
    epochs: int = Field(150, ge=1)
    batch_size: int = Field(64, ge=2)
    weights: WeightOptimizerConfig = WeightOptimizerConfig()
    arch: ArchOptimizerConfig = ArchOptimizerConfig()
    temperature: TemperatureConfig = TemperatureConfig()
    resource: ResourceConfig = ResourceConfig()
    nsample: int = Field(1, ge=1)
    """Architecture samples per batch; their losses are averaged."""
    resample_per_cell: bool = False
    """Draw a fresh sample for every cell instead of one per cell type per forward."""
    drop_path: float = Field(0.3, ge=0, lt=1)
    second_order: bool = False
    """DARTS only: the unrolled (second-order) architecture gradient."""
    genotype_rule: DerivationRule = "darts"
    eval_layers: int = Field(20, ge=3)
    eval_channels: int = Field(36, ge=2)
    seed: int = Field(0, ge=0)
    device: str = Field("auto", pattern=DEVICE_PATTERN)
    bf16: bool = False
    """bf16 autocast (CUDA only)."""
    channels_last: bool = True
    compile: CompileMode = "off"
    """``torch.compile`` the supernet's training forward under soft samples (SNAS, DARTS):
    ``off``, ``default``, ``reduce-overhead`` or ``max-autotune`` (:mod:`snas.compilation`)."""
    sync_batchnorm: bool = False
    """With several workers: BatchNorm statistics over the global batch (SyncBatchNorm, CUDA)
    instead of each worker's shard (the official code's per-worker statistics)."""
    data: DataConfig = DataConfig()

    @model_validator(mode="before")
    @classmethod
    def _method_defaults(cls, data: Any) -> Any:
        """The space's defaults, then the method's, each filling only what is left out."""
        if not isinstance(data, dict):
            return data
        if data.get("space", DEFAULT_SPACE) in SPACES:
            data = with_defaults(SPACES[data.get("space", DEFAULT_SPACE)].defaults, data)
        if data.get("method", "snas") in METHODS:
            data = with_defaults(METHODS[data.get("method", "snas")].defaults, data)
        return data


    _compile_as_written = field_validator("compile", mode="before")(compile_mode)


    @field_validator("init_channels", "eval_channels")
    @classmethod
    def _even(cls, channels: int) -> int:
        if channels % 2:
            raise ValueError(f"must be even (reduction cells split channels in two), got {channels}")
        return channels

    @model_validator(mode="after")
    def _method_combinations(self) -> SearchConfig:
        rules = SPACES[self.space].derivation_rules
        if self.genotype_rule not in rules:
            raise ValueError(f"genotype_rule {self.genotype_rule} does not apply to space {self.space} "
                             f"(choose from {', '.join(rules)})")
        method = METHODS[self.method]
        if self.second_order and not method.offers_second_order:
            offering = ", ".join(name for name, m in METHODS.items() if m.offers_second_order)
            raise ValueError(f"second_order applies to method {offering} only, not {self.method}")
        if self.second_order and self.compile != "off":
            raise ValueError("second_order evaluates the supernet with substituted weights, new tensors every "
                             "step, which a compiled graph does not take; set compile: off")
        if self.second_order and self.weights.nesterov:
            raise ValueError("second_order unrolls DARTS's plain-momentum θ step; set weights.nesterov: false")
        if PENALTIES[self.resource.method].needs_soft_samples and not method.soft_samples:
            soft = ", ".join(name for name, m in METHODS.items() if m.soft_samples)
            raise ValueError(f"resource.method {self.resource.method} needs the soft Concrete samples of method {soft}")
        return self


class RetrainConfig(Frozen):
    """Training one genotype from scratch (the evaluation step of a NAS paper).

    Defaults are the DARTS/SNAS CIFAR-10 evaluation: 20 cells, C = 36, auxiliary head
    (weight 0.4), drop path 0.2 ramped linearly from 0, 600 epochs, batch 96, SGD lr 0.025
    cosine, momentum 0.9, weight decay 3e-4, gradient clip 5.  The paper setting also uses
    ``data.cutout: 16``; ImageNet (``network: imagenet``) adds ``label_smoothing: 0.1``.
    ``genotype`` accepts a catalogue name, Genotype(...) text or the JSON mapping itself and
    is stored resolved.  Validation reads no files: a genotype file is read where the
    configuration is written (``snas-study train FILE``, a study's ``genotypes:``) with
    :func:`snas.catalogue.resolve_genotype`, so a checkpoint never depends on one.
    """

    MUTABLE_SETTINGS: ClassVar[tuple[str, ...]] = ("lr", "lr_min", "drop_path")
    """The settings a training run may change between epochs (:attr:`snas.run.EpochRun.MUTABLE_SETTINGS`)."""

    genotype: dict[str, Any]
    network: NetworkFamily = "cifar"
    layers: int = Field(20, ge=3)
    init_channels: int = Field(36, ge=2)
    epochs: int = Field(600, ge=1)
    batch_size: int = Field(96, ge=2)
    lr: float = Field(0.025, gt=0)
    lr_min: float = Field(0.0, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1)
    weight_decay: float = Field(3e-4, ge=0)
    grad_clip: float = Field(5.0, gt=0)
    auxiliary: bool = True
    auxiliary_weight: float = Field(0.4, ge=0)
    drop_path: float = Field(0.2, ge=0, lt=1)
    """Final drop-path probability; epoch ``e`` uses ``drop_path · e / epochs``."""
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    val_fraction: float = Field(0.1, ge=0, lt=1)
    """Part of the training set held out for ``val_acc`` (0: train on all of it, no val_acc)."""
    seed: int = Field(0, ge=0)
    device: str = Field("auto", pattern=DEVICE_PATTERN)
    bf16: bool = False
    channels_last: bool = True
    compile: CompileMode = "off"
    """``torch.compile`` the network's training forward (:mod:`snas.compilation`)."""
    data: DataConfig = DataConfig()

    @model_validator(mode="before")
    @classmethod
    def _space_defaults(cls, data: Any) -> Any:
        """The genotype's space's defaults (a NAS-Bench-201 genotype trains the benchmark's
        network: N = 5, C = 16, no auxiliary head, no drop path) fill what is left out."""
        name = _genotype_space(data.get("genotype")) if isinstance(data, dict) else None
        space = None if name is None else SPACES.get(name)
        return data if space is None else with_defaults(space.retrain_defaults, data)

    @field_validator("genotype", mode="before")
    @classmethod
    def _resolve_genotype(cls, value: Any) -> Any:
        if hasattr(value, "space") and hasattr(value, "to_dict"):
            return value.to_dict()
        if isinstance(value, str):
            named = named_genotype(value)
            if named is None:
                raise ValueError(f"{value!r} is not a catalogue name or Genotype(...) text or |op~input|+... string "
                                 f"(catalogue names: {', '.join(CATALOGUE)}); a genotype file is read with "
                                 f"resolve_genotype first")
            return named.to_dict()
        if isinstance(value, dict):
            return genotype_from_dict(value).to_dict()
        raise ValueError("genotype must be a catalogue name, Genotype(...) text or a mapping")

    @model_validator(mode="after")
    def _space_settings(self) -> RetrainConfig:
        space = space_of(self.resolved_genotype)
        if self.auxiliary and not space.auxiliary_head:
            raise ValueError(f"the {space.title} network has no auxiliary head; set auxiliary: false")
        return self

    _compile_as_written = field_validator("compile", mode="before")(compile_mode)

    @field_validator("init_channels")
    @classmethod
    def _even(cls, channels: int) -> int:
        if channels % 2:
            raise ValueError(f"must be even (reduction cells split channels in two), got {channels}")
        return channels

    @property
    def resolved_genotype(self) -> AnyGenotype:
        """The genotype, of its space's type (:class:`Genotype` for DARTS)."""
        return genotype_from_dict(self.genotype)


def _genotype_space(value: Any) -> str | None:
    """The space of a genotype setting before validation (``None`` where it is not clear yet)."""
    if hasattr(value, "space"):
        return str(value.space)
    if isinstance(value, dict):
        return str(value.get("space", DEFAULT_SPACE))
    if isinstance(value, str):
        try:
            named = named_genotype(value)
        except ValueError:
            return None
        return None if named is None else named.space
    return None
