"""Is a winner healthy?  The three ways a differentiable search fails while still ranking first.

* **Collapsed**: the derived normal cell is mostly ``skip_connect`` -- the classic DARTS
  failure (Zela et al., ICLR 2020; Chen et al., P-DARTS, ICCV 2019): parameter-free edges
  win the softmax early because they train fastest, and the cell has nothing left to learn.
* **Near-uniform**: α prefers no op (normalised entropy close to 1), so the "derived" cell
  is whatever the argmax of near-equal logits happens to be.
* **At chance**: the derived child classifies no better than guessing.

Each rule reads one epoch's metrics (:mod:`snas.metrics`) and the genotype; studies
written before these metrics existed are judged from the genotype and ``arch_entropy``.
``best``, ``status``, ``run`` and the report print the result as one line per winner.
The thresholds are the study's ``health:`` section; ``stop: {max_skip_connect: k}`` stops
collapsing searches while they run (:class:`harness.stoppers.CollapseStopper`), by the
same count and the same comparison (more than ``k``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from harness.health_settings import HealthThresholds, StopConfig
from snas.data.config import DataConfig
from snas.data.sets import DATASETS
from snas.errors import UserInputError
from snas.genotype import GenotypeError
from snas.spaces import parse_genotype, space_of

if TYPE_CHECKING:
    from harness.study import Study


def _number(metrics: Mapping[str, Any], name: str) -> float | None:
    value = metrics.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return None
    return float(value)


def _reported_genotype(text: Any) -> Any:
    """The genotype a reported ``genotype`` text spells; ``None`` when absent or unreadable
    (a damaged curve is the analysis's to report, not a reason to fail here)."""
    try:
        return parse_genotype(text) if isinstance(text, str) else None
    except GenotypeError:
        return None


def skip_connects(metrics: Mapping[str, Any], genotype: Any = None) -> int | None:
    """``normal_skip_connect`` of one epoch, or counted from the genotype (older studies)."""
    count = _number(metrics, "normal_skip_connect")
    if count is not None:
        return int(count)
    genotype = genotype if genotype is not None else _reported_genotype(metrics.get("genotype"))
    return space_of(genotype).skip_connect_count(genotype) if genotype is not None else None


def collapse_stop(metrics: Mapping[str, Any], stop: StopConfig) -> str | None:
    """Why ``stop`` ends a trial after the epoch of ``metrics`` (``collapse (skip_connect 4 > 2)``),
    or ``None`` when it does not."""
    limit = stop.max_skip_connect
    count = skip_connects(metrics) if limit is not None else None
    if count is None or limit is None or count <= limit:
        return None
    return f"collapse (skip_connect {count} > {limit})"


def _normalized_entropy(metrics: Mapping[str, Any], genotype: Any) -> float | None:
    value = _number(metrics, "arch_entropy_normalized")
    entropy = _number(metrics, "arch_entropy")
    if value is None and entropy is not None and genotype is not None:
        value = entropy / math.log(len(space_of(genotype).primitives))
    return value


def problems(metrics: Mapping[str, Any], genotype: Any, thresholds: HealthThresholds, accuracy_metric: str,
             num_classes: int | None) -> list[str]:
    """What is wrong with a trial whose last epoch reported ``metrics`` (empty: nothing).

    ``genotype``: the trial's genotype when known (``None``: read from ``metrics``);
    ``accuracy_metric``: the accuracy judged against chance (the child's, for a search);
    ``num_classes``: ``None`` where unknown, and then chance is not judged.
    """
    genotype = genotype if genotype is not None else _reported_genotype(metrics.get("genotype"))
    found = []
    skips = skip_connects(metrics, genotype)
    if skips is not None and skips > thresholds.max_skip_connect:
        found.append(f"collapsed (normal cell has {skips} skip_connect > {thresholds.max_skip_connect})")
    entropy = _normalized_entropy(metrics, genotype)
    if entropy is not None and entropy > thresholds.near_uniform_entropy:
        found.append(f"near-uniform α (normalised entropy {entropy:.3f} > {thresholds.near_uniform_entropy:g})")
    accuracy = _number(metrics, accuracy_metric)
    chance = 100.0 / num_classes if num_classes is not None else None
    if accuracy is not None and chance is not None and accuracy <= chance * (1 + thresholds.chance_margin):
        found.append(f"{accuracy_metric} {accuracy:.1f}% is at chance ({chance:.3g}% for {num_classes} classes, "
                     f"margin ×{1 + thresholds.chance_margin:g})")
    return found


def warning_line(label: str, found: list[str]) -> str | None:
    """The one line ``best``, ``status``, ``run`` and the report print for an unhealthy winner."""
    return f"warning: {label} looks unhealthy: {'; '.join(found)}" if found else None


def trial_problems(study: Study, data: Mapping[str, Any] | None, metrics: Mapping[str, Any],
                   genotype: Any = None) -> list[str]:
    """:func:`problems` of one trial of ``study``, judged by the study's ``health`` thresholds,
    its kind's accuracy and the number of classes of its ``data`` settings (an image
    folder's are counted where it can be read: not on a machine without the data; None:
    the trial's settings are unknown)."""
    try:
        config = DataConfig.model_validate(data) if data is not None else None
        num_classes: int | None = DATASETS[config.dataset].inputs(config).classes if config is not None else None
    except (UserInputError, ValueError):  # an image folder not at hand, or data settings this version refuses
        num_classes = None
    return problems(metrics, genotype, study.health, study.trial_kind.health_accuracy, num_classes)


def winner_problems(study: Study, winner: Mapping[str, Any], data: Mapping[str, Any] | None) -> list[str]:
    """:func:`problems` of one of :func:`harness.analysis.tables.best_trials`' winners, whose
    data settings are ``data`` (:meth:`harness.analysis.results.StudyResults.settings_of`)."""
    return trial_problems(study, data, winner["metrics"], _reported_genotype(winner.get("genotype")))


def winner_warning(study: Study, winner: Mapping[str, Any], data: Mapping[str, Any] | None) -> str | None:
    """The warning line of one of :func:`harness.analysis.tables.best_trials`' winners, or ``None``."""
    return warning_line(f"trial {winner['trial_id']}", winner_problems(study, winner, data))
