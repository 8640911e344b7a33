"""Trial kinds: what a study's trials are (a search, a retraining), in one registry.

A kind is everything the harness needs to know about one sort of trial, from the study
file to the report: where its settings live in the study and how they become a validated
``snas`` configuration, the loop that runs it, the metrics it reports and the one that
ranks it by default, how its trials are sized and checked, and what the analysis shows of
it (summary and size columns, curves, which plots and extra tables apply).  The harness
asks the kind instead of testing ``study.kind``; adding a kind is one entry in
:data:`KINDS` (plus, usually, a loop of its own in ``snas``).

Every kind keeps its settings in one study section, a mapping of its configuration's
fields, named by :attr:`TrialKind.section` -- ``search`` for a search study,
``retrain.settings`` for a retrain study.  These paths are the prefixes of the space keys
that Tune records in every trial's ``params.json`` and in its experiment state (which must
match when a study is resumed), so they are kept as studies have always written them: old
study files and frozen ``study.yaml`` files read unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from harness.overrides import with_values
from snas.metrics import RETRAIN_METRICS, SEARCH_METRICS
from snas.registry import Registry

if TYPE_CHECKING:
    from typing import TypeAlias

    import torch

    from snas.config import RetrainConfig, SearchConfig
    from snas.data.sets import InputSpec
    from snas.run import EpochRun

    TrialConfig: TypeAlias = SearchConfig | RetrainConfig
_NOT_RANKABLE = frozenset({"genotype", "diverged"})
_NOT_SCALARS = frozenset({"epoch", "genotype", "diverged"})
M = TypeVar("M", bound=BaseModel)
FitCheck = Callable[[Any, "InputSpec", "torch.device"], None]
InputCheck = Callable[[Any, "InputSpec"], None]


@dataclass(frozen=True)
class TrialKind:
    """One sort of trial.  Fields are data or small functions; none imports a network
    module until a trial is really built (``loop``, ``check_input``, ``check_fits``)."""

    name: str
    """The study's ``kind:`` and the checkpoint's ``kind`` record."""
    section: str
    """Dotted path of the study section holding the trials' settings (the space keys' prefix)."""
    config_model: Callable[[], type[SearchConfig] | type[RetrainConfig]]
    """The ``snas`` configuration model of its trials (imported when called)."""
    command: str
    """The ``snas-study`` verb that runs (and continues) one such run without Ray."""
    noun: str
    """What messages call one such run (``search``, ``training run``)."""
    loop: Callable[[], type[EpochRun]]
    """The ``snas`` loop class (imported when called: the analysis never needs it)."""
    check_input: Callable[[], InputCheck]
    """The loop's check that its network can process the data's images (their size)."""
    check_fits: Callable[[], FitCheck]
    """The :mod:`snas.memory` check that the trial's network fits on its device."""
    metrics: Mapping[str, str]
    """The metric names its trials report (:mod:`snas.metrics`)."""
    default_metric: str
    """What ranks trials when the study names no ``objective.metric``."""
    derives_genotype: bool
    """Its trials find a genotype (α, rewritten each epoch; winners can be retrained) rather
    than being given one (written once, before the first epoch)."""
    required: tuple[str, ...] = ()
    """Settings with no default: the base or the space must give them."""
    genotype_setting: str | None = None
    """The setting that may name one of the study's ``genotypes`` by its label."""
    default_deciding: tuple[str, ...] = ()
    """Settings (relative to ``section``) that decide other settings' defaults (a search's
    method and space): a frozen study writes a default out only where they all agree on it."""
    unread_sections: tuple[str, ...] = ()
    """Study sections of other kinds' settings that a study of this kind must leave empty."""
    column_names: Mapping[str, str] = field(default_factory=dict)
    """Short analysis column names of varied settings, keyed relative to ``section``."""
    hparam_metrics: tuple[str, ...] = ()
    """The final metrics TensorBoard's HParams dashboard sets against the varied settings."""
    summary_metrics: tuple[str, ...] = ()
    """Metrics the trials table shows final and best values of."""
    size_metrics: tuple[str, ...] = ()
    """Architecture-size metrics the trials table shows at the last epoch."""
    pareto: tuple[str, str, str] = ("macs_m", "params_m", "")
    """(MACs column, parameters column, scale note) of the accuracy-against-size plot."""
    report_columns: tuple[str, ...] = ()
    """Trials-table columns the report shows first, after the outcome and before ``damaged``."""
    colour_settings: tuple[str, ...] = ()
    """Short names of the settings that colour per-epoch lines, the first varied one wins."""
    facet_setting: str | None = None
    """The short name of a setting whose values split the per-epoch curves into panels."""
    log_settings: tuple[str, ...] = ()
    """Short names of numeric settings plotted on a log axis (rates, temperatures)."""
    curve_metrics: tuple[str, ...] = ()
    """The per-epoch accuracy plotted, the first one the curves have."""
    health_accuracy: str = ""
    """The accuracy :mod:`harness.health` judges against chance (a search's derived child)."""
    plots: tuple[str, ...] = ()
    """Names of the plots (:data:`harness.analysis.plots.PLOTS`) that apply to it (its
    scheduler may add more: :attr:`harness.policies.base.Scheduler.plots`)."""
    tables: tuple[str, ...] = ()
    """Extra analysis tables (:data:`harness.analysis.summary.EXTRA_TABLES`) written for it."""
    checkpoint_title: Callable[[dict[str, Any]], str] = str
    """What ``inspect`` calls one of its checkpoints, from the checkpoint's configuration."""
    size_settings: tuple[str, str, str] = ("", "layers", "init_channels")
    """(metric prefix, cells key, channels key) of the network whose size ``inspect`` shows."""

    @property
    def section_path(self) -> list[str]:
        return self.section.split(".")

    @property
    def numeric_metrics(self) -> tuple[str, ...]:
        """The metrics that can rank its trials (all but the genotype's text and flags)."""
        return tuple(m for m in self.metrics if m not in _NOT_RANKABLE)

    @property
    def scalar_metrics(self) -> tuple[str, ...]:
        """The per-epoch numbers a TensorBoard run plots."""
        return tuple(m for m in self.metrics if m not in _NOT_SCALARS)

    def trial_config(self, base: dict[str, Any], params: dict[str, Any], genotypes: dict[str, Any]) -> TrialConfig:
        """The validated configuration of the trial whose varied settings (dotted keys, as
        Tune gives them) are ``params``, on the study's nested ``base`` settings (data included)."""
        settings = with_values(base, params)
        return self.build(self.unnest(settings), settings["data"], genotypes)

    def build(self, settings: dict[str, Any], data: dict[str, Any], genotypes: dict[str, Any]) -> TrialConfig:
        """The validated configuration of a trial with ``settings`` (this kind's section) on
        ``data``; a genotype setting may be the label of one of the study's ``genotypes``."""
        fields = dict(settings)
        setting = self.genotype_setting
        label = fields.get(setting) if setting else None
        if setting and isinstance(label, str) and label in genotypes:
            fields[setting] = genotypes[label]
        return self.config_model().model_validate({**fields, "data": data})

    @property
    def mutable_settings(self) -> tuple[str, ...]:
        """The settings (relative to :attr:`section`) a trial may change between epochs
        (:attr:`snas.run.EpochRun.MUTABLE_SETTINGS`, read off the configuration model: no torch)."""
        return tuple(self.config_model().MUTABLE_SETTINGS)

    @property
    def default_batch_size(self) -> int:
        """The global batch of a trial whose settings name none (it must split across workers)."""
        return int(self.config_model().model_fields["batch_size"].default)

    def settings(self, study: Any) -> dict[str, Any]:
        """The study's settings for this kind's trials (the section as written)."""
        node = study
        for part in self.section_path:
            node = getattr(node, part)
        return dict(node)

    def with_settings(self, study: M, settings: dict[str, Any]) -> M:
        """A copy of ``study`` whose section for this kind is ``settings``."""
        return _replaced(study, self.section_path, settings)

    def short_names(self, keys: list[str]) -> dict[str, str]:
        """Short analysis column names for the varied ``keys`` (the key's last part when the
        kind names none; the whole key, underscored, when that name is taken)."""
        names: dict[str, str] = {}
        for key in keys:
            name = self.column_names.get(key.removeprefix(f"{self.section}."), key.rsplit(".", 1)[-1])
            names[key] = key.replace(".", "_") if name in names.values() else name
        return names

    def nest(self, settings: dict[str, Any]) -> dict[str, Any]:
        """``settings`` placed at :attr:`section`, as a nested mapping."""
        nested: dict[str, Any] = settings
        for part in reversed(self.section_path):
            nested = {part: nested}
        return nested

    def unnest(self, nested: dict[str, Any]) -> dict[str, Any]:
        """The settings at :attr:`section` of the nested mapping ``nested``."""
        for part in self.section_path:
            nested = nested[part]
        return nested


def _replaced(model: M, path: list[str], value: Any) -> M:
    head, *rest = path
    return model.model_copy(update={head: _replaced(getattr(model, head), rest, value) if rest else value})


def _search_config_model() -> type[SearchConfig]:
    from snas.config import SearchConfig

    return SearchConfig


def _retrain_config_model() -> type[RetrainConfig]:
    from snas.config import RetrainConfig

    return RetrainConfig


def _search_loop() -> type[EpochRun]:
    from snas.search import Search

    return Search


def _retrain_loop() -> type[EpochRun]:
    from snas.retrain import Retrain

    return Retrain


def _search_input() -> InputCheck:
    from snas.search import check_search_input

    return check_search_input


def _retrain_input() -> InputCheck:
    from snas.retrain import check_retrain_input

    return check_retrain_input


def _search_fits() -> FitCheck:
    from snas.search import check_search_fits

    return check_search_fits


def _retrain_fits() -> FitCheck:
    from snas.retrain import check_retrain_fits

    return check_retrain_fits


_COMMON_PLOTS = ("final_vs_setting", "levels", "pareto", "heatmap")

KINDS: Registry[TrialKind] = Registry("trial kind", {kind.name: kind for kind in (
    TrialKind(
        name="search", section="search", config_model=_search_config_model, command="search", noun="search",
        loop=_search_loop, check_input=_search_input, check_fits=_search_fits, default_deciding=("method", "space"),
        metrics=SEARCH_METRICS, default_metric="search_val_acc", derives_genotype=True,
        column_names={
            "temperature.initial": "tau0", "temperature.anneal_rate": "anneal_rate", "temperature.min": "tau_min",
            "temperature.schedule": "schedule", "temperature.per": "tau_per", "resource.lambda": "lambda",
            "resource.method": "penalty", "resource.log_penalty": "log_penalty",
            "resource.separation": "separation", "method": "method", "seed": "seed", "arch.lr": "arch_lr",
            "weights.lr": "lr",
        },
        hparam_metrics=("search_val_acc", "search_val_acc_avg3", "child_val_acc", "train_acc", "train_loss",
                        "eval_params_m", "eval_macs_m", "cost"),
        summary_metrics=("search_val_acc", "child_val_acc", "train_acc", "train_loss"),
        report_columns=("final_search_val_acc", "final_child_val_acc", "eval_params_m"),
        colour_settings=("tau0", "lambda", "penalty", "method"), facet_setting="anneal_rate",
        log_settings=("lambda", "tau0", "arch_lr", "lr"),
        size_metrics=("child_params_m", "child_macs_m", "eval_params_m", "eval_macs_m"),
        pareto=("eval_macs_m", "eval_params_m", " at evaluation scale"),
        curve_metrics=("search_val_acc",),
        health_accuracy="child_val_acc",
        plots=("curves", *_COMMON_PLOTS, "trajectories", "health", "best_cells"),
        tables=("replicates", "paired", "population_vs_control", "genotypes"),
        checkpoint_title=lambda config: (f"search ({config.get('method')} on "
                                         f"{config.get('data', {}).get('dataset')})"),
        size_settings=("eval_", "eval_layers", "eval_channels"),
    ),
    TrialKind(
        name="retrain", section="retrain.settings", config_model=_retrain_config_model, command="train",
        noun="training run", loop=_retrain_loop, check_input=_retrain_input, check_fits=_retrain_fits,
        genotype_setting="genotype", unread_sections=("search",), metrics=RETRAIN_METRICS, default_metric="val_acc",
        derives_genotype=False,
        required=("genotype",),
        column_names={"genotype": "arch", "seed": "seed"},
        hparam_metrics=("val_acc", "test_acc", "train_acc", "train_loss", "params_m", "macs_m"),
        summary_metrics=("val_acc", "test_acc", "train_acc", "train_loss"),
        report_columns=("final_val_acc", "final_test_acc", "params_m"),
        colour_settings=("arch",), log_settings=("lr",),
        size_metrics=("params_m", "macs_m"),
        curve_metrics=("val_acc", "test_acc"),
        health_accuracy="test_acc",
        plots=("curves", *_COMMON_PLOTS, "retrain_vs_search", "random_baseline", "predictors", "best_cells"),
        tables=("retrain_vs_search", "replicates", "paired", "random_baseline", "predictor_values", "predictors"),
        checkpoint_title=lambda config: (f"retraining ({config.get('network')} network on "
                                         f"{config.get('data', {}).get('dataset')})"),
    ),
)})
