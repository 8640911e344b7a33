"""Metric names: the contract between the loops, the Tune trainables, analysis and users.

Accuracies are percentages (0-100).  MACs are multiply-accumulates (what NAS papers call
FLOPs or mult-adds) for one image; parameter counts exclude the auxiliary head (DARTS
convention).  ``*_m`` values are in millions.  :data:`METRIC_VALUES` says which values each
metric can really take, so a reader of a run's files can tell a measurement from damage.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

SMOOTHING_EPOCHS = 3
"""Epochs averaged by ``search_val_acc_avg3``."""


def trailing_mean(values: Sequence[float]) -> float:
    """``search_val_acc_avg3`` after the last of ``values`` (one per epoch): the mean of the
    last ``SMOOTHING_EPOCHS`` of them, or of all while there are fewer."""
    window = values[-SMOOTHING_EPOCHS:]
    return sum(window) / len(window)

SEARCH_METRICS: dict[str, str] = {
    "epoch": "epochs completed (1-based; equals Tune's training_iteration)",
    "train_loss": "mean cross-entropy of the sampled supernet on training batches",
    "train_acc": "accuracy of the sampled supernet on training batches (%)",
    "search_val_acc": "supernet with a sampled architecture on the held-out split (%)",
    "child_val_acc": "argmax child with shared weights, no retraining, on the held-out split (%)",
    "search_val_acc_avg3": ("mean search_val_acc of the last 3 epochs (of all before epoch 3): a steadier "
                            "objective for ASHA and for ranking than one epoch's accuracy"),
    "temperature": "Gumbel-softmax temperature at the end of the epoch",
    "arch_entropy": "mean entropy of softmax(α) per edge (nats; ln 8 = 2.08 is uniform)",
    "arch_entropy_normalized": ("arch_entropy / ln(number of ops): 0 is one op per edge, 1 is no preference "
                                "between ops (above 0.95 the derived cell is close to arbitrary)"),
    "normal_skip_connect": ("skip_connect edges in the derived normal cell (NAS-Bench-201: its one cell); "
                            "a normal cell of skips is the classic DARTS collapse"),
    "normal_param_free": "parameter-free edges (skip_connect and pooling, not none) in the derived normal cell",
    "supernet_child_gap": ("search_val_acc - child_val_acc (percentage points): how much the sampled supernet's "
                           "accuracy says about the derived child's"),
    "cost": "resource cost as used in the loss (before λ), epoch mean",
    "child_params_m": "parameters of the derived genotype at search scale (M)",
    "child_macs_m": "MACs of the derived genotype at search scale (M)",
    "eval_params_m": "parameters of the derived genotype at evaluation scale (M)",
    "eval_macs_m": "MACs of the derived genotype at evaluation scale (M)",
    "genotype": "derived genotype, DARTS repr",
    "epoch_time_s": "wall time of the epoch including evaluation (s)",
    "images_per_s": "training images per second",
    "lr": "weight learning rate used in the epoch",
    "diverged": "the loss became NaN or infinite; the run stops",
}

RETRAIN_METRICS: dict[str, str] = {
    "epoch": "epochs completed (1-based)",
    "train_loss": "mean training loss (auxiliary term included when enabled)",
    "train_acc": "training accuracy (%)",
    "val_acc": "accuracy on the validation part of the training set (%); NaN without one",
    "test_acc": "accuracy on the test split (%)",
    "params_m": "parameters, auxiliary head excluded (M)",
    "macs_m": "MACs for one image (M)",
    "epoch_time_s": "wall time of the epoch including evaluation (s)",
    "lr": "learning rate used in the epoch",
    "drop_path": "drop-path probability used in the epoch",
    "diverged": "the loss became NaN or infinite; the run stops",
}

AbsentWhen = Literal["never", "diverged", "always"]


@dataclass(frozen=True)
class Expected:
    """The values one metric can take in a run's report; any other value is not a measurement.

    ``kind``: ``real`` (a JSON number; true and false are not numbers), ``whole`` (an
    integer), ``flag`` (true or false), ``text`` or ``genotype`` (text a search space reads
    as a genotype).  Numbers lie in ``[low, high]`` and are finite.  ``absent`` says when
    NaN (or JSON's null, the same in a strict encoder) is a legitimate report: ``never``;
    ``diverged``, on an epoch whose training steps all failed (the epoch's means are of
    nothing: :class:`snas.training.RunningMean` of no batch); ``always``, when the quantity
    may not exist (no validation split).
    """

    kind: Literal["real", "whole", "flag", "text", "genotype"]
    low: float = -math.inf
    high: float = math.inf
    absent: AbsentWhen = "never"


_PERCENT = Expected("real", 0, 100)
_NON_NEGATIVE = Expected("real", 0)
_COUNT = Expected("whole", 0)

METRIC_VALUES: dict[str, Expected] = {
    "epoch": Expected("whole", 1),
    "train_loss": Expected("real", 0, absent="diverged"),
    "train_acc": Expected("real", 0, 100, absent="diverged"),
    "search_val_acc": _PERCENT,
    "child_val_acc": _PERCENT,
    "search_val_acc_avg3": _PERCENT,
    "val_acc": Expected("real", 0, 100, absent="always"),
    "test_acc": _PERCENT,
    "temperature": _NON_NEGATIVE,
    "arch_entropy": _NON_NEGATIVE,
    # At most 1 in exact arithmetic, but the entropy is a float32 mean: near-uniform α may round past 1.
    "arch_entropy_normalized": _NON_NEGATIVE,
    "normal_skip_connect": _COUNT,
    "normal_param_free": _COUNT,
    "supernet_child_gap": Expected("real", -100, 100),
    "cost": Expected("real", 0, absent="diverged"),
    "child_params_m": _NON_NEGATIVE,
    "child_macs_m": _NON_NEGATIVE,
    "eval_params_m": _NON_NEGATIVE,
    "eval_macs_m": _NON_NEGATIVE,
    "params_m": _NON_NEGATIVE,
    "macs_m": _NON_NEGATIVE,
    "genotype": Expected("genotype"),
    "epoch_time_s": _NON_NEGATIVE,
    "images_per_s": Expected("real", 0, absent="always"),  # NaN when an epoch took no measurable time
    "lr": _NON_NEGATIVE,
    "drop_path": Expected("real", 0, 1),
    "diverged": Expected("flag"),
}
"""What every metric of :data:`SEARCH_METRICS` and :data:`RETRAIN_METRICS` can be (the
names they share mean the same in both)."""
